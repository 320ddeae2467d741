-- 0002: synchronisation state. For each archive (our own account's, or a
-- room's) the newest stanza-id we hold, so a (re)connect asks MAM only for
-- what we missed (XEP-0313 §4.3.4: after=<last id>).
CREATE TABLE archive_sync (
	account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	archive    TEXT NOT NULL, -- bare JID of the archive
	last_id    TEXT NOT NULL DEFAULT '',
	last_ts    INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (account_id, archive)
) STRICT, WITHOUT ROWID;
