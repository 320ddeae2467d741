package ui

import (
	"strings"

	"github.com/charmbracelet/x/ansi"
)

// helpPage is the list of keys and commands shown in place of the
// conversation. It is built from the same tables that bind them.
type helpPage struct {
	open   bool
	scroll int
	width  int
	lines  []string // built for width
}

// Render returns exactly h rows of exactly w cells.
func (hp *helpPage) Render(m *Model, w, h int) []string {
	if hp.lines == nil || hp.width != w {
		hp.lines = helpLines(m, w)
		hp.width = w
	}
	hp.scroll = max(0, min(hp.scroll, len(hp.lines)-h))
	out := make([]string, 0, h)
	for i := hp.scroll; i < hp.scroll+h; i++ {
		if i < len(hp.lines) {
			out = append(out, hp.lines[i])
		} else {
			out = append(out, spaces(w))
		}
	}
	return out
}

// helpKeyWidth caps the first column; longer keys get a line of their own.
const helpKeyWidth = 18

func helpLines(m *Model, w int) []string {
	st := &m.st
	var lines []string
	add := func(s string) { lines = append(lines, fit(s, w)) }
	entry := func(left, right string, lw int) {
		descW := max(10, w-lw-3)
		desc := strings.Split(ansi.Wordwrap(right, descW, ""), "\n")
		first := " " + st.helpKey.Render(left)
		if n := lenCells(left); n > lw {
			add(first)
			first = spaces(lw + 3)
		} else {
			first += spaces(lw - n + 2)
		}
		for i, d := range desc {
			if i == 0 {
				add(first + d)
			} else {
				add(spaces(lw+3) + d)
			}
		}
	}
	column := func(words []string) int {
		lw := 0
		for _, s := range words {
			if n := lenCells(s); n <= helpKeyWidth {
				lw = max(lw, n)
			}
		}
		return lw
	}

	add(st.helpHeading.Render("Keys"))
	var keys []string
	for _, a := range m.keys {
		keys = append(keys, a.key.Help().Key)
	}
	lw := column(keys)
	for _, sc := range []struct {
		s    scope
		name string
	}{{scopeGlobal, "anywhere"}, {scopeRoster, "in the roster"}, {scopeInput, "in the input"}, {scopeSwitcher, "in the quick switcher (ctrl+k)"}, {scopeSelect, "selecting messages (esc in an empty input)"}, {scopeSearch, "in the search results (/search)"}, {scopeForm, "in a room's configuration (/config)"}} {
		add(" " + sc.name + ":")
		for _, a := range m.keys {
			if a.scope == sc.s {
				entry(a.key.Help().Key, a.key.Help().Desc, lw)
			}
		}
	}
	add("")
	add(st.helpHeading.Render("Commands"))
	var usages []string
	for _, c := range m.commands {
		usages = append(usages, usage(c))
	}
	cw := column(usages)
	for _, c := range m.commands {
		entry(usage(c), c.help, cw)
	}
	for _, c := range omemoHelpCommands() {
		entry(usage(c), c.help, cw)
	}
	add("")
	for _, l := range strings.Split(ansi.Wordwrap("Text starting with // is sent with one slash; /me is sent as is. Esc or F1 closes this help; PgUp and PgDn scroll it.", w-2, ""), "\n") {
		add(" " + l)
	}
	return lines
}

func usage(c command) string {
	return strings.TrimSpace("/" + c.name + " " + c.usage)
}
