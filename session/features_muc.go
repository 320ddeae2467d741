package session

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"xchat/muc"
	"xchat/store"
)

// Message features in group chats. A groupchat stanza is looked at here
// before the room's state machine (which keeps only messages with a body):
// chat states (XEP-0085), displayed markers (XEP-0333), corrections
// (XEP-0308), retractions (XEP-0424), reactions (XEP-0444) and replies
// (XEP-0461). In rooms, markers, retractions, reactions and replies refer
// to the stanza-id the room assigned (by = the room); corrections to the
// sender's own id. Corrections and retractions are accepted only from the
// author: the same real JID when the room shows it, else the same nick
// with the same occupant id (XEP-0421) when the room vouches for those,
// else the same nick present without a break since the original came.
// Receipts are not used in rooms (XEP-0184 §5.3).

// roomFeat is the features layer's state of one room.
type roomFeat struct {
	extra *roomExtra // the stanza being handled
	// enc is the OMEMO stanza being handled: its features are applied
	// once it is decrypted (roomEncryptedFeatures, omemo_muc.go).
	enc *inMessage
	// since: when each present occupant was first seen in this stay of
	// ours; in rooms that show neither real JIDs nor occupant ids, a nick
	// may correct only what it sent since then (XEP-0308 §5).
	since map[string]time.Time
	// Displayed markers go to everyone in the room: at most one per
	// roomMarkEvery, the newest one waiting for its turn.
	markAt      time.Time
	markPending string
	markTimer   bool
}

// roomMarkEvery is the least time between two displayed markers we send
// to one room.
const roomMarkEvery = 3 * time.Second

// track follows joins and leaves for since.
func (f *roomFeat) track(ev muc.Event) {
	now := time.Now().Truncate(time.Millisecond)
	switch e := ev.(type) {
	case muc.OccupantJoined:
		if f.since == nil {
			f.since = map[string]time.Time{}
		}
		f.since[e.Occupant.Nick] = now
	case muc.OccupantLeft:
		delete(f.since, e.Occupant.Nick)
	case muc.NickChanged:
		if !e.Self && f.since != nil {
			delete(f.since, e.Old)
			f.since[e.New] = now
		}
	case muc.SelfRemoved, muc.RoomDestroyed:
		f.since = nil
	}
}

// roomExtra is what the features layer found in the stanza being handled,
// for storeGroupMessage.
type roomExtra struct {
	replyTo string // XEP-0461: the room's stanza-id of the message answered
	body    string // the body without the reply's fallback
}

// roomMessageWith handles a stanza from a joined room: its features first,
// then, unless they consumed it, the room's state machine.
func (c *Client) roomMessageWith(rm *room, m *inMessage, raw []byte) {
	if m.Type == "groupchat" {
		if c.roomFeatures(rm, m) {
			rm.lastSeen = time.Now()
			return
		}
		if c.om != nil && isOMEMO(m) {
			rm.feat.enc = m
			defer func() { rm.feat.enc = nil }()
		} else if m.Reply != nil && m.Reply.ID != "" {
			body, _ := m.body()
			rm.feat.extra = &roomExtra{replyTo: m.Reply.ID, body: stripFallback(body, m.Fallbacks, nsReply)}
			defer func() { rm.feat.extra = nil }()
		}
	}
	c.roomMessage(rm, raw)
}

// applyRoomExtra gives a room message about to be stored what the features
// layer found in it (a reply).
func (rm *room) applyExtra(m *store.Message) {
	if x := rm.feat.extra; x != nil {
		m.ReplyTo, m.Body = x.replyTo, x.body
	}
}

// afterRoomStored records the occupant id of a new room message when the
// room vouches for occupant ids, and the reply it is.
func (c *Client) afterRoomStored(ctx context.Context, rm *room, m *store.Message, occupantID string) {
	if m.ReplyTo != "" {
		if err := c.st.SetReplyTo(ctx, m.ID, m.ReplyTo); err != nil {
			c.log.Error("store: reply", "err", err)
		}
	}
	if occupantID != "" && rm.info.OccupantID {
		if err := c.st.SetOccupantID(ctx, m.ID, occupantID); err != nil {
			c.log.Error("store: occupant id", "err", err)
		}
	}
}

