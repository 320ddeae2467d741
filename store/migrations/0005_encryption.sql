-- 0005: per-conversation encryption choice: '' = default (OMEMO when the
-- peer has devices), 'omemo' = always, 'plain' = never.
ALTER TABLE conversations ADD COLUMN encryption TEXT NOT NULL DEFAULT '';
