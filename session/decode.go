package session

import (
	"encoding/xml"
	"errors"
	"io"
	"strconv"

	"xchat/internal/stanzaerr"
)

// Stanzas are read from the stream's tokens exactly once. A tee re-encodes
// every token into raw bytes (the protocol layers in muc/, omemo/ and the
// bookmarks parser re-parse what they need from those) while encoding/xml
// decodes the same tokens into the stanza struct. Tokenizing the bytes a
// second time with xml.Unmarshal was most of the cost of a MAM catch-up.
//
// `,innerxml` fields stay empty when decoding from tokens, so the tee also
// records where the children of the stanza, and of a message forwarded one
// wrapper down (carbons, MAM results: message/x/forwarded/message), lie in
// the bytes; decodeMessage and decodePresence fill Inner from those spans.

// nsXML is the namespace the xml: prefix is bound to.
const nsXML = "http://www.w3.org/XML/1998/namespace"

// span is a byte range of the re-encoded stanza.
type span struct{ start, end int }

// stanzaTee passes tokens through to a decoder and appends each one, encoded,
// to buf.
type stanzaTee struct {
	r   xml.TokenReader
	buf []byte
	ns  []string // the default namespace in force at each open element
	// open holds the byte offset after each open element's start tag.
	open []int
	// outer is the children of the top-level element; fwd those of a
	// jabber:client message three levels down.
	outer, fwd    span
	haveForwarded bool
	// first is the start element, handed to the decoder as its first token
	// so that it sees the element open (it checks that ends match).
	first *xml.StartElement
	// copyAttrs hands out copies of attributes (for encoding/xml).
	copyAttrs bool
	// tooLarge stops the copy (the element is still read to its end).
	tooLarge bool
}

func newStanzaTee(start *xml.StartElement, r xml.TokenReader) *stanzaTee {
	t := &stanzaTee{r: r, buf: make([]byte, 0, 1024)}
	t.startElement(start)
	return t
}

func (t *stanzaTee) Token() (xml.Token, error) {
	if f := t.first; f != nil {
		t.first = nil
		return *f, nil
	}
	tok, err := t.r.Token()
	if err != nil {
		return tok, err
	}
	if len(t.open) == 0 {
		// The element is complete; anything after it is not ours.
		return nil, io.EOF
	}
	switch v := tok.(type) {
	case xml.StartElement:
		t.startElement(&v)
		if t.copyAttrs {
			// encoding/xml rewrites attribute names in place.
			v.Attr = append([]xml.Attr(nil), v.Attr...)
			tok = v
		}
	case xml.EndElement:
		t.endElement(v)
	case xml.CharData:
		if !t.tooLarge {
			t.buf = appendEscaped(t.buf, v, false)
		}
	}
	if len(t.buf) > maxStanzaBytes {
		t.tooLarge = true
		t.buf = t.buf[:0]
	}
	return tok, nil
}

func (t *stanzaTee) startElement(s *xml.StartElement) {
	parent := ""
	if n := len(t.ns); n > 0 {
		parent = t.ns[n-1]
	}
	t.ns = append(t.ns, s.Name.Space)
	if t.tooLarge {
		t.open = append(t.open, 0)
		return
	}
	b := append(t.buf, '<')
	b = append(b, s.Name.Local...)
	if s.Name.Space != parent {
		b = append(b, ` xmlns="`...)
		b = appendEscaped(b, []byte(s.Name.Space), true)
		b = append(b, '"')
	}
	prefixes := 0
	for _, a := range s.Attr {
		switch {
		case a.Name.Space == "xmlns" || (a.Name.Space == "" && a.Name.Local == "xmlns"):
			continue // declarations: names are already resolved
		case a.Name.Space == "":
			b = append(b, ' ')
		case a.Name.Space == nsXML || a.Name.Space == "xml":
			b = append(b, " xml:"...)
		default:
			// A namespaced attribute gets a prefix of its own.
			prefixes++
			p := "a" + strconv.Itoa(prefixes)
			b = append(b, " xmlns:"+p+`="`...)
			b = appendEscaped(b, []byte(a.Name.Space), true)
			b = append(b, `" `+p+":"...)
		}
		b = append(b, a.Name.Local...)
		b = append(b, `="`...)
		b = appendEscaped(b, []byte(a.Value), true)
		b = append(b, '"')
	}
	b = append(b, '>')
	t.buf = b
	t.open = append(t.open, len(b))
}

