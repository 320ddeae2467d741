package ui

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"xchat/session"
	"xchat/store"
)

// longConversation stores n messages "m0".."m<n-1>" from alice and opens
// the conversation.
func longConversation(t *testing.T, n int) (*harness, *fakeStore) {
	t.Helper()
	h, _, st := oneAccount(t)
	for i := range n {
		st.add(store.Message{Account: me, Peer: alice, Body: fmt.Sprintf("m%d", i),
			Timestamp: testNow.Add(time.Duration(i-n) * time.Minute), Sender: alice})
	}
	h.typeText("/msg " + alice)
	h.press("enter")
	return h, st
}

// bodyNumbers returns the numbers of the loaded messages, checking they
// are consecutive.
func bodyNumbers(t *testing.T, h *harness) (first, last int) {
	t.Helper()
	prev := -1
	for i, it := range h.m.chat.items {
		n, err := strconv.Atoi(strings.TrimPrefix(it.body, "m"))
		if err != nil {
			t.Fatalf("item %d is %q", i, it.body)
		}
		if i > 0 && n != prev+1 {
			t.Fatalf("gap in the pane: m%d then m%d", prev, n)
		}
		if i == 0 {
			first = n
		}
		prev = n
	}
	return first, prev
}

func TestHomeEndAndForwardPaging(t *testing.T) {
	const total = 2000
	h, st := longConversation(t, total)
	p := &h.m.chat
	h.press("home")
	if first, _ := bodyNumbers(t, h); first != 0 || p.hasOlder || p.toTop {
		t.Fatalf("home: first m%d, hasOlder %v, toTop %v", first, p.hasOlder, p.toTop)
	}
	if len(p.items) > maxLoaded || !p.detached {
		t.Fatalf("home: %d items (bound %d), detached %v", len(p.items), maxLoaded, p.detached)
	}
	screen := h.screen()
	if !strings.Contains(screen, "beginning of the conversation") || !strings.Contains(screen, "m0") {
		t.Fatalf("home does not show the first message:\n%s", screen)
	}
	// PgDn pages forward with After, keeping a consecutive run in memory.
	before := countCalls(st.Calls(), "After")
	for range 5000 {
		h.press("pgdown")
		if len(p.items) > maxLoaded {
			t.Fatalf("%d items in memory", len(p.items))
		}
		bodyNumbers(t, h)
		if !p.detached && p.scroll == 0 {
			break
		}
	}
	if countCalls(st.Calls(), "After") <= before {
		t.Error("paging down did not use After")
	}
	if _, last := bodyNumbers(t, h); last != total-1 || p.detached {
		t.Fatalf("paging down ended at m%d, detached %v", last, p.detached)
	}
	if !strings.Contains(h.screen(), fmt.Sprint("m", total-1)) {
		t.Errorf("newest message not on screen:\n%s", h.screen())
	}
	// Home then End reloads the newest page.
	h.press("home", "end")
	if _, last := bodyNumbers(t, h); last != total-1 || p.detached || p.scroll != 0 {
		t.Errorf("end: last m%d, detached %v, scroll %d", last, p.detached, p.scroll)
	}
	// With text in the input, Home and End move its cursor instead.
	h.press("pgup")
	scroll := p.scroll
	h.typeText("abc")
	h.press("home")
	if p.scroll != scroll || h.m.input.ta.Column() != 0 {
		t.Errorf("home with text: scroll %d→%d, column %d", scroll, p.scroll, h.m.input.ta.Column())
	}
}

func TestNewMessagesSeparator(t *testing.T) {
	st := newFakeStore()
	st.contacts[me] = []store.Contact{{Account: me, JID: alice, Name: "Alice"}}
	for i := range 50 {
		st.add(store.Message{Account: me, Peer: alice, Body: fmt.Sprintf("m%d", i), Timestamp: testNow, Sender: alice})
	}
	st.convs[me] = []store.Conversation{{Account: me, Peer: alice, Unread: 30}}
	h := newHarness(t, st, newFakeAccount(me))
	h.send(session.StateEvent{Account: me, State: session.Online})
	h.typeText("/msg " + alice)
	h.press("enter")
	screen := h.screen()
	lines := strings.Split(screen, "\n")
	sep := indexOf(lines, "new messages")
	if sep < 0 {
		t.Fatalf("no new-messages line:\n%s", screen)
	}
	if !strings.Contains(lines[sep+1], "Alice: m20") {
		t.Errorf("the line is not above the first unread (m20):\n%s", screen)
	}
	// More unread than fit: the view starts at the line, not the bottom.
	if sep > 2 || strings.Contains(screen, "m49") {
		t.Errorf("the first unread message is not at the top of the view:\n%s", screen)
	}
	// Another conversation, then back: the line is gone (all read).
	h.typeText("/msg " + bob)
	h.press("enter", "alt+1")
	if !h.m.chat.IsOpen(0, alice) || strings.Contains(h.screen(), "new messages") {
		t.Errorf("line still shown once read:\n%s", h.screen())
	}
}

func TestHomeWhileLoading(t *testing.T) {
	h, _, st := oneAccount(t)
	for i := range 700 {
		st.add(store.Message{Account: me, Peer: alice, Body: fmt.Sprintf("m%d", i), Timestamp: testNow, Sender: alice})
	}
	h.typeText("/msg " + alice)
	open := h.update(keyMsg("enter")) // the page is not in yet
	h.send(keyMsg("home"))
	h.run(open)
	if first, _ := bodyNumbers(t, h); first != 0 || h.m.chat.toTop {
		t.Errorf("home pressed while loading: first m%d, toTop %v", first, h.m.chat.toTop)
	}
}
