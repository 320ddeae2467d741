package ui

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"xchat/session"
	"xchat/store"
)

// openSeeded opens alice's conversation seeded with total messages of which
// the store holds the newest held.
func openSeeded(t *testing.T, total, held int) (*harness, *fakeAccount, *fakeStore, *fakeArchive) {
	t.Helper()
	h, acc, st := oneAccount(t)
	arch := seedArchive(st, acc, alice, total, held)
	h.typeText("/msg " + alice)
	h.press("enter")
	return h, acc, st, arch
}

// TestScrollPastStoredTopFetchesArchive: PgUp past the oldest stored
// message asks the account for the archive page before it, shows
// "loading older messages…" meanwhile (the model goes on handling keys),
// then shows the page; at the archive's start it says so and asks no more.
func TestScrollPastStoredTopFetchesArchive(t *testing.T) {
	const total, held = 130, 40
	h, acc, _, _ := openSeeded(t, total, held)
	p := &h.m.chat
	if first, _ := bodyNumbers(t, h); first != total-held {
		t.Fatalf("opened with m %d first", first)
	}
	if p.hasOlder {
		t.Fatal("the store holds no more, yet hasOlder")
	}
	// The first PgUp reaches the top; the command is held to look at the
	// screen while the fetch runs.
	var cmd = h.update(keyMsg("pgup"))
	for range 5 {
		if countCalls(acc.Calls(), "FetchOlder") > 0 || cmd != nil {
			break
		}
		cmd = h.update(keyMsg("pgup"))
	}
	if cmd == nil || !p.hist.fetching {
		t.Fatal("PgUp at the stored top did not start an archive fetch")
	}
	if s := h.screen(); !strings.Contains(s, "loading older messages…") {
		t.Fatalf("no loading line while fetching:\n%s", s)
	}
	// The UI stays responsive: typing works while the fetch is out.
	h.typeText("still typing")
	if h.m.input.Value() != "still typing" {
		t.Fatalf("input %q while fetching", h.m.input.Value())
	}
	h.m.input.Reset()
	h.run(cmd)
	first, last := bodyNumbers(t, h)
	if first != total-held-archivePage || last != total-1 {
		t.Fatalf("after one archive page the pane holds m %d…m %d", first, last)
	}
	// Page on to the archive's start.
	for range 50 {
		if p.hist.start && !p.hasOlder {
			break
		}
		h.press("pgup")
	}
	if first, _ := bodyNumbers(t, h); first != 0 || !p.hist.start {
		t.Fatalf("paging up ended at m %d (start %v)", first, p.hist.start)
	}
	h.press("home")
	if s := h.screen(); !strings.Contains(s, "beginning of the conversation") {
		t.Fatalf("no beginning marker:\n%s", s)
	}
	n := countCalls(acc.Calls(), "FetchOlder")
	if n != 2 { // 90 archived messages, 50 a page
		t.Errorf("FetchOlder called %d times, want 3", n)
	}
	for range 5 {
		h.press("pgup")
	}
	if countCalls(acc.Calls(), "FetchOlder") != n {
		t.Error("asked the archive again after its start")
	}
}

// TestArchiveFetchErrorShown: a failed fetch says why and keeps what is
// shown; the next PgUp asks again.
func TestArchiveFetchErrorShown(t *testing.T) {
	h, acc, st := oneAccount(t)
	arch := seedArchive(st, acc, alice, 40, 10)
	arch.err = errors.New("not connected")
	h.typeText("/msg " + alice)
	h.press("enter")
	for range 5 {
		h.press("pgup")
	}
	if txt, isErr := h.m.status.Text(); !isErr || !strings.Contains(txt, "not connected") {
		t.Fatalf("status %q (error %v)", txt, isErr)
	}
	if s := h.screen(); !strings.Contains(s, "could not be asked") {
		t.Fatalf("marker does not say the server could not be asked:\n%s", s)
	}
	before := countCalls(acc.Calls(), "FetchOlder")
	arch.err = nil
	h.press("pgup")
	if countCalls(acc.Calls(), "FetchOlder") != before+1 {
		t.Fatal("PgUp did not ask again after an error")
	}
	if first, _ := bodyNumbers(t, h); first != 0 {
		t.Fatalf("pane starts at m %d", first)
	}
}

