-- Messages this node sends. Envelope and receipt bytes are stored exactly as signed.
CREATE TABLE outbox (
    seq          BIGSERIAL PRIMARY KEY,
    id           TEXT    NOT NULL UNIQUE,
    peer         TEXT    NOT NULL,
    conversation TEXT    NOT NULL,
    in_reply_to  TEXT,
    kind         TEXT    NOT NULL,
    created_at   BIGINT  NOT NULL,
    envelope     BYTEA   NOT NULL,
    digest       BYTEA   NOT NULL,
    body         TEXT    NOT NULL,
    state        TEXT    NOT NULL CHECK (state IN ('queued', 'delivered', 'refused', 'dead')),
    attempts     BIGINT  NOT NULL DEFAULT 0,
    delivered_at BIGINT,
    receipt      BYTEA,
    last_error   TEXT
);
CREATE INDEX outbox_queue ON outbox (peer, state, seq);

-- Messages this node accepted. One row per message id: a second delivery is answered from here.
CREATE TABLE inbox (
    seq          BIGSERIAL PRIMARY KEY,
    id           TEXT    NOT NULL UNIQUE,
    peer         TEXT    NOT NULL,
    conversation TEXT    NOT NULL,
    in_reply_to  TEXT,
    kind         TEXT    NOT NULL,
    sent_at      BIGINT  NOT NULL,
    received_at  BIGINT  NOT NULL,
    envelope     BYTEA   NOT NULL,
    digest       BYTEA   NOT NULL,
    body         BYTEA   NOT NULL,
    receipt      BYTEA   NOT NULL
);

-- Delivery state per peer: back-off, health, and the lease that gives one worker the peer's queue.
CREATE TABLE peers (
    peer            TEXT    PRIMARY KEY,
    next_attempt_at BIGINT  NOT NULL DEFAULT 0,
    failures        BIGINT  NOT NULL DEFAULT 0,
    last_success_at BIGINT,
    last_error      TEXT,
    last_error_at   BIGINT,
    lease_holder    TEXT,
    lease_until     BIGINT  NOT NULL DEFAULT 0
);

-- Inbound input that was refused, with its stable code.
CREATE TABLE rejections (
    seq        BIGSERIAL PRIMARY KEY,
    at         BIGINT  NOT NULL,
    peer       TEXT,
    message_id TEXT,
    code       TEXT    NOT NULL,
    detail     TEXT    NOT NULL
);
