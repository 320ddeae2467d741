package session

import (
	"context"
	"encoding/xml"
	"io"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"mellium.im/xmlstream"
	"mellium.im/xmpp"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stream"

	"xchat/store"
)

// fakeServer is the server end of an in-memory session pair: it answers the
// bootstrap IQs, records what the client sends, and lets a test inject any
// stanza, well-formed or hostile.
type fakeServer struct {
	t        *testing.T
	mu       sync.Mutex
	s        *xmpp.Session
	received []string // raw top-level elements from the client
	noPong   bool     // do not answer pings
	// answer, when set, may answer an IQ get/set itself: it returns the
	// whole reply ("" leaves it to the defaults below).
	answer   func(iq inIQ, raw string) string
	sessions chan *xmpp.Session
}

func pipeNegotiator(ctx context.Context, in, out *stream.Info, s *xmpp.Session, data interface{}) (xmpp.SessionState, io.ReadWriter, interface{}, error) {
	in.XMLNS, out.XMLNS = "jabber:client", "jabber:client"
	return xmpp.Ready, nil, nil, nil
}

// pipeClient makes a Client whose logins create in-memory pairs served by
// the returned fake server.
func pipeClient(t *testing.T, cfg Config) (*Client, *fakeServer, *store.Store) {
	t.Helper()
	if cfg.JID == "" {
		cfg.JID = "alice@example.org"
	}
	cfg.Password = func(context.Context) (string, error) { return "x", nil }
	if cfg.MinBackoff == 0 {
		cfg.MinBackoff = 20 * time.Millisecond
	}
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "x.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	c, err := New(cfg, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	fs := &fakeServer{t: t, sessions: make(chan *xmpp.Session, 8)}
	c.loginHook = func(ctx context.Context) (*xmpp.Session, error) {
		a, b, err := tcpPair()
		if err != nil {
			return nil, err
		}
		local := jid.MustParse(cfg.JID + "/pipe")
		domain := local.Domain()
		cs, err := xmpp.NewSession(ctx, domain, local, a, 0, pipeNegotiator)
		if err != nil {
			return nil, err
		}
		ss, err := xmpp.NewSession(ctx, local, domain, b, xmpp.Received, pipeNegotiator)
		if err != nil {
			return nil, err
		}
		fs.mu.Lock()
		fs.s = ss
		fs.mu.Unlock()
		go func() { _ = ss.Serve(fs) }()
		fs.sessions <- ss
		return cs, nil
	}
	return c, fs, st
}

// HandleXMPP answers the client like a minimal server.
func (fs *fakeServer) HandleXMPP(t xmlstream.TokenReadEncoder, start *xml.StartElement) error {
	raw, err := elementBytes(start, t)
	if err != nil {
		return err
	}
	fs.mu.Lock()
	fs.received = append(fs.received, string(raw))
	noPong, answer := fs.noPong, fs.answer
	fs.mu.Unlock()
	if start.Name.Local != "iq" {
		return nil
	}
	var iq inIQ
	if err := xml.Unmarshal(raw, &iq); err != nil {
		return err
	}
	if iq.Type != "get" && iq.Type != "set" {
		return nil
	}
	if answer != nil {
		if reply := answer(iq, string(raw)); reply != "" {
			// On the handler's own encoder: an IQ left unanswered gets
			// mellium's default error.
			if _, err := xmlstream.Copy(t, xml.NewDecoder(strings.NewReader(reply))); err != nil {
				return err
			}
			if f, ok := t.(xmlstream.Flusher); ok {
				return f.Flush()
			}
			return nil
		}
	}
	switch {
	case iq.Ping != nil && noPong:
		// Swallow it, but answer mellium's rule that IQs get a reply: the
		// default error would count as "alive", so stall instead.
		time.Sleep(500 * time.Millisecond)
		return nil
	case iq.Roster != nil && iq.Type == "get":
		return t.Encode(iqStanza{ID: iq.ID, Type: "result", Payload: rosterQuery{Ver: ptr("v1"), Items: []rosterItem{{JID: "bob@example.net", Name: "Bob", Subscription: "both"}}}})
	case iq.Disco != nil:
		return t.Encode(iqStanza{ID: iq.ID, Type: "result", Payload: discoQuery{Features: []discoFeature{{Var: "urn:xmpp:ping"}}}})
	}
	return t.Encode(iqStanza{ID: iq.ID, Type: "result"})
}

func ptr[T any](v T) *T { return &v }

// tcpPair returns two connected loopback sockets. net.Pipe has no buffer,
// so two ends writing at once would deadlock where a real socket would not.
func tcpPair() (net.Conn, net.Conn, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	defer l.Close()
	type res struct {
		c   net.Conn
		err error
	}
	ch := make(chan res, 1)
	go func() {
		c, err := l.Accept()
		ch <- res{c, err}
	}()
	a, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		return nil, nil, err
	}
	r := <-ch
	if r.err != nil {
		a.Close()
		return nil, nil, r.err
	}
	return a, r.c, nil
}

