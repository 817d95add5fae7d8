-- Evidence transfers between nodes (docs/evidence.md "Transfers"). One row per transfer on each
-- side: 'out' at the provider (offered, then completed or refused as the recipient reports),
-- 'in' at the recipient (pending while chunks are pulled, then completed or refused).
CREATE TABLE evidence_transfers (
    id            TEXT    PRIMARY KEY,
    direction     TEXT    NOT NULL,
    peer          TEXT    NOT NULL,
    sha256        TEXT    NOT NULL,
    case_id       TEXT    NOT NULL,
    name          TEXT    NOT NULL,
    purpose       TEXT    NOT NULL,
    request       TEXT,
    offer         TEXT    NOT NULL,
    conditions    TEXT    NOT NULL,
    custody       TEXT    NOT NULL,
    chunks        BIGINT NOT NULL,
    received      BIGINT NOT NULL,
    state         TEXT    NOT NULL,
    error_code    TEXT,
    error_message TEXT,
    message_id    TEXT,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
CREATE INDEX evidence_transfers_item ON evidence_transfers (sha256, created_at);
CREATE INDEX evidence_transfers_state ON evidence_transfers (direction, state);

-- Custody events signed by other nodes, kept exactly as received with the inclusion proof of
-- each in its signer's ledger; this node's own events continue the same chain in custody_events.
CREATE TABLE foreign_custody_events (
    sha256 TEXT    NOT NULL REFERENCES evidence_items (sha256),
    seq    BIGINT NOT NULL,
    signed BYTEA NOT NULL,
    action TEXT    NOT NULL,
    actor  TEXT    NOT NULL,
    at     BIGINT NOT NULL,
    proof  BYTEA NOT NULL,
    PRIMARY KEY (sha256, seq)
);

-- Consents of providing nodes (signed, verbatim), one per item and operation.
CREATE TABLE evidence_consents (
    sha256      TEXT    NOT NULL,
    operation   TEXT    NOT NULL,
    provider    TEXT    NOT NULL,
    signed      TEXT    NOT NULL,
    recorded_at BIGINT NOT NULL,
    PRIMARY KEY (sha256, operation)
);
