-- Callbacks a chat platform delivered (WeCom's 接收消息), kept before they are answered:
-- a restart between the answer and the handling no longer loses a 批示 or a button
-- press, and the platform's retry of one handled before a restart is known by its key.
--   key:    what a retry has in common with the first delivery (MsgId, or the event's
--           sender, time, key, task and choice)
--   fields: the decrypted message's fields (JSON)
CREATE TABLE chat_inbox (
    channel     TEXT NOT NULL,
    key         TEXT NOT NULL,
    fields      TEXT NOT NULL,
    received_at TEXT NOT NULL,
    done_at     TEXT,
    PRIMARY KEY (channel, key)
) WITHOUT ROWID;
CREATE INDEX chat_inbox_waiting ON chat_inbox (channel, received_at) WHERE done_at IS NULL;
