package ui

import (
	"fmt"
	"runtime"
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

// hugeScene opens a conversation of n generated messages at 120x40.
func hugeScene(b *testing.B, n int64) *harness {
	b.Helper()
	gs := &genStore{acct: me, peer: alice, n: n}
	acc := newFakeAccount(me)
	h := newHarnessOpts(b, Options{Accounts: []Account{acc}, Store: gs, Now: func() time.Time { return testNow },
		Location: time.UTC, Open: alice}, nil, []*fakeAccount{acc})
	h.send(tea.WindowSizeMsg{Width: 120, Height: 40})
	if !h.m.chat.IsOpen(0, alice) || len(h.m.chat.items) != pageSize {
		b.Fatalf("scene: open %v, %d items", h.m.chat.open, len(h.m.chat.items))
	}
	return h
}

// BenchmarkViewScrolled100k draws a frame of a pane scrolled 100 pages
// back into a 100k-message conversation (pages served by a store).
func BenchmarkViewScrolled100k(b *testing.B) {
	h := hugeScene(b, 100_000)
	for range 100 {
		h.press("pgup")
	}
	if !h.m.chat.detached || h.m.chat.scroll == 0 {
		b.Fatalf("not scrolled: detached %v, scroll %d", h.m.chat.detached, h.m.chat.scroll)
	}
	h.m.View()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		_ = h.m.View()
	}
}

// BenchmarkScrollFrame100k scrolls one row and draws the frame, in the
// middle of a 100k-message conversation.
func BenchmarkScrollFrame100k(b *testing.B) {
	h := hugeScene(b, 100_000)
	for range 100 {
		h.press("pgup")
	}
	h.m.View()
	b.ReportAllocs()
	b.ResetTimer()
	up := true
	for b.Loop() {
		if up {
			h.m.chat.ScrollUp(1)
		} else {
			h.m.chat.ScrollDown(1)
		}
		up = !up
		_ = h.m.View()
	}
}

// BenchmarkScroll1MMemory opens a conversation of a million messages,
// pages back through 10k of them and reports the heap in use before and
// after (bytes), which must not grow with the distance travelled.
func BenchmarkScroll1MMemory(b *testing.B) {
	heap := func() float64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return float64(ms.HeapInuse)
	}
	var before, after float64
	for b.Loop() {
		h := hugeScene(b, 1_000_000)
		h.m.View()
		before = heap()
		oldest := h.m.chat.OldestID()
		for oldest > 1_000_000-10_000 {
			h.press("pgup")
			_ = h.m.View()
			oldest = h.m.chat.OldestID()
		}
		after = heap()
		if len(h.m.chat.items) > maxLoaded {
			b.Fatalf("%d messages in memory", len(h.m.chat.items))
		}
	}
	b.ReportMetric(before, "heap-before-B")
	b.ReportMetric(after, "heap-after-B")
}
