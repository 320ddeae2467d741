package muc

import (
	"errors"
	"reflect"
	"testing"
	"time"
)

func TestJoinOrder(t *testing.T) {
	r := NewRoom("coven@chat.shakespeare.lit", "thirdwitch")
	r.SetOwnJID("hag66@shakespeare.lit")
	evs := feed(t, r, "join.xml")

	want := []Event{
		OccupantJoined{Occupant: Occupant{Nick: "firstwitch", Role: RoleModerator, Affiliation: AffOwner, RealJID: "crone1@shakespeare.lit/desktop"}, Initial: true},
		OccupantJoined{Occupant: Occupant{Nick: "secondwitch", Role: RoleModerator, Affiliation: AffAdmin, RealJID: "wiccarocks@shakespeare.lit/laptop", Show: "away", Status: "brewing"}, Initial: true},
		Joined{Self: Occupant{Nick: "thirdwitch", Role: RoleParticipant, Affiliation: AffMember, RealJID: "hag66@shakespeare.lit/pda"}},
		GroupMessage{ID: "162BEBB1", From: "firstwitch", RealJID: "", Body: "Thrice the brinded cat hath mew'd.",
			StanzaID: "5f3dbc5e-e1d3-4077-a492-693f3769c7ad", Delay: time.Date(2002, 10, 13, 23, 58, 37, 0, time.UTC)},
		GroupMessage{ID: "90057840", From: "secondwitch", Body: "Thrice and once the hedge-pig whined.",
			Delay: time.Date(2002, 10, 13, 23, 58, 43, 500000000, time.UTC)},
		Subject{Text: "Fire Burn and Cauldron Bubble!", By: "secondwitch", Delay: time.Date(1610, 4, 20, 0, 0, 0, 0, time.UTC)},
		GroupMessage{ID: "live1", From: "firstwitch", RealJID: "crone1@shakespeare.lit/desktop", Body: "Harpier cries 'Tis time, 'tis time.", OriginID: "o-live1", StanzaID: "sid-live1"},
		OccupantJoined{Occupant: Occupant{Nick: "fourthwitch", Role: RoleParticipant, Affiliation: AffNone, RealJID: "hecate@shakespeare.lit/broom"}},
		OccupantChanged{
			Old: Occupant{Nick: "secondwitch", Role: RoleModerator, Affiliation: AffAdmin, RealJID: "wiccarocks@shakespeare.lit/laptop", Show: "away", Status: "brewing"},
			New: Occupant{Nick: "secondwitch", Role: RoleModerator, Affiliation: AffAdmin, RealJID: "wiccarocks@shakespeare.lit/laptop"},
		},
		// ghost's unavailable is ignored: never seen.
		OccupantLeft{Occupant: Occupant{Nick: "fourthwitch", Role: RoleParticipant, Affiliation: AffNone, RealJID: "hecate@shakespeare.lit/broom"}, Reason: ReasonLeft},
		GroupMessage{ID: "mine", From: "thirdwitch", RealJID: "hag66@shakespeare.lit/pda", Body: "By the pricking of my thumbs", IsSelf: true},
	}
	if len(evs) != len(want) {
		t.Fatalf("got %d events, want %d:\n%#v", len(evs), len(want), evs)
	}
	for i := range want {
		if !reflect.DeepEqual(evs[i], want[i]) {
			t.Errorf("event %d:\n got %#v\nwant %#v", i, evs[i], want[i])
		}
	}
	if r.State() != StateJoined || r.Nick() != "thirdwitch" || r.Len() != 3 {
		t.Errorf("state %v nick %q len %d", r.State(), r.Nick(), r.Len())
	}
	if f := r.Flags(); !f.NonAnonymous || !f.Logging || f.Created {
		t.Errorf("flags %+v", f)
	}
	if s, by := r.Subject(); s != "Fire Burn and Cauldron Bubble!" || by != "secondwitch" {
		t.Errorf("subject %q by %q", s, by)
	}
	var nicks []string
	for _, o := range r.Occupants() {
		nicks = append(nicks, o.Nick)
	}
	if !reflect.DeepEqual(nicks, []string{"firstwitch", "secondwitch", "thirdwitch"}) {
		t.Errorf("occupants %v", nicks)
	}
}

