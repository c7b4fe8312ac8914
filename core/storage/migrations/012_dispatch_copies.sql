-- 印数 kept with the number (DOMAIN §5): the calculation a dispatch's print count came
-- from (lists, units added and removed, fax) as shown to staff, and its 分发: which
-- receiving units got how many copies. Written with the number, never changed.
CREATE TABLE dispatch_copies (
    dispatch_id  INTEGER PRIMARY KEY REFERENCES dispatches (id),
    lists        TEXT    NOT NULL,              -- JSON list of distribution list names
    departments  INTEGER,
    add_units    INTEGER NOT NULL DEFAULT 0,
    remove_units INTEGER NOT NULL DEFAULT 0,
    extra        INTEGER NOT NULL DEFAULT 0,
    fax          INTEGER NOT NULL DEFAULT 0,
    total        INTEGER NOT NULL CHECK (total >= 0),
    lines        TEXT    NOT NULL,              -- JSON list: the calculation line by line
    recorded_at  TEXT    NOT NULL,
    recorded_by  TEXT    NOT NULL
);

CREATE TABLE dispatch_shares (
    dispatch_id INTEGER NOT NULL REFERENCES dispatches (id),
    position    INTEGER NOT NULL CHECK (position >= 1),
    recipient   TEXT    NOT NULL,               -- a list, the units added, 存档
    units       INTEGER,
    copies      INTEGER NOT NULL CHECK (copies >= 0),
    PRIMARY KEY (dispatch_id, position)
);

CREATE TRIGGER dispatch_copies_fixed BEFORE UPDATE ON dispatch_copies
BEGIN
    SELECT RAISE(ABORT, 'a recorded print count is never changed');
END;
