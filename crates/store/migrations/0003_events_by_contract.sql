-- Counting a contract's stored events is how the indexer checks an eth_getLogs
-- answer against the contract's own event counter.
CREATE INDEX events_by_contract ON events (chain, contract);
