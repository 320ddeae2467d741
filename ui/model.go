package ui

import (
	"context"
	"log/slog"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"

	"xchat/internal/sanitize"
	"xchat/session"
	"xchat/store"
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
	// NoMouse leaves the mouse to the terminal (for selecting text)
	// instead of scrolling and clicking in the interface.
	NoMouse bool
	// HideOffline starts with offline contacts hidden from the roster.
	HideOffline bool
	// OpenCommand opens a link given as its last argument; nil means
	// xdg-open. It runs with no terminal.
	OpenCommand []string
	// Bell rings the terminal bell on incoming messages.
	Bell bool
	// DesktopNotify shows incoming messages as desktop notifications,
	// through NotifyCommand (title and body are its last arguments, after
	// "--"), or notify-send when that is empty and notify-send is installed.
	DesktopNotify bool
	NotifyCommand []string
	// Theme sets the colours (see Theme); NO_COLOR still drops them all.
	Theme Theme
	// Nicks are our default nicks in rooms, by account JID; an account
	// missing here lets the session choose (the JID's local part).
	Nicks map[string]string
	// Media configures photos and files (media.go).
	Media MediaOptions
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
	kind store.ConvKind
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

	roster    roster
	wins      windowList
	switcher  switcher
	completer completer
	sel       selection
	search    searchPane
	opener    []string // command that opens links

	theme Theme
	dark  bool // the background is dark: detected, or Theme.Background

	bell        bool
	notifier    []string // desktop notifier command; nil: none
	termFocused bool     // the terminal has focus (as far as it reports)
	lastNotify  time.Time
	noWinHist   inputHistory // what was typed with no window open

	occ       occupantPane // the occupant list of the open room
	occHidden bool         // F4 or /names hides the occupant list
	form      configForm   // the /config overlay
	confirm   *confirmation

	compose   composeMode  // reply or correct mode of the input (features.go)
	react     *reactPrompt // the open reaction prompt
	typing    *typingState // the contact typing in the open conversation
	typingSeq int
	typingOut typingOut                            // our own chat state
	after     func(time.Duration, tea.Msg) tea.Cmd // timers; tests replace it
	displayed int64                                // newest message of the open chat a read marker went for

	newConvAcct int // account chosen with /account for new conversations; -1 if none
	chat        chatPane
	input       inputLine
	status      statusLine
	help        helpPage
	omemo       omemoUI // encryption state and the /omemo overlay (omemo.go)
	media       mediaUI // uploads, downloads and images (media.go)

	keys     []keyAction
	commands []command

	titleCache lineCache
	sepCache   lineCache

	focus         focusArea
	width, height int

	sidebarHidden  bool // F2 hides the roster column
	switcherCursor int  // column of the cursor in the switcher's query line
	noMouse        bool

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
		theme:       opts.Theme,
		dark:        opts.Theme.Background != "light",
		byAcct:      map[string]int{},
		keys:        keyActions(),
		commands:    commandTable(),
		pendingOpen: strings.TrimSpace(opts.Open),
		sending:     map[int]bool{},
		sendQueue:   map[int][]outgoing{},
		noMouse:     opts.NoMouse,
		newConvAcct: -1,
	}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	if err := m.theme.Validate(); err != nil {
		m.log.Warn("ignoring the theme", "err", err)
		m.theme = Theme{}
	}
	m.st = m.newStyles()
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
		st.nick = opts.Nicks[st.jid]
		m.byAcct[st.jid] = len(m.accts)
		m.accts = append(m.accts, st)
	}
	if m.pendingOpen != "" {
		if bare, err := parseJID(m.pendingOpen); err == nil {
			m.pendingOpen = bare
		}
	}
	m.roster = newRoster(&m.st, m.accts)
	m.roster.hideOffline = opts.HideOffline
	m.bell, m.notifier, m.termFocused = opts.Bell, notifierFor(opts), true
	m.after = tickAfter
	m.opener = opts.OpenCommand
	if m.opener == nil {
		m.opener = []string{"xdg-open"}
	}
	m.chat = newChatPane(&m.st)
	m.media.init(opts.Media)
	m.chat.media = &m.media
	m.input = newInput(&m.st)
	m.status = statusLine{st: &m.st}
	return m
}

// Init loads every account's roster and conversations from the store.
func (m *Model) Init() tea.Cmd {
	cmds := make([]tea.Cmd, 0, len(m.accts)+1)
	for i := range m.accts {
		cmds = append(cmds, m.loadAccountCmd(i))
	}
	if m.theme.Background == "" {
		cmds = append(cmds, tea.RequestBackgroundColor)
	}
	return tea.Batch(cmds...)
}

