-- A year's registers (issue 18 item 5: export, archive, annual report) read by year: without
-- these, a year's entries scanned every register of every year and its unnumbered and
-- sealed items every item of their outcome.
CREATE INDEX register_entries_year ON register_entries (year, kind, seq);
CREATE INDEX items_year ON items (year, outcome, received_at);