func (t *stanzaTee) endElement(e xml.EndElement) {
	depth := len(t.open) - 1
	inner := span{t.open[depth], len(t.buf)}
	t.open, t.ns = t.open[:depth], t.ns[:depth]
	if t.tooLarge {
		return
	}
	switch {
	case depth == 0:
		t.outer = inner
	case depth == 3 && !t.haveForwarded && e.Name.Space == nsClient && e.Name.Local == "message":
		t.fwd, t.haveForwarded = inner, true
	}
	t.buf = append(t.buf, "</"...)
	t.buf = append(t.buf, e.Name.Local...)
	t.buf = append(t.buf, '>')
}

// finish reads whatever the decoder left of the element (nothing, normally)
// and returns the bytes.
func (t *stanzaTee) finish() ([]byte, error) {
	for len(t.open) > 0 {
		if _, err := t.Token(); err != nil {
			if errors.Is(err, io.EOF) {
				return nil, io.ErrUnexpectedEOF
			}
			return nil, err
		}
	}
	return t.buf, nil
}

func (t *stanzaTee) text(s span) string { return string(t.buf[s.start:s.end]) }

// appendEscaped appends s with the characters XML requires escaped (and, in
// attribute values, those that attribute normalisation would change).
func appendEscaped(b, s []byte, attr bool) []byte {
	last := 0
	for i, c := range s {
		var esc string
		switch c {
		case '&':
			esc = "&amp;"
		case '<':
			esc = "&lt;"
		case '>':
			esc = "&gt;"
		case '"':
			if !attr {
				continue
			}
			esc = "&quot;"
		case '\r':
			esc = "&#xD;"
		case '\n', '\t':
			if !attr {
				continue
			}
			esc = "&#x" + strconv.FormatInt(int64(c), 16) + ";"
		default:
			continue
		}
		b = append(b, s[last:i]...)
		b = append(b, esc...)
		last = i + 1
	}
	return append(b, s[last:]...)
}

// badStanza is an element that was read completely but does not decode
// (or is too large): the stanza is dropped, the stream goes on.
type badStanza struct{ err error }

func (e badStanza) Error() string { return e.err.Error() }
func (e badStanza) Unwrap() error { return e.err }

// decodeElement decodes the element that start opens into v, reading its
// tokens once, and returns its bytes. A badStanza error leaves the stream
// at the element's end; any other error means the stream is broken.
func decodeElement(start *xml.StartElement, r xml.TokenReader, v any) (*stanzaTee, []byte, error) {
	tee := newStanzaTee(start, r)
	own := *start
	own.Attr = append([]xml.Attr(nil), start.Attr...)
	tee.first, tee.copyAttrs = &own, true
	raw, err := tee.result(xml.NewTokenDecoder(tee).Decode(v))
	if err != nil {
		return nil, nil, err
	}
	return tee, raw, nil
}

// result reads the rest of the element after decoding ended with derr and
// says what became of it: its bytes, a badStanza, or a broken stream.
func (t *stanzaTee) result(derr error) ([]byte, error) {
	raw, err := t.finish()
	switch {
	case err != nil:
		return nil, err
	case t.tooLarge:
		return nil, badStanza{errStanzaTooLarge}
	case derr != nil:
		return nil, badStanza{derr}
	}
	return raw, nil
}

// decodeMessage reads a <message/> from the stream.
func decodeMessage(start *xml.StartElement, r xml.TokenReader) (*inMessage, []byte, error) {
	tee := newStanzaTee(start, r)
	var m inMessage
	raw, err := tee.result(tee.readMessage(start, &m))
	if err != nil {
		return nil, nil, err
	}
	m.Inner = tee.text(tee.outer)
	if f := m.forwardedPart(); f != nil && f.Message != nil && tee.haveForwarded {
		f.Message.Inner = tee.text(tee.fwd)
	}
	return &m, raw, nil
}

