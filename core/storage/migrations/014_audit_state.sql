-- Each audit entry carries a digest of the rows its change leaves (the item with its
-- register entries, or the dispatch), so `jiyao check` finds a row edited behind the log.
-- NULL for entries written before this column and for subjects without such rows.
ALTER TABLE audit ADD COLUMN state TEXT;
