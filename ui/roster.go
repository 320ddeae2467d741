package ui

import (
	"slices"
	"strconv"
	"strings"

	"github.com/charmbracelet/x/ansi"

	"xchat/internal/sanitize"
	"xchat/muc"
	"xchat/session"
)

// rowKind is the kind of a line in the roster list.
type rowKind uint8

const (
	rowAccount rowKind = iota // account header: not selectable
	rowRequest                // pending subscription request
	rowContact                // roster contact or a stranger with a conversation
	rowGroup                  // roster group heading: not selectable
	rowRoom                   // a room, or a private conversation through one
	rowInvite                 // a pending room invitation
)

// defaultGroup holds the contacts in no roster group; otherGroup the peers
// of conversations who are not in the roster; requestGroup the pending
// subscription requests.
const (
	defaultGroup = "Contacts"
	otherGroup   = "Not in roster"
	requestGroup = "Requests"
	roomGroup    = "Group chats"
	inviteGroup  = "Invitations"
)

// selectable reports whether the cursor may rest on a row.
func (k rowKind) selectable() bool {
	return k == rowContact || k == rowRequest || k == rowRoom || k == rowInvite
}

// rosterRow is one line of the roster list.
type rosterRow struct {
	kind rowKind
	acct int    // index into the accounts
	jid  string // raw JID; "" for headings
	name string // group name (sanitized) for rowGroup
}

// rosterView is what the roster needs to know from the model to draw.
type rosterView struct {
	focused  bool
	openAcct int // -1 when no conversation is open
	openPeer string
}

// roster is the left-hand list: per account a header, the pending
// subscription requests and the contacts. It keeps its rows and the lines it
// drew until something changes, so that a keystroke elsewhere costs nothing.
type roster struct {
	st    *styles
	accts []*accountState

	rows        []rosterRow
	stale       bool // rows must be rebuilt from accts
	hideOffline bool // list only contacts online, with unread messages or an open conversation
	sel         int  // index of the selected row
	top         int  // first visible row
	width       int
	height      int

	lines    []string   // drawn rows, valid while drawn == the view they were drawn for
	drawn    rosterView // view the lines were drawn for
	hasLines bool
}

func newRoster(st *styles, accts []*accountState) roster {
	return roster{st: st, accts: accts, stale: true}
}

// SetSize sets the size of the list in cells.
func (r *roster) SetSize(w, h int) {
	if w != r.width || h != r.height {
		r.width, r.height = w, h
		r.hasLines = false
		r.scrollToSelection()
	}
}

// Invalidate tells the roster that account data changed.
func (r *roster) Invalidate() {
	r.stale = true
	r.hasLines = false
}

// rebuild recomputes the rows, keeping the selection on the same item.
func (r *roster) rebuild() {
	if !r.stale {
		return
	}
	var prev rosterRow
	hadSel := r.sel >= 0 && r.sel < len(r.rows)
	if hadSel {
		prev = r.rows[r.sel]
	}
	r.rows = r.rows[:0]
	for i, a := range r.accts {
		r.rows = append(r.rows, rosterRow{kind: rowAccount, acct: i})
		groups := map[string][]string{}
		for _, jid := range a.order {
			if r.hideOffline && !a.worthShowing(jid) {
				continue
			}
			gs := a.contacts[jid].Groups
			if len(gs) == 0 {
				gs = []string{defaultGroup}
			}
			for _, g := range gs {
				g = sanitize.Line(g)
				if g == "" {
					g = defaultGroup
				}
				if l := groups[g]; len(l) == 0 || l[len(l)-1] != jid {
					groups[g] = append(l, jid)
				}
			}
		}
		names := make([]string, 0, len(groups))
		for g := range groups {
			names = append(names, g)
		}
		slices.SortFunc(names, func(x, y string) int {
			if c := strings.Compare(strings.ToLower(x), strings.ToLower(y)); c != 0 {
				return c
			}
			return strings.Compare(x, y)
		})
		for _, g := range names {
			r.rows = append(r.rows, rosterRow{kind: rowGroup, acct: i, name: g})
			for _, jid := range groups[g] {
				r.rows = append(r.rows, rosterRow{kind: rowContact, acct: i, jid: jid})
			}
		}
		if others := a.strangers(); len(others) > 0 {
			r.rows = append(r.rows, rosterRow{kind: rowGroup, acct: i, name: otherGroup})
			for _, jid := range others {
				r.rows = append(r.rows, rosterRow{kind: rowContact, acct: i, jid: jid})
			}
		}
		if rooms := a.roomPeers(); len(rooms) > 0 {
			r.rows = append(r.rows, rosterRow{kind: rowGroup, acct: i, name: roomGroup})
			for _, jid := range rooms {
				r.rows = append(r.rows, rosterRow{kind: rowRoom, acct: i, jid: jid})
			}
		}
		if len(a.invites) > 0 {
			r.rows = append(r.rows, rosterRow{kind: rowGroup, acct: i, name: inviteGroup})
			for _, in := range a.invites {
				r.rows = append(r.rows, rosterRow{kind: rowInvite, acct: i, jid: in.Room})
			}
		}
		if len(a.requests) > 0 {
			r.rows = append(r.rows, rosterRow{kind: rowGroup, acct: i, name: requestGroup})
			for _, from := range a.requests {
				r.rows = append(r.rows, rosterRow{kind: rowRequest, acct: i, jid: from})
			}
		}
	}
	r.stale = false
	r.hasLines = false
	if hadSel {
		if i := r.find(prev.kind, prev.acct, prev.jid); i >= 0 {
			r.sel = i
		}
	}
	r.sel = min(r.sel, len(r.rows)-1)
	if r.sel < 0 || !r.rows[r.sel].kind.selectable() {
		r.sel = r.nextSelectable(max(r.sel, 0), 1)
	}
	r.scrollToSelection()
}

