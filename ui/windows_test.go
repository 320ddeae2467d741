package ui

import (
	"slices"
	"strings"
	"testing"

	"xchat/session"
	"xchat/store"
)

// winPeers lists the windows as "acct:peer".
func winPeers(m *Model) []string {
	var out []string
	for _, w := range m.wins.wins {
		out = append(out, m.accts[w.acct].jid+":"+w.peer)
	}
	return out
}

// threeWindows is a model with conversations with alice, bob and carol
// open, in that order, carol's being shown.
func threeWindows(t *testing.T) (*harness, *fakeStore) {
	t.Helper()
	h, _, st := oneAccount(t)
	for _, p := range []string{alice, bob, carol} {
		h.typeText("/msg " + p)
		h.press("enter")
	}
	return h, st
}

func TestWindowsFromStoreAndOpening(t *testing.T) {
	st := newFakeStore()
	st.convs[me] = []store.Conversation{{Account: me, Peer: bob}, {Account: me, Peer: carol, Closed: true}}
	st.convs[work] = []store.Conversation{{Account: work, Peer: alice}}
	h := newHarness(t, st, newFakeAccount(me), newFakeAccount(work))
	if got, want := winPeers(h.m), []string{me + ":" + bob, work + ":" + alice}; !slices.Equal(got, want) {
		t.Fatalf("windows at start = %v, want %v (closed conversations have none)", got, want)
	}
	h.typeText("/query " + carol)
	h.press("enter")
	if !h.m.chat.IsOpen(0, carol) {
		t.Fatal("/query did not open carol")
	}
	// Windows are grouped by account: carol (me) comes before alice (work).
	if got, want := winPeers(h.m), []string{me + ":" + bob, me + ":" + carol, work + ":" + alice}; !slices.Equal(got, want) {
		t.Fatalf("windows = %v, want %v", got, want)
	}
	if h.m.currentWindow() != 1 {
		t.Errorf("current window = %d, want 1", h.m.currentWindow())
	}
	if !strings.Contains(h.screen(), "1 [2] 3") {
		t.Errorf("status bar lacks the window list:\n%s", h.screen())
	}
}

func TestWindowKeys(t *testing.T) {
	h, _ := threeWindows(t)
	steps := []struct {
		key  string
		want string
	}{
		{"alt+1", alice},
		{"alt+3", carol},
		{"ctrl+n", alice}, // wraps
		{"ctrl+n", bob},
		{"ctrl+p", alice},
		{"ctrl+p", carol}, // wraps backwards
		{"alt+2", bob},
		{"alt+9", bob}, // no such window
	}
	for _, s := range steps {
		h.press(s.key)
		if !h.m.chat.IsOpen(0, s.want) {
			t.Fatalf("after %s the pane shows %q, want %q", s.key, h.m.chat.peer, s.want)
		}
	}
	if text, _ := h.m.status.Text(); !strings.Contains(text, "no window 9") {
		t.Errorf("status after alt+9 = %q", text)
	}
	// Alt+0 is window 10.
	for i := range 8 {
		h.typeText("/msg p" + string(rune('a'+i)) + "@example.org")
		h.press("enter")
	}
	h.press("alt+1", "alt+0")
	if !h.m.chat.IsOpen(0, "pg@example.org") {
		t.Errorf("alt+0 shows %q, want the tenth window", h.m.chat.peer)
	}
}

func TestNextUnreadWindow(t *testing.T) {
	h, st := threeWindows(t)
	h.press("alt+1") // alice
	h.press("alt+a")
	if text, _ := h.m.status.Text(); !strings.Contains(text, "no window has unread") || !h.m.chat.IsOpen(0, alice) {
		t.Fatalf("alt+a without unread: status %q, open %q", text, h.m.chat.peer)
	}
	for _, p := range []string{carol, bob} {
		in := st.add(store.Message{Account: me, Peer: p, Body: "hey", Timestamp: testNow, Sender: p})
		h.send(session.MessageEvent{Account: me, Message: in})
	}
	if !strings.Contains(h.screen(), "[1] 2+ 3+") {
		t.Errorf("status bar does not mark unread windows:\n%s", h.screen())
	}
	h.press("alt+a")
	if !h.m.chat.IsOpen(0, bob) {
		t.Fatalf("alt+a opened %q, want bob (the next with unread after alice)", h.m.chat.peer)
	}
	h.press("alt+a")
	if !h.m.chat.IsOpen(0, carol) {
		t.Fatalf("second alt+a opened %q, want carol", h.m.chat.peer)
	}
}

