package store

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/schema.golden")

func openTest(t testing.TB) *Store {
	t.Helper()
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "xchat.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// dumpSchema returns the SQL of all schema objects sorted by type and name,
// preceded by the schema version.
func dumpSchema(t *testing.T, db *sql.DB) string {
	t.Helper()
	var v int
	if err := db.QueryRow("PRAGMA user_version").Scan(&v); err != nil {
		t.Fatal(err)
	}
	rows, err := db.Query("SELECT sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY type, name")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var b strings.Builder
	fmt.Fprintf(&b, "-- user_version %d\n\n", v)
	for rows.Next() {
		var q string
		if err := rows.Scan(&q); err != nil {
			t.Fatal(err)
		}
		b.WriteString(q + ";\n\n")
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestSchemaGolden(t *testing.T) {
	s := openTest(t)
	got := dumpSchema(t, s.DB())
	const golden = "testdata/schema.golden"
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("schema differs from %s (run with -update if intended):\n%s", golden, got)
	}
}

func TestMigrationsFromZero(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	v, err := s.userVersion(ctx, s.DB())
	if err != nil {
		t.Fatal(err)
	}
	if v != SchemaVersion() || v < 1 {
		t.Fatalf("user_version = %d, want %d", v, SchemaVersion())
	}
	var mode string
	if err := s.DB().QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q, %v; want wal", mode, err)
	}
	var fk int
	if err := s.DB().QueryRow("PRAGMA foreign_keys").Scan(&fk); err != nil || fk != 1 {
		t.Errorf("foreign_keys = %d, %v; want 1", fk, err)
	}
	if _, err := s.AddMessage(ctx, &Message{Account: "a@x", Peer: "b@x", Body: "kept"}); err != nil {
		t.Fatal(err)
	}
	schema := dumpSchema(t, s.DB())
	s.Close()

	// Reopening runs no migration again and keeps the data.
	s, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := dumpSchema(t, s.DB()); got != schema {
		t.Errorf("schema changed on reopen:\n%s", got)
	}
	ms, err := s.Latest(ctx, "a@x", "b@x", 10)
	if err != nil || len(ms) != 1 || ms[0].Body != "kept" {
		t.Errorf("after reopen: %v, %v", ms, err)
	}
}

func TestMigrationFailureRollsBack(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	ms, err := loadMigrations(fstest.MapFS{
		"migrations/0001_a.sql": {Data: []byte("CREATE TABLE t1 (x INTEGER);")},
		"migrations/0002_b.sql": {Data: []byte("CREATE TABLE t2 (x INTEGER); CREATE TABLE t1 (y INTEGER);")},
	})
	if err != nil {
		t.Fatal(err)
	}
	// Pretend the real schema is version 0 so the test migrations apply.
	if _, err := s.DB().Exec("PRAGMA user_version = 0"); err != nil {
		t.Fatal(err)
	}
	if err := s.applyMigrations(ctx, ms); err == nil {
		t.Fatal("failing migration reported success")
	}
	v, _ := s.userVersion(ctx, s.DB())
	if v != 1 {
		t.Errorf("user_version = %d after failed migration 2, want 1", v)
	}
	var n int
	s.DB().QueryRow("SELECT count(*) FROM sqlite_master WHERE name = 't2'").Scan(&n)
	if n != 0 {
		t.Error("table of the failed migration survived")
	}
	s.DB().QueryRow("SELECT count(*) FROM sqlite_master WHERE name = 't1'").Scan(&n)
	if n != 1 {
		t.Error("table of the successful migration missing")
	}
}

func TestLoadMigrationsRejectsBadSets(t *testing.T) {
	for name, fsys := range map[string]fstest.MapFS{
		"gap":     {"migrations/0001_a.sql": {}, "migrations/0003_c.sql": {}},
		"dup":     {"migrations/0001_a.sql": {}, "migrations/1_b.sql": {}},
		"no num":  {"migrations/init.sql": {}},
		"zero":    {"migrations/0000_a.sql": {}},
		"no one":  {"migrations/0002_a.sql": {}},
		"no sep":  {"migrations/0001.sql": {}},
		"letters": {"migrations/00x1_a.sql": {}},
	} {
		if _, err := loadMigrations(fsys); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	ms, err := loadMigrations(fstest.MapFS{"migrations/0002_b.sql": {}, "migrations/0001_a.sql": {}})
	if err != nil || len(ms) != 2 || ms[0].name != "0001_a.sql" {
		t.Errorf("valid set: %v, %v", ms, err)
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.DB().Exec(fmt.Sprintf("PRAGMA user_version = %d", SchemaVersion()+1)); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = Open(ctx, path)
	if err == nil {
		s.Close()
		t.Fatal("opened a database from the future")
	}
	if !strings.Contains(err.Error(), "database was written by a newer xchat") {
		t.Errorf("unclear error: %v", err)
	}
}

func TestFileModes(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "new", "sub")
	path := filepath.Join(dir, "xchat.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddMessage(ctx, &Message{Account: "a@x", Peer: "b@x", Body: "x"}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, path + "-wal"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if m := fi.Mode().Perm(); m != 0o600 {
			t.Errorf("%s: mode %o, want 600", filepath.Base(p), m)
		}
	}
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if m := fi.Mode().Perm(); m&0o077 != 0 {
		t.Errorf("directory mode %o is accessible to others", m)
	}
	s.Close()

	// An existing file that is too open is tightened.
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	s, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("existing file left at mode %o", fi.Mode().Perm())
	}
}

