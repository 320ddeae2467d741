package session

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
)

// decodeFixtures are messages as servers send them: plain chat, every
// feature element, carbons, MAM results, errors, OMEMO, odd but legal XML.
var decodeFixtures = map[string]string{
	"chat": `<message xmlns='jabber:client' from='bob@b.example/phone' to='alice@a.example/x' type='chat' id='m1'>` +
		`<body>hi &amp; &lt;bye&gt; "q" 'a'</body><body xml:lang='de'>hallo</body><subject>s</subject><thread>t1</thread>` +
		`<origin-id xmlns='urn:xmpp:sid:0' id='o1'/><stanza-id xmlns='urn:xmpp:sid:0' id='s1' by='alice@a.example'/>` +
		`<stanza-id xmlns='urn:xmpp:sid:0' id='s2' by='room@muc.a.example'/>` +
		`<delay xmlns='urn:xmpp:delay' stamp='2024-05-01T10:00:00Z' from='a.example'/>` +
		`<request xmlns='urn:xmpp:receipts'/><composing xmlns='http://jabber.org/protocol/chatstates'/></message>`,
	"features": `<message xmlns='jabber:client' from='bob@b.example/phone' type='chat' id='m2'>` +
		`<replace xmlns='urn:xmpp:message-correct:0' id='m1'/><retract xmlns='urn:xmpp:message-retract:1' id='m0'/>` +
		`<reactions xmlns='urn:xmpp:reactions:0' id='m1'><reaction>👍</reaction><reaction>❤️</reaction></reactions>` +
		`<reply xmlns='urn:xmpp:reply:0' to='alice@a.example/x' id='m0'/>` +
		`<fallback xmlns='urn:xmpp:fallback:0' for='urn:xmpp:reply:0'><body start='0' end='12'/></fallback>` +
		`<displayed xmlns='urn:xmpp:chat-markers:0' id='m0'/><received xmlns='urn:xmpp:receipts' id='m9'/>` +
		`<paused xmlns='http://jabber.org/protocol/chatstates'/><body>> quoted
reply</body></message>`,
	"carbon": `<message xmlns='jabber:client' from='alice@a.example' to='alice@a.example/x' type='chat'>` +
		`<sent xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'>` +
		`<message xmlns='jabber:client' from='alice@a.example/other' to='bob@b.example' type='chat' id='c1'>` +
		`<body>from my phone</body><encrypted xmlns='eu.siacs.conversations.axolotl'><header sid='7'><key rid='9' prekey='true'>AAAA</key><iv>BBBB</iv></header><payload>CCCC</payload></encrypted>` +
		`</message></forwarded></sent></message>`,
	"carbon-received": `<message xmlns='jabber:client' from='alice@a.example' to='alice@a.example/x'>` +
		`<received xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'>` +
		`<delay xmlns='urn:xmpp:delay' stamp='2024-05-01T10:00:00Z'/>` +
		`<message xmlns='jabber:client' from='bob@b.example/phone' to='alice@a.example/other' type='chat' id='c2'><body>to my phone</body></message>` +
		`</forwarded></received></message>`,
	"mam": string(mamResultXML("q1", 7)),
	"error": `<message xmlns='jabber:client' from='bob@b.example' type='error' id='m5'><body>lost</body>` +
		`<error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>` +
		`<text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>nobody home</text></error></message>`,
	"groupchat": `<message xmlns='jabber:client' from='room@muc.a.example/bob' type='groupchat' id='g1'>` +
		`<body>hello room</body><x xmlns='http://jabber.org/protocol/muc#user'><item jid='bob@b.example/phone'/></x>` +
		`<stanza-id xmlns='urn:xmpp:sid:0' id='rs1' by='room@muc.a.example'/></message>`,
	"prefixes": `<cli:message xmlns:cli='jabber:client' xmlns:ext='urn:example:ext' from='bob@b.example' type='chat' ext:flag='a&#10;b'>` +
		`<cli:body>prefixed</cli:body><ext:thing ext:attr='1'><inner xmlns=''>no namespace</inner></ext:thing></cli:message>`,
}

