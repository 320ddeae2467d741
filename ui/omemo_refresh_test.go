package ui

import (
	"strings"
	"testing"
	"time"

	"xchat/session"
	"xchat/store"
)

// The demo's story: the conversation opens before the session knows the
// contact's devices (header "plain"); then they become known. The header
// must follow, and no question may be asked before a message that will
// be encrypted.

// plainAtFirst opens bob's conversation while the fake says plain, then
// lets the fake know bob's devices (as the session learns them).
func plainAtFirst(t *testing.T) (*harness, *omemoFake) {
	t.Helper()
	st := newFakeStore()
	st.contacts[me] = []store.Contact{{Account: me, JID: bob, Name: "Bob", Subscription: "both"}}
	f := newOMEMOFake()
	f.state = encryptionState{}
	h := newHarnessOpts(t, Options{Store: st, Now: func() time.Time { return testNow }, Location: time.UTC, Accounts: []Account{f}}, st, []*fakeAccount{f.fakeAccount})
	h.command("/msg " + bob)
	if title := strings.Split(h.screen(), "\n")[0]; !strings.Contains(title, "plain") {
		t.Fatalf("title = %q, want plain before the devices are known", title)
	}
	f.mu.Lock()
	f.state = encryptionState{Available: true, Enabled: true, Devices: 1}
	f.mu.Unlock()
	return h, f
}

func header(h *harness) string { return strings.Split(h.screen(), "\n")[0] }

func TestEncryptionHeaderFollowsAnEncryptedMessage(t *testing.T) {
	h, f := plainAtFirst(t)
	h.send(session.MessageEvent{Account: me, Message: store.Message{ID: 50, Account: me, Peer: bob, Kind: store.KindChat,
		Direction: store.Incoming, Body: "echo: hello", Encryption: "omemo", Timestamp: testNow}})
	if title := header(h); !strings.Contains(title, "🔒 OMEMO → 1 device") {
		t.Fatalf("after an encrypted message, title = %q, want 🔒 to 1 device", title)
	}
	h.command("second")
	if h.m.omemo.held != nil {
		t.Fatalf("held for a question though the next message is encrypted (status %q)", h.m.status.text)
	}
	if c, ok := lastCall(f.Calls(), "SendMessage"); !ok || c.args[1] != "second" {
		t.Fatalf("second message not sent: %v", f.Calls())
	}
}

func TestEncryptionHeaderFollowsDeviceListsAndLogin(t *testing.T) {
	h, f := plainAtFirst(t)
	// The session's event when a device list arrives (PEP push or fetch).
	h.send(omemoEvent{Account: me, JID: bob, Kind: "devices"})
	if title := header(h); !strings.Contains(title, "🔒 OMEMO → 1 device") {
		t.Fatalf("after the device list, title = %q", title)
	}
	// Coming online asks again (before, the session could not fetch).
	f.mu.Lock()
	f.state = encryptionState{Available: true, Enabled: true, Devices: 2}
	f.mu.Unlock()
	h.send(session.StateEvent{Account: me, State: session.Online})
	if title := header(h); !strings.Contains(title, "🔒 OMEMO → 2 devices") {
		t.Fatalf("after login, title = %q", title)
	}
}

func TestStaleHeaderDoesNotAskBeforeAnEncryptedSend(t *testing.T) {
	// The history holds an encrypted message and the header still says
	// plain (nothing told the model yet): the state is asked afresh, and
	// since it now says encrypted the message goes without a question.
	st := newFakeStore()
	st.add(store.Message{Account: me, Peer: bob, Direction: store.Incoming, Body: "secret", Encryption: "omemo", Timestamp: testNow.Add(-time.Minute)})
	f := newOMEMOFake()
	f.state = encryptionState{}
	h := newHarnessOpts(t, Options{Store: st, Now: func() time.Time { return testNow }, Location: time.UTC, Accounts: []Account{f}}, st, []*fakeAccount{f.fakeAccount})
	h.command("/msg " + bob)
	f.mu.Lock()
	f.state = encryptionState{Available: true, Enabled: true, Devices: 1}
	f.mu.Unlock()
	h.command("hello")
	if h.m.omemo.held != nil {
		t.Fatalf("asked %q though the fresh state says encrypted", h.m.status.text)
	}
	if c, ok := lastCall(f.Calls(), "SendMessage"); !ok || c.args[1] != "hello" {
		t.Fatalf("not sent: %v", f.Calls())
	}
}
