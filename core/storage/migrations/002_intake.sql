-- Intake: a delivered message is stored once. `services.receive` looks for the same
-- (Message-ID, content hash) inside its transaction; this index makes a second copy
-- impossible even so. Messages without a Message-ID are keyed by their content alone.
-- Paper items carry no content hash and are not constrained.
CREATE UNIQUE INDEX items_message_once ON items (COALESCE(message_id, ''), content_sha256)
    WHERE content_sha256 IS NOT NULL;
