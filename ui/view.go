package ui

import (
	"fmt"
	"strconv"
	"strings"

	tea "charm.land/bubbletea/v2"

	"xchat/internal/sanitize"
	"xchat/store"
)

// Layout and drawing of the whole screen.

// View draws the whole screen.
func (m *Model) View() tea.View {
	v := tea.NewView(m.render())
	v.AltScreen = true
	v.WindowTitle = m.windowTitle()
	v.ReportFocus = true
	if !m.noMouse {
		v.MouseMode = tea.MouseModeCellMotion
	}
	if m.switcher.open && m.height > 1 {
		v.Cursor = tea.NewCursor(m.switcherCursor, 1)
		if rw := m.sidebarWidth(); rw > 0 {
			v.Cursor.X += rw + 1
		}
	} else if m.focus == focusInput && !m.help.open && !m.omemoFullScreen() && !m.search.open && !m.sel.active {
		if c := m.input.Cursor(); c != nil && m.height > 0 {
			c.Y += m.mainHeight() + 1
			v.Cursor = c
		}
	}
	return v
}

func (m *Model) windowTitle() string {
	n := 0
	for _, a := range m.accts {
		for _, u := range a.unread {
			n += u
		}
	}
	if n == 0 {
		return "xchat"
	}
	return "xchat (" + strconv.Itoa(n) + ")"
}

// render draws the screen as text: roster | conversation, status, input.
func (m *Model) render() string {
	if m.width <= 0 || m.height <= 0 {
		return ""
	}
	if s, ok := m.omemoScreen(); ok {
		return s
	}
	mainH := m.mainHeight()
	rw := m.sidebarWidth()
	cw := m.width // what the overlays and the title get
	if rw > 0 {
		cw -= rw + 1
	}

	var left []string
	if rw > 0 {
		row := m.roster.Render(rosterView{focused: m.focus == focusRoster, openAcct: m.chatAcct(), openPeer: m.chat.peer})
		left = row
	}
	var body []string
	switch {
	case mainH <= 1:
	case m.search.open:
		body = m.search.Render(&m.st, cw, mainH-1)
	case m.switcher.open:
		body, m.switcherCursor = m.switcher.Render(&m.st, len(m.accts) > 1, m.accts, cw, mainH-1)
	case m.omemo.pane.open:
		body = m.omemo.pane.Render(&m.st, m.dark, cw, mainH-1)
	case m.help.open:
		body = m.help.Render(m, cw, mainH-1)
	case m.form.open:
		body = m.form.Render(&m.st, cw, mainH-1)
	case m.media.view != "":
		body = m.mediaView(cw, mainH-1)
	case m.chat.open:
		body = m.uploadBar(m.chat.Render(m.now().In(m.loc)), m.chat.width)
		if ow := m.occupantColumn(); ow > 0 {
			occ := m.occ.Render(&m.st, m.openRoom(), ow, len(body))
			osep := m.sepCache.get("│", 1, m.st.separator)
			for y := range body {
				body[y] = body[y] + osep + occ[y]
			}
		}
	default:
		body = m.welcome(cw, mainH-1)
	}

	var b strings.Builder
	b.Grow((m.width + 16) * (m.height + 2) * 2)
	sep := m.sepCache.get("│", 1, m.st.separator)
	for y := 0; y < mainH; y++ {
		if rw > 0 {
			b.WriteString(left[y])
			b.WriteString(sep)
		}
		if y == 0 {
			b.WriteString(m.titleLine(cw))
		} else if y-1 < len(body) {
			b.WriteString(body[y-1])
		}
		b.WriteByte('\n')
	}
	var cur *accountState
	if i := m.currentAccount(); i >= 0 {
		cur = m.accts[i]
	}
	b.WriteString(m.status.Render(m.width, cur, m.loc, m.windowBar()))
	b.WriteByte('\n')
	b.WriteString(m.input.Render())
	return b.String()
}

func (m *Model) chatAcct() int {
	if m.chat.open {
		return m.chat.acct
	}
	return -1
}

