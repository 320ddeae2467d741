package session

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"

	"mellium.im/xmpp/jid"

	"xchat/muc"
	"xchat/omemo"
	"xchat/store"
)

// OMEMO in group chats. Only private groups (members-only and
// non-anonymous rooms) are encrypted: there every member's real JID is
// known, so the key can go to every device of every member — including
// members not present now, taken from the room's affiliation lists — and a
// sender is resolved from its occupant's real JID. The room reflects our
// own messages; those are matched by origin-id to the stored copy (the
// room's copy was not encrypted to this device).

// roomMembersMaxAge is how long a room's affiliation lists are believed
// without an event that says they changed.
const roomMembersMaxAge = 10 * time.Minute

// omemoRoom is what OMEMO knows about the members of one room.
type omemoRoom struct {
	members  map[string]bool // real bare JIDs (member, admin, owner), without ours
	loadedAt time.Time
	stale    bool
	waiters  []func() // non-nil while the lists are being fetched
	loading  bool
}

// privateGroup reports whether roomJID is a room we are in whose members'
// real JIDs are known to everyone and whose membership is closed.
func (c *Client) privateGroup(roomJID string) bool {
	rm := c.rooms[roomJID]
	return rm != nil && rm.info.MembersOnly && (rm.info.NonAnonymous || rm.r.Flags().NonAnonymous)
}

// isRoom reports whether peer is a room (not a contact, not an occupant).
func (c *Client) isRoom(peer string) bool { return c.rooms[peer] != nil }

func (c *Client) omRoom(roomJID string) *omemoRoom {
	if c.om.rooms == nil {
		c.om.rooms = map[string]*omemoRoom{}
	}
	or := c.om.rooms[roomJID]
	if or == nil {
		or = &omemoRoom{members: map[string]bool{}}
		c.om.rooms[roomJID] = or
	}
	return or
}

// omemoJIDs returns the JIDs whose devices get the key of a message to
// peer: the contact or the room's members, and our own account.
func (c *Client) omemoJIDs(peer string) []string {
	if !c.isRoom(peer) {
		return []string{peer, c.acct}
	}
	var out []string
	if or := c.om.rooms[peer]; or != nil {
		for j := range or.members {
			out = append(out, j)
		}
	}
	sort.Strings(out)
	return append(out, c.acct)
}

// loadRoomMembers fetches the member, admin and owner lists of a private
// group (a members-only non-anonymous room lets members read them) unless
// they are fresh, then calls done.
func (c *Client) loadRoomMembers(ctx context.Context, roomJID string, done func()) {
	or := c.omRoom(roomJID)
	if !or.stale && !or.loadedAt.IsZero() && time.Since(or.loadedAt) < roomMembersMaxAge {
		done()
		return
	}
	or.waiters = append(or.waiters, done)
	if or.loading {
		return
	}
	or.loading, or.stale = true, false
	found := map[string]bool{}
	pending := 3
	failed := false
	for _, aff := range []muc.Affiliation{muc.AffMember, muc.AffAdmin, muc.AffOwner} {
		c.iqRaw(ctx, muc.AffiliationListQuery(roomJID, aff), func(full []byte, err error) {
			var items []muc.AffiliationItem
			if err == nil {
				items, err = muc.ParseAffiliationList(full)
			}
			if err != nil {
				failed = true
				c.log.Info("omemo: room affiliation list", "room", roomJID, "affiliation", aff, "err", err)
			}
			for _, it := range items {
				if b := bareOf(it.JID); b != "" {
					found[b] = true
				}
			}
			pending--
			if pending > 0 {
				return
			}
			c.applyRoomMembers(roomJID, found, failed)
		})
	}
}