func TestJoinProsodyCreated(t *testing.T) {
	r := NewRoom("room@conference.localhost", "alice")
	evs := feed(t, r, "join_prosody_created.xml")
	if len(evs) != 3 {
		t.Fatalf("events %#v", evs)
	}
	j, ok := evs[0].(Joined)
	if !ok || !j.Created || j.NickRewritten || j.Self.Affiliation != AffOwner || j.Self.Role != RoleModerator {
		t.Errorf("joined %#v", evs[0])
	}
	if s, ok := evs[1].(Subject); !ok || s.Text != "" || s.By != "" {
		t.Errorf("subject %#v", evs[1])
	}
	if c, ok := evs[2].(ConfigChanged); !ok || !reflect.DeepEqual(c.Codes, []int{104, 172}) {
		t.Errorf("config %#v", evs[2])
	}
	if !r.Flags().NonAnonymous || !r.Flags().Created {
		t.Errorf("flags %+v", r.Flags())
	}
}

func TestJoinRewrittenNick(t *testing.T) {
	r := NewRoom("coven@chat.shakespeare.lit", "OldHag")
	evs := feed(t, r, "join_rewritten.xml")
	j, ok := evs[0].(Joined)
	if !ok || !j.NickRewritten || j.Self.Nick != "oldhag" {
		t.Fatalf("%#v", evs)
	}
	if r.Nick() != "oldhag" || r.Len() != 1 {
		t.Errorf("nick %q len %d", r.Nick(), r.Len())
	}
}

func TestSelfPresenceFallbackWithout110(t *testing.T) {
	r := NewRoom("room@muc.example", "me")
	r.SetOwnJID("me@example")
	// Another user's presence with our nick is not self when its real JID
	// is somebody else's.
	other := []byte(`<presence from="room@muc.example/me"><x xmlns="http://jabber.org/protocol/muc#user"><item affiliation="none" role="participant" jid="eve@example/x"/></x></presence>`)
	evs, err := r.HandlePresence(other)
	if err != nil || len(evs) != 1 {
		t.Fatal(evs, err)
	}
	if _, ok := evs[0].(OccupantJoined); !ok || r.State() != StateJoining {
		t.Fatalf("%#v state %v", evs[0], r.State())
	}
	r = NewRoom("room@muc.example", "me")
	evs, err = r.HandlePresence([]byte(`<presence from="room@muc.example/me"><x xmlns="http://jabber.org/protocol/muc#user"><item affiliation="member" role="participant"/></x></presence>`))
	if err != nil || len(evs) != 1 {
		t.Fatal(evs, err)
	}
	if _, ok := evs[0].(Joined); !ok || r.State() != StateJoined {
		t.Fatalf("%#v state %v", evs[0], r.State())
	}
}

func TestNickConflict(t *testing.T) {
	r := NewRoom("coven@chat.shakespeare.lit", "thirdwitch")
	evs := feed(t, r, "nick_conflict.xml")
	want := []Event{NickConflict{Nick: "thirdwitch", Suggested: "thirdwitch_2", Joining: true}}
	if !reflect.DeepEqual(evs, want) || r.State() != StateLeft {
		t.Fatalf("got %#v state %v", evs, r.State())
	}
	// Retry with the suggestion; the join goes through.
	p := r.Join("thirdwitch_2", JoinOptions{})
	if string(p) != `<presence to="coven@chat.shakespeare.lit/thirdwitch_2"><x xmlns="http://jabber.org/protocol/muc"><history maxstanzas="0"/></x></presence>` {
		t.Errorf("join %s", p)
	}
	if r.State() != StateJoining {
		t.Fatal(r.State())
	}
	evs, err := r.HandlePresence([]byte(`<presence from="coven@chat.shakespeare.lit/thirdwitch_2"><x xmlns="http://jabber.org/protocol/muc#user"><item affiliation="none" role="participant"/><status code="110"/></x></presence>`))
	if err != nil || len(evs) != 1 {
		t.Fatal(evs, err)
	}
	if _, ok := evs[0].(Joined); !ok {
		t.Fatalf("%#v", evs)
	}
}

