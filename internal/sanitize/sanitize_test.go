package sanitize

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestText(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"plain", "hello, world", "hello, world"},
		{"empty", "", ""},
		{"unicode", "héllo 世界 👋🏽", "héllo 世界 👋🏽"},
		{"newline kept", "a\nb", "a\nb"},
		{"crlf", "a\r\nb\rc", "a\nb\nc"},
		{"tab", "a\tb", "a" + strings.Repeat(" ", TabWidth) + "b"},
		{"title and clear", "\x1b]0;pwned\x07\x1b[2J", ""},
		{"title and clear around text", "hi\x1b]0;pwned\x07 there\x1b[2J!", "hi there!"},
		{"osc st terminator", "a\x1b]8;;http://evil\x1b\\link\x1b]8;;\x1b\\b", "alinkb"},
		{"osc c1 terminator", "a\x1b]2;x\u009cb", "ab"},
		{"osc unterminated", "a\x1b]2;rest of it", "a"},
		{"osc aborted by escape", "a\x1b]2;x\x1b[31mred", "ared"},
		{"csi color", "\x1b[1;31mred\x1b[0m", "red"},
		{"csi private", "\x1b[?1049h\x1b[?25l", ""},
		{"csi interrupted", "\x1b[12\nx", "\nx"},
		{"csi unterminated", "a\x1b[12;", "a"},
		{"dcs", "a\x1bPq#0;2;0;0;0\x1b\\b", "ab"},
		{"apc", "a\x1b_Gf=100;AAAA\x1b\\b", "ab"},
		{"pm sos", "a\x1b^pm\x1b\\b\x1bXsos\x1b\\c", "abc"},
		{"two byte", "a\x1bcb\x1b7c", "abc"},
		{"nF charset", "a\x1b(0b", "ab"},
		{"lone esc end", "ab\x1b", "ab"},
		{"lone esc before control", "a\x1b\x1b[mb", "ab"},
		{"lone esc before utf8", "a\x1bé", "aé"},
		{"bell", "a\x07b", "a␇b"},
		{"nul", "a\x00b", "a␀b"},
		{"backspace", "a\bb", "a␈b"},
		{"del", "a\x7fb", "a␡b"},
		{"c1 csi", "a\u009b31mb", "a\uFFFD31mb"},
		{"c1 nel", "a\u0085b", "a\uFFFDb"},
		{"bidi override", "abc\u202Egnp.exe", "abcgnp.exe"},
		{"bidi isolates", "\u2066x\u2069\u2067y\u2068", "xy"},
		{"bidi marks", "\u200Ea\u200Fb\u061Cc", "abc"},
		{"invalid utf8", "a\xffb\xc3", "a\uFFFDb\uFFFD"},
		{"literal replacement char kept", "a\uFFFDb", "a\uFFFDb"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Text(tt.in)
			if got != tt.want {
				t.Errorf("Text(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestLine(t *testing.T) {
	tests := []struct{ in, want string }{
		{"alice@example.org", "alice@example.org"},
		{"two\nlines", "two lines"},
		{"a\r\nb", "a b"},
		{"a\tb", "a b"},
		{"Away\x1b]0;pwned\x07\x1b[2J now", "Away now"},
		{"bad\u202Ename", "badname"},
	}
	for _, tt := range tests {
		if got := Line(tt.in); got != tt.want {
			t.Errorf("Line(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestNoAllocWhenClean(t *testing.T) {
	s := strings.Repeat("plain text with ünïcode 世界\n", 20)
	allocs := testing.AllocsPerRun(100, func() {
		if Text(s) != s {
			t.Fatal("clean text changed")
		}
	})
	if allocs != 0 {
		t.Errorf("Text of clean input allocated %v times", allocs)
	}
	l := "alice@example.org"
	allocs = testing.AllocsPerRun(100, func() { _ = Line(l) })
	if allocs != 0 {
		t.Errorf("Line of clean input allocated %v times", allocs)
	}
}

// checkSafe reports what is unsafe in out, or "".
func checkSafe(out string, line bool) string {
	if !utf8.ValidString(out) {
		return "invalid UTF-8"
	}
	for i := 0; i < len(out); i++ {
		c := out[i]
		if c == '\n' && !line {
			continue
		}
		if c < 0x20 || c == 0x7f {
			return "control byte"
		}
	}
	for _, r := range out {
		if isC1(r) {
			return "C1 control"
		}
		if isBidi(r) {
			return "bidi control"
		}
	}
	return ""
}

func FuzzText(f *testing.F) {
	for _, s := range []string{
		"", "hello", "\x1b]0;pwned\x07\x1b[2J", "\x1b[", "\x1b]", "\x1bP", "a\r\n\tb",
		"\u202e\u2066", "\xc2\x9b31m", "\xff\xfe", "\x1b(\x1b", "\x1b]\xc2\x9c", "\r\x1b[m\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, line := range []bool{false, true} {
			out := clean(s, line)
			if why := checkSafe(out, line); why != "" {
				t.Fatalf("clean(%q, %v) = %q: %s", s, line, out, why)
			}
			if again := clean(out, line); again != out {
				t.Fatalf("not idempotent (line=%v): %q -> %q -> %q", line, s, out, again)
			}
		}
	})
}

func BenchmarkText(b *testing.B) {
	clean := strings.Repeat("An ordinary message with ünïcode 世界 and emoji 👋. ", 8)
	dirty := strings.Repeat("colour \x1b[1;31mred\x1b[0m, title \x1b]0;x\x07, bidi \u202e. ", 8)
	for _, in := range []struct{ name, s string }{{"clean", clean}, {"dirty", dirty}} {
		b.Run(in.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(in.s)))
			for b.Loop() {
				_ = Text(in.s)
			}
		})
	}
}