func TestOpenPathWithURICharacters(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "we?ird #%20name.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.EnsureAccount(ctx, "a@x"); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Size() == 0 && !exists(path+"-wal") {
		t.Errorf("database not written to %q: %v", path, err)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), "we?ird #%20name.db") {
			t.Errorf("stray file %q", e.Name())
		}
	}
}

func exists(p string) bool { _, err := os.Stat(p); return err == nil }

func TestFTS5Available(t *testing.T) {
	s := openTest(t)
	_, err := s.DB().Exec(`CREATE VIRTUAL TABLE fts_probe USING fts5(body, tokenize = 'unicode61 remove_diacritics 2');
		INSERT INTO fts_probe (body) VALUES ('Grüße aus Köln'), ('hello world')`)
	if err != nil {
		t.Fatalf("FTS5 unavailable: %v", err)
	}
	var n int
	if err := s.DB().QueryRow("SELECT count(*) FROM fts_probe WHERE fts_probe MATCH 'koln'").Scan(&n); err != nil || n != 1 {
		t.Errorf("FTS5 MATCH: %d, %v", n, err)
	}
}

// TestQueryPlans guards against the hot queries falling back to scanning
// the messages table.
func TestQueryPlans(t *testing.T) {
	s := openTest(t)
	for _, q := range []string{
		"SELECT " + msgCols + " FROM messages WHERE conversation_id = 1 ORDER BY ts DESC, id DESC LIMIT 10",
		"SELECT " + msgCols + " FROM messages WHERE conversation_id = 1 AND (ts, id) < (5, 6) ORDER BY ts DESC, id DESC LIMIT 10",
		"SELECT " + msgCols + " FROM messages WHERE conversation_id = 1 AND (ts, id) > (5, 6) ORDER BY ts, id LIMIT 10",
		"SELECT " + msgCols + " FROM messages WHERE conversation_id = 1 AND origin_id = 'x' AND origin_id <> ''",
		"SELECT id FROM messages WHERE account_id = 1 AND stanza_by = 'x' AND stanza_id = 'y' AND stanza_id <> ''",
		"SELECT id, stanza_id FROM messages WHERE conversation_id = 1 AND origin_id = 'x' AND sender = 'y' AND origin_id <> ''",
	} {
		rows, err := s.DB().Query("EXPLAIN QUERY PLAN " + q)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		p := strings.Join(plan, "; ")
		if !strings.Contains(p, "SEARCH messages USING") || strings.Contains(p, "TEMP B-TREE") {
			t.Errorf("%s\n  plan: %s", q, p)
		}
	}
}

