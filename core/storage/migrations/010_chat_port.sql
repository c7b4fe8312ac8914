-- The chat port (issue 15): a sent message is (channel, address, message_ref), all text,
-- so that WeCom's string user ids and message ids sit beside Telegram's integers.
-- Existing rows were Telegram's: channel 'telegram', the integers kept as their text.
CREATE TABLE deliveries_port (
    id          INTEGER PRIMARY KEY,
    item_id     INTEGER REFERENCES items (id),
    channel     TEXT    NOT NULL,
    address     TEXT    NOT NULL,
    purpose     TEXT    NOT NULL,
    outbox_id   INTEGER REFERENCES outbox (id),
    message_ref TEXT    NOT NULL,
    sent_at     TEXT    NOT NULL,
    resend      INTEGER NOT NULL DEFAULT 0
);
INSERT INTO deliveries_port (id, item_id, channel, address, purpose, outbox_id, message_ref,
                             sent_at, resend)
    SELECT id, item_id, 'telegram', CAST(chat_id AS TEXT), purpose, outbox_id,
           CAST(message_id AS TEXT), sent_at, resend
    FROM deliveries;
DROP TABLE deliveries;
ALTER TABLE deliveries_port RENAME TO deliveries;
CREATE UNIQUE INDEX deliveries_once ON deliveries (item_id, channel, address, purpose)
    WHERE item_id IS NOT NULL;
CREATE UNIQUE INDEX deliveries_event ON deliveries (outbox_id) WHERE outbox_id IS NOT NULL;
CREATE INDEX deliveries_message ON deliveries (channel, address, message_ref);
CREATE INDEX deliveries_item ON deliveries (item_id, channel, address);
