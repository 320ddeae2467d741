package session_test

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"xchat/internal/testserver"
	"xchat/session"
	"xchat/store"
)

// wire records what a client writes, to check that no plaintext leaves.
type wire struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *wire) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *wire) contains(s string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return strings.Contains(w.b.String(), s)
}

// updatedIn waits for a MessageUpdatedEvent of kind what in peer.
func updatedIn(a *account, peer, what string) session.MessageUpdatedEvent {
	a.t.Helper()
	return a.waitFor(what+" in "+peer, 20*time.Second, func(ev session.Event) bool {
		e, ok := ev.(session.MessageUpdatedEvent)
		return ok && e.Peer == peer && e.What == what
	}).(session.MessageUpdatedEvent)
}

// Corrections, retractions, reactions and replies in an encrypted private
// group are applied to the messages they refer to after decryption, not
// stored as new messages; the correction's text crosses the wire
// encrypted.
func TestOMEMOGroupFeatures(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	users := srv.Users(t, 2)
	ctx := context.Background()
	aw := &wire{}
	ca := omemoConfig(srv, users[0], "a")
	ca.TraceOut = aw
	alice := start(t, ca, "")
	bob := start(t, omemoConfig(srv, users[1], "b"), "")
	alice.waitOnline()
	bob.waitOnline()
	room := privateGroup(t, "Features", alice, bob)
	waitEncryption(t, alice, room, 1)
	waitEncryption(t, bob, room, 1)

	mine, err := alice.c.SendGroupMessage(ctx, room, "group tpyo")
	if err != nil {
		t.Fatal(err)
	}
	got := waitGroupEncrypted(bob, room, nick(users[0]), "group tpyo")
	alice.waitFor("reflection", 10*time.Second, func(ev session.Event) bool {
		e, ok := ev.(session.MessageStateEvent)
		return ok && e.ID == mine.ID && e.State == store.StateDelivered
	})

	// Correction: applied to bob's copy, encrypted on the wire.
	if err := alice.c.Correct(ctx, mine.ID, "group typo fixed"); err != nil {
		t.Fatal(err)
	}
	up := updatedIn(bob, room, "corrected")
	fixed, err := bob.st.Message(ctx, up.ID)
	if err != nil || fixed.ID != got.ID || fixed.Body != "group typo fixed" || !fixed.Edited {
		t.Fatalf("bob's corrected copy = %+v, %v", fixed, err)
	}
	if aw.contains("group typo fixed") {
		t.Error("the correction's text left alice's client in clear")
	}

	// A reply from bob: stored as a reply (persisted), its text decrypted.
	r, err := bob.c.Reply(ctx, got.ID, "bob answers")
	if err != nil {
		t.Fatal(err)
	}
	reply := waitGroupEncrypted(alice, room, nick(users[1]), "bob answers")
	stored, err := alice.st.Message(ctx, reply.ID)
	if err != nil || stored.ReplyTo == "" || stored.ReplyTo != r.ReplyTo {
		t.Fatalf("alice's copy of the reply = %+v (want reply to %q), %v", stored, r.ReplyTo, err)
	}

	// Reactions from bob (they travel outside OMEMO in legacy OMEMO).
	if err := bob.c.React(ctx, got.ID, []string{"👍"}); err != nil {
		t.Fatal(err)
	}
	up = updatedIn(alice, room, "reactions")
	rs, err := alice.st.Reactions(ctx, []int64{up.ID})
	if err != nil || up.ID != mine.ID || len(rs[mine.ID]) != 1 || rs[mine.ID][0].Emojis[0] != "👍" {
		t.Fatalf("alice's reactions = %+v, %v", rs, err)
	}

	// Retraction by alice: bob's copy becomes a tombstone.
	if err := alice.c.Retract(ctx, mine.ID); err != nil {
		t.Fatal(err)
	}
	up = updatedIn(bob, room, "retracted")
	gone, err := bob.st.Message(ctx, up.ID)
	if err != nil || gone.ID != got.ID || !gone.Retracted || gone.Body != "" {
		t.Fatalf("bob's retracted copy = %+v, %v", gone, err)
	}

	// /omemo fingerprint ROOM lists the members whose devices get the key.
	if members, err := alice.c.RoomMembers(ctx, room); err != nil || len(members) != 1 || members[0] != users[1].JID {
		t.Errorf("RoomMembers = %v, %v; want bob", members, err)
	}

	// None of it became a message of its own, nor an undecryptable one.
	time.Sleep(500 * time.Millisecond)
	noUndecryptable(t, alice, users[0].JID, room)
	noUndecryptable(t, bob, users[1].JID, room)
	for _, x := range []struct {
		a    *account
		acct string
	}{{alice, users[0].JID}, {bob, users[1].JID}} {
		msgs, _ := x.a.st.Latest(ctx, x.acct, room, 20)
		var bodies []string
		for _, m := range msgs {
			bodies = append(bodies, m.Body)
		}
		if len(msgs) != 2 || msgs[1].Body != "bob answers" {
			t.Errorf("%s's room history = %q, want the retracted message and the reply only", x.acct, bodies)
		}
	}
}

