package ui

import (
	"context"
	"slices"
	"strconv"
	"strings"

	tea "charm.land/bubbletea/v2"

	"xchat/store"
)

// window is an open conversation in the window list. The list holds the
// conversations the store has open (not closed) and those opened since;
// windows are numbered from 1, grouped by account, in the order they
// opened. Only the current window has its messages loaded (in the chat
// pane); the others keep what the input needs: the draft being typed and
// the lines sent, for Up/Down.
type window struct {
	acct  int
	peer  string
	kind  store.ConvKind
	seq   uint64 // opening order within the account
	draft string
	hist  inputHistory
}

// windowList is the ordered list of windows.
type windowList struct {
	wins []*window
	seq  uint64
}

// find returns the index of the window of acct with peer, -1 if none.
func (wl *windowList) find(acct int, peer string) int {
	for i, w := range wl.wins {
		if w.acct == acct && w.peer == peer {
			return i
		}
	}
	return -1
}

// get returns the window of acct with peer, nil if none.
func (wl *windowList) get(acct int, peer string) *window {
	if i := wl.find(acct, peer); i >= 0 {
		return wl.wins[i]
	}
	return nil
}

// add returns the window of acct with peer, creating it at the end of the
// account's windows.
func (wl *windowList) add(acct int, peer string, kind store.ConvKind) *window {
	if w := wl.get(acct, peer); w != nil {
		return w
	}
	wl.seq++
	w := &window{acct: acct, peer: peer, kind: kind, seq: wl.seq}
	i, _ := slices.BinarySearchFunc(wl.wins, w, func(a, b *window) int {
		if a.acct != b.acct {
			return a.acct - b.acct
		}
		return int(a.seq) - int(b.seq)
	})
	wl.wins = slices.Insert(wl.wins, i, w)
	return w
}

// remove drops the window at index i.
func (wl *windowList) remove(i int) {
	wl.wins = slices.Delete(wl.wins, i, i+1)
}

// currentWindow is the index of the window shown in the pane, -1 if none.
func (m *Model) currentWindow() int {
	if !m.chat.open {
		return -1
	}
	return m.wins.find(m.chat.acct, m.chat.peer)
}

// switchWindow shows window i (0-based); out of range does nothing.
func (m *Model) switchWindow(i int) tea.Cmd {
	if i < 0 || i >= len(m.wins.wins) {
		return nil
	}
	w := m.wins.wins[i]
	return m.openConversation(w.acct, w.peer, w.kind, "")
}

// cycleWindow moves dir windows from the current one, wrapping around.
func (m *Model) cycleWindow(dir int) tea.Cmd {
	n := len(m.wins.wins)
	if n == 0 {
		m.status.Info("no window is open: /msg JID opens one")
		return nil
	}
	cur := m.currentWindow()
	if cur < 0 {
		if dir > 0 {
			return m.switchWindow(0)
		}
		return m.switchWindow(n - 1)
	}
	return m.switchWindow(((cur+dir)%n + n) % n)
}

// nextUnread switches to the next window, after the current one, with
// unread messages.
func (m *Model) nextUnread() tea.Cmd {
	n := len(m.wins.wins)
	cur := m.currentWindow()
	for k := 1; k <= n; k++ {
		i := ((cur+k)%n + n) % n
		w := m.wins.wins[i]
		if i != cur && m.accts[w.acct].unread[w.peer] > 0 {
			return m.switchWindow(i)
		}
	}
	m.status.Info("no window has unread messages")
	return nil
}

// selectWindowKey is Alt+1..9 and Alt+0 (window 10).
func selectWindowKey(n int) func(m *Model) tea.Cmd {
	return func(m *Model) tea.Cmd {
		if n > len(m.wins.wins) {
			m.status.Info("there is no window " + strconv.Itoa(n))
			return nil
		}
		return m.switchWindow(n - 1)
	}
}

// saveDraft keeps what is typed in the input with the current window.
func (m *Model) saveDraft() {
	if i := m.currentWindow(); i >= 0 {
		w := m.wins.wins[i]
		w.draft = m.input.Value()
		w.hist.reset()
	}
}

// closeWindow closes the current window: the conversation is closed in
// the store (history is kept) and the next window, if any, is shown.
func (m *Model) closeWindow() tea.Cmd {
	i := m.currentWindow()
	if i < 0 {
		m.status.Error("no window is open")
		return nil
	}
	w := m.wins.wins[i]
	a := m.accts[w.acct]
	m.wins.remove(i)
	c := a.convs[w.peer]
	c.Closed = true
	a.convs[w.peer] = c
	a.unread[w.peer] = 0
	m.roster.Invalidate()
	m.status.Info("closed " + a.labelOf(w.peer))
	cmds := []tea.Cmd{m.closeConvCmd(w.acct, w.peer)}
	m.chat.Close()
	m.input.Reset()
	m.layout()
	if n := len(m.wins.wins); n > 0 {
		cmds = append(cmds, m.switchWindow(min(i, n-1)))
	}
	return tea.Batch(cmds...)
}

// closeConvCmd closes a conversation in the store.
func (m *Model) closeConvCmd(i int, peer string) tea.Cmd {
	base := m.ctx
	st, acct := m.store, m.accts[i].jid
	if st == nil {
		return nil
	}
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(base, opTimeout)
		defer cancel()
		if err := st.CloseConversation(ctx, acct, peer); err != nil {
			return storeErrMsg{what: "closing the conversation", err: err}
		}
		return nil
	}
}

// windowBar is the list of windows in the status line: their numbers, the
// current one in brackets, a "+" after those with unread messages.
func (m *Model) windowBar() string {
	if len(m.wins.wins) == 0 {
		return ""
	}
	cur := m.currentWindow()
	var b strings.Builder
	for i, w := range m.wins.wins {
		if i > 0 {
			b.WriteByte(' ')
		}
		n := strconv.Itoa(i + 1)
		if i == cur {
			b.WriteString("[" + n + "]")
		} else {
			b.WriteString(n)
		}
		if m.accts[w.acct].unread[w.peer] > 0 {
			b.WriteByte('+')
		}
	}
	return b.String()
}
