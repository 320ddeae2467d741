package session_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"xchat/internal/testserver"
	"xchat/internal/xmpptest"
	"xchat/session"
	"xchat/store"
)

// befriend makes a and b subscribed to each other.
func befriend(t *testing.T, a, b *account, aJID, bJID string) {
	t.Helper()
	ctx := context.Background()
	if err := a.c.AddContact(ctx, bJID, ""); err != nil {
		t.Fatal(err)
	}
	b.waitFor("request", 10*time.Second, func(ev session.Event) bool {
		e, ok := ev.(session.SubscriptionRequestEvent)
		return ok && e.From == aJID
	})
	if err := b.c.Approve(ctx, aJID); err != nil {
		t.Fatal(err)
	}
	a.waitFor("request back", 10*time.Second, func(ev session.Event) bool {
		e, ok := ev.(session.SubscriptionRequestEvent)
		return ok && e.From == bJID
	})
	if err := a.c.Approve(ctx, bJID); err != nil {
		t.Fatal(err)
	}
	b.waitFor("both", 10*time.Second, func(ev session.Event) bool {
		e, ok := ev.(session.RosterEvent)
		return ok && hasContact(e.Contacts, aJID, func(c store.Contact) bool { return c.Subscription == "both" })
	})
	a.waitFor("both", 10*time.Second, func(ev session.Event) bool {
		e, ok := ev.(session.RosterEvent)
		return ok && hasContact(e.Contacts, bJID, func(c store.Contact) bool { return c.Subscription == "both" })
	})
}

func waitSynced(a *account) session.SyncEvent {
	a.t.Helper()
	return a.waitFor("catch-up done", 30*time.Second, func(ev session.Event) bool {
		e, ok := ev.(session.SyncEvent)
		return ok && e.Done
	}).(session.SyncEvent)
}

func TestCarbonsReachOtherDevice(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	users := srv.Users(t, 2)
	a1 := start(t, config(srv, users[0], "phone"), "")
	a2 := start(t, config(srv, users[0], "laptop"), "")
	bob := start(t, config(srv, users[1], "b"), "")
	a1.waitOnline()
	a2.waitOnline()
	bob.waitOnline()
	waitSynced(a1)
	waitSynced(a2)
	ctx := context.Background()

	m, err := a1.c.SendMessage(ctx, users[1].JID, "sent from the phone")
	if err != nil {
		t.Fatal(err)
	}
	bob.waitMessage(users[0].JID, "sent from the phone")
	ev := a2.waitFor("sent carbon", 10*time.Second, func(ev session.Event) bool {
		e, ok := ev.(session.MessageEvent)
		return ok && e.Message.Body == "sent from the phone"
	}).(session.MessageEvent)
	got := ev.Message
	if got.Direction != store.Outgoing || got.Peer != users[1].JID || got.OriginID != m.OriginID || got.State != store.StateSent {
		t.Fatalf("carbon stored as %+v; want outgoing to bob with the same origin-id", got)
	}
	// bob's reply reaches both devices, each storing it once.
	if _, err := bob.c.SendMessage(ctx, users[0].JID, "reply to both"); err != nil {
		t.Fatal(err)
	}
	a1.waitMessage(users[1].JID, "reply to both")
	a2.waitMessage(users[1].JID, "reply to both")
	for _, a := range []*account{a1, a2} {
		n, err := a.st.Count(ctx, users[0].JID, users[1].JID)
		if err != nil || n != 2 {
			t.Errorf("%s stored %d messages, want 2", a.c.Account(), n)
		}
	}
}

func TestForgedCarbonAndMAMResultRejected(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	users := srv.Users(t, 2)
	alice := start(t, config(srv, users[0], "a"), "")
	alice.waitOnline()
	waitSynced(alice)
	mallory := xmpptest.Dial(t, srv, users[1])
	to := users[0].JID + "/a"
	mallory.Send(t, []byte(fmt.Sprintf(`<message to='%s' type='chat'><sent xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'><message xmlns='jabber:client' from='%s/x' to='boss@localhost' type='chat'><body>forged sent</body></message></forwarded></sent></message>`, to, users[0].JID)))
	mallory.Send(t, []byte(fmt.Sprintf(`<message to='%s' type='chat'><received xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'><message xmlns='jabber:client' from='boss@localhost/x' to='%s' type='chat'><body>forged received</body></message></forwarded></received></message>`, to, to)))
	mallory.Send(t, []byte(fmt.Sprintf(`<message to='%s'><result xmlns='urn:xmpp:mam:2' queryid='x' id='y'><forwarded xmlns='urn:xmpp:forward:0'><message xmlns='jabber:client' from='boss@localhost/x' to='%s' type='chat'><body>forged archive</body></message></forwarded></result></message>`, to, to)))
	mallory.Send(t, []byte(fmt.Sprintf(`<message to='%s' type='chat'><body>marker</body></message>`, to)))
	alice.waitMessage(users[1].JID, "marker")
	ctx := context.Background()
	for _, peer := range []string{"boss@localhost", users[1].JID} {
		msgs, err := alice.st.Latest(ctx, users[0].JID, peer, 10)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			if m.Body != "marker" {
				t.Errorf("forged message stored: %+v", m)
			}
		}
	}
}

