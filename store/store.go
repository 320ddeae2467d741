package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// ErrNotFound is returned (wrapped) when a looked-up row does not exist.
var ErrNotFound = errors.New("store: not found")

// ErrBusy is returned when a write had to wait longer than the busy timeout
// for another write transaction of this process to finish.
var ErrBusy = errors.New("store: database busy")

// busyTimeout bounds how long a writer waits, both for SQLite's file lock
// (other processes) and for the in-process write lock.
const busyTimeout = 5 * time.Second

// dsnParams configures every connection (the path is a file: URI so that
// '?' or '%' in it cannot be mistaken for parameters):
//   - _txlock=immediate takes the write lock at BEGIN, so a transaction never
//     fails halfway when upgrading from read to write;
//   - WAL with synchronous=NORMAL: readers never block the writer, and a
//     commit costs no fsync (a power cut may lose the last commits, never
//     consistency);
//   - a 16 MiB page cache, memory-mapped reads and checkpoints every ~40 MiB
//     of WAL (not the default 4 MiB) roughly double the insertion rate of
//     messages with random ids, whose unique indexes dirty about one page per
//     message; journal_size_limit trims the WAL back afterwards.
const dsnParams = "?_txlock=immediate&_busy_timeout=%d&_foreign_keys=on&_journal_mode=WAL&_synchronous=NORMAL" +
	"&_pragma=cache_size(-16000)&_pragma=mmap_size(268435456)" +
	"&_pragma=wal_autocheckpoint(10000)&_pragma=journal_size_limit(16777216)"

// maxConns caps the connection pool: one writer at a time plus readers.
const maxConns = 4

// Store is an open database. Its methods are safe for concurrent use.
type Store struct {
	db    *sql.DB
	path  string
	wlock chan struct{} // held (full) while a write transaction runs

	// The full-text index is brought up to date in the background, after
	// writes go quiet, so a burst of inserts (archive catch-up) is not
	// slowed by it; Search catches up first, so results stay exact.
	indexKick chan struct{}
	indexStop chan struct{}
	indexDone chan struct{}
	closeOnce sync.Once
}

// Querier is what *sql.DB and *sql.Tx have in common for running statements.
type Querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Open opens the database at path, creating it (and its directory) if
// needed, and brings its schema up to date. The file is made private (0600).
func Open(ctx context.Context, path string) (*Store, error) {
	if path == "" {
		return nil, errors.New("store: empty database path")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o700); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	// Create the file ourselves so it never exists with a wider mode; SQLite
	// gives the -wal and -shm files the mode of the database file.
	f, err := os.OpenFile(abs, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	if err := os.Chmod(abs, 0o600); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}

	uriPath := filepath.ToSlash(abs)
	if !strings.HasPrefix(uriPath, "/") {
		uriPath = "/" + uriPath // a Windows drive letter: file:///C:/...
	}
	dsn := "file:" + (&url.URL{Path: uriPath}).EscapedPath() +
		fmt.Sprintf(dsnParams, busyTimeout.Milliseconds())
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	db.SetMaxOpenConns(maxConns)
	db.SetMaxIdleConns(maxConns)
	s := &Store{db: db, path: abs, wlock: make(chan struct{}, 1)}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: open %s: %w", abs, err)
	}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	s.startIndexer()
	s.kickIndex() // rows queued by an earlier run that ended before indexing
	return s, nil
}

// Close closes the database.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		if s.indexStop != nil {
			close(s.indexStop)
			<-s.indexDone
		}
	})
	return s.db.Close()
}

// indexQuiet is how long writes must pause before the background indexer
// runs.
const indexQuiet = 300 * time.Millisecond

// startIndexer runs the background full-text indexer until Close.
func (s *Store) startIndexer() {
	s.indexKick = make(chan struct{}, 1)
	s.indexStop = make(chan struct{})
	s.indexDone = make(chan struct{})
	go func() {
		defer close(s.indexDone)
		for {
			select {
			case <-s.indexStop:
				return
			case <-s.indexKick:
			}
			// Wait for quiet: more kicks restart the wait.
			t := time.NewTimer(indexQuiet)
		quiet:
			for {
				select {
				case <-s.indexStop:
					t.Stop()
					return
				case <-s.indexKick:
					t.Reset(indexQuiet)
				case <-t.C:
					break quiet
				}
			}
			_ = s.FlushIndex(context.Background()) // errors: Search retries
		}
	}()
}

