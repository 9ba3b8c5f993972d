-- Batches the batcher has closed, on their way through receipt, upload and
-- on-chain settlement. `body` is the closed batch (commitment body, intents,
-- deltas) as JSON; it is what the receipt carries.
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
    -- Set with the receipt (stage `receipt_written`): the ANS-104 item id,
    -- the commitment naming it (JSON), its EIP-712 digest and signature.
    receipt_id TEXT,
    commitment TEXT,
    commitment_hash TEXT,
    commitment_signature TEXT,
    PRIMARY KEY (chain, batch_id)
);
