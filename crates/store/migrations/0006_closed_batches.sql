-- Batches the batcher has closed, on their way through receipt, upload and
-- on-chain settlement. `body` is the closed batch (commitment body, intents,
-- deltas) as JSON; it is what the receipt will carry.
CREATE TABLE closed_batches (
    chain TEXT NOT NULL,
    batch_id BIGINT NOT NULL,
    prev_hash TEXT NOT NULL,
    intents_root TEXT NOT NULL,
    deltas_root TEXT NOT NULL,
    intent_count BIGINT NOT NULL,
    delta_count BIGINT NOT NULL,
    body TEXT NOT NULL,
    stage TEXT NOT NULL,
    closed_at BIGINT NOT NULL,
    PRIMARY KEY (chain, batch_id)
);