// inject sends raw XML from the server to the client.
func (fs *fakeServer) inject(raw string) {
	fs.t.Helper()
	fs.mu.Lock()
	s := fs.s
	fs.mu.Unlock()
	// No per-call timeout: a cancelled context makes mellium poison
	// concurrent writes (see connection.ctx).
	if err := s.Send(context.Background(), xml.NewDecoder(strings.NewReader(raw))); err != nil {
		fs.t.Fatalf("inject: %v", err)
	}
}

func (fs *fakeServer) sent(substr string) bool {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for _, r := range fs.received {
		if strings.Contains(r, substr) {
			return true
		}
	}
	return false
}

// sentIQError reports whether the client answered IQ id with an error.
func (fs *fakeServer) sentIQError(id string) bool {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for _, r := range fs.received {
		var iq struct {
			ID   string `xml:"id,attr"`
			Type string `xml:"type,attr"`
		}
		if xml.Unmarshal([]byte(r), &iq) == nil && iq.ID == id && iq.Type == "error" {
			return true
		}
	}
	return false
}

// runPipe starts the client and waits until it is online.
func runPipe(t *testing.T, c *Client) (events <-chan Event, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = c.Run(ctx); close(done) }()
	stop = func() { cancel(); <-done }
	t.Cleanup(stop)
	waitEvent(t, c.Events(), "online", func(ev Event) bool {
		e, ok := ev.(StateEvent)
		return ok && e.State == Online
	})
	return c.Events(), stop
}