func TestNickChangeConflictWhileJoined(t *testing.T) {
	r := joinedRoom(t)
	r.ChangeNick("Fluellen")
	evs, err := r.HandlePresence([]byte(`<presence from="harfleur@chat.shakespeare.lit/Fluellen" type="error"><x xmlns="http://jabber.org/protocol/muc"/><error type="cancel"><conflict xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/></error></presence>`))
	if err != nil {
		t.Fatal(err)
	}
	want := []Event{NickConflict{Nick: "Fluellen", Suggested: "Fluellen_2"}}
	if !reflect.DeepEqual(evs, want) || r.State() != StateJoined || r.Nick() != "pistol" {
		t.Fatalf("%#v %v %q", evs, r.State(), r.Nick())
	}
	r.ChangeNick("Pistol")
	evs, _ = r.HandlePresence([]byte(`<presence from="harfleur@chat.shakespeare.lit/Pistol" type="error"><error type="cancel"><not-acceptable xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/></error></presence>`))
	if !reflect.DeepEqual(evs, []Event{PresenceError{Condition: "not-acceptable"}}) {
		t.Fatalf("%#v", evs)
	}
}

func TestJoinErrors(t *testing.T) {
	for _, c := range []string{"registration-required", "forbidden", "not-authorized", "item-not-found", "service-unavailable"} {
		r := NewRoom("coven@chat.shakespeare.lit", "thirdwitch")
		evs := feed(t, r, "join_error_"+c+".xml")
		if len(evs) != 1 {
			t.Fatalf("%s: %#v", c, evs)
		}
		je, ok := evs[0].(JoinError)
		if !ok || je.Condition != c || je.Text != "refused: "+c || r.State() != StateLeft {
			t.Errorf("%s: %#v state %v", c, evs[0], r.State())
		}
		if je.Message == "" || je.Message == joinErrorMessage("other", "") {
			t.Errorf("%s: no specific sentence: %q", c, je.Message)
		}
	}
	if m := joinErrorMessage("forbidden", ""); m != "You are banned from this room." {
		t.Errorf("forbidden: %q", m)
	}
}

// joinedRoom is harfleur@chat.shakespeare.lit joined as pistol with
// Fluellen and gower present.
func joinedRoom(t *testing.T) *Room {
	t.Helper()
	r := NewRoom("harfleur@chat.shakespeare.lit", "pistol")
	r.SetOwnJID("pistol@shakespeare.lit")
	raw := fixture(t, "kick.xml")[:3]
	for _, p := range raw {
		if _, err := r.HandlePresence(p); err != nil {
			t.Fatal(err)
		}
	}
	if r.State() != StateJoined || r.Len() != 3 {
		t.Fatalf("setup: %v %d", r.State(), r.Len())
	}
	return r
}

func TestRemovals(t *testing.T) {
	cases := []struct {
		file   string
		reason RemovalReason
		rejoin bool
	}{
		{"kick.xml", ReasonKicked, true},
		{"ban.xml", ReasonBanned, false},
		{"affiliation_removal.xml", ReasonAffiliationChanged, false},
		{"membersonly_removal.xml", ReasonMembersOnly, false},
		{"shutdown.xml", ReasonShutdown, true},
	}
	for _, c := range cases {
		r := NewRoom("harfleur@chat.shakespeare.lit", "pistol")
		evs := feed(t, r, c.file)
		// Fluellen, gower, Joined, gower removed, we removed; the stray
		// presence after it yields nothing.
		if len(evs) != 5 {
			t.Fatalf("%s: %#v", c.file, evs)
		}
		left, ok := evs[3].(OccupantLeft)
		if !ok || left.Occupant.Nick != "gower" || left.Reason != c.reason || left.Actor != "Fluellen" || left.ReasonText != "Gower too" {
			t.Errorf("%s: %#v", c.file, evs[3])
		}
		want := SelfRemoved{Reason: c.reason, Actor: "Fluellen", ReasonText: "Avaunt, you cullion!", CanRejoin: c.rejoin}
		if !reflect.DeepEqual(evs[4], want) {
			t.Errorf("%s:\n got %#v\nwant %#v", c.file, evs[4], want)
		}
		if r.State() != StateLeft || r.Len() != 0 {
			t.Errorf("%s: state %v len %d", c.file, r.State(), r.Len())
		}
	}
}

func TestError333WinsOver307(t *testing.T) {
	r := joinedRoom(t)
	evs, _ := r.HandlePresence([]byte(`<presence from="harfleur@chat.shakespeare.lit/pistol" type="unavailable"><x xmlns="http://jabber.org/protocol/muc#user"><item affiliation="none" role="none"/><status code="110"/><status code="307"/><status code="333"/></x></presence>`))
	if !reflect.DeepEqual(evs, []Event{SelfRemoved{Reason: ReasonError, CanRejoin: true}}) {
		t.Fatalf("%#v", evs)
	}
}

