package ui

import (
	"slices"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"xchat/store"
)

func TestFuzzyScore(t *testing.T) {
	for _, tt := range []struct {
		pattern, text string
		ok            bool
	}{
		{"", "anything", true},
		{"ali", "Alice alice@example.org", true},
		{"aex", "Alice alice@example.org", true},
		{"ALI", "alice", true},
		{"xyz", "Alice alice@example.org", false},
		{"ecila", "alice", false}, // order matters
	} {
		if _, ok := fuzzyScore(lowerRunes(tt.pattern), tt.text); ok != tt.ok {
			t.Errorf("fuzzyScore(%q, %q) ok = %v, want %v", tt.pattern, tt.text, ok, tt.ok)
		}
	}
	score := func(p, s string) int {
		sc, ok := fuzzyScore(lowerRunes(p), s)
		if !ok {
			t.Fatalf("%q does not match %q", p, s)
		}
		return sc
	}
	// A prefix beats a scattered match; a word start beats a middle.
	if a, b := score("bo", "Bob bob@x.org"), score("bo", "Jacob Lobo jl@x.org"); a <= b {
		t.Errorf("prefix %d <= scattered %d", a, b)
	}
	if a, b := score("s", "Dan Smith"), score("s", "Dan Wilson"); a <= b {
		t.Errorf("word start %d <= middle %d", a, b)
	}
}

func TestQuickSwitcher(t *testing.T) {
	st := newFakeStore()
	st.contacts[me] = []store.Contact{
		{Account: me, JID: alice, Name: "Alice"},
		{Account: me, JID: bob, Name: "Bob"},
	}
	st.contacts[work] = []store.Contact{{Account: work, JID: "boss@work.example", Name: "The Boss"}}
	st.convs[me] = []store.Conversation{{Account: me, Peer: "zoe@example.net", Unread: 2}}
	h := newHarness(t, st, newFakeAccount(me), newFakeAccount(work))
	h.send(tea.WindowSizeMsg{Width: 120, Height: 40})

	h.press("ctrl+k")
	if !h.m.switcher.open {
		t.Fatal("ctrl+k did not open the switcher")
	}
	screen := h.screen()
	for _, want := range []string{"Go to:", "1: zoe@example.net — me@example.org (2)", "Alice <alice@example.org>", "The Boss <boss@work.example> — me@work.example"} {
		if !strings.Contains(screen, want) {
			t.Errorf("switcher lacks %q:\n%s", want, screen)
		}
	}
	var labels []string
	for _, i := range h.m.switcher.matches {
		labels = append(labels, h.m.switcher.items[i].label)
	}
	if labels[0] != "zoe@example.net" {
		t.Errorf("with no query the open window comes first: %v", labels)
	}
	v := h.m.View()
	if v.Cursor == nil || v.Cursor.Y != 1 || v.Cursor.X != 31+len(" Go to: ") {
		t.Errorf("cursor = %+v, want after the prompt on the query line", v.Cursor)
	}

	h.typeText("bos")
	if it, ok := h.m.switcher.Selected(); !ok || it.jid != "boss@work.example" {
		t.Fatalf("bos selects %+v", it)
	}
	h.press("backspace", "backspace")
	h.typeText("ob")
	if it, _ := h.m.switcher.Selected(); it.jid != bob {
		t.Fatalf("bob selects %+v", it)
	}
	h.press("down", "up")
	if it, _ := h.m.switcher.Selected(); it.jid != bob {
		t.Fatalf("down, up moved to %+v", it)
	}
	h.press("enter")
	if h.m.switcher.open || !h.m.chat.IsOpen(0, bob) {
		t.Fatalf("enter: switcher open %v, pane %q", h.m.switcher.open, h.m.chat.peer)
	}

	// Esc cancels without switching; nothing matching opens nothing.
	h.press("ctrl+k")
	h.typeText("qqqq")
	if !strings.Contains(h.screen(), "nothing matches") {
		t.Errorf("no-match hint missing:\n%s", h.screen())
	}
	h.press("enter")
	if !h.m.chat.IsOpen(0, bob) || h.m.switcher.open {
		t.Error("enter with no match changed the conversation")
	}
	h.press("ctrl+k")
	h.typeText("ali")
	h.press("esc")
	if h.m.switcher.open || !h.m.chat.IsOpen(0, bob) {
		t.Error("esc did not cancel")
	}
	if h.m.input.Value() != "" {
		t.Errorf("typing in the switcher reached the input: %q", h.m.input.Value())
	}
	// Paste goes to the query.
	h.press("ctrl+k")
	h.send(tea.PasteMsg{Content: "boss"})
	if it, _ := h.m.switcher.Selected(); it.jid != "boss@work.example" {
		t.Errorf("paste selects %+v", it)
	}
	// Ctrl+C still quits.
	h.press("ctrl+c")
	if !h.quit {
		t.Error("ctrl+c does not quit from the switcher")
	}
}

func TestCtrlKInInputDeletesFirst(t *testing.T) {
	h, _, _ := oneAccount(t)
	h.typeText("hello world")
	for range 6 {
		h.press("left")
	}
	h.press("ctrl+k")
	if h.m.switcher.open || h.m.input.Value() != "hello" {
		t.Fatalf("ctrl+k mid-line: switcher %v, input %q", h.m.switcher.open, h.m.input.Value())
	}
	h.press("ctrl+k")
	if !h.m.switcher.open {
		t.Error("ctrl+k at the end of the line did not open the switcher")
	}
	if got := slices.Collect(func(yield func(string) bool) {
		for _, it := range h.m.switcher.items {
			if !yield(it.jid) {
				return
			}
		}
	}); !slices.Contains(got, alice) || !slices.Contains(got, bob) {
		t.Errorf("destinations = %v", got)
	}
}
