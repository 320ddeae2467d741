package main

// End-to-end test of group chats in the interface: alice types into the
// TUI in tmux, bob is an in-test session on the same Prosody harness.

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"mellium.im/xmpp/jid"

	"xchat/internal/testserver"
	"xchat/internal/tmuxtest"
	"xchat/session"
	"xchat/store"
)

func TestTUIGroupChat(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t, testserver.Options{NoUpload: true})
	users := srv.Users(t, 2)
	alice, bob := users[0], users[1]

	bc := startClient(t, srv, bob, "muc", false)
	bc.waitOnline()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	roomJID, err := bc.c.CreateRoom(ctx, session.PublicChannel, "e2e room", nil)
	if err != nil {
		t.Fatalf("bob creates the channel: %v", err)
	}
	bobJID, err := jid.Parse(bob.JID)
	if err != nil {
		t.Fatal(err)
	}
	bobNick := bobJID.Localpart()

	ha := newHome(t, srv, alice, "")
	sa := startTUI(t, ha, tmuxtest.Options{})
	sa.SendText("/join " + roomJID)
	sa.SendKeys("Enter")

	// The room opens with its occupant list, which shows bob.
	occupant := regexp.MustCompile(`(?m)│ [●◐◑⊘] ` + regexp.QuoteMeta(bobNick) + ` *$`)
	screen := sa.WaitFor("bob's nick in the occupant list", occupant.MatchString)
	if !strings.Contains(screen, "│ Moderators") && !strings.Contains(screen, "│ Participants") {
		t.Errorf("the occupant list has no role heading:\n%s", tmuxtest.Frame(screen))
	}

	// Bob speaks; alice's pane shows it with his nick.
	const hello = "hello from bob to the e2e room"
	if _, err := bc.c.SendGroupMessage(ctx, roomJID, hello); err != nil {
		t.Fatalf("bob sends: %v", err)
	}
	sa.WaitForText(bobNick + ": " + hello)

	// Alice answers by typing; bob receives it from the room.
	const reply = "alice answers in the room"
	sa.SendText(reply)
	sa.SendKeys("Enter")
	ev := bc.waitFor("alice's reply in the room", 30*time.Second, func(ev session.Event) bool {
		e, ok := ev.(session.MessageEvent)
		return ok && e.Message.Kind == store.KindGroupchat && e.Message.Peer == roomJID &&
			e.Message.Direction == store.Incoming && e.Message.Body == reply
	})
	if m := ev.(session.MessageEvent).Message; m.Sender == bobNick || m.Sender == "" {
		t.Errorf("alice's message came from nick %q", m.Sender)
	}
	// The room reflected it: alice's copy shows as delivered.
	sa.WaitForText(reply + " ✓✓")
}

// TestSendToRoom: `xchat send ROOM TEXT` recognises a room (disco#info),
// joins it and sends a group message, not a 1:1 message the room refuses.
func TestSendToRoom(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t, testserver.Options{})
	users := srv.Users(t, 2)
	alice, bob := users[0], users[1]
	ctx := context.Background()
	bc := startClient(t, srv, bob, "b", false)
	bc.waitOnline()
	room, err := bc.c.CreateRoom(ctx, session.PublicChannel, "script room", nil)
	if err != nil {
		t.Fatal(err)
	}
	ha := newHome(t, srv, alice, "") // a store that has never seen the room

	r := runXchat(t, ha, "send", room, "hello", "room")
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("send to a room:\n%s", r)
	}
	bc.waitFor("alice's room message", 20*time.Second, func(ev session.Event) bool {
		e, ok := ev.(session.MessageEvent)
		return ok && e.Message.Peer == room && e.Message.Kind == store.KindGroupchat &&
			e.Message.Direction == store.Incoming && e.Message.Body == "hello room"
	})
}
