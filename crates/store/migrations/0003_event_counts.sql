-- Events held per contract, kept beside the events themselves so the indexer
-- can compare them with the contracts' own counters without counting rows.
CREATE TABLE event_counts (
    chain TEXT NOT NULL,
    contract TEXT NOT NULL,
    events BIGINT NOT NULL,
    PRIMARY KEY (chain, contract)
);
