package main

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"xchat/internal/testserver"
	"xchat/internal/tmuxtest"
	"xchat/session"
	"xchat/store"
)

// killTUI SIGKILLs the xchat of a tmux session and waits until it is gone.
func killTUI(t *testing.T, s *tmuxtest.Session) {
	t.Helper()
	if err := syscall.Kill(s.PanePID(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Poll(10*time.Second, func(string) bool { return s.Exited() }); !ok {
		t.Fatal("xchat still runs after SIGKILL")
	}
}

// countFlood counts the stored "c=NNNN" messages.
func countFlood(db *sql.DB) int {
	var n int
	_ = db.QueryRow(`SELECT count(*) FROM messages WHERE body LIKE 'c=%'`).Scan(&n)
	return n
}

// TestTUIKilledDuringCatchUp: xchat is SIGKILLed while it pages through
// the archive for what it missed; the database passes integrity_check and
// holds a gapless prefix, and the next start finishes the catch-up: every
// message exactly once, in order. The status line shows the progress.
func TestTUIKilledDuringCatchUp(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t, testserver.Options{NoUpload: true})
	users := srv.Users(t, 2)
	alice, bob := users[0], users[1]
	dbPath := filepath.Join(t.TempDir(), "alice.db")
	h := newHome(t, srv, alice, dbPath)
	ctx := context.Background()

	// First run: xchat holds an archive position after one live message.
	s := startTUI(t, h, tmuxtest.Options{})
	bc := startClient(t, srv, bob, "flood", false)
	bc.waitOnline()
	bc.send(alice.JID, "before")
	db := openDBReadOnly(t, dbPath)
	deadline := time.Now().Add(20 * time.Second)
	for {
		var last string
		_ = db.QueryRow(`SELECT last_id FROM archive_sync WHERE archive = ?`, alice.JID).Scan(&last)
		if last != "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no archive position recorded after a live message")
		}
		time.Sleep(20 * time.Millisecond)
	}
	killTUI(t, s)

	// While xchat is away another device of alice's is online, so the
	// messages are only in the archive (no offline storage to redeliver).
	phone := startClient(t, srv, alice, "phone", false)
	phone.waitOnline()
	const total = 3000
	for i := 1; i <= total; i++ {
		if _, err := bc.c.SendMessage(ctx, alice.JID, fmt.Sprintf("c=%04d", i)); err != nil {
			t.Fatal(err)
		}
	}
	fctx, cancel := context.WithTimeout(ctx, 120*time.Second)
	defer cancel()
	if err := bc.c.Flush(fctx); err != nil {
		t.Fatal(err)
	}

	// Second run: killed in the middle of the catch-up.
	s = tmuxtest.Start(t, tmuxtest.Options{Env: h.with()}, xchatBinary(t))
	progress := regexp.MustCompile(`syncing \d+ messages…`)
	sawProgress := false
	deadline = time.Now().Add(60 * time.Second)
	stored := 0
	for stored < 200 {
		if time.Now().After(deadline) {
			t.Fatalf("only %d messages caught up after 60s", stored)
		}
		if !sawProgress && progress.MatchString(s.Capture()) {
			sawProgress = true
		}
		stored = countFlood(db)
		if stored < 200 {
			time.Sleep(5 * time.Millisecond)
		}
	}
	killTUI(t, s)
	if stored = countFlood(db); stored >= total {
		t.Fatalf("the catch-up was complete (%d) before the kill: nothing interrupted", stored)
	}
	db.Close()

	check := func(wantAll bool) int {
		t.Helper()
		st, err := store.Open(ctx, dbPath)
		if err != nil {
			t.Fatalf("reopening the database: %v", err)
		}
		defer st.Close()
		var ic string
		if err := st.DB().QueryRow("PRAGMA integrity_check").Scan(&ic); err != nil || ic != "ok" {
			t.Fatalf("integrity_check = %q, %v", ic, err)
		}
		msgs, err := st.Latest(ctx, alice.JID, bob.JID, 2*total)
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) == 0 || msgs[0].Body != "before" {
			t.Fatalf("first message %v", bodiesOf(msgs[:min(1, len(msgs))]))
		}
		for i, m := range msgs[1:] {
			if want := fmt.Sprintf("c=%04d", i+1); m.Body != want {
				t.Fatalf("message %d of %d is %q, want %q: a gap, a duplicate or disorder", i+1, len(msgs)-1, m.Body, want)
			}
		}
		if wantAll && len(msgs)-1 != total {
			t.Fatalf("%d of %d messages after the restart", len(msgs)-1, total)
		}
		return len(msgs) - 1
	}
	kept := check(false)
	if !sawProgress {
		t.Error("no \"syncing N messages…\" in the status line during the catch-up")
	}
	t.Logf("killed with %d of %d caught up (%d seen before the kill); progress shown: %v", kept, total, stored, sawProgress)

	// Third run: the catch-up resumes from where the kill left it.
	s = startTUI(t, h, tmuxtest.Options{})
	db = openDBReadOnly(t, dbPath)
	deadline = time.Now().Add(60 * time.Second)
	for countFlood(db) < total {
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d messages after the restart", countFlood(db), total)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, ok := s.Poll(20*time.Second, func(screen string) bool { return !strings.Contains(screen, "syncing") }); !ok {
		t.Error("the progress stays in the status line after the catch-up")
	}
	time.Sleep(300 * time.Millisecond) // duplicates, if any, would land now
	killTUI(t, s)
	db.Close()
	check(true)
}

