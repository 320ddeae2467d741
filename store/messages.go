package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// msgColumns are the messages columns scanned by scanMessage, in order.
var msgColumns = []string{"id", "direction", "sender", "sender_full", "body", "type",
	"origin_id", "stanza_id", "stanza_by", "ts", "received", "state", "encryption", "error",
	"corrected", "retracted", "reply_to", "omemo_device", "omemo_untrusted"}

// msgCols is msgColumns for a query on messages alone.
var msgCols = strings.Join(msgColumns, ", ")

// joinedCols selects account, peer and kind followed by msgColumns, for a
// query on "messages m JOIN conversations c JOIN accounts a".
var joinedCols = "a.jid, c.peer, c.kind, m." + strings.Join(msgColumns, ", m.")

const joinedFrom = ` FROM messages m
	JOIN conversations c ON c.id = m.conversation_id
	JOIN accounts a ON a.id = m.account_id `

type scanner interface{ Scan(dest ...any) error }

func scanMessage(r scanner, m *Message, joined bool) error {
	var (
		ts, recv             int64
		corrected, retracted sql.NullInt64
		replyTo              sql.NullString
	)
	dest := make([]any, 0, 20)
	if joined {
		dest = append(dest, &m.Account, &m.Peer, &m.Kind)
	}
	dest = append(dest, &m.ID, &m.Direction, &m.Sender, &m.SenderFull, &m.Body, &m.Type,
		&m.OriginID, &m.StanzaID, &m.StanzaBy, &ts, &recv, &m.State, &m.Encryption, &m.Error,
		&corrected, &retracted, &replyTo, &m.SenderDevice, &m.Untrusted)
	if err := r.Scan(dest...); err != nil {
		return err
	}
	m.Timestamp, m.Received = fromMS(ts), fromMS(recv)
	m.Edited, m.Retracted, m.ReplyTo = corrected.Valid, retracted.Valid, replyTo.String
	return nil
}

// queryMessages runs a query selecting msgCols (or joinedCols) and returns
// its rows, filling Account, Peer and Kind from conv unless joined.
func queryMessages(ctx context.Context, q Querier, conv *convRef, query string, args ...any) ([]Message, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("store: messages: %w", err)
	}
	defer rows.Close()
	var out []Message
	for rows.Next() {
		var m Message
		if err := scanMessage(rows, &m, conv == nil); err != nil {
			return nil, fmt.Errorf("store: messages: %w", err)
		}
		if conv != nil {
			m.Account, m.Peer, m.Kind = conv.acct, conv.peer, conv.kind
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: messages: %w", err)
	}
	return out, nil
}

// convRef identifies an existing conversation.
type convRef struct {
	id         int64
	acct, peer string
	kind       ConvKind
}

// conv looks up the conversation of acct with peer; the error wraps
// ErrNotFound if there is none.
func (s *Store) conv(ctx context.Context, acct, peer string) (*convRef, error) {
	c := &convRef{acct: acct, peer: peer}
	err := s.Q(ctx).QueryRowContext(ctx,
		`SELECT c.id, c.kind FROM conversations c JOIN accounts a ON a.id = c.account_id
		 WHERE a.jid = ? AND c.peer = ?`, acct, peer).Scan(&c.id, &c.kind)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("conversation %s/%s", acct, peer)
	}
	if err != nil {
		return nil, fmt.Errorf("store: conversation %s/%s: %w", acct, peer, err)
	}
	return c, nil
}

// AddMessage stores m, creating its account and conversation rows as
// needed, and fills m.ID. A zero Timestamp becomes Received and a zero
// Received becomes now; both are stored to the millisecond and written back
// to m in UTC.
//
// A message already stored — same stanza-id from the same archive, or same
// origin-id from the same sender in the same conversation — is not stored
// again: inserted is false, m.ID is set to the existing row, and a stanza-id
// the stored copy lacked is added to it.
//
// A new message makes its conversation's newest message if it is not older
// than the current one, reopens the conversation if it was closed, and
// counts as unread if Incoming. An Outgoing message in StatePending is
// queued in the outbox.
func (s *Store) AddMessage(ctx context.Context, m *Message) (inserted bool, err error) {
	n, err := s.AddMessages(ctx, []*Message{m})
	return n == 1, err
}

