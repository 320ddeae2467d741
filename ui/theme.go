package ui

import (
	"fmt"
	"strconv"
	"strings"
)

// Theme names the colours of the interface, for the configuration file.
// A colour is an ANSI colour number ("0" to "255", where 0-15 follow the
// terminal's own palette) or "#rrggbb"; an empty field keeps the default.
// Names of senders are not themed: they take their XEP-0392 colour.
type Theme struct {
	// Background is "dark" or "light"; empty asks the terminal (and
	// assumes dark until it answers, or if it never does).
	Background string

	Title, TitleBackground   string // the conversation's title bar
	Status, StatusBackground string // the status bar
	StatusError              string // errors in the status bar
	Online, Away, Busy       string // presence glyphs, and account states
	Offline                  string // offline contacts, separators
	Unread                   string // unread counts, the "new messages" line
	Group                    string // roster group headings
	Request                  string // subscription requests
	Error                    string // failed messages
	Link, Code, Quote        string // message styling
	Accent                   string // keys in the help
}

// palette is a theme with every colour filled in.
type palette Theme

// defaultPalette returns the colours for a dark or light background.
func defaultPalette(dark bool) palette {
	p := palette{
		Title: "15", TitleBackground: "24",
		Status: "252", StatusBackground: "236", StatusError: "9",
		Online: "2", Away: "3", Busy: "1", Offline: "8",
		Unread: "5", Group: "6", Request: "3", Error: "1",
		Link: "4", Code: "6", Quote: "2", Accent: "4",
	}
	if !dark {
		p.Status, p.StatusBackground, p.StatusError = "236", "254", "1"
		p.Offline = "244"
	}
	return p
}

// with overrides the palette with the non-empty colours of t.
func (p palette) with(t Theme) palette {
	dst := []*string{&p.Title, &p.TitleBackground, &p.Status, &p.StatusBackground, &p.StatusError,
		&p.Online, &p.Away, &p.Busy, &p.Offline, &p.Unread, &p.Group, &p.Request, &p.Error,
		&p.Link, &p.Code, &p.Quote, &p.Accent}
	src := []string{t.Title, t.TitleBackground, t.Status, t.StatusBackground, t.StatusError,
		t.Online, t.Away, t.Busy, t.Offline, t.Unread, t.Group, t.Request, t.Error,
		t.Link, t.Code, t.Quote, t.Accent}
	for i, c := range src {
		if c = strings.TrimSpace(c); c != "" {
			*dst[i] = c
		}
	}
	return p
}

// Validate reports the first colour of t that is neither an ANSI number
// nor "#rrggbb", and a Background other than "", "dark" or "light".
func (t Theme) Validate() error {
	switch t.Background {
	case "", "dark", "light":
	default:
		return fmt.Errorf("theme: background %q is neither dark nor light", t.Background)
	}
	for _, c := range []string{t.Title, t.TitleBackground, t.Status, t.StatusBackground, t.StatusError,
		t.Online, t.Away, t.Busy, t.Offline, t.Unread, t.Group, t.Request, t.Error,
		t.Link, t.Code, t.Quote, t.Accent} {
		if c != "" && !validColor(c) {
			return fmt.Errorf("theme: %q is not a colour (0-255 or #rrggbb)", c)
		}
	}
	return nil
}

func validColor(c string) bool {
	if n, err := strconv.Atoi(c); err == nil {
		return n >= 0 && n <= 255
	}
	if len(c) != 7 || c[0] != '#' {
		return false
	}
	_, err := strconv.ParseUint(c[1:], 16, 32)
	return err == nil
}
