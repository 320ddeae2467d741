package omemo

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"xchat/store"
)

const (
	aliceJID = "alice@example.org"
	bobJID   = "bob@example.org"
)

// device is a Manager with the store it lives in, reopenable.
type device struct {
	t    testing.TB
	path string
	jid  string
	st   *store.Store
	m    *Manager
}

func newDevice(t testing.TB, jid string) *device {
	t.Helper()
	d := &device{t: t, path: filepath.Join(t.TempDir(), "db.sqlite"), jid: jid}
	d.open()
	t.Cleanup(func() { d.st.Close() })
	return d
}

func (d *device) open() {
	d.t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, d.path)
	if err != nil {
		d.t.Fatal(err)
	}
	m, err := Open(ctx, st, d.jid, nil)
	if err != nil {
		d.t.Fatal(err)
	}
	d.st, d.m = st, m
}

// reopen closes the database and opens it again (an application restart).
func (d *device) reopen() {
	d.t.Helper()
	if err := d.m.Close(); err != nil {
		d.t.Fatal(err)
	}
	if err := d.st.Close(); err != nil {
		d.t.Fatal(err)
	}
	d.open()
}

func (d *device) addr() Address { return Address{d.jid, d.m.DeviceID()} }

// learn makes d build a session with other from other's bundle.
func (d *device) learn(other *device) {
	d.t.Helper()
	ctx := context.Background()
	b, err := other.m.Bundle(ctx)
	if err != nil {
		d.t.Fatal(err)
	}
	// Go through the wire format like a real fetch would.
	b, err = ParseBundle(b.Marshal())
	if err != nil {
		d.t.Fatal(err)
	}
	if err := d.m.ProcessBundle(ctx, other.jid, other.m.DeviceID(), b); err != nil {
		d.t.Fatal(err)
	}
}

func (d *device) send(text string, to ...*device) *Encrypted {
	d.t.Helper()
	var rcpt []Address
	for _, o := range to {
		rcpt = append(rcpt, o.addr())
	}
	enc, errs := d.m.Encrypt(context.Background(), text, rcpt)
	if len(errs) > 0 || enc == nil {
		d.t.Fatalf("encrypt from %v: %v", d.addr(), errs)
	}
	// Through the wire format.
	enc2, err := ParseEncrypted(enc.Marshal())
	if err != nil {
		d.t.Fatal(err)
	}
	return enc2
}

func (d *device) recv(from *device, enc *Encrypted) Plaintext {
	d.t.Helper()
	pt, err := d.m.Decrypt(context.Background(), from.jid, enc)
	if err != nil {
		d.t.Fatalf("%v decrypting from %v: %v", d.addr(), from.addr(), err)
	}
	if pt.Sender != from.addr() {
		d.t.Fatalf("sender %v, want %v", pt.Sender, from.addr())
	}
	return pt
}

func keyFor(t testing.TB, enc *Encrypted, rid uint32) Key {
	t.Helper()
	ks := enc.KeyFor(rid)
	if len(ks) != 1 {
		t.Fatalf("%d keys for %d", len(ks), rid)
	}
	return ks[0]
}

func TestOpenCreatesIdentity(t *testing.T) {
	ctx := context.Background()
	a := newDevice(t, aliceJID)
	if !ValidDeviceID(a.m.DeviceID()) {
		t.Fatalf("device id %d out of range", a.m.DeviceID())
	}
	fp := a.m.Fingerprint()
	if len(fp) != 64 || strings.ToLower(fp) != fp {
		t.Fatalf("fingerprint %q", fp)
	}
	if ik := a.m.IdentityKey(); len(ik) != 33 || ik[0] != 5 || FingerprintOf(ik) != fp {
		t.Fatalf("identity key %x vs fingerprint %s", ik, fp)
	}
	g := FormatFingerprint(fp)
	if parts := strings.Fields(g); len(parts) != 8 || strings.Join(parts, "") != fp {
		t.Fatalf("grouped %q", g)
	}
	b, err := a.m.Bundle(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.PreKeys) != PreKeyCount {
		t.Fatalf("%d prekeys", len(b.PreKeys))
	}
	for i, k := range b.PreKeys {
		if k.ID != uint32(i+1) {
			t.Fatalf("prekey %d has id %d", i, k.ID)
		}
	}
	if _, err := ParseBundle(b.Marshal()); err != nil {
		t.Fatalf("own bundle does not parse: %v", err)
	}
	dev, fpBefore := a.m.DeviceID(), fp
	a.reopen()
	if a.m.DeviceID() != dev || a.m.Fingerprint() != fpBefore {
		t.Fatal("identity changed on reopen")
	}
	b2, _ := a.m.Bundle(ctx)
	if !bytes.Equal(b2.Marshal(), b.Marshal()) {
		t.Fatal("bundle changed on reopen")
	}
}

