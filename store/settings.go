package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// ConversationEncryption returns the encryption choice of a conversation:
// "" (default), "omemo" or "plain".
func (s *Store) ConversationEncryption(ctx context.Context, acct, peer string) (string, error) {
	var v string
	err := s.Q(ctx).QueryRowContext(ctx, `SELECT c.encryption FROM conversations c JOIN accounts a ON a.id = c.account_id
		WHERE a.jid = ? AND c.peer = ?`, acct, peer).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return v, err
}

// SetConversationEncryption records the encryption choice of a conversation.
func (s *Store) SetConversationEncryption(ctx context.Context, acct, peer string, kind ConvKind, setting string) error {
	switch setting {
	case "", "omemo", "plain":
	default:
		return fmt.Errorf("store: unknown encryption setting %q", setting)
	}
	if _, err := s.OpenConversation(ctx, acct, peer, kind); err != nil {
		return err
	}
	_, err := s.Q(ctx).ExecContext(ctx, `UPDATE conversations SET encryption = ?
		WHERE peer = ? AND account_id = (SELECT id FROM accounts WHERE jid = ?)`, setting, peer, acct)
	return err
}

// MessageByStanzaID finds a message by the stanza-id an archive gave it.
func (s *Store) MessageByStanzaID(ctx context.Context, acct, by, id string) (Message, error) {
	row := s.Q(ctx).QueryRowContext(ctx, `SELECT m.id FROM messages m JOIN accounts a ON a.id = m.account_id
		WHERE a.jid = ? AND m.stanza_by = ? AND m.stanza_id = ? AND m.stanza_id <> ''`, acct, by, id)
	var mid int64
	if err := row.Scan(&mid); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return Message{}, ErrNotFound
		}
		return Message{}, err
	}
	return s.Message(ctx, mid)
}

// SetMessageEncryption records how a message was (or will be) encrypted.
func (s *Store) SetMessageEncryption(ctx context.Context, id int64, enc string) error {
	_, err := s.Q(ctx).ExecContext(ctx, `UPDATE messages SET encryption = ? WHERE id = ?`, enc, id)
	return err
}

// SetMuted turns a conversation's notifications off (true) or on.
func (s *Store) SetMuted(ctx context.Context, acct, peer string, kind ConvKind, muted bool) error {
	if _, err := s.OpenConversation(ctx, acct, peer, kind); err != nil {
		return err
	}
	_, err := s.Q(ctx).ExecContext(ctx, `UPDATE conversations SET muted = ?
		WHERE peer = ? AND account_id = (SELECT id FROM accounts WHERE jid = ?)`, muted, peer, acct)
	return err
}
