package ui

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"xchat/internal/sanitize"
	"xchat/muc"
	"xchat/session"
	"xchat/store"
)

// Group chats: what the UI knows of each room, and how room events become
// lines in the room's pane.

// maxRoomEvents bounds the event lines a room keeps for when its pane is
// opened again.
const maxRoomEvents = 100

// presenceBurst and presenceWindow rate-limit join and leave lines: at
// most presenceBurst of them per presenceWindow and room; the rest are
// counted and summed up in one line.
const (
	presenceBurst  = 5
	presenceWindow = 10 * time.Second
)

// roomState is a room of one account, from its last snapshot
// (session.RoomStateEvent) and its events.
type roomState struct {
	jid       string
	state     muc.State
	known     bool   // a snapshot came
	nick      string // our nick, raw
	subject   string // sanitized
	name      string // sanitized room name ("" when the room has none)
	occupants []muc.Occupant
	byNick    map[string]int // nick → index in occupants
	info      muc.RoomInfo

	rows      []occRow // the occupant list grouped by role; nil when stale
	events    []chatItem
	burstFrom time.Time // start of the current presence window
	burst     int       // presence lines in the window
	muted     int       // presence lines dropped in the window
}

// label is the room's name for the sidebar and titles.
func (r *roomState) label() string {
	if r.name != "" {
		return r.name
	}
	return sanitize.Line(r.jid)
}

// occupant returns the occupant with nick.
func (r *roomState) occupant(nick string) (muc.Occupant, bool) {
	if i, ok := r.byNick[nick]; ok {
		return r.occupants[i], true
	}
	return muc.Occupant{}, false
}

// setSnapshot installs a room snapshot: the authoritative occupant list.
func (r *roomState) setSnapshot(ev session.RoomStateEvent) {
	r.known = true
	r.state, r.nick, r.info = ev.State, ev.Nick, ev.Info
	r.subject = sanitize.Line(ev.Subject)
	r.name = strings.TrimSpace(sanitize.Line(ev.Info.Name))
	r.occupants = ev.Occupants
	if r.byNick == nil {
		r.byNick = make(map[string]int, len(ev.Occupants))
	} else {
		clear(r.byNick)
	}
	for i, o := range ev.Occupants {
		r.byNick[o.Nick] = i
	}
	r.rows = nil
}

// room returns the state of a room, creating it.
func (a *accountState) room(jid string) *roomState {
	r := a.rooms[jid]
	if r == nil {
		r = &roomState{jid: jid, nick: a.nick}
		a.rooms[jid] = r
	}
	return r
}

// roomLabel is the sidebar and title name of a room or of a private
// conversation through a room ("nick in room").
func (a *accountState) roomLabel(peer string) string {
	if r, ok := a.rooms[peer]; ok {
		return r.label()
	}
	if room, nick, ok := strings.Cut(peer, "/"); ok {
		return sanitize.Line(nick) + " in " + sanitize.Line(room)
	}
	for _, b := range a.bookmarks {
		if b.JID == peer && strings.TrimSpace(b.Name) != "" {
			return sanitize.Line(b.Name)
		}
	}
	return sanitize.Line(peer)
}

