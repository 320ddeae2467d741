package session

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"mellium.im/xmpp/jid"

	"xchat/muc"
	"xchat/store"
)

// MaxBodyBytes bounds the body we accept from the network and send.
const MaxBodyBytes = 64 << 10

// handleMessage routes a message from the server: carbons and MAM results
// (only when our own account wraps them), receipts, errors, and chat
// messages. Everything stored is stored before the UI hears of it.
func (c *Client) handleMessage(gen uint64, m *inMessage, raw []byte) {
	if c.conn == nil || c.conn.gen != gen {
		return
	}
	ctx := context.Background()
	// mellium blanks a from equal to our bare JID; no from at all means our
	// own account too (RFC 6120 §8.1.2.1).
	fromSelf := m.From == "" || m.From == c.acct
	switch {
	case m.MAMResult != nil:
		c.mamResult(m.From, m.MAMResult)
		return
	case fromSelf && c.bookmarkEvent(raw):
		return
	case m.Body() == "" && c.deviceListEvent(m.From, raw):
		return
	case m.CarbonReceived != nil || m.CarbonSent != nil:
		if !fromSelf {
			// CVE-2017-5589 class: anyone can wrap a message in <sent/>.
			c.log.Warn("rejecting forged carbon", "from", m.From)
			c.emit(NoticeEvent{Account: c.acct, Text: "ignored a forged message copy claiming to come from your account, sent by " + m.From})
			return
		}
		cb, sent := m.CarbonReceived, false
		if m.CarbonSent != nil {
			cb, sent = m.CarbonSent, true
		}
		inner := cb.Forwarded.Message
		if inner == nil {
			return
		}
		if inner.Delay == nil && cb.Forwarded.Delay != nil {
			inner.Delay = cb.Forwarded.Delay
		}
		msg, ok := c.toStore(inner, sent, time.Now().UTC())
		if !ok {
			return
		}
		c.storeIncoming(ctx, inner, wrapMessage(inner), msg)
		return
	}
	if rm := c.roomFor(m.From); rm != nil {
		c.roomMessageWith(rm, m, raw) // features_muc.go
		return
	}
	from := c.jid
	if m.From != "" {
		j, err := jid.Parse(m.From)
		if err != nil {
			c.log.Warn("message with invalid from", "from", m.From)
			return
		}
		from = j
	}
	if inv, ok, _ := muc.ParseInvite(raw); ok && m.Type != "error" {
		c.emit(InviteEvent{Account: c.acct, Invite: inv})
		return
	}
	if m.Type == "error" {
		c.handleMessageError(ctx, from, m)
		return
	}
	if m.ReceiptFor != nil && m.ReceiptFor.ID != "" {
		c.receiptReceived(ctx, from, m.ReceiptFor.ID)
	}
	msg, ok := c.toStore(m, false, time.Now().UTC())
	if !ok {
		return
	}
	if c.storeIncoming(ctx, m, raw, msg) && m.ReceiptRequest != nil {
		c.sendReceipt(ctx, from, m)
	}
}

// hasFeature reports whether a message without a body still means
// something: a chat state, a marker, a reaction or a retraction.
func (m *inMessage) hasFeature() bool {
	return m.chatState() != "" || m.Displayed != nil || m.Reactions != nil || m.Retract != nil
}

// storeIncoming stores a chat message, decrypting it first when it is
// OMEMO; it reports whether the message was new.
func (c *Client) storeIncoming(ctx context.Context, m *inMessage, raw []byte, msg store.Message) bool {
	if c.om != nil && isOMEMO(m) {
		from := msg.Sender
		if msg.Direction == store.Outgoing {
			from = c.acct
		}
		if handled, inserted := c.decryptInto(ctx, raw, &msg, from, c.chatFeatures(m)); handled {
			c.liveArchived(ctx, msg) // the catch-up need not fetch it again
			return inserted
		}
	}
	if c.applyFeatures(ctx, m, &msg) || msg.Body == "" {
		return false
	}
	return c.storeAndEmit(ctx, msg)
}

// isOMEMO reports whether a message carries a legacy OMEMO element.
func isOMEMO(m *inMessage) bool {
	return strings.Contains(m.Inner, "eu.siacs.conversations.axolotl")
}

// wrapMessage rebuilds a parseable <message/> around a decoded message's
// children (for messages nested in carbons and archive results).
func wrapMessage(m *inMessage) []byte {
	return []byte("<message xmlns=\"jabber:client\">" + m.Inner + "</message>")
}

