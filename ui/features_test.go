package ui

import (
	"strconv"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"xchat/session"
	"xchat/store"
)

// featureScene opens alice's conversation: her message, our reply-able
// message, and returns their ids.
func featureScene(t *testing.T, extra ...store.Message) (*harness, *fakeAccount, store.Message, store.Message) {
	t.Helper()
	st := newFakeStore()
	st.reactions = map[int64][]store.Reaction{}
	st.contacts[me] = []store.Contact{{Account: me, JID: alice, Name: "Alice"}}
	theirs := st.add(store.Message{Account: me, Peer: alice, Sender: alice, Body: "first words of hers", OriginID: "id:abc", Timestamp: testNow})
	ours := st.add(store.Message{Account: me, Peer: alice, Direction: store.Outgoing, Body: "my text", OriginID: "o1", Timestamp: testNow.Add(time.Minute), State: store.StateSent})
	for _, m := range extra {
		st.add(m)
	}
	a := newFakeAccount(me)
	h := newHarness(t, st, a)
	h.typeText("/msg " + alice)
	h.press("enter")
	return h, a, theirs, ours
}

// selectAt enters selection mode on the pane's message i.
func selectAt(h *harness, i int) {
	h.t.Helper()
	if !h.m.sel.active {
		h.press("ctrl+u", "esc")
	}
	h.m.setSelected(i)
}

// callsOf returns the recorded calls of one method as strings.
func callsOf(a *fakeAccount, method string) []string {
	var out []string
	for _, c := range a.Calls() {
		if c.method == method {
			out = append(out, c.String())
		}
	}
	return out
}

func TestFeatureRendering(t *testing.T) {
	st := newFakeStore()
	st.contacts[me] = []store.Contact{{Account: me, JID: alice, Name: "Alice"}}
	orig := st.add(store.Message{Account: me, Peer: alice, Sender: alice, Body: "first words of hers\nsecond line", OriginID: "id:abc", Timestamp: testNow})
	st.add(store.Message{Account: me, Peer: alice, Direction: store.Outgoing, Body: "fixed text", Edited: true, ReplyTo: "abc", Timestamp: testNow, State: store.StateSent})
	st.add(store.Message{Account: me, Peer: alice, Sender: alice, Body: "", Retracted: true, Timestamp: testNow})
	st.reactions = map[int64][]store.Reaction{orig.ID: {{Sender: alice, Emojis: []string{"👍", "🎉"}}, {Sender: me, Emojis: []string{"👍"}}}}
	a := newFakeAccount(me)
	h := newHarness(t, st, a)
	h.typeText("/msg " + alice)
	h.press("enter")
	screen := h.screen()
	for _, want := range []string{"fixed text (edited)", "↪ Alice: first words of hers", "Alice: message retracted", "👍 2  🎉 1"} {
		if !strings.Contains(screen, want) {
			t.Errorf("screen lacks %q:\n%s", want, screen)
		}
	}
	if strings.Contains(screen, "second line\n      ↪") {
		t.Error("the quote is more than one line")
	}
	// Our own reaction is highlighted (reverse video), the others not.
	if frame := h.m.render(); !strings.Contains(frame, "\x1b[1;7m👍 2") || strings.Contains(frame, "\x1b[1;7m🎉") {
		t.Errorf("own reaction not highlighted: %q", frame)
	}
	n := 0
	for _, c := range st.Calls() {
		if c.method == "Reactions" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("reactions loaded %d times for one page, want 1", n)
	}
}

