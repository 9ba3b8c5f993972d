-- The Arweave transaction that carried an outbox item, once posted.
ALTER TABLE outbox ADD COLUMN tx_id TEXT;
