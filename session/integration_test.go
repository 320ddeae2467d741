package session_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"xchat/internal/testserver"
	"xchat/internal/xmpptest"
	"xchat/session"
	"xchat/store"
)

// account is a running client in a test, with its event stream recorded.
type account struct {
	t      *testing.T
	c      *session.Client
	st     *store.Store
	events chan session.Event
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
}

func testLogger(t *testing.T) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

func config(srv *testserver.Server, u testserver.User, resource string) session.Config {
	pass := u.Password
	cfg := session.Config{
		JID:        u.JID,
		Resource:   resource,
		Password:   func(context.Context) (string, error) { return pass, nil },
		Server:     srv.C2SAddr,
		TLS:        srv.TLSConfig(),
		MinBackoff: 200 * time.Millisecond,
		MaxBackoff: time.Second,
	}
	if os.Getenv("XCHAT_TEST_TRACE") != "" {
		cfg.TraceIn, cfg.TraceOut = prefixed(u.JID+" IN  "), prefixed(u.JID+" OUT ")
	}
	return cfg
}

type prefixed string

func (p prefixed) Write(b []byte) (int, error) {
	fmt.Fprintf(os.Stderr, "%s%s\n", p, b)
	return len(b), nil
}

// start runs a client on its own store (dbPath "" = a fresh temp file).
func start(t *testing.T, cfg session.Config, dbPath string) *account {
	t.Helper()
	if dbPath == "" {
		dbPath = filepath.Join(t.TempDir(), "xchat.db")
	}
	ctx, cancel := context.WithCancel(context.Background())
	st, err := store.Open(ctx, dbPath)
	if err != nil {
		t.Fatal(err)
	}
	c, err := session.New(cfg, st, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	a := &account{t: t, c: c, st: st, events: make(chan session.Event, 4096), cancel: cancel, done: make(chan error, 1)}
	go func() { a.done <- c.Run(ctx) }()
	go func() {
		for ev := range c.Events() {
			a.events <- ev
		}
		close(a.events)
	}()
	t.Cleanup(a.stop)
	return a
}

func (a *account) stop() { a.once.Do(a.doStop) }

func (a *account) doStop() {
	a.cancel()
	select {
	case <-a.done:
	case <-time.After(10 * time.Second):
		a.t.Error("Run did not return after cancel")
	}
	a.st.Close()
}

// waitFor reads events until match returns true or the timeout passes.
func (a *account) waitFor(what string, timeout time.Duration, match func(session.Event) bool) session.Event {
	a.t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case ev, ok := <-a.events:
			if !ok {
				a.t.Fatalf("%s: event stream closed while waiting for %s", a.c.Account(), what)
			}
			if match(ev) {
				return ev
			}
		case <-deadline:
			a.t.Fatalf("%s: timed out waiting for %s", a.c.Account(), what)
		}
	}
}

func (a *account) waitOnline() {
	a.t.Helper()
	a.waitFor("online", 20*time.Second, func(ev session.Event) bool {
		if e, ok := ev.(session.StateEvent); ok {
			if e.State == session.Offline && e.Err != nil {
				a.t.Fatalf("login failed: %v", e.Err)
			}
			return e.State == session.Online
		}
		return false
	})
}

func (a *account) waitMessage(from, body string) store.Message {
	a.t.Helper()
	ev := a.waitFor("message "+body, 20*time.Second, func(ev session.Event) bool {
		e, ok := ev.(session.MessageEvent)
		return ok && e.Message.Direction == store.Incoming && e.Message.Peer == from && e.Message.Body == body
	})
	return ev.(session.MessageEvent).Message
}

