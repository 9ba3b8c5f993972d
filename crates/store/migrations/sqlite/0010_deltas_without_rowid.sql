-- SQLite only. A batch's deltas are written once, in key order, and read by
-- key: as a WITHOUT ROWID table they live in one B-tree ordered by that key
-- instead of a rowid table plus a primary-key index holding the key again,
-- which halves what a backfill writes to the log and copies back for them.
CREATE TABLE deltas_by_key (
    chain TEXT NOT NULL,
    batch_id BIGINT NOT NULL,
    account TEXT NOT NULL,
    asset TEXT NOT NULL,
    amount TEXT NOT NULL,
    PRIMARY KEY (chain, batch_id, asset, account)
) WITHOUT ROWID;
INSERT INTO deltas_by_key (chain, batch_id, account, asset, amount)
    SELECT chain, batch_id, account, asset, amount FROM deltas;
DROP TABLE deltas;
ALTER TABLE deltas_by_key RENAME TO deltas;
