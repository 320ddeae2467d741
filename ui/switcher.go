package ui

import (
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	tea "charm.land/bubbletea/v2"

	"xchat/internal/sanitize"
	"xchat/store"
)

// switchItem is one destination of the quick switcher.
type switchItem struct {
	acct   int
	jid    string // raw
	label  string // sanitized display name
	match  string // what the query is matched against: label and JID
	window int    // 1-based window number, 0 if no window is open
	unread int
	kind   store.ConvKind
}

// switcher is the Ctrl+K overlay: a query line over a list of contacts and
// open conversations of every account, best fuzzy matches first. The list
// is built when it opens, so typing only filters.
type switcher struct {
	open    bool
	query   []rune
	items   []switchItem
	matches []int // indices into items, best first
	sel     int
}

// maxSwitchRows bounds the matches drawn.
const maxSwitchRows = 50

// Open builds the destinations and shows the overlay.
func (s *switcher) Open(items []switchItem) {
	s.open, s.query, s.items, s.sel = true, s.query[:0], items, 0
	s.filter()
}

// Close hides the overlay and forgets the destinations.
func (s *switcher) Close() {
	s.open, s.items, s.matches = false, nil, nil
}

// filter recomputes the matches for the query.
func (s *switcher) filter() {
	type scored struct{ i, score int }
	var hits []scored
	for i, it := range s.items {
		if sc, ok := fuzzyScore(s.query, it.match); ok {
			hits = append(hits, scored{i, sc})
		}
	}
	slices.SortStableFunc(hits, func(a, b scored) int {
		if a.score != b.score {
			return b.score - a.score
		}
		// Open windows, then unread, before the rest.
		x, y := s.items[a.i], s.items[b.i]
		if (x.window > 0) != (y.window > 0) {
			if x.window > 0 {
				return -1
			}
			return 1
		}
		return y.unread - x.unread
	})
	s.matches = s.matches[:0]
	for _, h := range hits {
		s.matches = append(s.matches, h.i)
	}
	s.sel = 0
}

// Type adds text to the query.
func (s *switcher) Type(text string) {
	for _, r := range sanitize.Line(text) {
		s.query = append(s.query, lowerRunes(string(r))...)
	}
	s.filter()
}

// Backspace deletes the last rune of the query.
func (s *switcher) Backspace() {
	if len(s.query) > 0 {
		s.query = s.query[:len(s.query)-1]
		s.filter()
	}
}

// ClearQuery empties the query.
func (s *switcher) ClearQuery() {
	s.query = s.query[:0]
	s.filter()
}

// Move moves the selection by delta, within the matches.
func (s *switcher) Move(delta int) {
	s.sel = max(0, min(s.sel+delta, len(s.matches)-1))
}

// Selected returns the chosen destination.
func (s *switcher) Selected() (switchItem, bool) {
	if s.sel < 0 || s.sel >= len(s.matches) {
		return switchItem{}, false
	}
	return s.items[s.matches[s.sel]], true
}

// Render returns exactly h rows of exactly w cells, and the cell where the
// cursor goes on the first row.
func (s *switcher) Render(st *styles, multi bool, accts []*accountState, w, h int) ([]string, int) {
	out := make([]string, 0, h)
	prompt := " Go to: "
	q := string(s.query)
	out = append(out, fit(st.acctName.Render(prompt)+q, w))
	cursor := lenCells(prompt) + lenCells(q)
	if h > 1 {
		hint := " ↑/↓ choose · Enter open · Esc cancel"
		if len(s.matches) == 0 {
			hint = " nothing matches · Esc cancel"
		}
		out = append(out, fit(st.emptyMessage.Render(hint), w))
	}
	first := max(0, s.sel-(h-3))
	for k := first; k < len(s.matches) && k < first+maxSwitchRows && len(out) < h; k++ {
		it := s.items[s.matches[k]]
		var b strings.Builder
		b.WriteString("  ")
		if it.window > 0 {
			b.WriteString(strconv.Itoa(it.window))
			b.WriteString(": ")
		}
		b.WriteString(it.label)
		if jid := sanitize.Line(it.jid); jid != it.label {
			b.WriteString(" <" + jid + ">")
		}
		if multi {
			b.WriteString(" — " + accts[it.acct].label)
		}
		if it.unread > 0 {
			b.WriteString(" (" + strconv.Itoa(it.unread) + ")")
		}
		line := fit(b.String(), w)
		if k == s.sel {
			line = st.selected.Render(line)
		}
		out = append(out, line)
	}
	for len(out) < h {
		out = append(out, spaces(w))
	}
	return out, min(cursor, w-1)
}

// switchItems lists the destinations: every contact and every open
// conversation of every account, once each.
func (m *Model) switchItems() []switchItem {
	var items []switchItem
	seen := map[[2]string]bool{}
	add := func(i int, jid string, kind store.ConvKind) {
		a := m.accts[i]
		k := [2]string{a.jid, jid}
		if seen[k] {
			return
		}
		seen[k] = true
		label := a.labelOf(jid)
		if isRoomKind(kind) {
			label = a.roomLabel(jid)
		}
		win := 0
		if w := m.wins.find(i, jid); w >= 0 {
			win = w + 1
		}
		items = append(items, switchItem{acct: i, jid: jid, label: label, match: label + " " + sanitize.Line(jid),
			window: win, unread: a.unread[jid], kind: kind})
	}
	for _, w := range m.wins.wins {
		add(w.acct, w.peer, w.kind)
	}
	for i, a := range m.accts {
		for _, jid := range a.order {
			add(i, jid, store.KindChat)
		}
		for _, jid := range a.roomPeers() {
			kind := store.KindGroupchat
			if strings.Contains(jid, "/") {
				kind = store.KindPrivate
			}
			add(i, jid, kind)
		}
	}
	return items
}

// openSwitcher shows the quick switcher (Ctrl+K). In the input, Ctrl+K
// first deletes what follows the cursor, as in readline; at the end of
// the text it opens the switcher.
func (m *Model) openSwitcher() tea.Cmd {
	if m.focus == focusInput && m.input.HasTextAfterCursor() {
		return m.editInput(tea.KeyPressMsg{Code: 'k', Mod: tea.ModCtrl})
	}
	m.help.open = false
	m.switcher.Open(m.switchItems())
	return nil
}

// switcherOpen opens the selected destination of the switcher.
func (m *Model) switcherOpen() tea.Cmd {
	it, ok := m.switcher.Selected()
	m.switcher.Close()
	if !ok {
		return nil
	}
	m.setFocus(focusInput)
	return m.openConversation(it.acct, it.jid, it.kind, "")
}

// switcherKey handles a key of the switcher that no binding took: text
// goes to the query.
func (m *Model) switcherKey(k tea.KeyPressMsg) tea.Cmd {
	if k.Text != "" && utf8.ValidString(k.Text) {
		m.switcher.Type(k.Text)
	}
	return nil
}
