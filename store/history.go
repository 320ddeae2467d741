package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Older history fetched from a server archive on demand (XEP-0313 paging
// backwards), and the gaps a catch-up could leave.

// OldestArchived returns the oldest message of a conversation, not older
// than since, that carries a stanza-id from archive: the RSM anchor for the
// page before it.
func (s *Store) OldestArchived(ctx context.Context, acct, peer, archive string, since time.Time) (Message, error) {
	conv, err := s.conv(ctx, acct, peer)
	if err != nil {
		return Message{}, err
	}
	ms, err := queryMessages(ctx, s.Q(ctx), conv, `SELECT `+msgCols+` FROM messages
		WHERE conversation_id = ? AND stanza_by = ? AND stanza_id <> '' AND ts >= ?
		ORDER BY ts, id LIMIT 1`, conv.id, archive, ms(since))
	if err != nil {
		return Message{}, err
	}
	if len(ms) == 0 {
		return Message{}, ErrNotFound
	}
	return ms[0], nil
}

// HasBefore reports whether a conversation holds a message older than t.
func (s *Store) HasBefore(ctx context.Context, acct, peer string, t time.Time) (bool, error) {
	conv, err := s.conv(ctx, acct, peer)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	var n int
	err = s.Q(ctx).QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM messages
		WHERE conversation_id = ? AND ts < ? LIMIT 1)`, conv.id, ms(t)).Scan(&n)
	return n > 0, err
}

// ArchiveStart reports whether the archive was found to hold nothing older
// than the conversation's stored messages.
func (s *Store) ArchiveStart(ctx context.Context, acct, peer string) (bool, error) {
	conv, err := s.conv(ctx, acct, peer)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	var v int
	err = s.Q(ctx).QueryRowContext(ctx, `SELECT coalesce(max(archive_start), 0) FROM history_state WHERE conversation_id = ?`, conv.id).Scan(&v)
	return v != 0, err
}

// SetArchiveStart records whether the start of the conversation's archive
// has been reached.
func (s *Store) SetArchiveStart(ctx context.Context, acct, peer string, reached bool) error {
	conv, err := s.conv(ctx, acct, peer)
	if err != nil {
		return err
	}
	_, err = s.Q(ctx).ExecContext(ctx, `INSERT INTO history_state (conversation_id, archive_start) VALUES (?, ?)
		ON CONFLICT (conversation_id) DO UPDATE SET archive_start = excluded.archive_start`, conv.id, reached)
	return err
}

// Gap is a hole in a conversation's history just before At (the time of
// the oldest message held after it). A Lost one cannot be filled: the
// archive no longer has what is missing.
type Gap struct {
	At   time.Time
	Lost bool
}

// AddGap records a gap of the conversation before t: messages the archive
// holds (or, lost, held) that we never fetched.
func (s *Store) AddGap(ctx context.Context, acct, peer string, t time.Time, lost bool) error {
	conv, err := s.conv(ctx, acct, peer)
	if err != nil {
		return err
	}
	_, err = s.Q(ctx).ExecContext(ctx, `INSERT INTO history_gaps (conversation_id, ts, lost) VALUES (?, ?, ?)
		ON CONFLICT DO UPDATE SET lost = excluded.lost`, conv.id, ms(t), lost)
	return err
}

// RemoveGap forgets the gap at t (filled, or nothing to fill).
func (s *Store) RemoveGap(ctx context.Context, acct, peer string, t time.Time) error {
	conv, err := s.conv(ctx, acct, peer)
	if err != nil {
		return err
	}
	_, err = s.Q(ctx).ExecContext(ctx, `DELETE FROM history_gaps WHERE conversation_id = ? AND ts = ?`, conv.id, ms(t))
	return err
}

// Gaps returns a conversation's gaps, oldest first.
func (s *Store) Gaps(ctx context.Context, acct, peer string) ([]Gap, error) {
	conv, err := s.conv(ctx, acct, peer)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	rows, err := s.Q(ctx).QueryContext(ctx, `SELECT ts, lost FROM history_gaps WHERE conversation_id = ? ORDER BY ts`, conv.id)
	if err != nil {
		return nil, fmt.Errorf("store: gaps: %w", err)
	}
	defer rows.Close()
	var out []Gap
	for rows.Next() {
		var v int64
		var g Gap
		if err := rows.Scan(&v, &g.Lost); err != nil {
			return nil, err
		}
		g.At = fromMS(v)
		out = append(out, g)
	}
	return out, rows.Err()
}

// AddHistory stores older messages like AddMessagesReport, but they do not
// count as unread: they were fetched because the user scrolled to them.
func (s *Store) AddHistory(ctx context.Context, msgs []*Message) ([]bool, error) {
	var added []bool
	err := s.WithTx(ctx, func(ctx context.Context) error {
		unread := map[string]int{}
		for _, m := range msgs {
			if _, ok := unread[m.Peer]; ok {
				continue
			}
			var n int
			err := s.Q(ctx).QueryRowContext(ctx, `SELECT c.unread FROM conversations c JOIN accounts a ON a.id = c.account_id
				WHERE a.jid = ? AND c.peer = ?`, m.Account, m.Peer).Scan(&n)
			if err != nil {
				n = -1 // created by this batch: no unread to keep
			}
			unread[m.Peer] = n
		}
		var err error
		if added, err = s.AddMessagesReport(ctx, msgs); err != nil {
			return err
		}
		for peer, n := range unread {
			_, err := s.Q(ctx).ExecContext(ctx, `UPDATE conversations SET unread = ?
				WHERE peer = ? AND account_id = (SELECT id FROM accounts WHERE jid = ?)`, max(n, 0), peer, msgs[0].Account)
			if err != nil {
				return err
			}
		}
		return nil
	})
	return added, err
}

// KeepUnread runs f in a transaction and then puts the conversation's unread
// count back to what it was: for older messages stored one by one (OMEMO
// ones, each with its ratchet update) that the user scrolled to.
func (s *Store) KeepUnread(ctx context.Context, acct, peer string, f func(ctx context.Context) error) error {
	return s.WithTx(ctx, func(ctx context.Context) error {
		n := -1 // no conversation yet: nothing unread to keep
		_ = s.Q(ctx).QueryRowContext(ctx, `SELECT c.unread FROM conversations c JOIN accounts a ON a.id = c.account_id
			WHERE a.jid = ? AND c.peer = ?`, acct, peer).Scan(&n)
		if err := f(ctx); err != nil {
			return err
		}
		_, err := s.Q(ctx).ExecContext(ctx, `UPDATE conversations SET unread = ?
			WHERE peer = ? AND account_id = (SELECT id FROM accounts WHERE jid = ?)`, max(n, 0), peer, acct)
		return err
	})
}

// SetOccupantID records the XEP-0421 occupant id of a room message's sender.
func (s *Store) SetOccupantID(ctx context.Context, messageID int64, occupantID string) error {
	_, err := s.Q(ctx).ExecContext(ctx, `INSERT INTO message_occupant (message_id, occupant_id) VALUES (?, ?)
		ON CONFLICT (message_id) DO UPDATE SET occupant_id = excluded.occupant_id`, messageID, occupantID)
	return err
}

// OccupantID returns the occupant id recorded for a message, "" if none.
func (s *Store) OccupantID(ctx context.Context, messageID int64) (string, error) {
	var v string
	err := s.Q(ctx).QueryRowContext(ctx, `SELECT coalesce(max(occupant_id), '') FROM message_occupant WHERE message_id = ?`, messageID).Scan(&v)
	return v, err
}

// MarkReadThrough sets a conversation's unread count to the incoming
// messages newer than message id: another device of ours displayed the
// conversation up to it (XEP-0333).
func (s *Store) MarkReadThrough(ctx context.Context, acct, peer string, id int64) error {
	m, err := s.Message(ctx, id)
	if err != nil {
		return err
	}
	conv, err := s.conv(ctx, acct, peer)
	if err != nil {
		return err
	}
	t := ms(m.Timestamp)
	_, err = s.Q(ctx).ExecContext(ctx, `UPDATE conversations SET unread = (SELECT count(*) FROM messages
		WHERE conversation_id = ?1 AND direction = ?2 AND (ts > ?3 OR (ts = ?3 AND id > ?4)))
		WHERE id = ?1`, conv.id, Incoming, t, id)
	return err
}

// ConversationKind returns the kind of the conversation with peer; ok is
// false when there is none.
func (s *Store) ConversationKind(ctx context.Context, acct, peer string) (kind ConvKind, ok bool, err error) {
	conv, err := s.conv(ctx, acct, peer)
	if errors.Is(err, ErrNotFound) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	return conv.kind, true, nil
}
