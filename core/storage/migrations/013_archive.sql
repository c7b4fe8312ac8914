-- The archive hand-over reads each item's process metadata (签收, 登记, 批示, 承办, 办结)
-- from the audit log by subject: without this index every item would scan the whole log.
CREATE INDEX audit_subject ON audit (subject, id);
