-- Staged intake (DESIGN "Flow of an item"): the SMTP edge writes a `received` row and
-- answers 250; the pipeline claims the row, decides it and fills in the rest.
-- How the sender reached us, recorded at accept time for later sender checks:
ALTER TABLE items ADD COLUMN mail_from TEXT;
ALTER TABLE items ADD COLUMN rcpt_tos TEXT;
ALTER TABLE items ADD COLUMN peer TEXT;
ALTER TABLE items ADD COLUMN auth_user TEXT;
ALTER TABLE items ADD COLUMN tls INTEGER NOT NULL DEFAULT 0;
-- The pipeline's lease on an item it is deciding; attempts counts claims taken.
ALTER TABLE items ADD COLUMN claimed_by TEXT;
ALTER TABLE items ADD COLUMN claim_until TEXT;
ALTER TABLE items ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE items ADD COLUMN last_error TEXT;
-- When the decision was recorded and when the register number was given (lag figures).
ALTER TABLE items ADD COLUMN decided_at TEXT;
ALTER TABLE items ADD COLUMN numbered_at TEXT;
UPDATE items SET decided_at = received_at;
UPDATE items SET numbered_at = (
    SELECT MIN(e.registered_at) FROM register_entries e WHERE e.item_id = items.id
);
-- What the pipeline has still to do, oldest first.
CREATE INDEX items_waiting ON items (id) WHERE outcome = 'received';
CREATE INDEX items_decided ON items (decided_at) WHERE decided_at IS NOT NULL;
-- A decided 办件/阅件 waiting for its number until the items received before it are
-- decided (receipt order, `[pipeline] number_hold_seconds`).
ALTER TABLE items ADD COLUMN number_pending INTEGER NOT NULL DEFAULT 0;
CREATE INDEX items_number_pending ON items (id) WHERE number_pending = 1;
