-- A callback whose handling failed is no longer marked handled: a transient failure
-- (WeCom or the network briefly away, the database busy) is tried again with backoff,
-- within the running service and after a restart; a permanent one, or one whose tries
-- ran out, is marked failed with its reason, kept and shown to registry staff.
--   attempts:  failed tries so far
--   retry_at:  when the next try is due (NULL: at once)
--   failed_at: when it was given up (NULL: handled, or still waiting)
--   error:     the last failure, as "Type: message"
ALTER TABLE chat_inbox ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE chat_inbox ADD COLUMN retry_at TEXT;
ALTER TABLE chat_inbox ADD COLUMN failed_at TEXT;
ALTER TABLE chat_inbox ADD COLUMN error TEXT;
DROP INDEX chat_inbox_waiting;
CREATE INDEX chat_inbox_waiting ON chat_inbox (channel, received_at)
    WHERE done_at IS NULL AND failed_at IS NULL;
CREATE INDEX chat_inbox_failed ON chat_inbox (channel, failed_at) WHERE failed_at IS NOT NULL;
