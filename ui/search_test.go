package ui

import (
	"fmt"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"xchat/store"
)

func TestSearch(t *testing.T) {
	st := newFakeStore()
	st.contacts[me] = []store.Contact{{Account: me, JID: alice, Name: "Alice"}, {Account: me, JID: bob, Name: "Bob"}}
	for i := range 1000 {
		body := fmt.Sprintf("m%d", i)
		if i == 300 {
			body = "the Needle is here, somewhere in a rather long message about haystacks and other things"
		}
		st.add(store.Message{Account: me, Peer: alice, Body: body, Timestamp: testNow.Add(time.Duration(i-1000) * time.Minute), Sender: alice})
	}
	st.add(store.Message{Account: me, Peer: bob, Body: "no needle", Timestamp: testNow, Sender: bob, Direction: store.Outgoing})
	h := newHarness(t, st, newFakeAccount(me))
	h.send(tea.WindowSizeMsg{Width: 120, Height: 40})

	h.typeText("/search needle")
	cmd := h.update(keyMsg("enter"))
	if countCalls(st.Calls(), "Search") != 0 {
		t.Fatal("Update searched the store itself")
	}
	h.run(cmd)
	if !h.m.search.open || len(h.m.search.hits) != 2 {
		t.Fatalf("results: open %v, %d hits", h.m.search.open, len(h.m.search.hits))
	}
	screen := h.screen()
	for _, want := range []string{"2 messages with “needle”", "2024-05-06 12:00  Bob  me: no needle", "2024-05-06 00:20  Alice  Alice: the Needle is here, somewhere"} {
		if !strings.Contains(screen, want) {
			t.Errorf("results lack %q:\n%s", want, screen)
		}
	}
	h.press("down", "enter")
	if h.m.search.open || !h.m.chat.IsOpen(0, alice) {
		t.Fatalf("enter: results open %v, pane %q", h.m.search.open, h.m.chat.peer)
	}
	p := &h.m.chat
	if !p.detached || !p.hasOlder || len(p.items) != pageSize+1 {
		t.Errorf("around the hit: %d items, detached %v, hasOlder %v", len(p.items), p.detached, p.hasOlder)
	}
	if first, last := p.items[0].body, p.items[len(p.items)-1].body; first != "m200" || last != "m400" {
		t.Errorf("loaded %s..%s, want m200..m400", first, last)
	}
	if !h.m.sel.active || !strings.HasPrefix(selectedBody(h), "the Needle") {
		t.Errorf("the hit is not selected: %q", selectedBody(h))
	}
	if !strings.Contains(h.screen(), "the Needle is here") {
		t.Errorf("the hit is not on screen:\n%s", h.screen())
	}
	// Paging down from there reaches the newest message.
	h.press("esc")
	for range 500 {
		h.press("pgdown")
		if !p.detached && p.scroll == 0 {
			break
		}
	}
	if last := p.items[len(p.items)-1].body; last != "m999" {
		t.Errorf("paging down from the hit ended at %q", last)
	}

	// Esc closes the results; errors and empty queries are reported.
	h.typeText("/search zzz")
	h.press("enter")
	if !strings.Contains(h.screen(), "0 messages with “zzz”") {
		t.Errorf("no-hit results:\n%s", h.screen())
	}
	h.press("esc")
	if h.m.search.open {
		t.Error("esc did not close the results")
	}
	h.typeText("/search")
	h.press("enter")
	if text, isErr := h.m.status.Text(); !isErr || !strings.Contains(text, "usage: /search") {
		t.Errorf("/search alone: %q", text)
	}
}

func TestSnippet(t *testing.T) {
	for _, tt := range []struct {
		body, q string
		n       int
		want    string
	}{
		{"short needle", "needle", 40, "short needle"},
		{strings.Repeat("a", 50) + "NEEDLE" + strings.Repeat("b", 50), "needle", 5, "…aaaaaNEEDLEbbbbb…"},
		{"ünïcode nëedle here and more", "NËEDLE", 3, "…de nëedle he…"},
	} {
		if got := snippet(tt.body, tt.q, tt.n); got != tt.want {
			t.Errorf("snippet(%q, %q, %d) = %q, want %q", tt.body, tt.q, tt.n, got, tt.want)
		}
	}
}
