package session

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"xchat/store"
)

// TestOlderPageKeepsOrderAcrossSecond: two messages received live just
// after a second began, archived by the server in the second before (whole
// second stamps), come back in an older-history page. Their stored times
// move to the archive's, and their order stays the order they were sent.
func TestOlderPageKeepsOrderAcrossSecond(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "x.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	c, err := New(Config{JID: "alice@example.org", Password: func(context.Context) (string, error) { return "x", nil }}, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	const peer = "bob@example.net"
	second := time.Date(2026, 1, 1, 12, 0, 47, 0, time.UTC)
	msg := func(body, sid string, ts time.Time) store.Message {
		return store.Message{Account: c.acct, Peer: peer, Kind: store.KindChat, Direction: store.Incoming,
			Sender: peer, Body: body, Type: "chat", StanzaID: sid, StanzaBy: c.acct,
			Timestamp: ts, Received: ts, State: store.StateReceived}
	}
	// Received live at 48.003 and 48.010, in the order sent.
	live := []*store.Message{
		msgPtr(msg("early 3", "s3", second.Add(time.Second+3*time.Millisecond))),
		msgPtr(msg("early 4", "s4", second.Add(time.Second+10*time.Millisecond))),
	}
	if _, err := st.AddMessages(ctx, live); err != nil {
		t.Fatal(err)
	}
	// The archive stamps both "12:00:47" (placed at the second's end); the
	// page goes before a newer message held at 50.
	endOfSecond := second.Add(999 * time.Millisecond)
	q := &mamQueryState{archive: c.acct, older: true}
	for _, m := range []store.Message{msg("early 3", "s3", endOfSecond), msg("early 4", "s4", endOfSecond)} {
		m.ArchiveTime = true
		q.page = append(q.page, m)
	}
	if _, _, _, err := c.storeOlder(ctx, q, time.Time{}, second.Add(3*time.Second)); err != nil {
		t.Fatal(err)
	}
	got, err := st.Latest(ctx, c.acct, peer, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Body != "early 3" || got[1].Body != "early 4" {
		var bodies []string
		for _, m := range got {
			bodies = append(bodies, m.Body+" @"+m.Timestamp.Format("05.000"))
		}
		t.Fatalf("stored order %q", bodies)
	}
}

func msgPtr(m store.Message) *store.Message { return &m }
