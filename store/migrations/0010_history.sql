-- 0010: older history fetched from the server's archive on demand, and
-- occupant ids of room messages.
-- archive_start: the archive has nothing older than what we hold, so
-- scrolling up stops asking. history_gaps: places where the archive has
-- messages we never fetched (a catch-up that could not continue from our
-- position); ts is the time of the oldest message held after the hole;
-- lost: the archive no longer has what is missing (expired), so the gap
-- stays as a mark and is not asked for again.
CREATE TABLE history_state (
	conversation_id INTEGER PRIMARY KEY REFERENCES conversations(id) ON DELETE CASCADE,
	archive_start   INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE history_gaps (
	conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
	ts              INTEGER NOT NULL,
	lost            INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (conversation_id, ts)
) STRICT, WITHOUT ROWID;

-- The XEP-0421 occupant id of a room message's sender, when the room
-- vouches for it: corrections and retractions in rooms that hide real JIDs
-- are accepted only from the same occupant id.
CREATE TABLE message_occupant (
	message_id  INTEGER PRIMARY KEY REFERENCES messages(id) ON DELETE CASCADE,
	occupant_id TEXT NOT NULL
) STRICT;
