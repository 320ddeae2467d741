package session_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"xchat/internal/testserver"
	"xchat/store"
)

// A file message sent again from the outbox by a later run (the first
// one quit before the server confirmed it) still carries its XEP-0066
// element: the uploaded URL is recorded in the store, not only in memory.
func TestFileMessageFromOutboxKeepsOOB(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	users := srv.Users(t, 2)
	alice, bob := users[0], users[1]
	ctx := context.Background()
	db := filepath.Join(t.TempDir(), "alice.db")
	bcfg := config(srv, bob, "b")
	trace := &syncBuffer{}
	bcfg.TraceIn = trace
	b := start(t, bcfg, "")
	b.waitOnline()

	a := start(t, config(srv, alice, "a"), db)
	a.waitOnline()
	path, _ := randomFile(t, "report.pdf", 10<<10)
	sent, err := a.c.SendFile(ctx, bob.JID, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	waitBody(b, alice.JID, func(s string) bool { return s == sent.URL })
	oob := "<url>" + sent.URL + "</url>"
	if n := strings.Count(trace.String(), oob); n != 1 {
		t.Fatalf("%d OOB elements after the first send, want 1", n)
	}
	a.stop()

	// What an unconfirmed send leaves behind: the message, pending.
	st, err := store.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	m := store.Message{Account: alice.JID, Peer: bob.JID, Kind: store.KindChat, Direction: store.Outgoing,
		Sender: alice.JID, SenderFull: alice.JID, Body: sent.URL, Type: "chat", OriginID: "resent-file-1",
		Timestamp: now, Received: now, State: store.StatePending}
	if _, err := st.AddMessage(ctx, &m); err != nil {
		t.Fatal(err)
	}
	// A plain link alone in a message is not one of our files.
	other := m
	other.ID, other.OriginID, other.Body = 0, "resent-link-1", "https://example.org/page.html"
	if _, err := st.AddMessage(ctx, &other); err != nil {
		t.Fatal(err)
	}
	st.Close()

	a2 := start(t, config(srv, alice, "a2"), db)
	a2.waitOnline()
	waitBody(b, alice.JID, func(s string) bool { return s == other.Body })
	if n := strings.Count(trace.String(), oob); n != 2 {
		t.Errorf("%d OOB elements after the resend from the outbox, want 2", n)
	}
	if strings.Contains(trace.String(), "<url>"+other.Body+"</url>") {
		t.Error("a plain link got an OOB element")
	}
}
