// Package store keeps xchat's persistent state — accounts, rosters, cached
// service discovery features, conversations, message history and the
// outgoing message queue — in one SQLite database (modernc.org/sqlite, so no
// cgo).
//
// The file is created with mode 0600 and opened in WAL mode: any number of
// readers (the UI) run alongside one writer. Writers in this process queue on
// a Go lock before SQLite's busy timeout comes into play, so one account's
// long archive sync cannot starve another account's incoming message.
//
// The schema is created and upgraded by the numbered SQL files embedded from
// migrations/, tracked in PRAGMA user_version; a database written by a newer
// build is refused rather than guessed at.
//
// Transactions travel in the context: WithTx puts a *sql.Tx into the ctx it
// hands to its function, and every Store method — as well as code in other
// packages that reaches the database through Q — uses that transaction when
// present. A nested WithTx runs inside a savepoint of the outer one. This lets
// for example an OMEMO ratchet update and the message it decrypted commit or
// roll back together.
//
// Messages are deduplicated on insertion: a stanza-id (XEP-0359) is unique per
// archive that assigned it, and an origin-id is unique per sender within a
// conversation. Callers must therefore give our own messages the same Sender
// when they send them and when they come back (carbon, MAM, MUC reflection);
// the reflected copy then merely adds its stanza-id to the stored row.
//
// Times are stored as unix milliseconds and returned in UTC.
package store