func bodiesOf(ms []store.Message) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Body
	}
	return out
}

// TestTUIScrollBackFetchesArchive: a new install holds only the newest
// archive page after its catch-up; PageUp past the top of what is stored
// brings the older pages from the server until the first message, with
// "loading older messages…" meanwhile, then stops asking.
func TestTUIScrollBackFetchesArchive(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t, testserver.Options{NoUpload: true})
	users := srv.Users(t, 2)
	alice, bob := users[0], users[1]
	ctx := context.Background()
	phone := startClient(t, srv, alice, "phone", false)
	phone.waitOnline()
	bc := startClient(t, srv, bob, "b", false)
	bc.waitOnline()
	const total = 300
	for i := 1; i <= total; i++ {
		if _, err := bc.c.SendMessage(ctx, alice.JID, fmt.Sprintf("o=%04d", i)); err != nil {
			t.Fatal(err)
		}
	}
	fctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := bc.c.Flush(fctx); err != nil {
		t.Fatal(err)
	}

	dbPath := filepath.Join(t.TempDir(), "alice.db")
	h := newHome(t, srv, alice, dbPath)
	s := startTUI(t, h, tmuxtest.Options{}, "XCHAT_OPEN="+bob.JID)
	s.WaitForText(fmt.Sprintf("o=%04d", total))
	db := openDBReadOnly(t, dbPath)
	held := countOld(db)
	if held >= total {
		t.Fatalf("the catch-up of a new install fetched all %d messages: nothing to scroll back to", held)
	}
	first := fmt.Sprintf("o=%04d", 1)
	sawLoading := false
	deadline := time.Now().Add(60 * time.Second)
	for {
		screen := s.Capture()
		if strings.Contains(screen, "loading older messages…") {
			sawLoading = true
		}
		if strings.Contains(screen, first) && strings.Contains(screen, "beginning of the conversation") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("scrolling back did not reach the first message (%d stored):\n%s", countOld(db), tmuxtest.Frame(screen))
		}
		s.SendKeys("PageUp")
		time.Sleep(30 * time.Millisecond)
	}
	if n := countOld(db); n != total {
		t.Fatalf("%d messages stored after scrolling to the start, want %d", n, total)
	}
	var dups int
	_ = db.QueryRow(`SELECT count(*) FROM (SELECT body FROM messages WHERE body LIKE 'o=%' GROUP BY body HAVING count(*) > 1)`).Scan(&dups)
	if dups != 0 {
		t.Fatalf("%d messages stored twice", dups)
	}
	var start int
	_ = db.QueryRow(`SELECT count(*) FROM history_state WHERE archive_start = 1`).Scan(&start)
	if start != 1 {
		t.Error("the archive's start is not remembered")
	}
	t.Logf("%d of %d messages held after the catch-up; loading line seen: %v", held, total, sawLoading)
}