// AddMessages is AddMessage for many messages in one transaction; it
// returns how many were new. On error nothing is stored and the IDs of ms
// are left as they were.
func (s *Store) AddMessages(ctx context.Context, ms []*Message) (inserted int, err error) {
	return s.addMessages(ctx, ms, nil)
}

// AddMessagesReport is AddMessages that also tells, per message, whether it
// was new (true) or a duplicate of a stored one (false), so the caller can
// notify about new messages only.
func (s *Store) AddMessagesReport(ctx context.Context, ms []*Message) ([]bool, error) {
	added := make([]bool, len(ms))
	if _, err := s.addMessages(ctx, ms, added); err != nil {
		return nil, err
	}
	return added, nil
}

func (s *Store) addMessages(ctx context.Context, ms []*Message, added []bool) (inserted int, err error) {
	for _, m := range ms {
		if m == nil || m.Account == "" || m.Peer == "" {
			return 0, errors.New("store: message without account or peer")
		}
	}
	if len(ms) == 0 {
		return 0, nil
	}
	oldIDs := make([]int64, len(ms))
	for i, m := range ms {
		oldIDs[i] = m.ID
	}
	err = s.WithTx(ctx, func(ctx context.Context) error {
		b := &batch{s: s, tx: s.txFrom(ctx).tx, now: time.Now()}
		defer b.close()
		inserted = 0
		for i, m := range ms {
			ok, err := b.add(ctx, m)
			if err != nil {
				return err
			}
			if ok {
				inserted++
			}
			if added != nil {
				added[i] = ok
			}
		}
		if err := b.flush(ctx); err != nil {
			return err
		}
		return nil
	})
	if err == nil && inserted > 0 {
		s.kickIndex()
	}
	if err != nil {
		for i, m := range ms {
			m.ID = oldIDs[i]
		}
		return 0, err
	}
	return inserted, nil
}

// convAgg collects a batch's effect on one conversation, applied by flush.
type convAgg struct {
	id     int64
	added  bool
	ts     int64 // newest timestamp among the added messages
	body   string
	unread int
}

type convKey struct {
	acct int64
	peer string
}

// batch inserts messages within one transaction, preparing each statement
// once and updating each conversation row once.
type batch struct {
	s     *Store
	tx    *sql.Tx
	now   time.Time
	stmts map[string]*sql.Stmt
	accts map[string]int64
	convs map[convKey]*convAgg
	order []*convAgg
}

func (b *batch) close() {
	for _, st := range b.stmts {
		st.Close()
	}
}

func (b *batch) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if st, ok := b.stmts[query]; ok {
		return st, nil
	}
	st, err := b.tx.PrepareContext(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("store: prepare: %w", err)
	}
	if b.stmts == nil {
		b.stmts = map[string]*sql.Stmt{}
	}
	b.stmts[query] = st
	return st, nil
}

// queryRow runs a single-row query through a prepared statement.
func (b *batch) queryRow(ctx context.Context, query string, args []any, dest ...any) error {
	st, err := b.stmt(ctx, query)
	if err != nil {
		return err
	}
	return st.QueryRowContext(ctx, args...).Scan(dest...)
}

func (b *batch) exec(ctx context.Context, query string, args ...any) error {
	st, err := b.stmt(ctx, query)
	if err != nil {
		return err
	}
	_, err = st.ExecContext(ctx, args...)
	return err
}

func (b *batch) account(ctx context.Context, acct string) (int64, error) {
	if id, ok := b.accts[acct]; ok {
		return id, nil
	}
	id, err := b.s.ensureAccount(ctx, acct)
	if err != nil {
		return 0, err
	}
	if b.accts == nil {
		b.accts = map[string]int64{}
	}
	b.accts[acct] = id
	return id, nil
}

func (b *batch) conv(ctx context.Context, acctID int64, peer string, kind ConvKind) (*convAgg, error) {
	k := convKey{acctID, peer}
	if c, ok := b.convs[k]; ok {
		return c, nil
	}
	c := &convAgg{}
	err := b.queryRow(ctx, "SELECT id FROM conversations WHERE account_id = ? AND peer = ?",
		[]any{acctID, peer}, &c.id)
	if errors.Is(err, sql.ErrNoRows) {
		err = b.queryRow(ctx, "INSERT INTO conversations (account_id, peer, kind) VALUES (?, ?, ?) RETURNING id",
			[]any{acctID, peer, kind}, &c.id)
	}
	if err != nil {
		return nil, fmt.Errorf("store: conversation %s: %w", peer, err)
	}
	if b.convs == nil {
		b.convs = map[convKey]*convAgg{}
	}
	b.convs[k] = c
	b.order = append(b.order, c)
	return c, nil
}