// toStore turns a chat message into a row. sent is true for copies of
// messages our own other devices sent (carbons <sent/>, MAM results from us).
func (c *Client) toStore(m *inMessage, sent bool, now time.Time) (store.Message, bool) {
	switch m.Type {
	case "", "normal", "chat":
	default:
		return store.Message{}, false // groupchat: MUC layer; headline, error: not chat
	}
	body, ok := m.body()
	if !ok && !(c.om != nil && isOMEMO(m)) && !m.hasFeature() {
		return store.Message{}, false
	}
	from, to := c.jid, c.jid
	if m.From != "" {
		j, err := jid.Parse(m.From)
		if err != nil {
			return store.Message{}, false
		}
		from = j
	}
	if m.To != "" {
		j, err := jid.Parse(m.To)
		if err != nil {
			return store.Message{}, false
		}
		to = j
	}
	// A message from our own bare JID without resource is the server's,
	// never a chat (PEP, notices); a sent copy must come from one of our
	// resources.
	if !sent && from.Bare().Equal(c.jid) {
		if from.Resourcepart() == "" {
			return store.Message{}, false
		}
		// One of our devices wrote it (e.g. a MAM copy): it is outgoing.
		sent = true
	}
	if sent && !from.Bare().Equal(c.jid) {
		return store.Message{}, false
	}
	body = withOOB(body, m.Inner)
	if len(body) > MaxBodyBytes {
		body = truncateUTF8(body, MaxBodyBytes) + " [truncated]"
	}
	if !utf8.ValidString(body) {
		body = strings.ToValidUTF8(body, "\uFFFD")
	}
	msg := store.Message{
		Account:    c.acct,
		Kind:       store.KindChat,
		Body:       body,
		Type:       typeOr(m.Type, "normal"),
		Received:   now,
		Timestamp:  now,
		SenderFull: from.String(),
	}
	if sent {
		msg.Peer = to.Bare().String()
		msg.Direction = store.Outgoing
		msg.Sender = c.acct
		msg.State = store.StateSent
	} else {
		msg.Peer = from.Bare().String()
		msg.Direction = store.Incoming
		msg.Sender = from.Bare().String()
		msg.State = store.StateReceived
	}
	if msg.Peer == c.acct && !sent {
		return store.Message{}, false
	}
	if t, ok := m.time(); ok && t.Before(now.Add(time.Minute)) {
		if t.After(now) {
			t = now // a stamp from the future is clock skew
		}
		msg.Timestamp = t
	}
	if m.OriginID != nil && m.OriginID.ID != "" {
		msg.OriginID = m.OriginID.ID
	} else if m.ID != "" {
		// Without origin-id the stanza id is the best dedupe key we have
		// from the sender (offline redelivery keeps it).
		msg.OriginID = "id:" + m.ID
	}
	if sent && m.OriginID == nil && m.ID != "" {
		// Our own messages use the same value for both.
		msg.OriginID = m.ID
	}
	// Only our own archive's stanza-id is trustworthy (XEP-0359 §4: check by).
	for _, sid := range m.StanzaIDs {
		if sid.By == c.acct && sid.ID != "" {
			msg.StanzaID, msg.StanzaBy = sid.ID, sid.By
		}
	}
	return msg, true
}

// storeAndEmit persists one message and, if it is new, tells the UI.
func (c *Client) storeAndEmit(ctx context.Context, msg store.Message) bool {
	inserted, err := c.st.AddMessage(ctx, &msg)
	if err != nil {
		c.log.Error("store: add message", "err", err)
		c.emit(NoticeEvent{Account: c.acct, Text: "could not store a message from " + msg.Peer, Err: err})
		return false
	}
	if inserted && msg.ReplyTo != "" {
		if err := c.st.SetReplyTo(ctx, msg.ID, msg.ReplyTo); err != nil {
			c.log.Error("store: reply", "err", err)
		}
	}
	if inserted {
		c.emit(MessageEvent{Account: c.acct, Message: msg})
	}
	c.liveArchived(ctx, msg)
	return inserted
}

// sendReceipt answers a receipt request (XEP-0184), only to contacts that
// may see our presence anyway: a receipt tells the sender we are online.
func (c *Client) sendReceipt(ctx context.Context, from jid.JID, m *inMessage) {
	if m.ID == "" || m.Type == "groupchat" {
		return
	}
	ct, ok := c.roster[from.Bare().String()]
	if !ok || (ct.Subscription != "from" && ct.Subscription != "both") {
		return
	}
	_ = c.send(ctx, outMessage{ID: newID(), To: from.String(), Type: m.Type, Received: &receiptAck{ID: m.ID}, NoStore: &struct{}{}})
}

// receiptReceived marks our message delivered; only the peer we sent it to
// can confirm it.
func (c *Client) receiptReceived(ctx context.Context, from jid.JID, id string) {
	peer := from.Bare().String()
	orig, err := c.st.MessageByOriginID(ctx, c.acct, peer, id)
	if err != nil || orig.Direction != store.Outgoing || orig.Peer != peer {
		return
	}
	c.advance(ctx, orig.ID, store.StateDelivered)
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
	return c.sendMessageWith(ctx, to, body, "")
}

