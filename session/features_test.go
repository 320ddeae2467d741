package session_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"xchat/internal/testserver"
	"xchat/session"
	"xchat/store"
)

func waitUpdated(a *account, what string) session.MessageUpdatedEvent {
	a.t.Helper()
	return a.waitFor(what, 15*time.Second, func(ev session.Event) bool {
		e, ok := ev.(session.MessageUpdatedEvent)
		return ok && e.What == what
	}).(session.MessageUpdatedEvent)
}

// TestMessageFeatures: corrections, retractions, reactions, replies, chat
// states and read markers between two xchat clients, plain and with OMEMO.
func TestMessageFeatures(t *testing.T) {
	for _, encrypted := range []bool{false, true} {
		name := "plain"
		if encrypted {
			name = "omemo"
		}
		t.Run(name, func(t *testing.T) {
			srv := testserver.Start(t, testserver.Options{})
			users := srv.Users(t, 2)
			ca, cb := config(srv, users[0], "a"), config(srv, users[1], "b")
			ca.OMEMO, cb.OMEMO = encrypted, encrypted
			trace := &syncBuffer{} // what alice receives
			ca.TraceIn = trace
			alice, bob := start(t, ca, ""), start(t, cb, "")
			alice.waitOnline()
			bob.waitOnline()
			befriend(t, alice, bob, users[0].JID, users[1].JID)
			if encrypted {
				waitEncryption(t, alice, users[1].JID, 1)
			}
			ctx := context.Background()

			m, err := alice.c.SendMessage(ctx, users[1].JID, "helo")
			if err != nil {
				t.Fatal(err)
			}
			got := bob.waitMessage(users[0].JID, "helo")
			if encrypted && got.Encryption != "omemo" {
				t.Fatalf("not encrypted: %+v", got)
			}
			// Correction: bob's copy changes, marked edited; no new message.
			if err := alice.c.Correct(ctx, m.ID, "hello"); err != nil {
				t.Fatal(err)
			}
			up := waitUpdated(bob, "corrected")
			fixed, err := bob.st.Message(ctx, up.ID)
			if err != nil || fixed.Body != "hello" || !fixed.Edited || fixed.ID != got.ID {
				t.Fatalf("corrected message = %+v, %v", fixed, err)
			}
			if n, _ := bob.st.Count(ctx, users[1].JID, users[0].JID); n != 1 {
				t.Errorf("bob has %d messages after a correction, want 1", n)
			}
			// Reactions, from bob to alice's message.
			if err := bob.c.React(ctx, got.ID, []string{"👍", "🎉"}); err != nil {
				t.Fatal(err)
			}
			up = waitUpdated(alice, "reactions")
			rs, err := alice.st.Reactions(ctx, []int64{up.ID})
			if err != nil || len(rs[m.ID]) != 1 || rs[m.ID][0].Sender != users[1].JID || len(rs[m.ID][0].Emojis) != 2 {
				t.Fatalf("reactions = %+v, %v", rs, err)
			}
			// A reply from bob, rendered without its fallback.
			r, err := bob.c.Reply(ctx, got.ID, "hi yourself")
			if err != nil {
				t.Fatal(err)
			}
			reply := alice.waitMessage(users[1].JID, "hi yourself")
			if reply.ReplyTo != m.OriginID || r.ReplyTo == "" {
				t.Errorf("reply refers to %q, want %q", reply.ReplyTo, m.OriginID)
			}
			// On the wire it quotes what it answers, marked as a fallback
			// (inside the encrypted body with OMEMO, so not visible here).
			wire := trace.String()
			if !strings.Contains(wire, "urn:xmpp:fallback:0") {
				t.Error("the reply went without its fallback element")
			}
			if quote := users[0].JID + " wrote:"; strings.Contains(wire, quote) == encrypted {
				t.Errorf("quote %q readable on the wire: %v, want %v", quote, encrypted, !encrypted)
			}
			// Chat state and read marker.
			if err := bob.c.SendChatState(ctx, users[0].JID, "composing"); err != nil {
				t.Fatal(err)
			}
			alice.waitFor("composing", 10*time.Second, func(ev session.Event) bool {
				e, ok := ev.(session.ChatStateEvent)
				return ok && e.JID == users[1].JID && e.State == "composing"
			})
			if err := bob.c.MarkDisplayed(ctx, got.ID); err != nil {
				t.Fatal(err)
			}
			alice.waitFor("read", 10*time.Second, func(ev session.Event) bool {
				e, ok := ev.(session.MessageStateEvent)
				return ok && e.ID == m.ID && e.State == store.StateRead
			})
			// Retraction: bob's copy becomes a tombstone.
			if err := alice.c.Retract(ctx, m.ID); err != nil {
				t.Fatal(err)
			}
			up = waitUpdated(bob, "retracted")
			gone, err := bob.st.Message(ctx, up.ID)
			if err != nil || gone.Body != "" || !gone.Retracted {
				t.Fatalf("retracted message = %+v, %v", gone, err)
			}
			// Only the sender may change a message: bob cannot correct
			// alice's message.
			if err := bob.c.Correct(ctx, got.ID, "forged"); err == nil {
				t.Error("correcting someone else's message was allowed")
			}
		})
	}
}