func TestConversationMultiDevice(t *testing.T) {
	alice := newDevice(t, aliceJID)
	bob1 := newDevice(t, bobJID)
	bob2 := newDevice(t, bobJID)
	alice.learn(bob1)
	alice.learn(bob2)

	// First contact: PreKeySignalMessages to both of bob's devices.
	enc := alice.send("hello bob", bob1, bob2)
	if enc.SID != alice.m.DeviceID() || len(enc.Keys) != 2 {
		t.Fatalf("header %+v", enc)
	}
	for _, b := range []*device{bob1, bob2} {
		if !keyFor(t, enc, b.m.DeviceID()).PreKey {
			t.Fatal("first message is not a prekey message")
		}
		pt := b.recv(alice, enc)
		if pt.Body != "hello bob" || !pt.NewSession || pt.KeyTransport {
			t.Fatalf("bob got %+v", pt)
		}
		if pt.Trust != Trusted {
			t.Fatalf("BTBV should trust alice's first key, got %v", pt.Trust)
		}
	}
	// Bob1 answers on the session built passively; bob2 stays quiet.
	reply := bob1.send("hi alice", alice)
	if keyFor(t, reply, alice.m.DeviceID()).PreKey {
		t.Fatal("reply on an established session is a prekey message")
	}
	if pt := alice.recv(bob1, reply); pt.Body != "hi alice" || pt.NewSession {
		t.Fatalf("alice got %+v", pt)
	}
	// Alice's session with bob1 is acknowledged now, bob2's is not.
	enc = alice.send("second", bob1, bob2)
	if keyFor(t, enc, bob1.m.DeviceID()).PreKey || !keyFor(t, enc, bob2.m.DeviceID()).PreKey {
		t.Fatal("prekey flags after reply wrong")
	}
	for _, b := range []*device{bob1, bob2} {
		if pt := b.recv(alice, enc); pt.Body != "second" || pt.NewSession {
			t.Fatalf("%+v", pt)
		}
	}
	// A few rounds both ways, with bob's devices each answering.
	for i := range 5 {
		msg := fmt.Sprintf("round %d", i)
		enc := alice.send(msg, bob1, bob2)
		for _, b := range []*device{bob1, bob2} {
			if pt := b.recv(alice, enc); pt.Body != msg {
				t.Fatalf("got %q want %q", pt.Body, msg)
			}
		}
		for _, b := range []*device{bob1, bob2} {
			r := b.send("re: "+msg, alice)
			if pt := alice.recv(b, r); pt.Body != "re: "+msg {
				t.Fatalf("got %q", pt.Body)
			}
		}
	}
	// Bob1 knows alice's device: fingerprint, trust, when last heard from.
	devs, err := bob1.m.Devices(context.Background(), aliceJID)
	if err != nil || len(devs) != 1 || devs[0].Fingerprint != alice.m.Fingerprint() ||
		devs[0].Trust != Trusted || time.Since(devs[0].LastSeen) > time.Minute {
		t.Fatalf("bob1's view of alice: %+v %v", devs, err)
	}
	// Bob1's used prekey is no longer published.
	b, err := bob1.m.Bundle(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(b.PreKeys) != PreKeyCount-1 {
		t.Fatalf("%d prekeys published after one was used", len(b.PreKeys))
	}
}

func TestKeyTransportAfterNewSession(t *testing.T) {
	alice := newDevice(t, aliceJID)
	bob := newDevice(t, bobJID)
	alice.learn(bob)
	pt := bob.recv(alice, alice.send("hi", bob))
	if !pt.NewSession {
		t.Fatal("no new session reported")
	}
	kt, errs := bob.m.EncryptKeyTransport(context.Background(), []Address{pt.Sender})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if kt.Payload != nil || !kt.KeyTransport() {
		t.Fatal("key transport has a payload")
	}
	kt2, err := ParseEncrypted(kt.Marshal())
	if err != nil || !kt2.KeyTransport() {
		t.Fatalf("round trip: %v", err)
	}
	got := alice.recv(bob, kt2)
	if !got.KeyTransport || len(got.Key) != 32 || got.Body != "" {
		t.Fatalf("alice got %+v", got)
	}
	// After the key transport alice no longer sends prekey messages.
	enc := alice.send("next", bob)
	if keyFor(t, enc, bob.m.DeviceID()).PreKey {
		t.Fatal("still a prekey message after key transport")
	}
	if bob.recv(alice, enc).Body != "next" {
		t.Fatal("wrong body")
	}
}

func TestOutOfOrder(t *testing.T) {
	alice := newDevice(t, aliceJID)
	bob := newDevice(t, bobJID)
	alice.learn(bob)
	bob.recv(alice, alice.send("first", bob))
	alice.recv(bob, bob.send("ack", alice))
	var encs []*Encrypted
	for i := range 6 {
		encs = append(encs, alice.send(fmt.Sprint("m", i), bob))
	}
	for _, i := range []int{5, 2, 0, 4, 1, 3} {
		if got := bob.recv(alice, encs[i]).Body; got != fmt.Sprint("m", i) {
			t.Fatalf("got %q for m%d", got, i)
		}
	}
	// Every one of them can be decrypted only once.
	for _, e := range encs {
		if _, err := bob.m.Decrypt(context.Background(), aliceJID, e); err == nil {
			t.Fatal("second decryption succeeded")
		}
	}
	// Also prekey messages that arrive out of order (nothing acknowledged yet).
	carol := newDevice(t, "carol@example.org")
	carol.learn(bob)
	p1, p2 := carol.send("p1", bob), carol.send("p2", bob)
	if bob.recv(carol, p2).Body != "p2" || bob.recv(carol, p1).Body != "p1" {
		t.Fatal("out of order prekey messages")
	}
}

func TestRestartContinues(t *testing.T) {
	alice := newDevice(t, aliceJID)
	bob := newDevice(t, bobJID)
	alice.learn(bob)
	bob.recv(alice, alice.send("before", bob))
	alice.recv(bob, bob.send("before too", alice))
	pending := alice.send("sent before bob's restart", bob)
	alice.reopen()
	bob.reopen()
	if bob.recv(alice, pending).Body != "sent before bob's restart" {
		t.Fatal("pending message lost")
	}
	for i := range 3 {
		if bob.recv(alice, alice.send(fmt.Sprint("after ", i), bob)).Body != fmt.Sprint("after ", i) {
			t.Fatal("alice→bob after restart")
		}
		if alice.recv(bob, bob.send(fmt.Sprint("back ", i), alice)).Body != fmt.Sprint("back ", i) {
			t.Fatal("bob→alice after restart")
		}
	}
}

func TestDuplicateDecryptFailsCleanly(t *testing.T) {
	ctx := context.Background()
	alice := newDevice(t, aliceJID)
	bob := newDevice(t, bobJID)
	alice.learn(bob)
	first := alice.send("prekey msg", bob)
	bob.recv(alice, first)
	if _, err := bob.m.Decrypt(ctx, aliceJID, first); err == nil {
		t.Fatal("prekey message decrypted twice")
	}
	alice.recv(bob, bob.send("ack", alice))
	normal := alice.send("normal", bob)
	bob.recv(alice, normal)
	if _, err := bob.m.Decrypt(ctx, aliceJID, normal); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("second decrypt: %v", err)
	}
	// The session survives.
	if bob.recv(alice, alice.send("still fine", bob)).Body != "still fine" {
		t.Fatal("session broken")
	}
}