// forwardedPart is the wrapper's forwarded message of a carbon or MAM result.
func (m *inMessage) forwardedPart() *forwarded {
	switch {
	case m.MAMResult != nil:
		return &m.MAMResult.Forwarded
	case m.CarbonReceived != nil:
		return &m.CarbonReceived.Forwarded
	case m.CarbonSent != nil:
		return &m.CarbonSent.Forwarded
	}
	return nil
}

// decodePresence reads a <presence/> from the stream.
func decodePresence(start *xml.StartElement, r xml.TokenReader) (*inPresence, []byte, error) {
	var p inPresence
	tee, raw, err := decodeElement(start, r, &p)
	if err != nil {
		return nil, nil, err
	}
	p.Inner = tee.text(tee.outer)
	return &p, raw, nil
}

// Messages are the hot path (a catch-up is thousands of them), so they are
// read from the tokens by hand rather than by encoding/xml's reflection,
// which costs as much again as tokenizing. The fields and their meaning are
// those of inMessage's tags; unknown elements are skipped (but kept in the
// raw bytes for the layers that look for them).

// readMessage fills m from the tokens of the message start opens.
func (t *stanzaTee) readMessage(start *xml.StartElement, m *inMessage) error {
	m.XMLName = start.Name
	for _, a := range start.Attr {
		if a.Name.Space != "" {
			continue
		}
		switch a.Name.Local {
		case "id":
			m.ID = a.Value
		case "from":
			m.From = a.Value
		case "to":
			m.To = a.Value
		case "type":
			m.Type = a.Value
		}
	}
	return t.children(func(c *xml.StartElement) error { return t.messageChild(c, m) })
}

// children calls f for each child element of the element just opened and
// returns after its end; f must consume the child to its end.
func (t *stanzaTee) children(f func(*xml.StartElement) error) error {
	for {
		tok, err := t.Token()
		if err != nil {
			return err
		}
		switch v := tok.(type) {
		case xml.EndElement:
			return nil
		case xml.StartElement:
			if err := f(&v); err != nil {
				return err
			}
		}
	}
}

// skip consumes the rest of an element whose start was just read.
func (t *stanzaTee) skip() error {
	return t.children(func(*xml.StartElement) error { return t.skip() })
}

// chardata returns the text directly inside the element just opened (text
// of nested elements is not included, as with `,chardata`).
func (t *stanzaTee) chardata() (string, error) {
	var text []byte
	for {
		tok, err := t.Token()
		if err != nil {
			return "", err
		}
		switch v := tok.(type) {
		case xml.EndElement:
			return string(text), nil
		case xml.StartElement:
			if err := t.skip(); err != nil {
				return "", err
			}
		case xml.CharData:
			text = append(text, v...)
		}
	}
}

