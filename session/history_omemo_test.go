package session_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"xchat/session"
	"xchat/store"
)

// TestScrollBackEncryptedNotNew: a new device scrolls back through
// encrypted history (encrypted before it existed, so not for it). The
// messages are stored in their place, marked, but not counted unread and
// not announced as new messages.
func TestScrollBackEncryptedNotNew(t *testing.T) {
	srv, users, alice, bob := omemoContacts(t)
	ctx := context.Background()
	waitEncryption(t, bob, users[0].JID, 1)
	const n = 80 // more than the newest page a new device catches up with
	sendMany(t, bob, users[0].JID, "secret %02d", n)
	alice.waitMessage(users[1].JID, fmt.Sprintf("secret %02d", n-1))

	fresh := start(t, omemoConfig(srv, users[0], "new"), "")
	fresh.waitOnline()
	waitSynced(fresh)
	held, _ := fresh.st.Count(ctx, users[0].JID, users[1].JID)
	if held >= n {
		t.Fatalf("catch-up fetched %d: nothing to scroll back to", held)
	}
	if err := fresh.st.MarkRead(ctx, users[0].JID, users[1].JID); err != nil {
		t.Fatal(err)
	}
	for pages := 0; ; pages++ {
		res, err := fresh.c.FetchOlder(ctx, users[1].JID, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if res.Start {
			break
		}
		if pages > 10 {
			t.Fatal("the archive's start never reached")
		}
	}
	if got, _ := fresh.st.Count(ctx, users[0].JID, users[1].JID); got != n {
		t.Fatalf("holds %d messages after scrolling back, want %d", got, n)
	}
	convs, err := fresh.st.Conversations(ctx, users[0].JID)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range convs {
		if c.Peer == users[1].JID && c.Unread != 0 {
			t.Errorf("older encrypted history counted %d unread", c.Unread)
		}
	}
	// Nothing older than what the catch-up brought was announced as new.
	oldest, err := fresh.st.Latest(ctx, users[0].JID, users[1].JID, n)
	if err != nil || len(oldest) != n {
		t.Fatal(err)
	}
	first := oldest[n-held].Timestamp // the oldest the catch-up brought
	for {
		select {
		case ev := <-fresh.events:
			if e, ok := ev.(session.MessageEvent); ok && e.Message.Peer == users[1].JID &&
				e.Message.Direction == store.Incoming && e.Message.Timestamp.Before(first) {
				t.Fatalf("older message announced as new: %+v", e.Message)
			}
		default:
			return
		}
	}
}
