package store

import "context"

// AddUpload records that acct uploaded the file at url (its GET URL).
func (s *Store) AddUpload(ctx context.Context, acct, url string) error {
	id, err := s.EnsureAccount(ctx, acct)
	if err != nil {
		return err
	}
	_, err = s.Q(ctx).ExecContext(ctx, `INSERT INTO uploads (account_id, url) VALUES (?, ?) ON CONFLICT DO NOTHING`, id, url)
	return err
}

// IsUpload reports whether acct uploaded the file at url.
func (s *Store) IsUpload(ctx context.Context, acct, url string) (bool, error) {
	var n int
	err := s.Q(ctx).QueryRowContext(ctx, `SELECT count(*) FROM uploads
		WHERE account_id = (SELECT id FROM accounts WHERE jid = ?) AND url = ?`, acct, url).Scan(&n)
	return n > 0, err
}