func waitEvent(t *testing.T, ch <-chan Event, what string, f func(Event) bool) Event {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case ev := <-ch:
			if f(ev) {
				return ev
			}
		case <-timeout:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func TestPipeHostileStanzasAreDroppedAndSessionSurvives(t *testing.T) {
	c, fs, st := pipeClient(t, Config{})
	events, _ := runPipe(t, c)
	// The roster arrives before Online, so it is already there.
	if r, err := c.Roster(context.Background()); err != nil || len(r) != 1 || r[0].Name != "Bob" {
		t.Fatalf("roster at login = %+v, %v", r, err)
	}
	// Each of these must be ignored without breaking the stream.
	for _, raw := range []string{
		`<message from='not a jid@@' type='chat'><body>bad from</body></message>`,
		`<message from='bob@example.net/x' type='chat'></message>`,
		`<message from='bob@example.net/x' type='chat'><body xml:lang='de'>only german</body><unknown xmlns='urn:x'><deep><deeper/></deep></unknown></message>`,
		`<message type='chat'><body>from our own server, no from</body></message>`,
		`<message from='alice@example.org' type='chat'><body>from our bare JID</body></message>`,
		`<presence from='@@@' />`,
		`<presence from='bob@example.net/x' type='bogus'/>`,
		`<iq type='get' id='q1' from='bob@example.net/x'><query xmlns='urn:unknown'/></iq>`,
		`<iq type='get' id='q2' from='bob@example.net/x'><ping xmlns='urn:xmpp:ping'/><ping xmlns='urn:xmpp:ping'/></iq>`,
		`<iq type='set' id='q3' from='mallory@evil.example/x'><query xmlns='jabber:iq:roster'><item jid='mallory@evil.example' subscription='both'/></query></iq>`,
		`<iq type='set' id='q4'><query xmlns='jabber:iq:roster'><item jid='a@b'/><item jid='c@d'/></query></iq>`,
	} {
		fs.inject(raw)
	}
	fs.inject("<message from='bob@example.net/x' type='chat' id='m1'><body>hello \u009b2J\u202eevil</body><delay xmlns='urn:xmpp:delay' stamp='2020-01-02T03:04:05Z'/></message>")
	ev := waitEvent(t, events, "good message", func(ev Event) bool {
		e, ok := ev.(MessageEvent)
		return ok && strings.HasPrefix(e.Message.Body, "hello")
	}).(MessageEvent)
	if !ev.Message.Timestamp.Equal(time.Date(2020, 1, 2, 3, 4, 5, 999e6, time.UTC)) {
		t.Errorf("delayed message timestamp = %v, want the end of the stamp's second", ev.Message.Timestamp)
	}
	msgs, err := st.Latest(context.Background(), "alice@example.org", "bob@example.net", 10)
	if err != nil {
		t.Fatal(err)
	}
	// "only german" is a body (the only one), so it is kept; the rest not.
	// The delayed one sorts first: history is ordered by its own time.
	if got := len(msgs); got != 2 || msgs[1].Body != "only german" {
		t.Fatalf("stored %d messages %+v, want exactly the german one and the good one", got, msgs)
	}
	time.Sleep(100 * time.Millisecond)
	for _, id := range []string{"q1", "q2", "q3", "q4"} {
		if !fs.sentIQError(id) {
			t.Errorf("client did not answer IQ %s with an error", id)
		}
	}
	roster, err := c.Roster(context.Background())
	if err != nil || len(roster) != 1 {
		t.Fatalf("roster after hostile pushes = %+v, %v", roster, err)
	}
}

func TestPipeMessageErrorMarksFailed(t *testing.T) {
	c, fs, _ := pipeClient(t, Config{})
	events, _ := runPipe(t, c)
	m, err := c.SendMessage(context.Background(), "bob@example.net", "are you there?")
	if err != nil {
		t.Fatal(err)
	}
	waitEvent(t, events, "sent", func(ev Event) bool {
		e, ok := ev.(MessageStateEvent)
		return ok && e.ID == m.ID && e.State == store.StateSent
	})
	if !fs.sent("are you there?") || !fs.sent(`<origin-id xmlns="urn:xmpp:sid:0" id="`+m.OriginID) {
		t.Fatal("message with origin-id not sent")
	}
	fs.inject(`<message from='bob@example.net' type='error' id='` + m.OriginID + `'><error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/><text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>nobody home</text></error></message>`)
	ev := waitEvent(t, events, "failed", func(ev Event) bool {
		e, ok := ev.(MessageStateEvent)
		return ok && e.ID == m.ID && e.State == store.StateFailed
	}).(MessageStateEvent)
	if !strings.Contains(ev.Error, "nobody home") {
		t.Errorf("failure reason %q lacks the server's text", ev.Error)
	}
}

func TestPipeDeadLinkDetectedByPing(t *testing.T) {
	c, fs, _ := pipeClient(t, Config{PingInterval: 100 * time.Millisecond, PingTimeout: 150 * time.Millisecond})
	events, _ := runPipe(t, c)
	fs.mu.Lock()
	fs.noPong = true
	fs.mu.Unlock()
	waitEvent(t, events, "reconnecting", func(ev Event) bool {
		e, ok := ev.(StateEvent)
		return ok && e.State == Reconnecting
	})
	fs.mu.Lock()
	fs.noPong = false
	fs.mu.Unlock()
	waitEvent(t, events, "online again", func(ev Event) bool {
		e, ok := ev.(StateEvent)
		return ok && e.State == Online
	})
}

func TestPipeDuplicateDeliveryStoredOnce(t *testing.T) {
	c, fs, st := pipeClient(t, Config{})
	events, _ := runPipe(t, c)
	msg := `<message from='bob@example.net/x' type='chat' id='dup'><body>once</body><origin-id xmlns='urn:xmpp:sid:0' id='o-1'/><stanza-id xmlns='urn:xmpp:sid:0' by='alice@example.org' id='s-1'/></message>`
	fs.inject(msg)
	fs.inject(msg)
	fs.inject(`<message from='bob@example.net/x' type='chat'><body>after</body></message>`)
	waitEvent(t, events, "after", func(ev Event) bool {
		e, ok := ev.(MessageEvent)
		return ok && e.Message.Body == "after"
	})
	n, err := st.Count(context.Background(), "alice@example.org", "bob@example.net")
	if err != nil || n != 2 {
		t.Fatalf("stored %d messages (%v), want 2: a redelivered message must be stored once", n, err)
	}
}

// A stanza-id claimed by anyone but our own server must not be trusted.
func TestPipeForeignStanzaIDIgnored(t *testing.T) {
	c, fs, _ := pipeClient(t, Config{})
	events, _ := runPipe(t, c)
	fs.inject(`<message from='bob@example.net/x' type='chat'><body>x</body><stanza-id xmlns='urn:xmpp:sid:0' by='bob@example.net' id='forged'/></message>`)
	ev := waitEvent(t, events, "message", func(ev Event) bool { _, ok := ev.(MessageEvent); return ok }).(MessageEvent)
	if ev.Message.StanzaID != "" {
		t.Fatalf("stanza-id from %q was trusted", ev.Message.StanzaBy)
	}
}

func TestPipeClientStateIndication(t *testing.T) {
	c, fs, _ := pipeClient(t, Config{})
	runPipe(t, c)
	ctx := context.Background()
	if err := c.SetActive(ctx, false); err != nil {
		t.Fatal(err)
	}
	if err := c.SetActive(ctx, true); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !(fs.sent(`<inactive xmlns="urn:xmpp:csi:0">`) && fs.sent(`<active xmlns="urn:xmpp:csi:0">`)) {
		if time.Now().After(deadline) {
			t.Fatal("client state not sent")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
