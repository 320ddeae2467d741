package muc

import (
	"bytes"
	"os"
	"testing"

	"xchat/internal/testserver"
)

// createRoom joins a new room as the owner, fetches its configuration form,
// fills it with preset, submits it and returns the Room.
func createRoom(t *testing.T, c *rawClient, roomJID, nick, name string, preset func(*Form, string) []string) *Room {
	t.Helper()
	r := NewRoom(roomJID, nick)
	r.SetOwnJID(c.Bare)
	c.Send(t, r.Join(nick, JoinOptions{}))
	evs := c.until(t, r, func(e Event) bool { _, ok := e.(Joined); return ok })
	j := evs[len(evs)-1].(Joined)
	if !j.Created || j.Self.Affiliation != AffOwner {
		t.Fatalf("%s: not created by us: %#v", roomJID, j)
	}
	form, err := ParseConfigForm(c.IQOK(t, ConfigFormRequest(roomJID)))
	if err != nil {
		t.Fatal(err)
	}
	if path := os.Getenv("XCHAT_MUC_DUMP_FORM"); path != "" {
		_ = os.WriteFile(path, c.IQOK(t, ConfigFormRequest(roomJID)), 0o644)
	}
	if missing := preset(form, name); len(missing) != 0 {
		t.Fatalf("%s: Prosody's form lacks %v", roomJID, missing)
	}
	c.IQOK(t, ConfigSubmit(roomJID, form))
	return r
}

func roomInfo(t *testing.T, c *rawClient, roomJID string) RoomInfo {
	t.Helper()
	info, err := ParseRoomInfo(c.IQOK(t, DiscoInfoIQ(roomJID)))
	if err != nil {
		t.Fatal(err)
	}
	return info
}

