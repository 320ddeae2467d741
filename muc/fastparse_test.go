package muc

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestParsePresenceMatchesUnmarshal holds the hand-written decoder equal to
// encoding/xml's on every presence in the fixtures and on tricky input.
func TestParsePresenceMatchesUnmarshal(t *testing.T) {
	var inputs [][]byte
	files, _ := filepath.Glob("testdata/*.xml")
	for _, f := range files {
		for _, raw := range fixture(t, filepath.Base(f)) {
			if strings.HasPrefix(string(raw), "<presence") {
				inputs = append(inputs, raw)
			}
		}
	}
	if len(inputs) < 30 {
		t.Fatalf("only %d presences in fixtures", len(inputs))
	}
	inputs = append(inputs, floodStanzas(3)...)
	for _, s := range []string{
		// Prefixed namespaces instead of default ones.
		`<c:presence xmlns:c="jabber:client" xmlns:u="http://jabber.org/protocol/muc#user" from="r@m/n" type="unavailable"><u:x><u:item role="none" affiliation="none" nick="new"><u:actor jid="a@b"/><u:reason>r &amp; r</u:reason></u:item><u:status code="303"/></u:x></c:presence>`,
		// A look-alike x in another namespace must not count.
		`<presence from="r@m/n"><x xmlns="http://jabber.org/protocol/muc#userX"><status code="110"/></x></presence>`,
		`<presence from="r@m/n"><x xmlns="http://jabber.org/protocol/muc"><item role="moderator"/></x></presence>`,
		// Deep junk, entities, whitespace.
		`<presence from="r@m/n&amp;x" type="error"><error type="cancel" by="r@m"><conflict xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"><deep><deeper/></deep></conflict><text xmlns="urn:ietf:params:xml:ns:xmpp-stanzas" xml:lang="en">Nick &lt;taken&gt;</text></error></presence>`,
		`<presence from="r@m/n"> <show> away </show><status>a<![CDATA[<b>]]>c</status><x xmlns="http://jabber.org/protocol/muc#user"><destroy jid="alt@m"><reason>bye</reason><password>pw</password></destroy><item jid="j@x/r"><reason>ignored?</reason></item><item role="visitor"/></x><unknown><show>not mine</show></unknown></presence>`,
	} {
		inputs = append(inputs, []byte(s))
	}
	for _, raw := range inputs {
		want, err1 := unmarshalPresence(raw)
		got, err2 := parsePresence(raw)
		if (err1 == nil) != (err2 == nil) {
			t.Errorf("%s\nerrors differ: %v / %v", raw, err1, err2)
			continue
		}
		if err1 == nil && !reflect.DeepEqual(got, want) {
			t.Errorf("%s\n got %#v\nwant %#v", raw, got, want)
		}
	}
	for _, bad := range []string{``, `<message/>`, `<presence>`, `<presence/><presence/>`, `<presence from="x`} {
		if _, err := parsePresence([]byte(bad)); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}

}
