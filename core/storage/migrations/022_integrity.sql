-- What `jiyao check` and `jiyao audit verify` last verified, so the next run verifies
-- only what came after it (and a rotating slice of what came before): one row per part.
--   audit:        upto = the last audit id verified, hash = its hash, count = the entries
--                 up to it; sweep = the audit id the next rotating slice starts after
--   blobs:items / blobs:attachments: upto = the last items.id / attachments rowid whose
--                 blob was re-hashed; sweep as above
-- `at` is the last run that advanced the point, `full_at` the last full (--full) run.
CREATE TABLE verified_points (
    part    TEXT    PRIMARY KEY,
    upto    INTEGER NOT NULL,
    hash    TEXT,
    count   INTEGER,
    sweep   INTEGER NOT NULL DEFAULT 0,
    at      TEXT    NOT NULL,
    full_at TEXT
);

-- Records whose rows were added or changed since the last check (by jiyao or behind
-- it): the next incremental check compares them with their last audit state and
-- re-hashes their blobs, then forgets them.
CREATE TABLE integrity_dirty (
    subject TEXT PRIMARY KEY
) WITHOUT ROWID;

CREATE TRIGGER items_dirty_insert AFTER INSERT ON items
BEGIN
    INSERT OR IGNORE INTO integrity_dirty (subject) VALUES ('item:' || NEW.id);
END;
CREATE TRIGGER items_dirty_update AFTER UPDATE ON items
BEGIN
    INSERT OR IGNORE INTO integrity_dirty (subject) VALUES ('item:' || OLD.id);
    INSERT OR IGNORE INTO integrity_dirty (subject) VALUES ('item:' || NEW.id);
END;
CREATE TRIGGER items_dirty_delete AFTER DELETE ON items
BEGIN
    INSERT OR IGNORE INTO integrity_dirty (subject) VALUES ('item:' || OLD.id);
END;
CREATE TRIGGER register_entries_dirty_insert AFTER INSERT ON register_entries
BEGIN
    INSERT OR IGNORE INTO integrity_dirty (subject) VALUES ('item:' || NEW.item_id);
END;
CREATE TRIGGER register_entries_dirty_update AFTER UPDATE ON register_entries
BEGIN
    INSERT OR IGNORE INTO integrity_dirty (subject) VALUES ('item:' || OLD.item_id);
    INSERT OR IGNORE INTO integrity_dirty (subject) VALUES ('item:' || NEW.item_id);
END;
CREATE TRIGGER register_entries_dirty_delete AFTER DELETE ON register_entries
BEGIN
    INSERT OR IGNORE INTO integrity_dirty (subject) VALUES ('item:' || OLD.item_id);
END;
CREATE TRIGGER dispatches_dirty_insert AFTER INSERT ON dispatches
BEGIN
    INSERT OR IGNORE INTO integrity_dirty (subject) VALUES ('dispatch:' || NEW.id);
END;
CREATE TRIGGER dispatches_dirty_update AFTER UPDATE ON dispatches
BEGIN
    INSERT OR IGNORE INTO integrity_dirty (subject) VALUES ('dispatch:' || OLD.id);
    INSERT OR IGNORE INTO integrity_dirty (subject) VALUES ('dispatch:' || NEW.id);
END;
CREATE TRIGGER dispatches_dirty_delete AFTER DELETE ON dispatches
BEGIN
    INSERT OR IGNORE INTO integrity_dirty (subject) VALUES ('dispatch:' || OLD.id);
END;

-- Attachments added to an item after its blobs were checked: its blobs again.
CREATE TRIGGER attachments_dirty_update AFTER UPDATE ON attachments
BEGIN
    INSERT OR IGNORE INTO integrity_dirty (subject) VALUES ('item:' || NEW.item_id);
END;