// roomFeatures handles the features of a groupchat stanza from an
// occupant; it reports true when the stanza is consumed.
func (c *Client) roomFeatures(rm *room, m *inMessage) bool {
	ctx := context.Background()
	roomJID := rm.r.JID()
	_, nick, _ := strings.Cut(m.From, "/")
	if nick == "" {
		return false // the room itself
	}
	self := nick == rm.r.Nick()
	occ, _ := rm.r.Occupant(nick)
	body, hasBody := m.body()
	if st := m.chatState(); st != "" && !self && st != "gone" {
		c.emit(ChatStateEvent{Account: c.acct, JID: roomJID, Nick: nick, State: st})
	}
	if c.om != nil && isOMEMO(m) {
		// Its body is the fallback text: what it corrects, retracts or
		// answers is applied after decryption.
		return false
	}
	switch {
	case m.Replace != nil && m.Replace.ID != "" && hasBody:
		orig, err := c.st.FindRef(ctx, c.acct, roomJID, m.Replace.ID)
		if err != nil || !c.roomAuthor(ctx, rm, orig, nick, occ) {
			c.log.Info("ignoring a room correction of an unknown or foreign message", "room", roomJID, "nick", nick)
			return false // kept as a message: nothing is lost
		}
		if body == orig.Body && orig.Direction == store.Outgoing {
			return true // the room's copy of our own correction
		}
		if err := c.st.Correct(ctx, orig.ID, body); err != nil {
			c.log.Error("store: correct", "err", err)
			return true
		}
		c.emit(MessageUpdatedEvent{Account: c.acct, Peer: roomJID, ID: orig.ID, What: "corrected"})
		return true
	case m.Retract != nil && m.Retract.ID != "":
		orig, err := c.st.FindRef(ctx, c.acct, roomJID, m.Retract.ID)
		if err != nil || !c.roomAuthor(ctx, rm, orig, nick, occ) {
			c.log.Info("ignoring a room retraction of an unknown or foreign message", "room", roomJID, "nick", nick)
			return true
		}
		if orig.Retracted {
			return true
		}
		if err := c.st.Retract(ctx, orig.ID); err != nil {
			c.log.Error("store: retract", "err", err)
			return true
		}
		c.emit(MessageUpdatedEvent{Account: c.acct, Peer: roomJID, ID: orig.ID, What: "retracted"})
		return true
	case m.Reactions != nil && m.Reactions.ID != "":
		orig, err := c.st.FindRef(ctx, c.acct, roomJID, m.Reactions.ID)
		if err != nil {
			return true
		}
		if err := c.st.SetReactions(ctx, orig.ID, c.roomReactor(self, nick, occ), cleanReactions(m.Reactions.Reactions)); err != nil {
			c.log.Error("store: reactions", "err", err)
			return true
		}
		c.emit(MessageUpdatedEvent{Account: c.acct, Peer: roomJID, ID: orig.ID, What: "reactions"})
		return true
	}
	if m.Displayed != nil && m.Displayed.ID != "" {
		c.roomDisplayed(ctx, roomJID, self, m.Displayed.ID)
	}
	// A bare chat state or marker is consumed; anything else (a subject
	// change, a message) goes on to the room's state machine.
	return !hasBody && len(m.Subject) == 0 && (m.chatState() != "" || m.Displayed != nil)
}

