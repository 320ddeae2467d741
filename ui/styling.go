package ui

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Message styling (XEP-0393) and links. A body is parsed into blocks
// first: preformatted blocks (from a line starting with ``` to a line that
// is only ```, or the end of the enclosing block) are drawn as they are;
// quotations (lines starting with ">", which may nest and may hold any
// block once one leading whitespace character is trimmed) get a coloured
// marker; every other line is a plain block parsed for spans. Spans are
// *strong*, _emphasis_, ~strikethrough~ and `preformatted` (whose content
// is not parsed further). An opening directive must start the block,
// follow whitespace or another opening directive, and be followed by
// something other than whitespace; the closing one, the first that fits
// (lazy matching), must not follow whitespace, and the span must not be
// empty. Spans never cross lines. The directives stay visible and take the
// style of their span, as the XEP recommends. Links (http, https, xmpp,
// mailto, geo) outside preformatted text are underlined.

// attr is a set of text attributes of a segment.
type attr uint8

const (
	attrStrong attr = 1 << iota
	attrEmph
	attrStrike
	attrCode
	attrLink
	attrQuote // the ">" marker of a quotation
	attrPre   // a preformatted block
)

// segment is a run of text with the same attributes.
type segment struct {
	text string
	attr attr
}

// linkRE finds links in text; trailing punctuation is trimmed afterwards.
var linkRE = regexp.MustCompile(`(?i)\b(?:https?://|xmpp:|mailto:|geo:)[^\s<>"]+`)

// trimLink drops punctuation that more likely ends the sentence than the
// link.
func trimLink(s string) string {
	return strings.TrimRight(s, ".,;:!?)]}'")
}

// firstLink returns the first link of a (sanitized) body outside
// preformatted text, "" if none.
func firstLink(body string) string {
	for _, line := range styleBlocks(strings.Split(body, "\n"), 0) {
		for _, s := range line {
			if s.attr&attrLink != 0 {
				return s.text
			}
		}
	}
	return ""
}

// styleBody parses body into lines of segments.
func styleBody(body string) [][]segment {
	return styleBlocks(strings.Split(body, "\n"), 0)
}

// styleBlocks parses lines as blocks inside a parent block with attributes
// base.
func styleBlocks(lines []string, base attr) [][]segment {
	var out [][]segment
	for i := 0; i < len(lines); {
		l := lines[i]
		switch {
		case strings.HasPrefix(l, "```"):
			j := i + 1
			for j < len(lines) && lines[j] != "```" {
				j++
			}
			end := min(j+1, len(lines))
			for _, pl := range lines[i:end] {
				out = append(out, []segment{{pl, base | attrPre}})
			}
			i = end
		case strings.HasPrefix(l, ">"):
			j := i
			var inner, marks []string
			for ; j < len(lines) && strings.HasPrefix(lines[j], ">"); j++ {
				rest := lines[j][1:]
				mark := ">"
				if r, n := utf8.DecodeRuneInString(rest); n > 0 && unicode.IsSpace(r) {
					mark, rest = mark+rest[:n], rest[n:]
				}
				inner = append(inner, rest)
				marks = append(marks, mark)
			}
			for k, sub := range styleBlocks(inner, base) {
				out = append(out, append([]segment{{marks[k], base | attrQuote}}, sub...))
			}
			i = j
		default:
			out = append(out, linkify(styleSpans(l, base)))
			i++
		}
	}
	return out
}

// directive returns the attribute a span directive character sets.
func directive(c byte) attr {
	switch c {
	case '*':
		return attrStrong
	case '_':
		return attrEmph
	case '~':
		return attrStrike
	case '`':
		return attrCode
	}
	return 0
}

func isSpaceByte(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// styleSpans parses one line of a plain block into segments.
func styleSpans(line string, base attr) []segment {
	var out []segment
	plainFrom := 0
	flush := func(to int) {
		if to > plainFrom {
			out = append(out, segment{line[plainFrom:to], base})
		}
	}
	for i := 0; i < len(line); i++ {
		a := directive(line[i])
		if a == 0 || !canOpen(line, i) {
			continue
		}
		end := closing(line, i)
		if end < 0 {
			continue
		}
		flush(i)
		open, inner, close := line[i:i+1], line[i+1:end], line[end:end+1]
		if a == attrCode {
			out = append(out, segment{line[i : end+1], base | a})
		} else {
			out = append(out, segment{open, base | a})
			out = append(out, styleSpans(inner, base|a)...)
			out = append(out, segment{close, base | a})
		}
		i = end
		plainFrom = end + 1
	}
	flush(len(line))
	return out
}

// canOpen reports whether the directive at i may open a span: at the
// start, after whitespace or after another opening directive, and not
// followed by whitespace or the end.
func canOpen(line string, i int) bool {
	if i+1 >= len(line) || isSpaceByte(line[i+1]) {
		return false
	}
	if i == 0 {
		return true
	}
	p := line[i-1]
	return isSpaceByte(p) || (directive(p) != 0 && p != line[i])
}

// closing returns the index of the directive closing the span opened at
// i, -1 if there is none: the first same character, at least two bytes on,
// that does not follow whitespace and leaves some text inside.
func closing(line string, i int) int {
	c := line[i]
	for j := i + 2; j < len(line); j++ {
		// The span must hold text: "***" styles nothing.
		if line[j] == c && !isSpaceByte(line[j-1]) && strings.Trim(line[i+1:j], line[i:i+1]) != "" {
			return j
		}
	}
	return -1
}

// linkify splits the links out of the segments that are not preformatted.
func linkify(segs []segment) []segment {
	var out []segment
	for _, s := range segs {
		if s.attr&(attrCode|attrPre) != 0 || !strings.Contains(s.text, ":") {
			out = append(out, s)
			continue
		}
		rest := s.text
		for {
			loc := linkRE.FindStringIndex(rest)
			if loc == nil {
				break
			}
			link := trimLink(rest[loc[0]:loc[1]])
			if loc[0] > 0 {
				out = append(out, segment{rest[:loc[0]], s.attr})
			}
			out = append(out, segment{link, s.attr | attrLink})
			rest = rest[loc[0]+len(link):]
		}
		if rest != "" {
			out = append(out, segment{rest, s.attr})
		}
	}
	return out
}
