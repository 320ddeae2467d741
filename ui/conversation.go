package ui

import (
	"strings"

	tea "charm.land/bubbletea/v2"

	"xchat/internal/sanitize"
	"xchat/store"
)

// Opening, paging and sending in the conversation pane.

// openConversation shows the conversation of account i with peer, loading
// it, and then sends thenSend if it is not empty.
func (m *Model) openConversation(i int, peer string, kind store.ConvKind, thenSend string) tea.Cmd {
	if i < 0 || i >= len(m.accts) {
		return nil
	}
	m.help.open = false
	if m.chat.IsOpen(i, peer) {
		if thenSend != "" {
			return m.send(thenSend)
		}
		return nil
	}
	m.saveDraft()
	if m.sel.active {
		m.leaveSelection()
	}
	w := m.wins.add(i, peer, kind)
	m.input.SetValue(w.draft)
	m.layout()
	unread := m.accts[i].unread[peer]
	gen := m.chat.Reset(i, peer, kind)
	m.chat.ownJID = m.accts[i].jid
	m.compose, m.react, m.typing = composeMode{}, nil, nil
	m.typingOut, m.displayed = typingOut{}, 0
	m.layout() // the occupant list takes room from rooms' panes
	m.chat.unreadAtOpen = unread
	m.accts[i].unread[peer] = 0
	m.accts[i].mentions[peer] = 0
	m.occ.top = 0
	m.roster.Invalidate()
	m.roster.Select(i, peer)
	return tea.Batch(m.openCmd(gen, i, peer, kind, thenSend), m.gapsCmd())
}

// newItems turns stored messages into pane items.
func (m *Model) newItems(i int, msgs []store.Message) []chatItem {
	items := make([]chatItem, len(msgs))
	for k, msg := range msgs {
		items[k] = m.newItem(i, msg)
	}
	return items
}

// newItem sanitizes and formats a message once, for as long as it is shown.
func (m *Model) newItem(i int, msg store.Message) chatItem {
	it := chatItem{msg: msg, errTxt: sanitize.Line(msg.Error), edited: msg.Edited}
	switch {
	case msg.Direction == store.Outgoing:
		it.sender = "me"
		it.nameKey = m.accts[i].jid
		if msg.Kind == store.KindGroupchat {
			if nick := m.ownNick(i, msg.Peer); nick != "" {
				it.sender = sanitize.Line(nick)
			}
		}
	case msg.Kind == store.KindChat:
		it.sender = m.accts[i].labelOf(msg.Peer)
		it.nameKey = msg.Peer
	case msg.Kind == store.KindGroupchat:
		it.sender, it.nameKey = roomSender(m.accts[i].rooms[msg.Peer], msg)
		it.mention = mentions(msg.Body, m.ownNick(i, msg.Peer))
	default:
		it.sender, it.nameKey = sanitize.Line(msg.Sender), msg.Sender
		if msg.Sender == "" {
			_, nick, _ := strings.Cut(msg.Peer, "/")
			it.sender, it.nameKey = sanitize.Line(nick), nick
		}
	}
	body := msg.Body
	if rest, ok := strings.CutPrefix(body, "/me "); ok {
		it.action, body = true, rest
	}
	it.body = strings.TrimRight(sanitize.Text(hideFileKeys(body)), "\n")
	t := msg.Timestamp
	if t.IsZero() {
		t = msg.Received
	}
	it.local = t.In(m.loc)
	it.day = dayKey(it.local)
	it.hhmm = it.local.Format("15:04")
	return it
}

// submit handles Enter in the input: a command, or a message for the open
// conversation.
func (m *Model) submit() tea.Cmd {
	line := m.input.Value()
	if strings.TrimSpace(line) == "" {
		return nil
	}
	m.history().push(line)
	m.sentTyping()
	m.input.Reset()
	m.layout()
	if strings.HasPrefix(line, "/") {
		if cmd, isCmd := m.runCommand(strings.TrimSpace(line)); isCmd {
			return cmd
		}
		if strings.HasPrefix(line, "//") {
			line = line[1:]
		}
	}
	if m.compose.kind != "" {
		return m.submitCompose(line)
	}
	return m.send(line)
}

// send shows a local echo and queues the message for the open conversation.
func (m *Model) send(body string) tea.Cmd {
	if !m.chat.open {
		m.status.Error("no conversation is open: select a contact, or type /msg JID text")
		return nil
	}
	if held, cmd := m.holdPlain(body); held {
		return cmd
	}
	m.help.open = false
	m.nextTemp--
	i, peer := m.chat.acct, m.chat.peer
	echo := store.Message{
		ID:        m.nextTemp,
		Account:   m.accts[i].jid,
		Peer:      peer,
		Kind:      m.chat.kind,
		Direction: store.Outgoing,
		Body:      body,
		Timestamp: m.now().UTC(),
		State:     store.StatePending,
	}
	if m.omemo.enc[convKey{i, peer}].Enabled {
		echo.Encryption = "omemo"
	}
	m.chat.Append(m.newItem(i, echo))
	m.chat.scroll = 0
	o := outgoing{acct: i, peer: peer, kind: m.chat.kind, body: body, temp: echo.ID}
	if m.sending[i] {
		m.sendQueue[i] = append(m.sendQueue[i], o)
		return nil
	}
	m.sending[i] = true
	return m.sendCmd(o)
}

