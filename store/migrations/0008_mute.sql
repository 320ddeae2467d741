-- 0008: notifications can be turned off per conversation.
ALTER TABLE conversations ADD COLUMN muted INTEGER NOT NULL DEFAULT 0;
