package session

import (
	"context"
	"encoding/xml"
	"strings"

	"mellium.im/xmpp/jid"

	"xchat/store"
)

// Message features found in an archive (catch-up or older history). A
// correction, retraction, reaction or marker refers to a message that may
// sit earlier in the same page, which is stored only when the page is
// complete: such results are set aside while the page is collected and
// applied, in archive order, once it is stored. Replies are messages; what
// they answer is recorded after the page is stored too.

// archivedFeature is a feature result set aside until its page is stored.
type archivedFeature struct {
	m    *inMessage
	msg  store.Message
	room bool
	nick string // in a room: the sender's nick
	real string // in a room: the sender's real bare JID when the archive gives it
}

// isFeature reports whether a message changes another one (rather than
// being one), or carries nothing but a state.
func (m *inMessage) isFeature() bool {
	if (m.Replace != nil && m.Replace.ID != "") || (m.Retract != nil && m.Retract.ID != "") || (m.Reactions != nil && m.Reactions.ID != "") {
		return true
	}
	return m.Body() == "" && (m.Displayed != nil || m.chatState() != "")
}

// deferArchived sets a 1:1 archive result aside when it is a feature; it
// reports whether it did.
func (c *Client) deferArchived(q *mamQueryState, m *inMessage, msg store.Message) bool {
	if !m.isFeature() || (c.om != nil && isOMEMO(m)) {
		return false
	}
	q.deferred = append(q.deferred, archivedFeature{m: m, msg: msg})
	return true
}

// deferRoomArchived sets a room archive result aside when it is a feature.
func (c *Client) deferRoomArchived(q *mamQueryState, r *mamResult) bool {
	m := r.Forwarded.Message
	if m == nil || m.Type != "groupchat" || !m.isFeature() {
		return false
	}
	j, err := jid.Parse(m.From)
	if err != nil || !strings.EqualFold(j.Bare().String(), q.archive) || j.Resourcepart() == "" {
		return true // not an occupant's: nothing to apply
	}
	d := archivedFeature{m: m, room: true, nick: j.Resourcepart(), real: archivedRealJID(m)}
	rm := c.rooms[q.archive]
	self := rm != nil && d.nick == rm.r.Nick()
	if m.Replace != nil && m.Replace.ID != "" && d.real == "" && !self {
		// Its author cannot be proven: it stays a message, in its place.
		return false
	}
	q.fetched++
	body, _ := m.body()
	d.msg = store.Message{Account: c.acct, Peer: q.archive, Kind: store.KindGroupchat, Sender: d.nick, Body: body, Type: "groupchat", StanzaID: r.ID, StanzaBy: q.archive}
	if r.Forwarded.Delay != nil {
		if t, ok := parseStamp(r.Forwarded.Delay.Stamp); ok {
			d.msg.Timestamp = t
		}
	}
	if m.OriginID != nil && m.OriginID.ID != "" {
		d.msg.OriginID = m.OriginID.ID
	}
	q.deferred = append(q.deferred, d)
	return true
}

// archivedRealJID returns the real bare JID a room archive gives for the
// sender (XEP-0045 <item jid/>), "" if none.
func archivedRealJID(m *inMessage) string {
	i := strings.Index(m.Inner, "http://jabber.org/protocol/muc#user")
	if i < 0 {
		return ""
	}
	// Cheap first: most room messages name no one.
	if !strings.Contains(m.Inner[i:], "jid=") {
		return ""
	}
	var x struct {
		X struct {
			Item struct {
				JID string `xml:"jid,attr"`
			} `xml:"item"`
		} `xml:"http://jabber.org/protocol/muc#user x"`
	}
	if xml.Unmarshal(wrapMessage(m), &x) != nil {
		return ""
	}
	return bareOf(x.X.Item.JID)
}

// noteArchivedRoom gives an archived room message the real JID of its
// sender when the archive names it, as live messages have it.
func noteArchivedRoom(m *inMessage, msg *store.Message) {
	if real := archivedRealJID(m); real != "" {
		msg.SenderFull = real
	}
}

// noteArchivedReply remembers, for a result about to go into the page, the
// message it replies to (recorded once the page is stored).
func noteArchivedReply(q *mamQueryState, m *inMessage, msg *store.Message) {
	if m.Reply == nil || m.Reply.ID == "" {
		return
	}
	msg.ReplyTo = m.Reply.ID
	msg.Body = stripFallback(msg.Body, m.Fallbacks, nsReply)
	q.replies = append(q.replies, len(q.page))
}

