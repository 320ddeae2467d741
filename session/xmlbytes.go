package session

import (
	"bytes"
	"encoding/xml"

	"mellium.im/xmlstream"
)

// maxStanzaBytes bounds one element re-encoded for parsing; the server
// normally enforces a smaller limit (Prosody: 256 KiB on c2s).
const maxStanzaBytes = 1 << 20

// elementBytes re-encodes one element read as tokens into XML bytes. Parsing
// from bytes (not tokens) is what makes `,innerxml` fields work, so later
// layers (carbons, OMEMO, MAM) can re-parse what they wrap.
func elementBytes(start *xml.StartElement, r xml.TokenReader) ([]byte, error) {
	var buf bytes.Buffer
	e := xml.NewEncoder(&buf)
	w := nsCleaner{e}
	if err := w.EncodeToken(*start); err != nil {
		return nil, err
	}
	if _, err := xmlstream.Copy(w, r); err != nil {
		return nil, err
	}
	if err := e.Flush(); err != nil {
		return nil, err
	}
	if buf.Len() > maxStanzaBytes {
		return nil, errStanzaTooLarge
	}
	return buf.Bytes(), nil
}

type stanzaTooLarge struct{}

func (stanzaTooLarge) Error() string { return "stanza too large" }

var errStanzaTooLarge error = stanzaTooLarge{}

// nsCleaner drops namespace declarations from start elements: the decoder
// has already resolved names, and encoding/xml declares them again from
// Name.Space, so keeping them would duplicate attributes.
type nsCleaner struct{ e *xml.Encoder }

func (c nsCleaner) EncodeToken(t xml.Token) error {
	if s, ok := t.(xml.StartElement); ok {
		attrs := s.Attr[:0:0]
		for _, a := range s.Attr {
			if a.Name.Space == "xmlns" || (a.Name.Space == "" && a.Name.Local == "xmlns") {
				continue
			}
			attrs = append(attrs, a)
		}
		s.Attr = attrs
		t = s
	}
	return c.e.EncodeToken(t)
}

func (c nsCleaner) Flush() error { return c.e.Flush() }
