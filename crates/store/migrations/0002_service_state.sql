-- State the service keeps for itself: sign-in nonces, sessions, and the
-- receipt outbox.

CREATE TABLE auth_nonces (
    nonce TEXT PRIMARY KEY,
    domain TEXT NOT NULL,
    issued_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    consumed_at BIGINT
);
CREATE INDEX auth_nonces_expiry ON auth_nonces (expires_at);

CREATE TABLE sessions (
    session_id TEXT PRIMARY KEY,
    account TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX sessions_account ON sessions (account);

CREATE TABLE outbox (
    item_id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX outbox_due ON outbox (state, next_attempt_at);