// roomAuthor reports whether the occupant nick (occ, as the room shows it
// now) wrote orig: our own messages only from us; others' from the same
// real JID, or the same nick and occupant id.
func (c *Client) roomAuthor(ctx context.Context, rm *room, orig store.Message, nick string, occ muc.Occupant) bool {
	if orig.Kind != store.KindGroupchat {
		return false
	}
	if orig.Direction == store.Outgoing {
		// The room gives one nick to one user: a stanza from our nick is
		// ours (this device or another of ours).
		if nick != rm.r.Nick() {
			return false
		}
		return occ.RealJID == "" || bareOf(occ.RealJID) == c.acct
	}
	if orig.Sender != nick {
		return false
	}
	if orig.SenderFull != "" {
		return occ.RealJID != "" && bareOf(occ.RealJID) == bareOf(orig.SenderFull)
	}
	if rm.info.OccupantID && occ.OccupantID != "" {
		was, err := c.st.OccupantID(ctx, orig.ID)
		return err == nil && was != "" && was == occ.OccupantID
	}
	// Neither: the same nick, present without a break since before we
	// received the original.
	since, ok := rm.feat.since[nick]
	return ok && !orig.Received.Before(since) && !orig.Timestamp.Before(since)
}

// roomReactor is who a reaction in a room is stored under: our account for
// ours, else the real bare JID when known, else the nick.
func (c *Client) roomReactor(self bool, nick string, occ muc.Occupant) string {
	switch {
	case self:
		return c.acct
	case occ.RealJID != "":
		return bareOf(occ.RealJID)
	}
	return nick
}

// roomDisplayed handles a displayed marker in a room: from one of our
// devices it moves our read position (the conversation is read up to
// there); from someone else it marks our messages up to it read.
func (c *Client) roomDisplayed(ctx context.Context, roomJID string, self bool, ref string) {
	orig, err := c.st.FindRef(ctx, c.acct, roomJID, ref)
	if err != nil {
		return
	}
	if self {
		c.readElsewhere(ctx, roomJID, orig)
		return
	}
	if orig.Direction != store.Outgoing {
		return
	}
	ids, err := c.st.MarkReadUpTo(ctx, orig.ID)
	if err != nil {
		c.log.Error("store: read", "err", err)
		return
	}
	for _, id := range ids {
		c.emit(MessageStateEvent{Account: c.acct, Peer: roomJID, ID: id, State: store.StateRead})
	}
}

// readElsewhere records that one of our other devices displayed the
// conversation up to orig (a room marker from our nick, or the carbon of
// a 1:1 marker we sent): it is read here too.
func (c *Client) readElsewhere(ctx context.Context, peer string, orig store.Message) {
	if err := c.st.MarkReadThrough(ctx, c.acct, peer, orig.ID); err != nil {
		c.log.Error("store: read", "err", err)
		return
	}
	c.emit(ReadEvent{Account: c.acct, Peer: peer, ID: orig.ID})
}

// ReadEvent reports that another of our devices has displayed the
// conversation up to message ID: it is read here too.
type ReadEvent struct {
	Account string
	Peer    string
	ID      int64
}

func (e ReadEvent) account() string { return e.Account }

// roomRef is how a room message is referred to by markers, retractions,
// reactions and replies: the stanza-id the room gave it.
func roomRef(m store.Message) (string, error) {
	if m.StanzaID == "" || m.StanzaBy != m.Peer {
		return "", errors.New("the room has not confirmed this message yet (no stanza-id): try again in a moment")
	}
	return m.StanzaID, nil
}

// sendRoomFeature writes a groupchat message carrying a feature element
// to a joined room.
func (c *Client) sendRoomFeature(ctx context.Context, roomJID, body, element string) error {
	rm := c.rooms[roomJID]
	if rm == nil || rm.r.State() != muc.StateJoined {
		return fmt.Errorf("not in %s", roomJID)
	}
	if c.conn == nil || !c.conn.online {
		return ErrOffline
	}
	out := outMessage{ID: newID(), To: roomJID, Type: "groupchat", Body: body, Raw: element}
	out.OriginID = &originID{ID: out.ID}
	if body != "" && c.om != nil {
		// In an encrypted private group the text (a correction's) is
		// encrypted too; the feature element stays outside (legacy OMEMO).
		if on, _ := c.wantEncryption(ctx, roomJID); on {
			extra, err := c.encryptedStanza(ctx, roomJID, body)
			if err != nil {
				return err
			}
			out.Body, out.Raw = fallbackBody, extra+element
		}
	}
	return c.send(ctx, out)
}

