package session_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"xchat/internal/testserver"
	"xchat/session"
)

// omemoContacts starts a server with alice and bob, both with OMEMO, online
// and subscribed to each other.
func omemoContacts(t *testing.T) (*testserver.Server, []testserver.User, *account, *account) {
	t.Helper()
	srv := testserver.Start(t, testserver.Options{})
	users := srv.Users(t, 2)
	alice := start(t, omemoConfig(srv, users[0], "a"), "")
	bob := start(t, omemoConfig(srv, users[1], "b"), "")
	alice.waitOnline()
	bob.waitOnline()
	befriend(t, alice, bob, users[0].JID, users[1].JID)
	return srv, users, alice, bob
}

// TestOMEMOOneSessionForConcurrentSends: a message and a file sent at the
// same moment to a contact with whom no session exists yet build one
// session, not two: two would spend the same one-time prekey, and the
// peer could read only the first.
func TestOMEMOOneSessionForConcurrentSends(t *testing.T) {
	_, users, alice, bob := omemoContacts(t)
	ctx := context.Background()
	waitEncryption(t, bob, users[0].JID, 1)

	path, _ := randomFile(t, "race.png", 4<<10)
	fileErr := make(chan error, 1)
	go func() {
		_, err := bob.c.SendFile(ctx, users[0].JID, path, nil)
		fileErr <- err
	}()
	if _, err := bob.c.SendMessage(ctx, users[0].JID, "at the same time"); err != nil {
		t.Fatal(err)
	}
	if err := <-fileErr; err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for len(got) < 2 {
		ev := alice.waitFor("both messages", 30*time.Second, func(ev session.Event) bool {
			e, ok := ev.(session.MessageEvent)
			return ok && e.Message.Peer == users[1].JID
		}).(session.MessageEvent)
		m := ev.Message
		if m.Error != "" || m.Encryption != "omemo" {
			t.Fatalf("alice got %q (encryption %q, error %q)", m.Body, m.Encryption, m.Error)
		}
		switch {
		case m.Body == "at the same time":
			got["text"] = true
		case strings.HasPrefix(m.Body, "aesgcm://"):
			got["file"] = true
		}
	}
}

// TestOMEMOSimultaneousFirstContact: alice and bob write to each other at
// the same moment, before either has a session: each builds one from the
// other's bundle, and each then receives a PreKeySignalMessage from a
// session it did not build. Every message, then and after, decrypts.
func TestOMEMOSimultaneousFirstContact(t *testing.T) {
	_, users, alice, bob := omemoContacts(t)
	ctx := context.Background()
	waitEncryption(t, alice, users[1].JID, 1)
	waitEncryption(t, bob, users[0].JID, 1)

	errs := make(chan error, 2)
	go func() { _, err := alice.c.SendMessage(ctx, users[1].JID, "alice first"); errs <- err }()
	go func() { _, err := bob.c.SendMessage(ctx, users[0].JID, "bob first"); errs <- err }()
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	expect := func(a *account, from, body string) {
		t.Helper()
		m := a.waitFor(body, 30*time.Second, func(ev session.Event) bool {
			e, ok := ev.(session.MessageEvent)
			return ok && e.Message.Peer == from && (e.Message.Body == body || e.Message.Error != "")
		}).(session.MessageEvent).Message
		if m.Error != "" || m.Encryption != "omemo" {
			t.Fatalf("%s waiting for %q got %q (encryption %q, error %q)", a.c.Account(), body, m.Body, m.Encryption, m.Error)
		}
	}
	expect(bob, users[0].JID, "alice first")
	expect(alice, users[1].JID, "bob first")
	for i := range 3 {
		b := "alice again " + string(rune('a'+i))
		if _, err := alice.c.SendMessage(ctx, users[1].JID, b); err != nil {
			t.Fatal(err)
		}
		expect(bob, users[0].JID, b)
		b = "bob again " + string(rune('a'+i))
		if _, err := bob.c.SendMessage(ctx, users[0].JID, b); err != nil {
			t.Fatal(err)
		}
		expect(alice, users[1].JID, b)
	}
}