// In an encrypted 1:1 chat a reply is stored as one (not only announced),
// and a correction's text is encrypted.
func TestOMEMOChatReplyAndCorrectionEncrypted(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	users := srv.Users(t, 2)
	ctx := context.Background()
	aw := &wire{}
	ca := omemoConfig(srv, users[0], "a")
	ca.TraceOut = aw
	alice := start(t, ca, "")
	bobDB := filepath.Join(t.TempDir(), "bob.db")
	bob := start(t, omemoConfig(srv, users[1], "b"), bobDB)
	alice.waitOnline()
	bob.waitOnline()
	befriend(t, alice, bob, users[0].JID, users[1].JID)
	waitEncryption(t, alice, users[1].JID, 1)
	waitEncryption(t, bob, users[0].JID, 1)
	m, err := alice.c.SendMessage(ctx, users[1].JID, "one secret")
	if err != nil {
		t.Fatal(err)
	}
	got := waitEncrypted(bob, users[0].JID, "one secret")
	if err := alice.c.Correct(ctx, m.ID, "one secret, fixed"); err != nil {
		t.Fatal(err)
	}
	updatedIn(bob, users[0].JID, "corrected")
	if aw.contains("one secret, fixed") {
		t.Error("the correction's text left alice's client in clear")
	}
	// bob restarts: his catch-up must not decrypt the applied correction
	// a second time (its key is spent), which would show an error.
	time.Sleep(300 * time.Millisecond)
	bob.stop()
	bob = start(t, omemoConfig(srv, users[1], "b"), bobDB)
	bob.waitOnline()
	waitSynced(bob)
	time.Sleep(300 * time.Millisecond)
	if msgs, _ := bob.st.Latest(ctx, users[1].JID, users[0].JID, 10); len(msgs) != 1 || msgs[0].Error != "" || msgs[0].Body != "one secret, fixed" {
		for _, m := range msgs {
			t.Errorf("bob after restart: %q error %q", m.Body, m.Error)
		}
	}
	r, err := bob.c.Reply(ctx, got.ID, "bob replies")
	if err != nil {
		t.Fatal(err)
	}
	reply := waitEncrypted(alice, users[1].JID, "bob replies")
	stored, err := alice.st.Message(ctx, reply.ID)
	if err != nil || stored.ReplyTo == "" || stored.ReplyTo != r.ReplyTo {
		t.Fatalf("alice's stored reply = %+v (want reply to %q), %v", stored, r.ReplyTo, err)
	}
	if n, _ := bob.st.Count(ctx, users[1].JID, users[0].JID); n != 2 {
		t.Errorf("bob has %d messages, want 2 (the corrected one and his reply)", n)
	}
}
