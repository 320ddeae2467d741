package xmpptest

import (
	"bytes"
	"context"
	"encoding/xml"
	"net"
	"testing"
	"time"

	"mellium.im/sasl"
	"mellium.im/xmlstream"
	"mellium.im/xmpp"
	"mellium.im/xmpp/jid"

	"xchat/internal/testserver"
)

// Client is a logged-in bare session. Every presence and message it
// receives is queued on Stanzas as XML bytes (namespace declarations
// re-emitted by encoding/xml); a full queue drops, so a test that stops
// reading cannot wedge the stream.
type Client struct {
	S       *xmpp.Session
	JID     string // full JID
	Bare    string
	Stanzas chan []byte
}

// Dial logs u in on srv as resource "raw" and sends available presence (so
// messages to the bare JID are delivered rather than stored offline).
func Dial(tb testing.TB, srv *testserver.Server, u testserver.User) *Client {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	conn, err := net.Dial("tcp", srv.C2SAddr)
	if err != nil {
		tb.Fatal(err)
	}
	s, err := xmpp.NewClientSession(ctx, jid.MustParse(u.JID+"/raw"), conn,
		xmpp.StartTLS(srv.TLSConfig()),
		xmpp.SASL("", u.Password, sasl.ScramSha1, sasl.Plain),
		xmpp.BindResource())
	if err != nil {
		tb.Fatal(err)
	}
	c := &Client{S: s, JID: s.LocalAddr().String(), Bare: u.JID, Stanzas: make(chan []byte, 4096)}
	go func() {
		_ = s.Serve(xmpp.HandlerFunc(func(r xmlstream.TokenReadEncoder, start *xml.StartElement) error {
			if start.Name.Local != "presence" && start.Name.Local != "message" {
				_, err := xmlstream.Copy(xmlstream.Discard(), r)
				return err
			}
			raw, err := encode(start, r)
			if err != nil {
				return err
			}
			select {
			case c.Stanzas <- raw:
			default:
			}
			return nil
		}))
	}()
	tb.Cleanup(func() { s.Close(); conn.Close() })
	c.Send(tb, []byte(`<presence/>`))
	return c
}

// encode re-encodes one element read as tokens.
func encode(start *xml.StartElement, r xml.TokenReader) ([]byte, error) {
	var buf bytes.Buffer
	e := xml.NewEncoder(&buf)
	w := dropXMLNS{e}
	if start != nil {
		if err := w.EncodeToken(*start); err != nil {
			return nil, err
		}
	}
	if _, err := xmlstream.Copy(w, r); err != nil {
		return nil, err
	}
	if err := e.Flush(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// dropXMLNS removes namespace declarations: the decoder resolved them into
// the names, and encoding/xml declares them again.
type dropXMLNS struct{ e *xml.Encoder }

func (d dropXMLNS) EncodeToken(t xml.Token) error {
	if s, ok := t.(xml.StartElement); ok {
		attrs := s.Attr[:0:0]
		for _, a := range s.Attr {
			if a.Name.Space != "xmlns" && !(a.Name.Space == "" && a.Name.Local == "xmlns") {
				attrs = append(attrs, a)
			}
		}
		s.Attr = attrs
		t = s
	}
	return d.e.EncodeToken(t)
}

func (d dropXMLNS) Flush() error { return d.e.Flush() }

// IQ sends an IQ and returns the answer (result or error) as XML bytes.
func (c *Client) IQ(tb testing.TB, raw []byte) []byte {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := c.S.SendIQ(ctx, xml.NewDecoder(bytes.NewReader(raw)))
	if err != nil {
		tb.Fatalf("IQ %s: %v", raw, err)
	}
	defer resp.Close()
	out, err := encode(nil, resp)
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// Send writes a stanza.
func (c *Client) Send(tb testing.TB, raw []byte) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.S.Send(ctx, xml.NewDecoder(bytes.NewReader(raw))); err != nil {
		tb.Fatal(err)
	}
}

// WaitRaw returns the next queued stanza match accepts.
func (c *Client) WaitRaw(tb testing.TB, match func([]byte) bool) []byte {
	tb.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case raw := <-c.Stanzas:
			if match(raw) {
				return raw
			}
		case <-deadline:
			tb.Fatal("timed out waiting for a stanza")
		}
	}
}
