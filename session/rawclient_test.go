package session_test

import (
	"bytes"
	"context"
	"encoding/xml"
	"net"
	"strings"
	"testing"
	"time"

	"mellium.im/sasl"
	"mellium.im/xmlstream"
	"mellium.im/xmpp"
	"mellium.im/xmpp/jid"

	"xchat/internal/testserver"
)

// rawClient is a bare mellium session used to send hand-written stanzas
// (forgeries, malformed input) at a client under test.
type rawClient struct{ s *xmpp.Session }

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
	go func() { _ = s.Serve(nil) }()
	t.Cleanup(func() { s.Close(); conn.Close() })
	return &rawClient{s: s}
}

// IQ sends a raw IQ and returns the response as XML text.
func (r *rawClient) IQ(t *testing.T, raw string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := r.s.SendIQ(ctx, xml.NewDecoder(strings.NewReader(raw)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Close()
	var buf bytes.Buffer
	e := xml.NewEncoder(&buf)
	if _, err := xmlstream.Copy(e, resp); err != nil {
		t.Fatal(err)
	}
	e.Flush()
	return buf.String()
}

// Send writes a raw stanza.
func (r *rawClient) Send(t *testing.T, raw string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.s.Send(ctx, xml.NewDecoder(strings.NewReader(raw))); err != nil {
		t.Fatal(err)
	}
}
