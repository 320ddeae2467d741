package ui

import (
	"context"
	"fmt"
	"slices"
	"strings"

	tea "charm.land/bubbletea/v2"
	"mellium.im/xmpp/jid"

	"xchat/internal/sanitize"
	"xchat/session"
	"xchat/store"
)

// command is a slash command typed in the input. The table is what submit
// dispatches on and what /help lists.
type command struct {
	name  string
	usage string // arguments, for /help
	help  string
	run   func(m *Model, args string) tea.Cmd
}

func commandTable() []command {
	return slices.Concat(append([]command{
		{"msg", "JID [text]", "open a conversation with JID, optionally sending text", (*Model).cmdMsg},
		{"query", "JID [text]", "the same as /msg", (*Model).cmdMsg},
		{"correct", "[TEXT]", "correct your last message here (no TEXT: edit it in the input)", (*Model).cmdCorrect},
		{"retract", "", "retract your last message here (asks y/n)", (*Model).cmdRetract},
		{"close", "", "close the current window (the history is kept)", func(m *Model, _ string) tea.Cmd { return m.closeWindow() }},
		{"mute", "", "no notifications from the current conversation (kept across restarts)", func(m *Model, _ string) tea.Cmd { return m.cmdMute(true) }},
		{"unmute", "", "notifications from the current conversation again", func(m *Model, _ string) tea.Cmd { return m.cmdMute(false) }},
		{"add", "JID [name]", "add JID to the roster and ask to see its presence", (*Model).cmdAdd},
		{"remove", "JID", "remove JID from the roster", (*Model).cmdRemove},
		{"approve", "JID", "let JID see your presence", (*Model).cmdApprove},
		{"deny", "JID", "refuse JID's subscription request", (*Model).cmdDeny},
		{"status", "online|chat|away|xa|dnd [message]", "set your availability on every account", (*Model).cmdStatus},
		{"offline", "", "hide or show offline contacts in the roster", func(m *Model, _ string) tea.Cmd { return m.toggleOffline() }},
		{"search", "TEXT", "find messages containing TEXT in every conversation", (*Model).cmdSearch},
		{"me", "TEXT", "send TEXT as an action: * me TEXT", nil},
		{"account", "[JID]", "list the accounts; with JID, use that account for new conversations", (*Model).cmdAccount},
		{"upload", "[PATH]", "send a file here (encrypted when the chat is); no PATH: retry the last failed upload", (*Model).cmdUpload},
		{"save", "", "save the selected (else the newest) file here to the downloads folder", (*Model).cmdSave},
	}, roomCommands()...), []command{
		{"omemo", "SUBCOMMAND", "end-to-end encryption (OMEMO), see the /omemo subcommands below", (*Model).cmdOMEMO},
		{"help", "", "show keys and commands", func(m *Model, _ string) tea.Cmd { m.help.open = true; m.help.scroll = 0; return nil }},
		{"quit", "", "quit xchat", func(m *Model, _ string) tea.Cmd { return m.quit() }},
	})
}

// runCommand runs a line that starts with "/". It reports false when the
// line is not a command but a message ("/me ...", or "//..." to send a
// literal slash).
func (m *Model) runCommand(line string) (tea.Cmd, bool) {
	if strings.HasPrefix(line, "//") || strings.HasPrefix(line, "/me ") || line == "/me" {
		return nil, false
	}
	name, args, _ := strings.Cut(line[1:], " ")
	name = strings.ToLower(name)
	args = strings.TrimSpace(args)
	for _, c := range m.commands {
		if c.name == name && c.run != nil {
			return c.run(m, args), true
		}
	}
	m.status.Error(fmt.Sprintf("unknown command /%s (F1 or /help lists them)", sanitize.Line(name)))
	return nil, true
}

// parseJID normalizes a JID typed by the user to a bare JID.
func parseJID(s string) (string, error) {
	if s == "" {
		return "", fmt.Errorf("a JID is needed")
	}
	j, err := jid.Parse(s)
	if err != nil {
		return "", fmt.Errorf("%q is not a valid JID: %v", s, err)
	}
	return j.Bare().String(), nil
}

// jidArg splits the first word of args off as a bare JID; it reports the
// problem in the status line and returns ok false.
func (m *Model) jidArg(args, usage string) (bare, rest string, ok bool) {
	first, rest, _ := strings.Cut(args, " ")
	if first == "" {
		m.status.Error("usage: " + usage)
		return "", "", false
	}
	bare, err := parseJID(first)
	if err != nil {
		m.status.Error(sanitize.Line(err.Error()))
		return "", "", false
	}
	return bare, strings.TrimSpace(rest), true
}

// accountFor picks the account a command about peer should use: the one of
// the open conversation if it knows peer, else the first that knows it,
// else the current one.
func (m *Model) accountFor(peer string) int {
	knows := func(a *accountState) bool {
		if _, ok := a.contacts[peer]; ok {
			return true
		}
		if _, ok := a.convs[peer]; ok {
			return true
		}
		for _, r := range a.requests {
			if r == peer {
				return true
			}
		}
		return false
	}
	chosen := m.newConvAcct >= 0 && m.newConvAcct < len(m.accts)
	if chosen && knows(m.accts[m.newConvAcct]) {
		return m.newConvAcct
	}
	if m.chat.open && knows(m.accts[m.chat.acct]) {
		return m.chat.acct
	}
	for i, a := range m.accts {
		if knows(a) {
			return i
		}
	}
	if chosen {
		return m.newConvAcct
	}
	return m.currentAccount()
}