func TestLoginAndMessagesBothWays(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	users := srv.Users(t, 2)
	alice := start(t, config(srv, users[0], "a1"), "")
	bob := start(t, config(srv, users[1], "b1"), "")
	alice.waitOnline()
	bob.waitOnline()
	ctx := context.Background()

	m, err := alice.c.SendMessage(ctx, users[1].JID, "hello bob ☃")
	if err != nil {
		t.Fatal(err)
	}
	if m.State != store.StatePending || m.OriginID == "" || m.ID == 0 {
		t.Fatalf("stored outgoing message = %+v, want pending with origin-id and id", m)
	}
	alice.waitFor("sent state", 10*time.Second, func(ev session.Event) bool {
		e, ok := ev.(session.MessageStateEvent)
		return ok && e.ID == m.ID && e.State == store.StateSent
	})
	got := bob.waitMessage(users[0].JID, "hello bob ☃")
	if got.OriginID != m.OriginID {
		t.Errorf("origin-id at receiver = %q, want %q", got.OriginID, m.OriginID)
	}
	if got.StanzaID == "" || got.StanzaBy != users[1].JID {
		t.Errorf("receiver did not record the server's stanza-id: %+v", got)
	}
	if _, err := bob.c.SendMessage(ctx, users[0].JID, "hi alice"); err != nil {
		t.Fatal(err)
	}
	alice.waitMessage(users[1].JID, "hi alice")

	// Both sides have the conversation in their stores, in order.
	hist, err := alice.st.Latest(ctx, users[0].JID, users[1].JID, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 2 || hist[0].Body != "hello bob ☃" || hist[1].Body != "hi alice" {
		t.Fatalf("alice's history = %+v", bodies(hist))
	}
	if hist[0].State != store.StateSent {
		t.Errorf("alice's sent message state = %v, want sent", hist[0].State)
	}
	out, err := alice.st.Outbox(ctx, users[0].JID)
	if err != nil || len(out) != 0 {
		t.Errorf("outbox after ack = %v, %v; want empty", bodies(out), err)
	}
	// The server's disco#info features are cached for later layers.
	deadline := time.Now().Add(5 * time.Second)
	for {
		feats, err := alice.st.Features(ctx, users[0].JID, srv.Domain)
		if err == nil && slices.Contains(feats, "urn:xmpp:carbons:2") && slices.Contains(feats, "urn:xmpp:ping") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("server features not cached: %v %v", feats, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func bodies(ms []store.Message) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Body)
	}
	return out
}

func TestWrongPasswordIsFatal(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	u := srv.Users(t, 1)[0]
	u.Password += "-wrong"
	a := start(t, config(srv, u, ""), "")
	ev := a.waitFor("offline", 20*time.Second, func(ev session.Event) bool {
		e, ok := ev.(session.StateEvent)
		return ok && (e.State == session.Offline || e.State == session.Online)
	}).(session.StateEvent)
	if ev.State != session.Offline || session.KindOf(ev.Err) != session.ErrAuth {
		t.Fatalf("state %v err %v, want offline with an auth error", ev.State, ev.Err)
	}
	if !strings.Contains(ev.Err.Error(), "password") {
		t.Errorf("error %q does not tell the user about the password", ev.Err)
	}
	// No reconnect loop: no further Connecting state within a few backoffs.
	select {
	case ev := <-a.events:
		if e, ok := ev.(session.StateEvent); ok && e.State == session.Connecting {
			t.Fatalf("client retried after a wrong password")
		}
	case <-time.After(1500 * time.Millisecond):
	}
}

func TestUntrustedCertificateRefused(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	u := srv.Users(t, 1)[0]
	for _, mode := range []session.TLSMode{session.StartTLS, session.DirectTLS} {
		cfg := config(srv, u, "")
		cfg.TLS = &tls.Config{RootCAs: x509.NewCertPool()} // trusts nothing
		cfg.TLSMode = mode
		if mode == session.DirectTLS {
			cfg.Server = srv.DirectTLSAddr
		}
		a := start(t, cfg, "")
		ev := a.waitFor("offline", 20*time.Second, func(ev session.Event) bool {
			e, ok := ev.(session.StateEvent)
			return ok && (e.State == session.Offline || e.State == session.Online)
		}).(session.StateEvent)
		if ev.State != session.Offline || session.KindOf(ev.Err) != session.ErrCertificate {
			t.Fatalf("mode %v: state %v err %v, want offline with a certificate error", mode, ev.State, ev.Err)
		}
	}
}

func TestDirectTLS(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	u := srv.Users(t, 1)[0]
	cfg := config(srv, u, "")
	cfg.Server = srv.DirectTLSAddr
	cfg.TLSMode = session.DirectTLS
	start(t, cfg, "").waitOnline()
}

func TestUnreachableServerRetries(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	cfg := session.Config{
		JID:        "nobody@localhost",
		Password:   func(context.Context) (string, error) { return "x", nil },
		Server:     addr,
		MinBackoff: 100 * time.Millisecond,
	}
	a := start(t, cfg, "")
	ev := a.waitFor("reconnecting", 10*time.Second, func(ev session.Event) bool {
		e, ok := ev.(session.StateEvent)
		return ok && e.State == session.Reconnecting
	}).(session.StateEvent)
	if session.KindOf(ev.Err) != session.ErrUnreachable || ev.Retry.IsZero() {
		t.Fatalf("err %v retry %v, want unreachable with a retry time", ev.Err, ev.Retry)
	}
	// It tries again by itself.
	a.waitFor("second attempt", 10*time.Second, func(ev session.Event) bool {
		e, ok := ev.(session.StateEvent)
		return ok && e.State == session.Connecting
	})
}

func TestSubscriptionHandshakeAndRosterPush(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	users := srv.Users(t, 2)
	alice := start(t, config(srv, users[0], "a"), "")
	bob := start(t, config(srv, users[1], "b"), "")
	alice.waitOnline()
	bob.waitOnline()
	ctx := context.Background()

	if err := alice.c.AddContact(ctx, users[1].JID, "Bob"); err != nil {
		t.Fatal(err)
	}
	// The roster push for the new item arrives with ask=subscribe.
	alice.waitFor("roster push", 10*time.Second, func(ev session.Event) bool {
		e, ok := ev.(session.RosterEvent)
		return ok && hasContact(e.Contacts, users[1].JID, func(c store.Contact) bool { return c.Name == "Bob" })
	})
	bob.waitFor("subscription request", 10*time.Second, func(ev session.Event) bool {
		e, ok := ev.(session.SubscriptionRequestEvent)
		return ok && e.From == users[0].JID
	})
	if err := bob.c.Approve(ctx, users[0].JID); err != nil {
		t.Fatal(err)
	}
	// Approve subscribes back; alice approves too.
	alice.waitFor("request back", 10*time.Second, func(ev session.Event) bool {
		e, ok := ev.(session.SubscriptionRequestEvent)
		return ok && e.From == users[1].JID
	})
	if err := alice.c.Approve(ctx, users[1].JID); err != nil {
		t.Fatal(err)
	}
	alice.waitFor("subscription both", 10*time.Second, func(ev session.Event) bool {
		e, ok := ev.(session.RosterEvent)
		return ok && hasContact(e.Contacts, users[1].JID, func(c store.Contact) bool { return c.Subscription == "both" })
	})
	// With mutual subscription alice sees bob's presence.
	alice.waitFor("bob's presence", 10*time.Second, func(ev session.Event) bool {
		e, ok := ev.(session.PresenceEvent)
		return ok && e.JID == users[1].JID && e.Resource == "b" && e.Show == session.ShowOnline
	})
	// The roster and its version are in the store.
	cs, err := alice.st.Contacts(ctx, users[0].JID)
	if err != nil || !hasContact(cs, users[1].JID, func(c store.Contact) bool { return c.Subscription == "both" }) {
		t.Fatalf("stored roster = %+v, %v", cs, err)
	}
	// A second device with an empty store gets the full roster, names included.
	alice2 := start(t, config(srv, users[0], "a2"), "")
	alice2.waitFor("full roster", 10*time.Second, func(ev session.Event) bool {
		e, ok := ev.(session.RosterEvent)
		return ok && hasContact(e.Contacts, users[1].JID, func(c store.Contact) bool { return c.Name == "Bob" && c.Subscription == "both" })
	})
	alice2.stop()
	if err := bob.c.SetPresence(ctx, session.ShowAway, "lunch"); err != nil {
		t.Fatal(err)
	}
	alice.waitFor("away", 10*time.Second, func(ev session.Event) bool {
		e, ok := ev.(session.PresenceEvent)
		return ok && e.JID == users[1].JID && e.Show == session.ShowAway && e.Status == "lunch"
	})

	if err := alice.c.RemoveContact(ctx, users[1].JID); err != nil {
		t.Fatal(err)
	}
	alice.waitFor("removal push", 10*time.Second, func(ev session.Event) bool {
		e, ok := ev.(session.RosterEvent)
		return ok && !hasContact(e.Contacts, users[1].JID, func(store.Contact) bool { return true })
	})
}

func hasContact(cs []store.Contact, j string, f func(store.Contact) bool) bool {
	for _, c := range cs {
		if c.JID == j && f(c) {
			return true
		}
	}
	return false
}

// TestRosterPushSpoofingIgnored has bob send alice a roster push: the server
// routes it to alice's full JID, and alice must refuse it.
func TestRosterPushSpoofingIgnored(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	users := srv.Users(t, 2)
	alice := start(t, config(srv, users[0], "a"), "")
	alice.waitOnline()
	raw := xmpptest.Dial(t, srv, users[1])
	resp := string(raw.IQ(t, []byte(fmt.Sprintf(`<iq type='set' to='%s/a' id='evil'><query xmlns='jabber:iq:roster'><item jid='mallory@evil.example' name='Trust me' subscription='both'/></query></iq>`, users[0].JID))))
	if !strings.Contains(resp, `type="error"`) && !strings.Contains(resp, `type='error'`) {
		t.Fatalf("forged roster push answered %s, want an error", resp)
	}
	ctx := context.Background()
	cs, err := alice.c.Roster(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if hasContact(cs, "mallory@evil.example", func(store.Contact) bool { return true }) {
		t.Fatal("forged roster push was applied")
	}
	stored, _ := alice.st.Contacts(ctx, users[0].JID)
	if hasContact(stored, "mallory@evil.example", func(store.Contact) bool { return true }) {
		t.Fatal("forged roster push was stored")
	}
}

func TestHistoryAndOutboxSurviveRestart(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	users := srv.Users(t, 2)
	db := filepath.Join(t.TempDir(), "alice.db")
	bob := start(t, config(srv, users[1], "b"), "")
	bob.waitOnline()
	ctx := context.Background()

	alice := start(t, config(srv, users[0], "a"), db)
	alice.waitOnline()
	if _, err := alice.c.SendMessage(ctx, users[1].JID, "before restart"); err != nil {
		t.Fatal(err)
	}
	bob.waitMessage(users[0].JID, "before restart")
	alice.stop()

	// A client that never gets online (server address dead) still stores
	// what the user types as pending.
	cfgDead := config(srv, users[0], "a")
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	cfgDead.Server = l.Addr().String()
	l.Close()
	offline := start(t, cfgDead, db)
	m, err := offline.c.SendMessage(ctx, users[1].JID, "typed while offline")
	if err != nil {
		t.Fatal(err)
	}
	if m.State != store.StatePending {
		t.Fatalf("offline message state = %v", m.State)
	}
	offline.stop()

	alice = start(t, config(srv, users[0], "a"), db)
	hist, err := alice.st.Latest(ctx, users[0].JID, users[1].JID, 10)
	if err != nil {
		t.Fatal(err)
	}
	if got := bodies(hist); len(got) != 2 || got[0] != "before restart" || got[1] != "typed while offline" {
		t.Fatalf("history after restart = %q", got)
	}
	alice.waitOnline()
	// The outbox goes out after login, exactly once.
	bob.waitMessage(users[0].JID, "typed while offline")
	alice.waitFor("sent", 10*time.Second, func(ev session.Event) bool {
		e, ok := ev.(session.MessageStateEvent)
		return ok && e.ID == m.ID && e.State == store.StateSent
	})
}

func TestReconnectAfterServerRestart(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	users := srv.Users(t, 2)
	alice := start(t, config(srv, users[0], "a"), "")
	alice.waitOnline()
	srv.Restart(t)
	alice.waitFor("reconnecting", 20*time.Second, func(ev session.Event) bool {
		e, ok := ev.(session.StateEvent)
		return ok && e.State == session.Reconnecting
	})
	alice.waitOnline()
	bob := start(t, config(srv, users[1], "b"), "")
	bob.waitOnline()
	if _, err := alice.c.SendMessage(context.Background(), users[1].JID, "after the restart"); err != nil {
		t.Fatal(err)
	}
	bob.waitMessage(users[0].JID, "after the restart")
}

func TestNewRejectsBadConfig(t *testing.T) {
	for _, j := range []string{"", "no-local-part.example", "a@b@c"} {
		_, err := session.New(session.Config{JID: j, Password: func(context.Context) (string, error) { return "", nil }}, nil, nil)
		var se *session.Error
		if !errors.As(err, &se) || se.Kind != session.ErrConfig {
			t.Errorf("New(%q) err = %v, want a config error", j, err)
		}
	}
}
