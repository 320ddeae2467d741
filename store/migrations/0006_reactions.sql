-- 0006: reactions (XEP-0444). One row per reacting sender: a new reaction
-- set from a sender replaces the previous one.
CREATE TABLE reactions (
	message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
	sender     TEXT NOT NULL,
	emojis     TEXT NOT NULL, -- JSON array of strings
	PRIMARY KEY (message_id, sender)
) STRICT, WITHOUT ROWID;