// kickIndex tells the indexer that messages were added.
func (s *Store) kickIndex() {
	if s.indexKick == nil {
		return
	}
	select {
	case s.indexKick <- struct{}{}:
	default:
	}
}

// DB returns the underlying connection pool, for packages that keep their
// own tables in the same file. Prefer Q(ctx) so that a transaction in ctx is
// honoured.
func (s *Store) DB() *sql.DB { return s.db }

// Path returns the absolute path of the database file.
func (s *Store) Path() string { return s.path }

type txKey struct{}

// txState is what WithTx stores in the context.
type txState struct {
	s     *Store
	tx    *sql.Tx
	depth int // savepoint nesting level; 0 for the outermost transaction
}

func (s *Store) txFrom(ctx context.Context) *txState {
	st, _ := ctx.Value(txKey{}).(*txState)
	if st == nil || st.s != s {
		return nil
	}
	return st
}

// Q returns the transaction carried by ctx, or the database when there is
// none. Statements run through it take part in the caller's transaction.
func (s *Store) Q(ctx context.Context) Querier {
	if st := s.txFrom(ctx); st != nil {
		return st.tx
	}
	return s.db
}

// WithTx runs fn in a transaction carried by the ctx passed to fn, committing
// if fn returns nil and rolling back otherwise (also on panic). Called with a
// ctx that already carries a transaction of s, it runs fn inside a savepoint
// of that transaction: an error undoes only fn's work, and the outer
// transaction decides about the rest.
//
// Write transactions of a Store run one at a time. Inside fn, always pass
// fn's ctx on: a write made with a ctx that lacks the transaction waits for
// it to end, and fails with ErrBusy after five seconds.
func (s *Store) WithTx(ctx context.Context, fn func(ctx context.Context) error) (err error) {
	if st := s.txFrom(ctx); st != nil {
		return s.savepoint(ctx, st, fn)
	}
	if err := s.lockWrite(ctx); err != nil {
		return err
	}
	defer s.unlockWrite()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	done := false
	defer func() {
		if !done {
			tx.Rollback() // fn panicked
		}
	}()
	err = fn(context.WithValue(ctx, txKey{}, &txState{s: s, tx: tx}))
	done = true
	if err != nil {
		if rerr := tx.Rollback(); rerr != nil && !errors.Is(rerr, sql.ErrTxDone) {
			return errors.Join(err, fmt.Errorf("store: rollback: %w", rerr))
		}
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	return nil
}

func (s *Store) savepoint(ctx context.Context, outer *txState, fn func(ctx context.Context) error) error {
	st := &txState{s: s, tx: outer.tx, depth: outer.depth + 1}
	name := fmt.Sprintf("xchat_sp%d", st.depth)
	if _, err := st.tx.ExecContext(ctx, "SAVEPOINT "+name); err != nil {
		return fmt.Errorf("store: savepoint: %w", err)
	}
	undo := func() error {
		// ROLLBACK TO leaves the savepoint on the stack; RELEASE pops it.
		_, err := st.tx.ExecContext(context.WithoutCancel(ctx), "ROLLBACK TO "+name+"; RELEASE "+name)
		return err
	}
	done := false
	defer func() {
		if !done {
			undo() // fn panicked; the outer transaction sees the panic next
		}
	}()
	err := fn(context.WithValue(ctx, txKey{}, st))
	done = true
	if err != nil {
		if rerr := undo(); rerr != nil {
			return errors.Join(err, fmt.Errorf("store: rollback to savepoint: %w", rerr))
		}
		return err
	}
	if _, err := st.tx.ExecContext(ctx, "RELEASE "+name); err != nil {
		return fmt.Errorf("store: release savepoint: %w", err)
	}
	return nil
}

// lockWrite serialises this process's write transactions in Go, where
// waiting is first come first served, instead of leaving them to SQLite's
// sleeping busy handler.
func (s *Store) lockWrite(ctx context.Context) error {
	select {
	case s.wlock <- struct{}{}:
		return nil
	default:
	}
	t := time.NewTimer(busyTimeout)
	defer t.Stop()
	select {
	case s.wlock <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return ErrBusy
	}
}

func (s *Store) unlockWrite() { <-s.wlock }

// ms converts t to unix milliseconds.
func ms(t time.Time) int64 { return t.UnixMilli() }

// fromMS converts unix milliseconds to a UTC time; 0 is the zero time.
func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}

// notFound wraps ErrNotFound with what was looked for.
func notFound(format string, args ...any) error {
	return fmt.Errorf("store: %s: %w", fmt.Sprintf(format, args...), ErrNotFound)
}
