-- Foundation: items, the yearly registers, corrections, counters, audit log, outbox.
-- Times are ISO 8601 UTC strings; `year`/`month` are the office's local calendar.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE items (
    id             INTEGER PRIMARY KEY,
    received_at    TEXT    NOT NULL,
    year           INTEGER NOT NULL,
    month          INTEGER NOT NULL,
    channel        TEXT    NOT NULL CHECK (channel IN ('email', 'fax', 'paper')),
    outcome        TEXT    NOT NULL,
    kind           TEXT,
    reason         TEXT,
    sender         TEXT,
    doc_number     TEXT,
    doc_type       TEXT,
    secrecy        TEXT,
    urgency        TEXT,
    title          TEXT,
    envelope_no    TEXT,
    issue_no       TEXT,
    rule           TEXT,
    evidence       TEXT,
    message_id     TEXT,
    content_sha256 TEXT,
    raw_blob       TEXT,
    from_address   TEXT,
    subject        TEXT,
    fax_remote_id  TEXT,
    deadline       TEXT,
    flags          TEXT    NOT NULL DEFAULT '',
    findings       TEXT    NOT NULL DEFAULT '[]',
    created_by     TEXT    NOT NULL
);
CREATE INDEX items_message ON items (message_id, content_sha256);
CREATE INDEX items_received ON items (received_at);
CREATE INDEX items_outcome ON items (outcome, received_at);
CREATE INDEX items_envelope ON items (envelope_no) WHERE envelope_no IS NOT NULL;

CREATE TABLE attachments (
    item_id      INTEGER NOT NULL REFERENCES items (id),
    idx          INTEGER NOT NULL,
    filename     TEXT,
    content_type TEXT    NOT NULL,
    sha256       TEXT    NOT NULL,
    size         INTEGER NOT NULL,
    status       TEXT    NOT NULL,
    PRIMARY KEY (item_id, idx)
);

-- One row per number ever given. Never deleted: a wrong entry is voided and linked.
CREATE TABLE register_entries (
    id            INTEGER PRIMARY KEY,
    item_id       INTEGER NOT NULL REFERENCES items (id),
    kind          TEXT    NOT NULL CHECK (kind IN ('办件', '阅件')),
    year          INTEGER NOT NULL,
    seq           INTEGER NOT NULL CHECK (seq >= 1),
    number        TEXT    NOT NULL UNIQUE,
    registered_at TEXT    NOT NULL,
    status        TEXT    NOT NULL DEFAULT 'active'
                  CHECK (status IN ('active', 'void', 'converted')),
    note          TEXT,
    replaced_by   INTEGER REFERENCES register_entries (id),
    UNIQUE (kind, year, seq)
);
CREATE INDEX register_entries_item ON register_entries (item_id);

-- The last number taken per register; bumped inside the registering transaction.
CREATE TABLE register_seq (
    kind TEXT    NOT NULL,
    year INTEGER NOT NULL,
    last INTEGER NOT NULL,
    PRIMARY KEY (kind, year)
);

CREATE TABLE corrections (
    id         INTEGER PRIMARY KEY,
    item_id    INTEGER NOT NULL REFERENCES items (id),
    year       INTEGER NOT NULL,
    from_kind  TEXT,
    to_kind    TEXT    NOT NULL,
    reason     TEXT    NOT NULL,
    old_entry  INTEGER REFERENCES register_entries (id),
    new_entry  INTEGER REFERENCES register_entries (id),
    actor      TEXT    NOT NULL,
    at         TEXT    NOT NULL
);
CREATE INDEX corrections_year ON corrections (year);

-- Counters kept in the same transaction as the items they count (counts stay O(1)).
CREATE TABLE item_counts (
    year    INTEGER NOT NULL,
    month   INTEGER NOT NULL,
    kind    TEXT    NOT NULL,
    outcome TEXT    NOT NULL,
    n       INTEGER NOT NULL,
    PRIMARY KEY (year, month, kind, outcome)
);

-- Append-only audit log; each row carries the hash of the previous one.
CREATE TABLE audit (
    id        INTEGER PRIMARY KEY,
    at        TEXT NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    subject   TEXT NOT NULL,
    detail    TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN
    SELECT RAISE(ABORT, 'audit log is append-only');
END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN
    SELECT RAISE(ABORT, 'audit log is append-only');
END;

-- Events for the adapters (chat pushes, staff notices, return mails), written in the
-- same transaction as the change that caused them; drained at least once.
CREATE TABLE outbox (
    id         INTEGER PRIMARY KEY,
    channel    TEXT    NOT NULL,
    event      TEXT    NOT NULL,
    item_id    INTEGER REFERENCES items (id),
    target     TEXT    NOT NULL,
    payload    TEXT    NOT NULL,
    created_at TEXT    NOT NULL,
    due_at     TEXT    NOT NULL,
    attempts   INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    claimed_at TEXT,
    done_at    TEXT
);
CREATE INDEX outbox_pending ON outbox (channel, due_at) WHERE done_at IS NULL;

-- Full-text search over titles and document text (trigram works for Chinese).
CREATE VIRTUAL TABLE item_text USING fts5 (title, body, tokenize = 'trigram');

-- Counters and the search row follow every new item inside its own statement.
CREATE TRIGGER items_after_insert AFTER INSERT ON items
BEGIN
    INSERT INTO item_counts (year, month, kind, outcome, n)
    VALUES (NEW.year, NEW.month, COALESCE(NEW.kind, ''), NEW.outcome, 1)
    ON CONFLICT (year, month, kind, outcome) DO UPDATE SET n = n + 1;
    INSERT INTO item_text (rowid, title, body) VALUES (NEW.id, COALESCE(NEW.title, ''), '');
END;

-- The head of the audit chain (count and last hash) makes a deleted tail detectable.
CREATE TRIGGER audit_after_insert AFTER INSERT ON audit
BEGIN
    INSERT INTO meta (key, value) VALUES ('audit_head', '1:' || NEW.hash)
    ON CONFLICT (key) DO UPDATE
    SET value = (CAST(substr(value, 1, instr(value, ':') - 1) AS INTEGER) + 1) || ':' || NEW.hash;
END;
