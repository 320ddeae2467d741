package ui

import (
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
)

// scope says where a key binding applies.
type scope uint8

const (
	scopeGlobal scope = iota // whatever has focus
	scopeRoster              // the roster has focus
	scopeInput               // the input has focus
)

// keyAction binds keys to an action. The table built by keyActions is both
// what handleKey dispatches on and what /help lists, so they cannot drift.
type keyAction struct {
	key   key.Binding
	scope scope
	run   func(m *Model) tea.Cmd
}

func bind(help string, keys ...string) key.Binding {
	return key.NewBinding(key.WithKeys(keys...), key.WithHelp(joinKeys(keys), help))
}

func joinKeys(keys []string) string {
	s := ""
	for i, k := range keys {
		if i > 0 {
			s += "/"
		}
		s += k
	}
	return s
}

func keyActions() []keyAction {
	return []keyAction{
		{bind("quit", "ctrl+c"), scopeGlobal, (*Model).quit},
		{bind("focus the next area", "tab"), scopeGlobal, func(m *Model) tea.Cmd { m.cycleFocus(1); return nil }},
		{bind("focus the previous area", "shift+tab"), scopeGlobal, func(m *Model) tea.Cmd { m.cycleFocus(-1); return nil }},
		{bind("scroll up; at the top, load older messages", "pgup"), scopeGlobal, (*Model).pageUp},
		{bind("scroll down", "pgdown"), scopeGlobal, (*Model).pageDown},
		{bind("show or hide this help", "f1"), scopeGlobal, func(m *Model) tea.Cmd { m.toggleHelp(); return nil }},
		{bind("close the help", "esc"), scopeGlobal, func(m *Model) tea.Cmd { m.help.open = false; return nil }},

		{bind("select the previous entry", "up", "k"), scopeRoster, func(m *Model) tea.Cmd { m.roster.Move(-1); return nil }},
		{bind("select the next entry", "down", "j"), scopeRoster, func(m *Model) tea.Cmd { m.roster.Move(1); return nil }},
		{bind("select the first entry", "home", "g"), scopeRoster, func(m *Model) tea.Cmd { m.roster.MoveTo(1); return nil }},
		{bind("select the last entry", "end", "G"), scopeRoster, func(m *Model) tea.Cmd { m.roster.MoveTo(-1); return nil }},
		{bind("open the conversation (on a request: prepare /approve)", "enter"), scopeRoster, (*Model).activateSelection},

		{bind("send the message or run the command", "enter"), scopeInput, (*Model).submit},
		{bind("insert a newline", "shift+enter", "alt+enter", "ctrl+j"), scopeInput, nil}, // handled by the textarea
	}
}

// handleKey dispatches a key press: the binding table first, then the
// focused area.
func (m *Model) handleKey(k tea.KeyPressMsg) tea.Cmd {
	current := scopeInput
	if m.focus == focusRoster {
		current = scopeRoster
	}
	for _, a := range m.keys {
		if a.run == nil || (a.scope != scopeGlobal && a.scope != current) {
			continue
		}
		if key.Matches(k, a.key) {
			return a.run(m)
		}
	}
	if m.focus == focusRoster {
		if k.Text == "" {
			return nil
		}
		// Typing in the roster starts a message.
		m.setFocus(focusInput)
	}
	return m.editInput(k)
}
