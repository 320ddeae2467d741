package session_test

import (
	"context"
	"testing"
	"time"

	"xchat/internal/testserver"
	"xchat/session"
	"xchat/store"
)

// The demo's story on a real server: bob's device is published; alice's
// client starts on a fresh store. Without being asked, it tells the UI when
// it learns bob's devices (the PEP notification at login), and the first
// message, sent at once, is encrypted and stored (and shown) so.
func TestOMEMOContactDevicesAnnouncedAndFirstMessageEncrypted(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	users := srv.Users(t, 2)
	alice, bob := users[0], users[1]
	ctx := context.Background()
	b := start(t, omemoConfig(srv, bob, "bot"), "")
	setup := start(t, config(srv, alice, "setup"), "")
	b.waitOnline()
	setup.waitOnline()
	befriend(t, setup, b, alice.JID, bob.JID)
	setup.stop()

	a := start(t, omemoConfig(srv, alice, "xchat"), "")
	a.waitOnline()
	a.waitFor("bob's devices announced", 20*time.Second, func(ev session.Event) bool {
		e, ok := ev.(session.OMEMOEvent)
		return ok && e.JID == bob.JID && e.Kind == "devices"
	})
	st, err := a.c.Encryption(ctx, bob.JID)
	if err != nil {
		t.Fatal(err)
	}
	if !st.Available || !st.Enabled {
		t.Fatalf("after the announcement: %+v, want encryption on", st)
	}
	m, err := a.c.SendMessage(ctx, bob.JID, "hello")
	if err != nil {
		t.Fatal(err)
	}
	if m.Encryption != "omemo" {
		t.Errorf("the first message was stored (and shown) as %q, want omemo", m.Encryption)
	}
	waitEncrypted(b, alice.JID, "hello")
	stored, err := a.st.Message(ctx, m.ID)
	if err != nil || stored.Encryption != "omemo" {
		t.Fatalf("stored %+v, %v", stored, err)
	}
	if stored.Direction != store.Outgoing {
		t.Errorf("direction %v", stored.Direction)
	}
}
