-- The batch receipt an outbox item belongs to (a receipt names itself; the
-- separate intents item of a large batch names its receipt). A batch is
-- uploaded once every item of its receipt is confirmed.
ALTER TABLE outbox ADD COLUMN receipt_id TEXT;
UPDATE outbox SET receipt_id = item_id;