func TestMessageUpdatedReloads(t *testing.T) {
	h, _, _, ours := featureScene(t)
	ours.Body, ours.Edited = "better text", true
	h.store.mu.Lock()
	ms := h.store.msgs[me+" "+alice]
	ms[1] = ours
	h.store.reactions[ours.ID] = []store.Reaction{{Sender: alice, Emojis: []string{"😂"}}}
	h.store.mu.Unlock()
	h.send(session.MessageUpdatedEvent{Account: me, Peer: alice, ID: ours.ID, What: "corrected"})
	if s := h.screen(); !strings.Contains(s, "better text (edited)") || !strings.Contains(s, "😂 1") {
		t.Errorf("update not shown:\n%s", s)
	}
	// A message the store no longer has (a retried decryption showed it was
	// a change to another message) leaves the pane, without an error.
	h.store.mu.Lock()
	h.store.msgs[me+" "+alice] = ms[1:]
	h.store.mu.Unlock()
	h.send(session.MessageUpdatedEvent{Account: me, Peer: alice, ID: ms[0].ID, What: "removed"})
	if s := h.screen(); strings.Contains(s, "first words of hers") || !strings.Contains(s, "better text") {
		t.Errorf("removed message still shown:\n%s", s)
	}
	if text, isErr := h.m.status.Text(); isErr {
		t.Errorf("removal reported as an error: %q", text)
	}
	// Another conversation's update is ignored.
	if cmd := h.update(session.MessageUpdatedEvent{Account: me, Peer: bob, ID: ours.ID}); cmd != nil {
		t.Error("an update for another conversation reloaded something")
	}
}

func TestSelectionReplyCorrectRetractReact(t *testing.T) {
	h, a, theirs, ours := featureScene(t)
	// r: reply to her message.
	selectAt(h, 0)
	h.press("r")
	if text, _ := h.m.status.Text(); !strings.Contains(text, "replying to Alice: first words") {
		t.Errorf("reply status %q", text)
	}
	h.typeText("yes")
	h.press("enter")
	if got := callsOf(a, "Reply"); len(got) != 1 || got[0] != "Reply("+itoa(theirs.ID)+", yes)" {
		t.Errorf("reply calls %v", got)
	}
	if len(callsOf(a, "SendMessage")) != 0 {
		t.Error("the reply was also sent as a plain message")
	}
	if !strings.Contains(h.screen(), "me: yes") {
		t.Errorf("the reply is not shown:\n%s", h.screen())
	}
	// Esc cancels reply mode.
	selectAt(h, 0)
	h.press("r", "esc")
	if h.m.compose.kind != "" {
		t.Error("esc did not cancel the reply")
	}
	// e on her message is refused; on ours it prefills the input.
	selectAt(h, 0)
	h.press("e")
	if text, _ := h.m.status.Text(); !strings.Contains(text, "only your own") {
		t.Errorf("correcting hers: %q", text)
	}
	selectAt(h, 1)
	h.press("e")
	if h.m.input.Value() != "my text" {
		t.Fatalf("input = %q", h.m.input.Value())
	}
	h.typeText("!")
	h.press("enter")
	if got := callsOf(a, "Correct"); len(got) != 1 || got[0] != "Correct("+itoa(ours.ID)+", my text!)" {
		t.Errorf("correct calls %v", got)
	}
	// d asks, n keeps, y retracts.
	selectAt(h, 1)
	h.press("d", "n", "d", "y")
	if got := callsOf(a, "Retract"); len(got) != 1 || got[0] != "Retract("+itoa(ours.ID)+")" {
		t.Errorf("retract calls %v", got)
	}
	// + then 1 reacts 👍; with 👍 already ours it removes it.
	selectAt(h, 0)
	h.press("+", "1")
	if got := callsOf(a, "React"); len(got) != 1 || got[0] != "React("+itoa(theirs.ID)+", 👍)" {
		t.Errorf("react calls %v", got)
	}
	h.m.chat.items[0].reactions = []store.Reaction{{Sender: me, Emojis: []string{"👍", "🎉"}}}
	selectAt(h, 0)
	h.press("+", "1")
	if got := callsOf(a, "React"); len(got) != 2 || got[1] != "React("+itoa(theirs.ID)+", 🎉)" {
		t.Errorf("toggle calls %v", got)
	}
	// A typed emoji and Enter.
	selectAt(h, 0)
	h.press("+")
	h.send(tea.KeyPressMsg{Code: '🙂', Text: "🙂"})
	h.press("enter")
	if got := callsOf(a, "React"); len(got) != 3 || got[2] != "React("+itoa(theirs.ID)+", 👍, 🎉, 🙂)" {
		t.Errorf("typed reaction calls %v", got)
	}
}

func TestCorrectRetractCommands(t *testing.T) {
	h, a, _, ours := featureScene(t)
	h.typeText("/correct new text")
	h.press("enter")
	h.typeText("/retract")
	h.press("enter", "y")
	want := []string{"Correct(" + itoa(ours.ID) + ", new text)", "Retract(" + itoa(ours.ID) + ")"}
	got := append(callsOf(a, "Correct"), callsOf(a, "Retract")...)
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("calls %v, want %v", got, want)
	}
}