func TestNotForThisDevice(t *testing.T) {
	alice := newDevice(t, aliceJID)
	bob1 := newDevice(t, bobJID)
	bob2 := newDevice(t, bobJID)
	alice.learn(bob1)
	enc := alice.send("only bob1", bob1)
	if _, err := bob2.m.Decrypt(context.Background(), aliceJID, enc); !errors.Is(err, ErrNotForThisDevice) {
		t.Fatalf("got %v", err)
	}
}

func TestFailedDecryptRollsBack(t *testing.T) {
	ctx := context.Background()
	alice := newDevice(t, aliceJID)
	bob := newDevice(t, bobJID)
	alice.learn(bob)
	enc := alice.send("precious", bob)

	// A tampered payload fails without consuming the message key…
	bad := *enc
	bad.Payload = append([]byte(nil), enc.Payload...)
	bad.Payload[0] ^= 1
	if _, err := bob.m.Decrypt(ctx, aliceJID, &bad); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("tampered payload: %v", err)
	}
	// …and so does a caller's transaction that rolls back.
	errStore := errors.New("storing the message failed")
	err := bob.st.WithTx(ctx, func(ctx context.Context) error {
		pt, err := bob.m.Decrypt(ctx, aliceJID, enc)
		if err != nil || pt.Body != "precious" {
			t.Fatalf("decrypt in tx: %v %q", err, pt.Body)
		}
		return errStore
	})
	if !errors.Is(err, errStore) {
		t.Fatal(err)
	}
	pt := bob.recv(alice, enc)
	if pt.Body != "precious" || !pt.NewSession {
		t.Fatalf("after rollbacks: %+v", pt)
	}
}