func TestWithTxRollsBackEverything(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	boom := errors.New("boom")
	err := s.WithTx(ctx, func(ctx context.Context) error {
		if _, err := s.AddMessage(ctx, &Message{Account: "a@x", Peer: "b@x", Body: "outer"}); err != nil {
			return err
		}
		err := s.WithTx(ctx, func(ctx context.Context) error {
			if _, err := s.AddMessage(ctx, &Message{Account: "a@x", Peer: "c@x", Body: "inner"}); err != nil {
				return err
			}
			return s.PutContact(ctx, "a@x", "v1", Contact{JID: "c@x"})
		})
		if err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("WithTx = %v, want boom", err)
	}
	accts, err := s.Accounts(ctx)
	if err != nil || len(accts) != 0 {
		t.Errorf("accounts after rollback: %v, %v", accts, err)
	}
	var n int
	s.DB().QueryRow("SELECT (SELECT count(*) FROM messages) + (SELECT count(*) FROM contacts) + (SELECT count(*) FROM conversations)").Scan(&n)
	if n != 0 {
		t.Errorf("%d rows survived the rollback", n)
	}
}

func TestWithTxNestedErrorUndoesOnlyInner(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	boom := errors.New("boom")
	err := s.WithTx(ctx, func(ctx context.Context) error {
		if _, err := s.AddMessage(ctx, &Message{Account: "a@x", Peer: "b@x", Body: "outer"}); err != nil {
			return err
		}
		err := s.WithTx(ctx, func(ctx context.Context) error {
			if _, err := s.AddMessage(ctx, &Message{Account: "a@x", Peer: "b@x", Body: "inner"}); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			return fmt.Errorf("nested WithTx = %v", err)
		}
		return nil // the outer transaction carries on
	})
	if err != nil {
		t.Fatal(err)
	}
	ms, err := s.Latest(ctx, "a@x", "b@x", 10)
	if err != nil || len(ms) != 1 || ms[0].Body != "outer" {
		t.Errorf("messages = %+v, %v; want just outer", ms, err)
	}
	cs, _ := s.Conversations(ctx, "a@x")
	if len(cs) != 1 || cs[0].LastBody != "outer" || cs[0].Unread != 1 {
		t.Errorf("conversation = %+v", cs)
	}
}

func TestWithTxPanicRollsBackAndUnlocks(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	func() {
		defer func() {
			if recover() == nil {
				t.Error("panic swallowed")
			}
		}()
		s.WithTx(ctx, func(ctx context.Context) error {
			s.AddMessage(ctx, &Message{Account: "a@x", Peer: "b@x", Body: "x"})
			panic("oops")
		})
	}()
	// The write lock must be free again.
	ctx2, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if _, err := s.AddMessage(ctx2, &Message{Account: "a@x", Peer: "b@x", Body: "y"}); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.Count(ctx, "a@x", "b@x"); n != 1 {
		t.Errorf("count = %d, want 1", n)
	}
}

func TestQSeesTransaction(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	if _, err := s.DB().Exec("CREATE TABLE ratchet (k TEXT PRIMARY KEY, v TEXT)"); err != nil {
		t.Fatal(err)
	}
	if s.Q(ctx) != Querier(s.DB()) {
		t.Error("Q without a transaction is not the DB")
	}
	other := openTest(t)
	err := s.WithTx(ctx, func(ctx context.Context) error {
		if _, ok := s.Q(ctx).(*sql.Tx); !ok {
			return errors.New("Q inside WithTx is not a *sql.Tx")
		}
		if other.Q(ctx) != Querier(other.DB()) {
			return errors.New("another store picked up this store's transaction")
		}
		if _, err := s.Q(ctx).ExecContext(ctx, "INSERT INTO ratchet VALUES ('k', 'v')"); err != nil {
			return err
		}
		var v string
		if err := s.Q(ctx).QueryRowContext(ctx, "SELECT v FROM ratchet WHERE k = 'k'").Scan(&v); err != nil {
			return fmt.Errorf("own write invisible in tx: %w", err)
		}
		// Another connection must not see the uncommitted row.
		err := s.DB().QueryRowContext(ctx, "SELECT v FROM ratchet WHERE k = 'k'").Scan(&v)
		if !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("uncommitted row visible outside: %v", err)
		}
		// Store methods join the same transaction.
		if _, err := s.AddMessage(ctx, &Message{Account: "a@x", Peer: "b@x", Body: "decrypted"}); err != nil {
			return err
		}
		return errors.New("abort")
	})
	if err == nil || err.Error() != "abort" {
		t.Fatalf("WithTx = %v", err)
	}
	var n int
	s.DB().QueryRow("SELECT (SELECT count(*) FROM ratchet) + (SELECT count(*) FROM messages)").Scan(&n)
	if n != 0 {
		t.Errorf("ratchet row or message survived rollback (%d rows)", n)
	}
}

// TestWriteWaitHonoursContext checks that a writer blocked behind a long
// transaction gives up when its context ends.
func TestWriteWaitHonoursContext(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	started, release := make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.WithTx(ctx, func(ctx context.Context) error {
			close(started)
			<-release
			return nil
		})
	}()
	<-started
	ctx2, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	_, err := s.AddMessage(ctx2, &Message{Account: "a@x", Peer: "b@x"})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("AddMessage while locked = %v, want deadline exceeded", err)
	}
	close(release)
	wg.Wait()
}

