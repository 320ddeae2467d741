package ui

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"xchat/session"
	"xchat/store"
)

// collect runs cmd and the batches it returns, and lists the messages.
func collect(cmd tea.Cmd) []tea.Msg {
	if cmd == nil {
		return nil
	}
	switch msg := cmd().(type) {
	case nil:
		return nil
	case tea.BatchMsg:
		var out []tea.Msg
		for _, c := range msg {
			out = append(out, collect(c)...)
		}
		return out
	default:
		return []tea.Msg{msg}
	}
}

func bells(msgs []tea.Msg) int {
	n := 0
	for _, m := range msgs {
		if r, ok := m.(tea.RawMsg); ok && r.Msg == "\a" {
			n++
		}
	}
	return n
}

func TestNotifications(t *testing.T) {
	file := filepath.Join(t.TempDir(), "notes")
	now := testNow
	st := newFakeStore()
	st.contacts[me] = []store.Contact{{Account: me, JID: alice, Name: "Alice <3"}, {Account: me, JID: bob}}
	a := newFakeAccount(me)
	h := newHarnessOpts(t, Options{Accounts: []Account{a}, Store: st, Location: time.UTC,
		Now:  func() time.Time { return now },
		Bell: true, DesktopNotify: true,
		NotifyCommand: []string{"sh", "-c", `printf '%s|%s\n' "$2" "$3" >> "$0"`, file},
	}, st, []*fakeAccount{a})
	if !h.m.View().ReportFocus {
		t.Error("focus reporting not enabled")
	}
	h.typeText("/msg " + bob)
	h.press("enter")

	incoming := func(peer, body string) []tea.Msg {
		t.Helper()
		now = now.Add(3 * time.Second)
		in := st.add(store.Message{Account: me, Peer: peer, Body: body, Timestamp: now, Sender: peer})
		return collect(h.update(session.MessageEvent{Account: me, Message: in}))
	}
	notes := func() string {
		b, _ := os.ReadFile(file)
		return string(b)
	}

	msgs := incoming(alice, "hello\x1b[2J <b>there</b>")
	if bells(msgs) != 1 {
		t.Errorf("no bell for a message in another conversation: %v", msgs)
	}
	if got, want := notes(), "xchat: Alice &lt;3|hello &lt;b&gt;there&lt;/b&gt;\n"; got != want {
		t.Errorf("desktop notification %q, want %q", got, want)
	}
	// The conversation on screen, terminal focused: nothing.
	if msgs := incoming(bob, "in view"); bells(msgs) != 0 || strings.Contains(notes(), "in view") {
		t.Errorf("notified for the focused conversation: %v", msgs)
	}
	// Same conversation, terminal without focus: notified.
	h.send(tea.BlurMsg{})
	if msgs := incoming(bob, "unseen"); bells(msgs) != 1 || !strings.Contains(notes(), "|unseen") {
		t.Errorf("not notified while the terminal is unfocused: %v, %q", msgs, notes())
	}
	h.send(tea.FocusMsg{})
	// A burst rings once.
	now = now.Add(3 * time.Second)
	in := st.add(store.Message{Account: me, Peer: alice, Body: "burst 1", Timestamp: now, Sender: alice})
	first := collect(h.update(session.MessageEvent{Account: me, Message: in}))
	in = st.add(store.Message{Account: me, Peer: alice, Body: "burst 2", Timestamp: now, Sender: alice})
	second := collect(h.update(session.MessageEvent{Account: me, Message: in}))
	if bells(first) != 1 || bells(second) != 0 {
		t.Errorf("burst: %d then %d bells", bells(first), bells(second))
	}
	// Our own messages never notify.
	now = now.Add(time.Minute)
	out := st.add(store.Message{Account: me, Peer: alice, Body: "mine", Timestamp: now, Direction: store.Outgoing})
	if msgs := collect(h.update(session.MessageEvent{Account: me, Message: out})); bells(msgs) != 0 {
		t.Errorf("notified for an outgoing message")
	}
}

func TestNotificationsOff(t *testing.T) {
	h, _, st := oneAccount(t)
	in := st.add(store.Message{Account: me, Peer: alice, Body: "quiet", Timestamp: testNow, Sender: alice})
	if msgs := collect(h.update(session.MessageEvent{Account: me, Message: in})); len(msgs) != 0 {
		t.Errorf("notifications off, yet %v", msgs)
	}
	if h.m.windowTitle() != "xchat (1)" {
		t.Errorf("title = %q", h.m.windowTitle())
	}
}

// /mute silences one conversation (and is stored); /unmute undoes it.
func TestMuteConversation(t *testing.T) {
	now := testNow
	st := newFakeStore()
	st.contacts[me] = []store.Contact{{Account: me, JID: alice}, {Account: me, JID: bob}}
	a := newFakeAccount(me)
	h := newHarnessOpts(t, Options{Accounts: []Account{a}, Store: st, Location: time.UTC,
		Now: func() time.Time { return now }, Bell: true}, st, []*fakeAccount{a})
	incoming := func(peer string) int {
		t.Helper()
		now = now.Add(3 * time.Second)
		in := st.add(store.Message{Account: me, Peer: peer, Body: "x", Timestamp: now, Sender: peer})
		return bells(collect(h.update(session.MessageEvent{Account: me, Message: in})))
	}
	h.typeText("/msg " + alice)
	h.press("enter")
	h.typeText("/mute")
	h.press("enter")
	if c, ok := lastCall(st.Calls(), "SetMuted"); !ok || strings.Join(c.args, " ") != me+" "+alice+" true" {
		t.Errorf("mute not stored: %v", st.Calls())
	}
	h.typeText("/msg " + bob) // alice is no longer on screen
	h.press("enter")
	if n := incoming(alice); n != 0 {
		t.Errorf("muted conversation rang %d times", n)
	}
	h.typeText("/msg " + alice)
	h.press("enter")
	h.typeText("/unmute")
	h.press("enter")
	h.typeText("/msg " + bob)
	h.press("enter")
	if n := incoming(alice); n != 1 {
		t.Errorf("unmuted conversation rang %d times, want 1", n)
	}
}
