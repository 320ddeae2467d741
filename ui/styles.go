package ui

import (
	"os"

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
	marker    lipgloss.Style // top-of-history line
	marks     map[store.State]lipgloss.Style
	msgError  lipgloss.Style

	// help
	helpKey     lipgloss.Style
	helpHeading lipgloss.Style

	// status line
	status      lipgloss.Style
	statusAcct  lipgloss.Style
	statusError lipgloss.Style
}

// noColor reports whether the user asked for no colour (https://no-color.org:
// any non-empty NO_COLOR). Bubble Tea's own detection only honours values
// strconv.ParseBool accepts, so the UI checks for itself and then draws with
// attributes (bold, reverse, faint) only.
func noColor() bool { return os.Getenv("NO_COLOR") != "" }

func newStyles(mono bool) styles {
	plain := lipgloss.NewStyle()
	fg := func(s lipgloss.Style, c string) lipgloss.Style {
		if mono {
			return s
		}
		return s.Foreground(lipgloss.Color(c))
	}
	bg := func(s lipgloss.Style, c string) lipgloss.Style {
		if mono {
			return s
		}
		return s.Background(lipgloss.Color(c))
	}
	green, yellow, red, blue, magenta, grey := "2", "3", "1", "4", "5", "8"

	s := styles{
		acctName: plain.Bold(true),
		acctState: [4]lipgloss.Style{
			session.Offline:      fg(plain, red),
			session.Connecting:   fg(plain, yellow),
			session.Online:       fg(plain, green),
			session.Reconnecting: fg(plain, yellow),
		},
		request:      fg(plain.Bold(true), yellow),
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

		title:     bg(fg(plain.Bold(true), "15"), "24"),
		time:      plain.Faint(true),
		senderIn:  fg(plain.Bold(true), blue),
		senderOut: fg(plain.Bold(true), green),
		daySep:    fg(plain.Faint(true), grey),
		marker:    plain.Faint(true),
		marks: map[store.State]lipgloss.Style{
			store.StatePending:   plain.Faint(true),
			store.StateSent:      plain.Faint(true),
			store.StateDelivered: fg(plain, green),
			store.StateRead:      fg(plain.Bold(true), green),
			store.StateFailed:    fg(plain.Bold(true), red),
		},
		msgError: fg(plain, red),

		helpKey:     fg(plain.Bold(true), blue),
		helpHeading: plain.Bold(true).Underline(true),

		status: bg(fg(plain, "252"), "236"),
	}
	if mono {
		// Without colour the title and status bars need reverse video to
		// stand apart from the text around them.
		s.title = plain.Bold(true).Reverse(true)
		s.status = plain.Reverse(true)
	}
	// Segments of the status bar keep its background.
	s.statusAcct = s.status.Bold(true)
	s.statusError = fg(s.status.Bold(true), "9")
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