func TestPreKeyFlagFallback(t *testing.T) {
	alice := newDevice(t, aliceJID)
	bob := newDevice(t, bobJID)
	alice.learn(bob)
	enc := alice.send("flag missing", bob)
	enc.Keys[0].PreKey = false // a sender that omits prekey='true'
	if bob.recv(alice, enc).Body != "flag missing" {
		t.Fatal("wrong body")
	}
	alice.recv(bob, bob.send("ack", alice))
	enc = alice.send("flag wrongly set", bob)
	enc.Keys[0].PreKey = true
	if bob.recv(alice, enc).Body != "flag wrongly set" {
		t.Fatal("wrong body")
	}
	// prekey='1' parses as true.
	x := strings.Replace(string(alice.send("x", bob).Marshal()), "<key rid=", "<key prekey='1' rid=", 1)
	e, err := ParseEncrypted([]byte(x))
	if err != nil || !e.Keys[0].PreKey {
		t.Fatalf("prekey='1': %v", err)
	}
}

// TestLegacyPayloadFormats covers older senders: a 16-byte IV, and the GCM
// tag on the payload with only the 16-byte key in the header.
func TestLegacyPayloadFormats(t *testing.T) {
	ctx := context.Background()
	alice := newDevice(t, aliceJID)
	bob := newDevice(t, bobJID)
	alice.learn(bob)
	for _, tc := range []struct {
		name     string
		ivLen    int
		tagInKey bool
	}{{"iv12 key32", 12, true}, {"iv16 key32", 16, true}, {"iv12 key16", 12, false}, {"iv16 key16", 16, false}} {
		key := make([]byte, 16)
		iv := make([]byte, tc.ivLen)
		rand.Read(key)
		rand.Read(iv)
		block, _ := aes.NewCipher(key)
		gcm, _ := cipher.NewGCMWithNonceSize(block, tc.ivLen)
		sealed := gcm.Seal(nil, iv, []byte(tc.name), nil)
		material, payload := key, sealed
		if tc.tagInKey {
			material = append(append([]byte(nil), key...), sealed[len(sealed)-16:]...)
			payload = sealed[:len(sealed)-16]
		}
		enc, errs := alice.m.encryptKey(ctx, material, []Address{bob.addr()})
		if len(errs) > 0 {
			t.Fatal(errs)
		}
		enc.IV, enc.Payload = iv, payload
		enc, err := ParseEncrypted(enc.Marshal())
		if err != nil {
			t.Fatal(err)
		}
		if got := bob.recv(alice, enc).Body; got != tc.name {
			t.Fatalf("%s: got %q", tc.name, got)
		}
	}
}

