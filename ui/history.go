package ui

import tea "charm.land/bubbletea/v2"

// histMax bounds the lines remembered per conversation.
const histMax = 100

// inputHistory is the lines sent in one conversation, for Up and Down in
// the input, like a shell's history: Up walks back from what is being
// typed, Down walks forward and ends on it again.
type inputHistory struct {
	lines    []string // oldest first
	pos      int      // index of the line shown while browsing
	saved    string   // what was typed when browsing started
	browsing bool
}

// push records a sent line; a repeat of the last one is not recorded twice.
func (h *inputHistory) push(s string) {
	h.reset()
	if n := len(h.lines); n > 0 && h.lines[n-1] == s {
		return
	}
	if len(h.lines) >= histMax {
		h.lines = append(h.lines[:0:0], h.lines[len(h.lines)-histMax+1:]...)
	}
	h.lines = append(h.lines, s)
}

// prev returns the line before the one shown; cur is the input's text, kept
// to come back to. It reports false when there is nothing older.
func (h *inputHistory) prev(cur string) (string, bool) {
	if !h.browsing {
		if len(h.lines) == 0 {
			return "", false
		}
		h.browsing, h.saved, h.pos = true, cur, len(h.lines)
	}
	if h.pos == 0 {
		return "", false
	}
	h.pos--
	return h.lines[h.pos], true
}

// next returns the line after the one shown, or the text typed before
// browsing when past the newest. It reports false when not browsing.
func (h *inputHistory) next() (string, bool) {
	if !h.browsing {
		return "", false
	}
	h.pos++
	if h.pos >= len(h.lines) {
		s := h.saved
		h.reset()
		return s, true
	}
	return h.lines[h.pos], true
}

// reset stops browsing.
func (h *inputHistory) reset() {
	h.browsing, h.saved, h.pos = false, "", 0
}

// history is the input history of the current window.
func (m *Model) history() *inputHistory {
	if i := m.currentWindow(); i >= 0 {
		return &m.wins.wins[i].hist
	}
	return &m.noWinHist
}

// historyUp shows the previous line sent when the cursor is on the first
// line of the input; elsewhere Up moves the cursor.
func (m *Model) historyUp(k tea.KeyPressMsg) tea.Cmd {
	if m.input.ta.Line() > 0 {
		return m.editInput(k)
	}
	if s, ok := m.history().prev(m.input.Value()); ok {
		m.setInputText(s)
	}
	return nil
}

// historyDown shows the next line sent when the cursor is on the last
// line of the input; elsewhere Down moves the cursor.
func (m *Model) historyDown(k tea.KeyPressMsg) tea.Cmd {
	if m.input.ta.Line() < m.input.ta.LineCount()-1 {
		return m.editInput(k)
	}
	if s, ok := m.history().next(); ok {
		m.setInputText(s)
	}
	return nil
}

// setInputText replaces the input's text, relaying out if its height
// changed.
func (m *Model) setInputText(s string) {
	h := m.input.Height()
	m.input.SetValue(s)
	if m.input.Height() != h {
		m.layout()
	}
}
