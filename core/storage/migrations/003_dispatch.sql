-- Outgoing numbers (发文登记簿, DOMAIN §5): one row per number ever taken, never deleted.
-- A withdrawn document's number is voided with its reason and never reissued.
-- `year` is the office's local year of 成文日期 (or of the take); issue-style codes
-- (政府会 第N期) restart yearly too, so their stored `number` carries the year.

CREATE TABLE dispatches (
    id               INTEGER PRIMARY KEY,
    code             TEXT    NOT NULL,
    year             INTEGER NOT NULL,
    seq              INTEGER NOT NULL CHECK (seq >= 1),
    number           TEXT    NOT NULL UNIQUE,
    title            TEXT    NOT NULL,
    owner            TEXT    NOT NULL,             -- who numbers the code (机要室 or a section)
    section          TEXT,                         -- drafting section (拟稿科室)
    written_on       TEXT,                         -- 成文日期 YYYY-MM-DD
    disclosure       TEXT CHECK (disclosure IN ('主动公开', '依申请公开', '不予公开')),
    withhold_reason  TEXT,                         -- legal reason of 不予公开
    carrier          TEXT,                         -- 公开载体
    catalogue_column TEXT,                         -- 公开栏目 "栏目/子栏目"
    status           TEXT    NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'void')),
    void_reason      TEXT,
    taken_at         TEXT    NOT NULL,
    taken_by         TEXT    NOT NULL,
    style            TEXT    NOT NULL DEFAULT 'year' CHECK (style IN ('year', 'issue')),
    voided_at        TEXT,
    voided_by        TEXT,
    UNIQUE (code, year, seq)
);
CREATE INDEX dispatches_year ON dispatches (year, code, seq);
CREATE INDEX dispatches_disclosure ON dispatches (disclosure, written_on) WHERE status = 'active';

-- A number, once taken, keeps its identity; a void stays void.
CREATE TRIGGER dispatches_no_delete BEFORE DELETE ON dispatches
BEGIN
    SELECT RAISE(ABORT, 'dispatch numbers are never deleted');
END;
CREATE TRIGGER dispatches_fixed_number BEFORE UPDATE OF code, year, seq, number ON dispatches
BEGIN
    SELECT RAISE(ABORT, 'a dispatch number cannot change');
END;
CREATE TRIGGER dispatches_void_final BEFORE UPDATE OF status ON dispatches
WHEN OLD.status = 'void'
BEGIN
    SELECT RAISE(ABORT, 'a voided dispatch number is never reissued');
END;

-- The last number taken per (code, year); bumped inside the taking transaction.
CREATE TABLE dispatch_seq (
    code TEXT    NOT NULL,
    year INTEGER NOT NULL,
    last INTEGER NOT NULL,
    PRIMARY KEY (code, year)
);