const insertMessage = `INSERT INTO messages (account_id, conversation_id, direction, sender,
	sender_full, body, type, origin_id, stanza_id, stanza_by, ts, received, state, encryption, error)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
	ON CONFLICT DO NOTHING`

func (b *batch) add(ctx context.Context, m *Message) (bool, error) {
	acctID, err := b.account(ctx, m.Account)
	if err != nil {
		return false, err
	}
	conv, err := b.conv(ctx, acctID, m.Peer, m.Kind)
	if err != nil {
		return false, err
	}
	if m.Received.IsZero() {
		m.Received = b.now
	}
	if m.Timestamp.IsZero() {
		m.Timestamp = m.Received
	}
	ts, recv := ms(m.Timestamp), ms(m.Received)
	m.Timestamp, m.Received = fromMS(ts), fromMS(recv)

	ins, err := b.stmt(ctx, insertMessage)
	if err != nil {
		return false, err
	}
	// Exec rather than RETURNING: it is measurably cheaper per row.
	res, err := ins.ExecContext(ctx, acctID, conv.id, m.Direction, m.Sender,
		m.SenderFull, m.Body, m.Type, m.OriginID, m.StanzaID, m.StanzaBy, ts, recv,
		m.State, m.Encryption, m.Error)
	if err != nil {
		return false, fmt.Errorf("store: add message: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("store: add message: %w", err)
	}
	if n == 0 { // a uniqueness constraint said: already stored
		id, err := b.existing(ctx, acctID, conv.id, m)
		if err != nil {
			return false, err
		}
		m.ID = id
		if m.ArchiveTime {
			// The archive's time is when the server first had the message;
			// another copy (offline redelivery, a re-queued stanza) may
			// carry a later stamp that would misplace it.
			// Archive stamps are often whole seconds, placed at the
			// second's end: a stored time inside that second is at least
			// as precise and stays.
			if err := b.exec(ctx, "UPDATE messages SET ts = ? WHERE id = ? AND (ts < ? OR ts > ?)", ts, id, ts-999, ts); err != nil {
				return false, fmt.Errorf("store: archive time: %w", err)
			}
		}
		return false, nil
	}
	id, err := res.LastInsertId()
	if err != nil {
		return false, fmt.Errorf("store: add message: %w", err)
	}
	m.ID = id

	if m.Direction == Outgoing && m.State == StatePending {
		if err := b.exec(ctx, "INSERT INTO outbox (message_id, account_id, queued_at) VALUES (?, ?, ?)",
			id, acctID, recv); err != nil {
			return false, fmt.Errorf("store: queue message: %w", err)
		}
	}
	if !conv.added || ts >= conv.ts {
		conv.ts, conv.body = ts, m.Body
	}
	conv.added = true
	if m.Direction == Incoming {
		conv.unread++
	}
	return true, nil
}

// existing finds the stored copy of m after its insertion hit a uniqueness
// constraint, and gives it m's stanza-id if it had none.
func (b *batch) existing(ctx context.Context, acctID, convID int64, m *Message) (int64, error) {
	var id int64
	if m.StanzaID != "" {
		err := b.queryRow(ctx, `SELECT id FROM messages
			WHERE account_id = ? AND stanza_by = ? AND stanza_id = ? AND stanza_id <> ''`,
			[]any{acctID, m.StanzaBy, m.StanzaID}, &id)
		if err == nil {
			return id, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return 0, fmt.Errorf("store: find duplicate: %w", err)
		}
	}
	if m.OriginID != "" {
		var stanzaID string
		err := b.queryRow(ctx, `SELECT id, stanza_id FROM messages
			WHERE conversation_id = ? AND origin_id = ? AND sender = ? AND origin_id <> ''`,
			[]any{convID, m.OriginID, m.Sender}, &id, &stanzaID)
		if err == nil {
			if stanzaID == "" && m.StanzaID != "" {
				if err := b.exec(ctx, "UPDATE messages SET stanza_id = ?, stanza_by = ? WHERE id = ?",
					m.StanzaID, m.StanzaBy, id); err != nil {
					return 0, fmt.Errorf("store: record stanza-id: %w", err)
				}
			}
			return id, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return 0, fmt.Errorf("store: find duplicate: %w", err)
		}
	}
	return 0, errors.New("store: add message: conflict without a matching message")
}

// flush applies the collected conversation updates. A message only becomes
// the conversation's newest if it is not older than the stored one, so
// back-filled history leaves last_ts/last_body alone.
func (b *batch) flush(ctx context.Context) error {
	for _, c := range b.order {
		if !c.added {
			continue
		}
		err := b.exec(ctx, `UPDATE conversations SET
				last_body = CASE WHEN ?1 >= last_ts THEN ?2 ELSE last_body END,
				last_ts = max(last_ts, ?1),
				unread = unread + ?3,
				closed = 0
			WHERE id = ?4`, c.ts, c.body, c.unread, c.id)
		if err != nil {
			return fmt.Errorf("store: update conversation: %w", err)
		}
	}
	return nil
}

// Latest returns the newest n messages with peer, oldest first; none if the
// conversation does not exist.
func (s *Store) Latest(ctx context.Context, acct, peer string, n int) ([]Message, error) {
	if n <= 0 {
		return nil, nil
	}
	c, err := s.conv(ctx, acct, peer)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	out, err := queryMessages(ctx, s.Q(ctx), c,
		"SELECT "+msgCols+" FROM messages WHERE conversation_id = ? ORDER BY ts DESC, id DESC LIMIT ?", c.id, n)
	reverse(out)
	return out, err
}

// anchor returns the conversation and the timestamp of message id in it.
func (s *Store) anchor(ctx context.Context, acct, peer string, id int64) (*convRef, int64, error) {
	c, err := s.conv(ctx, acct, peer)
	if err != nil {
		return nil, 0, err
	}
	var ts int64
	err = s.Q(ctx).QueryRowContext(ctx, "SELECT ts FROM messages WHERE id = ? AND conversation_id = ?", id, c.id).Scan(&ts)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, 0, notFound("message %d in %s/%s", id, acct, peer)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("store: message %d: %w", id, err)
	}
	return c, ts, nil
}

