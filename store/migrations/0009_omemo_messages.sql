-- 0009: OMEMO details of received messages.
--   omemo_device     the sender's device id (0: not OMEMO, or unknown)
--   omemo_untrusted  1 when that device was not trusted (undecided or
--                    untrusted) when the message arrived: shown marked
ALTER TABLE messages ADD COLUMN omemo_device INTEGER NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN omemo_untrusted INTEGER NOT NULL DEFAULT 0;

-- Messages that could not be decrypted yet, with the stanza that carried
-- them, to be tried again once a session with the sender's device exists
-- or is repaired. The row goes when the retry succeeds (or the message).
CREATE TABLE omemo_retry (
	message_id INTEGER PRIMARY KEY REFERENCES messages(id) ON DELETE CASCADE,
	account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	jid        TEXT NOT NULL,
	device_id  INTEGER NOT NULL,
	stanza     BLOB NOT NULL,
	attempts   INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX omemo_retry_device ON omemo_retry (account_id, jid, device_id);

-- Whether our device id has been published: until then it may still be
-- changed if another device of the account turns out to use it (identities
-- created before this migration were published).
ALTER TABLE omemo_own ADD COLUMN published INTEGER NOT NULL DEFAULT 1;
