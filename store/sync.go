package store

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// ArchiveSync returns the newest stanza-id (and its time) we hold from the
// archive (our account's or a room's bare JID); "" when we have none yet.
func (s *Store) ArchiveSync(ctx context.Context, acct, archive string) (lastID string, lastTS time.Time, err error) {
	id, err := s.accountID(ctx, acct)
	if err != nil {
		return "", time.Time{}, err
	}
	var ms int64
	err = s.Q(ctx).QueryRowContext(ctx, `SELECT last_id, last_ts FROM archive_sync WHERE account_id = ? AND archive = ?`, id, archive).Scan(&lastID, &ms)
	if errors.Is(err, sql.ErrNoRows) {
		return "", time.Time{}, nil
	}
	if err != nil {
		return "", time.Time{}, err
	}
	if ms != 0 {
		lastTS = time.UnixMilli(ms).UTC()
	}
	return lastID, lastTS, nil
}

// SetArchiveSync records the newest stanza-id held from an archive.
func (s *Store) SetArchiveSync(ctx context.Context, acct, archive, lastID string, lastTS time.Time) error {
	id, err := s.EnsureAccount(ctx, acct)
	if err != nil {
		return err
	}
	var ms int64
	if !lastTS.IsZero() {
		ms = lastTS.UnixMilli()
	}
	_, err = s.Q(ctx).ExecContext(ctx, `INSERT INTO archive_sync (account_id, archive, last_id, last_ts) VALUES (?, ?, ?, ?)
		ON CONFLICT (account_id, archive) DO UPDATE SET last_id = excluded.last_id, last_ts = excluded.last_ts`, id, archive, lastID, ms)
	return err
}
