package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
)

// accountID returns the id of acct, or 0 if it has no row yet.
func (s *Store) accountID(ctx context.Context, acct string) (int64, error) {
	var id int64
	err := s.Q(ctx).QueryRowContext(ctx, "SELECT id FROM accounts WHERE jid = ?", acct).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("store: account %s: %w", acct, err)
	}
	return id, nil
}

// EnsureAccount returns the id of the account acct (a bare JID), creating
// its row if needed.
func (s *Store) EnsureAccount(ctx context.Context, acct string) (int64, error) {
	if acct == "" {
		return 0, errors.New("store: empty account")
	}
	if id, err := s.accountID(ctx, acct); err != nil || id != 0 {
		return id, err
	}
	var id int64
	err := s.WithTx(ctx, func(ctx context.Context) error {
		var err error
		id, err = s.ensureAccount(ctx, acct)
		return err
	})
	return id, err
}

// ensureAccount is EnsureAccount for callers already in a write
// transaction, which makes the look-up and the insertion atomic.
func (s *Store) ensureAccount(ctx context.Context, acct string) (int64, error) {
	if acct == "" {
		return 0, errors.New("store: empty account")
	}
	id, err := s.accountID(ctx, acct)
	if err != nil || id != 0 {
		return id, err
	}
	err = s.Q(ctx).QueryRowContext(ctx, "INSERT INTO accounts (jid) VALUES (?) RETURNING id", acct).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("store: account %s: %w", acct, err)
	}
	return id, nil
}

// Accounts lists the accounts that have rows, sorted by JID.
func (s *Store) Accounts(ctx context.Context) ([]string, error) {
	rows, err := s.Q(ctx).QueryContext(ctx, "SELECT jid FROM accounts ORDER BY jid")
	if err != nil {
		return nil, fmt.Errorf("store: accounts: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var j string
		if err := rows.Scan(&j); err != nil {
			return nil, fmt.Errorf("store: accounts: %w", err)
		}
		out = append(out, j)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: accounts: %w", err)
	}
	return out, nil
}

// RosterVersion returns the stored roster version (XEP-0237) of acct, "" if
// none.
func (s *Store) RosterVersion(ctx context.Context, acct string) (string, error) {
	var ver string
	err := s.Q(ctx).QueryRowContext(ctx, "SELECT roster_ver FROM accounts WHERE jid = ?", acct).Scan(&ver)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("store: roster version %s: %w", acct, err)
	}
	return ver, nil
}

func setRosterVer(ctx context.Context, q Querier, id int64, ver string) error {
	_, err := q.ExecContext(ctx, "UPDATE accounts SET roster_ver = ? WHERE id = ?", ver, id)
	if err != nil {
		return fmt.Errorf("store: roster version: %w", err)
	}
	return nil
}

const upsertContact = `INSERT INTO contacts (account_id, jid, name, subscription, ask, groups)
	VALUES (?, ?, ?, ?, ?, ?)
	ON CONFLICT (account_id, jid) DO UPDATE SET
		name = excluded.name, subscription = excluded.subscription,
		ask = excluded.ask, groups = excluded.groups`

func contactArgs(id int64, c Contact) ([]any, error) {
	if c.JID == "" {
		return nil, errors.New("store: contact without JID")
	}
	groups := c.Groups
	if groups == nil {
		groups = []string{}
	}
	g, err := json.Marshal(groups)
	if err != nil {
		return nil, fmt.Errorf("store: contact %s: %w", c.JID, err)
	}
	sub := c.Subscription
	if sub == "" {
		sub = "none"
	}
	return []any{id, c.JID, c.Name, sub, c.Ask, string(g)}, nil
}

// ReplaceRoster replaces all contacts of acct with cs (a full roster
// result) and stores the roster version ver.
func (s *Store) ReplaceRoster(ctx context.Context, acct, ver string, cs []Contact) error {
	return s.WithTx(ctx, func(ctx context.Context) error {
		id, err := s.ensureAccount(ctx, acct)
		if err != nil {
			return err
		}
		q := s.Q(ctx)
		if _, err := q.ExecContext(ctx, "DELETE FROM contacts WHERE account_id = ?", id); err != nil {
			return fmt.Errorf("store: replace roster: %w", err)
		}
		for _, c := range cs {
			args, err := contactArgs(id, c)
			if err != nil {
				return err
			}
			if _, err := q.ExecContext(ctx, upsertContact, args...); err != nil {
				return fmt.Errorf("store: contact %s: %w", c.JID, err)
			}
		}
		return setRosterVer(ctx, q, id, ver)
	})
}

