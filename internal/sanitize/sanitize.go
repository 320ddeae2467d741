package sanitize

import (
	"strings"
	"unicode/utf8"
)

// TabWidth is the number of spaces a tab becomes in Text. Tab stops cannot
// be honoured: the caller wraps and indents the text afterwards.
const TabWidth = 4

const (
	esc       = 0x1b
	ctrlPics  = 0x2400 // U+2400 SYMBOL FOR NULL: U+2400+c pictures C0 control c
	delPic    = '\u2421'
	c1First   = 0x80
	c1Last    = 0x9f
	stC1Lead  = 0xc2 // UTF-8 of U+009C STRING TERMINATOR is C2 9C
	stC1Trail = 0x9c
)

// Text returns s made safe to draw, keeping its line structure:
//
//   - escape sequences (CSI, OSC, DCS, SOS, PM, APC, nF and two-byte ones)
//     and lone ESC bytes are removed with everything they carry;
//   - "\n" is kept; "\r\n" and a lone "\r" become "\n";
//   - a tab becomes TabWidth spaces;
//   - any other C0 control and DEL becomes its visible Control Pictures
//     symbol (U+2400 block), so that "\x07" shows as "␇";
//   - C1 controls (U+0080–U+009F) and invalid UTF-8 bytes become U+FFFD;
//   - bidi embeddings, overrides, isolates and marks (U+202A–U+202E,
//     U+2066–U+2069, U+200E, U+200F, U+061C) are removed.
//
// Text is idempotent and returns s itself when nothing needs changing.
func Text(s string) string { return clean(s, false) }

// Line is Text for one-line contexts (names, JIDs, status messages, errors):
// line breaks and tabs become a single space each.
func Line(s string) string { return clean(s, true) }

// clean implements Text (line false) and Line (line true).
func clean(s string, line bool) string {
	i := firstUnsafe(s, line)
	if i == len(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	b.WriteString(s[:i])
	for i < len(s) {
		c := s[i]
		switch {
		case c >= 0x20 && c < 0x7f:
			b.WriteByte(c)
			i++
		case c == '\n':
			writeBreak(&b, line)
			i++
		case c == '\r':
			if i+1 < len(s) && s[i+1] == '\n' {
				i++
			}
			writeBreak(&b, line)
			i++
		case c == '\t':
			if line {
				b.WriteByte(' ')
			} else {
				b.WriteString(strings.Repeat(" ", TabWidth))
			}
			i++
		case c == esc:
			i = skipEscape(s, i)
		case c < 0x20:
			b.WriteRune(ctrlPics + rune(c))
			i++
		case c == 0x7f:
			b.WriteRune(delPic)
			i++
		default:
			r, n := utf8.DecodeRuneInString(s[i:])
			switch {
			case r == utf8.RuneError && n == 1, isC1(r):
				b.WriteRune(utf8.RuneError)
			case isBidi(r):
				// dropped
			default:
				b.WriteString(s[i : i+n])
			}
			i += n
		}
	}
	return b.String()
}

func writeBreak(b *strings.Builder, line bool) {
	if line {
		b.WriteByte(' ')
	} else {
		b.WriteByte('\n')
	}
}

// firstUnsafe returns the index of the first byte of s that clean would
// change, or len(s).
func firstUnsafe(s string, line bool) int {
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c < 0x7f {
			i++
			continue
		}
		if c == '\n' && !line {
			i++
			continue
		}
		if c < 0x80 {
			return i
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && n == 1) || isC1(r) || isBidi(r) {
			return i
		}
		i += n
	}
	return len(s)
}

// skipEscape returns the index just past the escape sequence that starts
// with the ESC at s[i]. A sequence interrupted by a byte that cannot belong
// to it ends before that byte, which is then handled on its own; an
// unterminated string sequence swallows the rest of s, as a terminal would.
func skipEscape(s string, i int) int {
	j := i + 1
	if j == len(s) {
		return j
	}
	switch c := s[j]; {
	case c == '[': // CSI: parameter and intermediate bytes, then a final byte
		for j++; j < len(s); j++ {
			c := s[j]
			if c >= 0x40 && c <= 0x7e {
				return j + 1
			}
			if c < 0x20 || c > 0x3f {
				return j
			}
		}
		return j
	case c == ']' || c == 'P' || c == 'X' || c == '^' || c == '_': // OSC, DCS, SOS, PM, APC
		osc := c == ']'
		for j++; j < len(s); j++ {
			switch s[j] {
			case 0x07:
				if osc {
					return j + 1
				}
			case esc:
				if j+1 < len(s) && s[j+1] == '\\' {
					return j + 2
				}
				return j // another escape starts: it aborts this string
			case stC1Lead:
				if j+1 < len(s) && s[j+1] == stC1Trail {
					return j + 2
				}
			}
		}
		return j
	case c >= 0x20 && c <= 0x2f: // nF: intermediates, then a final byte
		for ; j < len(s) && s[j] >= 0x20 && s[j] <= 0x2f; j++ {
		}
		if j < len(s) && s[j] >= 0x30 && s[j] <= 0x7e {
			return j + 1
		}
		return j
	case c >= 0x30 && c <= 0x7e: // two-byte escapes: ESC 7, ESC c, ESC \ ...
		return j + 1
	}
	return j // lone ESC before a control or a non-ASCII byte
}

func isC1(r rune) bool { return r >= c1First && r <= c1Last }

// isBidi reports whether r is an explicit bidi formatting character.
func isBidi(r rune) bool {
	switch {
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true
	case r == 0x200e, r == 0x200f, r == 0x061c:
		return true
	}
	return false
}