// sendMessageWith is sendMessage for a reply to the message with id
// replyTo (XEP-0461) when replyTo is set.
func (c *Client) sendMessageWith(ctx context.Context, to, body, replyTo string) (store.Message, error) {
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
	if rm := c.rooms[j.Bare().String()]; rm != nil {
		if j.Resourcepart() == "" {
			return store.Message{}, fmt.Errorf("%s is a group chat: send to the room, or to room/nick for a private message", to)
		}
		// A private message to an occupant (XEP-0045 §7.5).
		m.Peer, m.Kind = j.String(), store.KindPrivate
	}
	c.presetEncryption(ctx, &m)
	if _, err := c.st.AddMessage(ctx, &m); err != nil {
		return store.Message{}, fmt.Errorf("store: %w", err)
	}
	if replyTo != "" {
		m.ReplyTo = replyTo
		if err := c.st.SetReplyTo(ctx, m.ID, replyTo); err != nil {
			return store.Message{}, fmt.Errorf("store: %w", err)
		}
	}
	c.emit(MessageEvent{Account: c.acct, Message: m})
	if c.conn != nil && c.conn.online {
		c.transmit(ctx, m)
	}
	return m, nil
}

// transmit writes one stored message (encrypting 1:1 messages when the
// conversation wants it) and arranges for its confirmation.
func (c *Client) transmit(ctx context.Context, m store.Message) {
	if c.om != nil && (m.Kind == store.KindChat || m.Kind == store.KindGroupchat) {
		// Per peer, in order: the devices and sessions may need fetching.
		c.omQueue[m.Peer] = append(c.omQueue[m.Peer], m)
		c.pumpOMEMO(ctx, m.Peer)
		return
	}
	c.transmitNow(ctx, m, "")
}

// pumpOMEMO sends a peer's queued messages one after the other.
func (c *Client) pumpOMEMO(ctx context.Context, peer string) {
	if c.omBusy[peer] || len(c.omQueue[peer]) == 0 {
		return
	}
	c.omBusy[peer] = true
	c.prepareOMEMO(ctx, peer, func() {
		c.omBusy[peer] = false
		q := c.omQueue[peer]
		delete(c.omQueue, peer)
		if c.conn == nil || !c.conn.online {
			return // still Pending in the outbox: sent after the next login
		}
		for _, m := range q {
			on, err := c.wantEncryption(ctx, peer)
			if err != nil {
				c.log.Error("encryption choice", "err", err)
				continue
			}
			if !on {
				c.settleEncryption(ctx, &m, false)
				c.transmitNow(ctx, m, "")
				continue
			}
			extra, err := c.encryptedStanza(ctx, peer, c.replyWire(ctx, m).body)
			if err != nil {
				c.failMessage(ctx, m, err.Error())
				continue
			}
			c.settleEncryption(ctx, &m, true)
			c.transmitNow(ctx, m, extra)
		}
	})
}

// failMessage marks an outgoing message Failed and says why.
func (c *Client) failMessage(ctx context.Context, m store.Message, why string) {
	if err := c.st.SetState(ctx, m.ID, store.StateFailed, why); err != nil {
		c.log.Error("store: set state", "err", err)
	}
	c.emit(MessageStateEvent{Account: c.acct, Peer: m.Peer, ID: m.ID, State: store.StateFailed, Error: why})
}

// transmitNow writes the message; extra, when set, is the OMEMO part that
// replaces the body (which becomes the fallback text).
func (c *Client) transmitNow(ctx context.Context, m store.Message, extra string) {
	rw := c.replyWire(ctx, m) // reply.go
	out := outMessage{ID: m.OriginID, To: m.Peer, Type: typeOr(m.Type, "chat"), Body: rw.body, OriginID: &originID{ID: m.OriginID}, Request: &receiptReq{}}
	if m.Kind == store.KindPrivate {
		out.MUCUser = &struct{}{} // marks a private message through a room
	}
	if extra != "" {
		out.Body, out.Raw = fallbackBody, extra
	} else if raw, ok := c.mediaExtra(m); !ok {
		c.failMessage(ctx, m, "not sent: it holds a file key and the chat is not encrypted")
		return
	} else {
		out.Raw = raw
	}
	if m.Kind == store.KindChat {
		out.Markable, out.Active = &struct{}{}, &struct{}{}
		c.chatStates[m.Peer] = "active"
		if m.ReplyTo != "" {
			out.Reply = &reply{To: rw.to, ID: m.ReplyTo}
			out.Raw += rw.fallback
		}
	}
	if m.Kind == store.KindGroupchat {
		out.Request = nil // receipts are not for rooms (XEP-0184 §5.3)
		if m.ReplyTo != "" {
			out.Reply = &reply{To: rw.to, ID: m.ReplyTo} // the room's stanza-id
			out.Raw += rw.fallback
		}
		if rm := c.rooms[m.Peer]; rm != nil {
			rm.r.TrackOriginID(m.OriginID)
		}
	}
	if err := c.send(ctx, out); err != nil {
		c.log.Warn("send failed; message stays in the outbox", "err", err)
		return
	}
	if c.smTrack(ctx, m.ID, m.OriginID) {
		c.ackWanted = true
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
		c.advanceAll(ctx, ids, store.StateSent)
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
		if m.Kind == store.KindGroupchat {
			// Sent when the room is joined (flushRoomOutbox).
			if rm := c.rooms[m.Peer]; rm == nil || rm.r.State() != muc.StateJoined {
				continue
			}
		}
		c.transmit(ctx, m)
	}
}
