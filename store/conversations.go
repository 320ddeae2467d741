package store

import (
	"context"
	"fmt"
)

// Conversations returns the open conversations of acct, newest activity
// first.
func (s *Store) Conversations(ctx context.Context, acct string) ([]Conversation, error) {
	rows, err := s.Q(ctx).QueryContext(ctx,
		`SELECT c.id, c.peer, c.kind, c.unread, c.last_ts, c.last_body, c.closed, c.muted
		 FROM conversations c JOIN accounts a ON a.id = c.account_id
		 WHERE a.jid = ? AND c.closed = 0
		 ORDER BY c.last_ts DESC, c.id DESC`, acct)
	if err != nil {
		return nil, fmt.Errorf("store: conversations: %w", err)
	}
	defer rows.Close()
	var out []Conversation
	for rows.Next() {
		c := Conversation{Account: acct}
		var last int64
		if err := rows.Scan(&c.ID, &c.Peer, &c.Kind, &c.Unread, &last, &c.LastBody, &c.Closed, &c.Muted); err != nil {
			return nil, fmt.Errorf("store: conversations: %w", err)
		}
		c.LastTime = fromMS(last)
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: conversations: %w", err)
	}
	return out, nil
}

// OpenConversation returns the conversation of acct with peer, creating it
// or reopening it if closed, and sets its kind.
func (s *Store) OpenConversation(ctx context.Context, acct, peer string, kind ConvKind) (Conversation, error) {
	if peer == "" {
		return Conversation{}, fmt.Errorf("store: open conversation: empty peer")
	}
	c := Conversation{Account: acct, Peer: peer}
	err := s.WithTx(ctx, func(ctx context.Context) error {
		id, err := s.ensureAccount(ctx, acct)
		if err != nil {
			return err
		}
		var last int64
		err = s.Q(ctx).QueryRowContext(ctx,
			`INSERT INTO conversations (account_id, peer, kind) VALUES (?, ?, ?)
			 ON CONFLICT (account_id, peer) DO UPDATE SET closed = 0, kind = excluded.kind
			 RETURNING id, kind, unread, last_ts, last_body, closed, muted`, id, peer, kind).
			Scan(&c.ID, &c.Kind, &c.Unread, &last, &c.LastBody, &c.Closed, &c.Muted)
		if err != nil {
			return fmt.Errorf("store: open conversation %s: %w", peer, err)
		}
		c.LastTime = fromMS(last)
		return nil
	})
	if err != nil {
		return Conversation{}, err
	}
	return c, nil
}

// updateConversation runs "UPDATE conversations SET <set>" on the
// conversation of acct with peer, if it exists.
func (s *Store) updateConversation(ctx context.Context, acct, peer, set string) error {
	return s.WithTx(ctx, func(ctx context.Context) error {
		_, err := s.Q(ctx).ExecContext(ctx, "UPDATE conversations SET "+set+
			" WHERE account_id = (SELECT id FROM accounts WHERE jid = ?) AND peer = ?", acct, peer)
		if err != nil {
			return fmt.Errorf("store: update conversation %s: %w", peer, err)
		}
		return nil
	})
}

// CloseConversation hides the conversation from Conversations until it is
// opened again or a new message arrives. History is kept.
func (s *Store) CloseConversation(ctx context.Context, acct, peer string) error {
	return s.updateConversation(ctx, acct, peer, "closed = 1")
}

// MarkRead resets the unread count of the conversation.
func (s *Store) MarkRead(ctx context.Context, acct, peer string) error {
	return s.updateConversation(ctx, acct, peer, "unread = 0")
}
