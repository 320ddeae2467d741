package ui

import (
	"context"
	"log/slog"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"

	"xchat/internal/sanitize"
	"xchat/session"
)

// Options configure a Model.
type Options struct {
	Accounts []Account
	Store    Store
	Log      *slog.Logger // nil discards
	// Open is a peer JID whose conversation opens at start, on the first
	// account that knows it (else the first account).
	Open string
	// Now and Location fix the clock and the time zone, for tests; nil means
	// time.Now and time.Local.
	Now      func() time.Time
	Location *time.Location
}

// focusArea is the part of the screen that receives keys.
type focusArea int

const (
	focusInput focusArea = iota
	focusRoster
	numFocus
)

// outgoing is a message waiting for its account: sends are serialized per
// account so that messages leave in the order they were typed.
type outgoing struct {
	acct int
	peer string
	body string
	temp int64 // id of the local echo
}

// Model is the root Bubble Tea model of xchat: the only tea.Model. Its
// parts (roster, chat pane, input, status line, help) are plain structs
// that it sizes, feeds and draws.
type Model struct {
	ctx    context.Context
	cancel context.CancelFunc
	store  Store
	log    *slog.Logger
	now    func() time.Time
	loc    *time.Location
	st     styles

	accts  []*accountState
	byAcct map[string]int

	roster roster
	chat   chatPane
	input  inputLine
	status statusLine
	help   helpPage

	keys     []keyAction
	commands []command

	titleCache lineCache
	sepCache   lineCache

	focus         focusArea
	width, height int

	pendingOpen string // Options.Open until the accounts are loaded
	loadedAccts int

	nextTemp  int64 // local echoes get ids -1, -2, ...
	sending   map[int]bool
	sendQueue map[int][]outgoing
}

var _ tea.Model = (*Model)(nil)

// New returns the root model. Nothing is read until Init's command runs.
func New(opts Options) *Model {
	ctx, cancel := context.WithCancel(context.Background())
	m := &Model{
		ctx:         ctx,
		cancel:      cancel,
		store:       opts.Store,
		log:         opts.Log,
		now:         opts.Now,
		loc:         opts.Location,
		st:          newStyles(noColor()),
		byAcct:      map[string]int{},
		keys:        keyActions(),
		commands:    commandTable(),
		pendingOpen: strings.TrimSpace(opts.Open),
		sending:     map[int]bool{},
		sendQueue:   map[int][]outgoing{},
	}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	if m.now == nil {
		m.now = time.Now
	}
	if m.loc == nil {
		m.loc = time.Local
	}
	for _, a := range opts.Accounts {
		if a == nil {
			continue
		}
		st := newAccountState(a)
		if _, dup := m.byAcct[st.jid]; dup {
			continue
		}
		m.byAcct[st.jid] = len(m.accts)
		m.accts = append(m.accts, st)
	}
	if m.pendingOpen != "" {
		if bare, err := parseJID(m.pendingOpen); err == nil {
			m.pendingOpen = bare
		}
	}
	m.roster = newRoster(&m.st, m.accts)
	m.chat = newChatPane(&m.st)
	m.input = newInput(&m.st)
	m.status = statusLine{st: &m.st}
	return m
}

// Init loads every account's roster and conversations from the store.
func (m *Model) Init() tea.Cmd {
	cmds := make([]tea.Cmd, 0, len(m.accts))
	for i := range m.accts {
		cmds = append(cmds, m.loadAccountCmd(i))
	}
	return tea.Batch(cmds...)
}

// Update handles one message. It never blocks: store and network work is
// returned as tea.Cmds.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.layout()
	case tea.KeyPressMsg:
		return m, m.handleKey(msg)
	case tea.PasteMsg:
		m.setFocus(focusInput)
		return m, m.editInput(msg)

	case session.StateEvent:
		m.onState(msg)
	case session.RosterEvent:
		if a := m.account(msg.Account); a != nil {
			a.setContacts(msg.Contacts)
			a.live = true
			m.roster.Invalidate()
		}
	case session.PresenceEvent:
		if a := m.account(msg.Account); a != nil {
			a.setPresence(msg)
			m.roster.Invalidate()
		}
	case session.MessageEvent:
		return m, m.onMessage(msg)
	case session.MessageStateEvent:
		m.onMessageState(msg)
	case session.SubscriptionRequestEvent:
		if a := m.account(msg.Account); a != nil && a.addRequest(msg.From) {
			m.roster.Invalidate()
			m.status.Info(sanitize.Line(msg.From) + " wants to see your presence: /approve or /deny")
		}
	case session.NoticeEvent:
		m.onNotice(msg)

	case accountLoadedMsg:
		return m, m.onAccountLoaded(msg)
	case convLoadedMsg:
		return m, m.onConvLoaded(msg)
	case olderLoadedMsg:
		m.onOlderLoaded(msg)
	case sentMsg:
		return m, m.onSent(msg)
	case opDoneMsg:
		m.opDone(msg)
	case storeErrMsg:
		m.log.Warn("store", "what", msg.what, "err", msg.err)
		m.status.Error(msg.what + ": " + sanitize.Line(msg.err.Error()))
	}
	return m, nil
}

// account returns the state of an account by JID, nil if unknown.
func (m *Model) account(jid string) *accountState {
	if i, ok := m.byAcct[jid]; ok {
		return m.accts[i]
	}
	return nil
}

// currentAccount is the account of the open conversation, else of the
// roster selection, else the first; -1 when there is none.
func (m *Model) currentAccount() int {
	if m.chat.open {
		return m.chat.acct
	}
	if row, ok := m.roster.Selected(); ok {
		return row.acct
	}
	if len(m.accts) > 0 {
		return 0
	}
	return -1
}

func (m *Model) quit() tea.Cmd {
	m.cancel()
	return tea.Quit
}

// setStyles replaces the styles of everything drawn from now on (the input
// keeps the styles it was built with) and drops what was drawn with the old.
func (m *Model) setStyles(s styles) {
	m.st = s
	m.titleCache, m.sepCache = lineCache{}, lineCache{}
	m.status.out = ""
	m.roster.hasLines = false
	for i := range m.chat.items {
		m.chat.items[i].width = 0
	}
	m.help.lines = nil
}

func (m *Model) toggleHelp() {
	m.help.open = !m.help.open
	m.help.scroll = 0
}

func (m *Model) cycleFocus(dir int) {
	m.setFocus(focusArea((int(m.focus) + dir + int(numFocus)) % int(numFocus)))
}

func (m *Model) setFocus(f focusArea) {
	m.focus = f
	if f == focusInput {
		m.input.Focus()
	} else {
		m.input.Blur()
	}
}

// editInput passes a key or paste to the input, relaying out when the
// input grows or shrinks.
func (m *Model) editInput(msg tea.Msg) tea.Cmd {
	h := m.input.Height()
	cmd := m.input.Handle(msg)
	if m.input.Height() != h {
		m.layout()
	}
	return cmd
}