func TestTrustBTBV(t *testing.T) {
	ctx := context.Background()
	alice := newDevice(t, aliceJID)
	bob1 := newDevice(t, bobJID)
	bob2 := newDevice(t, bobJID)
	bob3 := newDevice(t, bobJID)
	alice.learn(bob1)
	alice.learn(bob2)
	for _, b := range []*device{bob1, bob2} {
		if s, _ := alice.m.TrustOf(ctx, b.addr()); s != Trusted || !alice.m.Trusted(ctx, b.addr()) {
			t.Fatalf("before verification new keys are trusted blindly, got %v", s)
		}
	}
	// Verify bob1 by hand: bob2 keeps its trust, but new keys start undecided.
	if err := alice.m.SetTrust(ctx, bob1.addr(), bob1.m.Fingerprint(), Verified); err != nil {
		t.Fatal(err)
	}
	alice.learn(bob3)
	if s, _ := alice.m.TrustOf(ctx, bob3.addr()); s != Undecided {
		t.Fatalf("new key after verification: %v", s)
	}
	enc, errs := alice.m.Encrypt(ctx, "x", []Address{bob1.addr(), bob2.addr(), bob3.addr()})
	first := enc
	if len(errs) != 1 || errs[0].Addr != bob3.addr() || !errors.Is(errs[0], ErrUntrusted) {
		t.Fatalf("errs %v", errs)
	}
	if len(enc.Keys) != 2 || len(enc.KeyFor(bob3.m.DeviceID())) != 0 {
		t.Fatal("undecided device got a key")
	}
	devs, err := alice.m.Devices(ctx, bobJID)
	if err != nil || len(devs) != 3 {
		t.Fatalf("devices %v %v", devs, err)
	}
	want := map[uint32]struct {
		s   TrustState
		enc bool
		fp  string
	}{
		bob1.m.DeviceID(): {Verified, true, bob1.m.Fingerprint()},
		bob2.m.DeviceID(): {Trusted, true, bob2.m.Fingerprint()},
		bob3.m.DeviceID(): {Undecided, false, bob3.m.Fingerprint()},
	}
	for _, d := range devs {
		w := want[d.Device]
		if d.Trust != w.s || d.EncryptedTo != w.enc || d.Fingerprint != w.fp {
			t.Fatalf("device %d: %+v, want %+v", d.Device, d, w)
		}
	}
	// Decide: trust bob3, reject bob2.
	if err := alice.m.SetTrust(ctx, bob3.addr(), bob3.m.Fingerprint(), Trusted); err != nil {
		t.Fatal(err)
	}
	if err := alice.m.SetTrust(ctx, bob2.addr(), FormatFingerprint(bob2.m.Fingerprint()), Untrusted); err != nil {
		t.Fatal(err)
	}
	enc, errs = alice.m.Encrypt(ctx, "y", []Address{bob1.addr(), bob2.addr(), bob3.addr()})
	if len(errs) != 1 || errs[0].Addr != bob2.addr() {
		t.Fatalf("errs %v", errs)
	}
	if len(enc.KeyFor(bob2.m.DeviceID())) != 0 || len(enc.KeyFor(bob3.m.DeviceID())) != 1 {
		t.Fatal("untrusted device got a key or trusted one none")
	}
	if d, _ := alice.m.Devices(ctx, bobJID); d[0].EncryptedTo == (d[0].Device == bob2.m.DeviceID()) {
		t.Fatalf("encrypted-to flags %+v", d)
	}
	// Untrusted devices still decrypt for us (shown as untrusted).
	bob2.recv(alice, first)
	r := bob2.send("from rejected device", alice)
	if pt := alice.recv(bob2, r); pt.Trust != Untrusted || pt.Body != "from rejected device" {
		t.Fatalf("%+v", pt)
	}
	// Other contacts are unaffected by bob's verification.
	carol := newDevice(t, "carol@example.org")
	alice.learn(carol)
	if !alice.m.Trusted(ctx, carol.addr()) {
		t.Fatal("carol's first key should be trusted blindly")
	}
}

