package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"
)

// FindRef finds the message of a conversation that another message refers
// to (a correction, retraction, reaction, reply or marker). Senders use the
// stanza id (which our store keeps as origin-id, or "id:"+id when there was
// no origin-id), and rooms use the stanza-id they assigned.
func (s *Store) FindRef(ctx context.Context, acct, peer, ref string) (Message, error) {
	if ref == "" {
		return Message{}, ErrNotFound
	}
	conv, err := s.conv(ctx, acct, peer)
	if err != nil {
		return Message{}, err
	}
	if conv == nil {
		return Message{}, ErrNotFound
	}
	ms, err := queryMessages(ctx, s.Q(ctx), conv, `SELECT `+msgCols+` FROM messages
		WHERE conversation_id = ? AND (origin_id = ? OR origin_id = ? OR (stanza_id = ? AND stanza_by = ?))
		ORDER BY ts DESC, id DESC LIMIT 1`, conv.id, ref, "id:"+ref, ref, peer)
	if err != nil {
		return Message{}, err
	}
	if len(ms) == 0 {
		return Message{}, ErrNotFound
	}
	return ms[0], nil
}

// Correct replaces a message's text with its sender's correction.
func (s *Store) Correct(ctx context.Context, id int64, body string) error {
	_, err := s.Q(ctx).ExecContext(ctx, `UPDATE messages SET body = ?, corrected = ? WHERE id = ? AND retracted IS NULL`,
		body, time.Now().UnixMilli(), id)
	return err
}

// Retract empties a message at its sender's request; the row stays as a
// tombstone ("message retracted") so the history keeps its shape.
func (s *Store) Retract(ctx context.Context, id int64) error {
	return s.WithTx(ctx, func(ctx context.Context) error {
		if _, err := s.Q(ctx).ExecContext(ctx, `UPDATE messages SET body = '', retracted = ? WHERE id = ?`, time.Now().UnixMilli(), id); err != nil {
			return err
		}
		_, err := s.Q(ctx).ExecContext(ctx, `DELETE FROM reactions WHERE message_id = ?`, id)
		return err
	})
}

// SetReplyTo records which message a message replies to.
func (s *Store) SetReplyTo(ctx context.Context, id int64, ref string) error {
	_, err := s.Q(ctx).ExecContext(ctx, `UPDATE messages SET reply_to = ? WHERE id = ?`, ref, id)
	return err
}

// Reaction is one sender's reactions to a message.
type Reaction struct {
	Sender string
	Emojis []string
}

// SetReactions replaces sender's reactions to a message (none removes them).
func (s *Store) SetReactions(ctx context.Context, messageID int64, sender string, emojis []string) error {
	if len(emojis) == 0 {
		_, err := s.Q(ctx).ExecContext(ctx, `DELETE FROM reactions WHERE message_id = ? AND sender = ?`, messageID, sender)
		return err
	}
	if len(emojis) > 32 {
		return errors.New("store: too many reactions")
	}
	b, err := json.Marshal(emojis)
	if err != nil {
		return err
	}
	_, err = s.Q(ctx).ExecContext(ctx, `INSERT INTO reactions (message_id, sender, emojis) VALUES (?, ?, ?)
		ON CONFLICT (message_id, sender) DO UPDATE SET emojis = excluded.emojis`, messageID, sender, string(b))
	return err
}

// Reactions returns the reactions to the given messages, by message id,
// senders sorted.
func (s *Store) Reactions(ctx context.Context, ids []int64) (map[int64][]Reaction, error) {
	out := map[int64][]Reaction{}
	for _, id := range ids {
		rows, err := s.Q(ctx).QueryContext(ctx, `SELECT sender, emojis FROM reactions WHERE message_id = ?`, id)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var r Reaction
			var js string
			if err := rows.Scan(&r.Sender, &js); err != nil {
				rows.Close()
				return nil, err
			}
			if err := json.Unmarshal([]byte(js), &r.Emojis); err != nil {
				rows.Close()
				return nil, fmt.Errorf("store: reactions of %d: %w", id, err)
			}
			out[id] = append(out[id], r)
		}
		rows.Close()
		sort.Slice(out[id], func(i, j int) bool { return out[id][i].Sender < out[id][j].Sender })
	}
	return out, nil
}

// MarkReadUpTo marks our messages of a conversation up to (and including)
// message id as Read (XEP-0333: a displayed marker covers the earlier
// messages too). It returns the ids it changed.
func (s *Store) MarkReadUpTo(ctx context.Context, id int64) ([]int64, error) {
	m, err := s.Message(ctx, id)
	if err != nil {
		return nil, err
	}
	var changed []int64
	err = s.WithTx(ctx, func(ctx context.Context) error {
		rows, err := s.Q(ctx).QueryContext(ctx, `SELECT id FROM messages
			WHERE conversation_id = (SELECT conversation_id FROM messages WHERE id = ?)
			AND direction = ? AND state IN (?, ?) AND (ts < ? OR (ts = ? AND id <= ?))`,
			id, Outgoing, StateSent, StateDelivered, m.Timestamp.UnixMilli(), m.Timestamp.UnixMilli(), id)
		if err != nil {
			return err
		}
		for rows.Next() {
			var x int64
			if err := rows.Scan(&x); err != nil {
				rows.Close()
				return err
			}
			changed = append(changed, x)
		}
		rows.Close()
		for _, x := range changed {
			if _, err := s.Q(ctx).ExecContext(ctx, `UPDATE messages SET state = ? WHERE id = ?`, StateRead, x); err != nil {
				return err
			}
		}
		return nil
	})
	return changed, err
}