// TestFeaturesInRooms: the message features work in rooms as in 1:1
// chats (the session picks the room's ids); private messages through a
// room have none.
func TestFeaturesInRooms(t *testing.T) {
	h, a, theirs, ours := featureScene(t)
	h.m.chat.kind = store.KindGroupchat
	selectAt(h, 0)
	h.press("r")
	if text, _ := h.m.status.Text(); !strings.HasPrefix(text, "replying to") {
		t.Errorf("r in a room: %q", text)
	}
	h.press("esc")
	selectAt(h, 0)
	h.press("+", "1")
	if got := callsOf(a, "React"); len(got) != 1 || got[0] != "React("+itoa(theirs.ID)+", 👍)" {
		t.Errorf("reaction in a room: %v", got)
	}
	h.press("esc", "ctrl+u")
	h.typeText("/retract")
	h.press("enter", "y")
	if got := callsOf(a, "Retract"); len(got) != 1 || got[0] != "Retract("+itoa(ours.ID)+")" {
		t.Errorf("/retract in a room: %v", got)
	}
	h.m.chat.kind = store.KindPrivate
	selectAt(h, 0)
	h.press("r")
	if text, _ := h.m.status.Text(); text != "not supported in private messages through a room" {
		t.Errorf("r in a private conversation: %q", text)
	}
}

func TestTypingNotifications(t *testing.T) {
	h, a, _, _ := featureScene(t)
	clock := testNow
	h.m.now = func() time.Time { return clock }
	h.typeText("hel")
	if got := callsOf(a, "SendChatState"); len(got) != 1 || got[0] != "SendChatState("+alice+", composing)" {
		t.Fatalf("after typing: %v", got)
	}
	if len(h.timers) != 1 {
		t.Fatalf("%d timers armed, want 1", len(h.timers))
	}
	// The timer fires while typing continues: re-armed, no "paused".
	clock = clock.Add(3 * time.Second)
	h.typeText("l")
	clock = clock.Add(3 * time.Second)
	fire := h.timers[0]
	h.timers = nil
	h.send(fire)
	if len(callsOf(a, "SendChatState")) != 1 || len(h.timers) != 1 {
		t.Fatalf("early tick: calls %v, timers %d", callsOf(a, "SendChatState"), len(h.timers))
	}
	clock = clock.Add(5 * time.Second)
	fire = h.timers[0]
	h.timers = nil
	h.send(fire)
	if got := callsOf(a, "SendChatState"); len(got) != 2 || got[1] != "SendChatState("+alice+", paused)" {
		t.Fatalf("after 5 s idle: %v", got)
	}
	// Typing again composes again; composing repeats only after 10 s.
	h.typeText("o")
	clock = clock.Add(4 * time.Second)
	h.typeText("o")
	clock = clock.Add(7 * time.Second)
	h.typeText("o")
	if got := callsOf(a, "SendChatState"); len(got) != 4 {
		t.Errorf("composing calls: %v", got)
	}
	// Sending ends composing: a pending tick sends nothing.
	pending := h.timers
	h.press("enter")
	clock = clock.Add(time.Minute)
	for _, msg := range pending {
		h.send(msg)
	}
	if got := callsOf(a, "SendChatState"); len(got) != 4 {
		t.Errorf("after send: %v", got)
	}
	// Commands are not typing.
	h.typeText("/help")
	if got := callsOf(a, "SendChatState"); len(got) != 4 {
		t.Errorf("a command sent a chat state: %v", got)
	}
}

// TestTypingInRooms: typing in a room sends chat states to it; an
// occupant's typing shows with their nick; none in private conversations.
func TestTypingInRooms(t *testing.T) {
	h, a, _, _ := featureScene(t)
	h.m.chat.kind = store.KindGroupchat
	h.typeText("hello")
	if got := callsOf(a, "SendChatState"); len(got) != 1 || got[0] != "SendChatState("+alice+", composing)" {
		t.Errorf("room typing sent %v", got)
	}
	h.send(session.ChatStateEvent{Account: me, JID: alice, Nick: "bob\x1b[2J", State: "composing"})
	// The nick comes from the network: shown sanitized.
	if text, _ := h.m.status.Text(); strings.Contains(text, "\x1b") || !strings.HasPrefix(text, "bob") || !strings.HasSuffix(text, " is typing…") {
		t.Errorf("status %q", text)
	}
	h.press("ctrl+u")
	h.m.chat.kind = store.KindPrivate
	h.typeText("psst")
	if got := callsOf(a, "SendChatState"); len(got) != 1 {
		t.Errorf("private typing sent %v", got)
	}
}

