-- 0004: full-text search over message bodies (FTS5). An external-content
-- table: the text lives only in messages, the index maps words to
-- messages.id. unicode61 folds case and, with remove_diacritics 2, accents
-- ("Über" matches "uber").
--
-- Triggers keep the index in step with messages, but an insertion is only
-- queued in messages_fts_pending: FTS5 writes its in-memory terms to disk
-- at every statement savepoint, so indexing row by row from a trigger makes
-- one index segment per message and cut the insertion rate about fourfold.
-- The store indexes the queue with one statement at the end of each batch
-- (and before searching), inside the same transaction.
CREATE VIRTUAL TABLE messages_fts USING fts5(
	body,
	content = 'messages',
	content_rowid = 'id',
	tokenize = 'unicode61 remove_diacritics 2',
	columnsize = 0
);

-- The index's vocabulary, so a search can expand the word being typed into
-- the indexed words it starts: with them spelled out, the search reads
-- matches lazily, newest first; FTS5's own prefix query first gathers every
-- occurrence of every such word (measured 2-3 times slower over 1M
-- messages).
CREATE VIRTUAL TABLE messages_fts_vocab USING fts5vocab(messages_fts, row);

-- Messages inserted but not yet in messages_fts.
CREATE TABLE messages_fts_pending (
	id INTEGER PRIMARY KEY
) STRICT;

CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
	INSERT INTO messages_fts_pending (id) VALUES (new.id);
END;

-- An external-content index must be given the old text to forget a row;
-- a row still queued is only dequeued.
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
	INSERT INTO messages_fts (messages_fts, rowid, body)
		SELECT 'delete', old.id, old.body
		WHERE NOT EXISTS (SELECT 1 FROM messages_fts_pending WHERE id = old.id);
	DELETE FROM messages_fts_pending WHERE id = old.id;
END;

CREATE TRIGGER messages_fts_update AFTER UPDATE OF body ON messages
WHEN NOT EXISTS (SELECT 1 FROM messages_fts_pending WHERE id = old.id) BEGIN
	INSERT INTO messages_fts (messages_fts, rowid, body) VALUES ('delete', old.id, old.body);
	INSERT INTO messages_fts (rowid, body) VALUES (new.id, new.body);
END;

-- Index the messages stored before this migration.
INSERT INTO messages_fts (messages_fts) VALUES ('rebuild');
