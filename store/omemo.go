package store

import (
	"context"
	"fmt"
)

// OMEMO details of stored messages (migration 0009): the sender's device
// and its trust when the message arrived, and the messages waiting for a
// decryption retry.

// SetOMEMOSender records which device sent message id and whether it was
// trusted then.
func (s *Store) SetOMEMOSender(ctx context.Context, id int64, device uint32, untrusted bool) error {
	_, err := s.Q(ctx).ExecContext(ctx, "UPDATE messages SET omemo_device = ?, omemo_untrusted = ? WHERE id = ?",
		device, untrusted, id)
	if err != nil {
		return fmt.Errorf("store: omemo sender: %w", err)
	}
	return nil
}

// OMEMORetry is a message that could not be decrypted, with its stanza.
type OMEMORetry struct {
	MessageID int64
	JID       string // the sender's bare JID
	Device    uint32
	Stanza    []byte
	Attempts  int
}

// AddOMEMORetry keeps the stanza of message id, which could not be
// decrypted, for a later attempt.
func (s *Store) AddOMEMORetry(ctx context.Context, acct string, r OMEMORetry) error {
	acctID, err := s.accountID(ctx, acct)
	if err != nil {
		return err
	}
	_, err = s.Q(ctx).ExecContext(ctx, `INSERT INTO omemo_retry (message_id, account_id, jid, device_id, stanza)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`, r.MessageID, acctID, r.JID, r.Device, r.Stanza)
	if err != nil {
		return fmt.Errorf("store: omemo retry: %w", err)
	}
	return nil
}

// OMEMORetries returns the messages waiting for a retry from a device of
// jid (device 0: any device of jid; jid "": any sender), oldest first.
func (s *Store) OMEMORetries(ctx context.Context, acct, jid string, device uint32) ([]OMEMORetry, error) {
	acctID, err := s.accountID(ctx, acct)
	if err != nil {
		return nil, err
	}
	rows, err := s.Q(ctx).QueryContext(ctx, `SELECT message_id, jid, device_id, stanza, attempts FROM omemo_retry
		WHERE account_id = ? AND (? = '' OR jid = ?) AND (? = 0 OR device_id = ?) ORDER BY message_id`,
		acctID, jid, jid, device, device)
	if err != nil {
		return nil, fmt.Errorf("store: omemo retries: %w", err)
	}
	defer rows.Close()
	var out []OMEMORetry
	for rows.Next() {
		var r OMEMORetry
		if err := rows.Scan(&r.MessageID, &r.JID, &r.Device, &r.Stanza, &r.Attempts); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// OMEMORetryFailed counts a failed attempt; after max attempts the stanza
// is dropped (the message keeps its error).
func (s *Store) OMEMORetryFailed(ctx context.Context, id int64, max int) error {
	_, err := s.Q(ctx).ExecContext(ctx, "UPDATE omemo_retry SET attempts = attempts + 1 WHERE message_id = ?", id)
	if err == nil {
		_, err = s.Q(ctx).ExecContext(ctx, "DELETE FROM omemo_retry WHERE message_id = ? AND attempts >= ?", id, max)
	}
	if err != nil {
		return fmt.Errorf("store: omemo retry: %w", err)
	}
	return nil
}

// DropOMEMORetry deletes message id, whose retried decryption showed it
// was a change (a correction, retraction, reactions) to another message and
// has been applied there; its retry data and index entry go with it.
func (s *Store) DropOMEMORetry(ctx context.Context, id int64) error {
	if _, err := s.Q(ctx).ExecContext(ctx, `DELETE FROM messages WHERE id = ?`, id); err != nil {
		return fmt.Errorf("store: omemo retry: %w", err)
	}
	return nil
}

// ResolveOMEMORetry puts the decrypted text into message id in place of
// its error and forgets the stanza.
func (s *Store) ResolveOMEMORetry(ctx context.Context, id int64, body string, device uint32, untrusted bool) error {
	return s.WithTx(ctx, func(ctx context.Context) error {
		if _, err := s.Q(ctx).ExecContext(ctx, `UPDATE messages SET body = ?, error = '', omemo_device = ?, omemo_untrusted = ?
			WHERE id = ?`, body, device, untrusted, id); err != nil {
			return fmt.Errorf("store: omemo retry: %w", err)
		}
		_, err := s.Q(ctx).ExecContext(ctx, "DELETE FROM omemo_retry WHERE message_id = ?", id)
		return err
	})
}
