package muc

import (
	"bytes"
	"reflect"
	"testing"
)

func TestParseBookmarks(t *testing.T) {
	got, err := ParseBookmarks(fixture(t, "bookmarks_items.xml")[0])
	if err != nil {
		t.Fatal(err)
	}
	want := []Bookmark{
		{JID: "theplay@conference.shakespeare.lit", Name: "The Play's the Thing", Autojoin: true, Nick: "JC"},
		{JID: "orchard@conference.shakespeare.lit", Name: "The Orcard", Autojoin: true, Nick: "JC", Password: "s3cret",
			Extensions: []byte(`<state xmlns="http://myclient.example/bookmark/state" minimized="true"></state>`)},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %#v", got)
	}
	// Build, then parse back: nothing is lost, extensions included.
	item := []byte(`<item id="` + want[1].JID + `">` + string(want[1].ConferenceXML()) + `</item>`)
	back, err := ParseBookmarkItem(item)
	if err != nil || !reflect.DeepEqual(back, want[1]) {
		t.Fatalf("round trip %#v %v\n%s", back, err, item)
	}
	if _, err := ParseBookmarks([]byte(`<items xmlns="http://jabber.org/protocol/pubsub" node="other"/>`)); err == nil {
		t.Error("items of another node accepted")
	}
}

func TestPublishBookmarkIQ(t *testing.T) {
	b := Bookmark{JID: "theplay@conference.shakespeare.lit/x", Name: "The Play's the Thing", Autojoin: true, Nick: "JC"}
	got := string(PublishBookmarkIQ(b))
	want := `<iq type="set"><pubsub xmlns="http://jabber.org/protocol/pubsub"><publish node="urn:xmpp:bookmarks:1">` +
		`<item id="theplay@conference.shakespeare.lit"><conference xmlns="urn:xmpp:bookmarks:1" name="The Play&#39;s the Thing" autojoin="true"><nick>JC</nick></conference></item></publish>` +
		`<publish-options><x xmlns="jabber:x:data" type="submit"><field var="FORM_TYPE" type="hidden"><value>http://jabber.org/protocol/pubsub#publish-options</value></field>` +
		`<field var="pubsub#persist_items"><value>true</value></field><field var="pubsub#max_items"><value>max</value></field>` +
		`<field var="pubsub#send_last_published_item"><value>never</value></field><field var="pubsub#access_model"><value>whitelist</value></field></x></publish-options></pubsub></iq>`
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	if r := string(RetractBookmarkIQ("theplay@conference.shakespeare.lit")); r != `<iq type="set"><pubsub xmlns="http://jabber.org/protocol/pubsub"><retract node="urn:xmpp:bookmarks:1" notify="true"><item id="theplay@conference.shakespeare.lit"/></retract></pubsub></iq>` {
		t.Errorf("retract %s", r)
	}
}

func TestBookmarkEvents(t *testing.T) {
	msgs := fixture(t, "bookmarks_event.xml")
	ev, ok, err := ParseBookmarkEvent(msgs[0])
	if err != nil || !ok || len(ev.Updated) != 1 || ev.Updated[0].JID != "theplay@conference.shakespeare.lit" || !ev.Updated[0].Autojoin || len(ev.Retracted) != 0 {
		t.Fatalf("publish: %#v %v %v", ev, ok, err)
	}
	ev, ok, err = ParseBookmarkEvent(msgs[1])
	if err != nil || !ok || len(ev.Updated) != 0 || !reflect.DeepEqual(ev.Retracted, []string{"theplay@conference.shakespeare.lit"}) {
		t.Fatalf("retract: %#v %v %v", ev, ok, err)
	}
	if _, ok, err = ParseBookmarkEvent(msgs[2]); ok || err != nil {
		t.Fatalf("other node: %v %v", ok, err)
	}
}

func TestLegacyBookmarks(t *testing.T) {
	got, err := ParseLegacyBookmarks(fixture(t, "legacy_bookmarks.xml")[0])
	want := []Bookmark{
		{JID: "council@conference.underhill.org", Name: "Council of Oberon", Autojoin: true, Nick: "Puck", Password: "titania"},
		{JID: "quiet@conference.underhill.org"},
	}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("%#v %v", got, err)
	}
	if q := LegacyBookmarksQuery(); !bytes.Contains(q, []byte(`<storage xmlns="storage:bookmarks"/>`)) {
		t.Errorf("query %s", q)
	}
}
