-- What the prober measured of each registered endpoint and the reputation
-- it has earned, in the store so that every replica ranks from the same
-- figures and a restart keeps them. Keyed as `services` is (registry chain,
-- service id); a row outlives its endpoint's removal harmlessly, since
-- discovery joins from the registered endpoints.
-- (Version 10 is SQLite's own deltas migration and 11 the gateway's evidence.)
CREATE TABLE endpoint_health (
    chain TEXT NOT NULL,
    service_id TEXT NOT NULL,
    -- CAIP-2 chain the endpoint serves, for reads by served chain.
    service_chain TEXT NOT NULL,
    provider TEXT NOT NULL,
    url TEXT NOT NULL,
    probes BIGINT NOT NULL,
    successes BIGINT NOT NULL,
    consecutive_failures BIGINT NOT NULL,
    consecutive_successes BIGINT NOT NULL,
    -- Exponentially decayed sums of outcomes (1 per success) and of
    -- probes; their ratio is the reputation score.
    success_weight DOUBLE PRECISION NOT NULL,
    total_weight DOUBLE PRECISION NOT NULL,
    -- 0 or 1 (one integer type on both engines).
    probation BIGINT NOT NULL,
    -- NULL: the endpoint's answers carried no signature header.
    verified BIGINT,
    latency_ms BIGINT,
    tip BIGINT,
    tip_hash TEXT,
    tip_lag BIGINT,
    last_error_kind TEXT,
    last_error TEXT,
    -- Unix milliseconds.
    last_probe_at BIGINT NOT NULL,
    last_success_at BIGINT,
    PRIMARY KEY (chain, service_id)
);
CREATE INDEX endpoint_health_by_served_chain ON endpoint_health (service_chain);
