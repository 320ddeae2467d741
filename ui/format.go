package ui

import (
	"strings"
	"time"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"xchat/session"
)

// blanks backs spaces for the common widths without allocating.
var blanks = strings.Repeat(" ", 256)

// spaces returns n spaces.
func spaces(n int) string {
	if n <= 0 {
		return ""
	}
	if n <= len(blanks) {
		return blanks[:n]
	}
	return strings.Repeat(" ", n)
}

// fit pads or truncates s, which may hold SGR sequences, to exactly w cells.
func fit(s string, w int) string {
	if w <= 0 {
		return ""
	}
	sw := ansi.StringWidth(s)
	if sw > w {
		s = ansi.Truncate(s, w, "…")
		sw = ansi.StringWidth(s)
	}
	return s + spaces(w-sw)
}

// truncate shortens plain or styled text to at most w cells.
func truncate(s string, w int) string {
	if w <= 0 {
		return ""
	}
	if ansi.StringWidth(s) <= w {
		return s
	}
	return ansi.Truncate(s, w, "…")
}

// presenceGlyph is the one-cell symbol drawn before a contact.
func presenceGlyph(show session.Show, online bool) string {
	if !online {
		return "○"
	}
	switch show {
	case session.ShowAway:
		return "◐"
	case session.ShowXA:
		return "◑"
	case session.ShowDND:
		return "⊘"
	}
	return "●"
}

// showName is the word for an availability in titles and the status bar.
func showName(show session.Show) string {
	switch show {
	case session.ShowOnline:
		return "online"
	case session.ShowChat:
		return "free for chat"
	case session.ShowAway:
		return "away"
	case session.ShowXA:
		return "not available"
	case session.ShowDND:
		return "do not disturb"
	}
	return "offline"
}

// dayKey identifies a calendar day in t's location.
func dayKey(t time.Time) int {
	y, m, d := t.Date()
	return y*10000 + int(m)*100 + d
}

// dayLabel names the day of t relative to now (both in the display zone).
func dayLabel(t, now time.Time) string {
	switch dayKey(t) {
	case dayKey(now):
		return "Today"
	case dayKey(now.AddDate(0, 0, -1)):
		return "Yesterday"
	}
	if t.Year() == now.Year() {
		return t.Format("Monday, 2 January")
	}
	return t.Format("Monday, 2 January 2006")
}

// lineCache remembers the last styled rendering of a line, so that a frame
// where the line did not change costs a comparison, not a lipgloss render.
// Each cache is used with one style; restyling resets it.
type lineCache struct {
	text  string
	width int
	out   string
	ok    bool
}

// get returns style.Render(fit(text, width)), from the cache when text and
// width are those of the last call.
func (c *lineCache) get(text string, width int, style lipgloss.Style) string {
	if c.ok && c.text == text && c.width == width {
		return c.out
	}
	c.text, c.width, c.ok = text, width, true
	c.out = style.Render(fit(text, width))
	return c.out
}