// applyArchived applies what deferArchived set aside, once the page is
// stored, and records the replies of the page.
func (c *Client) applyArchived(ctx context.Context, q *mamQueryState) {
	for _, i := range q.replies {
		if i < len(q.page) && q.page[i].ID != 0 && q.page[i].ReplyTo != "" {
			if err := c.st.SetReplyTo(ctx, q.page[i].ID, q.page[i].ReplyTo); err != nil {
				c.log.Error("store: reply", "err", err)
			}
		}
	}
	q.replies = q.replies[:0]
	deferred := q.deferred
	q.deferred = nil
	for _, d := range deferred {
		// An archived chat state is stale: never shown.
		m := *d.m
		m.Composing, m.Paused, m.Active, m.Inactive, m.Gone = nil, nil, nil, nil, nil
		if d.room {
			c.applyRoomArchived(ctx, q, &m, d)
			continue
		}
		msg := d.msg
		if c.applyFeatures(ctx, &m, &msg) || msg.Body == "" {
			continue
		}
		// A correction of a message we do not hold: kept as a message.
		if inserted, err := c.st.AddMessage(ctx, &msg); err == nil && inserted && !q.older {
			q.added++
			c.emit(MessageEvent{Account: c.acct, Message: msg})
		}
	}
}

// applyRoomArchived applies one archived room feature. Corrections and
// retractions count only when the author is proven: our own nick for our
// messages, the same real JID for others' (the archive keeps no presence
// history, so a nick alone proves nothing).
func (c *Client) applyRoomArchived(ctx context.Context, q *mamQueryState, m *inMessage, d archivedFeature) {
	roomJID := q.archive
	rm := c.rooms[roomJID]
	self := rm != nil && d.nick == rm.r.Nick()
	author := func(orig store.Message) bool {
		if orig.Kind != store.KindGroupchat || orig.Sender != d.nick {
			return false
		}
		if orig.Direction == store.Outgoing {
			return self && (d.real == "" || d.real == c.acct)
		}
		known := bareOf(orig.SenderFull)
		if known == roomJID { // an archived original: its occupant JID, not a real one
			known = ""
		}
		return d.real != "" && known != "" && d.real == known
	}
	switch {
	case m.Replace != nil && m.Replace.ID != "" && d.msg.Body != "":
		orig, err := c.st.FindRef(ctx, c.acct, roomJID, m.Replace.ID)
		if err != nil || !author(orig) {
			c.keepArchived(ctx, q, d, self)
			return
		}
		if orig.Body != d.msg.Body {
			if err := c.st.Correct(ctx, orig.ID, d.msg.Body); err != nil {
				c.log.Error("store: correct", "err", err)
				return
			}
			c.emit(MessageUpdatedEvent{Account: c.acct, Peer: roomJID, ID: orig.ID, What: "corrected"})
		}
	case m.Retract != nil && m.Retract.ID != "":
		orig, err := c.st.FindRef(ctx, c.acct, roomJID, m.Retract.ID)
		if err != nil || !author(orig) || orig.Retracted {
			return
		}
		if err := c.st.Retract(ctx, orig.ID); err != nil {
			c.log.Error("store: retract", "err", err)
			return
		}
		c.emit(MessageUpdatedEvent{Account: c.acct, Peer: roomJID, ID: orig.ID, What: "retracted"})
	case m.Reactions != nil && m.Reactions.ID != "":
		orig, err := c.st.FindRef(ctx, c.acct, roomJID, m.Reactions.ID)
		if err != nil {
			return
		}
		who := d.nick
		switch {
		case self:
			who = c.acct
		case d.real != "":
			who = d.real
		}
		if err := c.st.SetReactions(ctx, orig.ID, who, cleanReactions(m.Reactions.Reactions)); err != nil {
			c.log.Error("store: reactions", "err", err)
			return
		}
		c.emit(MessageUpdatedEvent{Account: c.acct, Peer: roomJID, ID: orig.ID, What: "reactions"})
	case m.Displayed != nil && m.Displayed.ID != "":
		c.roomDisplayed(ctx, roomJID, self, m.Displayed.ID)
	}
}

// keepArchived stores an archived room correction that could not be
// applied as a message of its own: nothing is lost.
func (c *Client) keepArchived(ctx context.Context, q *mamQueryState, d archivedFeature, self bool) {
	msg := d.msg
	msg.Direction, msg.State = store.Incoming, store.StateReceived
	if self {
		msg.Direction, msg.State = store.Outgoing, store.StateDelivered
	}
	msg.SenderFull = roomJIDWithNick(q.archive, d.nick)
	if inserted, err := c.st.AddMessage(ctx, &msg); err == nil && inserted && !q.older {
		q.added++
		c.emit(MessageEvent{Account: c.acct, Message: msg})
	}
}

func roomJIDWithNick(room, nick string) string { return room + "/" + nick }
