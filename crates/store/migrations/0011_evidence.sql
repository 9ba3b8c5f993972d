-- Evidence against providers, as the gateway recorded it: the portable
-- record (`cairn_core::evidence::Evidence`, JSON) under its hash, with the
-- fields it is looked up by.
CREATE TABLE evidence (
    hash TEXT PRIMARY KEY,
    chain TEXT NOT NULL,
    kind TEXT NOT NULL,
    accused TEXT NOT NULL,
    block_number BIGINT NOT NULL,
    record TEXT NOT NULL,
    recorded_at BIGINT NOT NULL
);
CREATE INDEX evidence_by_accused ON evidence (chain, accused, recorded_at);
CREATE INDEX evidence_by_time ON evidence (recorded_at);