// Update handles one message. It never blocks: store and network work is
// returned as tea.Cmds.
func (m *Model) Update(msg tea.Msg) (_ tea.Model, cmd tea.Cmd) {
	if c, ok := m.onMediaMsg(msg); ok {
		return m, tea.Batch(c, m.overlayAfter(msg))
	}
	defer func() { cmd = tea.Batch(cmd, m.mediaAfter(msg)) }()
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.layout()
	case tea.KeyPressMsg:
		return m, m.handleKey(msg)
	case tea.MouseWheelMsg:
		return m, m.onWheel(msg)
	case tea.MouseClickMsg:
		return m, m.onClick(msg)
	case tea.PasteMsg:
		if m.switcher.open {
			m.switcher.Type(msg.Content)
			return m, nil
		}
		m.setFocus(focusInput)
		return m, m.editInput(msg)

	case session.StateEvent:
		m.onState(msg)
		return m, tea.Batch(m.encryptionOnState(msg), m.archiveOnState(msg))
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
		return m, tea.Batch(m.onMessage(msg), m.encryptionOnMessage(msg))
	case session.MessageStateEvent:
		m.onMessageState(msg)
	case session.SubscriptionRequestEvent:
		if a := m.account(msg.Account); a != nil && a.addRequest(msg.From) {
			m.roster.Invalidate()
			m.status.Info(sanitize.Line(msg.From) + " wants to see your presence: /approve or /deny")
		}
	case session.NoticeEvent:
		m.onNotice(msg)
	case session.RoomStateEvent:
		m.onRoomState(msg)
		return m, m.topInView() // a room just joined can be asked for its archive
	case session.RoomEvent:
		m.onRoomEvent(msg)
	case session.InviteEvent:
		m.onInvite(msg)
	case session.BookmarksEvent:
		if a := m.account(msg.Account); a != nil {
			a.bookmarks = msg.Bookmarks
			m.roster.Invalidate()
		}
	case session.SyncEvent:
		m.onSync(msg)
	case session.HistoryGapEvent:
		return m, m.onHistoryGap(msg)
	case historyMsg:
		return m, m.onHistoryMsg(msg)
	case roomOpDoneMsg:
		m.onRoomOpDone(msg)
	case configFormMsg:
		m.onConfigForm(msg)
	case roomCreatedMsg:
		return m, m.onRoomCreated(msg)

	case accountLoadedMsg:
		return m, m.onAccountLoaded(msg)
	case convLoadedMsg:
		return m, tea.Batch(m.onConvLoaded(msg), m.refreshEncryption(), m.pageReactions(msg.msgs), m.markDisplayed(), m.topInView())
	case omemoMsg:
		return m, m.onOMEMOMsg(msg)
	case omemoEvent:
		return m, m.onOMEMOEvent(msg)
	case olderLoadedMsg:
		return m, tea.Batch(m.onOlderLoaded(msg), m.pageReactions(msg.msgs), m.topInView())
	case newerLoadedMsg:
		return m, tea.Batch(m.onNewerLoaded(msg), m.pageReactions(msg.msgs))
	case sentMsg:
		return m, m.onSent(msg)
	case opDoneMsg:
		m.opDone(msg)
	case tea.BackgroundColorMsg:
		if m.theme.Background == "" && msg.Color != nil && msg.IsDark() != m.dark {
			m.dark = msg.IsDark()
			m.setStyles(m.newStyles())
		}
	case tea.FocusMsg:
		m.termFocused = true
		return m, tea.Batch(m.setActiveCmd(true), m.markDisplayed())
	case tea.BlurMsg:
		m.termFocused = false
		return m, m.setActiveCmd(false)
	case session.MessageUpdatedEvent:
		return m, m.onMessageUpdated(msg)
	case session.ChatStateEvent:
		return m, m.onChatState(msg)
	case session.ReadEvent:
		m.onReadElsewhere(msg)
	case reactionsMsg:
		m.onReactions(msg)
	case msgReloadedMsg:
		m.onMsgReloaded(msg)
	case featureDoneMsg:
		m.onFeatureDone(msg)
	case pausedTickMsg:
		return m, m.onPausedTick(msg)
	case typingExpiredMsg:
		if m.typing != nil && m.typing.seq == msg.seq {
			m.clearTyping()
		}
	case notifyDoneMsg:
		m.log.Warn("desktop notification", "err", msg.err)
	case searchDoneMsg:
		m.onSearchDone(msg)
	case openedMsg:
		m.onOpened(msg)
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

// newStyles builds the styles for the theme and the background.
func (m *Model) newStyles() styles {
	return newStyles(noColor(), m.dark, defaultPalette(m.dark).with(m.theme))
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
	m.input.SetStyles(&m.st)
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

// toggleSidebar hides or shows the roster column.
func (m *Model) toggleSidebar() tea.Cmd {
	m.sidebarHidden = !m.sidebarHidden
	if m.sidebarHidden && m.focus == focusRoster {
		m.setFocus(focusInput)
	}
	m.layout()
	return nil
}

// toggleOffline hides or shows the offline contacts.
func (m *Model) toggleOffline() tea.Cmd {
	m.roster.SetHideOffline(!m.roster.hideOffline)
	if m.roster.hideOffline {
		m.status.Info("offline contacts hidden (F3 or /offline shows them)")
	} else {
		m.status.Info("offline contacts shown")
	}
	return nil
}

// wheelRows is how far one wheel notch scrolls the conversation.
const wheelRows = 3

// onWheel scrolls the conversation (or the help) with the mouse wheel.
func (m *Model) onWheel(msg tea.MouseWheelMsg) tea.Cmd {
	if ow := m.occupantColumn(); ow > 0 && msg.X >= m.width-ow {
		if r := m.openRoom(); r != nil {
			d := wheelRows
			if msg.Button == tea.MouseWheelUp {
				d = -d
			}
			m.occ.Scroll(r, d, m.chat.height)
		}
		return nil
	}
	switch msg.Button {
	case tea.MouseWheelUp:
		return m.scrollUp(wheelRows)
	case tea.MouseWheelDown:
		return m.scrollDown(wheelRows)
	}
	return nil
}

// onClick opens the roster entry clicked with the left button.
func (m *Model) onClick(msg tea.MouseClickMsg) tea.Cmd {
	rw := m.sidebarWidth()
	if msg.Button != tea.MouseLeft || msg.X >= rw || msg.Y >= m.mainHeight() {
		return nil
	}
	i, ok := m.roster.RowAt(msg.Y)
	if !ok || !m.roster.SelectRow(i) {
		return nil
	}
	m.switcher.Close()
	m.search.open = false
	return m.activateSelection()
}
