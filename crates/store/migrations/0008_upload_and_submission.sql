-- The gateway an outbox item was last posted to (its data is served there).
ALTER TABLE outbox ADD COLUMN gateway TEXT;

-- The settlement transaction, written before it is broadcast so a restart
-- finds it (and re-broadcasts, bumps or replaces it) instead of sending a
-- second one. `settle_raw` is the signed transaction (hex, EIP-2718).
ALTER TABLE closed_batches ADD COLUMN settle_tx TEXT;
ALTER TABLE closed_batches ADD COLUMN settle_raw TEXT;
ALTER TABLE closed_batches ADD COLUMN settle_nonce BIGINT;
ALTER TABLE closed_batches ADD COLUMN settle_max_fee TEXT;
ALTER TABLE closed_batches ADD COLUMN settle_priority_fee TEXT;
ALTER TABLE closed_batches ADD COLUMN settle_sent_at BIGINT;
