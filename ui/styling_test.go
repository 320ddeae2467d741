package ui

import (
	"strings"
	"testing"
)

// show renders segments with their attributes as markers: [s:...] strong,
// [e:...] emphasis, [x:...] strike, [c:...] code, [l:...] link, [q:...]
// quote marker, [p:...] preformatted.
func show(lines [][]segment) string {
	names := []struct {
		a attr
		n string
	}{{attrStrong, "s"}, {attrEmph, "e"}, {attrStrike, "x"}, {attrCode, "c"}, {attrLink, "l"}, {attrQuote, "q"}, {attrPre, "p"}}
	var b strings.Builder
	for i, l := range lines {
		if i > 0 {
			b.WriteString("\n")
		}
		for _, s := range l {
			if s.attr == 0 {
				b.WriteString(s.text)
				continue
			}
			var tag string
			for _, n := range names {
				if s.attr&n.a != 0 {
					tag += n.n
				}
			}
			b.WriteString("[" + tag + ":" + s.text + "]")
		}
	}
	return b.String()
}

func TestMessageStyling(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		// The examples of XEP-0393.
		{"plain span", "plain span"},
		{"*strong span*", "[s:*][s:strong span][s:*]"},
		{"plain _emphasis_ plain", "plain [e:_][e:emphasis][e:_] plain"},
		{"`pre` plain *strong*", "[c:`pre`] plain [s:*][s:strong][s:*]"},
		{"*strong*plain*", "[s:*][s:strong][s:*]plain*"},
		{"* plain *strong*", "* plain [s:*][s:strong][s:*]"},
		{"not strong*", "not strong*"},
		{"*not strong", "*not strong"},
		{"*not \n strong*", "*not \n strong*"},
		{"*not *strong", "*not *strong"},
		{"**", "**"},
		{"***", "***"},
		{"****", "****"},
		{"This is `*monospace*`", "This is [c:`*monospace*`]"},
		{"This is *`monospace and bold`*", "This is [s:*][sc:`monospace and bold`][s:*]"},
		{"~gone~ and _*both*_", "[x:~][x:gone][x:~] and [e:_][se:*][se:both][se:*][e:_]"},
		{"snake_case_name stays", "snake_case_name stays"},
		// Blocks.
		{"```go\nx := *y*\n```\nafter *b*", "[p:```go]\n[p:x := *y*]\n[p:```]\nafter [s:*][s:b][s:*]"},
		{"```\nnever closed *x*", "[p:```]\n[p:never closed *x*]"},
		{"> That that is, is.\nSaid the old hermit", "[q:> ]That that is, is.\nSaid the old hermit"},
		{">> nested *q*\n> outer", "[q:>][q:> ]nested [s:*][s:q][s:*]\n[q:> ]outer"},
		{"> ```\n> code *x*\nplain", "[q:> ][p:```]\n[q:> ][p:code *x*]\nplain"},
		// Links.
		{"see https://example.org/a_b_c. ok", "see [l:https://example.org/a_b_c]. ok"},
		{"(xmpp:room@muc.example?join) and mailto:a@b.c", "([l:xmpp:room@muc.example?join]) and [l:mailto:a@b.c]"},
		{"*bold https://x.org*", "[s:*][s:bold ][sl:https://x.org][s:*]"},
		{"`https://not.a/link`", "[c:`https://not.a/link`]"},
	} {
		if got := show(styleBody(tt.in)); got != tt.want {
			t.Errorf("styleBody(%q)\n got %s\nwant %s", tt.in, got, tt.want)
		}
	}
}

func TestFirstLink(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"no link here", ""},
		{"`http://in.code` then https://b.example/x?y=1, done", "https://b.example/x?y=1"},
		{"> quoted http://q.example\nhttp://second.example", "http://q.example"},
	} {
		if got := firstLink(tt.in); got != tt.want {
			t.Errorf("firstLink(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