func countOld(db *sql.DB) int {
	var n int
	_ = db.QueryRow(`SELECT count(*) FROM messages WHERE body LIKE 'o=%'`).Scan(&n)
	return n
}

// TestTUIRoomFeatures: in a room, alice's interface reacts to bob's
// message from selection mode, corrects her own with /correct, and shows
// bob typing; bob's session sees the reaction and the correction.
func TestTUIRoomFeatures(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t, testserver.Options{NoUpload: true})
	users := srv.Users(t, 2)
	alice, bob := users[0], users[1]
	bc := startClient(t, srv, bob, "muc", false)
	bc.waitOnline()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	roomJID, err := bc.c.CreateRoom(ctx, session.PublicChannel, "features room", nil)
	if err != nil {
		t.Fatal(err)
	}
	ha := newHome(t, srv, alice, "")
	sa := startTUI(t, ha, tmuxtest.Options{})
	sa.SendText("/join " + roomJID)
	sa.SendKeys("Enter")
	bc.waitFor("alice in the room", 30*time.Second, func(ev session.Event) bool {
		e, ok := ev.(session.RoomStateEvent)
		return ok && e.Room == roomJID && len(e.Occupants) >= 2
	})

	sa.WaitForText("you joined as")
	theirs, err := bc.c.SendGroupMessage(ctx, roomJID, "react to me")
	if err != nil {
		t.Fatal(err)
	}
	sa.WaitForText("react to me")
	// Esc in the empty input selects the newest message; + 1 reacts 👍.
	sa.SendKeys("Escape")
	sa.WaitForText("selection:")
	time.Sleep(300 * time.Millisecond)
	sa.SendText("+")
	sa.WaitForText("react:")
	sa.SendText("1")
	bc.waitFor("alice's reaction", 30*time.Second, func(ev session.Event) bool {
		e, ok := ev.(session.MessageUpdatedEvent)
		return ok && e.Peer == roomJID && e.ID == theirs.ID && e.What == "reactions"
	})
	r, err := bc.st.Reactions(ctx, []int64{theirs.ID})
	if err != nil || len(r[theirs.ID]) != 1 || r[theirs.ID][0].Emojis[0] != "👍" || r[theirs.ID][0].Sender != alice.JID {
		t.Fatalf("bob's copy of the reactions: %+v %v", r, err)
	}
	sa.WaitForText("👍 1")
	sa.SendKeys("Escape")
	// An Escape followed at once by text reads as Alt+key: let it land.
	time.Sleep(500 * time.Millisecond)

	// Alice corrects her message; bob (a moderator, who sees her JID)
	// applies it.
	sa.SendText("tpyo in the room")
	sa.SendKeys("Enter")
	if _, ok := sa.Poll(5*time.Second, func(sc string) bool { return strings.Contains(sc, "tpyo in the room") }); !ok {
		t.Fatalf("alice's message not on her screen:\n%s", tmuxtest.Frame(sa.Capture()))
	}
	ev := bc.waitFor("alice's message", 30*time.Second, func(ev session.Event) bool {
		e, ok := ev.(session.MessageEvent)
		return ok && e.Message.Peer == roomJID && e.Message.Body == "tpyo in the room"
	}).(session.MessageEvent)
	sa.WaitForText("tpyo in the room ✓✓")
	sa.SendText("/correct typo in the room")
	sa.SendKeys("Enter")
	bc.waitFor("the correction", 30*time.Second, func(e session.Event) bool {
		u, ok := e.(session.MessageUpdatedEvent)
		return ok && u.ID == ev.Message.ID && u.What == "corrected"
	})
	if m, _ := bc.st.Message(ctx, ev.Message.ID); m.Body != "typo in the room" || !m.Edited {
		t.Fatalf("bob's copy after the correction: %+v", m)
	}
	sa.WaitForText("typo in the room (edited)")

	// Bob typing shows in alice's status line with his nick.
	if err := bc.c.SendChatState(ctx, roomJID, "composing"); err != nil {
		t.Fatal(err)
	}
	sa.WaitForText("is typing…")
}