// PutContact adds or updates one contact (a roster push) and stores ver
// unless it is empty.
func (s *Store) PutContact(ctx context.Context, acct, ver string, c Contact) error {
	return s.WithTx(ctx, func(ctx context.Context) error {
		id, err := s.ensureAccount(ctx, acct)
		if err != nil {
			return err
		}
		args, err := contactArgs(id, c)
		if err != nil {
			return err
		}
		q := s.Q(ctx)
		if _, err := q.ExecContext(ctx, upsertContact, args...); err != nil {
			return fmt.Errorf("store: contact %s: %w", c.JID, err)
		}
		if ver == "" {
			return nil
		}
		return setRosterVer(ctx, q, id, ver)
	})
}

// DeleteContact removes one contact (a roster push with
// subscription='remove') and stores ver unless it is empty.
func (s *Store) DeleteContact(ctx context.Context, acct, ver, jid string) error {
	return s.WithTx(ctx, func(ctx context.Context) error {
		id, err := s.ensureAccount(ctx, acct)
		if err != nil {
			return err
		}
		q := s.Q(ctx)
		if _, err := q.ExecContext(ctx, "DELETE FROM contacts WHERE account_id = ? AND jid = ?", id, jid); err != nil {
			return fmt.Errorf("store: delete contact %s: %w", jid, err)
		}
		if ver == "" {
			return nil
		}
		return setRosterVer(ctx, q, id, ver)
	})
}

// Contacts returns the roster of acct sorted by JID.
func (s *Store) Contacts(ctx context.Context, acct string) ([]Contact, error) {
	rows, err := s.Q(ctx).QueryContext(ctx,
		`SELECT c.jid, c.name, c.subscription, c.ask, c.groups
		 FROM contacts c JOIN accounts a ON a.id = c.account_id
		 WHERE a.jid = ? ORDER BY c.jid`, acct)
	if err != nil {
		return nil, fmt.Errorf("store: contacts: %w", err)
	}
	defer rows.Close()
	var out []Contact
	for rows.Next() {
		c := Contact{Account: acct}
		var groups string
		if err := rows.Scan(&c.JID, &c.Name, &c.Subscription, &c.Ask, &groups); err != nil {
			return nil, fmt.Errorf("store: contacts: %w", err)
		}
		if err := json.Unmarshal([]byte(groups), &c.Groups); err != nil {
			return nil, fmt.Errorf("store: contact %s groups: %w", c.JID, err)
		}
		if len(c.Groups) == 0 {
			c.Groups = nil
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: contacts: %w", err)
	}
	return out, nil
}

// SetFeatures replaces the cached disco#info features of entity.
func (s *Store) SetFeatures(ctx context.Context, acct, entity string, features []string) error {
	return s.WithTx(ctx, func(ctx context.Context) error {
		id, err := s.ensureAccount(ctx, acct)
		if err != nil {
			return err
		}
		q := s.Q(ctx)
		if _, err := q.ExecContext(ctx, "DELETE FROM features WHERE account_id = ? AND entity = ?", id, entity); err != nil {
			return fmt.Errorf("store: set features: %w", err)
		}
		for _, f := range features {
			if _, err := q.ExecContext(ctx,
				"INSERT INTO features (account_id, entity, feature) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
				id, entity, f); err != nil {
				return fmt.Errorf("store: set features: %w", err)
			}
		}
		return nil
	})
}

// Features returns the cached features of entity, sorted; nil if none are
// cached (every XMPP entity has at least one, so nil means "unknown").
func (s *Store) Features(ctx context.Context, acct, entity string) ([]string, error) {
	rows, err := s.Q(ctx).QueryContext(ctx,
		`SELECT f.feature FROM features f JOIN accounts a ON a.id = f.account_id
		 WHERE a.jid = ? AND f.entity = ? ORDER BY f.feature`, acct, entity)
	if err != nil {
		return nil, fmt.Errorf("store: features: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var f string
		if err := rows.Scan(&f); err != nil {
			return nil, fmt.Errorf("store: features: %w", err)
		}
		out = append(out, f)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: features: %w", err)
	}
	return out, nil
}
