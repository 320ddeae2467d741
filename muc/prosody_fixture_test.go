package muc

import (
	"reflect"
	"testing"
)

// Replays of stanzas Prosody 0.12.3 really sent (see the fixture headers).

func TestProsodyChannelOwnerView(t *testing.T) {
	r := NewRoom("public-channel@conference.localhost", "alice")
	r.SetOwnJID("alice@localhost")
	evs := feed(t, r, "prosody_channel_alice.xml")
	bob := Occupant{Nick: "bob", Role: RoleParticipant, Affiliation: AffNone, RealJID: "bob@localhost/9tG8KS0Tyqor",
		OccupantID: "fAUh9NP46fXMh2NlEdtaRi1Lh2tnHQ0VrcrinQUGTZY="}
	want := []Event{
		Joined{Self: Occupant{Nick: "alice", Role: RoleModerator, Affiliation: AffOwner, RealJID: "alice@localhost/XMwKIs_lQikF",
			OccupantID: "Pn/Z0sN66w2CTLPrjnBviWT6kFmiOxLlIV08dN2ISU4="}, Created: true},
		Subject{},
		ConfigChanged{Codes: []int{170, 104}},
		OccupantJoined{Occupant: bob},
		GroupMessage{ID: "m1", From: "bob", RealJID: "bob@localhost/9tG8KS0Tyqor", Body: "hello <all> & you", OriginID: "origin-1",
			OccupantID: bob.OccupantID, StanzaID: "WNpU8AHhH9LYM5cux2zgqxhv"},
		OccupantLeft{Occupant: bob, Reason: ReasonKicked, Actor: "alice", ReasonText: "out you go"},
	}
	if !reflect.DeepEqual(evs, want) {
		t.Fatalf("got  %#v\nwant %#v", evs, want)
	}
	if !r.Flags().Logging || r.Len() != 1 {
		t.Errorf("flags %+v len %d", r.Flags(), r.Len())
	}
}

func TestProsodyChannelKickedView(t *testing.T) {
	r := NewRoom("public-channel@conference.localhost", "bob")
	r.SetOwnJID("bob@localhost")
	evs := feed(t, r, "prosody_channel_bob.xml")
	bob := Occupant{Nick: "bob", Role: RoleParticipant, Affiliation: AffNone, RealJID: "bob@localhost/9tG8KS0Tyqor",
		OccupantID: "fAUh9NP46fXMh2NlEdtaRi1Lh2tnHQ0VrcrinQUGTZY="}
	want := []Event{
		OccupantJoined{Occupant: Occupant{Nick: "alice", Role: RoleModerator, Affiliation: AffOwner,
			OccupantID: "Pn/Z0sN66w2CTLPrjnBviWT6kFmiOxLlIV08dN2ISU4="}, Initial: true},
		Joined{Self: bob},
		Subject{},
		GroupMessage{ID: "m1", From: "bob", RealJID: "bob@localhost/9tG8KS0Tyqor", Body: "hello <all> & you", OriginID: "origin-1",
			OccupantID: bob.OccupantID, StanzaID: "WNpU8AHhH9LYM5cux2zgqxhv", IsSelf: true},
		SelfRemoved{Reason: ReasonKicked, Actor: "alice", ReasonText: "out you go", CanRejoin: true},
	}
	if !reflect.DeepEqual(evs, want) {
		t.Fatalf("got  %#v\nwant %#v", evs, want)
	}
	if r.Flags().NonAnonymous || r.State() != StateLeft {
		t.Errorf("flags %+v state %v", r.Flags(), r.State())
	}
}

func TestProsodyDestroyAndMembersOnly(t *testing.T) {
	r := NewRoom("private-group-unicode@conference.localhost", "alice")
	evs := feed(t, r, "prosody_destroy.xml")
	if len(evs) != 2 || !reflect.DeepEqual(evs[1], RoomDestroyed{Reason: "done here", AlternateVenue: "public-channel@conference.localhost"}) {
		t.Fatalf("%#v", evs)
	}
	r = NewRoom("private-group-unicode@conference.localhost", "bob")
	evs = feed(t, r, "prosody_membersonly.xml")
	if len(evs) != 1 || evs[0].(JoinError).Condition != "registration-required" || r.State() != StateLeft {
		t.Fatalf("%#v", evs)
	}
}
