package ui

import (
	"context"
	"slices"
	"strings"

	tea "charm.land/bubbletea/v2"

	"xchat/internal/sanitize"
	"xchat/store"
)

// Search: /search TEXT looks for TEXT in the messages of every account
// (Store.Search) and lists the hits, newest first, in place of the
// conversation, each with its conversation, time and the words around the
// match. Enter opens the conversation at the hit: the page before it and
// the page after it are loaded (Store.Before and Store.After) and the hit
// is selected, as in selection mode.

// searchLimit bounds the hits per account.
const searchLimit = 200

// searchHit is one result, formatted once.
type searchHit struct {
	acct int
	msg  store.Message
	line string // sanitized: "date time  who  sender: …context…"
}

// searchPane is the list of results.
type searchPane struct {
	open  bool
	query string // sanitized, for the title
	hits  []searchHit
	sel   int
}

// searchDoneMsg carries the hits of every account.
type searchDoneMsg struct {
	query string
	hits  [][]store.Message // per account
	err   error
}

// Move moves the selection by delta.
func (s *searchPane) Move(delta int) {
	s.sel = max(0, min(s.sel+delta, len(s.hits)-1))
}

// Render returns exactly h rows of exactly w cells.
func (s *searchPane) Render(st *styles, w, h int) []string {
	out := make([]string, 0, h)
	head := " " + plural(len(s.hits), "message") + " with “" + s.query + "”"
	if len(s.hits) >= searchLimit {
		head += " (the newest " + plural(searchLimit, "hit") + " per account)"
	}
	out = append(out, fit(st.acctName.Render(head), w))
	if h > 1 {
		out = append(out, fit(st.emptyMessage.Render(" ↑/↓ choose · Enter go to the message · Esc close"), w))
	}
	first := max(0, s.sel-(h-3))
	for k := first; k < len(s.hits) && len(out) < h; k++ {
		line := fit(" "+s.hits[k].line, w)
		if k == s.sel {
			line = st.selected.Render(line)
		}
		out = append(out, line)
	}
	for len(out) < h {
		out = append(out, spaces(w))
	}
	return out
}

// cmdSearch runs /search TEXT.
func (m *Model) cmdSearch(args string) tea.Cmd {
	if m.noAccount() {
		return nil
	}
	if args == "" {
		m.status.Error("usage: /search TEXT")
		return nil
	}
	m.status.Info("searching…")
	base, st := m.ctx, m.store
	accts := make([]string, len(m.accts))
	for i, a := range m.accts {
		accts[i] = a.jid
	}
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(base, opTimeout)
		defer cancel()
		out := searchDoneMsg{query: args, hits: make([][]store.Message, len(accts))}
		if st == nil {
			return out
		}
		for i, a := range accts {
			if out.hits[i], out.err = st.Search(ctx, a, "", args, searchLimit); out.err != nil {
				return out
			}
		}
		return out
	}
}

// onSearchDone shows the results.
func (m *Model) onSearchDone(msg searchDoneMsg) {
	if msg.err != nil {
		m.status.Error("searching: " + sanitize.Line(msg.err.Error()))
		return
	}
	var hits []searchHit
	for i, msgs := range msg.hits {
		if i >= len(m.accts) {
			break
		}
		for _, sm := range msgs {
			hits = append(hits, searchHit{acct: i, msg: sm, line: m.hitLine(i, sm, msg.query)})
		}
	}
	slices.SortStableFunc(hits, func(a, b searchHit) int { return b.msg.Timestamp.Compare(a.msg.Timestamp) })
	m.search = searchPane{open: true, query: sanitize.Line(msg.query), hits: hits}
	m.help.open = false
	m.status.Info(plural(len(hits), "message") + " found")
}

// hitContext is how many characters of context a hit shows on each side.
const hitContext = 40