// applyRoomMembers records a fetched member set (plus the occupants we
// see, in case a list was refused) and wakes the waiters.
func (c *Client) applyRoomMembers(roomJID string, found map[string]bool, failed bool) {
	or := c.omRoom(roomJID)
	if rm := c.rooms[roomJID]; rm != nil {
		for _, o := range rm.r.Occupants() {
			if b := bareOf(o.RealJID); b != "" && isMemberAff(o.Affiliation) {
				found[b] = true
			}
		}
	}
	delete(found, c.acct)
	if failed && len(found) == 0 {
		found = or.members // keep what we had rather than nothing
	}
	or.members = found
	or.loading = false
	if !failed {
		or.loadedAt = time.Now()
	}
	waiters := or.waiters
	or.waiters = nil
	for _, w := range waiters {
		w()
	}
}

func isMemberAff(a muc.Affiliation) bool {
	return a == muc.AffMember || a == muc.AffAdmin || a == muc.AffOwner
}

// bareOf returns the bare form of a JID, "" if it is not one.
func bareOf(s string) string {
	if s == "" {
		return ""
	}
	j, err := jid.Parse(s)
	if err != nil {
		return ""
	}
	return j.Bare().String()
}

// omemoRoomEvents keeps a private group's member set current from the
// room's presence: a new occupant's real JID, an affiliation change.
func (c *Client) omemoRoomEvents(rm *room, evs []muc.Event) {
	if c.om == nil {
		return
	}
	roomJID := rm.r.JID()
	for _, ev := range evs {
		switch e := ev.(type) {
		case muc.Joined:
			c.omRoom(roomJID).stale = true
			if c.privateGroup(roomJID) {
				c.refreshRoom(roomJID)
			}
		case muc.OccupantJoined:
			c.noteOccupant(roomJID, e.Occupant)
		case muc.OccupantChanged:
			if e.Old.Affiliation != e.New.Affiliation {
				c.omRoom(roomJID).stale = true
			}
			c.noteOccupant(roomJID, e.New)
		case muc.OccupantLeft:
			if e.Reason == muc.ReasonBanned || e.Reason == muc.ReasonAffiliationChanged || e.Reason == muc.ReasonMembersOnly {
				c.omRoom(roomJID).stale = true
			}
		case muc.ConfigChanged:
			c.omRoom(roomJID).stale = true
		}
	}
}

// noteOccupant adds an occupant's real JID to the members when it is new.
func (c *Client) noteOccupant(roomJID string, o muc.Occupant) {
	b := bareOf(o.RealJID)
	if b == "" || b == c.acct || !isMemberAff(o.Affiliation) {
		return
	}
	or := c.omRoom(roomJID)
	if !or.members[b] {
		or.members[b] = true
		if c.privateGroup(roomJID) && c.conn != nil && c.conn.online {
			c.withDeviceList(context.Background(), b, func([]uint32) {})
		}
	}
}

// refreshRoom learns the members of a private group and their devices,
// and builds the missing sessions, in the background; an OMEMOEvent of
// kind "devices" says when it is done.
func (c *Client) refreshRoom(roomJID string) {
	if c.conn == nil || !c.conn.online || c.om.ensuring[roomJID] {
		return
	}
	ctx := context.Background()
	or := c.omRoom(roomJID)
	fresh := !or.stale && !or.loadedAt.IsZero() && time.Since(or.loadedAt) < roomMembersMaxAge
	if fresh && !c.sessionsMissing(ctx, c.omemoJIDs(roomJID)) {
		return // nothing to learn: no event (the UI asks again on each)
	}
	c.om.ensuring[roomJID] = true
	c.loadRoomMembers(ctx, roomJID, func() {
		c.ensureSessions(ctx, c.omemoJIDs(roomJID), func() {
			delete(c.om.ensuring, roomJID)
			c.emit(OMEMOEvent{Account: c.acct, JID: roomJID, Kind: "devices"})
		})
	})
}

// prepareRoomOMEMO learns a private group's members and their sessions
// before a message to it is encrypted, then calls send.
func (c *Client) prepareRoomOMEMO(ctx context.Context, roomJID string, send func()) {
	if !c.privateGroup(roomJID) {
		send()
		return
	}
	setting, _ := c.st.ConversationEncryption(ctx, c.acct, roomJID)
	if setting == "plain" {
		send()
		return
	}
	c.loadRoomMembers(ctx, roomJID, func() {
		c.ensureSessions(ctx, c.omemoJIDs(roomJID), send)
	})
}

