package ui

import (
	"context"
	"os/exec"
	"strconv"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"xchat/internal/sanitize"
)

// Selection mode, vim-like: Esc in an empty input selects the newest
// message; j/k (or the arrows) move over the messages, g/G go to the first
// and last loaded ones, y copies the selected message's text (OSC 52), o
// opens its first link with the configured opener, Esc or i goes back to
// the input. The selection is a message id, so it survives pages being
// loaded and dropped around it.

// selection is the state of selection mode.
type selection struct {
	active bool
	id     int64 // the selected message
}

// openTimeout bounds the link opener.
const openTimeout = 30 * time.Second

// openedMsg reports the end of the link opener.
type openedMsg struct {
	link string
	err  error
}

// enterSelection starts selection mode on the newest loaded message.
func (m *Model) enterSelection() tea.Cmd {
	if !m.chat.open || len(m.chat.items) == 0 {
		m.status.Info("no message to select")
		return nil
	}
	m.sel = selection{active: true, id: m.chat.items[len(m.chat.items)-1].msg.ID}
	m.input.Blur()
	m.chat.selID = m.sel.id
	m.chat.ShowItem(len(m.chat.items) - 1)
	m.status.Info("selection: j/k move · y copy · o open link · r reply · e correct · d retract · + react · Esc back")
	return nil
}

// leaveSelection goes back to the input.
func (m *Model) leaveSelection() tea.Cmd {
	m.sel = selection{}
	m.chat.selID = 0
	m.setFocus(focusInput)
	m.status.Info("")
	return nil
}

// selectedIndex is the index in the pane of the selected message, -1 if it
// is no longer loaded.
func (m *Model) selectedIndex() int {
	return m.chat.find(m.sel.id)
}

// selectMove moves the selection by delta messages; past the top of what
// is loaded it loads the older page.
func (m *Model) selectMove(delta int) tea.Cmd {
	p := &m.chat
	i := m.selectedIndex()
	if i < 0 {
		i = len(p.items) - 1
	}
	j := max(0, min(i+delta, len(p.items)-1))
	if j < 0 {
		return nil
	}
	m.setSelected(j)
	if delta < 0 && i == 0 && p.hasOlder {
		return m.scrollUp(p.height) // the view is at the top: load more
	}
	if delta > 0 && i == len(p.items)-1 && p.detached {
		return m.scrollDown(p.height)
	}
	return nil
}

// selectEdge selects the first (dir < 0) or last loaded message.
func (m *Model) selectEdge(dir int) tea.Cmd {
	if len(m.chat.items) == 0 {
		return nil
	}
	if dir < 0 {
		m.setSelected(0)
	} else {
		m.setSelected(len(m.chat.items) - 1)
	}
	return nil
}

func (m *Model) setSelected(i int) {
	m.sel.id = m.chat.items[i].msg.ID
	m.chat.selID = m.sel.id
	m.chat.ShowItem(i)
	m.showReactors(&m.chat.items[i]) // who reacted (reactors.go)
}

// selectedItem returns the selected message.
func (m *Model) selectedItem() (*chatItem, bool) {
	i := m.selectedIndex()
	if i < 0 {
		m.status.Error("the selected message is no longer loaded")
		return nil, false
	}
	return &m.chat.items[i], true
}

// copySelected copies the text of the selected message to the clipboard
// with OSC 52.
func (m *Model) copySelected() tea.Cmd {
	it, ok := m.selectedItem()
	if !ok {
		return nil
	}
	text := it.body
	if it.action {
		text = "/me " + text
	}
	m.status.Info("copied the message (" + plural(len([]rune(text)), "character") + ")")
	return tea.SetClipboard(text)
}

// openSelectedLink opens the first link of the selected message.
func (m *Model) openSelectedLink() tea.Cmd {
	it, ok := m.selectedItem()
	if !ok {
		return nil
	}
	link := firstLink(it.body)
	if link == "" {
		m.status.Info("the message has no link")
		return nil
	}
	if len(m.opener) == 0 {
		m.status.Error("no command to open links is configured")
		return nil
	}
	m.status.Info("opening " + link)
	return m.openLinkCmd(link)
}

// openLinkCmd runs the opener with the link as its last argument; its
// output goes nowhere (nothing may write to the terminal).
func (m *Model) openLinkCmd(link string) tea.Cmd {
	argv := append(append([]string(nil), m.opener...), link)
	base := m.ctx
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(base, openTimeout)
		defer cancel()
		c := exec.CommandContext(ctx, argv[0], argv[1:]...)
		return openedMsg{link: link, err: c.Run()}
	}
}

func (m *Model) onOpened(msg openedMsg) {
	if msg.err != nil {
		m.log.Warn("opening a link", "link", msg.link, "err", msg.err)
		m.status.Error("could not open " + sanitize.Line(msg.link) + ": " + sanitize.Line(msg.err.Error()))
	}
}

func plural(n int, word string) string {
	s := strconv.Itoa(n) + " " + word
	if n != 1 {
		s += "s"
	}
	return s
}

// highlight draws a row of the selected message: reverse video over the
// plain text, since the row's own styles would end the highlight early.
func (p *chatPane) highlight(line string) string {
	if kittyLine(line) {
		return line // an image whose cells' colour is its id
	}
	return p.st.selected.Render(ansi.Strip(line))
}