func (r *roster) find(kind rowKind, acct int, jid string) int {
	for i, row := range r.rows {
		if row.kind == kind && row.acct == acct && row.jid == jid {
			return i
		}
	}
	return -1
}

// nextSelectable returns the first selectable row from i in direction dir,
// or the current selection if there is none.
func (r *roster) nextSelectable(i, dir int) int {
	for ; i >= 0 && i < len(r.rows); i += dir {
		if r.rows[i].kind.selectable() {
			return i
		}
	}
	if r.sel >= 0 && r.sel < len(r.rows) && r.rows[r.sel].kind.selectable() {
		return r.sel
	}
	return -1
}

// Move moves the selection by delta selectable rows.
func (r *roster) Move(delta int) {
	r.rebuild()
	dir := 1
	if delta < 0 {
		dir, delta = -1, -delta
	}
	for ; delta > 0; delta-- {
		next := r.nextSelectable(r.sel+dir, dir)
		if next < 0 || next == r.sel {
			break
		}
		r.sel = next
	}
	r.hasLines = false
	r.scrollToSelection()
}

// MoveTo selects the first (dir > 0) or last (dir < 0) selectable row.
func (r *roster) MoveTo(dir int) {
	r.rebuild()
	start := 0
	if dir < 0 {
		start = len(r.rows) - 1
	}
	if i := r.nextSelectable(start, dir); i >= 0 {
		r.sel = i
	}
	r.hasLines = false
	r.scrollToSelection()
}

// Select puts the selection on a contact row, if there is one.
func (r *roster) Select(acct int, jid string) {
	r.rebuild()
	i := r.find(rowContact, acct, jid)
	if i < 0 {
		i = r.find(rowRoom, acct, jid)
	}
	if i >= 0 {
		r.sel = i
		r.hasLines = false
		r.scrollToSelection()
	}
}

// Selected returns the selected row.
func (r *roster) Selected() (rosterRow, bool) {
	r.rebuild()
	if r.sel < 0 || r.sel >= len(r.rows) {
		return rosterRow{}, false
	}
	return r.rows[r.sel], true
}

func (r *roster) scrollToSelection() {
	if r.height <= 0 {
		return
	}
	if r.sel < r.top {
		r.top = r.sel
		// Keep the headings above the first contact in view.
		for r.top > 0 && !r.rows[r.top-1].kind.selectable() {
			r.top--
		}
	}
	if r.sel >= r.top+r.height {
		r.top = r.sel - r.height + 1
	}
	r.top = max(0, min(r.top, len(r.rows)-r.height))
}

// Render returns exactly height lines of exactly width cells.
func (r *roster) Render(v rosterView) []string {
	r.rebuild()
	if r.hasLines && r.drawn == v && len(r.lines) == r.height {
		return r.lines
	}
	r.lines = r.lines[:0]
	for i := r.top; i < r.top+r.height; i++ {
		if i >= len(r.rows) {
			r.lines = append(r.lines, spaces(r.width))
			continue
		}
		r.lines = append(r.lines, r.renderRow(r.rows[i], v, v.focused && i == r.sel))
	}
	r.drawn, r.hasLines = v, true
	return r.lines
}