// hitLine formats one hit: when, where, who, and the words around the
// match on one line.
func (m *Model) hitLine(i int, msg store.Message, query string) string {
	a := m.accts[i]
	var b strings.Builder
	b.WriteString(msg.Timestamp.In(m.loc).Format("2006-01-02 15:04"))
	b.WriteString("  ")
	b.WriteString(a.labelOf(msg.Peer))
	if len(m.accts) > 1 {
		b.WriteString(" (" + a.label + ")")
	}
	b.WriteString("  ")
	if msg.Direction == store.Outgoing {
		b.WriteString("me")
	} else if msg.Kind == store.KindChat {
		b.WriteString(a.labelOf(msg.Peer))
	} else {
		b.WriteString(sanitize.Line(msg.Sender))
	}
	b.WriteString(": ")
	b.WriteString(snippet(sanitize.Line(msg.Body), sanitize.Line(query), hitContext))
	return b.String()
}

// snippet returns the part of body around the first match of query
// (ignoring case), with up to n runes each side.
func snippet(body, query string, n int) string {
	rb := []rune(body)
	lb, lq := []rune(strings.ToLower(body)), []rune(strings.ToLower(query))
	at := -1
	if len(lb) == len(rb) {
		for k := 0; k+len(lq) <= len(lb); k++ {
			if string(lb[k:k+len(lq)]) == string(lq) {
				at = k
				break
			}
		}
	}
	if at < 0 {
		at = 0
	}
	from, to := max(0, at-n), min(len(rb), at+len(lq)+n)
	s := string(rb[from:to])
	if from > 0 {
		s = "…" + s
	}
	if to < len(rb) {
		s += "…"
	}
	return s
}

// searchOpen goes to the selected hit.
func (m *Model) searchOpen() tea.Cmd {
	s := &m.search
	if s.sel < 0 || s.sel >= len(s.hits) {
		s.open = false
		return nil
	}
	hit := s.hits[s.sel]
	s.open = false
	return m.openAround(hit.acct, hit.msg)
}

// openAround opens the conversation of msg with msg in view and selected.
func (m *Model) openAround(i int, msg store.Message) tea.Cmd {
	m.help.open = false
	m.saveDraft()
	if m.sel.active {
		m.leaveSelection()
	}
	w := m.wins.add(i, msg.Peer, msg.Kind)
	m.input.SetValue(w.draft)
	m.layout()
	gen := m.chat.Reset(i, msg.Peer, msg.Kind)
	m.chat.ownJID = m.accts[i].jid
	m.compose, m.react, m.typing = composeMode{}, nil, nil
	m.typingOut, m.displayed = typingOut{}, 0
	m.accts[i].unread[msg.Peer] = 0
	m.roster.Invalidate()
	m.roster.Select(i, msg.Peer)
	base, st, acct := m.ctx, m.store, m.accts[i].jid
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(base, opTimeout)
		defer cancel()
		out := convLoadedMsg{gen: gen, acct: i, peer: msg.Peer, around: &msg}
		if st == nil {
			return out
		}
		if out.conv, out.err = st.OpenConversation(ctx, acct, msg.Peer, msg.Kind); out.err != nil {
			return out
		}
		half := pageSize / 2
		before, err := st.Before(ctx, acct, msg.Peer, msg.ID, half)
		if err != nil {
			out.err = err
			return out
		}
		after, err := st.After(ctx, acct, msg.Peer, msg.ID, half)
		if err != nil {
			out.err = err
			return out
		}
		out.olderMore, out.newerMore = len(before) >= half, len(after) >= half
		out.msgs = append(append(before, msg), after...)
		out.err = st.MarkRead(ctx, acct, msg.Peer)
		return out
	}
}

// SetAround installs messages loaded around one (a search hit): the pane
// is detached from the live end when newer messages exist beyond them.
func (p *chatPane) SetAround(page []chatItem, olderMore, newerMore bool) {
	p.items = page
	p.loading, p.scroll = false, 0
	p.hasOlder, p.detached, p.newBelow = olderMore, newerMore, 0
}
