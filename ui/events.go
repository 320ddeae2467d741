package ui

import (
	"strings"

	tea "charm.land/bubbletea/v2"

	"xchat/internal/sanitize"
	"xchat/session"
	"xchat/store"
)

// Handlers of session events and of the answers of the model's commands.

func (m *Model) onState(ev session.StateEvent) {
	a := m.account(ev.Account)
	if a == nil {
		return
	}
	a.state, a.retry = ev.State, ev.Retry
	a.err = ""
	if ev.Err != nil {
		a.err = sanitize.Line(ev.Err.Error())
	}
	if ev.State != session.Online {
		// Presence is void once the stream is gone, and so are catch-ups.
		clear(a.presence)
		a.sync = nil
	}
	m.roster.Invalidate()
	switch {
	case ev.Err != nil && ev.State == session.Offline:
		m.status.Error(a.label + ": " + a.err)
	case ev.Err != nil:
		m.status.Error(a.label + ": " + a.err + " (retrying)")
	case ev.State == session.Online:
		if text, isErr := m.status.Text(); isErr && strings.HasPrefix(text, a.label+": ") {
			m.status.Info(a.label + " is online")
		}
	}
}

func (m *Model) onNotice(ev session.NoticeEvent) {
	text := sanitize.Line(ev.Text)
	if a := m.account(ev.Account); a != nil && len(m.accts) > 1 {
		text = a.label + ": " + text
	}
	if ev.Err != nil {
		if ev.Text == "" {
			text += sanitize.Line(ev.Err.Error())
		} else {
			text += ": " + sanitize.Line(ev.Err.Error())
		}
		m.status.Error(text)
		return
	}
	m.status.Info(text)
}

// onMessage shows a stored message: in the pane if its conversation is
// open, else as an unread count in the roster.
func (m *Model) onMessage(ev session.MessageEvent) tea.Cmd {
	i, ok := m.byAcct[ev.Account]
	if !ok {
		return nil
	}
	a, msg := m.accts[i], ev.Message
	c := a.convs[msg.Peer]
	c.Account, c.Peer, c.Kind, c.Closed = a.jid, msg.Peer, msg.Kind, false
	if msg.Timestamp.After(c.LastTime) {
		c.LastTime, c.LastBody = msg.Timestamp, msg.Body
	}
	a.convs[msg.Peer] = c
	m.wins.add(i, msg.Peer, msg.Kind)
	m.roster.Invalidate()
	// In rooms only the messages that name us notify.
	mention := msg.Kind == store.KindGroupchat && msg.Direction == store.Incoming && mentions(msg.Body, m.ownNick(i, msg.Peer))
	var notify tea.Cmd
	if msg.Kind != store.KindGroupchat || mention {
		notify = m.notifyCmd(i, msg)
	}
	if m.chat.IsOpen(i, msg.Peer) {
		m.chat.Append(m.newItem(i, msg))
		if msg.Direction == store.Incoming {
			if m.typing != nil {
				m.clearTyping() // their message ends their typing
			}
			return tea.Batch(notify, m.markReadCmd(i, msg.Peer), m.markDisplayed())
		}
		return nil
	}
	if msg.Direction == store.Incoming {
		a.unread[msg.Peer]++
		if mention {
			a.mentions[msg.Peer]++
		}
	}
	return notify
}

func (m *Model) onMessageState(ev session.MessageStateEvent) {
	i, ok := m.byAcct[ev.Account]
	if !ok {
		return
	}
	errTxt := sanitize.Line(ev.Error)
	if m.chat.IsOpen(i, ev.Peer) {
		m.chat.SetState(ev.ID, ev.State, errTxt)
		return
	}
	if ev.State == store.StateFailed {
		text := "a message to " + m.accts[i].labelOf(ev.Peer) + " failed"
		if errTxt != "" {
			text += ": " + errTxt
		}
		m.status.Error(text)
	}
}

func (m *Model) onAccountLoaded(msg accountLoadedMsg) tea.Cmd {
	a := m.accts[msg.acct]
	if msg.err != nil {
		m.log.Warn("loading account", "account", a.jid, "err", msg.err)
		m.status.Error("reading " + a.label + " from the store: " + sanitize.Line(msg.err.Error()))
	}
	if !a.live {
		a.setContacts(msg.contacts) // a RosterEvent, if one came first, is fresher
	}
	for _, c := range msg.convs {
		a.convs[c.Peer] = c
		if !c.Closed {
			m.wins.add(msg.acct, c.Peer, c.Kind)
		}
		if !m.chat.IsOpen(msg.acct, c.Peer) {
			a.unread[c.Peer] = c.Unread
		}
	}
	if !a.loaded {
		a.loaded = true
		m.loadedAccts++
	}
	m.roster.Invalidate()

	if m.pendingOpen == "" {
		return nil
	}
	_, inRoster := a.contacts[m.pendingOpen]
	_, hasConv := a.convs[m.pendingOpen]
	target := -1
	switch {
	case inRoster || hasConv:
		target = msg.acct
	case m.loadedAccts == len(m.accts):
		target = 0
	}
	if target < 0 {
		return nil
	}
	peer := m.pendingOpen
	m.pendingOpen = ""
	return m.openConversation(target, peer, store.KindChat, "")
}

