package session

import (
	"context"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"mellium.im/xmpp/jid"

	"xchat/store"
)

// MaxBodyBytes bounds the body we accept from the network and send.
const MaxBodyBytes = 64 << 10

// handleMessage stores an incoming message, then tells the UI.
func (c *Client) handleMessage(gen uint64, m *inMessage) {
	if c.conn == nil || c.conn.gen != gen {
		return
	}
	ctx := context.Background()
	from := c.jid
	if m.From != "" {
		j, err := jid.Parse(m.From)
		if err != nil {
			c.log.Warn("message with invalid from", "from", m.From)
			return
		}
		from = j
	}
	switch m.Type {
	case "error":
		c.handleMessageError(ctx, from, m)
		return
	case "groupchat", "headline":
		c.log.Debug("message type not handled yet", "type", m.Type, "from", m.From)
		return
	case "", "normal", "chat":
	default:
		return
	}
	body, ok := m.body()
	if !ok {
		return // chat states, receipts, carbons...: later layers
	}
	if from.Equal(c.jid) && m.From != "" {
		// From our own bare JID without a resource: server/PEP, not a chat.
		return
	}
	if len(body) > MaxBodyBytes {
		body = truncateUTF8(body, MaxBodyBytes) + " [truncated]"
	}
	if !utf8.ValidString(body) {
		body = string([]rune(body))
	}
	now := time.Now().UTC()
	msg := store.Message{
		Account:    c.acct,
		Peer:       from.Bare().String(),
		Kind:       store.KindChat,
		Direction:  store.Incoming,
		Sender:     from.Bare().String(),
		SenderFull: from.String(),
		Body:       body,
		Type:       typeOr(m.Type, "normal"),
		Received:   now,
		Timestamp:  now,
		State:      store.StateReceived,
	}
	if t, ok := m.time(); ok && t.Before(now.Add(time.Minute)) {
		msg.Timestamp = t
	}
	if m.OriginID != nil {
		msg.OriginID = m.OriginID.ID
	} else if m.ID != "" {
		// Without origin-id the stanza id is the best dedupe key we have
		// from the sender (offline redelivery keeps it).
		msg.OriginID = "id:" + m.ID
	}
	// Only our own server's stanza-id is trustworthy (XEP-0359 §4: check by).
	for _, sid := range m.StanzaIDs {
		if sid.By == c.acct && sid.ID != "" {
			msg.StanzaID, msg.StanzaBy = sid.ID, sid.By
		}
	}
	inserted, err := c.st.AddMessage(ctx, &msg)
	if err != nil {
		c.log.Error("store: add message", "err", err)
		c.emit(NoticeEvent{Account: c.acct, Text: "could not store a message from " + msg.Peer, Err: err})
		return
	}
	if inserted {
		c.emit(MessageEvent{Account: c.acct, Message: msg})
	}
}

// handleMessageError marks our message failed when the server or the peer
// bounced it (RFC 6120 §8.3: the error carries our stanza id).
func (c *Client) handleMessageError(ctx context.Context, from jid.JID, m *inMessage) {
	if m.ID == "" {
		return
	}
	peer := from.Bare().String()
	orig, err := c.st.MessageByOriginID(ctx, c.acct, peer, m.ID)
	if err != nil {
		c.log.Info("error for an unknown message", "from", from.String(), "id", m.ID)
		return
	}
	reason := m.Error.String()
	if err := c.st.SetState(ctx, orig.ID, store.StateFailed, reason); err != nil {
		c.log.Error("store: set state", "err", err)
		return
	}
	c.emit(MessageStateEvent{Account: c.acct, Peer: peer, ID: orig.ID, State: store.StateFailed, Error: reason})
}

func typeOr(t, def string) string {
	if t == "" {
		return def
	}
	return t
}

func truncateUTF8(s string, n int) string {
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// sendMessage stores the message as Pending (which puts it in the outbox)
// and transmits it if we are online.
func (c *Client) sendMessage(ctx context.Context, to, body string) (store.Message, error) {
	j, err := jid.Parse(to)
	if err != nil {
		return store.Message{}, fmt.Errorf("invalid address %q: %v", to, err)
	}
	if j.Domainpart() == "" {
		return store.Message{}, fmt.Errorf("invalid address %q", to)
	}
	if body == "" {
		return store.Message{}, errors.New("empty message")
	}
	if len(body) > MaxBodyBytes {
		return store.Message{}, fmt.Errorf("message too long (%d bytes, at most %d)", len(body), MaxBodyBytes)
	}
	now := time.Now().UTC()
	m := store.Message{
		Account:    c.acct,
		Peer:       j.Bare().String(),
		Kind:       store.KindChat,
		Direction:  store.Outgoing,
		Sender:     c.acct,
		SenderFull: c.acct,
		Body:       body,
		Type:       "chat",
		OriginID:   newID(),
		Timestamp:  now,
		Received:   now,
		State:      store.StatePending,
	}
	if _, err := c.st.AddMessage(ctx, &m); err != nil {
		return store.Message{}, fmt.Errorf("store: %w", err)
	}
	c.emit(MessageEvent{Account: c.acct, Message: m})
	if c.conn != nil && c.conn.online {
		c.transmit(ctx, m)
	}
	return m, nil
}

// transmit writes one stored message and arranges for a barrier ping that
// proves the server has it.
func (c *Client) transmit(ctx context.Context, m store.Message) {
	out := outMessage{ID: m.OriginID, To: m.Peer, Type: typeOr(m.Type, "chat"), Body: m.Body, OriginID: &originID{ID: m.OriginID}}
	if err := c.send(ctx, out); err != nil {
		c.log.Warn("send failed; message stays in the outbox", "err", err)
		return
	}
	c.sentUnack = append(c.sentUnack, m.ID)
	c.startBarrier(ctx)
}

// startBarrier sends a ping after the messages written so far. The server
// handles stanzas in order, so its answer means it has accepted every one of
// them: they move Pending → Sent and leave the outbox. Stream management
// acks can replace this later; the barrier stays as the fallback.
func (c *Client) startBarrier(ctx context.Context) {
	if c.barrierOn || len(c.sentUnack) == 0 {
		return
	}
	ids := c.sentUnack
	c.sentUnack = nil
	c.barrierOn = true
	c.iq(ctx, "get", c.jid.Domainpart(), ping{}, func(_ []byte, err error) {
		c.barrierOn = false
		var iqErr *IQError
		if err != nil && !errors.As(err, &iqErr) {
			// Not confirmed: the messages stay Pending and go out again
			// after the next login.
			return
		}
		for _, id := range ids {
			if err := c.st.SetState(ctx, id, store.StateSent, ""); err != nil {
				c.log.Error("store: set state", "err", err)
				continue
			}
			m, err := c.st.Message(ctx, id)
			if err != nil {
				continue
			}
			c.emit(MessageStateEvent{Account: c.acct, Peer: m.Peer, ID: id, State: m.State})
		}
		c.startBarrier(ctx)
	})
}

// flushOutbox sends every pending message in order after a (re)login, with
// the same origin-id as before so receivers can drop duplicates.
func (c *Client) flushOutbox(ctx context.Context) {
	pending, err := c.st.Outbox(ctx, c.acct)
	if err != nil {
		c.log.Error("store: outbox", "err", err)
		return
	}
	for _, m := range pending {
		c.transmit(ctx, m)
	}
}
