package muc

import (
	"encoding/xml"
	"errors"
	"reflect"
	"testing"
	"time"
)

func TestBuilders(t *testing.T) {
	room := "coven@chat.shakespeare.lit"
	cases := []struct {
		name string
		got  []byte
		want string
	}{
		{"join none", JoinPresence(room, "thirdwitch", JoinOptions{}),
			`<presence to="coven@chat.shakespeare.lit/thirdwitch"><x xmlns="http://jabber.org/protocol/muc"><history maxstanzas="0"/></x></presence>`},
		{"join default history with password", JoinPresence(room+"/ignored", "thirdwitch", JoinOptions{Password: "cauldron<burn>", MaxStanzas: HistoryDefault}),
			`<presence to="coven@chat.shakespeare.lit/thirdwitch"><x xmlns="http://jabber.org/protocol/muc"><password>cauldron&lt;burn&gt;</password></x></presence>`},
		{"join 20 since", JoinPresence(room, "thirdwitch", JoinOptions{MaxStanzas: 20, Since: time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC), Show: "away"}),
			`<presence to="coven@chat.shakespeare.lit/thirdwitch"><show>away</show><x xmlns="http://jabber.org/protocol/muc"><history maxstanzas="20" since="1970-01-01T00:00:00Z"/></x></presence>`},
		{"leave", LeavePresence(room, "thirdwitch", ""),
			`<presence to="coven@chat.shakespeare.lit/thirdwitch" type="unavailable"></presence>`},
		{"nick", NickChangePresence(room, `o"ld'hag`),
			`<presence to="coven@chat.shakespeare.lit/o&#34;ld&#39;hag"/>`},
		{"subject", SubjectMessage(room, "Fire Burn & Cauldron Bubble!"),
			`<message to="coven@chat.shakespeare.lit" type="groupchat"><subject>Fire Burn &amp; Cauldron Bubble!</subject></message>`},
		{"groupchat", GroupChatMessage(room, "m1", "</body><evil/>", "o1"),
			`<message to="coven@chat.shakespeare.lit" type="groupchat" id="m1"><body>&lt;/body&gt;&lt;evil/&gt;</body><origin-id xmlns="urn:xmpp:sid:0" id="o1"/></message>`},
		{"pm", PrivateMessageStanza(room, "firstwitch", "p1", "psst"),
			`<message to="coven@chat.shakespeare.lit/firstwitch" type="chat" id="p1"><body>psst</body><x xmlns="http://jabber.org/protocol/muc#user"/></message>`},
		{"mediated invite", MediatedInvite(room, "hecate@shakespeare.lit", "Hey Hecate"),
			`<message to="coven@chat.shakespeare.lit"><x xmlns="http://jabber.org/protocol/muc#user"><invite to="hecate@shakespeare.lit"><reason>Hey Hecate</reason></invite></x></message>`},
		{"direct invite", DirectInvite("hecate@shakespeare.lit", "darkcave@macbeth.shakespeare.lit", "Hey Hecate", "cauldronburn"),
			`<message to="hecate@shakespeare.lit"><x xmlns="jabber:x:conference" jid="darkcave@macbeth.shakespeare.lit" reason="Hey Hecate" password="cauldronburn"/></message>`},
		{"decline", DeclineInvite(room, "crone1@shakespeare.lit", ""),
			`<message to="coven@chat.shakespeare.lit"><x xmlns="http://jabber.org/protocol/muc#user"><decline to="crone1@shakespeare.lit"></decline></x></message>`},
		{"kick", Kick("harfleur@chat.shakespeare.lit", "pistol", "Avaunt, you cullion!"),
			`<iq to="harfleur@chat.shakespeare.lit" type="set"><query xmlns="http://jabber.org/protocol/muc#admin"><item nick="pistol" role="none"><reason>Avaunt, you cullion!</reason></item></query></iq>`},
		{"voice", Voice(room, "thirdwitch", ""),
			`<iq to="coven@chat.shakespeare.lit" type="set"><query xmlns="http://jabber.org/protocol/muc#admin"><item nick="thirdwitch" role="participant"></item></query></iq>`},
		{"devoice", Devoice(room, "thirdwitch", ""),
			`<iq to="coven@chat.shakespeare.lit" type="set"><query xmlns="http://jabber.org/protocol/muc#admin"><item nick="thirdwitch" role="visitor"></item></query></iq>`},
		{"ban", Ban("southampton@chat.shakespeare.lit", "earlofcambridge@shakespeare.lit/stabber", "Treason"),
			`<iq to="southampton@chat.shakespeare.lit" type="set"><query xmlns="http://jabber.org/protocol/muc#admin"><item affiliation="outcast" jid="earlofcambridge@shakespeare.lit"><reason>Treason</reason></item></query></iq>`},
		{"member", SetAffiliation(room, "hag66@shakespeare.lit", AffMember, ""),
			`<iq to="coven@chat.shakespeare.lit" type="set"><query xmlns="http://jabber.org/protocol/muc#admin"><item affiliation="member" jid="hag66@shakespeare.lit"></item></query></iq>`},
		{"list", AffiliationListQuery(room, AffMember),
			`<iq to="coven@chat.shakespeare.lit" type="get"><query xmlns="http://jabber.org/protocol/muc#admin"><item affiliation="member"/></query></iq>`},
		{"destroy", DestroyRoom("heath@chat.shakespeare.lit", "Macbeth doth come.", room, ""),
			`<iq to="heath@chat.shakespeare.lit" type="set"><query xmlns="http://jabber.org/protocol/muc#owner"><destroy jid="coven@chat.shakespeare.lit"><reason>Macbeth doth come.</reason></destroy></query></iq>`},
		{"config get", ConfigFormRequest(room),
			`<iq to="coven@chat.shakespeare.lit" type="get"><query xmlns="http://jabber.org/protocol/muc#owner"/></iq>`},
		{"instant", InstantRoom(room),
			`<iq to="coven@chat.shakespeare.lit" type="set"><query xmlns="http://jabber.org/protocol/muc#owner"><x xmlns="jabber:x:data" type="submit"/></query></iq>`},
		{"self-ping", SelfPingIQ("characters@chat.shakespeare.lit", "JuliC"),
			`<iq to="characters@chat.shakespeare.lit/JuliC" type="get"><ping xmlns="urn:xmpp:ping"/></iq>`},
		{"disco info", DiscoInfoIQ("chat.shakespeare.lit"),
			`<iq to="chat.shakespeare.lit" type="get"><query xmlns="http://jabber.org/protocol/disco#info"/></iq>`},
	}
	for _, c := range cases {
		if string(c.got) != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.name, c.got, c.want)
		}
		if err := xml.Unmarshal(c.got, new(struct{})); err != nil {
			t.Errorf("%s: not well-formed: %v", c.name, err)
		}
	}
}