func TestProsodyIntegration(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{NoUpload: true})
	users := srv.Users(t, 2)
	alice := dialRaw(t, srv, users[0])
	bob := dialRaw(t, srv, users[1])

	// The MUC service is found through disco.
	items, err := ParseDiscoItems(alice.IQOK(t, DiscoItemsIQ(srv.Domain)))
	if err != nil {
		t.Fatal(err)
	}
	svc, err := FindMUCService(items, func(j string) ([]byte, error) { return alice.IQ(t, DiscoInfoIQ(j)), nil })
	if err != nil || svc != srv.MUCDomain {
		t.Fatalf("MUC service %q, %v (items %v)", svc, err, items)
	}

	// A private group.
	group := LocalpartFromName("Private Group – Ünïcode") + "@" + svc
	if group != "private-group-unicode@"+svc {
		t.Fatalf("localpart: %s", group)
	}
	aGroup := createRoom(t, alice, group, "alice", "Private Group", PrivateGroupConfig)
	info := roomInfo(t, alice, group)
	if !info.MembersOnly || !info.NonAnonymous || !info.Persistent || !info.Hidden || info.Public || info.Name != "Private Group" {
		t.Errorf("private group info %+v", info)
	}
	if !info.MAM {
		t.Errorf("private group without MAM: %v", info.Features)
	}

	// A public channel.
	channel := LocalpartFromName("Public Channel") + "@" + svc
	aChan := createRoom(t, alice, channel, "alice", "Public Channel", PublicChannelConfig)
	info = roomInfo(t, alice, channel)
	if !info.Public || !info.Open || !info.SemiAnonymous || !info.Persistent || info.MembersOnly || info.Name != "Public Channel" {
		t.Errorf("channel info %+v", info)
	}

	// Bob cannot enter the private group: members-only.
	bGroup := NewRoom(group, "bob")
	bob.Send(t, bGroup.Join("bob", JoinOptions{}))
	evs := bob.until(t, bGroup, func(e Event) bool { _, ok := e.(JoinError); return ok })
	if je := evs[len(evs)-1].(JoinError); je.Condition != "registration-required" {
		t.Errorf("members-only join: %#v", je)
	}
	// A mediated invitation reaches him (and makes him a member).
	alice.Send(t, MediatedInvite(group, bob.Bare, "come in"))
	raw := bob.waitRaw(t, func(b []byte) bool { _, ok, _ := ParseInvite(b); return ok })
	inv, _, _ := ParseInvite(raw)
	if inv.Room != group || bareJID(inv.From) != alice.Bare || inv.Reason != "come in" || inv.Direct {
		t.Errorf("invite %#v from %s", inv, raw)
	}
	members, err := ParseAffiliationList(alice.IQOK(t, AffiliationListQuery(group, AffOwner)))
	if err != nil || len(members) != 1 || members[0].JID != alice.Bare || members[0].Affiliation != AffOwner {
		t.Errorf("owners %#v %v", members, err)
	}

	// Bob joins the channel; alice sees him arrive.
	bChan := NewRoom(channel, "bob")
	bChan.SetOwnJID(bob.Bare)
	bob.Send(t, bChan.Join("bob", JoinOptions{MaxStanzas: 5}))
	evs = bob.until(t, bChan, func(e Event) bool { _, ok := e.(Joined); return ok })
	if len(evs) != 2 {
		t.Errorf("bob's join: %#v", evs)
	}
	if oj, ok := evs[0].(OccupantJoined); !ok || oj.Occupant.Nick != "alice" || !oj.Initial || oj.Occupant.RealJID != "" {
		t.Errorf("bob sees %#v (semi-anonymous: no real JID)", evs[0])
	}
	evs = alice.until(t, aChan, func(e Event) bool { _, ok := e.(OccupantJoined); return ok })
	oj := evs[len(evs)-1].(OccupantJoined)
	if oj.Occupant.Nick != "bob" || oj.Initial || oj.Occupant.Role != RoleParticipant || oj.Occupant.RealJID == "" {
		t.Errorf("alice sees %#v (moderators see real JIDs)", oj)
	}

	// A message round trip: bob's reflection is IsSelf, alice sees bob.
	bChan.TrackOriginID("origin-1")
	bob.Send(t, GroupChatMessage(channel, "m1", "hello <all> & you", "origin-1"))
	evs = bob.until(t, bChan, func(e Event) bool { _, ok := e.(GroupMessage); return ok })
	if g := evs[len(evs)-1].(GroupMessage); !g.IsSelf || g.Body != "hello <all> & you" || g.StanzaID == "" {
		t.Errorf("bob's reflection %#v", g)
	}
	evs = alice.until(t, aChan, func(e Event) bool { _, ok := e.(GroupMessage); return ok })
	if g := evs[len(evs)-1].(GroupMessage); g.IsSelf || g.From != "bob" || g.OriginID != "origin-1" {
		t.Errorf("alice gets %#v", g)
	}

	// Self-ping: bob is in.
	cond, _, _ := IQError(bob.IQ(t, SelfPingIQ(channel, "bob")))
	if SelfPingResult(cond) != PingJoined {
		t.Errorf("self-ping while joined: %q", cond)
	}

	// Alice kicks bob.
	alice.IQOK(t, Kick(channel, "bob", "out you go"))
	evs = bob.until(t, bChan, func(e Event) bool { _, ok := e.(SelfRemoved); return ok })
	sr := evs[len(evs)-1].(SelfRemoved)
	if sr.Reason != ReasonKicked || sr.ReasonText != "out you go" || !sr.CanRejoin || bChan.State() != StateLeft {
		t.Errorf("bob removed %#v", sr)
	}
	evs = alice.until(t, aChan, func(e Event) bool { _, ok := e.(OccupantLeft); return ok })
	if ol := evs[len(evs)-1].(OccupantLeft); ol.Occupant.Nick != "bob" || ol.Reason != ReasonKicked {
		t.Errorf("alice sees %#v", ol)
	}
	cond, _, _ = IQError(bob.IQ(t, SelfPingIQ(channel, "bob")))
	if SelfPingResult(cond) != PingNotJoined {
		t.Errorf("self-ping after kick: %q", cond)
	}

	// Bookmarks: publish with extensions, read back.
	bm := Bookmark{JID: group, Name: "Private Group", Autojoin: true, Nick: "alice",
		Extensions: []byte(`<state xmlns="http://myclient.example/bookmark/state" minimized="true"></state>`)}
	alice.IQOK(t, PublishBookmarkIQ(bm))
	bms, err := ParseBookmarks(alice.IQOK(t, FetchBookmarksIQ()))
	if err != nil || len(bms) != 1 {
		t.Fatalf("bookmarks %#v %v", bms, err)
	}
	if got := bms[0]; got.JID != bm.JID || got.Name != bm.Name || !got.Autojoin || got.Nick != "alice" ||
		!bytes.Contains(got.Extensions, []byte(`minimized="true"`)) || !bytes.Contains(got.Extensions, []byte(`http://myclient.example/bookmark/state`)) {
		t.Errorf("bookmark read back %#v (%s)", got, got.Extensions)
	}
	alice.IQOK(t, RetractBookmarkIQ(group))
	if bms, err := ParseBookmarks(alice.IQOK(t, FetchBookmarksIQ())); err != nil || len(bms) != 0 {
		t.Errorf("after retract %#v %v", bms, err)
	}

	// The owner destroys the private group; her Room reports it.
	alice.IQOK(t, DestroyRoom(group, "done here", channel, ""))
	evs = alice.until(t, aGroup, func(e Event) bool { _, ok := e.(RoomDestroyed); return ok })
	if d := evs[len(evs)-1].(RoomDestroyed); d.Reason != "done here" || d.AlternateVenue != channel {
		t.Errorf("destroyed %#v", d)
	}

}
