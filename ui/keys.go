package ui

import (
	"slices"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
)

// scope says where a key binding applies.
type scope uint8

const (
	scopeGlobal   scope = iota // whatever has focus
	scopeRoster                // the roster has focus
	scopeInput                 // the input has focus
	scopeSwitcher              // the quick switcher is open (modal)
	scopeSelect                // selection mode (modal)
	scopeSearch                // the search results are shown (modal)
	scopeForm                  // the room configuration form is open (modal)
)

// modal reports whether a scope takes every key: only quit stays global.
func (s scope) modal() bool {
	return s == scopeSwitcher || s == scopeSelect || s == scopeSearch || s == scopeForm
}

// keyAction binds keys to an action. The table built by keyActions is both
// what handleKey dispatches on and what /help lists, so they cannot drift.
type keyAction struct {
	key   key.Binding
	scope scope
	run   func(m *Model) tea.Cmd
	// runKey, when set, is run instead of run with the key that matched.
	runKey func(m *Model, k tea.KeyPressMsg) tea.Cmd
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

// quitHelp describes the one global binding modal scopes keep.
const quitHelp = "quit"

func keyActions() []keyAction {
	return []keyAction{
		{bind(quitHelp, "ctrl+c"), scopeGlobal, (*Model).quit, nil},
		{bind("focus the next area", "tab"), scopeGlobal, func(m *Model) tea.Cmd { m.cycleFocus(1); return nil }, nil},
		{bind("focus the previous area", "shift+tab"), scopeGlobal, func(m *Model) tea.Cmd { m.cycleFocus(-1); return nil }, nil},
		{bind("scroll up; at the top, load older messages", "pgup"), scopeGlobal, (*Model).pageUp, nil},
		{bind("scroll down; below what is loaded, load newer messages", "pgdown"), scopeGlobal, (*Model).pageDown, nil},
		{bind("empty input: go to the first message", "home"), scopeInput, nil, (*Model).historyKey},
		{bind("empty input: go to the newest message", "end"), scopeInput, nil, (*Model).historyKey},
		{bind("show or hide this help", "f1"), scopeGlobal, func(m *Model) tea.Cmd { m.toggleHelp(); return nil }, nil},
		{bind("next window", "ctrl+n"), scopeGlobal, func(m *Model) tea.Cmd { return m.cycleWindow(1) }, nil},
		{bind("previous window", "ctrl+p"), scopeGlobal, func(m *Model) tea.Cmd { return m.cycleWindow(-1) }, nil},
		{bind("next window with unread messages", "alt+a"), scopeGlobal, (*Model).nextUnread, nil},
		{key.NewBinding(key.WithKeys(windowKeys...), key.WithHelp("alt+1…alt+9/alt+0", "window 1 to 9, window 10")), scopeGlobal, nil,
			func(m *Model, k tea.KeyPressMsg) tea.Cmd {
				n := int(k.Code - '0')
				if n == 0 {
					n = 10
				}
				return selectWindowKey(n)(m)
			}},
		{bind("hide or show the roster", "f2"), scopeGlobal, (*Model).toggleSidebar, nil},
		{bind("hide or show offline contacts", "f3"), scopeGlobal, (*Model).toggleOffline, nil},
		{bind("hide or show a room's occupant list", "f4"), scopeGlobal, (*Model).toggleOccupants, nil},
		{bind("scroll the occupant list up", "alt+pgup"), scopeGlobal, func(m *Model) tea.Cmd { return m.scrollOccupants(-1) }, nil},
		{bind("scroll the occupant list down", "alt+pgdown"), scopeGlobal, func(m *Model) tea.Cmd { return m.scrollOccupants(1) }, nil},
		{bind("close the help; in an empty input, select messages", "esc"), scopeInput, func(m *Model) tea.Cmd {
			if m.help.open {
				m.help.open = false
				return nil
			}
			if m.input.Value() == "" {
				return m.enterSelection()
			}
			return nil
		}, nil},
		{bind("close the help", "esc"), scopeGlobal, func(m *Model) tea.Cmd { m.help.open = false; return nil }, nil},

		{bind("select the previous entry", "up", "k"), scopeRoster, func(m *Model) tea.Cmd { m.roster.Move(-1); return nil }, nil},
		{bind("select the next entry", "down", "j"), scopeRoster, func(m *Model) tea.Cmd { m.roster.Move(1); return nil }, nil},
		{bind("select the first entry", "home", "g"), scopeRoster, func(m *Model) tea.Cmd { m.roster.MoveTo(1); return nil }, nil},
		{bind("select the last entry", "end", "G"), scopeRoster, func(m *Model) tea.Cmd { m.roster.MoveTo(-1); return nil }, nil},
		{bind("open the conversation (on a request: prepare /approve)", "enter"), scopeRoster, (*Model).activateSelection, nil},
		{bind("open the quick switcher", "ctrl+k"), scopeRoster, (*Model).openSwitcher, nil},

		{bind("send the message or run the command", "enter"), scopeInput, (*Model).submit, nil},
		{bind("complete; again: next candidate (empty input: next area)", "tab"), scopeInput, func(m *Model) tea.Cmd {
			if m.input.Value() == "" {
				m.cycleFocus(1)
				return nil
			}
			return m.complete(1)
		}, nil},
		{bind("previous candidate (empty input: previous area)", "shift+tab"), scopeInput, func(m *Model) tea.Cmd {
			if m.input.Value() == "" {
				m.cycleFocus(-1)
				return nil
			}
			return m.complete(-1)
		}, nil},
		{bind("on the first line: the previous line sent in this conversation", "up"), scopeInput, nil, (*Model).historyUp},
		{bind("on the last line: the next line sent, then back to the draft", "down"), scopeInput, nil, (*Model).historyDown},
		{bind("delete to the end of the line; at the end, open the quick switcher", "ctrl+k"), scopeInput, (*Model).openSwitcher, nil},

		{bind("previous message", "k", "up"), scopeSelect, func(m *Model) tea.Cmd { return m.selectMove(-1) }, nil},
		{bind("next message", "j", "down"), scopeSelect, func(m *Model) tea.Cmd { return m.selectMove(1) }, nil},
		{bind("first loaded message", "g", "home"), scopeSelect, func(m *Model) tea.Cmd { return m.selectEdge(-1) }, nil},
		{bind("last message", "G", "end"), scopeSelect, func(m *Model) tea.Cmd { return m.selectEdge(1) }, nil},
		{bind("scroll up", "pgup"), scopeSelect, (*Model).pageUp, nil},
		{bind("scroll down", "pgdown"), scopeSelect, (*Model).pageDown, nil},
		{bind("copy the message's text (OSC 52)", "y"), scopeSelect, (*Model).copySelected, nil},
		{bind("open the message's first link", "o"), scopeSelect, (*Model).openSelectedLink, nil},
		{bind("reply", "r"), scopeSelect, (*Model).replySelected, nil},
		{bind("correct (your own message)", "e"), scopeSelect, (*Model).correctSelected, nil},
		{bind("retract (your own message)", "d"), scopeSelect, (*Model).retractSelected, nil},
		{bind("react (1–6 or an emoji; again removes it)", "+"), scopeSelect, (*Model).reactSelected, nil},
		{bind("view the image full-window", "v"), scopeSelect, (*Model).viewSelected, nil},
		{bind("open the file in the viewer", "x"), scopeSelect, (*Model).openSelectedFile, nil},
		{bind("save the file to the downloads folder", "s"), scopeSelect, (*Model).saveSelected, nil},
		{bind("back to typing", "esc", "i"), scopeSelect, (*Model).leaveSelection, nil},

		{bind("go to the message in its conversation", "enter"), scopeSearch, (*Model).searchOpen, nil},
		{bind("close the results", "esc", "q"), scopeSearch, func(m *Model) tea.Cmd { m.search.open = false; return nil }, nil},
		{bind("previous result", "up", "k"), scopeSearch, func(m *Model) tea.Cmd { m.search.Move(-1); return nil }, nil},
		{bind("next result", "down", "j"), scopeSearch, func(m *Model) tea.Cmd { m.search.Move(1); return nil }, nil},
		{bind("ten results up", "pgup"), scopeSearch, func(m *Model) tea.Cmd { m.search.Move(-10); return nil }, nil},
		{bind("ten results down", "pgdown"), scopeSearch, func(m *Model) tea.Cmd { m.search.Move(10); return nil }, nil},

		{bind("open the chosen conversation", "enter"), scopeSwitcher, (*Model).switcherOpen, nil},
		{bind("cancel", "esc", "ctrl+k"), scopeSwitcher, func(m *Model) tea.Cmd { m.switcher.Close(); return nil }, nil},
		{bind("previous match", "up", "ctrl+p", "shift+tab"), scopeSwitcher, func(m *Model) tea.Cmd { m.switcher.Move(-1); return nil }, nil},
		{bind("next match", "down", "ctrl+n", "tab"), scopeSwitcher, func(m *Model) tea.Cmd { m.switcher.Move(1); return nil }, nil},
		{bind("delete the last character of the query", "backspace"), scopeSwitcher, func(m *Model) tea.Cmd { m.switcher.Backspace(); return nil }, nil},
		{bind("clear the query", "ctrl+u", "ctrl+w"), scopeSwitcher, func(m *Model) tea.Cmd { m.switcher.ClearQuery(); return nil }, nil},
		{bind("insert a newline", "shift+enter", "alt+enter", "ctrl+j"), scopeInput, nil, nil}, // handled by the textarea

		{bind("previous field", "up", "k"), scopeForm, nil, (*Model).formKey},
		{bind("next field", "down", "j"), scopeForm, nil, (*Model).formKey},
		{bind("toggle, next option, or edit the value (enter again keeps it)", "enter", "space"), scopeForm, nil, (*Model).formKey},
		{bind("save the configuration", "ctrl+s"), scopeForm, nil, (*Model).formKey},
		{bind("close without saving (while editing: drop the edit)", "esc", "q"), scopeForm, nil, (*Model).formKey},
	}
}

// handleKey dispatches a key press: the bindings of the current scope
// first, then the global ones (only quit in a modal scope), then the
// focused area.
func (m *Model) handleKey(k tea.KeyPressMsg) tea.Cmd {
	if m.confirm != nil {
		return m.confirmKey(k)
	}
	if cmd, ok := m.mediaKey(k); ok {
		return cmd
	}
	if m.react != nil && k.String() != "ctrl+c" {
		return m.reactKey(k)
	}
	if m.compose.kind != "" && k.String() == "esc" && m.scope() == scopeInput {
		return m.cancelCompose()
	}
	if m.omemo.held != nil {
		if cmd, ok := m.answerPlain(k); ok {
			return cmd
		}
	}
	if m.omemo.pane.open {
		if cmd, ok := m.omemoPaneKey(k); ok {
			return cmd
		}
	}
	current := m.scope()
	name := k.String()
	if current == scopeForm && m.form.editing && name != "ctrl+c" {
		return m.formKey(k) // typing a value: every key is text
	}
	if m.completer.active && (current != scopeInput || name != "tab" && name != "shift+tab") {
		m.completer.reset()
	}
	for pass := range 2 {
		for _, a := range m.keys {
			if a.run == nil && a.runKey == nil {
				continue
			}
			if pass == 0 && a.scope != current || pass == 1 && a.scope != scopeGlobal {
				continue
			}
			if pass == 1 && current.modal() && a.key.Help().Desc != quitHelp {
				continue
			}
			if a.key.Enabled() && slices.Contains(a.key.Keys(), name) {
				if a.runKey != nil {
					return a.runKey(m, k)
				}
				return a.run(m)
			}
		}
	}
	switch current {
	case scopeSwitcher:
		return m.switcherKey(k)
	case scopeForm:
		return m.formKey(k)
	case scopeSelect, scopeSearch:
		return nil
	case scopeRoster:
		if k.Text == "" {
			return nil
		}
		// Typing in the roster starts a message.
		m.setFocus(focusInput)
	}
	before := m.input.Value()
	cmd := m.editInput(k)
	if m.input.Value() == before {
		return cmd // moving the cursor is not typing
	}
	return tea.Batch(cmd, m.onTyped())
}

// scope is where keys go now.
func (m *Model) scope() scope {
	switch {
	case m.form.open:
		return scopeForm
	case m.switcher.open:
		return scopeSwitcher
	case m.search.open:
		return scopeSearch
	case m.sel.active:
		return scopeSelect
	case m.focus == focusRoster:
		return scopeRoster
	}
	return scopeInput
}

// windowKeys select windows 1 to 10.
var windowKeys = []string{"alt+1", "alt+2", "alt+3", "alt+4", "alt+5", "alt+6", "alt+7", "alt+8", "alt+9", "alt+0"}
