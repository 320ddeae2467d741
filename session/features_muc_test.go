package session_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"xchat/internal/testserver"
	"xchat/internal/xmpptest"
	"xchat/session"
	"xchat/store"
)

func waitUpdatedIn(a *account, peer, what string, id int64) {
	a.t.Helper()
	a.waitFor(what+" in "+peer, 20*time.Second, func(ev session.Event) bool {
		e, ok := ev.(session.MessageUpdatedEvent)
		return ok && e.Peer == peer && e.What == what && e.ID == id
	})
}

// TestRoomMessageFeatures: corrections, retractions, reactions, replies,
// chat states and displayed markers between two xchat sessions in a
// semi-anonymous room on Prosody, by the room's stanza-ids; a correction
// from another occupant is not applied; no receipts are asked in rooms.
func TestRoomMessageFeatures(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	users := srv.Users(t, 3)
	ctx := context.Background()
	alice := start(t, config(srv, users[0], "a"), "")
	bob := start(t, config(srv, users[1], "b"), "")
	alice.waitOnline()
	bob.waitOnline()
	room, err := alice.c.CreateRoom(ctx, session.PublicChannel, "features", nil)
	if err != nil {
		t.Fatal(err)
	}
	waitRoom(alice, room, "joined", joined)
	if err := bob.c.JoinRoom(ctx, room, "bobby", ""); err != nil {
		t.Fatal(err)
	}
	waitRoom(bob, room, "bob joined", joined)
	waitRoom(alice, room, "bob present", func(e session.RoomStateEvent) bool { return hasOccupant(e, "bobby") })

	// mallory, a raw client, is in the room too.
	mallory := xmpptest.Dial(t, srv, users[2])
	mallory.Send(t, []byte(fmt.Sprintf(`<presence to='%s/mallory'><x xmlns='http://jabber.org/protocol/muc'><history maxstanzas='0'/></x></presence>`, room)))
	mallory.WaitRaw(t, func(b []byte) bool {
		return bytes.Contains(b, []byte(`code="110"`)) || bytes.Contains(b, []byte(`code='110'`))
	})
	waitRoom(bob, room, "mallory present", func(e session.RoomStateEvent) bool { return hasOccupant(e, "mallory") })

	mine, err := alice.c.SendGroupMessage(ctx, room, "first version")
	if err != nil {
		t.Fatal(err)
	}
	alice.waitFor("reflection", 10*time.Second, func(ev session.Event) bool {
		e, ok := ev.(session.MessageStateEvent)
		return ok && e.ID == mine.ID && e.State == store.StateDelivered
	})
	theirs := waitGroupMessage(bob, room, "alice", "first version")
	raw := mallory.WaitRaw(t, func(b []byte) bool { return bytes.Contains(b, []byte("first version")) })
	if bytes.Contains(raw, []byte("urn:xmpp:receipts")) {
		t.Errorf("a receipt was asked in a room: %s", raw)
	}

	// Correction by the author: applied on bob's side, not stored again.
	if err := alice.c.Correct(ctx, mine.ID, "second version"); err != nil {
		t.Fatal(err)
	}
	waitUpdatedIn(bob, room, "corrected", theirs.ID)
	got, _ := bob.st.Message(ctx, theirs.ID)
	if got.Body != "second version" || !got.Edited {
		t.Fatalf("bob's copy after the correction: %+v", got)
	}
	// A correction from another occupant is kept as a message of its
	// own, and changes nothing.
	mallory.Send(t, []byte(fmt.Sprintf(`<message to='%s' type='groupchat' id='m1'><body>forged edit</body><replace xmlns='urn:xmpp:message-correct:0' id='%s'/></message>`, room, mine.OriginID)))
	forged := waitGroupMessage(bob, room, "mallory", "forged edit")
	if got, _ := bob.st.Message(ctx, theirs.ID); got.Body != "second version" {
		t.Fatalf("a foreign correction was applied: %+v", got)
	}
	// A retraction from another occupant is dropped.
	mallory.Send(t, []byte(fmt.Sprintf(`<message to='%s' type='groupchat' id='m2'><body>retracted</body><retract xmlns='urn:xmpp:message-retract:1' id='%s'/></message>`, room, theirs.StanzaID)))

	// Reactions by the room's stanza-id; alice (moderator) sees bob's JID.
	if err := bob.c.React(ctx, theirs.ID, []string{"👍"}); err != nil {
		t.Fatal(err)
	}
	waitUpdatedIn(alice, room, "reactions", mine.ID)
	r, err := alice.st.Reactions(ctx, []int64{mine.ID})
	if err != nil || len(r[mine.ID]) != 1 || r[mine.ID][0].Sender != users[1].JID || r[mine.ID][0].Emojis[0] != "👍" {
		t.Fatalf("alice's reactions: %+v %v", r, err)
	}

	// A reply refers to the room's stanza-id of alice's message.
	if _, err := bob.c.Reply(ctx, theirs.ID, "agreed"); err != nil {
		t.Fatal(err)
	}
	rep := waitGroupMessage(alice, room, "bobby", "agreed")
	if rep.ReplyTo == "" || rep.ReplyTo != mustMessage(t, alice.st, mine.ID).StanzaID {
		t.Fatalf("reply refers to %q, want the stanza-id of alice's message", rep.ReplyTo)
	}

	// Chat states reach the room with the occupant's nick.
	if err := bob.c.SendChatState(ctx, room, "composing"); err != nil {
		t.Fatal(err)
	}
	alice.waitFor("bobby composing", 10*time.Second, func(ev session.Event) bool {
		e, ok := ev.(session.ChatStateEvent)
		return ok && e.JID == room && e.Nick == "bobby" && e.State == "composing"
	})

	// bob displayed alice's message: it is read on her side.
	if err := bob.c.MarkDisplayed(ctx, theirs.ID); err != nil {
		t.Fatal(err)
	}
	alice.waitFor("read", 10*time.Second, func(ev session.Event) bool {
		e, ok := ev.(session.MessageStateEvent)
		return ok && e.ID == mine.ID && e.State == store.StateRead
	})
	// Markers go to everyone: the next one waits for its turn.
	marked := time.Now()
	if err := bob.c.MarkDisplayed(ctx, forged.ID); err != nil {
		t.Fatal(err)
	}
	mallory.WaitRaw(t, func(b []byte) bool {
		return bytes.Contains(b, []byte("chat-markers")) && bytes.Contains(b, []byte(forged.StanzaID))
	})
	if d := time.Since(marked); d < 2*time.Second {
		t.Errorf("a second marker went out %v after the first", d)
	}

	// Retraction by the author.
	if err := alice.c.Retract(ctx, mine.ID); err != nil {
		t.Fatal(err)
	}
	waitUpdatedIn(bob, room, "retracted", theirs.ID)
	if got, _ := bob.st.Message(ctx, theirs.ID); !got.Retracted || got.Body != "" {
		t.Fatalf("bob's copy after the retraction: %+v", got)
	}
	// /me goes through as the body it is.
	if _, err := bob.c.SendGroupMessage(ctx, room, "/me waves"); err != nil {
		t.Fatal(err)
	}
	waitGroupMessage(alice, room, "bobby", "/me waves")
	// Nothing became a message of its own on alice's side: her message,
	// mallory's edit, bob's reply and /me.
	if n, _ := alice.st.Count(ctx, users[0].JID, room); n != 4 {
		msgs, _ := alice.st.Latest(ctx, users[0].JID, room, 20)
		t.Errorf("alice stored %d room messages, want 4: %q", n, bodies(msgs))
	}
}

