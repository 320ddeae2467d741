package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"xchat/store"
)

// Names used by Fixture.
const (
	FixtureAccount = "me@example.org"
	FixturePeer    = "friend@example.org"
)

// Epoch is the timestamp of the first message Fill writes into an empty
// conversation.
var Epoch = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)

// words make up the message bodies.
var words = strings.Fields(`the quick brown fox jumps over a lazy dog while
	xmpp servers relay stanzas between clients and everyone agrees that
	terminal chat is cosy lunch later maybe tomorrow sounds good see you`)

// Body returns the deterministic body Fill gives to message number i.
func Body(i int) string {
	n := 3 + i%17
	var b strings.Builder
	for j := 0; j < n; j++ {
		if j > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(words[(i*7+j*13)%len(words)])
	}
	return b.String()
}

// Fill appends n messages to the chat between acct and peer, in one
// transaction with prepared statements. Messages alternate direction in
// irregular runs, carry unique origin- and stanza-ids, and are one second
// apart except that every fifth shares the timestamp of the one before
// (to exercise ordering ties). They start one second after the
// conversation's newest message, or at Epoch.
func Fill(ctx context.Context, s *store.Store, acct, peer string, n int) error {
	if n <= 0 {
		return nil
	}
	conv, err := s.OpenConversation(ctx, acct, peer, store.KindChat)
	if err != nil {
		return err
	}
	acctID, err := s.EnsureAccount(ctx, acct)
	if err != nil {
		return err
	}
	var prefix [6]byte
	if _, err := rand.Read(prefix[:]); err != nil {
		return err
	}
	pre := hex.EncodeToString(prefix[:])
	ts := Epoch.UnixMilli()
	if !conv.LastTime.IsZero() {
		ts = conv.LastTime.UnixMilli() + 1000
	}
	recv := time.Now().UnixMilli()
	return s.WithTx(ctx, func(ctx context.Context) error {
		tx, ok := s.Q(ctx).(*sql.Tx)
		if !ok {
			return errors.New("storetest: no transaction in context")
		}
		ins, err := tx.PrepareContext(ctx, `INSERT INTO messages (account_id, conversation_id,
			direction, sender, sender_full, body, type, origin_id, stanza_id, stanza_by,
			ts, received, state) VALUES (?, ?, ?, ?, ?, ?, 'chat', ?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer ins.Close()
		var body string
		unread := 0
		for i := 0; i < n; i++ {
			if i > 0 && i%5 != 0 {
				ts += 1000
			}
			dir, sender, full, state := store.Incoming, peer, peer+"/phone", store.StateReceived
			if (i/3+i/7)%2 == 1 {
				dir, sender, full, state = store.Outgoing, acct, acct+"/xchat", store.StateRead
				unread = 0
			} else {
				unread++
			}
			body = Body(i)
			id := fmt.Sprintf("%s-%08x", pre, i)
			if _, err := ins.ExecContext(ctx, acctID, conv.ID, dir, sender, full, body,
				"o-"+id, "s-"+id, acct, ts, recv, state); err != nil {
				return fmt.Errorf("storetest: message %d: %w", i, err)
			}
		}
		_, err = tx.ExecContext(ctx,
			"UPDATE conversations SET last_ts = ?, last_body = ?, unread = unread + ? WHERE id = ?",
			ts, body, unread, conv.ID)
		return err
	})
}

// FixturePath returns where Fixture keeps the database with n messages.
func FixturePath(n int) string {
	return filepath.Join(os.TempDir(), "xchat-storetest",
		fmt.Sprintf("fixture-schema%d-n%d.db", store.SchemaVersion(), n))
}

// Fixture returns the path of a database holding exactly n messages
// between FixtureAccount and FixturePeer, building it if the cached copy is
// missing or does not pass validation (schema identical to a fresh
// database's, message count n). Treat the file as read-only: use
// CopyFixture to get one to modify.
func Fixture(ctx context.Context, n int) (string, error) {
	path := FixturePath(n)
	if ok, _ := valid(ctx, path, n); ok {
		return path, nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", err
	}
	tmp := fmt.Sprintf("%s.tmp%d", path, os.Getpid())
	removeDB(tmp)
	defer removeDB(tmp)
	s, err := store.Open(ctx, tmp)
	if err != nil {
		return "", err
	}
	if err := Fill(ctx, s, FixtureAccount, FixturePeer, n); err != nil {
		s.Close()
		return "", err
	}
	// Fold the WAL into the main file so that the file alone is complete.
	if _, err := s.DB().ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		s.Close()
		return "", err
	}
	if err := s.Close(); err != nil {
		return "", err
	}
	removeDB(path)
	if err := os.Rename(tmp, path); err != nil {
		return "", err
	}
	if ok, err := valid(ctx, path, n); !ok {
		return "", fmt.Errorf("storetest: fresh fixture invalid: %v", err)
	}
	return path, nil
}

// CopyFixture copies the fixture with n messages into dir and returns the
// copy's path.
func CopyFixture(ctx context.Context, dir string, n int) (string, error) {
	src, err := Fixture(ctx, n)
	if err != nil {
		return "", err
	}
	dst := filepath.Join(dir, filepath.Base(src))
	in, err := os.Open(src)
	if err != nil {
		return "", err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return "", err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return "", err
	}
	return dst, out.Close()
}

// valid reports whether path holds a usable fixture with n messages.
func valid(ctx context.Context, path string, n int) (bool, error) {
	if _, err := os.Stat(path); err != nil {
		return false, err
	}
	want, err := freshSchema(ctx)
	if err != nil {
		return false, err
	}
	s, err := store.Open(ctx, path)
	if err != nil {
		return false, err
	}
	defer s.Close()
	got, err := Schema(ctx, s.DB())
	if err != nil {
		return false, err
	}
	if got != want {
		return false, errors.New("schema differs")
	}
	c, err := s.Count(ctx, FixtureAccount, FixturePeer)
	if err != nil {
		return false, err
	}
	if c != n {
		return false, fmt.Errorf("holds %d messages, want %d", c, n)
	}
	return true, nil
}

// freshSchema returns Schema of a newly created database.
func freshSchema(ctx context.Context) (string, error) {
	dir, err := os.MkdirTemp("", "xchat-storetest-schema")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	s, err := store.Open(ctx, filepath.Join(dir, "fresh.db"))
	if err != nil {
		return "", err
	}
	defer s.Close()
	return Schema(ctx, s.DB())
}

// Schema dumps the SQL of every schema object, ordered by type and name.
func Schema(ctx context.Context, db *sql.DB) (string, error) {
	rows, err := db.QueryContext(ctx,
		"SELECT sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY type, name")
	if err != nil {
		return "", err
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var q string
		if err := rows.Scan(&q); err != nil {
			return "", err
		}
		b.WriteString(q)
		b.WriteString(";\n\n")
	}
	return b.String(), rows.Err()
}

func removeDB(path string) {
	for _, suffix := range []string{"", "-wal", "-shm"} {
		os.Remove(path + suffix)
	}
}