func TestDestroy(t *testing.T) {
	r := NewRoom("harfleur@chat.shakespeare.lit", "pistol")
	evs := feed(t, r, "destroy.xml")
	want := RoomDestroyed{Reason: "Macbeth doth come.", AlternateVenue: "coven@chat.shakespeare.lit", Password: "cauldronburn"}
	if len(evs) != 4 || !reflect.DeepEqual(evs[3], want) || r.State() != StateLeft {
		t.Fatalf("%#v", evs)
	}
}

func TestLeave(t *testing.T) {
	r := joinedRoom(t)
	if p := string(r.Leave("bye")); p != `<presence to="harfleur@chat.shakespeare.lit/pistol" type="unavailable"><status>bye</status></presence>` {
		t.Errorf("leave %s", p)
	}
	evs, _ := r.HandlePresence([]byte(`<presence from="harfleur@chat.shakespeare.lit/pistol" type="unavailable"><x xmlns="http://jabber.org/protocol/muc#user"><item affiliation="member" role="none"/><status code="110"/></x></presence>`))
	if !reflect.DeepEqual(evs, []Event{SelfRemoved{Reason: ReasonLeft, CanRejoin: true}}) || r.State() != StateLeft {
		t.Fatalf("%#v", evs)
	}
}

func TestNickChange(t *testing.T) {
	r := NewRoom("harfleur@chat.shakespeare.lit", "pistol")
	r.SetOwnJID("pistol@shakespeare.lit")
	evs := feed(t, r, "nick_change.xml")
	want := []Event{
		NickChanged{Old: "gower", New: "gower2"},
		// gower2's presence repeats the same occupant: nothing new.
		NickChanged{Old: "pistol", New: "ancient", Self: true},
		GroupMessage{ID: "m1", From: "ancient", Body: "Pistol speaks, newly named", IsSelf: true},
	}
	if !reflect.DeepEqual(evs[3:], want) {
		t.Fatalf("got %#v", evs[3:])
	}
	if r.Nick() != "ancient" || r.Len() != 3 {
		t.Errorf("nick %q len %d", r.Nick(), r.Len())
	}
	for _, n := range []string{"gower", "pistol"} {
		if _, ok := r.Occupant(n); ok {
			t.Errorf("stale occupant %s", n)
		}
	}
	if o, ok := r.Occupant("gower2"); !ok || o.Affiliation != AffMember {
		t.Errorf("gower2 %#v", o)
	}
}

func TestSubjectChange(t *testing.T) {
	r := NewRoom("harfleur@chat.shakespeare.lit", "pistol")
	evs := feed(t, r, "subject_change.xml")[3:]
	want := []Event{
		Subject{Text: "Once more unto the breach!", By: "Fluellen"},
		GroupMessage{ID: "lh2b375", From: "Fluellen", Body: "a body makes it a message"},
		Subject{Text: "", By: "Fluellen"},
		ConfigChanged{Codes: []int{170}},
		RoomNotice{Body: "This room is now logged", Codes: []int{170}},
	}
	if !reflect.DeepEqual(evs, want) {
		t.Fatalf("got %#v", evs)
	}
	if s, by := r.Subject(); s != "" || by != "Fluellen" {
		t.Errorf("subject %q %q", s, by)
	}
	if !r.Flags().Logging {
		t.Error("170 not applied")
	}
}

func TestPrivateMessage(t *testing.T) {
	r := NewRoom("harfleur@chat.shakespeare.lit", "pistol")
	evs := feed(t, r, "pm.xml")[3:]
	want := []Event{PrivateMessage{ID: "hgn27af1", From: "Fluellen", Body: "I'll be more careful next time.", Type: "chat"}}
	if !reflect.DeepEqual(evs, want) {
		t.Fatalf("got %#v", evs)
	}
}

