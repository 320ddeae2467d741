package ui

import (
	"os"
	"strings"

	"charm.land/bubbles/v2/textarea"
	"charm.land/lipgloss/v2"

	"xchat/session"
	"xchat/store"
)

// styles holds every style the UI draws with. Nothing else in the package
// creates colours, so a theme or NO_COLOR changes only this file.
type styles struct {
	// roster
	acctName     lipgloss.Style
	acctState    [4]lipgloss.Style // indexed by session.ConnState
	request      lipgloss.Style
	group        lipgloss.Style
	contact      lipgloss.Style
	openContact  lipgloss.Style
	unread       lipgloss.Style
	selected     lipgloss.Style // the roster cursor while the roster has focus
	presence     map[session.Show]lipgloss.Style
	offline      lipgloss.Style
	separator    lipgloss.Style
	emptyMessage lipgloss.Style

	// chat pane
	title     lipgloss.Style
	time      lipgloss.Style
	senderIn  lipgloss.Style
	senderOut lipgloss.Style
	daySep    lipgloss.Style
	unreadSep lipgloss.Style
	marker    lipgloss.Style // top-of-history line
	marks     map[store.State]lipgloss.Style
	msgError  lipgloss.Style
	mention   lipgloss.Style // the time of a message that mentions our nick
	notice    lipgloss.Style // room events: joins, kicks, topic changes

	// help
	helpKey     lipgloss.Style
	helpHeading lipgloss.Style

	// status line
	status      lipgloss.Style
	statusAcct  lipgloss.Style
	statusError lipgloss.Style
	statusWins  lipgloss.Style

	// message styling (XEP-0393) and links
	mono        bool
	dark        bool // the terminal's background is dark
	colorNames  bool // senders in their XEP-0392 colours
	strong      lipgloss.Style
	emph        lipgloss.Style
	strike      lipgloss.Style
	code        lipgloss.Style
	link        lipgloss.Style
	quote       lipgloss.Style
	pre         lipgloss.Style
	lock        lipgloss.Style
	edited      lipgloss.Style
	ownReaction lipgloss.Style     // our own reactions under a message
	segStyles   map[attr][2]string // escape sequences of attribute sets, built on demand
	names       map[string]lipgloss.Style
}

// maxNameStyles bounds the cache of name colours.
const maxNameStyles = 1024

// segSGR returns the escape sequences that start and end text with a set
// of attributes. They are taken from lipgloss once per set: rendering
// whole segments with lipgloss would style underlined and struck-through
// text rune by rune.
func (s *styles) segSGR(a attr) (start, end string) {
	if e, ok := s.segStyles[a]; ok {
		return e[0], e[1]
	}
	st := lipgloss.NewStyle()
	for _, x := range []struct {
		bit attr
		s   lipgloss.Style
	}{{attrPre, s.pre}, {attrCode, s.code}, {attrQuote, s.quote}, {attrLink, s.link}, {attrStrong, s.strong}, {attrEmph, s.emph}, {attrStrike, s.strike}} {
		if a&x.bit != 0 {
			st = st.Inherit(x.s)
		}
	}
	start, end, _ = strings.Cut(st.Render("x"), "x")
	if s.segStyles == nil {
		s.segStyles = map[attr][2]string{}
	}
	s.segStyles[a] = [2]string{start, end}
	return start, end
}

// nameStyle is the style of a sender: bold, in the XEP-0392 colour of key
// (a bare JID, or a nickname in a room).
func (s *styles) nameStyle(key string, outgoing bool) lipgloss.Style {
	if !s.colorNames || key == "" {
		if outgoing {
			return s.senderOut
		}
		return s.senderIn
	}
	if st, ok := s.names[key]; ok {
		return st
	}
	if s.names == nil || len(s.names) >= maxNameStyles {
		s.names = map[string]lipgloss.Style{}
	}
	st := lipgloss.NewStyle().Bold(true).Foreground(lipgloss.Color(jidColor(key, s.dark)))
	s.names[key] = st
	return st
}

// noColor reports whether the user asked for no colour (https://no-color.org:
// any non-empty NO_COLOR). Bubble Tea's own detection only honours values
// strconv.ParseBool accepts, so the UI checks for itself and then draws with
// attributes (bold, reverse, faint) only.
func noColor() bool { return os.Getenv("NO_COLOR") != "" }