// wantRoomEncryption is wantEncryption for a room: on by default in a
// private group whose members all have OMEMO devices.
func (c *Client) wantRoomEncryption(roomJID, setting string) bool {
	switch setting {
	case "plain":
		return false
	case "omemo":
		return true // refused at send time if the room is not a private group
	}
	if !c.privateGroup(roomJID) {
		return false
	}
	or := c.om.rooms[roomJID]
	if or == nil || len(or.members) == 0 {
		return false
	}
	for j := range or.members {
		if !c.hasDevices(context.Background(), j) {
			return false
		}
	}
	return true
}

// errNotPrivate explains why a room cannot be encrypted.
func errNotPrivate(roomJID string) error {
	return fmt.Errorf("OMEMO works only in private groups (members-only and non-anonymous): %s is not one", roomJID)
}

// omemoRoomMessage decrypts the OMEMO messages among a room message's
// events and returns the other events.
func (c *Client) omemoRoomMessage(rm *room, raw []byte, evs []muc.Event) []muc.Event {
	if c.om == nil || !bytes.Contains(raw, []byte(omemo.NS)) {
		if c.om != nil && len(evs) == 0 && bytes.Contains(raw, []byte("affiliation")) {
			// An affiliation change of someone absent (XEP-0045 §9.3).
			c.omRoom(rm.r.JID()).stale = true
		}
		return evs
	}
	out := evs[:0]
	for _, ev := range evs {
		g, ok := ev.(muc.GroupMessage)
		if !ok {
			out = append(out, ev)
			continue
		}
		real := ""
		if o, ok := rm.r.Occupant(g.From); ok && g.Delay.IsZero() {
			real = o.RealJID // the room's word, not the message's
		} else if !g.Delay.IsZero() {
			real = mucItemJID(raw) // room history: the room's own item, the last one
		}
		c.storeGroupOMEMO(context.Background(), rm, g, raw, rm.feat.enc, bareOf(real), false)
	}
	return out
}

// omemoRoomArchived stores an OMEMO message from a room's archive. It
// reports false when the message is not OMEMO (stored as usual).
func (c *Client) omemoRoomArchived(q *mamQueryState, m *inMessage, msg store.Message) bool {
	if c.om == nil || !isOMEMO(m) {
		return false
	}
	rm := c.rooms[q.archive]
	if rm == nil {
		return false
	}
	raw := wrapMessage(m)
	g := muc.GroupMessage{ID: m.ID, From: msg.Sender, Body: msg.Body, OriginID: msg.OriginID,
		StanzaID: msg.StanzaID, Delay: msg.Timestamp, IsSelf: msg.Direction == store.Outgoing}
	real := bareOf(mucItemJID(raw)) // muc_mam adds the real JID in non-anonymous rooms
	if real == c.acct {
		g.IsSelf = true
	}
	if c.storeGroupOMEMO(context.Background(), rm, g, raw, m, real, true) {
		q.added++
	}
	return true
}

