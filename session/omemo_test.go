package session_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"xchat/internal/testserver"
	"xchat/omemo"
	"xchat/session"
	"xchat/store"
)

func omemoConfig(srv *testserver.Server, u testserver.User, resource string) session.Config {
	cfg := config(srv, u, resource)
	cfg.OMEMO = true
	return cfg
}

// waitEncryption polls until the next message to peer would be encrypted to
// at least n devices.
func waitEncryption(t *testing.T, a *account, peer string, n int) session.EncryptionState {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		st, err := a.c.Encryption(context.Background(), peer)
		if err != nil {
			t.Fatal(err)
		}
		if st.Enabled && st.Devices >= n {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s → %s: encryption state %+v, want enabled to %d devices", a.c.Account(), peer, st, n)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func waitEncrypted(a *account, from, body string) store.Message {
	a.t.Helper()
	m := a.waitFor("encrypted "+body, 20*time.Second, func(ev session.Event) bool {
		e, ok := ev.(session.MessageEvent)
		return ok && e.Message.Peer == from && e.Message.Body == body
	}).(session.MessageEvent).Message
	if m.Encryption != "omemo" {
		a.t.Fatalf("%q arrived with encryption %q", body, m.Encryption)
	}
	return m
}

func TestOMEMOEveryDevice(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	users := srv.Users(t, 2)
	alice, bob := users[0], users[1]
	ctx := context.Background()
	a1DB := filepath.Join(t.TempDir(), "a1.db")
	a1 := start(t, omemoConfig(srv, alice, "a1"), a1DB)
	a2 := start(t, omemoConfig(srv, alice, "a2"), "")
	b1 := start(t, omemoConfig(srv, bob, "b1"), "")
	b2DB := filepath.Join(t.TempDir(), "b2.db")
	b2 := start(t, omemoConfig(srv, bob, "b2"), b2DB)
	plain := start(t, config(srv, bob, "plain"), "") // bob's client without OMEMO
	for _, a := range []*account{a1, a2, b1, b2, plain} {
		a.waitOnline()
	}
	// Contacts, as in real use: device list changes then reach each other
	// by PEP notification.
	befriend(t, a1, b1, alice.JID, bob.JID)
	// bob's two devices and alice's other one.
	st := waitEncryption(t, a1, bob.JID, 3)
	if st.Untrusted != 0 {
		t.Errorf("blind trust: %d undecided devices", st.Untrusted)
	}

	if _, err := a1.c.SendMessage(ctx, bob.JID, "secret one"); err != nil {
		t.Fatal(err)
	}
	waitEncrypted(b1, alice.JID, "secret one")
	waitEncrypted(b2, alice.JID, "secret one")
	// The carbon to alice's other device was encrypted for it too.
	mine := waitEncrypted(a2, bob.JID, "secret one")
	if mine.Direction != store.Outgoing {
		t.Errorf("carbon stored as %v", mine.Direction)
	}
	// What crossed the server is not the plaintext: a client without OMEMO
	// only gets the fallback body.
	fb := plain.waitFor("fallback", 20*time.Second, func(ev session.Event) bool {
		e, ok := ev.(session.MessageEvent)
		return ok && e.Message.Peer == alice.JID
	}).(session.MessageEvent).Message
	if fb.Body == "secret one" || fb.Body == "" {
		t.Fatalf("a client without OMEMO saw %q", fb.Body)
	}

	// A reply, then a message while b2 is offline: it decrypts when back.
	waitEncryption(t, b1, alice.JID, 2)
	if _, err := b1.c.SendMessage(ctx, alice.JID, "secret reply"); err != nil {
		t.Fatal(err)
	}
	waitEncrypted(a1, bob.JID, "secret reply")
	b2.stop()
	if _, err := a1.c.SendMessage(ctx, bob.JID, "while b2 sleeps"); err != nil {
		t.Fatal(err)
	}
	waitEncrypted(b1, alice.JID, "while b2 sleeps")
	b2 = start(t, omemoConfig(srv, bob, "b2"), b2DB)
	b2.waitOnline()
	waitEncrypted(b2, alice.JID, "while b2 sleeps")

	// Encrypted history stays readable after a restart.
	a1.stop()
	st1, err := store.Open(ctx, a1DB)
	if err != nil {
		t.Fatal(err)
	}
	hist, err := st1.Latest(ctx, alice.JID, bob.JID, 10)
	st1.Close()
	if err != nil {
		t.Fatal(err)
	}
	var bodies []string
	for _, m := range hist {
		bodies = append(bodies, m.Body)
	}
	if len(hist) != 3 || hist[0].Body != "secret one" || hist[1].Body != "secret reply" || hist[2].Body != "while b2 sleeps" {
		t.Fatalf("history after restart = %q", bodies)
	}
}

func TestOMEMOUntrustedDeviceGetsNoKey(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	users := srv.Users(t, 2)
	alice, bob := users[0], users[1]
	ctx := context.Background()
	a := start(t, omemoConfig(srv, alice, "a"), "")
	b1 := start(t, omemoConfig(srv, bob, "b1"), "")
	b2 := start(t, omemoConfig(srv, bob, "b2"), "")
	for _, x := range []*account{a, b1, b2} {
		x.waitOnline()
	}
	befriend(t, a, b1, alice.JID, bob.JID)
	waitEncryption(t, a, bob.JID, 2)
	// alice distrusts b2's key, by its fingerprint.
	_, fp2, _, err := b2.c.OMEMOOwn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.c.OMEMOSetTrust(ctx, bob.JID, fp2, omemo.Untrusted); err != nil {
		t.Fatal(err)
	}
	st := waitEncryption(t, a, bob.JID, 1)
	if st.Devices != 1 {
		t.Fatalf("devices after distrust = %d, want 1", st.Devices)
	}
	if _, err := a.c.SendMessage(ctx, bob.JID, "not for b2"); err != nil {
		t.Fatal(err)
	}
	waitEncrypted(b1, alice.JID, "not for b2")
	time.Sleep(time.Second)
	if n, _ := b2.st.Count(ctx, bob.JID, alice.JID); n != 0 {
		msgs, _ := b2.st.Latest(ctx, bob.JID, alice.JID, 5)
		for _, m := range msgs {
			if m.Body == "not for b2" {
				t.Fatal("the untrusted device could read the message")
			}
		}
	}
}