// renderRow draws one row. A selected row is drawn unstyled inside the
// selection style, because inner resets would cut the reverse video short.
func (r *roster) renderRow(row rosterRow, v rosterView, selected bool) string {
	st := r.st
	w := r.width
	a := r.accts[row.acct]
	style := func(s interface{ Render(...string) string }, text string) string {
		if selected {
			return text
		}
		return s.Render(text)
	}
	var line string
	switch row.kind {
	case rowAccount:
		word := a.state.String()
		if a.state == session.Offline && a.err != "" {
			word = "error"
		}
		name := truncate(a.label, w-len(word)-2)
		gap := max(1, w-len(word)-1-lenCells(name))
		line = style(st.acctName, name) + spaces(gap) + style(st.acctState[a.state], word)
	case rowGroup:
		line = " " + style(st.group, truncate(row.name, w-1))
	case rowRequest:
		line = " " + style(st.request, "?") + " " + truncate(a.labelOf(row.jid), w-3)
	case rowInvite:
		line = " " + style(st.request, "+") + " " + truncate(a.roomLabel(row.jid), w-3)
	case rowRoom:
		line = r.roomRow(row, v, a, style)
	case rowContact:
		open := row.acct == v.openAcct && row.jid == v.openPeer
		mark := " "
		if open {
			mark = "›"
		}
		p, online := a.best(row.jid)
		glyph := presenceGlyph(p.show, online)
		if online {
			glyph = style(st.presence[p.show], glyph)
		} else {
			glyph = style(st.offline, glyph)
		}
		var count string
		if n := a.unread[row.jid]; n > 0 {
			count = strconv.Itoa(n)
		}
		name := truncate(a.labelOf(row.jid), w-3-len(count)-1)
		nameStyle := st.contact
		if open {
			nameStyle = st.openContact
		}
		line = mark + glyph + " " + style(nameStyle, name)
		if count != "" {
			gap := max(1, w-3-lenCells(name)-len(count))
			line += spaces(gap) + style(st.unread, count)
		}
	}
	line = fit(line, w)
	if selected {
		return st.selected.Render(line)
	}
	return line
}

// lenCells is the width of text in cells; printable ASCII needs no parsing.
func lenCells(s string) int {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] >= 0x7f {
			return ansi.StringWidth(s)
		}
	}
	return len(s)
}

// SetHideOffline lists only the contacts worth showing (see
// accountState.worthShowing), or every contact.
func (r *roster) SetHideOffline(hide bool) {
	r.hideOffline = hide
	r.Invalidate()
}

// RowAt returns the row drawn on line y of the list.
func (r *roster) RowAt(y int) (int, bool) {
	r.rebuild()
	i := r.top + y
	if y < 0 || y >= r.height || i >= len(r.rows) {
		return 0, false
	}
	return i, true
}

// SelectRow puts the selection on row i if it is selectable.
func (r *roster) SelectRow(i int) bool {
	r.rebuild()
	if i < 0 || i >= len(r.rows) || !r.rows[i].kind.selectable() {
		return false
	}
	r.sel = i
	r.hasLines = false
	r.scrollToSelection()
	return true
}

// roomRow draws a room (or a private conversation through one): "#" for
// a joined room, "-" for one we are not in, "@" for a private
// conversation, then the unread and mention ("@N") counts.
func (r *roster) roomRow(row rosterRow, v rosterView, a *accountState, style func(interface{ Render(...string) string }, string) string) string {
	st := r.st
	w := r.width
	open := row.acct == v.openAcct && row.jid == v.openPeer
	mark := " "
	if open {
		mark = "›"
	}
	glyph := style(st.offline, "-")
	if rm, ok := a.rooms[row.jid]; ok && rm.known && rm.state != muc.StateLeft {
		glyph = style(st.presence[session.ShowOnline], "#")
	} else if strings.Contains(row.jid, "/") {
		glyph = style(st.presence[session.ShowOnline], "@")
	}
	var count string
	if n := a.unread[row.jid]; n > 0 {
		count = strconv.Itoa(n)
	}
	if n := a.mentions[row.jid]; n > 0 {
		if count != "" {
			count += " "
		}
		count += "@" + strconv.Itoa(n)
	}
	name := truncate(a.roomLabel(row.jid), w-3-len(count)-1)
	nameStyle := st.contact
	if open {
		nameStyle = st.openContact
	}
	line := mark + glyph + " " + style(nameStyle, name)
	if count != "" {
		gap := max(1, w-3-lenCells(name)-len(count))
		line += spaces(gap) + style(st.unread, count)
	}
	return line
}
