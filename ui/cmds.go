package ui

import (
	"context"
	"time"

	tea "charm.land/bubbletea/v2"

	"xchat/session"
	"xchat/store"
)

// Everything that touches the store or an account runs in one of the
// tea.Cmds below, on a goroutine of Bubble Tea's; each captures the values
// it needs when it is created and reports back with a message. Update never
// waits.

// opTimeout bounds a call into an account; the store gets the same bound.
const opTimeout = 30 * time.Second

// accountLoadedMsg carries an account's contacts and conversations from the
// store, read at start-up.
type accountLoadedMsg struct {
	acct     int
	contacts []store.Contact
	convs    []store.Conversation
	err      error
}

// convLoadedMsg carries the newest page of a conversation.
type convLoadedMsg struct {
	gen      uint64
	acct     int
	peer     string
	conv     store.Conversation
	msgs     []store.Message
	err      error
	thenSend string // text to send once the conversation is open (/msg JID text)
	first    bool   // the load that opens the conversation (not a reload)

	around    *store.Message // set when msgs surround this message (a search hit)
	olderMore bool           // with around: older messages exist
	newerMore bool           // with around: newer messages exist
}

// newerLoadedMsg carries the page after the newest loaded message of a
// detached pane.
type newerLoadedMsg struct {
	gen  uint64
	msgs []store.Message
	err  error
}

// olderLoadedMsg carries an older page of the open conversation.
type olderLoadedMsg struct {
	gen  uint64
	msgs []store.Message
	err  error
}

// sentMsg is the answer of Account.SendMessage for one local echo.
type sentMsg struct {
	acct int
	peer string
	temp int64
	msg  store.Message
	err  error
}

// opDoneMsg is the answer of a roster or presence operation.
type opDoneMsg struct {
	acct int
	op   string // "add", "remove", "approve", "deny", "status"
	arg  string // the JID, or the availability for "status"
	err  error
}

// storeErrMsg reports a failed background store write.
type storeErrMsg struct {
	what string
	err  error
}

// loadAccountCmd reads an account's contacts and conversations.
func (m *Model) loadAccountCmd(i int) tea.Cmd {
	base := m.ctx
	st, acct := m.store, m.accts[i].jid
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(base, opTimeout)
		defer cancel()
		out := accountLoadedMsg{acct: i}
		if st == nil {
			return out
		}
		out.contacts, out.err = st.Contacts(ctx, acct)
		if out.err == nil {
			out.convs, out.err = st.Conversations(ctx, acct)
		}
		return out
	}
}

// openCmd opens (creates if needed) a conversation, reads its newest page
// and marks it read.
func (m *Model) openCmd(gen uint64, i int, peer string, kind store.ConvKind, thenSend string) tea.Cmd {
	base := m.ctx
	st, acct := m.store, m.accts[i].jid
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(base, opTimeout)
		defer cancel()
		out := convLoadedMsg{gen: gen, acct: i, peer: peer, thenSend: thenSend, first: true}
		if st == nil {
			out.conv = store.Conversation{Account: acct, Peer: peer, Kind: kind}
			return out
		}
		if out.conv, out.err = st.OpenConversation(ctx, acct, peer, kind); out.err != nil {
			return out
		}
		if out.msgs, out.err = st.Latest(ctx, acct, peer, pageSize); out.err != nil {
			return out
		}
		out.err = st.MarkRead(ctx, acct, peer)
		return out
	}
}

// latestCmd reloads the newest page of the open conversation.
func (m *Model) latestCmd(gen uint64, i int, peer string) tea.Cmd {
	base := m.ctx
	st, acct := m.store, m.accts[i].jid
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(base, opTimeout)
		defer cancel()
		out := convLoadedMsg{gen: gen, acct: i, peer: peer}
		if st != nil {
			out.msgs, out.err = st.Latest(ctx, acct, peer, pageSize)
		}
		return out
	}
}

// olderCmd reads the page before message id.
func (m *Model) olderCmd(gen uint64, i int, peer string, id int64) tea.Cmd {
	base := m.ctx
	st, acct := m.store, m.accts[i].jid
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(base, opTimeout)
		defer cancel()
		out := olderLoadedMsg{gen: gen}
		if st != nil {
			out.msgs, out.err = st.Before(ctx, acct, peer, id, pageSize)
		}
		return out
	}
}

// newerCmd reads the page after message id.
func (m *Model) newerCmd(gen uint64, i int, peer string, id int64) tea.Cmd {
	base := m.ctx
	st, acct := m.store, m.accts[i].jid
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(base, opTimeout)
		defer cancel()
		out := newerLoadedMsg{gen: gen}
		if st != nil {
			out.msgs, out.err = st.After(ctx, acct, peer, id, pageSize)
		}
		return out
	}
}

// markReadCmd clears the unread count of a conversation in the store.
func (m *Model) markReadCmd(i int, peer string) tea.Cmd {
	base := m.ctx
	st, acct := m.store, m.accts[i].jid
	if st == nil {
		return nil
	}
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(base, opTimeout)
		defer cancel()
		if err := st.MarkRead(ctx, acct, peer); err != nil {
			return storeErrMsg{what: "marking the conversation read", err: err}
		}
		return nil
	}
}

// sendCmd hands one message to its account.
func (m *Model) sendCmd(o outgoing) tea.Cmd {
	base := m.ctx
	client := m.accts[o.acct].client
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(base, opTimeout)
		defer cancel()
		send := client.SendMessage
		if o.kind == store.KindGroupchat {
			send = client.SendGroupMessage
		}
		msg, err := send(ctx, o.peer, o.body)
		return sentMsg{acct: o.acct, peer: o.peer, temp: o.temp, msg: msg, err: err}
	}
}

// opCmd runs a roster or presence operation on an account.
func (m *Model) opCmd(i int, op, arg string, call func(ctx context.Context, a Account) error) tea.Cmd {
	base := m.ctx
	client := m.accts[i].client
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(base, opTimeout)
		defer cancel()
		return opDoneMsg{acct: i, op: op, arg: arg, err: call(ctx, client)}
	}
}

// setPresenceCmd sets our availability on one account.
func (m *Model) setPresenceCmd(i int, show session.Show, status string) tea.Cmd {
	return m.opCmd(i, "status", string(show), func(ctx context.Context, a Account) error {
		return a.SetPresence(ctx, show, status)
	})
}
