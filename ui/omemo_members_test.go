package ui

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"xchat/session"
)

// membersFake is an OMEMO account that lists a room's members like
// session.Client.RoomMembers.
type membersFake struct {
	*omemoFake
	members []string
	err     error
}

func (f *membersFake) RoomMembers(_ context.Context, roomJID string) ([]string, error) {
	f.record("RoomMembers", roomJID)
	return f.members, f.err
}

func membersHarness(t *testing.T, members []string, err error) (*harness, *membersFake) {
	t.Helper()
	st := newFakeStore()
	f := &membersFake{omemoFake: newOMEMOFake(), members: members, err: err}
	f.state = encryptionState{Available: true, Enabled: true, Devices: 3}
	opts := Options{Store: st, Now: func() time.Time { return testNow }, Location: time.UTC, Accounts: []Account{f}}
	h := newHarnessOpts(t, opts, st, []*fakeAccount{f.fakeAccount})
	h.send(session.StateEvent{Account: me, State: session.Online})
	h.send(tea.WindowSizeMsg{Width: 140, Height: 60})
	h.send(roomSnapshot(0))
	h.command("/join " + room)
	return h, f
}

func TestOMEMOFingerprintOfRoomListsMembers(t *testing.T) {
	h, f := membersHarness(t, []string{bob, alice}, nil)
	h.command("/omemo fingerprint " + room)
	if c, ok := lastCall(f.Calls(), "RoomMembers"); !ok || c.args[0] != room {
		t.Fatalf("the members were not asked: %v", f.Calls())
	}
	text := strings.Join(h.m.omemo.pane.text, "\n")
	for _, want := range []string{
		"Members of " + room,
		bob + ":",
		"1001  trusted",
		"1002  undecided",
		"/omemo trust " + bob + " " + bobFP2,
		alice + " has no known OMEMO device",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("listing lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, room+" has no known OMEMO device") {
		t.Errorf("the room was listed as a contact:\n%s", text)
	}
	// Trusting from there shows the room's listing again, updated.
	h.command("/omemo trust " + bob + " " + bobFP2)
	if c, ok := lastCall(f.Calls(), "RoomMembers"); !ok || c.args[0] != room || countCalls(f.Calls(), "RoomMembers") != 2 {
		t.Fatalf("after trust, calls %v", f.Calls())
	}
	if text := strings.Join(h.m.omemo.pane.text, "\n"); !strings.Contains(text, "1002  trusted") {
		t.Errorf("after trust:\n%s", text)
	}
}

func TestOMEMOFingerprintOfRoomPointsToMembers(t *testing.T) {
	h, _ := membersHarness(t, nil, errors.New("OMEMO works only in private groups (members-only and non-anonymous): "+room+" is not one"))
	h.command("/omemo fingerprint " + room)
	text := strings.Join(h.m.omemo.pane.text, "\n")
	if !strings.Contains(text, "only in private groups") || !strings.Contains(text, "/omemo fingerprint JID lists one member's devices") {
		t.Errorf("listing:\n%s", text)
	}
}
