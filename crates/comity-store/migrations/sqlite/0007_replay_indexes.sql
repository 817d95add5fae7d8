-- The replay of request messages looks for those neither replayed nor refused on every
-- scheduler tick: by kind in the inbox, by message id in the refusals.
CREATE INDEX inbox_kind ON inbox (kind, seq);
CREATE INDEX rejections_message ON rejections (message_id);
