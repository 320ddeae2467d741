package omemopeer_test

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"xchat/internal/testserver"
	"xchat/muc"
	"xchat/omemo"
	"xchat/session"
	"xchat/store"
)

// The same exchanges as TestInteropPython, but through xchat's own account
// code (session.Client: publishing, device lists, bundles, sessions,
// encryption, decryption into the store, key transports, rooms).

// xclient is a running session.Client with its events.
type xclient struct {
	t      *testing.T
	jid    string
	c      *session.Client
	st     *store.Store
	events chan session.Event
	// tolerateUndecryptable lets "undecryptable" events through (by
	// default they fail the test).
	tolerateUndecryptable bool
}

func startClient(t *testing.T, srv *testserver.Server, u testserver.User) *xclient {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "xchat.db"))
	if err != nil {
		t.Fatal(err)
	}
	pass := u.Password
	cfg := session.Config{
		JID: u.JID, Resource: "xchat", Server: srv.C2SAddr, TLS: srv.TLSConfig(), OMEMO: true,
		Password:   func(context.Context) (string, error) { return pass, nil },
		MinBackoff: 200 * time.Millisecond, MaxBackoff: time.Second,
	}
	c, err := session.New(cfg, st, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	x := &xclient{t: t, jid: u.JID, c: c, st: st, events: make(chan session.Event, 4096)}
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	go func() {
		for ev := range c.Events() {
			x.events <- ev
		}
		close(x.events)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("Run did not return")
		}
		st.Close()
	})
	x.waitFor("online", func(ev session.Event) bool {
		e, ok := ev.(session.StateEvent)
		if ok && e.State == session.Offline && e.Err != nil {
			t.Fatalf("login: %v", e.Err)
		}
		return ok && e.State == session.Online
	})
	return x
}

func (x *xclient) waitFor(what string, match func(session.Event) bool) session.Event {
	x.t.Helper()
	deadline := time.After(stepTimeout)
	for {
		select {
		case ev, ok := <-x.events:
			if !ok {
				x.t.Fatalf("%s: events closed waiting for %s", x.jid, what)
			}
			if e, isOM := ev.(session.OMEMOEvent); isOM && e.Kind == "undecryptable" && !x.tolerateUndecryptable {
				x.t.Fatalf("%s: %s", x.jid, e.Text)
			}
			if match(ev) {
				return ev
			}
		case <-deadline:
			x.t.Fatalf("%s: timed out waiting for %s", x.jid, what)
		}
	}
}

// expectEncrypted waits for an encrypted message with body in the
// conversation with peer (a JID or a room).
func (x *xclient) expectEncrypted(peer, body string) store.Message {
	x.t.Helper()
	m := x.waitFor(body, func(ev session.Event) bool {
		e, ok := ev.(session.MessageEvent)
		return ok && e.Message.Peer == peer && e.Message.Direction == store.Incoming && e.Message.Body != ""
	}).(session.MessageEvent).Message
	if m.Body != body || m.Encryption != "omemo" || m.Error != "" {
		x.t.Fatalf("%s got %q (encryption %q, error %q), want %q encrypted", x.jid, m.Body, m.Encryption, m.Error, body)
	}
	return m
}

