-- What signed-in wallets called through the gateway, summed per wallet
-- (CAIP-10), served chain (CAIP-2), provider (CAIP-10) and method class
-- (`read`, `heavy`, `write`). The gateway adds its in-memory counts in
-- batches; replicas' batches add up on the same row.
-- (Version 13 is the slashing pipeline's.)
CREATE TABLE rpc_usage (
    wallet TEXT NOT NULL,
    chain TEXT NOT NULL,
    provider TEXT NOT NULL,
    class TEXT NOT NULL,
    calls BIGINT NOT NULL,
    -- Unix seconds of the first and the last call counted.
    first_seen BIGINT NOT NULL,
    last_seen BIGINT NOT NULL,
    PRIMARY KEY (wallet, chain, provider, class)
);
