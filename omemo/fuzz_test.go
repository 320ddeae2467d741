package omemo

import (
	"context"
	"testing"
)

// FuzzDecrypt feeds mutated key blobs and payloads to a Manager that has
// a real session with the sender: nothing may panic, and failures must
// leave the session usable. Static seeds are in testdata/fuzz/FuzzDecrypt.
func FuzzDecrypt(f *testing.F) {
	alice := newDevice(f, aliceJID)
	bob := newDevice(f, bobJID)
	alice.learn(bob)
	pre := alice.send("prekey message", bob)
	f.Add(pre.Keys[0].Data, true, pre.Payload)
	bob.recv(alice, pre)
	alice.recv(bob, bob.send("ack", alice))
	normal := alice.send("normal message", bob)
	f.Add(normal.Keys[0].Data, false, normal.Payload)
	iv := normal.IV
	f.Fuzz(func(t *testing.T, data []byte, prekey bool, payload []byte) {
		e := &Encrypted{SID: alice.m.DeviceID(), IV: iv, Payload: payload,
			Keys: []Key{{RID: bob.m.DeviceID(), PreKey: prekey, Data: data}}}
		pt, err := bob.m.Decrypt(context.Background(), aliceJID, e)
		if err == nil && pt.Sender != alice.addr() {
			t.Fatalf("decrypted with sender %v", pt.Sender)
		}
	})
}
