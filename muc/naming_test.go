package muc

import (
	"strings"
	"testing"
)

func TestLocalpartFromName(t *testing.T) {
	fixed := func() string { return "r4nd" }
	for in, want := range map[string]string{
		"Book Club":                "book-club",
		"  Café   Crème  ":         "cafe-creme",
		"Straße & Ærø":             "strasse-aero",
		`a"b&c'd/e:f<g>h@i`:        "a-b-c-d-e-f-g-h-i",
		"--Rock -- n -- Roll--":    "rock-n-roll",
		"team.alpha_2":             "team.alpha_2",
		"Łódź Żółć":                "lodz-zolc",
		"日本語":                      "room-r4nd",
		"":                         "room-r4nd",
		"!!!":                      "room-r4nd",
		"日本 chat":                  "chat",
		"ＦＵＬＬ width":               "full-width",
		"emoji 🎉 party":            "emoji-party",
		"tab\there\nnewline":       "tab-here-newline",
		"...dots...":               "dots",
		strings.Repeat("abc ", 30): strings.TrimRight(strings.Repeat("abc-", 16), "-"),
	} {
		got := LocalpartFromNameRand(in, fixed)
		if got != want {
			t.Errorf("%q → %q, want %q", in, got, want)
		}
		if len(got) > 64 || strings.ContainsAny(got, "\"&'/:<>@ ") || got != strings.ToLower(got) {
			t.Errorf("%q → %q is not a safe localpart", in, got)
		}
	}
	// The real suffix is random and non-empty.
	a, b := LocalpartFromName("☃"), LocalpartFromName("☃")
	if a == b || !strings.HasPrefix(a, "room-") || len(a) <= len("room-") {
		t.Errorf("random fallback %q %q", a, b)
	}
}