// TestGapLineFilledWhenSeen: a gap in the stored history is drawn as a
// line; when it is on screen the account is asked to fill it, and the
// messages appear in place without moving the view.
func TestGapLineFilledWhenSeen(t *testing.T) {
	h, acc, st, _ := openSeeded(t, 60, 60)
	h.press("end")
	gapAt := cutGap(st, acc, alice, 20, 29)
	// Reopen so the pane reads the store with the hole.
	h.typeText("/close")
	h.press("enter")
	h.typeText("/msg " + alice)
	h.press("enter")
	if countCalls(acc.Calls(), "FetchOlder") != 0 {
		t.Fatal("gap fetched while not on screen")
	}
	if strings.Contains(h.screen(), "gap in history") {
		t.Fatal("gap line on screen before scrolling to it")
	}
	for range 20 {
		if countCalls(acc.Calls(), "FetchOlder") > 0 {
			break
		}
		h.press("pgup")
	}
	calls := acc.Calls()
	var got []string
	for _, c := range calls {
		if c.method == "FetchOlder" {
			got = c.args
		}
	}
	if len(got) != 2 || got[1] != gapAt.Format("2006-01-02T15:04:05Z07:00") {
		t.Fatalf("FetchOlder calls: %v; want one for the gap at %v", got, gapAt)
	}
	if first, last := bodyNumbers(t, h); first != 0 || last != 59 {
		t.Fatalf("after filling, the pane holds m %d…m %d", first, last)
	}
	if strings.Contains(h.screen(), "gap in history") || len(h.m.chat.hist.gaps) != 0 {
		t.Fatalf("gap line still shown after filling:\n%s", h.screen())
	}
}

// TestGapLineDrawn: the line sits between the messages around the gap,
// and stays when the account cannot fill it.
func TestGapLineDrawn(t *testing.T) {
	h, acc, st, arch := openSeeded(t, 12, 12)
	cutGap(st, acc, alice, 3, 4)
	arch.err = errors.New("not connected")
	h.typeText("/close")
	h.press("enter")
	h.typeText("/msg " + alice)
	h.press("enter")
	asked := false
	for _, c := range acc.Calls() {
		asked = asked || (c.method == "FetchOlder" && c.args[1] != "0001-01-01T00:00:00Z")
	}
	if !asked {
		t.Fatalf("the gap on screen was not asked for: %v", acc.Calls())
	}
	lines := strings.Split(h.screen(), "\n")
	at := -1
	for i, l := range lines {
		if strings.Contains(l, "— gap in history —") {
			at = i
		}
	}
	if at < 1 || !strings.Contains(lines[at-1], "m002") || !strings.Contains(lines[at+1], "m005") {
		t.Fatalf("gap line not between m002 and m005:\n%s", h.screen())
	}
}

// TestSyncProgressInStatusLine: a running catch-up shows its count in the
// status line until it is done.
func TestSyncProgressInStatusLine(t *testing.T) {
	h, _, _ := oneAccount(t)
	h.send(session.StateEvent{Account: me, State: session.Online})
	h.send(session.SyncEvent{Account: me, Archive: me, Fetched: 250, New: 12})
	if s := h.screen(); !strings.Contains(s, "syncing 250 messages…") {
		t.Fatalf("no progress in the status line:\n%s", s)
	}
	h.send(session.SyncEvent{Account: me, Archive: "room@conference.example.org", Fetched: 50})
	if s := h.screen(); !strings.Contains(s, "syncing 300 messages (2 archives)…") {
		t.Fatalf("progress of two archives:\n%s", s)
	}
	h.send(session.SyncEvent{Account: me, Archive: me, Fetched: 300, New: 20, Done: true})
	h.send(session.SyncEvent{Account: me, Archive: "room@conference.example.org", Fetched: 60, Done: true})
	if s := h.screen(); strings.Contains(s, "syncing") {
		t.Fatalf("progress still shown when done:\n%s", s)
	}
	// A catch-up cut by a lost connection says nothing more.
	h.send(session.SyncEvent{Account: me, Archive: me, Fetched: 50})
	h.send(session.StateEvent{Account: me, State: session.Reconnecting})
	h.send(session.StateEvent{Account: me, State: session.Online})
	if s := h.screen(); strings.Contains(s, "syncing") {
		t.Fatalf("progress of a cut catch-up still shown:\n%s", s)
	}
}

// TestArchiveFetchOffline: offline, the marker says so and the status line
// stays quiet; the next PgUp asks again.
func TestArchiveFetchOffline(t *testing.T) {
	h, acc, st := oneAccount(t)
	arch := seedArchive(st, acc, alice, 30, 10)
	arch.err = fmt.Errorf("%w: try again when the account is online", session.ErrOffline)
	h.typeText("/msg " + alice)
	h.press("enter")
	if txt, isErr := h.m.status.Text(); isErr {
		t.Fatalf("offline fetch raised an error: %q", txt)
	}
	if s := h.screen(); !strings.Contains(s, "beginning of what is stored (offline)") {
		t.Fatalf("marker:\n%s", s)
	}
	// Coming online asks again by itself: the marker does not stay
	// "offline" while the account is online.
	arch.err = nil
	h.send(session.StateEvent{Account: me, State: session.Online})
	if s := h.screen(); strings.Contains(s, "(offline)") {
		t.Fatalf("marker still says offline when online:\n%s", s)
	}
	h.press("pgup")
	if first, _ := bodyNumbers(t, h); first != 0 {
		t.Fatalf("pane starts at m%03d after going online", first)
	}
}

