-- The handling flow of a received 办件 after 签收 (条例 Art. 24): 拟办, 批办, 承办, 办结 and
-- 答复. One row per item in item_handling (its step and current holder); the 承办单位 in
-- item_assignments (主办 first, then 协办). Dates 'YYYY-MM-DD', times ISO 8601 UTC.
CREATE TABLE item_handling (
    item_id         INTEGER PRIMARY KEY REFERENCES items (id),
    step            TEXT    NOT NULL
                    CHECK (step IN ('待拟办', '待批示', '待交办', '承办中', '已办结')),
    holder          TEXT,
    proposal        TEXT,
    proposal_leader TEXT,
    proposal_units  TEXT    NOT NULL DEFAULT '[]',
    proposal_due    TEXT,
    proposed_by     TEXT,
    proposed_at     TEXT,
    accepted_by     TEXT,
    accepted_at     TEXT,
    result          TEXT,
    done_at         TEXT,
    done_by         TEXT,
    reply_owed      TEXT    CHECK (reply_owed IN ('批复', '复函')),
    reply_number    TEXT,
    reply_linked_at TEXT,
    supervised      INTEGER NOT NULL DEFAULT 0,
    updated_at      TEXT    NOT NULL
);
CREATE INDEX item_handling_step ON item_handling (step);
CREATE UNIQUE INDEX item_handling_reply ON item_handling (reply_number)
    WHERE reply_number IS NOT NULL;

CREATE TABLE item_assignments (
    id          INTEGER PRIMARY KEY,
    item_id     INTEGER NOT NULL REFERENCES items (id),
    role        TEXT    NOT NULL CHECK (role IN ('主办', '协办')),
    unit        TEXT    NOT NULL,
    due_on      TEXT    NOT NULL,
    told_at     TEXT,
    told_how    TEXT,
    assigned_at TEXT    NOT NULL,
    assigned_by TEXT    NOT NULL,
    status      TEXT    NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'replaced'))
);
CREATE INDEX item_assignments_item ON item_assignments (item_id, status);

-- A 办件 handed to its 承办单位 is followed to the 办理期限 given then ('assigned').
CREATE TABLE item_followups_new (
    item_id       INTEGER PRIMARY KEY REFERENCES items (id),
    registered_on TEXT    NOT NULL,
    due_on        TEXT    NOT NULL,
    provisional   INTEGER NOT NULL DEFAULT 0,
    source        TEXT    NOT NULL CHECK (source IN ('document', 'default', 'assigned')),
    deadline_src  TEXT,
    urgency_src   TEXT,
    status        TEXT    NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'done', 'cancelled')),
    done_on       TEXT,
    done_by       TEXT,
    created_at    TEXT    NOT NULL,
    updated_at    TEXT    NOT NULL
);
INSERT INTO item_followups_new SELECT * FROM item_followups;
DROP TABLE item_followups;
ALTER TABLE item_followups_new RENAME TO item_followups;
CREATE INDEX item_followups_due ON item_followups (status, due_on);