func mustMessage(t *testing.T, st *store.Store, id int64) store.Message {
	t.Helper()
	m, err := st.Message(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestReadPositionSyncedFromOtherDevice: a displayed marker sent by one of
// our devices reaches the other as a carbon, which marks the conversation
// read up to that message there too.
func TestReadPositionSyncedFromOtherDevice(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	users := srv.Users(t, 2)
	ctx := context.Background()
	a1 := start(t, config(srv, users[0], "phone"), "")
	a2 := start(t, config(srv, users[0], "laptop"), "")
	bob := start(t, config(srv, users[1], "b"), "")
	a1.waitOnline()
	a2.waitOnline()
	bob.waitOnline()
	befriend(t, a1, bob, users[0].JID, users[1].JID)
	waitSynced(a2)
	if _, err := bob.c.SendMessage(ctx, users[0].JID, "one"); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.c.SendMessage(ctx, users[0].JID, "two"); err != nil {
		t.Fatal(err)
	}
	two := a1.waitMessage(users[1].JID, "two")
	a2.waitMessage(users[1].JID, "two")
	unread := func() int {
		convs, err := a2.st.Conversations(ctx, users[0].JID)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range convs {
			if c.Peer == users[1].JID {
				return c.Unread
			}
		}
		return -1
	}
	if n := unread(); n != 2 {
		t.Fatalf("laptop has %d unread before the marker, want 2", n)
	}
	if err := a1.c.MarkDisplayed(ctx, two.ID); err != nil {
		t.Fatal(err)
	}
	a2.waitFor("read elsewhere", 10*time.Second, func(ev session.Event) bool {
		e, ok := ev.(session.ReadEvent)
		return ok && e.Peer == users[1].JID
	})
	if n := unread(); n != 0 {
		t.Fatalf("laptop has %d unread after the phone displayed everything", n)
	}
}