func (m *Model) onConvLoaded(msg convLoadedMsg) tea.Cmd {
	if msg.gen != m.chat.gen || !m.chat.IsOpen(msg.acct, msg.peer) {
		return nil
	}
	a := m.accts[msg.acct]
	if msg.err != nil {
		m.chat.loading = false
		m.log.Warn("loading conversation", "account", a.jid, "peer", msg.peer, "err", msg.err)
		m.status.Error("reading the conversation with " + a.labelOf(msg.peer) + ": " + sanitize.Line(msg.err.Error()))
	} else if msg.around != nil {
		m.chat.SetAround(m.newItems(msg.acct, msg.msgs), msg.olderMore, msg.newerMore)
		if i := m.chat.find(msg.around.ID); i >= 0 {
			m.sel = selection{active: true}
			m.input.Blur()
			m.setSelected(i)
			m.status.Info("selection: j/k move · y copy · o open link · Esc back to typing")
		}
	} else {
		items := m.newItems(msg.acct, msg.msgs)
		if r := a.rooms[msg.peer]; r != nil && m.chat.kind == store.KindGroupchat {
			items = mergeEvents(items, r.events)
		}
		m.chat.SetLatest(items, len(msg.msgs) >= pageSize)
		if msg.first {
			n := msg.conv.Unread
			if n == 0 {
				n = m.chat.unreadAtOpen
			}
			m.chat.MarkFirstUnread(n)
		}
	}
	if msg.conv.Peer != "" {
		c := msg.conv
		c.Unread = 0
		if old, ok := a.convs[c.Peer]; ok && old.LastTime.After(c.LastTime) {
			c.LastTime, c.LastBody = old.LastTime, old.LastBody
		}
		a.convs[c.Peer] = c
		m.roster.Invalidate()
	}
	if msg.thenSend != "" && msg.err == nil {
		return m.send(msg.thenSend)
	}
	if m.chat.toTop {
		m.chat.toTop = false
		return m.scrollHome() // Home was pressed while the page loaded
	}
	return nil
}

func (m *Model) onOlderLoaded(msg olderLoadedMsg) tea.Cmd {
	if msg.gen != m.chat.gen || !m.chat.open {
		return nil
	}
	if msg.err != nil {
		m.chat.loadingOlder, m.chat.toTop = false, false
		m.status.Error("reading older messages: " + sanitize.Line(msg.err.Error()))
		return nil
	}
	p := &m.chat
	p.Prepend(m.newItems(p.acct, msg.msgs), len(msg.msgs) >= pageSize)
	if !p.toTop {
		return nil
	}
	if id := p.OldestID(); p.hasOlder && id != 0 {
		p.loadingOlder = true
		return m.olderCmd(p.gen, p.acct, p.peer, id)
	}
	p.toTop = false
	p.ScrollToTop()
	return nil
}

func (m *Model) onNewerLoaded(msg newerLoadedMsg) tea.Cmd {
	p := &m.chat
	if msg.gen != p.gen || !p.open {
		return nil
	}
	if msg.err != nil {
		p.loadingNewer = false
		m.status.Error("reading newer messages: " + sanitize.Line(msg.err.Error()))
		return nil
	}
	missed := p.newBelow > 0
	p.AppendPage(m.newItems(p.acct, msg.msgs), len(msg.msgs) >= pageSize)
	if !p.detached && missed {
		// Messages came while the page was read: the newest page has them.
		// Until it comes the pane counts as detached, so that what it holds
		// is replaced, not kept.
		p.detached, p.loading = true, true
		return m.latestCmd(p.gen, p.acct, p.peer)
	}
	return nil
}

func (m *Model) onSent(msg sentMsg) tea.Cmd {
	a := m.accts[msg.acct]
	if msg.err != nil {
		m.log.Warn("send", "account", a.jid, "peer", msg.peer, "err", msg.err)
		errTxt := sanitize.Line(msg.err.Error())
		m.status.Error("sending to " + a.labelOf(msg.peer) + " failed: " + errTxt)
		if m.chat.IsOpen(msg.acct, msg.peer) {
			m.chat.Confirm(msg.temp, nil, errTxt)
		}
	} else {
		c := a.convs[msg.peer]
		c.Account, c.Peer, c.Kind, c.Closed = a.jid, msg.peer, msg.msg.Kind, false
		c.LastTime, c.LastBody = msg.msg.Timestamp, msg.msg.Body
		a.convs[msg.peer] = c
		m.wins.add(msg.acct, msg.peer, c.Kind)
		if m.chat.IsOpen(msg.acct, msg.peer) {
			it := m.newItem(msg.acct, msg.msg)
			m.chat.Confirm(msg.temp, &it, "")
		}
	}
	q := m.sendQueue[msg.acct]
	if len(q) == 0 {
		m.sending[msg.acct] = false
		return nil
	}
	next := q[0]
	m.sendQueue[msg.acct] = q[1:]
	return m.sendCmd(next)
}