// TestRoomReplyQuote: in a room a reply names the room's stanza-id of what
// it answers; the quote is found by it.
func TestRoomReplyQuote(t *testing.T) {
	h, _, st := inRoom(t, 0)
	orig := st.add(store.Message{Account: me, Peer: room, Kind: store.KindGroupchat, Sender: "zed", Body: "who is in?",
		OriginID: "zed-own-id", StanzaID: "room-sid-1", StanzaBy: room, Timestamp: testNow})
	st.add(store.Message{Account: me, Peer: room, Kind: store.KindGroupchat, Sender: "alice", Body: "me",
		ReplyTo: "room-sid-1", StanzaID: "room-sid-2", StanzaBy: room, Timestamp: testNow.Add(time.Second)})
	h.m.chat.Close() // read the room again from the store
	h.run(h.m.openConversation(0, room, store.KindGroupchat, ""))
	if s := h.screen(); !strings.Contains(s, "↪ zed: who is in?") {
		t.Fatalf("no quote of %q above the reply:\n%s", orig.Body, s)
	}
}

// TestReadElsewhereClearsUnread: another device of ours displayed the
// conversation: its unread count goes.
func TestReadElsewhereClearsUnread(t *testing.T) {
	h, _, _ := oneAccount(t)
	for i := range 3 {
		h.send(session.MessageEvent{Account: me, Message: store.Message{ID: int64(100 + i), Account: me, Peer: alice,
			Sender: alice, Body: fmt.Sprintf("unseen %d", i), Timestamp: testNow}})
	}
	if h.m.accts[0].unread[alice] != 3 {
		t.Fatalf("unread %d before", h.m.accts[0].unread[alice])
	}
	h.send(session.ReadEvent{Account: me, Peer: alice, ID: 102})
	if n := h.m.accts[0].unread[alice]; n != 0 {
		t.Fatalf("unread %d after the read elsewhere", n)
	}
	if strings.Contains(h.screen(), "Alice 3") {
		t.Errorf("the sidebar still counts them:\n%s", h.screen())
	}
}

// TestLostGapDrawnNotAsked: a gap the archive cannot fill any more is
// drawn as such and never asked for.
func TestLostGapDrawnNotAsked(t *testing.T) {
	h, acc, st, _ := openSeeded(t, 12, 12)
	cutGap(st, acc, alice, 3, 4)
	fakeArchivesMu.Lock()
	k := acc.jid + " " + alice
	fakeGaps[st][k][0].Lost = true
	fakeArchivesMu.Unlock()
	h.typeText("/close")
	h.press("enter")
	h.typeText("/msg " + alice)
	h.press("enter")
	for range 3 {
		h.press("pgup")
	}
	for _, c := range acc.Calls() {
		if c.method == "FetchOlder" && c.args[1] != "0001-01-01T00:00:00Z" {
			t.Fatalf("a lost gap was asked for: %v", c)
		}
	}
	if s := h.screen(); !strings.Contains(s, "— gap in history: no longer on the server —") {
		t.Fatalf("no lost gap line:\n%s", s)
	}
}

// TestLateMessagePlacedInTime: a message older than the newest shown (a
// catch-up page after a live message) goes in its place, without moving
// the view; one older than everything loaded is left to paging.
func TestLateMessagePlacedInTime(t *testing.T) {
	h, _, _ := oneAccount(t)
	h.typeText("/msg " + alice)
	h.press("enter")
	at := func(min int) time.Time { return testNow.Add(time.Duration(min) * time.Minute) }
	msg := func(id int64, body string, ts time.Time) session.MessageEvent {
		return session.MessageEvent{Account: me, Message: store.Message{ID: id, Account: me, Peer: alice, Sender: alice, Body: body, Timestamp: ts}}
	}
	h.send(msg(1, "m001", at(-30)))
	h.send(msg(3, "m003", at(-10)))
	h.send(msg(2, "m002", at(-20)))
	if first, last := bodyNumbers(t, h); first != 1 || last != 3 {
		t.Fatalf("pane holds m%03d…m%03d", first, last)
	}
	h.m.chat.hasOlder = true
	h.send(msg(4, "m000", at(-40)))
	if first, _ := bodyNumbers(t, h); first != 1 {
		t.Fatalf("a message older than the loaded ones was shown at the top: m%03d", first)
	}
}

// TestSelectedShowsWhoReacted: selecting a message says who reacted with
// what.
func TestSelectedShowsWhoReacted(t *testing.T) {
	h, _, theirs, _ := featureScene(t)
	h.store.mu.Lock()
	h.store.reactions[theirs.ID] = []store.Reaction{{Sender: alice, Emojis: []string{"👍"}}, {Sender: me, Emojis: []string{"👍", "🎉"}}}
	h.store.mu.Unlock()
	h.typeText("/close")
	h.press("enter")
	h.typeText("/msg " + alice)
	h.press("enter")
	selectAt(h, 0)
	if text, _ := h.m.status.Text(); text != "reactions: 👍 Alice, you · 🎉 you" {
		t.Fatalf("status %q", text)
	}
}