func (m *Model) noAccount() bool {
	if len(m.accts) == 0 {
		m.status.Error("no account is configured")
		return true
	}
	return false
}

func (m *Model) cmdMsg(args string) tea.Cmd {
	if m.noAccount() {
		return nil
	}
	if cmd, ok := m.roomPM(args); ok {
		return cmd
	}
	peer, text, ok := m.jidArg(args, "/msg JID [text]")
	if !ok {
		return nil
	}
	m.setFocus(focusInput)
	return m.openConversation(m.accountFor(peer), peer, store.KindChat, text)
}

func (m *Model) cmdAdd(args string) tea.Cmd {
	if m.noAccount() {
		return nil
	}
	peer, name, ok := m.jidArg(args, "/add JID [name]")
	if !ok {
		return nil
	}
	i := m.currentAccount()
	m.status.Info("adding " + sanitize.Line(peer) + "…")
	return m.opCmd(i, "add", peer, func(ctx context.Context, a Account) error {
		return a.AddContact(ctx, peer, name)
	})
}

func (m *Model) cmdRemove(args string) tea.Cmd {
	return m.jidOp(args, "/remove JID", "remove", Account.RemoveContact)
}

func (m *Model) cmdApprove(args string) tea.Cmd {
	return m.jidOp(args, "/approve JID", "approve", Account.Approve)
}

func (m *Model) cmdDeny(args string) tea.Cmd {
	return m.jidOp(args, "/deny JID", "deny", Account.Deny)
}

// jidOp runs an account method that takes one JID.
func (m *Model) jidOp(args, usage, op string, call func(Account, context.Context, string) error) tea.Cmd {
	if m.noAccount() {
		return nil
	}
	peer, _, ok := m.jidArg(args, usage)
	if !ok {
		return nil
	}
	return m.opCmd(m.accountFor(peer), op, peer, func(ctx context.Context, a Account) error {
		return call(a, ctx, peer)
	})
}

// shows maps the words /status accepts to availabilities.
var shows = map[string]session.Show{
	"online":    session.ShowOnline,
	"available": session.ShowOnline,
	"chat":      session.ShowChat,
	"away":      session.ShowAway,
	"xa":        session.ShowXA,
	"dnd":       session.ShowDND,
}

func (m *Model) cmdStatus(args string) tea.Cmd {
	if m.noAccount() {
		return nil
	}
	word, message, _ := strings.Cut(args, " ")
	show, ok := shows[strings.ToLower(word)]
	if !ok {
		m.status.Error("usage: /status online|chat|away|xa|dnd [message]")
		return nil
	}
	message = strings.TrimSpace(message)
	cmds := make([]tea.Cmd, len(m.accts))
	for i := range m.accts {
		cmds[i] = m.setPresenceCmd(i, show, message)
	}
	return tea.Batch(cmds...)
}

// opDone reports the end of a roster or presence operation.
func (m *Model) opDone(msg opDoneMsg) {
	a := m.accts[msg.acct]
	who := sanitize.Line(msg.arg)
	if msg.err != nil {
		m.log.Warn("operation failed", "account", a.jid, "op", msg.op, "arg", msg.arg, "err", msg.err)
		verb := map[string]string{"add": "add", "remove": "remove", "approve": "approve", "deny": "deny", "status": "set status"}[msg.op]
		target := who
		if msg.op == "status" {
			target = "on " + a.label
		}
		m.status.Error(fmt.Sprintf("could not %s %s: %s", verb, target, sanitize.Line(msg.err.Error())))
		return
	}
	switch msg.op {
	case "add":
		m.status.Info("added " + who + " and asked to see their presence")
	case "remove":
		m.status.Info("removed " + who)
	case "approve":
		a.removeRequest(msg.arg)
		m.roster.Invalidate()
		m.status.Info(who + " may now see your presence")
	case "deny":
		a.removeRequest(msg.arg)
		m.roster.Invalidate()
		m.status.Info("refused " + who)
	case "status":
		m.status.Info("you are " + showName(session.Show(msg.arg)))
	}
}

// cmdAccount lists the accounts, or chooses the one new conversations use.
func (m *Model) cmdAccount(args string) tea.Cmd {
	if m.noAccount() {
		return nil
	}
	if args == "" {
		var parts []string
		for i, a := range m.accts {
			s := a.label + " (" + a.state.String() + ")"
			if i == m.newConvAcct {
				s += " *"
			}
			parts = append(parts, s)
		}
		m.status.Info("accounts: " + strings.Join(parts, ", ") + "; /account JID chooses the one for new conversations")
		return nil
	}
	bare, err := parseJID(args)
	if err != nil {
		m.status.Error(sanitize.Line(err.Error()))
		return nil
	}
	i, ok := m.byAcct[bare]
	if !ok {
		m.status.Error("no account " + sanitize.Line(bare) + " is configured")
		return nil
	}
	m.newConvAcct = i
	m.status.Info("new conversations use " + m.accts[i].label)
	return nil
}
