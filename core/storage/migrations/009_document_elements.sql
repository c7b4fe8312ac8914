-- The GB/T 9704 elements of a received document besides its 字号, 文种, 密级, 紧急程度 and
-- 标题: 份号, 签发人, 主送, 抄送, 成文日期 ('YYYY-MM-DD') and 附件说明. Null when the
-- document does not print them, and always null on a sealed item (only its envelope).
ALTER TABLE items ADD COLUMN copy_no TEXT;
ALTER TABLE items ADD COLUMN signer TEXT;
ALTER TABLE items ADD COLUMN addressees TEXT;
ALTER TABLE items ADD COLUMN cc TEXT;
ALTER TABLE items ADD COLUMN written_on TEXT;
ALTER TABLE items ADD COLUMN attachment_note TEXT;