func TestContactTyping(t *testing.T) {
	h, _, _, _ := featureScene(t)
	h.send(session.ChatStateEvent{Account: me, JID: alice, State: "composing"})
	if text, _ := h.m.status.Text(); text != "Alice is typing…" {
		t.Fatalf("status %q", text)
	}
	h.send(session.ChatStateEvent{Account: me, JID: alice, State: "paused"})
	if text, _ := h.m.status.Text(); text != "" {
		t.Errorf("after paused: %q", text)
	}
	// A new message from her clears it.
	h.send(session.ChatStateEvent{Account: me, JID: alice, State: "composing"})
	h.send(session.MessageEvent{Account: me, Message: h.store.add(store.Message{Account: me, Peer: alice, Sender: alice, Body: "hi", Timestamp: testNow})})
	if text, _ := h.m.status.Text(); text != "" {
		t.Errorf("after her message: %q", text)
	}
	// The 30 s timer clears it, a stale timer does not.
	h.timers = nil
	h.send(session.ChatStateEvent{Account: me, JID: alice, State: "composing"})
	stale := h.timers[0]
	h.send(session.ChatStateEvent{Account: me, JID: alice, State: "composing"})
	h.send(stale)
	if text, _ := h.m.status.Text(); text != "Alice is typing…" {
		t.Errorf("a stale timer cleared it: %q", text)
	}
	h.send(h.timers[len(h.timers)-1])
	if text, _ := h.m.status.Text(); text != "" {
		t.Errorf("after 30 s: %q", text)
	}
	// Someone else's typing is not shown.
	h.send(session.ChatStateEvent{Account: me, JID: bob, State: "composing"})
	if text, _ := h.m.status.Text(); text != "" {
		t.Errorf("bob's typing shown in alice's window: %q", text)
	}
}

func TestReadMarkersAndClientState(t *testing.T) {
	h, a, theirs, _ := featureScene(t)
	if got := callsOf(a, "MarkDisplayed"); len(got) != 1 || got[0] != "MarkDisplayed("+itoa(theirs.ID)+")" {
		t.Fatalf("on open: %v", got)
	}
	h.send(tea.BlurMsg{})
	m2 := h.store.add(store.Message{Account: me, Peer: alice, Sender: alice, Body: "are you there", Timestamp: testNow})
	h.send(session.MessageEvent{Account: me, Message: m2})
	if got := callsOf(a, "MarkDisplayed"); len(got) != 1 {
		t.Errorf("marked while blurred: %v", got)
	}
	h.send(tea.FocusMsg{})
	h.send(tea.FocusMsg{})
	if got := callsOf(a, "MarkDisplayed"); len(got) != 2 || got[1] != "MarkDisplayed("+itoa(m2.ID)+")" {
		t.Errorf("after focus: %v", got)
	}
	m3 := h.store.add(store.Message{Account: me, Peer: alice, Sender: alice, Body: "ok", Timestamp: testNow})
	h.send(session.MessageEvent{Account: me, Message: m3})
	if got := callsOf(a, "MarkDisplayed"); len(got) != 3 {
		t.Errorf("new message in focus: %v", got)
	}
	if got := callsOf(a, "SetActive"); strings.Join(got, " ") != "SetActive(false) SetActive(true) SetActive(true)" {
		t.Errorf("client state calls %v", got)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestCursorKeysAreNotTyping(t *testing.T) {
	h, a, _, _ := featureScene(t)
	h.m.input.SetValue("draft")
	h.press("ctrl+a", "ctrl+e")
	if got := callsOf(a, "SendChatState"); len(got) != 0 {
		t.Errorf("moving the cursor sent %v", got)
	}
	h.typeText("s")
	if got := callsOf(a, "SendChatState"); len(got) != 1 {
		t.Errorf("typing sent %v", got)
	}
}
