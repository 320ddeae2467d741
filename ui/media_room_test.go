package ui

import (
	"slices"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"xchat/muc"
	"xchat/session"
	"xchat/store"
)

// In a room, images are fetched without asking only from occupants whose
// real JID (announced by the room) is a roster contact.
func TestRoomImagesFromRosterOccupantsOnly(t *testing.T) {
	st := newFakeStore()
	st.contacts[me] = []store.Contact{{Account: me, JID: alice, Name: "Alice", Subscription: "both"}}
	acc := newFakeAccount(me)
	h := newHarnessOpts(t, Options{Store: st, Now: func() time.Time { return testNow }, Location: time.UTC,
		Accounts: []Account{acc}, Media: MediaOptions{AutoDownloadMax: 1 << 20}}, st, []*fakeAccount{acc})
	h.send(session.StateEvent{Account: me, State: session.Online})
	h.send(tea.WindowSizeMsg{Width: 120, Height: 40})
	snap := session.RoomStateEvent{Account: me, Room: room, State: muc.StateJoined, Nick: "me", Occupants: []muc.Occupant{
		{Nick: "alice", Role: muc.RoleParticipant, RealJID: alice + "/pc"},          // a contact
		{Nick: "anon", Role: muc.RoleParticipant},                                   // real JID hidden
		{Nick: "eve", Role: muc.RoleParticipant, RealJID: "eve@evil.example/x"},     // a stranger
		{Nick: "alias", Role: muc.RoleParticipant, RealJID: "mallory@evil.example"}, // see below
		{Nick: "me", Role: muc.RoleParticipant, RealJID: me + "/x"},
	}}
	h.send(snap)
	h.typeText("/join " + room)
	h.press("enter")

	mf := mediaOf(acc)
	url := func(n string) string { return "https://files.example.org/" + n + ".png" }
	for _, n := range []string{"alice", "anon", "eve", "alias", "gone"} {
		mf.files[url(n)] = testPNG(t)
	}
	post := func(nick, full, body string) {
		m := st.add(store.Message{Account: me, Peer: room, Kind: store.KindGroupchat, Direction: store.Incoming,
			State: store.StateReceived, Sender: nick, SenderFull: full, Body: body, Timestamp: testNow, Type: "groupchat"})
		h.send(session.MessageEvent{Account: me, Message: m})
	}
	post("alice", alice+"/pc", url("alice"))
	post("anon", "", url("anon"))
	post("eve", "eve@evil.example/x", url("eve"))
	// The message claims alice, the room says the nick is mallory.
	post("alias", alice+"/pc", url("alias"))
	// Not (or no longer) in the room.
	post("gone", "", url("gone"))

	if got := mf.Fetched(); !slices.Equal(got, []string{url("alice")}) {
		t.Fatalf("fetched %v, want only alice's image", got)
	}
	if f := h.m.media.files[url("alice")]; f == nil || f.img == nil {
		t.Fatalf("alice's image not shown: %+v", f)
	}
}
