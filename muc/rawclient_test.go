package muc

import (
	"bytes"
	"context"
	"encoding/xml"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mellium.im/sasl"
	"mellium.im/xmlstream"
	"mellium.im/xmpp"
	"mellium.im/xmpp/jid"

	"xchat/internal/testserver"
)

// rawClient is a bare mellium session (after session/rawclient_test.go)
// that sends hand-built stanzas and queues every incoming presence and
// message as raw XML bytes, the way the session layer will feed a Room.
type rawClient struct {
	s      *xmpp.Session
	jid    string // full JID
	bare   string
	stanza chan []byte
}

func dialRaw(t *testing.T, srv *testserver.Server, u testserver.User) *rawClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	conn, err := net.Dial("tcp", srv.C2SAddr)
	if err != nil {
		t.Fatal(err)
	}
	origin := jid.MustParse(u.JID + "/raw")
	s, err := xmpp.NewClientSession(ctx, origin, conn,
		xmpp.StartTLS(srv.TLSConfig()),
		xmpp.SASL("", u.Password, sasl.ScramSha1, sasl.Plain),
		xmpp.BindResource())
	if err != nil {
		t.Fatal(err)
	}
	c := &rawClient{s: s, jid: s.LocalAddr().String(), bare: u.JID, stanza: make(chan []byte, 4096)}
	go func() {
		_ = s.Serve(xmpp.HandlerFunc(func(r xmlstream.TokenReadEncoder, start *xml.StartElement) error {
			if start.Name.Local != "presence" && start.Name.Local != "message" {
				_, err := xmlstream.Copy(xmlstream.Discard(), r)
				return err
			}
			var buf bytes.Buffer
			e := xml.NewEncoder(&buf)
			w := dropXMLNS{e}
			if err := w.EncodeToken(*start); err != nil {
				return err
			}
			if _, err := xmlstream.Copy(w, r); err != nil {
				return err
			}
			if err := e.Flush(); err != nil {
				return err
			}
			select {
			case c.stanza <- buf.Bytes():
			default: // a test that stops reading must not wedge the stream
			}
			return nil
		}))
	}()
	t.Cleanup(func() { s.Close(); conn.Close() })
	// Available presence, so messages to the bare JID (invitations) are
	// delivered instead of stored offline.
	c.Send(t, []byte(`<presence/>`))
	return c
}

// dropXMLNS removes namespace declarations: the decoder resolved them into
// Name.Space and the encoder declares them again.
type dropXMLNS struct{ e *xml.Encoder }

func (d dropXMLNS) EncodeToken(t xml.Token) error {
	if s, ok := t.(xml.StartElement); ok {
		var attrs []xml.Attr
		for _, a := range s.Attr {
			if a.Name.Space == "xmlns" || (a.Name.Space == "" && a.Name.Local == "xmlns") {
				continue
			}
			attrs = append(attrs, a)
		}
		s.Attr = attrs
		t = s
	}
	return d.e.EncodeToken(t)
}

func (d dropXMLNS) Flush() error { return d.e.Flush() }

// IQ sends an IQ and returns the answer (result or error) as XML bytes.
func (c *rawClient) IQ(t *testing.T, raw []byte) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := c.s.SendIQ(ctx, xml.NewDecoder(bytes.NewReader(raw)))
	if err != nil {
		t.Fatalf("IQ %s: %v", raw, err)
	}
	defer resp.Close()
	var buf bytes.Buffer
	e := xml.NewEncoder(&buf)
	if _, err := xmlstream.Copy(dropXMLNS{e}, resp); err != nil {
		t.Fatal(err)
	}
	e.Flush()
	return buf.Bytes()
}

// IQOK sends an IQ and fails the test on an error answer.
func (c *rawClient) IQOK(t *testing.T, raw []byte) []byte {
	t.Helper()
	resp := c.IQ(t, raw)
	if cond, text, err := IQError(resp); err != nil || cond != "" {
		t.Fatalf("IQ %s\nanswered %s %s %v", raw, cond, text, err)
	}
	return resp
}

// Send writes a stanza.
func (c *rawClient) Send(t *testing.T, raw []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.s.Send(ctx, xml.NewDecoder(bytes.NewReader(raw))); err != nil {
		t.Fatal(err)
	}
}

// until feeds the room every queued stanza from it and returns the events
// up to and including the first one match accepts.
func (c *rawClient) until(t *testing.T, r *Room, match func(Event) bool) []Event {
	t.Helper()
	var seen []Event
	deadline := time.After(10 * time.Second)
	for {
		select {
		case raw := <-c.stanza:
			var from struct {
				From string `xml:"from,attr"`
			}
			if xml.Unmarshal(raw, &from) != nil || !sameBare(bareJID(from.From), r.JID()) {
				continue
			}
			c.dump(t, r, raw)
			var evs []Event
			var err error
			if strings.HasPrefix(string(raw), "<presence") {
				evs, err = r.HandlePresence(raw)
			} else {
				evs, err = r.HandleMessage(raw)
			}
			if err != nil {
				t.Fatalf("%s: %v", raw, err)
			}
			for _, ev := range evs {
				seen = append(seen, ev)
				if match(ev) {
					return seen
				}
			}
		case <-deadline:
			t.Fatalf("room %s: timed out; events so far: %#v", r.JID(), seen)
		}
	}
}

// dump appends raw to $XCHAT_MUC_DUMP_DIR/<user>-<room>.xml when that
// variable is set: this is how the prosody_*.xml fixtures were captured.
func (c *rawClient) dump(t *testing.T, r *Room, raw []byte) {
	dir := os.Getenv("XCHAT_MUC_DUMP_DIR")
	if dir == "" {
		return
	}
	name := strings.SplitN(c.bare, "@", 2)[0] + "-" + strings.SplitN(r.JID(), "@", 2)[0] + ".xml"
	f, err := os.OpenFile(filepath.Join(dir, name), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	_, _ = f.Write(append(raw, '\n'))
}

// waitRaw returns the next queued stanza accepted by match.
func (c *rawClient) waitRaw(t *testing.T, match func([]byte) bool) []byte {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case raw := <-c.stanza:
			if match(raw) {
				return raw
			}
		case <-deadline:
			t.Fatal("timed out waiting for a stanza")
		}
	}
}
