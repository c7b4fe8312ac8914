-- Deadlines and reminders (DOMAIN §6, seed part 3): 主动公开 cycles of outgoing records,
-- 保密审查, 依申请公开 requests and their events, 催办 of 办件, and reminders as rows.
-- Dates are 'YYYY-MM-DD' (the office's local calendar); times are ISO 8601 UTC.

-- One row per publication cycle of a 主动公开 dispatch record: cycle 1 runs from its
-- 成文日期, a later cycle from a change recorded after it was published (Art. 26).
CREATE TABLE disclosure_tasks (
    id           INTEGER PRIMARY KEY,
    dispatch_id  INTEGER NOT NULL REFERENCES dispatches (id),
    cycle        INTEGER NOT NULL CHECK (cycle >= 1),
    section      TEXT    NOT NULL,
    base_on      TEXT    NOT NULL,
    base_kind    TEXT    NOT NULL CHECK (base_kind IN ('成文', '变更')),
    due_on       TEXT    NOT NULL,
    provisional  INTEGER NOT NULL DEFAULT 0,
    status       TEXT    NOT NULL DEFAULT 'open'
                 CHECK (status IN ('open', 'published', 'cancelled')),
    published_on TEXT,
    url          TEXT,
    note         TEXT,
    created_at   TEXT    NOT NULL,
    updated_at   TEXT    NOT NULL,
    closed_by    TEXT,
    UNIQUE (dispatch_id, cycle)
);
CREATE UNIQUE INDEX disclosure_tasks_open ON disclosure_tasks (dispatch_id) WHERE status = 'open';
CREATE INDEX disclosure_tasks_due ON disclosure_tasks (status, due_on);
CREATE INDEX disclosure_tasks_published ON disclosure_tasks (published_on);

-- 保密审查 before publication; the latest review of a record decides.
CREATE TABLE secrecy_reviews (
    id           INTEGER PRIMARY KEY,
    dispatch_id  INTEGER NOT NULL REFERENCES dispatches (id),
    reviewer     TEXT    NOT NULL,
    reviewed_on  TEXT    NOT NULL,
    result       TEXT    NOT NULL CHECK (result IN ('通过', '不通过')),
    note         TEXT,
    recorded_at  TEXT    NOT NULL,
    recorded_by  TEXT    NOT NULL
);
CREATE INDEX secrecy_reviews_dispatch ON secrecy_reviews (dispatch_id, id);

-- 依申请公开 requests. state/due_on/on_time are recomputed from the events on every change.
CREATE TABLE info_requests (
    id           INTEGER PRIMARY KEY,
    applicant    TEXT    NOT NULL,
    content      TEXT    NOT NULL,
    channel      TEXT    NOT NULL CHECK (channel IN ('当面', '挂号信', '平信', '网络', '传真')),
    received_on  TEXT    NOT NULL,
    confirmed_on TEXT,
    receipt_on   TEXT    NOT NULL,
    section      TEXT    NOT NULL,
    state        TEXT    NOT NULL DEFAULT 'running'
                 CHECK (state IN ('running', 'supplement', 'consulting', 'answered')),
    due_on       TEXT,
    provisional  INTEGER NOT NULL DEFAULT 0,
    reply_type   TEXT,
    reply_reason TEXT,
    reply_organ  TEXT,
    answered_on  TEXT,
    on_time      INTEGER,
    created_at   TEXT    NOT NULL,
    created_by   TEXT    NOT NULL,
    updated_at   TEXT    NOT NULL
);
CREATE INDEX info_requests_state ON info_requests (state, due_on);

-- What happened to a request, in order: facts, never rewritten.
CREATE TABLE info_request_events (
    id          INTEGER PRIMARY KEY,
    request_id  INTEGER NOT NULL REFERENCES info_requests (id),
    kind        TEXT    NOT NULL
                CHECK (kind IN ('supplement', 'completed', 'extend', 'consult', 'consulted',
                                'answer')),
    on_date     TEXT    NOT NULL,
    workdays    INTEGER,
    reason      TEXT,
    note        TEXT,
    at          TEXT    NOT NULL,
    actor       TEXT    NOT NULL
);
CREATE INDEX info_request_events_request ON info_request_events (request_id, id);
CREATE TRIGGER info_request_events_no_update BEFORE UPDATE ON info_request_events
BEGIN
    SELECT RAISE(ABORT, 'request events are append-only');
END;
CREATE TRIGGER info_request_events_no_delete BEFORE DELETE ON info_request_events
BEGIN
    SELECT RAISE(ABORT, 'request events are append-only');
END;

-- 催办 of a 办件: its deadline (from the document, or the configured default) until 办结.
-- deadline_src/urgency_src are what the due day was computed from, to notice changes.
CREATE TABLE item_followups (
    item_id       INTEGER PRIMARY KEY REFERENCES items (id),
    registered_on TEXT    NOT NULL,
    due_on        TEXT    NOT NULL,
    provisional   INTEGER NOT NULL DEFAULT 0,
    source        TEXT    NOT NULL CHECK (source IN ('document', 'default')),
    deadline_src  TEXT,
    urgency_src   TEXT,
    status        TEXT    NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'done', 'cancelled')),
    done_on       TEXT,
    done_by       TEXT,
    created_at    TEXT    NOT NULL,
    updated_at    TEXT    NOT NULL
);
CREATE INDEX item_followups_due ON item_followups (status, due_on);

-- Reminders and notices as rows: the sweeper moves each due one into the outbox and marks
-- it sent in the same transaction. `dedup` makes planning idempotent.
CREATE TABLE reminders (
    id           INTEGER PRIMARY KEY,
    due_at       TEXT    NOT NULL,
    target       TEXT    NOT NULL,
    subject      TEXT    NOT NULL,
    kind         TEXT    NOT NULL,
    text         TEXT    NOT NULL,
    created_at   TEXT    NOT NULL,
    sent_at      TEXT,
    late         INTEGER NOT NULL DEFAULT 0,
    cancelled_at TEXT,
    dedup        TEXT    NOT NULL UNIQUE
);
CREATE INDEX reminders_pending ON reminders (due_at) WHERE sent_at IS NULL AND cancelled_at IS NULL;
CREATE INDEX reminders_subject ON reminders (subject);
