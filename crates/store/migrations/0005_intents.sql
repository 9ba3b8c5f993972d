-- Payment intents accepted by the service, and what they hold back.
-- Amounts and nonces are 78-digit zero-padded decimals, like the chain tables.

CREATE TABLE intents (
    chain TEXT NOT NULL,
    intent_hash TEXT NOT NULL,
    payer TEXT NOT NULL,
    payee TEXT NOT NULL,
    asset TEXT NOT NULL,
    amount TEXT NOT NULL,
    nonce TEXT NOT NULL,
    valid_until BIGINT NOT NULL,
    signature TEXT NOT NULL,
    batch_id BIGINT NOT NULL,
    status TEXT NOT NULL,
    accepted_at BIGINT NOT NULL,
    PRIMARY KEY (chain, intent_hash),
    UNIQUE (chain, payer, nonce)
);
CREATE INDEX intents_by_batch ON intents (chain, batch_id);

-- What accepted intents hold back, per payer, asset and batch. A batch's
-- reservations stop counting once the chain has settled it (a row in
-- `batches`): from then on the payer's indexed balance already reflects it.
-- Nothing is released by hand, so a reorg that removes the settlement brings
-- the reservation back by itself.
CREATE TABLE reservations (
    chain TEXT NOT NULL,
    payer TEXT NOT NULL,
    asset TEXT NOT NULL,
    batch_id BIGINT NOT NULL,
    reserved TEXT NOT NULL,
    PRIMARY KEY (chain, payer, asset, batch_id)
);

-- The batch new intents fall in. Every acceptance updates this row, so it
-- serialises with closing a batch: an intent is in the batch its receipt
-- names.
CREATE TABLE batch_state (
    chain TEXT PRIMARY KEY,
    open_batch BIGINT NOT NULL,
    window_start BIGINT NOT NULL,
    accepted BIGINT NOT NULL
);