func TestInvites(t *testing.T) {
	raw := fixture(t, "invite_mediated.xml")[0]
	inv, ok, err := ParseInvite(raw)
	want := Invite{Room: "coven@chat.shakespeare.lit", From: "crone1@shakespeare.lit/desktop", Reason: "Hey Hecate, this is the place for all good witches!", Password: "cauldronburn"}
	if err != nil || !ok || inv != want {
		t.Fatalf("mediated: %#v %v %v", inv, ok, err)
	}
	// The same through a joined room.
	r := NewRoom("coven@chat.shakespeare.lit", "x")
	evs, err := r.HandleMessage(raw)
	if err != nil || !reflect.DeepEqual(evs, []Event{want}) {
		t.Fatalf("room: %#v %v", evs, err)
	}

	inv, ok, err = ParseInvite(fixture(t, "invite_direct.xml")[0])
	want = Invite{Room: "darkcave@macbeth.shakespeare.lit", From: "crone1@shakespeare.lit/desktop", Reason: "Hey Hecate, this is the place for all good witches!", Password: "cauldronburn", Direct: true}
	if err != nil || !ok || inv != want {
		t.Fatalf("direct: %#v %v %v", inv, ok, err)
	}

	// An "invite" from an occupant JID is not one the room sent.
	_, ok, _ = ParseInvite([]byte(`<message from="coven@chat.shakespeare.lit/eve"><x xmlns="http://jabber.org/protocol/muc#user"><invite from="crone1@shakespeare.lit"/></x></message>`))
	if ok {
		t.Error("invite from occupant JID accepted")
	}
	_, ok, _ = ParseInvite([]byte(`<message from="a@b"><body>hi</body></message>`))
	if ok {
		t.Error("plain message taken for an invite")
	}

	evs, err = r.HandleMessage(fixture(t, "decline.xml")[0])
	if err != nil || !reflect.DeepEqual(evs, []Event{DeclinedInvite{From: "hecate@shakespeare.lit", Reason: "Sorry, I'm too busy right now."}}) {
		t.Fatalf("decline: %#v %v", evs, err)
	}
}

func TestForgeriesRejected(t *testing.T) {
	r := NewRoom("coven@chat.shakespeare.lit", "thirdwitch")
	r.SetOwnJID("hag66@shakespeare.lit")
	wantErr := []error{ErrForeign, ErrFromSelf, ErrFromSelf, ErrForeign, ErrForeign}
	for i, raw := range fixture(t, "forged.xml") {
		var err error
		var evs []Event
		if raw[1] == 'p' {
			evs, err = r.HandlePresence(raw)
		} else {
			evs, err = r.HandleMessage(raw)
		}
		if !errors.Is(err, wantErr[i]) || evs != nil {
			t.Errorf("stanza %d: err %v events %#v", i, err, evs)
		}
	}
	if r.State() != StateJoining || r.Len() != 0 {
		t.Errorf("forgery changed state: %v %d", r.State(), r.Len())
	}
}

func TestOriginIDMarksSelf(t *testing.T) {
	r := joinedRoom(t)
	r.TrackOriginID("abc")
	// After a nick change elsewhere, the nick no longer matches, but the
	// origin-id does (once).
	msg := []byte(`<message from="harfleur@chat.shakespeare.lit/other" type="groupchat"><body>x</body><origin-id xmlns="urn:xmpp:sid:0" id="abc"/></message>`)
	evs, _ := r.HandleMessage(msg)
	if g := evs[0].(GroupMessage); !g.IsSelf || g.OriginID != "abc" {
		t.Fatalf("%#v", g)
	}
	evs, _ = r.HandleMessage(msg)
	if g := evs[0].(GroupMessage); g.IsSelf {
		t.Fatal("origin-id matched twice")
	}
}

func TestMessageErrorAndMalformed(t *testing.T) {
	r := joinedRoom(t)
	evs, err := r.HandleMessage([]byte(`<message from="harfleur@chat.shakespeare.lit" type="error" id="m9"><error type="cancel"><not-acceptable xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/><text xmlns="urn:ietf:params:xml:ns:xmpp-stanzas">You are not currently connected to this chat</text></error></message>`))
	if err != nil || !reflect.DeepEqual(evs, []Event{MessageError{ID: "m9", Condition: "not-acceptable", Text: "You are not currently connected to this chat"}}) {
		t.Fatalf("%#v %v", evs, err)
	}
	if _, err := r.HandlePresence([]byte(`<presence from=`)); !errors.Is(err, ErrMalformed) {
		t.Fatal(err)
	}
}

func TestNextNick(t *testing.T) {
	for in, want := range map[string]string{
		"alice": "alice_2", "alice_2": "alice_3", "alice_9": "alice_10",
		"bob_01": "bob_01_2", "x_": "x__2", "_": "__2", "r_+3": "r_+3_2", "a_1": "a_1_2",
	} {
		if got := NextNick(in); got != want {
			t.Errorf("NextNick(%q) = %q, want %q", in, got, want)
		}
	}
}
