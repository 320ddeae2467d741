package ui

import (
	"slices"
	"strings"
	"time"

	"xchat/internal/sanitize"
	"xchat/muc"
	"xchat/session"
	"xchat/store"
)

// presenceInfo is the last presence of one resource of a contact.
type presenceInfo struct {
	show     session.Show
	status   string // sanitized
	priority int
}

// accountState is everything the UI knows about one account. It is changed
// only from Update; raw JIDs are kept for calls, sanitized labels for drawing.
type accountState struct {
	client Account
	jid    string // bare JID, raw
	label  string // sanitized

	state session.ConnState
	err   string    // sanitized reason of the last failure; "" when fine
	retry time.Time // next attempt while Reconnecting

	contacts map[string]store.Contact
	labels   map[string]string // JID → sanitized name (or JID)
	order    []string          // contact JIDs sorted by label
	presence map[string]map[string]presenceInfo
	unread   map[string]int
	convs    map[string]store.Conversation // conversations the store knows, by peer
	requests []string                      // pending subscription requests, oldest first
	loaded   bool                          // contacts and conversations came back from the store

	nick      string                // our default nick in rooms ("" lets the session choose)
	rooms     map[string]*roomState // by room JID
	mentions  map[string]int        // unread messages naming our nick, by room
	invites   []muc.Invite          // pending invitations, oldest first
	bookmarks []muc.Bookmark
	live      bool // a RosterEvent came: the store's copy is older

	sync syncProgress // archive catch-ups running (older.go)
}

func newAccountState(a Account) *accountState {
	jid := a.Account()
	return &accountState{
		client:   a,
		jid:      jid,
		label:    sanitize.Line(jid),
		contacts: map[string]store.Contact{},
		labels:   map[string]string{},
		presence: map[string]map[string]presenceInfo{},
		unread:   map[string]int{},
		convs:    map[string]store.Conversation{},
		rooms:    map[string]*roomState{},
		mentions: map[string]int{},
	}
}

// setContacts replaces the roster.
func (a *accountState) setContacts(cs []store.Contact) {
	clear(a.contacts)
	clear(a.labels)
	a.order = a.order[:0]
	for _, c := range cs {
		if c.JID == "" {
			continue
		}
		if _, dup := a.contacts[c.JID]; !dup {
			a.order = append(a.order, c.JID)
		}
		a.contacts[c.JID] = c
		name := strings.TrimSpace(sanitize.Line(c.Name))
		if name == "" {
			name = sanitize.Line(c.JID)
		}
		a.labels[c.JID] = name
	}
	slices.SortStableFunc(a.order, func(x, y string) int {
		if c := strings.Compare(strings.ToLower(a.labels[x]), strings.ToLower(a.labels[y])); c != 0 {
			return c
		}
		return strings.Compare(x, y)
	})
}

// labelOf is the sanitized display name of a peer.
func (a *accountState) labelOf(jid string) string {
	if l, ok := a.labels[jid]; ok {
		return l
	}
	return sanitize.Line(jid)
}

// setPresence records the presence of one resource.
func (a *accountState) setPresence(ev session.PresenceEvent) {
	res := a.presence[ev.JID]
	if ev.Show == session.ShowUnavailable {
		delete(res, ev.Resource)
		if len(res) == 0 {
			delete(a.presence, ev.JID)
		}
		return
	}
	if res == nil {
		res = map[string]presenceInfo{}
		a.presence[ev.JID] = res
	}
	res[ev.Resource] = presenceInfo{show: ev.Show, status: sanitize.Line(ev.Status), priority: ev.Priority}
}

// availability ranks shows for picking the resource to display.
func availability(s session.Show) int {
	switch s {
	case session.ShowChat:
		return 5
	case session.ShowOnline:
		return 4
	case session.ShowAway:
		return 3
	case session.ShowDND:
		return 2
	case session.ShowXA:
		return 1
	}
	return 0
}

// best returns the presence to show for a contact: the resource with the
// highest priority, the most available one on a tie.
func (a *accountState) best(jid string) (presenceInfo, bool) {
	var (
		out presenceInfo
		ok  bool
	)
	for _, p := range a.presence[jid] {
		if !ok || p.priority > out.priority ||
			(p.priority == out.priority && availability(p.show) > availability(out.show)) ||
			(p.priority == out.priority && p.show == out.show && p.status < out.status) {
			out, ok = p, true
		}
	}
	return out, ok
}

// addRequest records a subscription request; it reports false for a repeat.
func (a *accountState) addRequest(from string) bool {
	if slices.Contains(a.requests, from) {
		return false
	}
	a.requests = append(a.requests, from)
	return true
}

func (a *accountState) removeRequest(jid string) {
	a.requests = slices.DeleteFunc(a.requests, func(s string) bool { return s == jid })
}

// strangers returns the peers of open conversations that are not in the
// roster, newest activity first.
func (a *accountState) strangers() []string {
	var out []string
	for peer, c := range a.convs {
		if _, ok := a.contacts[peer]; ok || c.Kind != store.KindChat {
			continue
		}
		if c.Closed && a.unread[peer] == 0 {
			continue
		}
		out = append(out, peer)
	}
	slices.SortFunc(out, func(x, y string) int {
		if c := a.convs[y].LastTime.Compare(a.convs[x].LastTime); c != 0 {
			return c
		}
		return strings.Compare(x, y)
	})
	return out
}

// worthShowing reports whether a contact stays listed when offline
// contacts are hidden: it is online, has unread messages or an open
// conversation.
func (a *accountState) worthShowing(jid string) bool {
	if _, online := a.presence[jid]; online || a.unread[jid] > 0 {
		return true
	}
	c, ok := a.convs[jid]
	return ok && !c.Closed
}
