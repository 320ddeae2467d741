package muc

import (
	"encoding/xml"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// State is where a Room is in its life cycle.
type State int

// Room states.
const (
	StateJoining State = iota // join presence sent, roster arriving
	StateJoined               // self-presence received
	StateLeft                 // left, removed, destroyed or join refused
)

func (s State) String() string {
	switch s {
	case StateJoining:
		return "joining"
	case StateJoined:
		return "joined"
	case StateLeft:
		return "left"
	}
	return "unknown"
}

// Flags are room properties learned from status codes.
type Flags struct {
	NonAnonymous  bool // 100 or 172: everyone sees real JIDs (cleared by 173/174)
	FullyAnon     bool // 174
	Logging       bool // 170 (cleared by 171)
	Created       bool // 201 on our self-presence
	NickRewritten bool // 210 on our self-presence
}

// Errors returned for stanzas a Room refuses. They mean the caller routed
// something that did not come from this room, or a forgery.
var (
	ErrForeign   = errors.New("muc: stanza is not from this room")
	ErrFromSelf  = errors.New("muc: stanza claims to come from our own account")
	ErrMalformed = errors.New("muc: malformed stanza")
)

// Room tracks one joined (or joining) room. It is not safe for concurrent
// use: the session goroutine owns it.
type Room struct {
	jid      string
	nick     string // our current (or requested) nick
	ownJID   string // our bare JID, for forgery checks and self detection
	state    State
	leaving  bool
	pending  string // nick change in flight
	flags    Flags
	subject  string
	subjBy   string
	occ      map[string]Occupant
	sentOIDs map[string]struct{}
}

// NewRoom returns a room in StateJoining for roomJID (bare) with our nick.
func NewRoom(roomJID, nick string) *Room {
	return &Room{
		jid:   bareJID(roomJID),
		nick:  nick,
		state: StateJoining,
		occ:   make(map[string]Occupant),
	}
}

// SetOwnJID records our own bare JID. Messages claiming to come from it are
// refused, and in non-anonymous rooms it identifies our own occupant.
func (r *Room) SetOwnJID(bare string) { r.ownJID = bareJID(bare) }

// JID returns the room's bare JID.
func (r *Room) JID() string { return r.jid }

// Nick returns our nick in the room (the requested one until joined).
func (r *Room) Nick() string { return r.nick }

// State returns the life-cycle state.
func (r *Room) State() State { return r.state }

// Flags returns what status codes told us about the room.
func (r *Room) Flags() Flags { return r.flags }

// Subject returns the current subject and the nick that set it.
func (r *Room) Subject() (text, by string) { return r.subject, r.subjBy }

// Len returns the number of occupants, us included once joined.
func (r *Room) Len() int { return len(r.occ) }

// Occupant returns the occupant with this nick.
func (r *Room) Occupant(nick string) (Occupant, bool) {
	o, ok := r.occ[nick]
	return o, ok
}

// Occupants returns the roster sorted by nick.
func (r *Room) Occupants() []Occupant {
	out := make([]Occupant, 0, len(r.occ))
	for _, o := range r.occ {
		out = append(out, o)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Nick < out[j].Nick })
	return out
}

// Join resets the room to StateJoining with nick (a rejoin after removal
// or a retry after a nick conflict) and returns the join presence.
func (r *Room) Join(nick string, opts JoinOptions) []byte {
	r.nick = nick
	r.state = StateJoining
	r.leaving = false
	r.pending = ""
	r.flags = Flags{}
	clear(r.occ)
	return JoinPresence(r.jid, nick, opts)
}

// Leave returns the presence that leaves the room; the room's answer
// (SelfRemoved with ReasonLeft) moves it to StateLeft.
func (r *Room) Leave(status string) []byte {
	r.leaving = true
	return LeavePresence(r.jid, r.nick, status)
}

// ChangeNick returns the presence asking for a new nick. The answer is a
// NickChanged (Self) or a NickConflict / PresenceError.
func (r *Room) ChangeNick(newNick string) []byte {
	r.pending = newNick
	return NickChangePresence(r.jid, newNick)
}

// TrackOriginID remembers the origin-id of a message we sent so that its
// reflection is marked IsSelf even after a nick change.
func (r *Room) TrackOriginID(id string) {
	if id == "" {
		return
	}
	if r.sentOIDs == nil {
		r.sentOIDs = make(map[string]struct{})
	}
	if len(r.sentOIDs) > 1000 { // reflections that never came back
		clear(r.sentOIDs)
	}
	r.sentOIDs[id] = struct{}{}
}