func TestTrustManualAndKeyChange(t *testing.T) {
	ctx := context.Background()
	alice := newDevice(t, aliceJID)
	alice.m.SetPolicy(PolicyManual)
	bob := newDevice(t, bobJID)
	alice.learn(bob)
	if alice.m.Trusted(ctx, bob.addr()) {
		t.Fatal("manual policy trusted a new key")
	}
	if enc, errs := alice.m.Encrypt(ctx, "x", []Address{bob.addr()}); enc != nil || len(errs) != 1 {
		t.Fatal("encrypted to an undecided device")
	}
	// A key verified through a scanned URI before it was ever seen.
	carol := newDevice(t, "carol@example.org")
	n, err := alice.m.VerifyURI(ctx, carol.m.URI())
	if err != nil || n != 1 {
		t.Fatal(n, err)
	}
	alice.learn(carol)
	if s, _ := alice.m.TrustOf(ctx, carol.addr()); s != Verified {
		t.Fatalf("pre-verified key: %v", s)
	}
	// The same device id with another identity key starts over.
	alice.m.SetPolicy(PolicyBTBV)
	impostor := newDevice(t, "carol@example.org")
	b, _ := impostor.m.Bundle(ctx)
	if err := alice.m.ProcessBundle(ctx, carol.jid, carol.m.DeviceID(), b); err != nil {
		t.Fatal(err)
	}
	if s, _ := alice.m.TrustOf(ctx, carol.addr()); s != Undecided {
		t.Fatalf("changed key of a verified contact: %v", s)
	}
}

func TestDeviceListAndRecipients(t *testing.T) {
	ctx := context.Background()
	alice := newDevice(t, aliceJID)
	own := alice.m.DeviceID()
	other := own%1000 + 1
	if err := alice.m.SetDeviceList(ctx, aliceJID, []uint32{own, other}); err != nil {
		t.Fatal(err)
	}
	if err := alice.m.SetDeviceList(ctx, bobJID, []uint32{11, 12}); err != nil {
		t.Fatal(err)
	}
	if err := alice.m.SetDeviceList(ctx, bobJID, []uint32{12, 13}); err != nil {
		t.Fatal(err)
	}
	r, err := alice.m.Recipients(ctx, bobJID, aliceJID)
	if err != nil {
		t.Fatal(err)
	}
	want := []Address{{bobJID, 12}, {bobJID, 13}, {aliceJID, other}}
	if fmt.Sprint(r) != fmt.Sprint(want) {
		t.Fatalf("recipients %v want %v", r, want)
	}
	devs, _ := alice.m.Devices(ctx, bobJID)
	if len(devs) != 3 || devs[0].Active || !devs[1].Active || devs[0].Fingerprint != "" {
		t.Fatalf("devices %+v", devs)
	}
	// No session with these yet.
	_, errs := alice.m.Encrypt(ctx, "x", r)
	for _, e := range errs {
		if !errors.Is(e, ErrUntrusted) && !errors.Is(e, ErrNoSession) {
			t.Fatalf("unexpected %v", e)
		}
	}
	if len(errs) != 3 {
		t.Fatalf("errs %v", errs)
	}
}