// roomPeers lists the rooms and private conversations to show in the
// sidebar: rooms we are in or bookmarked, and open group conversations,
// sorted by label.
func (a *accountState) roomPeers() []string {
	seen := map[string]bool{}
	var out []string
	add := func(p string) {
		if p != "" && !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	for jid, r := range a.rooms {
		if r.state != muc.StateLeft || !r.known {
			add(jid)
		}
	}
	for _, b := range a.bookmarks {
		add(b.JID)
	}
	for peer, c := range a.convs {
		if c.Kind != store.KindChat && (!c.Closed || a.unread[peer] > 0) {
			add(peer)
		}
	}
	slices.SortFunc(out, func(x, y string) int {
		if c := strings.Compare(strings.ToLower(a.roomLabel(x)), strings.ToLower(a.roomLabel(y))); c != 0 {
			return c
		}
		return strings.Compare(x, y)
	})
	return out
}

// mentions reports whether body names nick as a word (case-insensitively).
func mentions(body, nick string) bool {
	if nick == "" {
		return false
	}
	lb, ln := strings.ToLower(body), strings.ToLower(nick)
	for off := 0; ; {
		i := strings.Index(lb[off:], ln)
		if i < 0 {
			return false
		}
		start, end := off+i, off+i+len(ln)
		if (start == 0 || !isWordByte(lb[start-1])) && (end == len(lb) || !isWordByte(lb[end])) {
			return true
		}
		off = start + 1
	}
}

func isWordByte(b byte) bool {
	return b == '_' || b == '-' || b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 0x80
}

// onRoomState installs a snapshot and redraws what shows the room.
func (m *Model) onRoomState(ev session.RoomStateEvent) {
	a := m.account(ev.Account)
	if a == nil {
		return
	}
	r := a.room(ev.Room)
	r.setSnapshot(ev)
	if i := m.byAcct[ev.Account]; ev.State != muc.StateLeft {
		if c, ok := a.convs[ev.Room]; !ok || c.Closed {
			c.Account, c.Peer, c.Kind, c.Closed = a.jid, ev.Room, store.KindGroupchat, false
			a.convs[ev.Room] = c
		}
		m.wins.add(i, ev.Room, store.KindGroupchat)
	}
	m.occ.clampTop(r)
	m.roster.Invalidate()
}

// onRoomEvent turns a room event into a line of the room's pane.
func (m *Model) onRoomEvent(ev session.RoomEvent) {
	i, ok := m.byAcct[ev.Account]
	if !ok {
		return
	}
	a := m.accts[i]
	r := a.room(ev.Room)
	if s, ok := ev.Event.(muc.Subject); ok {
		r.subject = sanitize.Line(s.Text)
	}
	text, presence := roomEventText(ev.Event)
	if text == "" {
		return
	}
	now := m.now()
	if presence {
		if now.Sub(r.burstFrom) >= presenceWindow {
			if r.muted > 0 {
				m.roomLine(i, r, fmt.Sprintf("… and %d more joins and leaves", r.muted), now)
			}
			r.burstFrom, r.burst, r.muted = now, 0, 0
		}
		if r.burst >= presenceBurst {
			r.muted++
			return
		}
		r.burst++
	}
	m.roomLine(i, r, text, now)
	switch ev.Event.(type) {
	case muc.SelfRemoved, muc.RoomDestroyed, muc.JoinError:
		m.status.Error(r.label() + ": " + text)
	case muc.Joined:
		m.status.Info(r.label() + ": " + text)
	}
}

// roomLine adds an event line to a room, and to the pane if it shows it.
func (m *Model) roomLine(i int, r *roomState, text string, now time.Time) {
	m.nextTemp--
	it := chatItem{
		msg:    store.Message{ID: m.nextTemp, Peer: r.jid, Kind: store.KindGroupchat, Timestamp: now.UTC()},
		body:   text,
		notice: true,
	}
	it.local = now.In(m.loc)
	it.day = dayKey(it.local)
	it.hhmm = it.local.Format("15:04")
	r.events = append(r.events, it)
	if n := len(r.events) - maxRoomEvents; n > 0 {
		r.events = append(r.events[:0:0], r.events[n:]...)
	}
	if m.chat.IsOpen(i, r.jid) {
		m.chat.Append(it)
	}
}

// roomEventText is the sentence for a room event (sanitized), "" for
// events not worth a line; presence is true for joins and leaves, which
// are rate-limited.
func roomEventText(ev muc.Event) (text string, presence bool) {
	by := func(actor string) string {
		if actor = sanitize.Line(actor); actor != "" {
			return " by " + actor
		}
		return ""
	}
	because := func(reason string) string {
		if reason = sanitize.Line(reason); reason != "" {
			return ": " + reason
		}
		return ""
	}
	switch e := ev.(type) {
	case muc.Joined:
		text = "you joined as " + sanitize.Line(e.Self.Nick)
		if e.Created {
			text += " (a new room)"
		}
		if e.NickRewritten {
			text += " (the room changed your nick)"
		}
	case muc.OccupantJoined:
		if e.Initial {
			return "", false
		}
		return sanitize.Line(e.Occupant.Nick) + " joined", true
	case muc.OccupantLeft:
		nick := sanitize.Line(e.Occupant.Nick)
		switch e.Reason {
		case muc.ReasonLeft:
			return nick + " left" + because(e.ReasonText), true
		case muc.ReasonKicked:
			text = nick + " was kicked" + by(e.Actor) + because(e.ReasonText)
		case muc.ReasonBanned:
			text = nick + " was banned" + by(e.Actor) + because(e.ReasonText)
		default:
			text = nick + " was removed (" + e.Reason.String() + ")" + because(e.ReasonText)
		}
	case muc.OccupantChanged:
		nick := sanitize.Line(e.New.Nick)
		if e.Self {
			nick = "you"
		}
		switch {
		case e.Old.Role != e.New.Role && e.New.Role != muc.RoleNone:
			text = nick + " now " + verbFor(e.Self) + " " + roleNoun(e.New.Role)
		case e.Old.Affiliation != e.New.Affiliation:
			text = nick + " now " + verbFor(e.Self) + " " + affNoun(e.New.Affiliation)
		}
	case muc.NickChanged:
		if e.Self {
			text = "you are now known as " + sanitize.Line(e.New)
		} else {
			text = sanitize.Line(e.Old) + " is now known as " + sanitize.Line(e.New)
		}
	case muc.SelfRemoved:
		switch e.Reason {
		case muc.ReasonLeft:
			text = "you left the room"
		case muc.ReasonKicked:
			text = "you were kicked" + by(e.Actor) + because(e.ReasonText)
		case muc.ReasonBanned:
			text = "you were banned" + by(e.Actor) + because(e.ReasonText)
		default:
			text = "you were removed (" + e.Reason.String() + ")" + by(e.Actor) + because(e.ReasonText)
		}
		if e.CanRejoin && e.Reason != muc.ReasonLeft {
			text += " — /join to rejoin"
		}
	case muc.RoomDestroyed:
		text = "the room was destroyed" + because(e.Reason)
		if alt := sanitize.Line(e.AlternateVenue); alt != "" {
			text += " — it moved to " + alt + " (/join " + alt + ")"
		}
	case muc.NickConflict:
		text = "the nick " + sanitize.Line(e.Nick) + " is taken"
		if e.Joining {
			text += "; joining as " + sanitize.Line(e.Suggested)
		} else {
			text += "; /nick another one"
		}
	case muc.JoinError:
		msg := sanitize.Line(e.Message)
		if msg == "" {
			msg = sanitize.Line(e.Condition)
		}
		text = "could not join: " + msg
	case muc.PresenceError:
		text = "the room refused: " + sanitize.Line(e.Condition) + because(e.Text)
	case muc.Subject:
		switch {
		case e.By != "" && e.Text == "":
			text = sanitize.Line(e.By) + " cleared the topic"
		case e.By != "":
			text = sanitize.Line(e.By) + " set the topic: " + sanitize.Line(e.Text)
		case e.Text != "":
			text = "topic: " + sanitize.Line(e.Text)
		}
	case muc.RoomNotice:
		text = sanitize.Line(e.Body)
	case muc.MessageError:
		text = "the room refused a message: " + sanitize.Line(e.Condition) + because(e.Text)
	case muc.DeclinedInvite:
		text = sanitize.Line(e.From) + " declined the invitation" + because(e.Reason)
	case muc.ConfigChanged:
		text = "the room's configuration changed"
		for _, c := range e.Codes {
			switch c {
			case 170:
				text += "; the room is now logged"
			case 171:
				text += "; the room is no longer logged"
			case 172:
				text += "; everyone now sees real JIDs"
			case 173:
				text += "; only moderators now see real JIDs"
			case 174:
				text += "; the room is now fully anonymous"
			}
		}
	}
	return text, false
}

func verbFor(self bool) string {
	if self {
		return "are"
	}
	return "is"
}

func roleNoun(r muc.Role) string {
	switch r {
	case muc.RoleModerator:
		return "a moderator"
	case muc.RoleParticipant:
		return "a participant"
	case muc.RoleVisitor:
		return "a visitor (no voice)"
	}
	return string(r)
}

func affNoun(a muc.Affiliation) string {
	switch a {
	case muc.AffOwner:
		return "an owner"
	case muc.AffAdmin:
		return "an admin"
	case muc.AffMember:
		return "a member"
	case muc.AffOutcast:
		return "banned"
	}
	return "not affiliated"
}

// onInvite records an invitation and says how to answer it.
func (m *Model) onInvite(ev session.InviteEvent) {
	a := m.account(ev.Account)
	if a == nil || ev.Invite.Room == "" {
		return
	}
	a.invites = slices.DeleteFunc(a.invites, func(in muc.Invite) bool { return in.Room == ev.Invite.Room })
	a.invites = append(a.invites, ev.Invite)
	m.roster.Invalidate()
	text := sanitize.Line(ev.Invite.From) + " invites you to " + sanitize.Line(ev.Invite.Room)
	if r := sanitize.Line(ev.Invite.Reason); r != "" {
		text += " (" + r + ")"
	}
	m.status.Info(text + ": /accept or /decline")
}

// onSync shows the progress of the archive catch-up.
func (m *Model) onSync(ev session.SyncEvent) {
	a := m.account(ev.Account)
	if a == nil {
		return
	}
	a.sync.update(ev) // the running count is in the status line (older.go)
	what := a.roomLabel(ev.Archive)
	switch {
	case ev.Err != nil:
		m.status.Error("catching up with " + what + ": " + sanitize.Line(ev.Err.Error()))
	case ev.Done && ev.New > 0:
		m.status.Info(fmt.Sprintf("caught up with %s: %d new of %d", what, ev.New, ev.Fetched))
	}
}

// mergeEvents puts a room's event lines (kept in memory, not stored)
// among a page of its messages, by time.
func mergeEvents(page []chatItem, events []chatItem) []chatItem {
	if len(events) == 0 {
		return page
	}
	var oldest time.Time
	if len(page) > 0 {
		oldest = page[0].local
	}
	out := make([]chatItem, 0, len(page)+len(events))
	k := 0
	for _, ev := range events {
		if ev.local.Before(oldest) {
			continue
		}
		for k < len(page) && !page[k].local.After(ev.local) {
			out = append(out, page[k])
			k++
		}
		out = append(out, ev)
	}
	return append(out, page[k:]...)
}

// roomSender names a groupchat message's sender and what its colour is
// derived from: the real JID when the room shows it, else the nick.
func roomSender(r *roomState, msg store.Message) (name, key string) {
	name, key = sanitize.Line(msg.Sender), msg.Sender
	if msg.SenderFull != "" {
		if b, err := parseJID(msg.SenderFull); err == nil {
			key = b
		}
	} else if r != nil {
		if o, ok := r.occupant(msg.Sender); ok && o.RealJID != "" {
			if b, err := parseJID(o.RealJID); err == nil {
				key = b
			}
		}
	}
	return name, key
}

// isRoomKind reports whether a conversation kind goes through a room.
func isRoomKind(k store.ConvKind) bool { return k == store.KindGroupchat || k == store.KindPrivate }