// Before returns up to n messages that precede message id in (ts, id)
// order, oldest first. The error wraps ErrNotFound if id is not a message of
// the conversation.
func (s *Store) Before(ctx context.Context, acct, peer string, id int64, n int) ([]Message, error) {
	c, ts, err := s.anchor(ctx, acct, peer, id)
	if err != nil || n <= 0 {
		return nil, err
	}
	out, err := queryMessages(ctx, s.Q(ctx), c,
		"SELECT "+msgCols+` FROM messages WHERE conversation_id = ? AND (ts, id) < (?, ?)
		 ORDER BY ts DESC, id DESC LIMIT ?`, c.id, ts, id, n)
	reverse(out)
	return out, err
}

// After returns up to n messages that follow message id in (ts, id) order,
// oldest first. The error wraps ErrNotFound if id is not a message of the
// conversation.
func (s *Store) After(ctx context.Context, acct, peer string, id int64, n int) ([]Message, error) {
	c, ts, err := s.anchor(ctx, acct, peer, id)
	if err != nil || n <= 0 {
		return nil, err
	}
	return queryMessages(ctx, s.Q(ctx), c,
		"SELECT "+msgCols+` FROM messages WHERE conversation_id = ? AND (ts, id) > (?, ?)
		 ORDER BY ts, id LIMIT ?`, c.id, ts, id, n)
}

func reverse(ms []Message) {
	for i, j := 0, len(ms)-1; i < j; i, j = i+1, j-1 {
		ms[i], ms[j] = ms[j], ms[i]
	}
}

// Message returns the message with row id id.
func (s *Store) Message(ctx context.Context, id int64) (Message, error) {
	var m Message
	err := scanMessage(s.Q(ctx).QueryRowContext(ctx, "SELECT "+joinedCols+joinedFrom+"WHERE m.id = ?", id), &m, true)
	if errors.Is(err, sql.ErrNoRows) {
		return Message{}, notFound("message %d", id)
	}
	if err != nil {
		return Message{}, fmt.Errorf("store: message %d: %w", id, err)
	}
	return m, nil
}

