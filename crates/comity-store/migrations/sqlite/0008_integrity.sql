-- What lets the node check its stored content against what was signed (docs/ledger.md
-- "Integrity of the store").
--
-- The sender's inner signature over header and body, kept with each received message (and the
-- node's own, with each message it sends): with the envelope's header it shows a third party what
-- the sender signed, without any decryption key. NULL for messages stored before this migration.
ALTER TABLE inbox ADD COLUMN inner_signature BLOB;
ALTER TABLE outbox ADD COLUMN inner_signature BLOB;

-- The `request_state` ledger entry of the request's latest transition (whose `request` digest
-- covers the stored request JSON) and of each transition of its timeline (whose `event` digest
-- covers the event row). NULL for rows written before this migration.
ALTER TABLE requests ADD COLUMN log_index INTEGER;
ALTER TABLE request_events ADD COLUMN log_index INTEGER;

-- The node this database belongs to, recorded at its first start: a database is never served
-- under another node's descriptor.
CREATE TABLE node_identity (
    id                 INTEGER PRIMARY KEY CHECK (id = 1),
    node               TEXT    NOT NULL,
    signing_key        TEXT    NOT NULL,
    descriptor_version INTEGER NOT NULL,
    recorded_at        INTEGER NOT NULL
);

-- Where the background integrity check of each source (ledger, inbox, outbox, requests) stands:
-- the last position checked and how many full passes were completed.
CREATE TABLE integrity_cursor (
    source     TEXT    PRIMARY KEY,
    position   TEXT    NOT NULL,
    passes     INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
