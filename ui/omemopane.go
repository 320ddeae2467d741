package ui

import (
	"strings"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
)

// omemoPane is the overlay of /omemo fingerprint, devices, verify and qr:
// lines of text (sanitized) and, for a QR code, its modules. It takes the
// place of the conversation; a QR code too tall for that takes the whole
// screen. Keys other than Esc and paging go on to the input, so a trust
// command can be typed while the fingerprints are on screen.
type omemoPane struct {
	open   bool
	title  string
	text   []string
	qr     [][]bool
	scroll int
	jid    string // whose devices are listed ("" for none)
}

// close hides the pane.
func (p *omemoPane) close() { *p = omemoPane{} }

// textLines wraps the text to w cells.
func (p *omemoPane) textLines(w int) []string {
	var out []string
	for _, t := range p.text {
		if t == "" {
			out = append(out, "")
			continue
		}
		indent := len(t) - len(strings.TrimLeft(t, " "))
		wrapped := strings.Split(ansi.Wrap(strings.TrimLeft(t, " "), max(10, w-1-indent), " "), "\n")
		for _, l := range wrapped {
			out = append(out, " "+spaces(indent)+l)
		}
	}
	return out
}

// qrFit returns the largest quiet zone (at most qrQuiet, at least 1) with
// which the code fits in w×h, and whether it fits at all (0 if not).
func (p *omemoPane) qrFit(w, h int) (int, bool) {
	for q := qrQuiet; q >= 1; q-- {
		qw, qh := qrSize(len(p.qr), q)
		if qw <= w && qh <= h {
			return q, true
		}
	}
	return 0, false
}

// centered pads s, which is cells wide, to the middle of w cells.
func centered(s string, cells, w int) string {
	left := max(0, (w-cells)/2)
	return fit(spaces(left)+s, w)
}

// Render returns exactly h rows of exactly w cells for the pane area:
// the QR code (when it fits) above the text, or the text alone.
func (p *omemoPane) Render(st *styles, lightInk bool, w, h int) []string {
	var lines []string
	if p.qr != nil {
		if q, ok := p.qrFit(w, h-1); ok {
			qw, _ := qrSize(len(p.qr), q)
			for _, l := range qrLines(p.qr, q, lightInk) {
				lines = append(lines, centered(l, qw, w))
			}
		} else {
			lines = append(lines, fit(" The terminal is too small for the QR code: enlarge it, or send the URI below.", w))
		}
	}
	lines = append(lines, p.textLines(w)...)
	p.scroll = max(0, min(p.scroll, len(lines)-h))
	out := make([]string, 0, h)
	for i := p.scroll; i < p.scroll+h; i++ {
		if i < len(lines) {
			out = append(out, fit(lines[i], w))
		} else {
			out = append(out, spaces(w))
		}
	}
	return out
}

// fullScreen draws a QR code that does not fit in the pane area over the
// whole screen (w×h), with a line saying how to leave; ok is false when
// the pane area is enough or there is no QR code.
func (p *omemoPane) fullScreen(lightInk bool, paneW, paneH, w, h int) (string, bool) {
	if !p.open || p.qr == nil {
		return "", false
	}
	// The pane is preferred unless the whole screen allows a wider
	// quiet zone, which scanners need.
	paneQ, _ := p.qrFit(paneW, paneH-1)
	q, fits := p.qrFit(w, h-1)
	if !fits || q <= paneQ {
		return "", false
	}
	qw, _ := qrSize(len(p.qr), q)
	var rows []string
	for _, l := range qrLines(p.qr, q, lightInk) {
		rows = append(rows, centered(l, qw, w))
	}
	rows = append(rows, centered("scan to verify · Esc closes", 27, w))
	for len(rows) < h {
		rows = append(rows, spaces(w))
	}
	return strings.Join(rows, "\n"), true
}

// omemoScreen is the whole screen when a QR code takes it.
func (m *Model) omemoScreen() (string, bool) {
	return m.omemo.pane.fullScreen(m.dark, m.chat.width, m.mainHeight()-1, m.width, m.height)
}

// omemoFullScreen reports whether a QR code takes the whole screen (there
// is no input to put the cursor in).
func (m *Model) omemoFullScreen() bool {
	_, ok := m.omemoScreen()
	return ok
}

// omemoPaneKey handles the keys of the open pane: Esc closes it, paging
// keys scroll it; it reports false for the others.
func (m *Model) omemoPaneKey(k tea.KeyPressMsg) (tea.Cmd, bool) {
	p := &m.omemo.pane
	switch k.String() {
	case "esc":
		p.close()
		return nil, true
	case "pgup":
		p.scroll -= max(1, m.chat.height-1)
	case "pgdown":
		p.scroll += max(1, m.chat.height-1)
	case "up":
		p.scroll--
	case "down":
		p.scroll++
	default:
		return nil, false
	}
	p.scroll = max(0, p.scroll)
	return nil, true
}
