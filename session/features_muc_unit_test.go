package session

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"xchat/muc"
	"xchat/store"
)

// TestRoomAuthor: who may correct or retract a room message.
func TestRoomAuthor(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "x.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	const me, roomJID = "me@example.org", "room@muc.example.org"
	c := &Client{st: st, acct: me}
	add := func(m store.Message) store.Message {
		m.Account, m.Peer, m.Kind, m.Type = me, roomJID, store.KindGroupchat, "groupchat"
		if _, err := st.AddMessage(ctx, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	joinedAt := time.Now().Add(-time.Minute).Truncate(time.Millisecond)
	withReal := add(store.Message{Sender: "bob", SenderFull: "bob@example.org/phone", Body: "a", OriginID: "1"})
	anon := add(store.Message{Sender: "carol", Body: "b", OriginID: "2", Timestamp: time.Now(), Received: time.Now()})
	old := add(store.Message{Sender: "carol", Body: "c", OriginID: "3", Timestamp: joinedAt.Add(-time.Hour), Received: time.Now()})
	withOcc := add(store.Message{Sender: "dave", Body: "d", OriginID: "4"})
	if err := st.SetOccupantID(ctx, withOcc.ID, "occ-dave"); err != nil {
		t.Fatal(err)
	}
	ours := add(store.Message{Sender: "me", Direction: store.Outgoing, SenderFull: me, Body: "e", OriginID: "5", State: store.StateDelivered})

	rm := &room{r: muc.NewRoom(roomJID, "me")}
	rm.feat.since = map[string]time.Time{"carol": joinedAt}
	occID := &room{r: muc.NewRoom(roomJID, "me"), info: muc.RoomInfo{OccupantID: true}}

	cases := []struct {
		name string
		rm   *room
		orig store.Message
		nick string
		occ  muc.Occupant
		want bool
	}{
		{"same real JID, other resource", rm, withReal, "bob", muc.Occupant{RealJID: "bob@example.org/laptop"}, true},
		{"same nick, other real JID", rm, withReal, "bob", muc.Occupant{RealJID: "eve@example.org/x"}, false},
		{"same nick, real JID hidden now", rm, withReal, "bob", muc.Occupant{}, false},
		{"another nick", rm, withReal, "eve", muc.Occupant{RealJID: "bob@example.org/phone"}, false},
		{"anonymous, present since before the message", rm, anon, "carol", muc.Occupant{}, true},
		{"anonymous, message from before the join", rm, old, "carol", muc.Occupant{}, false},
		{"anonymous, not seen joining", rm, withOcc, "dave", muc.Occupant{}, false},
		{"occupant id matches", occID, withOcc, "dave", muc.Occupant{OccupantID: "occ-dave"}, true},
		{"occupant id differs", occID, withOcc, "dave", muc.Occupant{OccupantID: "occ-eve"}, false},
		{"occupant id unknown for the message", occID, anon, "carol", muc.Occupant{OccupantID: "occ-carol"}, false},
		{"ours, from our nick", rm, ours, "me", muc.Occupant{RealJID: me + "/laptop"}, true},
		{"ours, from another nick", rm, ours, "mallory", muc.Occupant{RealJID: me + "/x"}, false},
		{"ours, our nick with a foreign JID", rm, ours, "me", muc.Occupant{RealJID: "eve@example.org/x"}, false},
	}
	for _, tc := range cases {
		if got := c.roomAuthor(ctx, tc.rm, tc.orig, tc.nick, tc.occ); got != tc.want {
			t.Errorf("%s: roomAuthor = %v, want %v", tc.name, got, tc.want)
		}
	}
}
