package ui

import (
	"fmt"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"xchat/session"
	"xchat/store"
)

// benchScene is a 120x40 model with 50 contacts, each with a conversation,
// and the conversation with the first one open holding 300 messages.
func benchScene(b *testing.B) *harness {
	b.Helper()
	st := newFakeStore()
	acc := newFakeAccount(me)
	for i := range 50 {
		peer := fmt.Sprintf("contact%02d@example.org", i)
		st.contacts[me] = append(st.contacts[me], store.Contact{Account: me, JID: peer, Name: fmt.Sprintf("Contact %02d", i)})
		st.convs[me] = append(st.convs[me], store.Conversation{Account: me, Peer: peer, Unread: i % 4, LastTime: testNow})
	}
	open := "contact00@example.org"
	for i := range 300 {
		dir, state := store.Incoming, store.StateReceived
		if i%3 == 0 {
			dir, state = store.Outgoing, store.StateDelivered
		}
		body := fmt.Sprintf("message %d: %s", i, strings.Repeat("lorem ipsum dolor sit amet ", 1+i%5))
		st.add(store.Message{Account: me, Peer: open, Direction: dir, State: state, Body: body,
			Timestamp: testNow.Add(time.Duration(i-300) * 10 * time.Minute), Sender: open})
	}
	h := newHarness(b, st, acc)
	h.send(tea.WindowSizeMsg{Width: 120, Height: 40})
	h.send(session.StateEvent{Account: me, State: session.Online})
	for i := range 50 {
		h.send(session.PresenceEvent{Account: me, JID: fmt.Sprintf("contact%02d@example.org", i), Resource: "r", Show: []session.Show{"", "away", "dnd", "xa"}[i%4]})
	}
	h.typeText("/msg " + open)
	h.press("enter")
	for len(h.m.chat.items) < 300 {
		h.press("pgup")
	}
	for h.m.chat.scroll > 0 {
		h.press("pgdown")
	}
	if len(h.m.chat.items) != 300 || h.m.chat.detached {
		b.Fatalf("scene: %d items, detached %v", len(h.m.chat.items), h.m.chat.detached)
	}
	return h
}

// BenchmarkView renders one frame of the scene.
func BenchmarkView(b *testing.B) {
	h := benchScene(b)
	h.m.View()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		_ = h.m.View()
	}
}

// BenchmarkViewReflow renders a frame after each resize, so the visible
// messages are wrapped again every time.
func BenchmarkViewReflow(b *testing.B) {
	h := benchScene(b)
	b.ReportAllocs()
	b.ResetTimer()
	w := 120
	for b.Loop() {
		w = 239 - w // 120, 119, 120, ...
		h.m.Update(tea.WindowSizeMsg{Width: w, Height: 40})
		_ = h.m.View()
	}
}

// BenchmarkKeystroke is one key typed in the input with 50 conversations.
func BenchmarkKeystroke(b *testing.B) {
	h := benchScene(b)
	key := tea.KeyPressMsg{Code: 'a', Text: "a"}
	b.ReportAllocs()
	b.ResetTimer()
	n := 0
	for b.Loop() {
		h.m.Update(key)
		if n++; n%64 == 0 {
			h.m.input.Reset()
		}
	}
}

// BenchmarkKeystrokeFrame is a key typed and the frame drawn after it.
func BenchmarkKeystrokeFrame(b *testing.B) {
	h := benchScene(b)
	key := tea.KeyPressMsg{Code: 'a', Text: "a"}
	b.ReportAllocs()
	b.ResetTimer()
	n := 0
	for b.Loop() {
		h.m.Update(key)
		_ = h.m.View()
		if n++; n%64 == 0 {
			h.m.input.Reset()
		}
	}
}