func TestPreKeyLifecycle(t *testing.T) {
	ctx := context.Background()
	alice := newDevice(t, aliceJID)
	bob := newDevice(t, bobJID)
	carol := newDevice(t, "carol@example.org")
	alice.learn(bob)
	carol.learn(bob)
	ea, ec := alice.send("a", bob), carol.send("c", bob)
	bob.recv(alice, ea)
	b, _ := bob.m.Bundle(ctx)
	if len(b.PreKeys) == PreKeyCount {
		t.Fatal("used prekey still published")
	}
	n, err := bob.m.RefillPreKeys(ctx)
	if err != nil || n != 1 {
		t.Fatalf("refill %d %v", n, err)
	}
	b, _ = bob.m.Bundle(ctx)
	if len(b.PreKeys) != PreKeyCount || b.PreKeys[len(b.PreKeys)-1].ID != PreKeyCount+1 {
		t.Fatalf("refilled bundle: %d keys, last id %d", len(b.PreKeys), b.PreKeys[len(b.PreKeys)-1].ID)
	}
	if purged, err := bob.m.PurgeUsedPreKeys(ctx); err != nil || purged != 1 {
		t.Fatalf("purge %d %v", purged, err)
	}
	// Carol's prekey message may have used the same prekey as alice's; if
	// its prekey was purged it must fail cleanly, otherwise decrypt.
	if pt, err := bob.m.Decrypt(ctx, carol.jid, ec); err == nil && pt.Body != "c" {
		t.Fatal("wrong body")
	}
	// Ids are never reused, even across a restart.
	bob.reopen()
	bob.recv(alice, alice.send("again", bob))
	n2, err := bob.m.RefillPreKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b, _ = bob.m.Bundle(ctx)
	fresh := 0
	for i, k := range b.PreKeys {
		if i > 0 && k.ID <= b.PreKeys[i-1].ID {
			t.Fatal("prekey ids not increasing")
		}
		if k.ID > PreKeyCount {
			fresh++
		}
	}
	if len(b.PreKeys) != PreKeyCount || fresh != n+n2 {
		t.Fatalf("%d prekeys, %d fresh after refilling %d", len(b.PreKeys), fresh, n+n2)
	}
}