// parseTokens runs decodeMessage over b, tokenized as the stream does.
func parseTokens(t testing.TB, b string) (*inMessage, []byte, error) {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(b))
	tok, err := d.Token()
	if err != nil {
		t.Fatal(err)
	}
	start := tok.(xml.StartElement)
	return decodeMessage(&start, d)
}

// withoutInner clears the Inner fields, which encoding/xml does not fill.
func withoutInner(m *inMessage) *inMessage {
	c := *m
	c.Inner = ""
	if f := c.forwardedPart(); f != nil && f.Message != nil {
		fm := *f.Message
		fm.Inner = ""
		switch {
		case c.MAMResult != nil:
			r := *c.MAMResult
			r.Forwarded.Message = &fm
			c.MAMResult = &r
		case c.CarbonReceived != nil:
			r := *c.CarbonReceived
			r.Forwarded.Message = &fm
			c.CarbonReceived = &r
		case c.CarbonSent != nil:
			r := *c.CarbonSent
			r.Forwarded.Message = &fm
			c.CarbonSent = &r
		}
	}
	return &c
}

// TestDecodeMessageMatchesUnmarshal: reading by hand gives what
// encoding/xml's reflection gives for the same struct tags, both from the
// original text and from the raw bytes the tee wrote.
func TestDecodeMessageMatchesUnmarshal(t *testing.T) {
	for name, fixture := range decodeFixtures {
		t.Run(name, func(t *testing.T) {
			got, raw, err := parseTokens(t, fixture)
			if err != nil {
				t.Fatal(err)
			}
			var want inMessage
			if err := xml.Unmarshal([]byte(fixture), &want); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(withoutInner(got), &want) {
				t.Fatalf("decoded\n%+v\nwant\n%+v", withoutInner(got), &want)
			}
			// The raw bytes are the same stanza: they parse to the same.
			var again inMessage
			if err := xml.Unmarshal(raw, &again); err != nil {
				t.Fatalf("raw bytes do not parse: %v\n%s", err, raw)
			}
			if !reflect.DeepEqual(&again, &want) {
				t.Fatalf("raw bytes parse to\n%+v\nwant\n%+v\nraw: %s", &again, &want, raw)
			}
		})
	}
}

func TestDecodeMessageInner(t *testing.T) {
	m, raw, err := parseTokens(t, decodeFixtures["carbon"])
	if err != nil {
		t.Fatal(err)
	}
	fm := m.CarbonSent.Forwarded.Message
	if !strings.HasPrefix(fm.Inner, "<body>from my phone</body><encrypted xmlns=\"eu.siacs.conversations.axolotl\">") ||
		!strings.HasSuffix(fm.Inner, "<payload>CCCC</payload></encrypted>") {
		t.Fatalf("forwarded Inner = %q", fm.Inner)
	}
	if !isOMEMO(fm) || isOMEMO(&inMessage{Inner: m.Inner[:10]}) {
		t.Fatal("OMEMO detection on Inner")
	}
	if !strings.HasPrefix(m.Inner, "<sent xmlns=\"urn:xmpp:carbons:2\">") || !strings.HasSuffix(m.Inner, "</sent>") {
		t.Fatalf("outer Inner = %q", m.Inner)
	}
	if !bytes.Contains(raw, []byte(m.Inner)) {
		t.Fatal("Inner is not a part of raw")
	}
	// wrapMessage (what OMEMO decrypts from) parses back to the message.
	var wrapped inMessage
	if err := xml.Unmarshal(wrapMessage(fm), &wrapped); err != nil || wrapped.Body() != "from my phone" {
		t.Fatalf("wrapped: %v %+v", err, wrapped)
	}

	// Attribute values keep newlines and quotes through the bytes.
	_, raw, err = parseTokens(t, decodeFixtures["prefixes"])
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Flag  string `xml:"urn:example:ext flag,attr"`
		Thing struct {
			Inner struct {
				XMLName xml.Name
				Text    string `xml:",chardata"`
			} `xml:"inner"`
		} `xml:"urn:example:ext thing"`
	}
	if err := xml.Unmarshal(raw, &v); err != nil || v.Flag != "a\nb" || v.Thing.Inner.XMLName.Space != "" || v.Thing.Inner.Text != "no namespace" {
		t.Fatalf("raw %s: %v %+v", raw, err, v)
	}
}

