package session_test

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"xchat/internal/testserver"
	"xchat/omemo"
	"xchat/session"
	"xchat/store"
)

// hasBody reports whether a's conversation with peer holds body.
func hasBody(t *testing.T, a *account, acct, peer, body string) bool {
	t.Helper()
	msgs, err := a.st.Latest(context.Background(), acct, peer, 100)
	if err != nil && !strings.Contains(err.Error(), "not found") {
		t.Fatal(err)
	}
	for _, m := range msgs {
		if m.Body == body {
			return true
		}
	}
	return false
}

// deviceOf returns the device id and fingerprint of a's OMEMO identity.
func deviceOf(t *testing.T, a *account) (uint32, string) {
	t.Helper()
	id, fp, _, err := a.c.OMEMOOwn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return id, fp
}

func TestOMEMOManualTrust(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	users := srv.Users(t, 2)
	alice, bob := users[0], users[1]
	ctx := context.Background()
	cfg := omemoConfig(srv, alice, "a")
	cfg.OMEMOManualTrust = true
	a := start(t, cfg, "")
	b := start(t, omemoConfig(srv, bob, "b"), "")
	a.waitOnline()
	b.waitOnline()
	befriend(t, a, b, alice.JID, bob.JID)
	bID, bFP := deviceOf(t, b)

	// bob's device is undecided for alice: it gets nothing.
	deadline := time.Now().Add(20 * time.Second)
	var st session.EncryptionState
	for {
		var err error
		if st, err = a.c.Encryption(ctx, bob.JID); err != nil {
			t.Fatal(err)
		}
		if st.Untrusted == 1 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !st.Enabled || st.Devices != 0 || st.Untrusted != 1 {
		t.Fatalf("manual trust: state %+v, want encryption on, 0 devices, 1 undecided", st)
	}
	m, err := a.c.SendMessage(ctx, bob.JID, "nobody may read this")
	if err != nil {
		t.Fatal(err)
	}
	a.waitFor("refused send", 20*time.Second, func(ev session.Event) bool {
		e, ok := ev.(session.MessageStateEvent)
		return ok && e.ID == m.ID && e.State == store.StateFailed && strings.Contains(e.Error, "no trusted OMEMO device")
	})

	// bob (blind trust) writes: alice decrypts, marked as from an
	// untrusted device.
	waitEncryption(t, b, alice.JID, 1)
	if _, err := b.c.SendMessage(ctx, alice.JID, "hello from an undecided device"); err != nil {
		t.Fatal(err)
	}
	got := waitEncrypted(a, bob.JID, "hello from an undecided device")
	if !got.Untrusted || got.SenderDevice != bID {
		t.Errorf("message from an undecided device: untrusted=%v device=%d (want %d)", got.Untrusted, got.SenderDevice, bID)
	}
	if stored, err := a.st.Message(ctx, got.ID); err != nil || !stored.Untrusted || stored.SenderDevice != bID {
		t.Errorf("stored: %+v, %v", stored, err)
	}

	// alice decides: the device is trusted, messages flow and lose the mark.
	if err := a.c.OMEMOSetTrust(ctx, bob.JID, bFP, omemo.Trusted); err != nil {
		t.Fatal(err)
	}
	waitEncryption(t, a, bob.JID, 1)
	if _, err := a.c.SendMessage(ctx, bob.JID, "now you may"); err != nil {
		t.Fatal(err)
	}
	waitEncrypted(b, alice.JID, "now you may")
	if _, err := b.c.SendMessage(ctx, alice.JID, "trusted now"); err != nil {
		t.Fatal(err)
	}
	if got := waitEncrypted(a, bob.JID, "trusted now"); got.Untrusted {
		t.Error("a message from a trusted device is marked untrusted")
	}
	// The fingerprint listing: when we last heard from it, and that our
	// last message was encrypted to it.
	devs, err := a.c.OMEMODevices(ctx, bob.JID)
	if err != nil || len(devs) != 1 || devs[0].LastSeen.IsZero() || !devs[0].EncryptedTo || devs[0].Trust != omemo.Trusted {
		t.Errorf("devices of bob: %+v, %v", devs, err)
	}
}

func TestOMEMODeviceAddedLaterAndAfterVerification(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	users := srv.Users(t, 2)
	alice, bob := users[0], users[1]
	ctx := context.Background()
	a := start(t, omemoConfig(srv, alice, "a"), "")
	b1 := start(t, omemoConfig(srv, bob, "b1"), "")
	a.waitOnline()
	b1.waitOnline()
	befriend(t, a, b1, alice.JID, bob.JID)
	waitEncryption(t, a, bob.JID, 1)
	if _, err := a.c.SendMessage(ctx, bob.JID, "before b2"); err != nil {
		t.Fatal(err)
	}
	waitEncrypted(b1, alice.JID, "before b2")

	// A device bob adds later is announced by PEP and gets what follows.
	b2 := start(t, omemoConfig(srv, bob, "b2"), "")
	b2.waitOnline()
	st := waitEncryption(t, a, bob.JID, 2)
	if st.Untrusted != 0 {
		t.Errorf("blind trust: %+v", st)
	}
	if _, err := a.c.SendMessage(ctx, bob.JID, "after b2"); err != nil {
		t.Fatal(err)
	}
	waitEncrypted(b1, alice.JID, "after b2")
	waitEncrypted(b2, alice.JID, "after b2")

	// alice verifies b1 by its URI: from then on bob's new devices are
	// undecided and get no key.
	_, _, uri, err := b1.c.OMEMOOwn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := a.c.OMEMOVerifyURI(ctx, uri); err != nil || n != 1 {
		t.Fatalf("verify: %d, %v", n, err)
	}
	b3 := start(t, omemoConfig(srv, bob, "b3"), "")
	b3.waitOnline()
	deadline := time.Now().Add(20 * time.Second)
	for {
		st, err = a.c.Encryption(ctx, bob.JID)
		if err != nil {
			t.Fatal(err)
		}
		if st.Untrusted == 1 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if st.Devices != 2 || st.Untrusted != 1 {
		t.Fatalf("after verification, a new device: %+v; want 2 devices and 1 undecided", st)
	}
	if _, err := a.c.SendMessage(ctx, bob.JID, "not for b3"); err != nil {
		t.Fatal(err)
	}
	waitEncrypted(b1, alice.JID, "not for b3")
	waitEncrypted(b2, alice.JID, "not for b3")
	time.Sleep(time.Second)
	if hasBody(t, b3, bob.JID, alice.JID, "not for b3") {
		t.Fatal("the undecided device could read the message")
	}
}

func TestOMEMODeviceIDCollision(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	u := srv.Users(t, 1)[0]
	ctx := context.Background()
	first := start(t, omemoConfig(srv, u, "first"), "")
	first.waitOnline()
	taken, _ := deviceOf(t, first)
	waitOwnDevices(t, first, u.JID, taken)

	// A new device whose fresh identity happens to have the same id.
	db := filepath.Join(t.TempDir(), "second.db")
	st, err := store.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := omemo.Open(ctx, st, u.JID, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := st.DB().ExecContext(ctx, "UPDATE omemo_own SET device_id = ?", taken); err != nil {
		t.Fatal(err)
	}
	st.Close()
	second := start(t, omemoConfig(srv, u, "second"), db)
	second.waitOnline()
	second.waitFor("notice of the new id", 20*time.Second, func(ev session.Event) bool {
		e, ok := ev.(session.NoticeEvent)
		return ok && strings.Contains(e.Text, "device id")
	})
	id, _ := deviceOf(t, second)
	if id == taken {
		t.Fatal("the second device kept the taken id")
	}
	// Both are in the list, each with its own bundle.
	waitOwnDevices(t, first, u.JID, taken, id)
	if devs, _ := second.c.OMEMODevices(ctx, u.JID); len(devs) != 2 {
		t.Errorf("second's view of the list: %+v", devs)
	}
}

// waitOwnDevices waits until a sees all ids active in its account's list.
func waitOwnDevices(t *testing.T, a *account, acct string, ids ...uint32) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		devs, err := a.c.OMEMODevices(context.Background(), acct)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, d := range devs {
			if d.Active && slices.Contains(ids, d.Device) {
				n++
			}
		}
		if n == len(ids) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("own devices %+v, want %v active", devs, ids)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestOMEMOSignedPreKeyRotatedAtLogin(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	users := srv.Users(t, 2)
	alice, bob := users[0], users[1]
	ctx := context.Background()
	db := filepath.Join(t.TempDir(), "alice.db")
	st, err := store.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := omemo.Open(ctx, st, alice.JID, nil); err != nil {
		t.Fatal(err)
	}
	// The signed prekey is older than the maximum age.
	old := time.Now().Add(-omemo.SignedPreKeyMaxAge - time.Hour).UnixMilli()
	if _, err := st.DB().ExecContext(ctx, "UPDATE omemo_legacy_signed_prekeys SET created = ?", old); err != nil {
		t.Fatal(err)
	}
	st.Close()
	a := start(t, omemoConfig(srv, alice, "a"), db)
	b := start(t, omemoConfig(srv, bob, "b"), "")
	a.waitOnline()
	b.waitOnline()
	// bob builds his session from the bundle published after the rotation.
	waitEncryption(t, b, alice.JID, 1)
	if _, err := b.c.SendMessage(ctx, alice.JID, "on the new signed prekey"); err != nil {
		t.Fatal(err)
	}
	waitEncrypted(a, bob.JID, "on the new signed prekey")
	var n, newest int
	if err := a.st.DB().QueryRowContext(ctx, "SELECT count(*), max(id) FROM omemo_legacy_signed_prekeys").Scan(&n, &newest); err != nil {
		t.Fatal(err)
	}
	if n != 2 || newest != 2 {
		t.Errorf("signed prekeys: %d, newest id %d; want the old one kept and a new one", n, newest)
	}
}