// newStyles builds the styles for a colour palette; mono drops every
// colour, dark says the background is dark.
func newStyles(mono, dark bool, pal palette) styles {
	plain := lipgloss.NewStyle()
	fg := func(s lipgloss.Style, c string) lipgloss.Style {
		if mono || !validColor(c) {
			return s
		}
		return s.Foreground(lipgloss.Color(c))
	}
	bg := func(s lipgloss.Style, c string) lipgloss.Style {
		if mono || !validColor(c) {
			return s
		}
		return s.Background(lipgloss.Color(c))
	}
	green, yellow, red, blue, magenta, cyan, grey := pal.Online, pal.Away, pal.Busy, pal.Accent, pal.Unread, pal.Group, pal.Offline

	s := styles{
		acctName: plain.Bold(true),
		acctState: [4]lipgloss.Style{
			session.Offline:      fg(plain, red),
			session.Connecting:   fg(plain, yellow),
			session.Online:       fg(plain, green),
			session.Reconnecting: fg(plain, yellow),
		},
		request:      fg(plain.Bold(true), pal.Request),
		group:        fg(plain.Bold(true), cyan),
		contact:      plain,
		openContact:  plain.Bold(true),
		unread:       fg(plain.Bold(true), magenta),
		selected:     plain.Reverse(true),
		offline:      fg(plain, grey),
		separator:    fg(plain.Faint(true), grey),
		emptyMessage: plain.Faint(true),
		presence: map[session.Show]lipgloss.Style{
			session.ShowOnline: fg(plain, green),
			session.ShowChat:   fg(plain, green),
			session.ShowAway:   fg(plain, yellow),
			session.ShowXA:     fg(plain, yellow),
			session.ShowDND:    fg(plain, red),
		},

		title:     bg(fg(plain.Bold(true), pal.Title), pal.TitleBackground),
		time:      plain.Faint(true),
		senderIn:  fg(plain.Bold(true), blue),
		senderOut: fg(plain.Bold(true), green),
		daySep:    fg(plain.Faint(true), grey),
		unreadSep: fg(plain.Bold(true), magenta),
		marker:    plain.Faint(true),
		marks: map[store.State]lipgloss.Style{
			store.StatePending:   plain.Faint(true),
			store.StateSent:      plain.Faint(true),
			store.StateDelivered: fg(plain, green),
			store.StateRead:      fg(plain.Bold(true), green),
			store.StateFailed:    fg(plain.Bold(true), pal.Error),
		},
		msgError: fg(plain, pal.Error),

		helpKey:     fg(plain.Bold(true), blue),
		helpHeading: plain.Bold(true).Underline(true),

		status: bg(fg(plain, pal.Status), pal.StatusBackground),
	}
	s.mono, s.dark, s.colorNames = mono, dark, !mono
	s.strong = plain.Bold(true)
	s.emph = plain.Italic(true)
	s.strike = plain.Strikethrough(true)
	s.code = fg(plain, pal.Code)
	s.pre = fg(plain, pal.Code)
	s.link = fg(plain.Underline(true), pal.Link)
	s.quote = fg(plain.Bold(true), pal.Quote)
	s.lock = fg(plain, green)
	s.edited = plain.Faint(true)
	s.ownReaction = plain.Bold(true).Reverse(true)
	s.mention = fg(plain.Bold(true).Reverse(true), magenta)
	s.notice = plain.Faint(true)
	if mono {
		s.code, s.pre = plain.Faint(true), plain.Faint(true)
		// Without colour the title and status bars need reverse video to
		// stand apart from the text around them.
		s.title = plain.Bold(true).Reverse(true)
		s.status = plain.Reverse(true)
	}
	// Segments of the status bar keep its background.
	s.statusAcct = s.status.Bold(true)
	s.statusError = fg(s.status.Bold(true), pal.StatusError)
	s.statusWins = s.status
	return s
}

// textarea returns the input's styles: no backgrounds, a bold prompt that
// dims when the input loses focus, and a steady real cursor.
func (s *styles) textarea() textarea.Styles {
	ts := textarea.DefaultStyles(true)
	plain := lipgloss.NewStyle()
	for _, ss := range []*textarea.StyleState{&ts.Focused, &ts.Blurred} {
		ss.Base, ss.CursorLine, ss.Text, ss.EndOfBuffer = plain, plain, plain, plain
		ss.Placeholder = s.emptyMessage
		ss.Prompt = s.acctName
		ss.Selection = plain.Reverse(true)
	}
	ts.Blurred.Prompt = s.emptyMessage
	ts.Cursor.Blink = false
	return ts
}