// A malformed stanza is dropped whole and the stream goes on with the next.
func TestDecodeMessageBadStanza(t *testing.T) {
	long := strings.Repeat("x", maxStanzaBytes+10)
	stream := `<stream>` +
		`<message xmlns='jabber:client' id='big'><body>` + long + `</body><x><y/></x></message>` +
		`<message xmlns='jabber:client' id='next'><body>fine</body></message></stream>`
	d := xml.NewDecoder(strings.NewReader(stream))
	if _, err := d.Token(); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for {
		tok, err := d.Token()
		if err != nil {
			t.Fatal(err)
		}
		start, ok := tok.(xml.StartElement)
		if !ok {
			break
		}
		// Each element is read through a reader limited to it, as mellium does.
		m, _, err := decodeMessage(&start, &elementReader{d: d})
		var bad badStanza
		switch {
		case errors.As(err, &bad):
			ids = append(ids, "bad:"+attr(&start, "id"))
		case err != nil:
			t.Fatal(err)
		default:
			ids = append(ids, m.ID+"="+m.Body())
		}
	}
	if got := strings.Join(ids, ","); got != "bad:big,next=fine" {
		t.Fatalf("got %s", got)
	}

	// A cut stream is an error of the stream, not of the stanza.
	d = xml.NewDecoder(strings.NewReader(`<message xmlns='jabber:client'><body>cut`))
	tok, _ := d.Token()
	start := tok.(xml.StartElement)
	_, _, err := decodeMessage(&start, d)
	var bad badStanza
	if err == nil || errors.As(err, &bad) {
		t.Fatalf("cut stream: %v", err)
	}

	// A namespaced attribute is not the stanza's attribute of that name
	// (encoding/xml's reflection would take it): no sender from x:from.
	m, _, err := parseTokens(t, `<message xmlns='jabber:client' xmlns:x='urn:x' x:from='mallory@evil.example' x:type='groupchat'><body>b</body></message>`)
	if err != nil || m.From != "" || m.Type != "" {
		t.Fatalf("%v from=%q type=%q", err, m.From, m.Type)
	}

	// Numbers that are not numbers are ignored, not fatal.
	m, _, err = parseTokens(t, `<message xmlns='jabber:client'><body>b</body><fallback xmlns='urn:xmpp:fallback:0' for='x'><body start='zero' end='-'/></fallback></message>`)
	if err != nil || len(m.Fallbacks) != 1 || m.Fallbacks[0].Bodies[0].Start != nil {
		t.Fatalf("%v %+v", err, m)
	}
}

// elementReader hands out the tokens of one element and then io.EOF.
type elementReader struct {
	d     *xml.Decoder
	depth int
	done  bool
}

func (r *elementReader) Token() (xml.Token, error) {
	if r.done {
		return nil, io.EOF
	}
	tok, err := r.d.Token()
	if err != nil {
		return nil, err
	}
	switch tok.(type) {
	case xml.StartElement:
		r.depth++
	case xml.EndElement:
		if r.depth == 0 {
			r.done = true
		}
		r.depth--
	}
	return tok, nil
}

// FuzzDecodeMessage: any element decodes without panicking, and what it
// writes out parses to the same message again.
func FuzzDecodeMessage(f *testing.F) {
	for _, fx := range decodeFixtures {
		f.Add(fx)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d := xml.NewDecoder(strings.NewReader(s))
		tok, err := d.Token()
		if err != nil {
			return
		}
		start, ok := tok.(xml.StartElement)
		if !ok {
			return
		}
		m, raw, err := decodeMessage(&start, d)
		if err != nil {
			return
		}
		d = xml.NewDecoder(bytes.NewReader(raw))
		tok, err = d.Token()
		if err != nil {
			t.Fatalf("raw does not parse: %v\n%q", err, raw)
		}
		start = tok.(xml.StartElement)
		again, raw2, err := decodeMessage(&start, d)
		if err != nil {
			t.Fatalf("raw does not decode: %v\n%q", err, raw)
		}
		if !reflect.DeepEqual(m, again) || !bytes.Equal(raw, raw2) {
			t.Fatalf("round trip differs:\n%+v\n%+v\n%q\n%q", m, again, raw, raw2)
		}
	})
}