// checkFrom validates the sender and returns the occupant nick ("" for the
// room itself).
func (r *Room) checkFrom(from string) (string, error) {
	bare, nick := splitJID(from)
	if r.ownJID != "" && sameBare(bare, r.ownJID) {
		return "", ErrFromSelf
	}
	if !sameBare(bare, r.jid) {
		return "", fmt.Errorf("%w: from %q", ErrForeign, from)
	}
	return nick, nil
}

// HandlePresence processes a presence whose bare from is the room. In
// StateLeft every presence is ignored until Join starts a new join.
func (r *Room) HandlePresence(raw []byte) ([]Event, error) {
	pp, err := parsePresence(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	p := *pp
	nick, err := r.checkFrom(p.From)
	if err != nil {
		return nil, err
	}
	if p.Type == "error" {
		return r.presenceError(&p, nick), nil
	}
	if nick == "" || r.state == StateLeft {
		// Bare-JID presence carries no occupant; after leaving, stray
		// presences must not resurrect the roster.
		return nil, nil
	}
	codes := p.User.codes()
	item := p.User.item()
	self := hasCode(codes, 110)
	if !self && nick == r.nick {
		// Fallback for services that omit 110: our nick, unless the
		// item shows somebody else's real JID.
		self = item.JID == "" || r.ownJID == "" || sameBare(bareJID(item.JID), r.ownJID)
	}
	switch p.Type {
	case "unavailable":
		if self {
			return r.selfUnavailable(nick, codes, item, p.User), nil
		}
		return r.occupantUnavailable(nick, codes, item, p.User), nil
	case "":
		o := Occupant{
			Nick:        nick,
			Role:        Role(item.Role),
			Affiliation: Affiliation(item.Affiliation),
			RealJID:     item.JID,
			Show:        p.Show,
			Status:      p.Status,
		}
		if p.OccID != nil {
			o.OccupantID = p.OccID.ID
		}
		if self {
			return r.selfAvailable(o, codes), nil
		}
		return r.occupantAvailable(o), nil
	}
	return nil, nil // probe, subscribe...: not room traffic
}

func (r *Room) presenceError(p *wPresence, nick string) []Event {
	cond, text := errCondition(p.Error)
	if r.state == StateJoining {
		r.state = StateLeft
		if cond == "conflict" {
			return []Event{NickConflict{Nick: r.nick, Suggested: NextNick(r.nick), Joining: true}}
		}
		return []Event{JoinError{Condition: cond, Text: text, Message: joinErrorMessage(cond, text)}}
	}
	if r.state == StateJoined {
		asked := r.pending
		r.pending = ""
		if cond == "conflict" {
			if asked == "" {
				asked = nick
			}
			return []Event{NickConflict{Nick: asked, Suggested: NextNick(asked)}}
		}
		return []Event{PresenceError{Condition: cond, Text: text}}
	}
	return nil
}

// joinErrorMessage turns a join error condition into a sentence.
func joinErrorMessage(cond, text string) string {
	var s string
	switch cond {
	case "registration-required":
		s = "This room is members-only and you are not on its member list."
	case "forbidden":
		s = "You are banned from this room."
	case "not-authorized":
		s = "This room needs a password, and none or a wrong one was given."
	case "item-not-found":
		s = "This room does not exist (or is still being set up by its owner)."
	case "not-allowed":
		s = "This service does not let you create rooms."
	case "not-acceptable":
		s = "You must use your reserved nickname in this room."
	case "service-unavailable":
		s = "The room is full."
	case "jid-malformed":
		s = "The nickname is not valid."
	case "remote-server-not-found", "remote-server-timeout":
		s = "The room's server cannot be reached."
	default:
		s = "The room refused the join (" + cond + ")."
	}
	if text != "" {
		s += " The server says: " + text
	}
	return s
}

func removalReason(codes []int) RemovalReason {
	switch {
	case hasCode(codes, 333):
		return ReasonError // XEP-0045 §14.1: ignore 307 next to 333
	case hasCode(codes, 301):
		return ReasonBanned
	case hasCode(codes, 307):
		return ReasonKicked
	case hasCode(codes, 321):
		return ReasonAffiliationChanged
	case hasCode(codes, 322):
		return ReasonMembersOnly
	case hasCode(codes, 332):
		return ReasonShutdown
	}
	return ReasonLeft
}

func actorOf(it wItem) string {
	if it.Actor == nil {
		return ""
	}
	if it.Actor.Nick != "" {
		return it.Actor.Nick
	}
	return it.Actor.JID
}

func (r *Room) selfUnavailable(nick string, codes []int, item wItem, u *wMUCUser) []Event {
	if hasCode(codes, 303) && item.Nick != "" {
		old := nick
		r.nick = item.Nick
		r.pending = ""
		r.renameOccupant(old, item.Nick)
		return []Event{NickChanged{Old: old, New: item.Nick, Self: true}}
	}
	r.state = StateLeft
	r.leaving = false
	clear(r.occ)
	if u != nil && u.Destroy != nil {
		return []Event{RoomDestroyed{
			Reason:         strings.TrimSpace(u.Destroy.Reason),
			AlternateVenue: u.Destroy.JID,
			Password:       u.Destroy.Password,
		}}
	}
	reason := removalReason(codes)
	can := true
	switch reason {
	case ReasonBanned, ReasonAffiliationChanged, ReasonMembersOnly:
		can = false
	}
	return []Event{SelfRemoved{
		Reason:     reason,
		Actor:      actorOf(item),
		ReasonText: strings.TrimSpace(item.Reason),
		CanRejoin:  can,
	}}
}

func (r *Room) occupantUnavailable(nick string, codes []int, item wItem, u *wMUCUser) []Event {
	old, ok := r.occ[nick]
	if !ok {
		return nil // never saw them: nothing to remove, nothing to announce
	}
	if hasCode(codes, 303) && item.Nick != "" {
		r.renameOccupant(nick, item.Nick)
		return []Event{NickChanged{Old: nick, New: item.Nick}}
	}
	delete(r.occ, nick)
	ev := OccupantLeft{
		Occupant:   old,
		Reason:     removalReason(codes),
		Actor:      actorOf(item),
		ReasonText: strings.TrimSpace(item.Reason),
	}
	if u != nil && u.Destroy != nil {
		ev.ReasonText = strings.TrimSpace(u.Destroy.Reason)
	}
	return []Event{ev}
}

func (r *Room) renameOccupant(old, nick string) {
	o, ok := r.occ[old]
	if !ok {
		return
	}
	delete(r.occ, old)
	o.Nick = nick
	r.occ[nick] = o
}

func (r *Room) applyCodes(codes []int) {
	for _, c := range codes {
		switch c {
		case 100, 172:
			r.flags.NonAnonymous, r.flags.FullyAnon = true, false
		case 173:
			r.flags.NonAnonymous, r.flags.FullyAnon = false, false
		case 174:
			r.flags.NonAnonymous, r.flags.FullyAnon = false, true
		case 170:
			r.flags.Logging = true
		case 171:
			r.flags.Logging = false
		}
	}
}

func (r *Room) selfAvailable(o Occupant, codes []int) []Event {
	r.applyCodes(codes)
	old, had := r.occ[o.Nick]
	if r.state == StateJoined && o.Nick != r.nick && !had {
		// 210 (rewritten nick) or a nick change completed without the
		// unavailable half: drop our stale entry.
		delete(r.occ, r.nick)
	}
	r.nick = o.Nick
	r.occ[o.Nick] = o
	if r.state == StateJoining {
		r.state = StateJoined
		r.flags.Created = hasCode(codes, 201)
		r.flags.NickRewritten = hasCode(codes, 210)
		return []Event{Joined{Self: o, Created: r.flags.Created, NickRewritten: r.flags.NickRewritten}}
	}
	if had && old != o {
		return []Event{OccupantChanged{Old: old, New: o, Self: true}}
	}
	return nil
}

func (r *Room) occupantAvailable(o Occupant) []Event {
	old, had := r.occ[o.Nick]
	r.occ[o.Nick] = o
	if !had {
		return []Event{OccupantJoined{Occupant: o, Initial: r.state == StateJoining}}
	}
	if old != o {
		return []Event{OccupantChanged{Old: old, New: o}}
	}
	return nil
}

// HandleMessage processes a message whose bare from is the room.
func (r *Room) HandleMessage(raw []byte) ([]Event, error) {
	var m wMessage
	if err := xml.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	nick, err := r.checkFrom(m.From)
	if err != nil {
		return nil, err
	}
	if m.Type == "error" {
		cond, text := errCondition(m.Error)
		return []Event{MessageError{ID: m.ID, Condition: cond, Text: text}}, nil
	}
	if nick == "" && m.User != nil && m.Type != "groupchat" {
		if len(m.User.Invite) > 0 {
			return []Event{mediatedInvite(r.jid, &m)}, nil
		}
		if m.User.Decline != nil {
			return []Event{DeclinedInvite{From: m.User.Decline.From, Reason: strings.TrimSpace(m.User.Decline.Reason)}}, nil
		}
	}
	switch m.Type {
	case "groupchat":
		return r.groupchat(&m, nick), nil
	case "chat", "normal", "":
		if nick == "" || m.Body == nil {
			return nil, nil
		}
		pm := PrivateMessage{ID: m.ID, From: nick, Body: *m.Body, Type: m.Type}
		if pm.Type == "" {
			pm.Type = "normal"
		}
		if o, ok := r.occ[nick]; ok {
			pm.RealJID = o.RealJID
		}
		if m.Delay != nil {
			pm.Delay = parseStamp(m.Delay.Stamp)
		}
		return []Event{pm}, nil
	}
	return nil, nil
}

func (r *Room) groupchat(m *wMessage, nick string) []Event {
	var delay = m.Delay
	if m.Subject != nil && m.Body == nil {
		r.subject, r.subjBy = *m.Subject, nick
		s := Subject{Text: *m.Subject, By: nick}
		if delay != nil {
			s.Delay = parseStamp(delay.Stamp)
		}
		return []Event{s}
	}
	if nick == "" {
		var evs []Event
		if codes := m.User.codes(); len(codes) > 0 {
			r.applyCodes(codes)
			evs = append(evs, ConfigChanged{Codes: codes})
		}
		if m.Body != nil {
			evs = append(evs, RoomNotice{Body: *m.Body, Codes: m.User.codes()})
		}
		return evs
	}
	if m.Body == nil {
		return nil // chat states, receipts, markers: not for this layer
	}
	g := GroupMessage{ID: m.ID, From: nick, Body: *m.Body}
	if m.OriginID != nil {
		g.OriginID = m.OriginID.ID
	}
	if m.OccID != nil {
		g.OccupantID = m.OccID.ID
	}
	for _, s := range m.StanzaIDs {
		if sameBare(s.By, r.jid) {
			g.StanzaID = s.ID
		}
	}
	if delay != nil {
		g.Delay = parseStamp(delay.Stamp)
	}
	if it := m.User.item(); it.JID != "" {
		g.RealJID = it.JID // MAM / history in non-anonymous rooms
	} else if o, ok := r.occ[nick]; ok && g.Delay.IsZero() {
		g.RealJID = o.RealJID
	}
	switch {
	case g.OriginID != "" && r.takeOriginID(g.OriginID):
		g.IsSelf = true
	case nick == r.nick && r.state == StateJoined:
		g.IsSelf = true
	case g.RealJID != "" && r.ownJID != "" && sameBare(bareJID(g.RealJID), r.ownJID):
		g.IsSelf = true
	}
	return []Event{g}
}

func (r *Room) takeOriginID(id string) bool {
	if _, ok := r.sentOIDs[id]; ok {
		delete(r.sentOIDs, id)
		return true
	}
	return false
}

func mediatedInvite(room string, m *wMessage) Invite {
	in := m.User.Invite[0]
	inv := Invite{Room: bareJID(m.From), From: in.From, Reason: strings.TrimSpace(in.Reason)}
	if inv.Room == "" {
		inv.Room = room
	}
	if m.User.Password != nil {
		inv.Password = *m.User.Password
	}
	return inv
}

// ParseInvite recognises an invitation in a message from anyone: a mediated
// invite (from the room, muc#user invite) or a direct one (XEP-0249). The
// session calls it for messages from rooms we have not joined. ok is false
// when the message is no invitation.
func ParseInvite(raw []byte) (inv Invite, ok bool, err error) {
	var m wMessage
	if err := xml.Unmarshal(raw, &m); err != nil {
		return Invite{}, false, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if m.Type == "error" || m.Type == "groupchat" {
		return Invite{}, false, nil
	}
	if m.User != nil && len(m.User.Invite) > 0 {
		if _, res := splitJID(m.From); res != "" {
			return Invite{}, false, nil // mediated invites come from the room's bare JID
		}
		return mediatedInvite("", &m), true, nil
	}
	if c := m.Conference; c != nil && c.JID != "" {
		return Invite{Room: bareJID(c.JID), From: m.From, Reason: c.Reason, Password: c.Password, Direct: true}, true, nil
	}
	return Invite{}, false, nil
}
