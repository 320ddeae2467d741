package muc

import (
	"fmt"
	"testing"
	"time"
)

// floodStanzas is a Prosody-style join (occupant-id, caps, xml:lang) of a room with n other occupants:
// n presences, then our self-presence.
func floodStanzas(n int) [][]byte {
	out := make([][]byte, 0, n+1)
	for i := 0; i < n; i++ {
		out = append(out, []byte(fmt.Sprintf(`<presence xmlns="jabber:client" from="big@conference.localhost/user%04d" to="me@localhost/xchat" id="p%d" xml:lang="en"><occupant-id xmlns="urn:xmpp:occupant-id:0" id="Pn/Z0sN66w2CTLPrjnBviWT6kFmiOxLlIV08dN2ISU4="></occupant-id><show xmlns="jabber:client">away</show><x xmlns="http://jabber.org/protocol/muc#user"><item xmlns="http://jabber.org/protocol/muc#user" jid="user%04d@localhost/res" affiliation="member" role="participant"></item></x><c xmlns="http://jabber.org/protocol/caps" hash="sha-1" node="https://example.org" ver="q07IKJEyjvHSyhy//CH0CxmKi8w="></c></presence>`, i, i, i)))
	}
	out = append(out, []byte(`<presence xmlns="jabber:client" from="big@conference.localhost/me" to="me@localhost/xchat"><x xmlns="http://jabber.org/protocol/muc#user"><item xmlns="http://jabber.org/protocol/muc#user" jid="me@localhost/xchat" affiliation="member" role="participant"></item><status xmlns="http://jabber.org/protocol/muc#user" code="110"></status></x></presence>`))
	return out
}

func TestPresenceFlood(t *testing.T) {
	stanzas := floodStanzas(1000)
	r := NewRoom("big@conference.localhost", "me")
	r.SetOwnJID("me@localhost")
	start := time.Now()
	joined, initial := 0, 0
	for _, raw := range stanzas {
		evs, err := r.HandlePresence(raw)
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range evs {
			switch ev := ev.(type) {
			case OccupantJoined:
				if ev.Initial {
					initial++
				}
			case Joined:
				joined++
			}
		}
	}
	elapsed := time.Since(start)
	if initial != 1000 || joined != 1 || r.Len() != 1001 || r.State() != StateJoined {
		t.Fatalf("initial %d joined %d len %d state %v", initial, joined, r.Len(), r.State())
	}
	if o, ok := r.Occupant("user0999"); !ok || o.Show != "away" || o.RealJID != "user0999@localhost/res" {
		t.Errorf("user0999 %#v", o)
	}
	// The speed goal (50 ms for 1,000) is measured by BenchmarkRoomFlood
	// in session, not asserted here: a loaded machine would make it flaky.
	t.Logf("1,000 presences in %v", elapsed)
	// Everyone leaves again.
	for i := 0; i < 1000; i++ {
		evs, _ := r.HandlePresence([]byte(fmt.Sprintf(`<presence from="big@conference.localhost/user%04d" type="unavailable"><x xmlns="http://jabber.org/protocol/muc#user"><item affiliation="member" role="none"/></x></presence>`, i)))
		if len(evs) != 1 {
			t.Fatalf("leave %d: %#v", i, evs)
		}
	}
	if r.Len() != 1 {
		t.Fatalf("len %d", r.Len())
	}
}

// BenchmarkPresenceFlood reports the cost of one room join with 1,000
// occupants (ns/op is per join of 1,001 presences; ns/presence is also
// reported).
func BenchmarkPresenceFlood(b *testing.B) {
	stanzas := floodStanzas(1000)
	b.ReportAllocs()
	for b.Loop() {
		r := NewRoom("big@conference.localhost", "me")
		for _, raw := range stanzas {
			if _, err := r.HandlePresence(raw); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(stanzas)), "ns/presence")
}

// BenchmarkParsePresence compares the hand-written presence decoder with
// the encoding/xml reference on one Prosody-style occupant presence.
func BenchmarkParsePresence(b *testing.B) {
	raw := floodStanzas(1)[0]
	for _, c := range []struct {
		name  string
		parse func([]byte) (*wPresence, error)
	}{{"fast", parsePresence}, {"unmarshal", unmarshalPresence}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.parse(raw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
