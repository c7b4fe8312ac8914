-- The raw bytes of a message the SMTP edge accepted (issue 12), kept in the database
-- until the pipeline's `keep` step has written them to the blob store (fsync) under
-- items.raw_blob, their sha256; then the row is dropped. Committed in the same
-- transaction as the item's `received` row: one fsync of the WAL for a whole group of
-- messages makes both durable, where a blob file each cost a create, two fsyncs and a
-- rename on the edge. Large messages (spooled while DATA arrived) go to the blob store
-- at once and never have a row here.
CREATE TABLE raw_staged (
    item_id INTEGER PRIMARY KEY REFERENCES items(id),
    raw BLOB NOT NULL
);