// storeGroupOMEMO decrypts and stores one OMEMO room message whose sender's
// real bare JID is real ("" if unknown); m, when known, is the stanza
// whose features are applied after decryption.
func (c *Client) storeGroupOMEMO(ctx context.Context, rm *room, g muc.GroupMessage, raw []byte, m *inMessage, real string, archived bool) bool {
	roomJID := rm.r.JID()
	now := time.Now().UTC()
	msg := store.Message{
		Account: c.acct, Peer: roomJID, Kind: store.KindGroupchat, Direction: store.Incoming,
		Sender: g.From, SenderFull: real, Type: "groupchat", OriginID: g.OriginID,
		Timestamp: now, Received: now, State: store.StateReceived, Encryption: "omemo",
	}
	if msg.OriginID == "" && g.ID != "" {
		msg.OriginID = "id:" + g.ID
	}
	if g.StanzaID != "" {
		msg.StanzaID, msg.StanzaBy = g.StanzaID, roomJID
	}
	if !g.Delay.IsZero() && !g.Delay.After(now) {
		msg.Timestamp, msg.ArchiveTime = g.Delay.UTC(), archived
	}
	self := g.IsSelf || real == c.acct
	if self {
		msg.Direction, msg.State = store.Outgoing, store.StateDelivered
		if old, err := c.st.MessageByOriginID(ctx, c.acct, roomJID, g.OriginID); err == nil && old.Direction == store.Outgoing {
			// Sent from this device: the stored copy has the text.
			if !archived {
				g.Body = old.Body
				c.storeGroupMessage(ctx, rm, g)
			} else if msg.StanzaID != "" {
				msg.Sender = old.Sender
				_, _ = c.st.AddMessage(ctx, &msg) // records the stanza-id
			}
			return false
		}
		real = c.acct
	}
	if !archived && rm.synced && msg.StanzaID != "" {
		defer func() {
			if err := c.st.SetArchiveSync(ctx, c.acct, roomJID, msg.StanzaID, msg.Timestamp); err != nil {
				c.log.Error("store: archive sync", "err", err)
			}
		}()
	}
	if real == "" {
		msg.Error = "could not decrypt: the room did not say who sent it"
		inserted, _ := c.st.AddMessage(ctx, &msg)
		if inserted {
			c.emit(MessageEvent{Account: c.acct, Message: msg})
		}
		return inserted
	}
	var apply func(context.Context, *store.Message) bool
	if m != nil {
		apply = func(ctx context.Context, msg *store.Message) bool {
			return c.roomEncryptedFeatures(ctx, rm, m, msg, real)
		}
	}
	_, inserted := c.decryptInto(ctx, raw, &msg, real, apply)
	return inserted
}

// roomEncryptedFeatures applies the features of a decrypted private group
// message: a correction with the decrypted text, a retraction, reactions;
// a reply is noted on msg. The author is the one whose device the message
// was decrypted from (real): stronger than the nick, and the same whether
// the message is live or from the archive. It returns true when the
// message is consumed.
func (c *Client) roomEncryptedFeatures(ctx context.Context, rm *room, m *inMessage, msg *store.Message, real string) bool {
	roomJID := rm.r.JID()
	author := func(orig store.Message) bool {
		if orig.Kind != store.KindGroupchat || orig.Peer != roomJID {
			return false
		}
		if orig.Direction == store.Outgoing {
			return real == c.acct
		}
		return orig.SenderFull != "" && bareOf(orig.SenderFull) == real
	}
	change := func(ref, what string, f func(store.Message) error) bool {
		orig, err := c.st.FindRef(ctx, c.acct, roomJID, ref)
		if err != nil || !author(orig) {
			c.log.Info("ignoring an encrypted room "+what+" of an unknown or foreign message", "room", roomJID, "from", real)
			return what != "correction" // a correction stays as a message: nothing is lost
		}
		if err := f(orig); err != nil {
			c.log.Error("store: "+what, "err", err)
			return true
		}
		c.emit(MessageUpdatedEvent{Account: c.acct, Peer: roomJID, ID: orig.ID, What: map[string]string{"correction": "corrected", "retraction": "retracted"}[what]})
		return true
	}
	switch {
	case m.Replace != nil && m.Replace.ID != "" && msg.Body != "":
		return change(m.Replace.ID, "correction", func(orig store.Message) error { return c.st.Correct(ctx, orig.ID, msg.Body) })
	case m.Retract != nil && m.Retract.ID != "":
		return change(m.Retract.ID, "retraction", func(orig store.Message) error {
			if orig.Retracted {
				return nil
			}
			return c.st.Retract(ctx, orig.ID)
		})
	case m.Reactions != nil && m.Reactions.ID != "":
		orig, err := c.st.FindRef(ctx, c.acct, roomJID, m.Reactions.ID)
		if err != nil {
			return true
		}
		if err := c.st.SetReactions(ctx, orig.ID, real, cleanReactions(m.Reactions.Reactions)); err != nil {
			c.log.Error("store: reactions", "err", err)
			return true
		}
		c.emit(MessageUpdatedEvent{Account: c.acct, Peer: roomJID, ID: orig.ID, What: "reactions"})
		return true
	}
	if m.Reply != nil && m.Reply.ID != "" {
		msg.ReplyTo = m.Reply.ID
		msg.Body = stripFallback(msg.Body, m.Fallbacks, nsReply)
	}
	return false
}

