-- 办结 by reply mail: the Message-ID of the 交办 notice mailed to a 承办单位, which its
-- reply names in In-Reply-To / References; and the reply mail that reported 办结.
ALTER TABLE item_assignments ADD COLUMN notice_id TEXT;
CREATE UNIQUE INDEX item_assignments_notice ON item_assignments (notice_id)
    WHERE notice_id IS NOT NULL;
ALTER TABLE item_handling ADD COLUMN done_reply_item INTEGER REFERENCES items (id);
