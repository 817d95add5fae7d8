-- Evidence items held in this node's vault (the encrypted blobs live in the vault, not here) and
-- their custody events. An item is named by the SHA-256 of its plaintext (lowercase hex). Each
-- custody event is stored exactly as signed and committed with its `custody_event` ledger entry,
-- whose index it keeps.
CREATE TABLE evidence_items (
    sha256     TEXT    PRIMARY KEY,
    case_id    TEXT    NOT NULL,
    name       TEXT    NOT NULL,
    size       INTEGER NOT NULL,
    conditions TEXT,
    provider   TEXT    NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX evidence_items_case ON evidence_items (case_id, created_at);

CREATE TABLE custody_events (
    sha256       TEXT    NOT NULL REFERENCES evidence_items (sha256),
    seq          INTEGER NOT NULL,
    signed       BLOB    NOT NULL,
    action       TEXT    NOT NULL,
    actor        TEXT    NOT NULL,
    at           INTEGER NOT NULL,
    ledger_index INTEGER NOT NULL,
    PRIMARY KEY (sha256, seq)
);
