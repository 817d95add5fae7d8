-- Cooperation requests (docs/workflows.md "In the node"). `request` is the workflow crate's JSON
-- of the whole request; the other columns are copies of it for listing and scheduling. `version`
-- counts transitions and guards concurrent writers: a transition names the version it read.
-- `events` numbers the timeline. Every state change is committed with its event and its
-- `request_state` ledger entry.
CREATE TABLE requests (
    id         TEXT    PRIMARY KEY,
    kind       TEXT    NOT NULL,
    side       TEXT    NOT NULL CHECK (side IN ('requesting', 'requested')),
    peer       TEXT    NOT NULL,
    state      TEXT    NOT NULL,
    due_at     BIGINT,
    request    TEXT    NOT NULL,
    version    BIGINT  NOT NULL,
    events     BIGINT  NOT NULL,
    created_at BIGINT  NOT NULL,
    updated_at BIGINT  NOT NULL
);
CREATE INDEX requests_state ON requests (state, updated_at);
CREATE INDEX requests_due ON requests (due_at);

-- The timeline of each request: transitions (with their action JSON and articles) and the
-- scheduler's reminders and escalations. Never updated, except to note the message a
-- transition travelled in once it is queued.
CREATE TABLE request_events (
    request_id TEXT    NOT NULL REFERENCES requests (id),
    seq        BIGINT  NOT NULL,
    event      TEXT    NOT NULL CHECK (event IN ('transition', 'alert')),
    actor_node TEXT,
    actor_role TEXT,
    action     TEXT,
    from_state TEXT,
    to_state   TEXT    NOT NULL,
    at         BIGINT  NOT NULL,
    articles   TEXT    NOT NULL,
    detail     TEXT,
    message_id TEXT    UNIQUE,
    PRIMARY KEY (request_id, seq)
);