// replyGroup sends body to a room as a reply to orig (XEP-0461, by the
// room's stanza-id); stored and queued like any room message.
func (c *Client) replyGroup(ctx context.Context, orig store.Message, body string) (store.Message, error) {
	ref, err := roomRef(orig)
	if err != nil {
		return store.Message{}, err
	}
	rm := c.rooms[orig.Peer]
	if rm == nil {
		return store.Message{}, fmt.Errorf("not in %s: /join it first", orig.Peer)
	}
	if body == "" {
		return store.Message{}, errors.New("empty message")
	}
	now := time.Now().UTC()
	m := store.Message{
		Account: c.acct, Peer: orig.Peer, Kind: store.KindGroupchat, Direction: store.Outgoing,
		Sender: rm.r.Nick(), SenderFull: c.acct, Body: body, Type: "groupchat",
		OriginID: newID(), Timestamp: now, Received: now, State: store.StatePending, ReplyTo: ref,
	}
	if _, err := c.st.AddMessage(ctx, &m); err != nil {
		return store.Message{}, fmt.Errorf("store: %w", err)
	}
	if err := c.st.SetReplyTo(ctx, m.ID, ref); err != nil {
		return store.Message{}, fmt.Errorf("store: %w", err)
	}
	c.emit(MessageEvent{Account: c.acct, Message: m})
	if c.conn != nil && c.conn.online && rm.r.State() == muc.StateJoined {
		c.transmit(ctx, m)
	}
	return m, nil
}

// sendRoomChatState sends a chat state to a joined room (never "gone",
// which rooms ignore).
func (c *Client) sendRoomChatState(ctx context.Context, roomJID, state string) error {
	rm := c.rooms[roomJID]
	if rm == nil || rm.r.State() != muc.StateJoined || state == "gone" {
		return nil
	}
	c.chatStates[roomJID] = state
	return c.send(ctx, outMessage{ID: newID(), To: roomJID, Type: "groupchat",
		Raw: fmt.Sprintf(`<%s xmlns="%s"></%s><no-store xmlns="urn:xmpp:hints"></no-store>`, state, nsChatState, state)})
}

// markRoomDisplayed sends a displayed marker for a room message (by the
// room's stanza-id); our other devices get it through the room too.
func (c *Client) markRoomDisplayed(ctx context.Context, m store.Message) error {
	ref, err := roomRef(m)
	if err != nil {
		return nil // not confirmed by the room: nothing to refer to
	}
	rm := c.rooms[m.Peer]
	if rm == nil || rm.r.State() != muc.StateJoined {
		return nil
	}
	f := &rm.feat
	if wait := roomMarkEvery - time.Since(f.markAt); wait > 0 {
		f.markPending = ref
		if !f.markTimer {
			f.markTimer = true
			roomJID := m.Peer
			time.AfterFunc(wait, func() { c.post(func() { c.flushRoomMark(roomJID) }) })
		}
		return nil
	}
	return c.sendRoomMark(ctx, rm, ref)
}

// flushRoomMark sends the marker that waited for its turn.
func (c *Client) flushRoomMark(roomJID string) {
	rm := c.rooms[roomJID]
	if rm == nil {
		return
	}
	f := &rm.feat
	f.markTimer = false
	ref := f.markPending
	f.markPending = ""
	if ref == "" || rm.r.State() != muc.StateJoined || c.conn == nil || !c.conn.online {
		return
	}
	if err := c.sendRoomMark(context.Background(), rm, ref); err != nil {
		c.log.Warn("room marker", "room", roomJID, "err", err)
	}
}

func (c *Client) sendRoomMark(ctx context.Context, rm *room, ref string) error {
	rm.feat.markAt = time.Now()
	return c.send(ctx, outMessage{ID: newID(), To: rm.r.JID(), Type: "groupchat",
		Raw: fmt.Sprintf(`<displayed xmlns="%s" id="%s"></displayed><store xmlns="urn:xmpp:hints"></store>`, nsMarkers, xmlText(ref))})
}
