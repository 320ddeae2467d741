-- 0003: OMEMO state (package omemo). Tables not named "legacy" are shared by
-- every OMEMO version: one identity key pair and device id per account, and
-- the trust decisions about other devices' identity keys. Keys are stored as
-- raw 32-byte Curve25519 public keys (no 0x05 type prefix), so that a later
-- OMEMO 2 implementation can map its Ed25519 keys onto the same rows.

-- Our own device: identity key pair, device id (1..2^31-1), and the id
-- counters of the legacy (eu.siacs.conversations.axolotl) prekeys, which are
-- never reused.
CREATE TABLE omemo_own (
	account_id                   INTEGER PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
	device_id                    INTEGER NOT NULL,
	identity_pub                 BLOB NOT NULL,
	identity_priv                BLOB NOT NULL,
	created                      INTEGER NOT NULL,
	legacy_next_prekey_id        INTEGER NOT NULL DEFAULT 1,
	legacy_next_signed_prekey_id INTEGER NOT NULL DEFAULT 1
) STRICT;

-- Other devices (of contacts and of our own account) as far as we know them.
--   identity_key  the device's current identity key ('' until known)
--   active        listed in the owner's most recent device list
--   last_seen     when we last received a message from it (unix ms, 0 never)
--   encrypted_to  whether the last message we sent to jid was encrypted for it
CREATE TABLE omemo_devices (
	account_id   INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	jid          TEXT NOT NULL,
	device_id    INTEGER NOT NULL,
	identity_key BLOB NOT NULL DEFAULT x'',
	active       INTEGER NOT NULL DEFAULT 0,
	last_seen    INTEGER NOT NULL DEFAULT 0,
	encrypted_to INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (account_id, jid, device_id)
) STRICT, WITHOUT ROWID;

-- Trust decisions per (device, identity key): a device that changes its key
-- starts over. state: 0 undecided, 1 trusted, 2 verified, 3 untrusted.
CREATE TABLE omemo_trust (
	account_id   INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	jid          TEXT NOT NULL,
	device_id    INTEGER NOT NULL,
	identity_key BLOB NOT NULL,
	state        INTEGER NOT NULL DEFAULT 0,
	first_seen   INTEGER NOT NULL,
	PRIMARY KEY (account_id, jid, device_id, identity_key)
) STRICT, WITHOUT ROWID;

-- Legacy OMEMO one-time prekeys: raw 32-byte Curve25519 key pairs (not
-- libsignal's JSON records, which lose the public key on the way back).
-- used is when a PreKeySignalMessage consumed it (0: still published); used
-- keys are kept until catch-up is over, then purged.
CREATE TABLE omemo_legacy_prekeys (
	account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	id         INTEGER NOT NULL,
	pub        BLOB NOT NULL,
	priv       BLOB NOT NULL,
	used       INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (account_id, id)
) STRICT, WITHOUT ROWID;

-- Legacy OMEMO signed prekeys; the newest is published, older ones are kept
-- for a grace period so late PreKeySignalMessages still decrypt.
CREATE TABLE omemo_legacy_signed_prekeys (
	account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	id         INTEGER NOT NULL,
	pub        BLOB NOT NULL,
	priv       BLOB NOT NULL,
	signature  BLOB NOT NULL,
	created    INTEGER NOT NULL,
	PRIMARY KEY (account_id, id)
) STRICT, WITHOUT ROWID;

-- Legacy OMEMO (libsignal) session records per remote device. A rowid table:
-- records are about a kilobyte, too large for WITHOUT ROWID.
CREATE TABLE omemo_legacy_sessions (
	id         INTEGER PRIMARY KEY,
	account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	jid        TEXT NOT NULL,
	device_id  INTEGER NOT NULL,
	record     BLOB NOT NULL,
	UNIQUE (account_id, jid, device_id)
) STRICT;