// attr returns the value of the attribute without namespace called name.
func attr(s *xml.StartElement, name string) string {
	for _, a := range s.Attr {
		if a.Name.Space == "" && a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

func (t *stanzaTee) messageChild(c *xml.StartElement, m *inMessage) error {
	switch c.Name.Space {
	case nsClient:
		switch c.Name.Local {
		case "body", "subject":
			lang := ""
			for _, a := range c.Attr {
				if a.Name.Local == "lang" && (a.Name.Space == nsXML || a.Name.Space == "xml") {
					lang = a.Value
				}
			}
			text, err := t.chardata()
			if c.Name.Local == "body" {
				m.Bodies = append(m.Bodies, langText{Lang: lang, Text: text})
			} else {
				m.Subject = append(m.Subject, langText{Lang: lang, Text: text})
			}
			return err
		case "thread":
			var err error
			m.Thread, err = t.chardata()
			return err
		case "error":
			m.Error = &stanzaErr{Type: attr(c, "type"), By: attr(c, "by")}
			return t.children(func(e *xml.StartElement) error {
				text, err := t.chardata()
				m.Error.Children = append(m.Error.Children, stanzaerr.Child{XMLName: e.Name, Text: text})
				return err
			})
		}
	case nsSID:
		id := stanzaID{ID: attr(c, "id"), By: attr(c, "by")}
		switch c.Name.Local {
		case "stanza-id":
			m.StanzaIDs = append(m.StanzaIDs, id)
		case "origin-id":
			m.OriginID = &id
		}
	case nsDelay:
		if c.Name.Local == "delay" {
			m.Delay = &delay{Stamp: attr(c, "stamp"), From: attr(c, "from")}
		}
	case nsCarbons:
		var w **carbon
		switch c.Name.Local {
		case "received":
			w = &m.CarbonReceived
		case "sent":
			w = &m.CarbonSent
		default:
			return t.skip()
		}
		*w = new(carbon)
		return t.children(func(f *xml.StartElement) error { return t.forwarded(f, &(*w).Forwarded) })
	case nsMAM:
		if c.Name.Local != "result" {
			break
		}
		m.MAMResult = &mamResult{QueryID: attr(c, "queryid"), ID: attr(c, "id")}
		return t.children(func(f *xml.StartElement) error { return t.forwarded(f, &m.MAMResult.Forwarded) })
	case nsCorrect:
		if c.Name.Local == "replace" {
			m.Replace = &refID{ID: attr(c, "id")}
		}
	case nsRetract:
		if c.Name.Local == "retract" {
			m.Retract = &refID{ID: attr(c, "id")}
		}
	case nsMarkers:
		if c.Name.Local == "displayed" {
			m.Displayed = &refID{ID: attr(c, "id")}
		}
	case nsReactions:
		if c.Name.Local != "reactions" {
			break
		}
		m.Reactions = &reactions{ID: attr(c, "id")}
		return t.children(func(r *xml.StartElement) error {
			if r.Name.Local != "reaction" {
				return t.skip()
			}
			text, err := t.chardata()
			m.Reactions.Reactions = append(m.Reactions.Reactions, text)
			return err
		})
	case nsReply:
		if c.Name.Local == "reply" {
			m.Reply = &reply{To: attr(c, "to"), ID: attr(c, "id")}
		}
	case "urn:xmpp:fallback:0":
		if c.Name.Local != "fallback" {
			break
		}
		fb := fallback{For: attr(c, "for")}
		err := t.children(func(b *xml.StartElement) error {
			if b.Name.Local == "body" {
				fb.Bodies = append(fb.Bodies, fallbackRange{Start: intAttr(b, "start"), End: intAttr(b, "end")})
			}
			return t.skip()
		})
		m.Fallbacks = append(m.Fallbacks, fb)
		return err
	case nsChatState:
		present := &struct{}{}
		switch c.Name.Local {
		case "composing":
			m.Composing = present
		case "paused":
			m.Paused = present
		case "active":
			m.Active = present
		case "inactive":
			m.Inactive = present
		case "gone":
			m.Gone = present
		}
	case "urn:xmpp:receipts":
		switch c.Name.Local {
		case "request":
			m.ReceiptRequest = &struct{}{}
		case "received":
			m.ReceiptFor = &receiptFor{ID: attr(c, "id")}
		}
	}
	return t.skip()
}

// forwarded reads one child of a XEP-0297 <forwarded/>.
func (t *stanzaTee) forwarded(c *xml.StartElement, f *forwarded) error {
	switch {
	case c.Name.Space == "urn:xmpp:forward:0" && c.Name.Local == "forwarded":
		return t.children(func(e *xml.StartElement) error {
			switch {
			case e.Name.Space == nsDelay && e.Name.Local == "delay":
				f.Delay = &delay{Stamp: attr(e, "stamp"), From: attr(e, "from")}
			case e.Name.Space == nsClient && e.Name.Local == "message" && f.Message == nil:
				f.Message = new(inMessage)
				return t.readMessage(e, f.Message)
			}
			return t.skip()
		})
	}
	return t.skip()
}

// intAttr parses an integer attribute; nil when absent or not a number.
func intAttr(s *xml.StartElement, name string) *int {
	v := attr(s, name)
	if v == "" {
		return nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return nil
	}
	return &n
}
