package session_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"xchat/internal/faultproxy"
	"xchat/internal/testserver"
	"xchat/session"
	"xchat/store"
)

func proxied(t *testing.T, srv *testserver.Server) *faultproxy.Proxy {
	t.Helper()
	p, err := faultproxy.New(srv.C2SAddr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// waitSM waits until stream management is on (the first ack came back).
func waitSM(t *testing.T, a *account, to string) {
	t.Helper()
	m, err := a.c.SendMessage(context.Background(), to, "sm probe")
	if err != nil {
		t.Fatal(err)
	}
	a.waitFor("probe sent", 10*time.Second, func(ev session.Event) bool {
		e, ok := ev.(session.MessageStateEvent)
		return ok && e.ID == m.ID && e.State == store.StateSent
	})
}

func TestStreamResumedAfterCut(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	users := srv.Users(t, 2)
	p := proxied(t, srv)
	cfg := config(srv, users[0], "a")
	cfg.Server = p.Addr()
	alice := start(t, cfg, "")
	bob := start(t, config(srv, users[1], "b"), "")
	alice.waitOnline()
	bob.waitOnline()
	waitSynced(alice)
	waitSM(t, alice, users[1].JID)
	bob.waitMessage(users[0].JID, "sm probe")

	ctx := context.Background()
	p.Cut()
	// While alice is cut off, bob writes; the server queues it in alice's
	// hibernating session.
	if _, err := bob.c.SendMessage(ctx, users[0].JID, "while you were away"); err != nil {
		t.Fatal(err)
	}
	ev := alice.waitFor("online again", 20*time.Second, func(ev session.Event) bool {
		e, ok := ev.(session.StateEvent)
		return ok && e.State == session.Online
	}).(session.StateEvent)
	if !ev.Resumed {
		t.Fatal("the stream was not resumed: a new login took place")
	}
	alice.waitMessage(users[1].JID, "while you were away")
	if _, err := alice.c.SendMessage(ctx, users[1].JID, "back"); err != nil {
		t.Fatal(err)
	}
	bob.waitMessage(users[0].JID, "back")
	n, _ := alice.st.Count(ctx, users[0].JID, users[1].JID)
	if n != 3 {
		t.Fatalf("alice holds %d messages, want 3", n)
	}
}

// TestCutWhileSending drops the connection in the middle of a burst of 100
// messages: every message must reach bob exactly once and end up Sent.
func TestCutWhileSending(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	users := srv.Users(t, 2)
	p := proxied(t, srv)
	cfg := config(srv, users[0], "a")
	cfg.Server = p.Addr()
	alice := start(t, cfg, "")
	bob := start(t, config(srv, users[1], "b"), "")
	alice.waitOnline()
	bob.waitOnline()
	waitSynced(alice)
	waitSM(t, alice, users[1].JID)
	ctx := context.Background()

	const n = 100
	for i := range n {
		if _, err := alice.c.SendMessage(ctx, users[1].JID, fmt.Sprintf("burst %03d", i)); err != nil {
			t.Fatal(err)
		}
		if i == 40 {
			p.Cut()
		}
	}
	fctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := alice.c.Flush(fctx); err != nil {
		t.Fatalf("outbox not flushed: %v", err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		got, _ := bob.st.Latest(ctx, users[1].JID, users[0].JID, 1000)
		if len(got) >= n+1 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	got, err := bob.st.Latest(ctx, users[1].JID, users[0].JID, 1000)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, m := range got {
		seen[m.Body]++
	}
	for i := range n {
		if b := fmt.Sprintf("burst %03d", i); seen[b] != 1 {
			t.Errorf("%q reached bob %d times", b, seen[b])
		}
	}
	out, _ := alice.st.Outbox(ctx, users[0].JID)
	if len(out) != 0 {
		t.Errorf("%d messages still pending", len(out))
	}
}
