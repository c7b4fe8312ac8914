-- The 政府信息公开 catalogue (jiyao site build): what it needs beyond the dispatch records
-- and their 主动公开 cycles.

-- 密级 of an outgoing document (GB/T 9704); NULL when it is not classified. A classified
-- record is never in the catalogue, whatever its other attributes say.
ALTER TABLE dispatches ADD COLUMN secrecy TEXT CHECK (secrecy IN ('秘密', '机密', '绝密'));

-- What a publication adds: its 主题分类 and the file as published (PDF/OFD, a blob), with
-- the file's text layer for the HTML page. One row per published cycle at most.
CREATE TABLE site_publications (
    task_id     INTEGER PRIMARY KEY REFERENCES disclosure_tasks (id),
    topic       TEXT,
    file_sha256 TEXT,
    file_name   TEXT,
    file_format TEXT CHECK (file_format IN ('pdf', 'ofd')),
    file_size   INTEGER,
    file_text   TEXT,
    recorded_at TEXT    NOT NULL,
    recorded_by TEXT    NOT NULL,
    CHECK ((file_sha256 IS NULL) = (file_format IS NULL))
);

-- 索引号: given once, when a record first enters the catalogue; never changed or reused.
CREATE TABLE site_index_numbers (
    dispatch_id INTEGER PRIMARY KEY REFERENCES dispatches (id),
    year        INTEGER NOT NULL,
    seq         INTEGER NOT NULL CHECK (seq >= 1),
    assigned_at TEXT    NOT NULL,
    UNIQUE (year, seq)
);
CREATE TRIGGER site_index_numbers_fixed BEFORE UPDATE ON site_index_numbers
BEGIN
    SELECT RAISE(ABORT, 'an index number never changes');
END;
CREATE TRIGGER site_index_numbers_no_delete BEFORE DELETE ON site_index_numbers
BEGIN
    SELECT RAISE(ABORT, 'an index number is never deleted');
END;

-- 撤回: a published record taken off the catalogue while the document stays valid.
-- `cycle` is the publication withdrawn; publishing a later cycle brings the record back.
CREATE TABLE site_withdrawals (
    id          INTEGER PRIMARY KEY,
    dispatch_id INTEGER NOT NULL REFERENCES dispatches (id),
    cycle       INTEGER NOT NULL,
    reason      TEXT    NOT NULL,
    at          TEXT    NOT NULL,
    by          TEXT    NOT NULL
);
CREATE INDEX site_withdrawals_dispatch ON site_withdrawals (dispatch_id, cycle);
