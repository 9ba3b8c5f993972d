-- Sign In With Solana: the input the service issued is kept with its nonce,
-- so the signed message can be rebuilt from it byte for byte.
ALTER TABLE auth_nonces ADD COLUMN siws_input TEXT;

-- Off-chain details a provider's operator attaches to its registration.
CREATE TABLE provider_metadata (
    chain TEXT NOT NULL,
    provider TEXT NOT NULL,
    region TEXT,
    description TEXT,
    contact TEXT,
    updated_by TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (chain, provider)
);