// TestCatchUpAfterOffline: alice is offline while bob sends; when she comes
// back she has every message exactly once, in order, via offline delivery
// and MAM (which overlap and must be deduplicated).
func TestCatchUpAfterOffline(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	users := srv.Users(t, 2)
	db := filepath.Join(t.TempDir(), "alice.db")
	ctx := context.Background()

	alice := start(t, config(srv, users[0], "a"), db)
	bob := start(t, config(srv, users[1], "b"), "")
	alice.waitOnline()
	bob.waitOnline()
	waitSynced(alice)
	if _, err := bob.c.SendMessage(ctx, users[0].JID, "while online"); err != nil {
		t.Fatal(err)
	}
	alice.waitMessage(users[1].JID, "while online")
	alice.stop()

	const n = 300
	for i := range n {
		if _, err := bob.c.SendMessage(ctx, users[0].JID, fmt.Sprintf("offline %03d", i)); err != nil {
			t.Fatal(err)
		}
	}
	fctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := bob.c.Flush(fctx); err != nil {
		t.Fatal(err)
	}

	alice = start(t, config(srv, users[0], "a"), db)
	alice.waitOnline()
	sync := waitSynced(alice)
	if sync.Err != nil {
		t.Fatalf("catch-up failed: %v", sync.Err)
	}
	// Offline delivery may still be arriving; wait until all are stored.
	deadline := time.Now().Add(20 * time.Second)
	var msgs []store.Message
	for {
		var err error
		msgs, err = alice.st.Latest(ctx, users[0].JID, users[1].JID, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) >= n+1 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // let duplicates, if any, land
	msgs, _ = alice.st.Latest(ctx, users[0].JID, users[1].JID, 1000)
	if len(msgs) != n+1 {
		t.Fatalf("alice has %d messages, want %d exactly once", len(msgs), n+1)
	}
	if msgs[0].Body != "while online" {
		t.Errorf("first message %q", msgs[0].Body)
	}
	for i := range n {
		if want := fmt.Sprintf("offline %03d", i); msgs[i+1].Body != want {
			t.Fatalf("message %d = %q, want %q (order or loss)", i+1, msgs[i+1].Body, want)
		}
	}
	// Every stored message carries the archive's id, so MAM paging and
	// later dedupe work from the store alone.
	for _, m := range msgs {
		if m.StanzaID == "" {
			t.Fatalf("message %q has no stanza-id", m.Body)
		}
	}
	last, _, err := alice.st.ArchiveSync(ctx, users[0].JID, users[0].JID)
	if err != nil || last == "" {
		t.Fatalf("archive position not recorded: %q %v", last, err)
	}
}

// TestHistorySeededFromArchive: a new device with an empty store gets the
// recent conversation from the archive, our own sent messages included as
// outgoing.
func TestHistorySeededFromArchive(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	users := srv.Users(t, 2)
	ctx := context.Background()
	alice := start(t, config(srv, users[0], "a"), "")
	bob := start(t, config(srv, users[1], "b"), "")
	alice.waitOnline()
	bob.waitOnline()
	if _, err := alice.c.SendMessage(ctx, users[1].JID, "question"); err != nil {
		t.Fatal(err)
	}
	bob.waitMessage(users[0].JID, "question")
	if _, err := bob.c.SendMessage(ctx, users[0].JID, "answer"); err != nil {
		t.Fatal(err)
	}
	alice.waitMessage(users[1].JID, "answer")

	fresh := start(t, config(srv, users[0], "new-laptop"), "")
	fresh.waitOnline()
	waitSynced(fresh)
	msgs, err := fresh.st.Latest(ctx, users[0].JID, users[1].JID, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 2 || msgs[0].Body != "question" || msgs[0].Direction != store.Outgoing || msgs[1].Body != "answer" || msgs[1].Direction != store.Incoming {
		t.Fatalf("seeded history = %+v", msgs)
	}
}

func TestReceiptsMarkDelivered(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	users := srv.Users(t, 2)
	alice := start(t, config(srv, users[0], "a"), "")
	bob := start(t, config(srv, users[1], "b"), "")
	alice.waitOnline()
	bob.waitOnline()
	befriend(t, alice, bob, users[0].JID, users[1].JID)
	m, err := alice.c.SendMessage(context.Background(), users[1].JID, "did you get this?")
	if err != nil {
		t.Fatal(err)
	}
	alice.waitFor("delivered", 10*time.Second, func(ev session.Event) bool {
		e, ok := ev.(session.MessageStateEvent)
		return ok && e.ID == m.ID && e.State == store.StateDelivered
	})
	// A stranger (no subscription) gets no receipt: that would leak presence.
	carol := srv.Users(t, 1)[0]
	cs := start(t, config(srv, carol, "c"), "")
	cs.waitOnline()
	m2, err := cs.c.SendMessage(context.Background(), users[1].JID, "hi from a stranger")
	if err != nil {
		t.Fatal(err)
	}
	bob.waitMessage(carol.JID, "hi from a stranger")
	time.Sleep(500 * time.Millisecond)
	got, err := cs.st.Message(context.Background(), m2.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State == store.StateDelivered {
		t.Fatal("bob sent a receipt to a stranger")
	}
}