func TestIncomingMessageOpensWindow(t *testing.T) {
	h, _, st := oneAccount(t)
	in := st.add(store.Message{Account: me, Peer: "dan@example.org", Body: "knock", Timestamp: testNow, Sender: "dan@example.org"})
	h.send(session.MessageEvent{Account: me, Message: in})
	if got := winPeers(h.m); !slices.Equal(got, []string{me + ":dan@example.org"}) {
		t.Fatalf("windows = %v", got)
	}
	if h.m.chat.open {
		t.Error("an incoming message switched the pane")
	}
	h.press("ctrl+n")
	if !h.m.chat.IsOpen(0, "dan@example.org") {
		t.Error("ctrl+n did not reach the new window")
	}
}

func TestCloseWindow(t *testing.T) {
	h, st := threeWindows(t)
	h.press("alt+2")
	h.typeText("/close")
	h.press("enter")
	if c, ok := lastCall(st.Calls(), "CloseConversation"); !ok || c.args[1] != bob {
		t.Fatalf("CloseConversation call = %v", c)
	}
	if got := winPeers(h.m); !slices.Equal(got, []string{me + ":" + alice, me + ":" + carol}) {
		t.Fatalf("windows after /close = %v", got)
	}
	if !h.m.chat.IsOpen(0, carol) {
		t.Fatalf("after closing window 2 the pane shows %q, want carol (the next)", h.m.chat.peer)
	}
	h.typeText("/close")
	h.press("enter")
	h.typeText("/close")
	h.press("enter")
	if h.m.chat.open || len(h.m.wins.wins) != 0 {
		t.Fatalf("after closing everything: open %v, windows %v", h.m.chat.open, winPeers(h.m))
	}
	if !strings.Contains(h.screen(), "No conversation is open.") {
		t.Errorf("welcome not shown:\n%s", h.screen())
	}
	h.typeText("/close")
	h.press("enter")
	if text, isErr := h.m.status.Text(); !isErr || !strings.Contains(text, "no window") {
		t.Errorf("/close with nothing open: %q", text)
	}
}

func TestDraftsPerWindow(t *testing.T) {
	h, _ := threeWindows(t)
	h.press("alt+1")
	h.typeText("for alice")
	h.press("alt+2")
	if v := h.m.input.Value(); v != "" {
		t.Fatalf("bob's input = %q, want empty", v)
	}
	h.typeText("for bob")
	h.press("alt+1")
	if v := h.m.input.Value(); v != "for alice" {
		t.Errorf("alice's draft = %q", v)
	}
	h.press("ctrl+n")
	if v := h.m.input.Value(); v != "for bob" {
		t.Errorf("bob's draft = %q", v)
	}
}

func TestAccountCommand(t *testing.T) {
	st := newFakeStore()
	st.contacts[me] = []store.Contact{{Account: me, JID: alice}}
	a, b := newFakeAccount(me), newFakeAccount(work)
	h := newHarness(t, st, a, b)
	h.send(session.StateEvent{Account: work, State: session.Online})
	h.typeText("/account")
	h.press("enter")
	if text, _ := h.m.status.Text(); !strings.Contains(text, "me@example.org (offline), me@work.example (online)") {
		t.Errorf("/account lists %q", text)
	}
	h.typeText("/msg dan@example.org")
	h.press("enter")
	if !h.m.chat.IsOpen(0, "dan@example.org") {
		t.Fatalf("without /account a stranger opens on the first account, got acct %d", h.m.chat.acct)
	}
	h.typeText("/account " + work)
	h.press("enter")
	h.typeText("/msg erin@example.org hi")
	h.press("enter")
	if !h.m.chat.IsOpen(1, "erin@example.org") {
		t.Fatalf("after /account the stranger opened on acct %d", h.m.chat.acct)
	}
	if c, ok := lastCall(b.Calls(), "SendMessage"); !ok || c.args[0] != "erin@example.org" {
		t.Errorf("send went through %v", c)
	}
	// A contact of the other account still opens where it is known.
	h.typeText("/msg " + alice)
	h.press("enter")
	if !h.m.chat.IsOpen(0, alice) {
		t.Errorf("alice opened on acct %d", h.m.chat.acct)
	}
	h.typeText("/account nobody@example.org")
	h.press("enter")
	if text, isErr := h.m.status.Text(); !isErr || !strings.Contains(text, "no account") {
		t.Errorf("unknown account: %q", text)
	}
}