// mucItemJID returns the jid of the last <x xmlns=muc#user><item/> of a
// message, "" if none. The last: Prosody appends its own to the archived
// copy after whatever the sender put in, so an earlier one may be forged.
func mucItemJID(raw []byte) string {
	d := xml.NewDecoder(bytes.NewReader(raw))
	depth, inX := 0, 0
	found := ""
	for {
		tok, err := d.Token()
		if err != nil {
			return found
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			if depth == 2 && t.Name.Space == muc.NSMUCUser && t.Name.Local == "x" {
				inX = depth
			}
			if inX != 0 && depth == inX+1 && t.Name.Local == "item" {
				found = ""
				for _, a := range t.Attr {
					if a.Name.Local == "jid" && a.Name.Space == "" {
						found = a.Value
					}
				}
			}
		case xml.EndElement:
			if depth == inX {
				inX = 0
			}
			depth--
		}
	}
}

// roomEncryption fills st for a room.
func (c *Client) roomEncryption(ctx context.Context, roomJID, setting string, st *EncryptionState) error {
	st.Setting = setting
	st.Available = c.privateGroup(roomJID)
	if st.Available {
		c.refreshRoom(roomJID)
	}
	st.Enabled = c.wantRoomEncryption(roomJID, setting)
	if !st.Available {
		return nil
	}
	recips, err := c.om.m.Recipients(ctx, c.omemoJIDs(roomJID)...)
	if err != nil {
		return err
	}
	for _, a := range recips {
		if c.om.m.Trusted(ctx, a) {
			st.Devices++
		} else if a.JID != c.acct {
			if ts, err := c.om.m.TrustOf(ctx, a); err == nil && ts == omemo.Undecided {
				st.Untrusted++
			}
		}
	}
	return nil
}

// setRoomEncryption checks a room's encryption setting.
func (c *Client) setRoomEncryption(ctx context.Context, roomJID, setting string) error {
	if setting == "omemo" && !c.privateGroup(roomJID) {
		return errNotPrivate(roomJID)
	}
	return c.st.SetConversationEncryption(ctx, c.acct, roomJID, store.KindGroupchat, setting)
}

// RoomMembers returns the real JIDs a message to a private group is
// encrypted to (besides our own devices). Online, the room's member lists
// are read first unless they are fresh; offline, what is known.
func (c *Client) RoomMembers(ctx context.Context, roomJID string) ([]string, error) {
	var out []string
	err := c.do(ctx, func() error {
		if c.om == nil {
			return errors.New("OMEMO is off for this account")
		}
		if !c.isRoom(roomJID) {
			return fmt.Errorf("not in %s: /join it first", roomJID)
		}
		out = slices.DeleteFunc(c.omemoJIDs(roomJID), func(j string) bool { return j == c.acct })
		return nil
	})
	if err != nil {
		return nil, err
	}
	var fresh []string // written on the owner goroutine before done
	err = c.online(ctx, func(done func(error)) {
		if !c.privateGroup(roomJID) {
			done(errNotPrivate(roomJID))
			return
		}
		c.loadRoomMembers(context.WithoutCancel(ctx), roomJID, func() {
			fresh = slices.DeleteFunc(c.omemoJIDs(roomJID), func(j string) bool { return j == c.acct })
			done(nil)
		})
	})
	switch {
	case err == nil:
		return fresh, nil
	case errors.Is(err, ErrOffline):
		return out, nil
	}
	return nil, err
}
