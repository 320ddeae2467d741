package omemo

import (
	"context"
	"testing"
)

// TestSimultaneousFirstContact: both sides build a session from the
// other's bundle and write before either has read the other. Each then
// holds two sessions (its own, and the one the other's PreKeySignalMessage
// started); what follows must decrypt whichever each side sends on.
func TestSimultaneousFirstContact(t *testing.T) {
	for _, withKT := range []bool{false, true} {
		alice := newDevice(t, aliceJID)
		bob := newDevice(t, bobJID)
		alice.learn(bob)
		bob.learn(alice)
		a1 := alice.send("alice first", bob)
		b1 := bob.send("bob first", alice)
		if got := bob.recv(alice, a1); got.Body != "alice first" {
			t.Fatal(got.Body)
		}
		if got := alice.recv(bob, b1); got.Body != "bob first" {
			t.Fatal(got.Body)
		}
		if withKT {
			// Each answers the session the other started with a key
			// transport, as the session layer does.
			akt, errs := alice.m.EncryptKeyTransport(context.Background(), []Address{bob.addr()})
			bkt, errs2 := bob.m.EncryptKeyTransport(context.Background(), []Address{alice.addr()})
			if len(errs)+len(errs2) > 0 {
				t.Fatal(errs, errs2)
			}
			bob.recv(alice, akt)
			alice.recv(bob, bkt)
		}
		for _, text := range []string{"one", "two", "three"} {
			if got := bob.recv(alice, alice.send("alice "+text, bob)); got.Body != "alice "+text {
				t.Fatalf("kt=%v: %q", withKT, got.Body)
			}
			if got := alice.recv(bob, bob.send("bob "+text, alice)); got.Body != "bob "+text {
				t.Fatalf("kt=%v: %q", withKT, got.Body)
			}
		}
	}
}
