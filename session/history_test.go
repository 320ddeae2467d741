package session_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"xchat/internal/testserver"
	"xchat/session"
	"xchat/store"
)

// sendMany sends n numbered messages from a to peer and waits until the
// server accepted them all.
func sendMany(t *testing.T, a *account, peer, format string, n int) {
	t.Helper()
	ctx := context.Background()
	for i := range n {
		if _, err := a.c.SendMessage(ctx, peer, fmt.Sprintf(format, i)); err != nil {
			t.Fatal(err)
		}
	}
	fctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	if err := a.c.Flush(fctx); err != nil {
		t.Fatal(err)
	}
}

// wantBodies checks that the conversation holds exactly want, in order.
func wantBodies(t *testing.T, st *store.Store, acct, peer string, want []string) {
	t.Helper()
	msgs, err := st.Latest(context.Background(), acct, peer, len(want)+50)
	if err != nil {
		t.Fatal(err)
	}
	got := bodies(msgs)
	if len(got) != len(want) {
		t.Fatalf("%d messages stored, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("message %d = %q, want %q (order, loss or duplicate)", i, got[i], want[i])
		}
	}
}

// TestScrollBackFetchesOlderPages: a new device holds only the newest
// archive page after its catch-up; asking for older history pages back
// through the archive (only this conversation's) until its start, each
// message stored once, none counted unread, and then stops asking.
func TestScrollBackFetchesOlderPages(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	users := srv.Users(t, 3)
	ctx := context.Background()
	alice := start(t, config(srv, users[0], "a"), "")
	bob := start(t, config(srv, users[1], "b"), "")
	carol := start(t, config(srv, users[2], "c"), "")
	alice.waitOnline()
	bob.waitOnline()
	carol.waitOnline()
	const n = 600
	sendMany(t, bob, users[0].JID, "bob %03d", n)
	sendMany(t, carol, users[0].JID, "carol %03d", 5)
	alice.waitMessage(users[1].JID, fmt.Sprintf("bob %03d", n-1))

	fresh := start(t, config(srv, users[0], "new-laptop"), "")
	fresh.waitOnline()
	waitSynced(fresh)
	count := func() int {
		c, err := fresh.st.Count(ctx, users[0].JID, users[1].JID)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	held := count()
	if held >= n {
		t.Fatalf("the catch-up of a new device fetched %d messages: nothing left to scroll back to", held)
	}
	if err := fresh.st.MarkRead(ctx, users[0].JID, users[1].JID); err != nil {
		t.Fatal(err)
	}
	var pages int
	for {
		res, err := fresh.c.FetchOlder(ctx, users[1].JID, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		pages++
		t.Logf("page %d: %+v", pages, res)
		if got := count(); got != held+res.Added {
			t.Fatalf("FetchOlder reported %d new, the store grew by %d", res.Added, got-held)
		}
		held = count()
		if res.Start {
			break
		}
		if res.Added == 0 || pages > 20 {
			t.Fatalf("page %d: nothing added and the start not reached", pages)
		}
	}
	if pages < 2 {
		t.Errorf("reached the archive's start in %d page(s); want paging", pages)
	}
	want := make([]string, n)
	for i := range want {
		want[i] = fmt.Sprintf("bob %03d", i)
	}
	wantBodies(t, fresh.st, users[0].JID, users[1].JID, want)
	convs, err := fresh.st.Conversations(ctx, users[0].JID)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range convs {
		if c.Peer == users[1].JID && c.Unread != 0 {
			t.Errorf("older history counted %d unread", c.Unread)
		}
	}
	// The start is remembered in the store: asking again is answered
	// from it, and survives a restart.
	start, err := fresh.st.ArchiveStart(ctx, users[0].JID, users[1].JID)
	if err != nil || !start {
		t.Fatalf("archive start not recorded: %v %v", start, err)
	}
	res, err := fresh.c.FetchOlder(ctx, users[1].JID, time.Time{})
	if err != nil || !res.Start || res.Added != 0 {
		t.Fatalf("after the start: %+v %v", res, err)
	}
}

// TestGapFilledFromArchive: a device that lost its archive position but
// holds old messages catches up with the newest page only, which leaves a
// gap before it; fetching the gap fills it exactly, and the gap is gone.
func TestGapFilledFromArchive(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	users := srv.Users(t, 2)
	ctx := context.Background()
	db := filepath.Join(t.TempDir(), "alice.db")
	alice := start(t, config(srv, users[0], "a"), db)
	other := start(t, config(srv, users[0], "phone"), "")
	bob := start(t, config(srv, users[1], "b"), "")
	alice.waitOnline()
	other.waitOnline()
	bob.waitOnline()
	waitSynced(alice)
	sendMany(t, bob, users[0].JID, "early %d", 5)
	alice.waitMessage(users[1].JID, "early 4")
	alice.stop()

	// The position is lost (a store from before it was kept, say).
	st, err := store.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SetArchiveSync(ctx, users[0].JID, users[0].JID, "", time.Time{}); err != nil {
		t.Fatal(err)
	}
	st.Close()

	const late = 300 // more than one page: the catch-up takes the newest only
	sendMany(t, bob, users[0].JID, "late %03d", late)
	other.waitMessage(users[1].JID, fmt.Sprintf("late %03d", late-1))

	alice = start(t, config(srv, users[0], "a"), db)
	alice.waitOnline()
	gapEv := alice.waitFor("gap", 30*time.Second, func(ev session.Event) bool {
		e, ok := ev.(session.HistoryGapEvent)
		return ok && e.Peer == users[1].JID
	}).(session.HistoryGapEvent)
	waitSynced(alice)
	gaps, err := alice.st.Gaps(ctx, users[0].JID, users[1].JID)
	if err != nil || len(gaps) != 1 || !gaps[0].At.Equal(gapEv.At) || gaps[0].Lost {
		t.Fatalf("gaps stored %v (%v), event at %v", gaps, err, gapEv.At)
	}
	before, _ := alice.st.Count(ctx, users[0].JID, users[1].JID)
	if before >= 5+late {
		t.Fatalf("no hole to fill: %d messages held", before)
	}
	added, gap := 0, gaps[0].At
	for range 20 {
		res, err := alice.c.FetchOlder(ctx, users[1].JID, gap)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("gap fill: %+v", res)
		added += res.Added
		if res.GapClosed {
			break
		}
		if res.NextGap.IsZero() || !res.NextGap.Before(gap) {
			t.Fatalf("gap did not move down: %+v", res)
		}
		gap = res.NextGap
	}
	if added != 5+late-before {
		t.Fatalf("gap fill added %d; want %d", added, 5+late-before)
	}
	want := make([]string, 0, 5+late)
	for i := range 5 {
		want = append(want, fmt.Sprintf("early %d", i))
	}
	for i := range late {
		want = append(want, fmt.Sprintf("late %03d", i))
	}
	wantBodies(t, alice.st, users[0].JID, users[1].JID, want)
	if gaps, _ := alice.st.Gaps(ctx, users[0].JID, users[1].JID); len(gaps) != 0 {
		t.Errorf("gap still recorded after filling: %v", gaps)
	}
}

// TestRoomCatchUp500: bob is away while 500 messages are sent in a room;
// back, he catches up from the room's archive: all 500 exactly once, in
// order, and the room's position moves to the newest.
func TestRoomCatchUp500(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	users := srv.Users(t, 2)
	ctx := context.Background()
	alice := start(t, config(srv, users[0], "a"), "")
	bobDB := filepath.Join(t.TempDir(), "bob.db")
	bob := start(t, config(srv, users[1], "b"), bobDB)
	alice.waitOnline()
	bob.waitOnline()
	room := publicChannel(t, "catch up", alice, bob)
	bob.waitFor("room synced", 20*time.Second, func(ev session.Event) bool {
		e, ok := ev.(session.SyncEvent)
		return ok && e.Archive == room && e.Done
	})
	if _, err := alice.c.SendGroupMessage(ctx, room, "before"); err != nil {
		t.Fatal(err)
	}
	waitGroupMessage(bob, room, "alice", "before")
	bob.stop()

	const n = 500
	for i := range n {
		if _, err := alice.c.SendGroupMessage(ctx, room, fmt.Sprintf("r %03d", i)); err != nil {
			t.Fatal(err)
		}
	}
	fctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	if err := alice.c.Flush(fctx); err != nil {
		t.Fatal(err)
	}

	bob = start(t, config(srv, users[1], "b"), bobDB)
	bob.waitOnline()
	ev := bob.waitFor("room catch-up", 60*time.Second, func(ev session.Event) bool {
		e, ok := ev.(session.SyncEvent)
		return ok && e.Archive == room && e.Done
	}).(session.SyncEvent)
	if ev.Err != nil || ev.New != n {
		t.Fatalf("room catch-up: %+v; want %d new", ev, n)
	}
	want := []string{"before"}
	for i := range n {
		want = append(want, fmt.Sprintf("r %03d", i))
	}
	wantBodies(t, bob.st, users[1].JID, room, want)
	last, _, err := bob.st.ArchiveSync(ctx, users[1].JID, room)
	msgs, _ := bob.st.Latest(ctx, users[1].JID, room, 1)
	if err != nil || last == "" || len(msgs) != 1 || msgs[0].StanzaID != last {
		t.Fatalf("room position %q, newest message %+v (%v)", last, msgs, err)
	}

	// A new device of bob's joins through the bookmark with the newest
	// page only, then pages back through the room's archive to its start.
	fresh := start(t, config(srv, users[1], "tablet"), "")
	fresh.waitOnline()
	fresh.waitFor("room catch-up on the new device", 30*time.Second, func(ev session.Event) bool {
		e, ok := ev.(session.SyncEvent)
		return ok && e.Archive == room && e.Done
	})
	if held, _ := fresh.st.Count(ctx, users[1].JID, room); held >= n {
		t.Fatalf("the new device fetched %d messages at once", held)
	}
	for pages := 0; ; pages++ {
		res, err := fresh.c.FetchOlder(ctx, room, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if res.Start {
			break
		}
		if res.Added == 0 || pages > 20 {
			t.Fatalf("room page %d: %+v", pages, res)
		}
	}
	wantBodies(t, fresh.st, users[1].JID, room, want)
}

// TestCatchUpAppliesFeatures: corrections, reactions and retractions found
// in the archive during a catch-up change the messages they refer to, as
// they do live; none becomes a message of its own (1:1 and room).
func TestCatchUpAppliesFeatures(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	users := srv.Users(t, 2)
	ctx := context.Background()
	db := filepath.Join(t.TempDir(), "alice.db")
	alice := start(t, config(srv, users[0], "a"), db)
	phone := start(t, config(srv, users[0], "phone"), "")
	bob := start(t, config(srv, users[1], "b"), "")
	alice.waitOnline()
	phone.waitOnline()
	bob.waitOnline()
	waitSynced(alice)
	// Non-anonymous: the archive names real JIDs, which prove authors.
	room, err := bob.c.CreateRoom(ctx, session.PrivateGroup, "archived features", []string{users[0].JID})
	if err != nil {
		t.Fatal(err)
	}
	if err := alice.c.JoinRoom(ctx, room, "alice", ""); err != nil {
		t.Fatal(err)
	}
	waitRoom(alice, room, "joined", joined)
	if _, err := bob.c.SendMessage(ctx, users[0].JID, "before"); err != nil {
		t.Fatal(err)
	}
	alice.waitMessage(users[1].JID, "before")
	if _, err := bob.c.SendGroupMessage(ctx, room, "room before"); err != nil {
		t.Fatal(err)
	}
	waitGroupMessage(alice, room, "bob", "room before")
	// And a semi-anonymous channel, where the archive cannot prove authors.
	channel := publicChannel(t, "archived channel", bob, alice)
	if _, err := bob.c.SendGroupMessage(ctx, channel, "channel before"); err != nil {
		t.Fatal(err)
	}
	waitGroupMessage(alice, channel, "bob", "channel before")
	alice.stop()

	// While alice's xchat is away: messages, then changes to them.
	one, err := bob.c.SendMessage(ctx, users[0].JID, "typo")
	if err != nil {
		t.Fatal(err)
	}
	two, err := bob.c.SendMessage(ctx, users[0].JID, "regret")
	if err != nil {
		t.Fatal(err)
	}
	rm, err := bob.c.SendGroupMessage(ctx, room, "room typo")
	if err != nil {
		t.Fatal(err)
	}
	bob.waitFor("reflection", 10*time.Second, func(ev session.Event) bool {
		e, ok := ev.(session.MessageStateEvent)
		return ok && e.ID == rm.ID && e.State == store.StateDelivered
	})
	fctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := bob.c.Flush(fctx); err != nil {
		t.Fatal(err)
	}
	for _, step := range []func() error{
		func() error { return bob.c.Correct(ctx, one.ID, "fixed") },
		func() error { return bob.c.React(ctx, one.ID, []string{"🎉"}) },
		func() error { return bob.c.Retract(ctx, two.ID) },
		func() error { return bob.c.Correct(ctx, rm.ID, "room fixed") },
		func() error { return bob.c.React(ctx, rm.ID, []string{"👀"}) },
	} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	cm, err := bob.c.SendGroupMessage(ctx, channel, "channel typo")
	if err != nil {
		t.Fatal(err)
	}
	bob.waitFor("channel reflection", 10*time.Second, func(ev session.Event) bool {
		e, ok := ev.(session.MessageStateEvent)
		return ok && e.ID == cm.ID && e.State == store.StateDelivered
	})
	if err := bob.c.Correct(ctx, cm.ID, "channel fixed"); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.c.SendGroupMessage(ctx, channel, "channel last"); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.c.SendMessage(ctx, users[0].JID, "last"); err != nil {
		t.Fatal(err)
	}
	phone.waitMessage(users[1].JID, "last")
	if _, err := bob.c.SendGroupMessage(ctx, room, "room last"); err != nil {
		t.Fatal(err)
	}
	if err := bob.c.Flush(fctx); err != nil {
		t.Fatal(err)
	}

	alice = start(t, config(srv, users[0], "a"), db)
	alice.waitOnline()
	synced := map[string]bool{}
	alice.waitFor("catch-ups", 30*time.Second, func(ev session.Event) bool {
		if e, ok := ev.(session.SyncEvent); ok && e.Done {
			synced[e.Archive] = true
		}
		return synced[users[0].JID] && synced[room] && synced[channel]
	})
	check := func(peer string, want []string) []store.Message {
		t.Helper()
		msgs, err := alice.st.Latest(ctx, users[0].JID, peer, 50)
		if err != nil {
			t.Fatal(err)
		}
		if got := bodies(msgs); strings.Join(got, "|") != strings.Join(want, "|") {
			t.Fatalf("%s holds %q, want %q", peer, got, want)
		}
		return msgs
	}
	msgs := check(users[1].JID, []string{"before", "fixed", "", "last"})
	if !msgs[1].Edited || !msgs[2].Retracted {
		t.Errorf("edited %v, retracted %v", msgs[1].Edited, msgs[2].Retracted)
	}
	r, _ := alice.st.Reactions(ctx, []int64{msgs[1].ID})
	if len(r[msgs[1].ID]) != 1 || r[msgs[1].ID][0].Emojis[0] != "🎉" {
		t.Errorf("reactions of the corrected message: %+v", r)
	}
	// Unprovable: the correction stays a message, in its place.
	check(channel, []string{"channel before", "channel typo", "channel fixed", "channel last"})
	rmsgs := check(room, []string{"room before", "room fixed", "room last"})
	r, _ = alice.st.Reactions(ctx, []int64{rmsgs[1].ID})
	if len(r[rmsgs[1].ID]) != 1 || r[rmsgs[1].ID][0].Emojis[0] != "👀" {
		t.Errorf("room reactions: %+v", r)
	}
}

// TestGapLostWhenArchiveExpired: messages we hold that the archive no
// longer has (expired) leave a gap that filling cannot close: it is kept
// as a lost gap above the oldest message the archive still has.
func TestGapLostWhenArchiveExpired(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	users := srv.Users(t, 2)
	ctx := context.Background()
	db := filepath.Join(t.TempDir(), "alice.db")
	// The store holds old messages the server's archive does not.
	st, err := store.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		m := &store.Message{Account: users[0].JID, Peer: users[1].JID, Sender: users[1].JID, Body: fmt.Sprintf("ancient %d", i),
			Timestamp: time.Now().Add(-time.Duration(48-i) * time.Hour), StanzaID: fmt.Sprintf("expired-%d", i), StanzaBy: users[0].JID}
		if _, err := st.AddMessage(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()
	phone := start(t, config(srv, users[0], "phone"), "")
	bob := start(t, config(srv, users[1], "b"), "")
	phone.waitOnline()
	bob.waitOnline()
	const late = 120
	sendMany(t, bob, users[0].JID, "late %03d", late)
	phone.waitMessage(users[1].JID, fmt.Sprintf("late %03d", late-1))

	alice := start(t, config(srv, users[0], "a"), db)
	alice.waitOnline()
	gap := alice.waitFor("gap", 30*time.Second, func(ev session.Event) bool {
		e, ok := ev.(session.HistoryGapEvent)
		return ok && e.Peer == users[1].JID
	}).(session.HistoryGapEvent).At
	var res session.HistoryResult
	for range 20 {
		res, err = alice.c.FetchOlder(ctx, users[1].JID, gap)
		if err != nil {
			t.Fatal(err)
		}
		if res.GapClosed {
			break
		}
		gap = res.NextGap
	}
	if !res.GapClosed || !res.Lost {
		t.Fatalf("last fill %+v; want the gap kept as lost", res)
	}
	msgs, _ := alice.st.Latest(ctx, users[0].JID, users[1].JID, 500)
	if len(msgs) != 3+late || msgs[3].Body != "late 000" {
		t.Fatalf("%d messages, the fourth %q", len(msgs), msgs[min(3, len(msgs)-1)].Body)
	}
	gaps, _ := alice.st.Gaps(ctx, users[0].JID, users[1].JID)
	if len(gaps) != 1 || !gaps[0].Lost || !gaps[0].At.Equal(msgs[3].Timestamp) {
		t.Fatalf("gaps %+v; want one lost gap at late 000 (%v)", gaps, msgs[3].Timestamp)
	}
}