// waitDevices waits until a message to peer would be encrypted to n devices.
func (x *xclient) waitDevices(peer string, n int) {
	x.t.Helper()
	deadline := time.Now().Add(stepTimeout)
	for {
		st, err := x.c.Encryption(context.Background(), peer)
		if err != nil {
			x.t.Fatal(err)
		}
		if st.Enabled && st.Devices >= n {
			return
		}
		if time.Now().After(deadline) {
			x.t.Fatalf("%s → %s: encryption %+v, want %d devices", x.jid, peer, st, n)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (x *xclient) send(to, text string) {
	x.t.Helper()
	if _, err := x.c.SendMessage(context.Background(), to, text); err != nil {
		x.t.Fatal(err)
	}
}

// sendWhenPublished is send to an account that has just logged in: until
// its device list is published the peer finds no device, and tries again.
func (p *peer) sendWhenPublished(to, text string) {
	p.t.Helper()
	deadline := time.Now().Add(stepTimeout)
	for {
		if _, err := fmt.Fprintf(p.stdin, "send %s %s\n", to, text); err != nil {
			p.t.Fatal(err)
		}
		var v map[string]any
		select {
		case v = <-p.lines:
		case <-time.After(stepTimeout):
			p.t.Fatal("timed out waiting for peer.py")
		}
		if v["sent"] == to {
			return
		}
		e, _ := v["error"].(string)
		if !strings.Contains(e, "NoEligibleDevices") || time.Now().After(deadline) {
			p.t.Fatalf("peer.py: %v", v)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func TestInteropPythonSession(t *testing.T) {
	requirePython(t)
	srv := testserver.Start(t, testserver.Options{})
	users := srv.Users(t, 3)
	alice := startClient(t, srv, users[0])
	py := startPeer(t, srv, users[1])

	// First contact from xchat: a PreKeySignalMessage the peer decrypts.
	alice.waitDevices(py.jid, 1)
	alice.send(py.jid, "hello from xchat")
	py.expectBody(alice.jid, "hello from xchat")

	// First contact from the peer, to another xchat account.
	carol := startClient(t, srv, users[2])
	py.sendWhenPublished(carol.jid, "hello from python")
	carol.expectEncrypted(py.jid, "hello from python")
	// carol answers the new session with an empty key transport, unasked.
	py.expect(func(v map[string]any) bool { return v["keytransport"] == true && v["from"] == carol.jid })
	// The prekey the peer used is gone and replaced.
	var unused, used int
	if err := carol.st.DB().QueryRow("SELECT count(*) FILTER (WHERE used = 0), count(*) FILTER (WHERE used <> 0) FROM omemo_legacy_prekeys").Scan(&unused, &used); err != nil {
		t.Fatal(err)
	}
	if unused != omemo.PreKeyCount || used != 0 {
		t.Errorf("carol's prekeys: %d unused, %d used; want %d and 0", unused, used, omemo.PreKeyCount)
	}
	carol.waitDevices(py.jid, 1)
	carol.send(py.jid, "carol answers")
	py.expectBody(carol.jid, "carol answers")

	// A conversation: 20 messages each way, alternating.
	for i := range 20 {
		out := fmt.Sprintf("xchat says %d", i)
		alice.send(py.jid, out)
		py.expectBody(alice.jid, out)
		in := fmt.Sprintf("python says %d", i)
		py.send(alice.jid, in)
		alice.expectEncrypted(py.jid, in)
	}
}

func TestInteropPythonPrivateGroup(t *testing.T) {
	requirePython(t)
	srv := testserver.Start(t, testserver.Options{})
	users := srv.Users(t, 2)
	ctx := context.Background()
	alice := startClient(t, srv, users[0])
	py := startPeer(t, srv, users[1])

	room, err := alice.c.CreateRoom(ctx, session.PrivateGroup, "Interop", []string{py.jid})
	if err != nil {
		t.Fatal(err)
	}
	// CreateRoom has asked for the membership; wait until it is granted.
	for deadline := time.Now().Add(stepTimeout); ; time.Sleep(100 * time.Millisecond) {
		members, err := alice.c.Affiliations(ctx, room, muc.AffMember)
		if err == nil && len(members) == 1 && members[0].JID == py.jid {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("members = %v, %v", members, err)
		}
	}
	if _, err := fmt.Fprintf(py.stdin, "join %s py\n", room); err != nil {
		t.Fatal(err)
	}
	py.expect(func(v map[string]any) bool { return v["joined"] == room })
	alice.waitDevices(room, 1)

	for i := range 20 {
		out := fmt.Sprintf("to the group %d", i)
		if _, err := alice.c.SendGroupMessage(ctx, room, out); err != nil {
			t.Fatal(err)
		}
		got := py.expect(func(v map[string]any) bool { return v["room"] == room && v["body"] != nil })
		if got["from"] != alice.jid || got["body"] != out {
			t.Fatalf("peer got %v, want %q from %s", got, out, alice.jid)
		}
		in := fmt.Sprintf("python to the group %d", i)
		if _, err := fmt.Fprintf(py.stdin, "sendroom %s %s %s\n", room, alice.jid, in); err != nil {
			t.Fatal(err)
		}
		m := alice.expectEncrypted(room, in)
		if m.Sender != "py" || m.Kind != store.KindGroupchat {
			t.Errorf("group message from %q kind %v", m.Sender, m.Kind)
		}
	}
}
