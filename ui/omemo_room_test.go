package ui

import (
	"errors"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"xchat/session"
	"xchat/store"
)

// omemoRoomHarness is an OMEMO account with a room joined and open.
func omemoRoomHarness(t *testing.T, state encryptionState) (*harness, *omemoFake) {
	t.Helper()
	st := newFakeStore()
	f := newOMEMOFake()
	f.state = state
	opts := Options{Store: st, Now: func() time.Time { return testNow }, Location: time.UTC, Accounts: []Account{f}}
	h := newHarnessOpts(t, opts, st, []*fakeAccount{f.fakeAccount})
	h.send(session.StateEvent{Account: me, State: session.Online})
	h.send(tea.WindowSizeMsg{Width: 140, Height: 40})
	h.send(roomSnapshot(0))
	h.command("/join " + room)
	return h, f
}

func TestPrivateGroupHeaderShowsDevices(t *testing.T) {
	h, f := omemoRoomHarness(t, encryptionState{Available: true, Enabled: true, Devices: 5})
	if c, ok := lastCall(f.Calls(), "Encryption"); !ok || c.args[0] != room {
		t.Fatalf("opening the room did not ask Encryption(room): %v", f.Calls())
	}
	title := strings.Split(h.screen(), "\n")[0]
	if !strings.Contains(title, "🔒 OMEMO → 5 devices") {
		t.Errorf("title = %q, want the device count", title)
	}
	h.command("/omemo off")
	if c, ok := lastCall(f.Calls(), "SetEncryption"); !ok || c.args[0] != room || c.args[1] != "plain" {
		t.Fatalf("/omemo off in a room: calls %v", f.Calls())
	}
}

func TestOMEMOOnRefusedInChannel(t *testing.T) {
	h, f := omemoRoomHarness(t, encryptionState{})
	if title := strings.Split(h.screen(), "\n")[0]; strings.Contains(title, "plain") || strings.Contains(title, "🔒") {
		t.Errorf("a channel's title speaks of encryption: %q", title)
	}
	f.mu.Lock()
	f.err = errors.New("OMEMO works only in private groups (members-only and non-anonymous): " + room + " is not one")
	f.mu.Unlock()
	h.command("/omemo on")
	if txt, isErr := h.statusText(t); !isErr || !strings.Contains(txt, "only in private groups") {
		t.Errorf("status = %q (error %v), want the refusal", txt, isErr)
	}
}

func TestUntrustedDeviceMessagesAreMarked(t *testing.T) {
	st := newFakeStore()
	st.add(store.Message{Account: me, Peer: bob, Direction: store.Incoming, Sender: bob, Body: "from a known phone",
		Encryption: "omemo", SenderDevice: 1001, Timestamp: testNow.Add(-2 * time.Hour)})
	st.add(store.Message{Account: me, Peer: bob, Direction: store.Incoming, Sender: bob, Body: "from a new laptop",
		Encryption: "omemo", SenderDevice: 1002, Untrusted: true, Timestamp: testNow.Add(-time.Hour)})
	f := newOMEMOFake()
	h := newHarnessOpts(t, Options{Store: st, Now: func() time.Time { return testNow }, Location: time.UTC, Accounts: []Account{f}}, st, []*fakeAccount{f.fakeAccount})
	h.send(tea.WindowSizeMsg{Width: 140, Height: 30})
	h.command("/msg " + bob)
	screen := h.screen()
	var known, fresh string
	for _, l := range strings.Split(screen, "\n") {
		if strings.Contains(l, "from a known phone") {
			known = l
		}
		if strings.Contains(l, "from a new laptop") {
			fresh = l
		}
	}
	if !strings.Contains(fresh, "⚠ untrusted device 1002") {
		t.Errorf("message from the undecided device: %q", fresh)
	}
	if known == "" || strings.Contains(known, "untrusted") {
		t.Errorf("message from the trusted device: %q", known)
	}
}

func TestRetriedDecryptionReplacesTheLine(t *testing.T) {
	st := newFakeStore()
	failed := st.add(store.Message{Account: me, Peer: bob, Direction: store.Incoming, Sender: bob,
		Encryption: "omemo", Error: "could not decrypt: no session", Timestamp: testNow.Add(-time.Hour)})
	f := newOMEMOFake()
	h := newHarnessOpts(t, Options{Store: st, Now: func() time.Time { return testNow }, Location: time.UTC, Accounts: []Account{f}}, st, []*fakeAccount{f.fakeAccount})
	h.send(tea.WindowSizeMsg{Width: 140, Height: 30})
	h.command("/msg " + bob)
	if s := h.screen(); !strings.Contains(s, "could not decrypt: no session") {
		t.Fatalf("the failure is not shown:\n%s", s)
	}
	// The session decrypted it later and updated the row.
	st.mu.Lock()
	k := me + " " + bob
	st.msgs[k][0].Body, st.msgs[k][0].Error, st.msgs[k][0].SenderDevice = "late but readable", "", 1001
	st.mu.Unlock()
	h.send(session.MessageUpdatedEvent{Account: me, Peer: bob, ID: failed.ID, What: "decrypted"})
	s := h.screen()
	if !strings.Contains(s, "late but readable") || strings.Contains(s, "could not decrypt") {
		t.Fatalf("after the retry:\n%s", s)
	}
}
