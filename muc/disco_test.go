package muc

import (
	"errors"
	"reflect"
	"testing"
)

func TestParseRoomInfo(t *testing.T) {
	info, err := ParseRoomInfo(fixture(t, "room_info.xml")[0])
	if err != nil {
		t.Fatal(err)
	}
	want := RoomInfo{
		Name: "A Dark Cave", Description: "The place for all good witches!", Occupants: 3,
		PasswordProtected: true, Hidden: true, Temporary: true, Open: true, NonAnonymous: true,
		MAM: true, SelfPingOptimized: true,
		Features: []string{"http://jabber.org/protocol/muc", "muc_passwordprotected", "muc_hidden", "muc_temporary",
			"muc_open", "muc_unmoderated", "muc_nonanonymous", "urn:xmpp:mam:2", "http://jabber.org/protocol/muc#self-ping-optimization"},
	}
	if !reflect.DeepEqual(info, want) {
		t.Fatalf("got  %+v\nwant %+v", info, want)
	}
}

func TestFindMUCService(t *testing.T) {
	items, err := ParseDiscoItems([]byte(`<iq type="result"><query xmlns="http://jabber.org/protocol/disco#items"><item jid="pubsub.shakespeare.lit"/><item jid="broken.shakespeare.lit"/><item jid="shakespeare.lit" node="n"/><item jid="chat.shakespeare.lit" name="Chat"/></query></iq>`))
	if err != nil || len(items) != 4 {
		t.Fatal(items, err)
	}
	service := fixture(t, "service_info.xml")[0]
	room := fixture(t, "room_info.xml")[0]
	answers := map[string][]byte{
		"pubsub.shakespeare.lit": []byte(`<iq type="result"><query xmlns="http://jabber.org/protocol/disco#info"><identity category="pubsub" type="service"/></query></iq>`),
		"chat.shakespeare.lit":   service,
	}
	var asked []string
	query := func(j string) ([]byte, error) {
		asked = append(asked, j)
		if a, ok := answers[j]; ok {
			return a, nil
		}
		return nil, errors.New("timeout")
	}
	got, err := FindMUCService(items, query)
	if err != nil || got != "chat.shakespeare.lit" {
		t.Fatalf("%q %v", got, err)
	}
	if !reflect.DeepEqual(asked, []string{"pubsub.shakespeare.lit", "broken.shakespeare.lit", "chat.shakespeare.lit"}) {
		t.Errorf("asked %v", asked)
	}
	if !IsMUCService(service) || !IsMUCService(room) || IsMUCService(answers["pubsub.shakespeare.lit"]) {
		t.Error("IsMUCService")
	}
	if _, err := FindMUCService(items[:2], query); !errors.Is(err, ErrNoMUCService) {
		t.Errorf("no service: %v", err)
	}
}
