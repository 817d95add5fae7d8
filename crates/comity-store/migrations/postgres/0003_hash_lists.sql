-- Hash-list updates: this node's own lists and the lists it subscribes to. Each row is one
-- signed update, stored exactly as signed; list ids start with their publisher's node id, so
-- (list, version) names one update.
CREATE TABLE hash_list_updates (
    list      TEXT    NOT NULL,
    version   BIGINT  NOT NULL,
    publisher TEXT    NOT NULL,
    issued_at BIGINT  NOT NULL,
    stored_at BIGINT  NOT NULL,
    signed    BYTEA   NOT NULL,
    PRIMARY KEY (list, version)
);

-- Lists this node pulls from their publishers, with the health of the last pulls.
CREATE TABLE hash_list_subscriptions (
    list            TEXT    PRIMARY KEY,
    peer            TEXT    NOT NULL,
    created_at      BIGINT  NOT NULL,
    applied_version BIGINT  NOT NULL DEFAULT 0,
    last_attempt_at BIGINT,
    last_success_at BIGINT,
    failures        BIGINT  NOT NULL DEFAULT 0,
    last_error_code TEXT,
    last_error      TEXT,
    last_error_at   BIGINT
);
