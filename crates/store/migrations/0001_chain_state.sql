-- Chain state followed by the indexer. Amounts are unsigned 256-bit integers
-- written as 78-digit zero-padded decimals, so text order is numeric order on
-- both backends; signed amounts (batch deltas) are plain decimals.

CREATE TABLE cursors (
    chain TEXT PRIMARY KEY,
    block_number BIGINT NOT NULL,
    block_hash TEXT NOT NULL,
    finalized_block BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Recent canonical blocks, for reorg detection by parent hash.
CREATE TABLE blocks (
    chain TEXT NOT NULL,
    block_number BIGINT NOT NULL,
    block_hash TEXT NOT NULL,
    parent_hash TEXT NOT NULL,
    block_time BIGINT NOT NULL,
    PRIMARY KEY (chain, block_number)
);

CREATE TABLE events (
    chain TEXT NOT NULL,
    block_number BIGINT NOT NULL,
    log_index BIGINT NOT NULL,
    block_hash TEXT NOT NULL,
    tx_hash TEXT NOT NULL,
    contract TEXT NOT NULL,
    kind TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (chain, block_number, log_index)
);

-- Previous images of derived rows changed by blocks not yet final, newest
-- last, so a reorg can put them back.
CREATE TABLE undo_log (
    chain TEXT NOT NULL,
    seq BIGINT NOT NULL,
    block_number BIGINT NOT NULL,
    table_name TEXT NOT NULL,
    row_key TEXT NOT NULL,
    old_row TEXT,
    PRIMARY KEY (chain, seq)
);
CREATE INDEX undo_log_block ON undo_log (chain, block_number);

CREATE TABLE providers (
    chain TEXT NOT NULL,
    provider TEXT NOT NULL,
    operator TEXT NOT NULL,
    stake TEXT NOT NULL,
    unbonding TEXT NOT NULL,
    release_at BIGINT NOT NULL,
    registered_block BIGINT NOT NULL,
    registered_tx TEXT NOT NULL,
    updated_block BIGINT NOT NULL,
    PRIMARY KEY (chain, provider)
);
CREATE INDEX providers_stake ON providers (chain, stake);

CREATE TABLE services (
    chain TEXT NOT NULL,
    service_id TEXT NOT NULL,
    provider TEXT NOT NULL,
    service_chain TEXT NOT NULL,
    kind TEXT NOT NULL,
    url TEXT NOT NULL,
    metadata_hash TEXT NOT NULL,
    added_block BIGINT NOT NULL,
    added_tx TEXT NOT NULL,
    PRIMARY KEY (chain, service_id)
);
CREATE INDEX services_by_chain_kind ON services (service_chain, kind);
CREATE INDEX services_by_provider ON services (chain, provider);

CREATE TABLE slashes (
    chain TEXT NOT NULL,
    nonce TEXT NOT NULL,
    provider TEXT NOT NULL,
    amount TEXT NOT NULL,
    reason BIGINT NOT NULL,
    evidence_hash TEXT NOT NULL,
    receipt_id TEXT NOT NULL,
    block_number BIGINT NOT NULL,
    tx_hash TEXT NOT NULL,
    PRIMARY KEY (chain, nonce)
);

CREATE TABLE balances (
    chain TEXT NOT NULL,
    account TEXT NOT NULL,
    asset TEXT NOT NULL,
    balance TEXT NOT NULL,
    updated_block BIGINT NOT NULL,
    PRIMARY KEY (chain, account, asset)
);

CREATE TABLE pending_withdrawals (
    chain TEXT NOT NULL,
    account TEXT NOT NULL,
    asset TEXT NOT NULL,
    amount TEXT NOT NULL,
    ready_at BIGINT NOT NULL,
    PRIMARY KEY (chain, account, asset)
);

CREATE TABLE batches (
    chain TEXT NOT NULL,
    batch_id BIGINT NOT NULL,
    commitment_hash TEXT NOT NULL,
    intents_root TEXT NOT NULL,
    deltas_root TEXT NOT NULL,
    receipt_id TEXT NOT NULL,
    window_start BIGINT NOT NULL,
    window_end BIGINT NOT NULL,
    intent_count BIGINT NOT NULL,
    delta_count BIGINT NOT NULL,
    block_number BIGINT NOT NULL,
    tx_hash TEXT NOT NULL,
    PRIMARY KEY (chain, batch_id)
);

CREATE TABLE deltas (
    chain TEXT NOT NULL,
    batch_id BIGINT NOT NULL,
    account TEXT NOT NULL,
    asset TEXT NOT NULL,
    amount TEXT NOT NULL,
    PRIMARY KEY (chain, batch_id, asset, account)
);
