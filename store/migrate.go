package store

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

// migrationFS holds the schema migrations, named NNNN_description.sql and
// numbered from 1 without gaps. They are forward-only: never edit one that
// has been released, add a new file instead.
//
//go:embed migrations/*.sql
var migrationFS embed.FS

type migration struct {
	version int
	name    string
	sql     string
}

// migrations is the parsed, ordered content of migrationFS.
var migrations = mustLoadMigrations(migrationFS)

func mustLoadMigrations(fsys fs.FS) []migration {
	ms, err := loadMigrations(fsys)
	if err != nil {
		panic(err)
	}
	return ms
}

func loadMigrations(fsys fs.FS) ([]migration, error) {
	names, err := fs.Glob(fsys, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, name := range names {
		base := path.Base(name)
		num, _, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("store: migration %s: name must start with a positive number and '_'", base)
		}
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: base, sql: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i, m := range ms {
		if m.version != i+1 {
			return nil, fmt.Errorf("store: migration %s: expected version %d", m.name, i+1)
		}
	}
	return ms, nil
}

// SchemaVersion is the schema version this build creates and understands.
func SchemaVersion() int { return len(migrations) }

func (s *Store) userVersion(ctx context.Context, q Querier) (int, error) {
	var v int
	if err := q.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return 0, fmt.Errorf("store: read schema version: %w", err)
	}
	return v, nil
}

// migrate brings the database up to this build's schema.
func (s *Store) migrate(ctx context.Context) error {
	return s.applyMigrations(ctx, migrations)
}

// applyMigrations applies the migrations of ms the database has not seen
// yet, each in its own transaction together with the user_version bump that
// records it.
func (s *Store) applyMigrations(ctx context.Context, ms []migration) error {
	v, err := s.userVersion(ctx, s.db)
	if err != nil {
		return err
	}
	if err := checkVersion(v, len(ms)); err != nil {
		return err
	}
	for _, m := range ms {
		if m.version <= v {
			continue
		}
		err := s.WithTx(ctx, func(ctx context.Context) error {
			q := s.Q(ctx)
			// Another process may have migrated while we waited for the lock.
			cur, err := s.userVersion(ctx, q)
			if err != nil {
				return err
			}
			if err := checkVersion(cur, len(ms)); err != nil {
				return err
			}
			if cur >= m.version {
				return nil
			}
			if _, err := q.ExecContext(ctx, m.sql); err != nil {
				return fmt.Errorf("store: migration %s: %w", m.name, err)
			}
			if _, err := q.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", m.version)); err != nil {
				return fmt.Errorf("store: migration %s: %w", m.name, err)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func checkVersion(v, known int) error {
	if v > known {
		return fmt.Errorf("store: database was written by a newer xchat (schema version %d, this build knows up to %d)", v, known)
	}
	return nil
}
