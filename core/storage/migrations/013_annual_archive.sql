-- The annual disclosure report and the archive hand-over.

-- 申请人情况 of the report's 依申请公开 table (national format): the applicant's category;
-- NULL when not recorded (the report then leaves that row's category cells to fill).
ALTER TABLE info_requests ADD COLUMN applicant_kind TEXT
    CHECK (applicant_kind IN ('自然人', '商业企业', '科研机构', '社会公益组织', '法律服务机构', '其他'));

-- The archive hand-over reads each item's process metadata (签收, 登记, 批示, 承办, 办结)
-- from the audit log by subject: without this index every item would scan the whole log.
CREATE INDEX audit_subject ON audit (subject, id);
