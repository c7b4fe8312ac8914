-- The chat bot (DESIGN flow steps 4–5, DOMAIN §3, §7): what was pushed to whom, the
-- leaders' 批示 and 已阅, 内刊 传阅, keyword subscriptions, and 特急 acknowledgement.
-- Times are ISO 8601 UTC strings.

-- One row per message the bot sent and may need to find again: a reply to it (批示) or a
-- button on it leads back to its item, also after a restart. `outbox_id` is the event
-- that caused it (NULL for a 批示 prompt sent by a handler). A push is recorded in the
-- same transaction that marks its event done, so it is never sent twice on purpose;
-- `resend` marks the one that was in flight when the process died and went out again.
CREATE TABLE deliveries (
    id         INTEGER PRIMARY KEY,
    item_id    INTEGER REFERENCES items (id),
    chat_id    INTEGER NOT NULL,
    purpose    TEXT    NOT NULL,
    outbox_id  INTEGER REFERENCES outbox (id),
    message_id INTEGER NOT NULL,
    sent_at    TEXT    NOT NULL,
    resend     INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX deliveries_once ON deliveries (item_id, chat_id, purpose)
    WHERE item_id IS NOT NULL;
CREATE UNIQUE INDEX deliveries_event ON deliveries (outbox_id) WHERE outbox_id IS NOT NULL;
CREATE INDEX deliveries_message ON deliveries (chat_id, message_id);
CREATE INDEX deliveries_item ON deliveries (item_id, chat_id);

-- Push events per (item, chat, purpose): expanding a route twice cannot queue a push twice.
CREATE UNIQUE INDEX outbox_push_once ON outbox (item_id, target, json_extract(payload, '$.purpose'))
    WHERE channel = 'chat' AND event = 'push';
CREATE INDEX outbox_claimed ON outbox (channel, claimed_at) WHERE done_at IS NULL;

-- 批示: a leader's instruction on an item, verbatim, in the order given. Never changed.
-- (source_chat, source_message) is the chat message it came from: the same update seen
-- twice (a restart before Telegram learnt it was handled) is recorded once.
CREATE TABLE instructions (
    id             INTEGER PRIMARY KEY,
    item_id        INTEGER NOT NULL REFERENCES items (id),
    seq            INTEGER NOT NULL CHECK (seq >= 1),
    leader         TEXT    NOT NULL,
    chat_id        INTEGER NOT NULL,
    text           TEXT    NOT NULL,
    at             TEXT    NOT NULL,
    number         TEXT,
    converted_from TEXT,
    source_chat    INTEGER,
    source_message INTEGER,
    UNIQUE (item_id, seq)
);
CREATE UNIQUE INDEX instructions_source ON instructions (source_chat, source_message)
    WHERE source_message IS NOT NULL;
CREATE TRIGGER instructions_no_update BEFORE UPDATE ON instructions
BEGIN
    SELECT RAISE(ABORT, 'instructions are never changed');
END;
CREATE TRIGGER instructions_no_delete BEFORE DELETE ON instructions
BEGIN
    SELECT RAISE(ABORT, 'instructions are never deleted');
END;

-- 已阅: who read an item when (`how`: read, passed on unread, or implied by a 批示).
CREATE TABLE reads (
    item_id INTEGER NOT NULL REFERENCES items (id),
    chat_id INTEGER NOT NULL,
    reader  TEXT    NOT NULL,
    at      TEXT    NOT NULL,
    how     TEXT    NOT NULL CHECK (how IN ('read', 'passed', 'instructed')),
    PRIMARY KEY (item_id, chat_id)
);

-- 内刊 传阅: the leaders in rank order; one is `current` at a time.
CREATE TABLE circulation (
    item_id  INTEGER NOT NULL REFERENCES items (id),
    position INTEGER NOT NULL CHECK (position >= 1),
    leader   TEXT    NOT NULL,
    chat_id  INTEGER NOT NULL,
    status   TEXT    NOT NULL DEFAULT 'waiting'
             CHECK (status IN ('waiting', 'current', 'read', 'passed')),
    sent_at  TEXT,
    done_at  TEXT,
    PRIMARY KEY (item_id, position)
);
CREATE UNIQUE INDEX circulation_current ON circulation (item_id) WHERE status = 'current';

-- /subscribe: a chat also gets unclassified items whose title or sender holds the keyword.
CREATE TABLE subscriptions (
    id         INTEGER PRIMARY KEY,
    chat_id    INTEGER NOT NULL,
    keyword    TEXT    NOT NULL,
    created_at TEXT    NOT NULL,
    UNIQUE (chat_id, keyword)
);

-- 特急/特提: waiting for a first 已阅; `level` steps down the duty list each time nobody
-- acknowledges within [bot] urgent_ack_minutes. `closed_at`: the ladder ran out.
CREATE TABLE urgent_watch (
    item_id    INTEGER PRIMARY KEY REFERENCES items (id),
    level      INTEGER NOT NULL DEFAULT 0,
    started_at TEXT    NOT NULL,
    next_at    TEXT    NOT NULL,
    acked_by   TEXT,
    acked_chat INTEGER,
    acked_at   TEXT,
    closed_at  TEXT
);
CREATE INDEX urgent_watch_open ON urgent_watch (next_at)
    WHERE acked_at IS NULL AND closed_at IS NULL;