func TestRotateSignedPreKey(t *testing.T) {
	ctx := context.Background()
	alice := newDevice(t, aliceJID)
	bob := newDevice(t, bobJID)
	alice.learn(bob) // built on signed prekey 1
	old, _ := bob.m.Bundle(ctx)
	now := time.Now()
	if rot, err := bob.m.RotateSignedPreKey(ctx, now); err != nil || rot {
		t.Fatalf("fresh key rotated: %v %v", rot, err)
	}
	t1 := now.Add(SignedPreKeyMaxAge + time.Hour)
	if rot, err := bob.m.RotateSignedPreKey(ctx, t1); err != nil || !rot {
		t.Fatalf("old key not rotated: %v %v", rot, err)
	}
	nb, _ := bob.m.Bundle(ctx)
	if nb.SignedPreKeyID == old.SignedPreKeyID || bytes.Equal(nb.SignedPreKey, old.SignedPreKey) {
		t.Fatal("bundle still has the old signed prekey")
	}
	// Within the grace period a message built on the old key decrypts.
	if bob.recv(alice, alice.send("late", bob)).Body != "late" {
		t.Fatal("wrong body")
	}
	carol := newDevice(t, "carol@example.org")
	if err := carol.m.ProcessBundle(ctx, bobJID, bob.m.DeviceID(), old); err != nil {
		t.Fatal(err)
	}
	late := carol.send("built on the old key", bob)
	if _, err := bob.m.RotateSignedPreKey(ctx, t1.Add(SignedPreKeyGrace+time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.m.Decrypt(ctx, carol.jid, late); err == nil {
		t.Fatal("message on a signed prekey past its grace period decrypted")
	}
}

func TestURI(t *testing.T) {
	fp1 := strings.Repeat("ab", 32)
	fp2 := strings.Repeat("0f", 32)
	u := BuildURI("user@example.org", []URIDevice{{123, fp1}, {456, fp2}})
	want := "xmpp:user@example.org?omemo-sid-123=" + fp1 + ";omemo-sid-456=" + fp2
	if u != want {
		t.Fatalf("got %s", u)
	}
	jid, devs, err := ParseURI(u)
	if err != nil || jid != "user@example.org" || len(devs) != 2 || devs[1] != (URIDevice{456, fp2}) {
		t.Fatalf("%q %v %v", jid, devs, err)
	}
	// Upper case hex, extra parameters, a 05-prefixed key.
	jid, devs, err = ParseURI("xmpp:user@example.org?message;omemo-sid-7=05" + strings.ToUpper(fp1))
	if err != nil || jid != "user@example.org" || len(devs) != 1 || devs[0] != (URIDevice{7, fp1}) {
		t.Fatalf("%q %v %v", jid, devs, err)
	}
	for _, bad := range []string{
		"https://example.org",
		"xmpp:?omemo-sid-1=" + fp1,
		"xmpp:u@h?omemo-sid-0=" + fp1,
		"xmpp:u@h?omemo-sid-1=abcd",
		"xmpp:u@h?omemo-sid-x=" + fp1,
		"xmpp:u@h/res?omemo-sid-1=" + fp1,
	} {
		if _, _, err := ParseURI(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func TestGarbageKeysDoNotPanic(t *testing.T) {
	ctx := context.Background()
	alice := newDevice(t, aliceJID)
	bob := newDevice(t, bobJID)
	alice.learn(bob)
	good := alice.send("good", bob)
	data := good.Keys[0].Data
	cases := [][]byte{
		{0x33},
		{0x33, 0x00},
		{0x33, 0x0a, 0x00},
		bytes.Repeat([]byte{0x33}, 9),
		data[:len(data)/2],
		append(append([]byte(nil), data...), 1, 2, 3),
	}
	for i := range 20 {
		b := make([]byte, i*7+1)
		rand.Read(b)
		cases = append(cases, b)
	}
	for _, c := range cases {
		for _, pk := range []bool{true, false} {
			e := &Encrypted{SID: alice.m.DeviceID(), IV: good.IV, Payload: good.Payload,
				Keys: []Key{{RID: bob.m.DeviceID(), PreKey: pk, Data: c}}}
			if _, err := bob.m.Decrypt(ctx, aliceJID, e); err == nil {
				t.Fatalf("garbage %x decrypted", c)
			}
		}
	}
	if bob.recv(alice, good).Body != "good" {
		t.Fatal("good message after garbage")
	}
}

// TestCallerRollbackUndoesEncrypt checks that an Encrypt inside a caller's
// transaction that rolls back leaves no trace, not even in the Manager's
// session cache: the next message reuses the ratchet step.
func TestCallerRollbackUndoesEncrypt(t *testing.T) {
	ctx := context.Background()
	alice := newDevice(t, aliceJID)
	bob := newDevice(t, bobJID)
	alice.learn(bob)
	bob.recv(alice, alice.send("first", bob))
	alice.recv(bob, bob.send("ack", alice))
	alice.send("warm the cache", bob) // not delivered: a skipped key for bob

	var undone *Encrypted
	errAbort := errors.New("abort")
	err := alice.st.WithTx(ctx, func(ctx context.Context) error {
		enc, errs := alice.m.Encrypt(ctx, "undone", []Address{bob.addr()})
		if len(errs) > 0 {
			t.Fatal(errs)
		}
		undone = enc
		return errAbort
	})
	if !errors.Is(err, errAbort) {
		t.Fatal(err)
	}
	again := alice.send("again", bob)
	if bob.recv(alice, again).Body != "again" {
		t.Fatal("wrong body")
	}
	// "again" took the ratchet step "undone" had taken, so the message key
	// of "undone" is spent.
	if pt, err := bob.m.Decrypt(ctx, aliceJID, undone); err == nil {
		t.Fatalf("rolled back message decrypted as %q: the ratchet advanced anyway", pt.Body)
	}
	// Inside a committing caller transaction it sticks.
	var kept *Encrypted
	if err := alice.st.WithTx(ctx, func(ctx context.Context) error {
		kept, _ = alice.m.Encrypt(ctx, "kept", []Address{bob.addr()})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	next := alice.send("next", bob)
	if bob.recv(alice, next).Body != "next" || bob.recv(alice, kept).Body != "kept" {
		t.Fatal("wrong bodies")
	}
}
