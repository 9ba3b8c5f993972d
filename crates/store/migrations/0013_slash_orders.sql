-- The slashing pipeline's record of every slash it pursues: one row per
-- piece of evidence and registry deployment (`chain`), moved through its
-- stages in place. A restart resumes each row at its stage, and the primary
-- key keeps a second slash for the same evidence from ever being started.
-- `attempt` counts the orders issued: a new one (with a new nonce) is only
-- issued once the chain's clock has passed the previous order's deadline,
-- so at most one order per row can ever be executed.
CREATE TABLE slash_orders (
    chain TEXT NOT NULL,
    evidence_hash TEXT NOT NULL,
    provider TEXT NOT NULL,
    operator TEXT NOT NULL,
    kind TEXT NOT NULL,
    reason BIGINT NOT NULL,
    amount TEXT NOT NULL,
    stage TEXT NOT NULL,
    receipt_id TEXT,
    attempt BIGINT NOT NULL,
    nonce TEXT,
    deadline BIGINT,
    signature TEXT,
    tx_hash TEXT,
    last_error TEXT,
    next_attempt_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (chain, evidence_hash)
);
CREATE INDEX slash_orders_by_stage ON slash_orders (chain, stage, next_attempt_at);
CREATE INDEX slash_orders_by_provider ON slash_orders (chain, provider);
