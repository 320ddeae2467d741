package omemo

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"xchat/store"
)

// BenchmarkEncrypt100Devices encrypts one message to 100 devices with
// established sessions (goal: ≤ 10 ms per message).
func BenchmarkEncrypt100Devices(b *testing.B) {
	ctx := context.Background()
	alice := newDevice(b, aliceJID)
	// The recipients share one database, one account each.
	st, err := store.Open(ctx, filepath.Join(b.TempDir(), "peers.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	var rcpt []Address
	for i := range 100 {
		jid := fmt.Sprintf("peer%d@example.org", i)
		m, err := Open(ctx, st, jid, nil)
		if err != nil {
			b.Fatal(err)
		}
		bundle, err := m.Bundle(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if err := alice.m.ProcessBundle(ctx, jid, m.DeviceID(), bundle); err != nil {
			b.Fatal(err)
		}
		rcpt = append(rcpt, Address{jid, m.DeviceID()})
	}
	b.ResetTimer()
	for b.Loop() {
		enc, errs := alice.m.Encrypt(ctx, "a message of ordinary length, say fifty characters", rcpt)
		if len(errs) > 0 || len(enc.Keys) != 100 {
			b.Fatal(errs)
		}
	}
}

// BenchmarkDecrypt measures decryption throughput with the store in the
// loop (one transaction per message, as the session does).
func BenchmarkDecrypt(b *testing.B) {
	ctx := context.Background()
	alice := newDevice(b, aliceJID)
	bob := newDevice(b, bobJID)
	alice.learn(bob)
	bob.recv(alice, alice.send("first", bob))
	alice.recv(bob, bob.send("ack", alice))
	encs := make([]*Encrypted, 0, 1024)
	next := 0
	b.ResetTimer()
	for b.Loop() {
		if next == len(encs) {
			b.StopTimer()
			encs, next = encs[:0], 0
			for range cap(encs) {
				encs = append(encs, alice.send("a message of ordinary length, say fifty characters", bob))
			}
			b.StartTimer()
		}
		if _, err := bob.m.Decrypt(ctx, aliceJID, encs[next]); err != nil {
			b.Fatal(err)
		}
		next++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkOpen500Contacts measures Open of an account that has sessions
// and trust state for 500 contacts (start-up cost).
func BenchmarkOpen500Contacts(b *testing.B) {
	ctx := context.Background()
	alice := newDevice(b, aliceJID)
	bob := newDevice(b, bobJID)
	bundle, err := bob.m.Bundle(ctx)
	if err != nil {
		b.Fatal(err)
	}
	for i := range 500 {
		jid := fmt.Sprintf("contact%d@example.org", i)
		if err := alice.m.SetDeviceList(ctx, jid, []uint32{bob.m.DeviceID()}); err != nil {
			b.Fatal(err)
		}
		if err := alice.m.ProcessBundle(ctx, jid, bob.m.DeviceID(), bundle); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for b.Loop() {
		m, err := Open(ctx, alice.st, aliceJID, nil)
		if err != nil || m.DeviceID() != alice.m.DeviceID() {
			b.Fatal(err)
		}
	}
}
