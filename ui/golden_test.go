package ui

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"xchat/session"
	"xchat/store"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

const (
	me    = "me@example.org"
	work  = "me@work.example"
	alice = "alice@example.org"
	bob   = "bob@example.org"
	carol = "carol@example.org"
)

// scene builds the model the golden files show: two accounts, one online
// with a roster, a pending request and an open conversation, one refused by
// the server.
func scene(t testing.TB) *harness {
	t.Helper()
	st := newFakeStore()
	st.contacts[me] = []store.Contact{
		{Account: me, JID: alice, Name: "Alice", Subscription: "both"},
		{Account: me, JID: bob, Name: "Bob", Subscription: "both"},
		{Account: me, JID: carol, Subscription: "both"},
		{Account: me, JID: "dan@example.org", Name: "Dan with a very long name indeed", Subscription: "to"},
	}
	st.convs[me] = []store.Conversation{
		{Account: me, Peer: carol, Unread: 3, LastTime: testNow.Add(-time.Hour)},
	}
	day1 := time.Date(2024, 5, 5, 21, 30, 0, 0, time.UTC)
	add := func(at time.Time, dir store.Direction, state store.State, body string) {
		st.add(store.Message{Account: me, Peer: alice, Direction: dir, State: state, Body: body, Timestamp: at, Sender: alice})
	}
	add(day1, store.Incoming, store.StateReceived, "are you coming tomorrow?")
	add(day1.Add(2*time.Minute), store.Outgoing, store.StateRead, "yes, at ten")
	add(testNow.Add(-50*time.Minute), store.Incoming, store.StateReceived,
		"Here is a rather long message that has to wrap over several lines of the conversation pane, so that continuation lines show their indent.")
	add(testNow.Add(-40*time.Minute), store.Incoming, store.StateReceived, "/me waves")
	add(testNow.Add(-30*time.Minute), store.Outgoing, store.StateDelivered, "日本語とemoji 👋🏽 are wide")
	add(testNow.Add(-20*time.Minute), store.Outgoing, store.StateSent, "two\nlines")
	add(testNow.Add(-10*time.Minute), store.Outgoing, store.StateFailed, "this one failed")
	msgs := st.msgs[me+" "+alice]
	msgs[len(msgs)-1].Error = "recipient-unavailable"
	add(testNow.Add(-5*time.Minute), store.Incoming, store.StateReceived, "*bold* _it_ ~no~ `code` see https://example.org/x")
	msgs = st.msgs[me+" "+alice]
	msgs[len(msgs)-1].Encryption = "omemo"
	add(testNow.Add(-4*time.Minute), store.Outgoing, store.StatePending, "> quoted\nreply")

	h := newHarness(t, st, newFakeAccount(me), newFakeAccount(work))
	h.send(session.StateEvent{Account: me, State: session.Online})
	h.send(session.PresenceEvent{Account: me, JID: alice, Resource: "phone", Show: session.ShowOnline, Status: "on the train"})
	h.send(session.PresenceEvent{Account: me, JID: bob, Resource: "pc", Show: session.ShowAway})
	h.send(session.SubscriptionRequestEvent{Account: me, From: "eve@example.net"})
	h.send(session.StateEvent{Account: work, State: session.Offline,
		Err: errors.New("login refused by the server (not-authorized): check the JID and password")})
	h.typeText("/msg " + alice)
	h.press("enter")
	h.typeText("draft")
	return h
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./ui -run %s -update)", err, t.Name())
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file; got:\n%s", name, got)
	}
}

// checkFrame asserts the frame has exactly the terminal's size.
func checkFrame(t *testing.T, frame string, w, h int) {
	t.Helper()
	lines := strings.Split(frame, "\n")
	if len(lines) != h {
		t.Errorf("frame has %d lines, want %d", len(lines), h)
	}
	for i, l := range lines {
		if n := lenCells(l); n != w {
			t.Errorf("line %d is %d cells wide, want %d: %q", i, n, w, l)
		}
	}
}

func TestGolden(t *testing.T) {
	for _, size := range []struct {
		name string
		w, h int
	}{{"80x24", 80, 24}, {"120x40", 120, 40}} {
		t.Run(size.name, func(t *testing.T) {
			h := scene(t)
			h.send(tea.WindowSizeMsg{Width: size.w, Height: size.h})
			frame := h.screen()
			checkFrame(t, frame, size.w, size.h)
			golden(t, "chat_"+size.name, frame)

			h.press("f1")
			golden(t, "help_"+size.name, h.screen())
		})
	}
}

// TestGoldenStyled keeps the escape sequences, to catch style regressions.
func TestGoldenStyled(t *testing.T) {
	h := scene(t)
	h.m.setStyles(newStyles(false, true, defaultPalette(true)))
	frame := h.m.render()
	checkFrame(t, ansi.Strip(frame), 80, 24)
	golden(t, "chat_styled_80x24", frame)
}

func TestGoldenWelcome(t *testing.T) {
	h := newHarness(t, newFakeStore(), newFakeAccount(me))
	frame := h.screen()
	checkFrame(t, frame, 80, 24)
	golden(t, "welcome_80x24", frame)
}