// pageUp scrolls the help or the conversation up a page.
func (m *Model) pageUp() tea.Cmd {
	return m.scrollUp(max(1, m.chat.height-1))
}

// pageDown scrolls down a page.
func (m *Model) pageDown() tea.Cmd {
	return m.scrollDown(max(1, m.chat.height-1))
}

// scrollUp scrolls the help or the conversation up n rows, loading an
// older page when the top of what is loaded comes into view.
func (m *Model) scrollUp(n int) tea.Cmd {
	if m.help.open {
		m.help.scroll -= n
		return nil
	}
	p := &m.chat
	if !p.open {
		return nil
	}
	atTop := p.ScrollUp(n)
	fill := m.fillVisibleGap()
	if !atTop || p.loadingOlder || p.loading {
		return fill
	}
	if !p.hasOlder {
		return tea.Batch(fill, m.fetchArchive()) // past the top of the store
	}
	id := p.OldestID()
	if id == 0 {
		return fill
	}
	p.loadingOlder = true
	return tea.Batch(fill, m.olderCmd(p.gen, p.acct, p.peer, id))
}

// scrollDown scrolls down n rows; at the bottom of a detached pane it
// reloads the newest page.
func (m *Model) scrollDown(n int) tea.Cmd {
	if m.help.open {
		m.help.scroll += n
		return nil
	}
	p := &m.chat
	if !p.open {
		return nil
	}
	if !p.ScrollDown(n) || !p.detached || p.loading || p.loadingNewer {
		return nil
	}
	// At the bottom of a detached pane: the page after it, by keyset.
	id := p.NewestID()
	if id == 0 {
		p.loading = true
		return m.latestCmd(p.gen, p.acct, p.peer)
	}
	p.loadingNewer = true
	return m.newerCmd(p.gen, p.acct, p.peer, id)
}

// scrollHome goes to the first message of the conversation, loading the
// older pages one after the other (the pane keeps its bound: the newest
// are dropped on the way).
func (m *Model) scrollHome() tea.Cmd {
	if m.help.open {
		m.help.scroll = 0
		return nil
	}
	p := &m.chat
	if !p.open {
		return nil
	}
	p.ScrollToTop()
	if p.loading {
		p.toTop = true // onConvLoaded goes on once the newest page is in
		return nil
	}
	if !p.hasOlder {
		return m.fetchArchive() // past the top of the store
	}
	p.toTop = true
	if p.loadingOlder {
		return nil // onOlderLoaded goes on
	}
	id := p.OldestID()
	if id == 0 {
		p.toTop = false
		return nil
	}
	p.loadingOlder = true
	return m.olderCmd(p.gen, p.acct, p.peer, id)
}

// scrollEnd goes to the newest message, reloading the newest page when
// the pane is detached from it.
func (m *Model) scrollEnd() tea.Cmd {
	if m.help.open {
		m.help.scroll = 1 << 30
		return nil
	}
	p := &m.chat
	if !p.open {
		return nil
	}
	p.scroll, p.toTop = 0, false
	if p.detached && !p.loading {
		p.loading = true
		return m.latestCmd(p.gen, p.acct, p.peer)
	}
	return nil
}

// historyKey runs Home or End on the history when the input is empty (or
// the roster has focus), else lets the input move its cursor.
func (m *Model) historyKey(k tea.KeyPressMsg) tea.Cmd {
	if m.focus == focusInput && m.input.Value() != "" {
		return m.editInput(k)
	}
	if k.String() == "home" {
		return m.scrollHome()
	}
	return m.scrollEnd()
}

// activateSelection acts on the selected roster row.
func (m *Model) activateSelection() tea.Cmd {
	row, ok := m.roster.Selected()
	if !ok {
		return nil
	}
	switch row.kind {
	case rowContact:
		m.setFocus(focusInput)
		return m.openConversation(row.acct, row.jid, store.KindChat, "")
	case rowRoom:
		m.setFocus(focusInput)
		kind := store.KindGroupchat
		if strings.Contains(row.jid, "/") {
			kind = store.KindPrivate
		}
		return m.openConversation(row.acct, row.jid, kind, "")
	case rowInvite:
		m.input.SetValue("/accept " + row.jid)
		m.setFocus(focusInput)
		m.status.Info("Enter joins " + m.accts[row.acct].roomLabel(row.jid) + "; change it to /decline to refuse")
	case rowRequest:
		m.input.SetValue("/approve " + row.jid)
		m.setFocus(focusInput)
		m.status.Info("Enter approves " + m.accts[row.acct].labelOf(row.jid) + "; change it to /deny to refuse")
	}
	return nil
}
