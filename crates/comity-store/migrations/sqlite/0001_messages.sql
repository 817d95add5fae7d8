-- Messages this node sends. Envelope and receipt bytes are stored exactly as signed.
CREATE TABLE outbox (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    id           TEXT    NOT NULL UNIQUE,
    peer         TEXT    NOT NULL,
    conversation TEXT    NOT NULL,
    in_reply_to  TEXT,
    kind         TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    envelope     BLOB    NOT NULL,
    digest       BLOB    NOT NULL,
    body         TEXT    NOT NULL,
    state        TEXT    NOT NULL CHECK (state IN ('queued', 'delivered', 'refused', 'dead')),
    attempts     INTEGER NOT NULL DEFAULT 0,
    delivered_at INTEGER,
    receipt      BLOB,
    last_error   TEXT
);
CREATE INDEX outbox_queue ON outbox (peer, state, seq);

-- Messages this node accepted. One row per message id: a second delivery is answered from here.
CREATE TABLE inbox (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    id           TEXT    NOT NULL UNIQUE,
    peer         TEXT    NOT NULL,
    conversation TEXT    NOT NULL,
    in_reply_to  TEXT,
    kind         TEXT    NOT NULL,
    sent_at      INTEGER NOT NULL,
    received_at  INTEGER NOT NULL,
    envelope     BLOB    NOT NULL,
    digest       BLOB    NOT NULL,
    body         BLOB    NOT NULL,
    receipt      BLOB    NOT NULL
);

-- Delivery state per peer: back-off, health, and the lease that gives one worker the peer's queue.
CREATE TABLE peers (
    peer            TEXT    PRIMARY KEY,
    next_attempt_at INTEGER NOT NULL DEFAULT 0,
    failures        INTEGER NOT NULL DEFAULT 0,
    last_success_at INTEGER,
    last_error      TEXT,
    last_error_at   INTEGER,
    lease_holder    TEXT,
    lease_until     INTEGER NOT NULL DEFAULT 0
);

-- Inbound input that was refused, with its stable code.
CREATE TABLE rejections (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    at         INTEGER NOT NULL,
    peer       TEXT,
    message_id TEXT,
    code       TEXT    NOT NULL,
    detail     TEXT    NOT NULL
);
