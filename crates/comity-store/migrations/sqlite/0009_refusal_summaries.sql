-- Refusals summarised: one row per peer (the member authenticated by TLS, or the signer of an
-- accepted message), code and window, counting the refusals and keeping the first as a sample,
-- instead of one row per refused input. What refused input claims (its sender, its message id)
-- is kept as a claim.
CREATE TABLE refusals (
    peer         TEXT    NOT NULL,
    code         TEXT    NOT NULL,
    window_start INTEGER NOT NULL,
    count        INTEGER NOT NULL,
    first_at     INTEGER NOT NULL,
    last_at      INTEGER NOT NULL,
    message_id   TEXT,
    claimed_from TEXT,
    detail       TEXT    NOT NULL,
    PRIMARY KEY (peer, code, window_start)
);
CREATE INDEX refusals_last ON refusals (last_at);

-- Messages accepted from peers whose processing was refused (a request replay, an evidence
-- message): one row per message, so that a refused replay is not tried again.
CREATE TABLE refused_inbound (
    message_id TEXT    PRIMARY KEY,
    code       TEXT    NOT NULL,
    at         INTEGER NOT NULL
);

INSERT INTO refused_inbound (message_id, code, at)
    SELECT r.message_id, MIN(r.code), MIN(r.at) FROM rejections r
    WHERE r.message_id IN (SELECT id FROM inbox)
    GROUP BY r.message_id;

-- Refusals recorded before were charged to what the input claimed: the peer is unknown ('').
INSERT INTO refusals
    (peer, code, window_start, count, first_at, last_at, message_id, claimed_from, detail)
    SELECT '', g.code, g.window_start, g.n, g.first_at, g.last_at, f.message_id, f.peer, f.detail
    FROM (SELECT code, (at / 60000) * 60000 AS window_start, COUNT(*) AS n, MIN(at) AS first_at,
                 MAX(at) AS last_at, MIN(seq) AS first_seq
          FROM rejections GROUP BY code, (at / 60000) * 60000) g
    JOIN rejections f ON f.seq = g.first_seq;

DROP INDEX rejections_message;
DROP TABLE rejections;
