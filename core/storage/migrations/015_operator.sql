-- Who took each register number (the operator, core/operator.py; the pipeline for mail).
-- Entries made before this migration show the item's created_by instead.
ALTER TABLE register_entries ADD COLUMN registered_by TEXT;