// titleLine is the header of the conversation: who, their presence, and
// which account when there are several.
func (m *Model) titleLine(w int) string {
	if m.switcher.open {
		return m.titleCache.get(" xchat: go to a conversation", w, m.st.title)
	}
	if m.search.open {
		return m.titleCache.get(" xchat: search", w, m.st.title)
	}
	if m.omemo.pane.open {
		return m.titleCache.get(" xchat: "+m.omemo.pane.title, w, m.st.title)
	}
	if m.help.open {
		return m.titleCache.get(" xchat help", w, m.st.title)
	}
	if m.form.open {
		return m.titleCache.get(" room configuration: "+m.form.title, w, m.st.title)
	}
	if !m.chat.open {
		return m.titleCache.get(" xchat", w, m.st.title)
	}
	a := m.accts[m.chat.acct]
	if isRoomKind(m.chat.kind) {
		return m.titleCache.get(m.roomTitle(a), w, m.st.title)
	}
	label := a.labelOf(m.chat.peer)
	jid := sanitize.Line(m.chat.peer)
	t := " " + label
	if label != jid {
		t += " <" + jid + ">"
	}
	if enc := m.encryptionLabel(); enc != "" {
		t += " · " + enc
	}
	if p, ok := a.best(m.chat.peer); ok {
		t += " · " + showName(p.show)
		if p.status != "" {
			t += ": " + p.status
		}
	} else if _, inRoster := a.contacts[m.chat.peer]; inRoster {
		t += " · offline"
	}
	if len(m.accts) > 1 {
		t += " — via " + a.label
	}
	if m.chat.detached {
		more := "newer messages below"
		if m.chat.newBelow > 0 {
			more = fmt.Sprintf("%d new below", m.chat.newBelow)
		}
		t += " [" + more + ": PgDn]"
	}
	return m.titleCache.get(t, w, m.st.title)
}

// welcome is what the pane shows when no conversation is open.
func (m *Model) welcome(w, h int) []string {
	text := []string{
		"",
		" No conversation is open.",
		"",
		" Tab moves to the roster: ↑/↓ to choose, Enter to open.",
		" Or type /msg JID to start a conversation.",
		" Ctrl+K finds a contact or a conversation.",
		" F1 or /help lists every key and command.",
	}
	out := make([]string, h)
	for i := range out {
		s := ""
		if i < len(text) {
			s = m.st.emptyMessage.Render(text[i])
		}
		out[i] = fit(s, w)
	}
	return out
}

// rosterWidth is the width of the roster column for a terminal width; the
// roster hides on very narrow terminals.
func rosterWidth(w int) int {
	if w < 48 {
		return 0
	}
	return max(16, min(32, w/4))
}

// sidebarWidth is the width of the roster now: 0 when the user hid it.
func (m *Model) sidebarWidth() int {
	if m.sidebarHidden {
		return 0
	}
	return rosterWidth(m.width)
}

// layout sizes the parts for the current terminal size.
func (m *Model) layout() {
	m.input.SetWidth(m.width)
	rw := m.sidebarWidth()
	cw := m.width
	if rw > 0 {
		cw -= rw + 1
	}
	mainH := m.mainHeight()
	m.roster.SetSize(rw, mainH)
	if m.chat.open && isRoomKind(m.chat.kind) {
		if ow := m.occupantColumn(); ow > 0 {
			cw -= ow + 1
		}
	}
	m.chat.SetSize(cw, max(0, mainH-1))
}

// openRoom is the room shown in the pane, nil if the pane shows none.
func (m *Model) openRoom() *roomState {
	if !m.chat.open || m.chat.kind != store.KindGroupchat {
		return nil
	}
	return m.accts[m.chat.acct].rooms[m.chat.peer]
}

// occupantColumn is the width of the occupant list beside the open room,
// 0 when it is hidden (F4, /names, a narrow terminal, no room open).
func (m *Model) occupantColumn() int {
	if m.occHidden || m.chat.kind != store.KindGroupchat || !m.chat.open {
		return 0
	}
	cw := m.width
	if rw := m.sidebarWidth(); rw > 0 {
		cw -= rw + 1
	}
	return occupantWidth(cw)
}

// roomTitle is the header of a room (name, JID, occupants, subject) or of
// a private conversation through one.
func (m *Model) roomTitle(a *accountState) string {
	peer := m.chat.peer
	t := " " + a.roomLabel(peer)
	if r, ok := a.rooms[peer]; ok {
		if jid := sanitize.Line(peer); r.name != "" && r.name != jid {
			t += " <" + jid + ">"
		}
		if enc := m.encryptionLabel(); enc != "" {
			t += " · " + enc // private groups only (OMEMO)
		}
		if s := occupantSummary(r); s != "" {
			t += " · " + s
		}
		if r.subject != "" {
			t += " · " + r.subject
		}
	}
	if len(m.accts) > 1 {
		t += " — via " + a.label
	}
	if m.chat.detached {
		t += " [newer messages below: PgDn]"
	}
	return t
}

func (m *Model) mainHeight() int {
	return max(0, m.height-m.input.Height()-1)
}
