package session

import (
	"strings"
	"testing"
)

func TestQuoteOf(t *testing.T) {
	got := quoteOf("bob", "one\r\ntwo\nthree\nfour")
	if got != "> bob wrote:\n> one\n> two\n> three\n> …\n" {
		t.Fatalf("%q", got)
	}
	long := strings.Repeat("é", 150)
	if got := quoteOf("", long); got != "> "+strings.Repeat("é", quoteLineRune-1)+"…\n" {
		t.Fatalf("%q", got)
	}
	// The quote and its range agree in code points, whatever the script.
	q := quoteOf("anna\nevil", "日本語 ✓")
	if strings.Count(q, "\n") != 2 || stripFallback(q+"reply", []fallback{{For: nsReply, Bodies: []fallbackRange{{Start: new(int), End: intPtr(len([]rune(q)))}}}}, nsReply) != "reply" {
		t.Fatalf("%q", q)
	}
}

func intPtr(n int) *int { return &n }
