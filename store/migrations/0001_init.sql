-- 0001: initial schema. Every row hangs off an account so several accounts
-- share one file. Times are unix milliseconds UTC. Text columns are NOT NULL
-- with '' meaning "absent" so uniqueness and comparisons need no NULL care;
-- the columns reserved for later features are nullable instead.

CREATE TABLE accounts (
	id         INTEGER PRIMARY KEY,
	jid        TEXT NOT NULL UNIQUE,
	roster_ver TEXT NOT NULL DEFAULT ''
) STRICT;

-- Roster items (RFC 6121). groups is a JSON array of strings.
CREATE TABLE contacts (
	account_id   INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	jid          TEXT NOT NULL,
	name         TEXT NOT NULL DEFAULT '',
	subscription TEXT NOT NULL DEFAULT 'none',
	ask          INTEGER NOT NULL DEFAULT 0,
	groups       TEXT NOT NULL DEFAULT '[]',
	PRIMARY KEY (account_id, jid)
) STRICT, WITHOUT ROWID;

-- Cached disco#info features (XEP-0030) per entity.
CREATE TABLE features (
	account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	entity     TEXT NOT NULL,
	feature    TEXT NOT NULL,
	PRIMARY KEY (account_id, entity, feature)
) STRICT, WITHOUT ROWID;

-- One row per chat window: peer is a bare JID (chat, groupchat) or a full
-- occupant JID (MUC private message). last_ts/last_body describe the newest
-- message so the conversation list needs no scan of messages.
CREATE TABLE conversations (
	id         INTEGER PRIMARY KEY,
	account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	peer       TEXT NOT NULL,
	kind       INTEGER NOT NULL DEFAULT 0,
	unread     INTEGER NOT NULL DEFAULT 0,
	last_ts    INTEGER NOT NULL DEFAULT 0,
	last_body  TEXT NOT NULL DEFAULT '',
	closed     INTEGER NOT NULL DEFAULT 0,
	UNIQUE (account_id, peer)
) STRICT;

-- Messages. id (the rowid) orders messages with equal ts and is the
-- content_rowid a future FTS5 index will use.
--   origin_id            XEP-0359 origin-id (for our own messages also the stanza id attribute)
--   stanza_id/stanza_by  XEP-0359 stanza-id and the archive that assigned it (MAM paging key)
--   replace_id           XEP-0308: on a correction, the id of the message it corrects
--   corrected            on a corrected message, the id of the row holding the newest correction
--   retracted            XEP-0424: when the message was retracted (unix ms)
--   reply_to             XEP-0461: the id of the message this one replies to
CREATE TABLE messages (
	id              INTEGER PRIMARY KEY,
	account_id      INTEGER NOT NULL, -- = the conversation's; no FK, the conversation's cascades
	conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
	direction       INTEGER NOT NULL,
	sender          TEXT NOT NULL DEFAULT '',
	sender_full     TEXT NOT NULL DEFAULT '',
	body            TEXT NOT NULL DEFAULT '',
	type            TEXT NOT NULL DEFAULT '',
	origin_id       TEXT NOT NULL DEFAULT '',
	stanza_id       TEXT NOT NULL DEFAULT '',
	stanza_by       TEXT NOT NULL DEFAULT '',
	ts              INTEGER NOT NULL,
	received        INTEGER NOT NULL,
	state           INTEGER NOT NULL DEFAULT 0,
	encryption      TEXT NOT NULL DEFAULT '',
	error           TEXT NOT NULL DEFAULT '',
	replace_id      TEXT,
	corrected       INTEGER,
	retracted       INTEGER,
	reply_to        TEXT
) STRICT;

-- Re-delivery (MAM overlap, carbons, MUC reflection) must not duplicate:
-- a stanza-id is unique per archive, an origin-id only per sender.
CREATE UNIQUE INDEX messages_stanza_id ON messages (account_id, stanza_by, stanza_id) WHERE stanza_id <> '';
CREATE UNIQUE INDEX messages_origin_id ON messages (conversation_id, origin_id, sender) WHERE origin_id <> '';
-- Keyset paging through a conversation in (ts, id) order.
CREATE INDEX messages_conversation_ts ON messages (conversation_id, ts, id);

-- Outgoing messages waiting to be sent, in queue order.
CREATE TABLE outbox (
	message_id INTEGER PRIMARY KEY REFERENCES messages(id) ON DELETE CASCADE,
	account_id INTEGER NOT NULL, -- = the message's, to list one account's queue
	queued_at  INTEGER NOT NULL,
	attempts   INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX outbox_queue ON outbox (account_id, queued_at, message_id);