func TestConcurrentReadersWhileWriting(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	const batches, per = 40, 50
	done := make(chan struct{})
	errc := make(chan error, 8)
	var wg sync.WaitGroup

	// Two writers (two accounts' sessions) and three readers (the UI).
	for w := 0; w < 2; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for b := 0; b < batches; b++ {
				ms := make([]*Message, per)
				for i := range ms {
					ms[i] = &Message{Account: "a@x", Peer: fmt.Sprintf("p%d@x", w), Body: fmt.Sprintf("m %d %d", b, i),
						Timestamp: time.UnixMilli(int64(1e12 + b*per + i)), OriginID: fmt.Sprintf("%d-%d", b, i), Sender: "p"}
				}
				if n, err := s.AddMessages(ctx, ms); err != nil || n != per {
					errc <- fmt.Errorf("writer %d: %d, %v", w, n, err)
					return
				}
			}
		}(w)
	}
	var reads [3]int
	var rwg sync.WaitGroup
	for r := 0; r < 3; r++ {
		rwg.Add(1)
		go func(r int) {
			defer rwg.Done()
			last := 0
			for {
				select {
				case <-done:
					return
				default:
				}
				n, err := s.Count(ctx, "a@x", "p0@x")
				if err != nil {
					errc <- err
					return
				}
				if n < last || n%per != 0 {
					errc <- fmt.Errorf("reader saw count %d after %d (torn batch or going back)", n, last)
					return
				}
				last = n
				ms, err := s.Latest(ctx, "a@x", "p0@x", 20)
				if err != nil {
					errc <- err
					return
				}
				for i := 1; i < len(ms); i++ {
					if !ms[i-1].Timestamp.Before(ms[i].Timestamp) {
						errc <- fmt.Errorf("Latest out of order")
						return
					}
				}
				if _, err := s.Conversations(ctx, "a@x"); err != nil {
					errc <- err
					return
				}
				reads[r]++
			}
		}(r)
	}
	wg.Wait()
	close(done)
	rwg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	for r, n := range reads {
		if n == 0 {
			t.Errorf("reader %d never completed a read", r)
		}
	}
	for w := 0; w < 2; w++ {
		if n, _ := s.Count(ctx, "a@x", fmt.Sprintf("p%d@x", w)); n != batches*per {
			t.Errorf("writer %d: %d messages stored, want %d", w, n, batches*per)
		}
	}
}