func TestAffiliationList(t *testing.T) {
	got, err := ParseAffiliationList(fixture(t, "affiliation_list.xml")[0])
	want := []AffiliationItem{
		{JID: "hag66@shakespeare.lit", Nick: "thirdwitch", Affiliation: AffMember},
		{JID: "hecate@shakespeare.lit", Affiliation: AffMember},
	}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("%#v %v", got, err)
	}
	_, err = ParseAffiliationList([]byte(`<iq type="error"><error type="auth"><forbidden xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/></error></iq>`))
	var iqErr *IQErr
	if !errors.As(err, &iqErr) || iqErr.Condition != "forbidden" {
		t.Fatalf("error answer: %v", err)
	}
}

func TestSelfPingResult(t *testing.T) {
	for cond, want := range map[string]PingResult{
		"": PingJoined, "service-unavailable": PingJoined, "feature-not-implemented": PingJoined,
		"item-not-found": PingJoined, "remote-server-not-found": PingUnknown, "remote-server-timeout": PingUnknown,
		"not-acceptable": PingNotJoined, "not-allowed": PingNotJoined, "bad-request": PingNotJoined,
	} {
		if got := SelfPingResult(cond); got != want {
			t.Errorf("%q: %v, want %v", cond, got, want)
		}
	}
	cond, text, err := IQError([]byte(`<iq from="characters@chat.shakespeare.lit/JuliC" id="s2c1" type="error"><error type="cancel" by="characters@chat.shakespeare.lit"><not-acceptable xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/></error></iq>`))
	if err != nil || cond != "not-acceptable" || text != "" || SelfPingResult(cond) != PingNotJoined {
		t.Fatal(cond, text, err)
	}
}
