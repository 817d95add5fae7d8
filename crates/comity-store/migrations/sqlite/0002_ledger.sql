-- The node's append-only Merkle log (docs/ledger.md). Rows are written once and never updated;
-- an entry and its stored hashes are committed in the transaction of the state change they record.
CREATE TABLE ledger_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    size INTEGER NOT NULL
);
INSERT INTO ledger_head (id, size) VALUES (1, 0);

CREATE TABLE ledger_entry (
    idx   INTEGER PRIMARY KEY,
    kind  TEXT    NOT NULL,
    time  INTEGER NOT NULL,
    bytes BLOB    NOT NULL
);

-- Stored hashes in the tlog layout: leaf hashes and every complete subtree, ~2 per entry.
CREATE TABLE ledger_hash (
    idx  INTEGER PRIMARY KEY,
    hash BLOB    NOT NULL
);

-- Checkpoints this node signed (C2SP signed notes, the log's own signature only).
CREATE TABLE ledger_checkpoint (
    size      INTEGER PRIMARY KEY,
    note      TEXT    NOT NULL,
    signed_at INTEGER NOT NULL
);

-- Cosignatures peers returned for those checkpoints (one signature line per witness and size).
CREATE TABLE ledger_cosignature (
    size        INTEGER NOT NULL,
    witness     TEXT    NOT NULL,
    line        TEXT    NOT NULL,
    received_at INTEGER NOT NULL,
    PRIMARY KEY (size, witness)
);

-- The largest checkpoint of each peer's log that this node verified, and the last attempt.
CREATE TABLE witnessed (
    peer        TEXT    PRIMARY KEY,
    size        INTEGER,
    note        TEXT,
    verified_at INTEGER,
    cosigned_at INTEGER,
    checked_at  INTEGER NOT NULL,
    last_error  TEXT
);

-- Evidence that a peer signed two checkpoints that cannot both be true. Never deleted.
CREATE TABLE ledger_alarm (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    peer        TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    evidence    TEXT    NOT NULL,
    fingerprint TEXT    NOT NULL UNIQUE,
    detected_at INTEGER NOT NULL
);

ALTER TABLE outbox ADD COLUMN log_index INTEGER;
ALTER TABLE inbox ADD COLUMN log_index INTEGER;