// MessageByOriginID returns the message with the given origin-id in the
// conversation with peer. Origin-ids are unique per sender only; if several
// senders used the same one, the newest such message is returned.
func (s *Store) MessageByOriginID(ctx context.Context, acct, peer, originID string) (Message, error) {
	if originID == "" {
		return Message{}, notFound("empty origin-id")
	}
	c, err := s.conv(ctx, acct, peer)
	if err != nil {
		return Message{}, err
	}
	// No ORDER BY: it would tempt the planner into walking the (ts, id)
	// index; the matches (one per sender at most) are ordered here instead.
	out, err := queryMessages(ctx, s.Q(ctx), c, "SELECT "+msgCols+` FROM messages
		WHERE conversation_id = ? AND origin_id = ? AND origin_id <> ''`, c.id, originID)
	if err != nil {
		return Message{}, err
	}
	if len(out) == 0 {
		return Message{}, notFound("origin-id %q in %s/%s", originID, acct, peer)
	}
	best := out[0]
	for _, m := range out[1:] {
		if m.Timestamp.After(best.Timestamp) || m.Timestamp.Equal(best.Timestamp) && m.ID > best.ID {
			best = m
		}
	}
	return best, nil
}

// SetState changes the delivery state of message id and records errText as
// its error. States only move forward (Pending → Sent → Delivered → Read);
// a backward move is ignored, except that Failed and Pending (a retry) are
// always accepted. An Outgoing message is in the outbox exactly while it is
// Pending: leaving Pending dequeues it, returning to Pending queues it last.
func (s *Store) SetState(ctx context.Context, id int64, st State, errText string) error {
	if st < StateReceived || st > StateFailed {
		return fmt.Errorf("store: invalid state %d", st)
	}
	return s.WithTx(ctx, func(ctx context.Context) error {
		q := s.Q(ctx)
		var dir Direction
		var cur State
		err := q.QueryRowContext(ctx, "SELECT direction, state FROM messages WHERE id = ?", id).Scan(&dir, &cur)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("message %d", id)
		}
		if err != nil {
			return fmt.Errorf("store: set state: %w", err)
		}
		if st == StatePending || st == StateFailed || cur == StateFailed || cur < st {
			if _, err := q.ExecContext(ctx, "UPDATE messages SET state = ?, error = ? WHERE id = ?", st, errText, id); err != nil {
				return fmt.Errorf("store: set state: %w", err)
			}
			cur = st
		}
		if cur == StatePending && dir == Outgoing {
			_, err = q.ExecContext(ctx, `INSERT INTO outbox (message_id, account_id, queued_at)
				SELECT id, account_id, ? FROM messages WHERE id = ?
				ON CONFLICT DO NOTHING`, ms(time.Now()), id)
		} else {
			_, err = q.ExecContext(ctx, "DELETE FROM outbox WHERE message_id = ?", id)
		}
		if err != nil {
			return fmt.Errorf("store: set state: outbox: %w", err)
		}
		return nil
	})
}

// Outbox returns the Pending outgoing messages of acct in queue order.
func (s *Store) Outbox(ctx context.Context, acct string) ([]Message, error) {
	return queryMessages(ctx, s.Q(ctx), nil, "SELECT "+joinedCols+` FROM outbox o
		JOIN messages m ON m.id = o.message_id
		JOIN conversations c ON c.id = m.conversation_id
		JOIN accounts a ON a.id = o.account_id
		WHERE a.jid = ? ORDER BY o.queued_at, o.message_id`, acct)
}

// escapeLike escapes the LIKE wildcards in s for use with ESCAPE '\'.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// Count returns the number of messages stored with peer.
func (s *Store) Count(ctx context.Context, acct, peer string) (int, error) {
	var n int
	err := s.Q(ctx).QueryRowContext(ctx, `SELECT count(*) FROM messages WHERE conversation_id =
		(SELECT c.id FROM conversations c JOIN accounts a ON a.id = c.account_id WHERE a.jid = ? AND c.peer = ?)`,
		acct, peer).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("store: count: %w", err)
	}
	return n, nil
}
