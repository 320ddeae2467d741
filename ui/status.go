package ui

import (
	"time"

	"xchat/session"
)

// statusLine is the bar between the conversation and the input: the state
// of the current account, then the last notice or error. Errors stay until
// something replaces them, so a wrong password cannot scroll away.
type statusLine struct {
	st    *styles
	text  string // sanitized
	isErr bool

	drawnFor statusKey // what out was drawn for
	out      string
}

// statusKey is everything a drawing of the status line depends on.
type statusKey struct {
	width int
	label string
	state session.ConnState
	retry time.Time
	loc   *time.Location
	text  string
	isErr bool
	none  bool
	wins  string
	sync  string
}

// Info shows a notice.
func (s *statusLine) Info(text string) { s.text, s.isErr = text, false }

// Error shows an error.
func (s *statusLine) Error(text string) { s.text, s.isErr = text, true }

// Text returns the current notice and whether it is an error.
func (s *statusLine) Text() (string, bool) { return s.text, s.isErr }

// Render draws the bar, exactly width cells, for the given account (nil when
// there is none); times are shown in loc.
// wins is the window bar, "" when no window is open.
func (s *statusLine) Render(width int, a *accountState, loc *time.Location, wins string) string {
	key := statusKey{width: width, loc: loc, text: s.text, isErr: s.isErr, none: a == nil, wins: wins}
	if a != nil {
		key.label, key.state, key.retry = a.label, a.state, a.retry
		key.sync = a.sync.text()
	}
	if key == s.drawnFor && s.out != "" {
		return s.out
	}
	s.out, s.drawnFor = s.draw(width, a, loc, wins), key
	return s.out
}

func (s *statusLine) draw(width int, a *accountState, loc *time.Location, wins string) string {
	st := s.st
	var left, state string
	if a == nil {
		state = " no account "
	} else {
		left = " " + a.label
		state = " " + a.state.String()
		if a.state == session.Reconnecting && !a.retry.IsZero() {
			state += " (next try " + a.retry.In(loc).Format(time.TimeOnly) + ")"
		}
		if t := a.sync.text(); t != "" && a.state == session.Online {
			state += " · " + t // catch-up progress, gone when it is done
		}
		state += " "
	}
	left = truncate(left, width)
	state = truncate(state, width-lenCells(left))
	used := lenCells(left) + lenCells(state)
	out := st.statusAcct.Render(left) + st.status.Render(state)
	if wins != "" && used+5 <= width {
		bar := truncate(wins, min(width-used-3, max(12, width/3)))
		out += st.status.Render("│ ") + st.statusWins.Render(bar) + st.status.Render(" ")
		used += 3 + lenCells(bar)
	}
	if s.text != "" && used+3 <= width {
		note := truncate(s.text, width-used-2)
		style := st.status
		if s.isErr {
			style = st.statusError
		}
		out += st.status.Render("│ ") + style.Render(note)
		used += 2 + lenCells(note)
	}
	return out + st.status.Render(spaces(width-used))
}
