-- 特急/特提 reminders go out at any hour; the others only in working hours (core/working_hours.py).
ALTER TABLE reminders ADD COLUMN urgent INTEGER NOT NULL DEFAULT 0;
