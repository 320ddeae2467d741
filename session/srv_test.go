package session_test

import (
	"context"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"

	"xchat/internal/testserver"
	"xchat/session"
)

// srvDNS is a DNS server on loopback that answers SRV questions from its
// table (name → host:port) and A for localhost, and has nothing else
// (NXDOMAIN). Only the resolver of the test's account asks it.
type srvDNS struct {
	pc      net.PacketConn
	records map[string]string
}

func startSRVDNS(t *testing.T, records map[string]string) *net.Resolver {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	s := &srvDNS{pc: pc, records: records}
	go s.serve()
	addr := pc.LocalAddr().String()
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "udp", addr)
	}}
}

func (s *srvDNS) serve() {
	buf := make([]byte, 1500)
	for {
		n, from, err := s.pc.ReadFrom(buf)
		if err != nil {
			return
		}
		var p dnsmessage.Parser
		h, err := p.Start(buf[:n])
		if err != nil {
			continue
		}
		q, err := p.Question()
		if err != nil {
			continue
		}
		resp := dnsmessage.Message{Header: dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true},
			Questions: []dnsmessage.Question{q}}
		name := strings.TrimSuffix(q.Name.String(), ".")
		target, ok := s.records[name]
		switch {
		case name == "localhost" && q.Type == dnsmessage.TypeA:
			// The records' target (Go's resolver does not take a dotted
			// "localhost." from /etc/hosts).
			resp.Answers = []dnsmessage.Resource{{
				Header: dnsmessage.ResourceHeader{Name: q.Name, Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET, TTL: 60},
				Body:   &dnsmessage.AResource{A: [4]byte{127, 0, 0, 1}},
			}}
		case name == "localhost":
			// No AAAA: an empty answer.
		case ok && q.Type == dnsmessage.TypeSRV:
			host, port, _ := net.SplitHostPort(target)
			p, _ := strconv.Atoi(port)
			resp.Answers = []dnsmessage.Resource{{
				Header: dnsmessage.ResourceHeader{Name: q.Name, Type: dnsmessage.TypeSRV, Class: dnsmessage.ClassINET, TTL: 60},
				Body:   &dnsmessage.SRVResource{Priority: 0, Weight: 0, Port: uint16(p), Target: dnsmessage.MustNewName(host + ".")},
			}}
		default:
			resp.RCode = dnsmessage.RCodeNameError
		}
		out, err := resp.Pack()
		if err == nil {
			_, _ = s.pc.WriteTo(out, from)
		}
	}
}

// TestLoginThroughSRV: with no server configured, the account finds its
// server through the domain's SRV records — STARTTLS (_xmpp-client) and
// direct TLS (_xmpps-client, XEP-0368) — certificate still verified. No
// server listens on the default port, so only the records can lead there.
func TestLoginThroughSRV(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	users := srv.Users(t, 1)
	port := func(addr string) string { _, p, _ := net.SplitHostPort(addr); return p }
	for _, tc := range []struct {
		name    string
		records map[string]string
		mode    session.TLSMode
	}{
		{"starttls", map[string]string{"_xmpp-client._tcp.localhost": "localhost:" + port(srv.C2SAddr)}, session.StartTLS},
		{"direct-tls", map[string]string{"_xmpps-client._tcp.localhost": "localhost:" + port(srv.DirectTLSAddr)}, session.DirectTLS},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := config(srv, users[0], "srv-"+tc.name)
			cfg.Server, cfg.TLSMode = "", tc.mode
			cfg.Resolver = startSRVDNS(t, tc.records)
			cfg.ConnectTimeout = 20 * time.Second
			a := start(t, cfg, "")
			a.waitOnline()
		})
	}
}
