package ui

import (
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"xchat/session"
	"xchat/store"
)

// rosterLines is the roster column of the screen, trimmed.
func rosterLines(h *harness) []string {
	var out []string
	for _, l := range strings.Split(h.screen(), "\n") {
		left, _, ok := strings.Cut(l, "│")
		if !ok {
			break
		}
		out = append(out, strings.TrimRight(left, " "))
	}
	return out
}

func indexOf(lines []string, sub string) int {
	for i, l := range lines {
		if strings.Contains(l, sub) {
			return i
		}
	}
	return -1
}

func groupedRoster(t *testing.T) *harness {
	t.Helper()
	st := newFakeStore()
	st.contacts[me] = []store.Contact{
		{Account: me, JID: alice, Name: "Alice", Groups: []string{"Work", "friends"}},
		{Account: me, JID: bob, Name: "Bob", Groups: []string{"Work"}},
		{Account: me, JID: carol, Name: "Carol"},
	}
	h := newHarness(t, st, newFakeAccount(me))
	h.send(tea.WindowSizeMsg{Width: 120, Height: 40})
	h.send(session.StateEvent{Account: me, State: session.Online})
	return h
}

func TestRosterGroups(t *testing.T) {
	h := groupedRoster(t)
	h.send(session.SubscriptionRequestEvent{Account: me, From: "eve@example.net"})
	in := store.Message{Account: me, Peer: "zed@example.net", Body: "hi", Timestamp: testNow, Sender: "zed@example.net", ID: 99}
	h.send(session.MessageEvent{Account: me, Message: in})
	lines := rosterLines(h)
	order := []string{"me@example.org", " Contacts", "Carol", " friends", "Alice", " Work", "Alice", "Bob",
		" Not in roster", "zed@example.net", " Requests", "? eve@example.net"}
	at := 0
	for _, want := range order {
		i := indexOf(lines[at:], want)
		if i < 0 {
			t.Fatalf("roster lacks %q after line %d:\n%s", want, at, strings.Join(lines, "\n"))
		}
		at += i + 1
	}
	// Headings are not selectable: the cursor goes Carol, Alice, Alice, Bob, ...
	h.press("tab")
	var seen []string
	for range 7 {
		row, _ := h.m.roster.Selected()
		seen = append(seen, row.jid)
		h.press("down")
	}
	want := []string{carol, alice, alice, bob, "zed@example.net", "eve@example.net", "eve@example.net"}
	if strings.Join(seen, " ") != strings.Join(want, " ") {
		t.Errorf("cursor went %v, want %v", seen, want)
	}
}

func TestHideOffline(t *testing.T) {
	h := groupedRoster(t)
	h.send(session.PresenceEvent{Account: me, JID: bob, Resource: "r"})
	for _, how := range []string{"f3", "/offline"} {
		if how == "f3" {
			h.press("f3")
		} else {
			h.typeText(how)
			h.press("enter")
		}
		lines := rosterLines(h)
		hidden := how == "f3"
		if got := indexOf(lines, "Carol") < 0; got != hidden {
			t.Fatalf("after %s: carol hidden = %v, want %v:\n%s", how, got, hidden, strings.Join(lines, "\n"))
		}
		if indexOf(lines, "Bob") < 0 {
			t.Fatalf("after %s: bob (online) is hidden", how)
		}
	}
	h.press("f3")
	// An offline contact with unread messages stays.
	in := store.Message{Account: me, Peer: carol, Body: "hi", Timestamp: testNow, Sender: carol, ID: 7}
	h.send(session.MessageEvent{Account: me, Message: in})
	if !regexpLine(h.screen(), "Carol", "1") {
		t.Errorf("carol with an unread message is hidden:\n%s", h.screen())
	}
}

func TestToggleSidebar(t *testing.T) {
	h := groupedRoster(t)
	h.press("tab")
	h.press("f2")
	if h.m.focus != focusInput {
		t.Error("focus stayed on the hidden roster")
	}
	screen := h.screen()
	if strings.Contains(screen, "Carol") || strings.Contains(screen, "│") {
		t.Errorf("roster still drawn:\n%s", screen)
	}
	checkFrameTB(t, screen, 120, 40)
	h.press("f2")
	if !strings.Contains(h.screen(), "Carol") {
		t.Error("f2 did not bring the roster back")
	}
}

func TestMouse(t *testing.T) {
	h, _, st := oneAccount(t)
	if h.m.View().MouseMode != tea.MouseModeCellMotion {
		t.Error("mouse reporting not enabled")
	}
	for i := range 100 {
		st.add(store.Message{Account: me, Peer: bob, Body: "m" + string(rune('0'+i%10)), Timestamp: testNow, Sender: bob})
	}
	lines := rosterLines(h)
	y := indexOf(lines, "Bob")
	h.send(tea.MouseClickMsg{X: 3, Y: y, Button: tea.MouseLeft})
	if !h.m.chat.IsOpen(0, bob) {
		t.Fatalf("clicking line %d did not open bob:\n%s", y, strings.Join(lines, "\n"))
	}
	h.send(tea.MouseClickMsg{X: 3, Y: 0, Button: tea.MouseLeft}) // the account header
	if !h.m.chat.IsOpen(0, bob) {
		t.Error("a click on a heading changed the conversation")
	}
	h.send(tea.MouseWheelMsg{X: 40, Y: 5, Button: tea.MouseWheelUp})
	if h.m.chat.scroll != wheelRows {
		t.Errorf("scroll after wheel up = %d, want %d", h.m.chat.scroll, wheelRows)
	}
	h.send(tea.MouseWheelMsg{X: 40, Y: 5, Button: tea.MouseWheelDown})
	if h.m.chat.scroll != 0 {
		t.Errorf("scroll after wheel down = %d", h.m.chat.scroll)
	}
	m := New(Options{NoMouse: true})
	if m.View().MouseMode != tea.MouseModeNone {
		t.Error("NoMouse did not leave the mouse alone")
	}
}
