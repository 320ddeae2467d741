package stanzaerr

import (
	"encoding/xml"
	"testing"
)

func TestCondition(t *testing.T) {
	for _, tc := range []struct{ in, cond, text, str string }{
		{`<error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>`, "item-not-found", "", "item-not-found"},
		{`<error type='modify'><text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'> too big </text><not-acceptable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/><file-too-large xmlns='urn:xmpp:http:upload:0'/></error>`, "not-acceptable", "too big", "not-acceptable: too big"},
		{`<error type='auth'><app xmlns='urn:example'/><forbidden/></error>`, "forbidden", "", "forbidden"},
		{`<error><text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>only words</text></error>`, "", "only words", "only words"},
		{`<error/>`, "", "", "unknown error"},
	} {
		var e Error
		if err := xml.Unmarshal([]byte(tc.in), &e); err != nil {
			t.Fatal(err)
		}
		cond, text := e.Condition()
		if cond != tc.cond || text != tc.text || e.String() != tc.str {
			t.Errorf("%s: %q %q %q", tc.in, cond, text, e.String())
		}
	}
	var nilErr *Error
	if c, x := nilErr.Condition(); c != "" || x != "" {
		t.Error("nil error has a condition")
	}
}
