package session_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"xchat/internal/testserver"
	"xchat/muc"
	"xchat/session"
	"xchat/store"
)

func waitRoom(a *account, room, what string, f func(session.RoomStateEvent) bool) session.RoomStateEvent {
	a.t.Helper()
	return a.waitFor(what, 20*time.Second, func(ev session.Event) bool {
		e, ok := ev.(session.RoomStateEvent)
		return ok && e.Room == room && f(e)
	}).(session.RoomStateEvent)
}

func joined(e session.RoomStateEvent) bool { return e.State == muc.StateJoined }

func hasOccupant(e session.RoomStateEvent, nick string) bool {
	for _, o := range e.Occupants {
		if o.Nick == nick {
			return true
		}
	}
	return false
}

func waitGroupMessage(a *account, room, from, body string) store.Message {
	a.t.Helper()
	return a.waitFor("room message "+body, 20*time.Second, func(ev session.Event) bool {
		e, ok := ev.(session.MessageEvent)
		return ok && e.Message.Kind == store.KindGroupchat && e.Message.Peer == room && e.Message.Sender == from && e.Message.Body == body
	}).(session.MessageEvent).Message
}

func TestChannelCreateJoinTalkModerate(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	users := srv.Users(t, 3)
	ctx := context.Background()
	alice := start(t, config(srv, users[0], "a"), "")
	bob := start(t, config(srv, users[1], "b"), "")
	alice.waitOnline()
	bob.waitOnline()

	room, err := alice.c.CreateRoom(ctx, session.PublicChannel, "Gophers & Friends!", nil)
	if err != nil {
		t.Fatal(err)
	}
	if room != "gophers-friends@"+srv.MUCDomain {
		t.Errorf("room JID = %q", room)
	}
	st := waitRoom(alice, room, "configured channel", func(e session.RoomStateEvent) bool {
		return joined(e) && e.Info.Public && e.Info.Persistent
	})
	if st.Info.MembersOnly || st.Info.NonAnonymous {
		t.Errorf("channel info = %+v; want open and semi-anonymous", st.Info)
	}

	if err := bob.c.JoinRoom(ctx, room, "bobby", ""); err != nil {
		t.Fatal(err)
	}
	waitRoom(bob, room, "bob joined", joined)
	waitRoom(alice, room, "bob in the occupant list", func(e session.RoomStateEvent) bool { return hasOccupant(e, "bobby") })

	if _, err := bob.c.SendGroupMessage(ctx, room, "hello room"); err != nil {
		t.Fatal(err)
	}
	got := waitGroupMessage(alice, room, "bobby", "hello room")
	if got.StanzaID == "" || got.StanzaBy != room {
		t.Errorf("room message without the room's stanza-id: %+v", got)
	}
	// Our own message comes back from the room: stored once, delivered.
	mine, err := alice.c.SendGroupMessage(ctx, room, "welcome bobby")
	if err != nil {
		t.Fatal(err)
	}
	alice.waitFor("reflection", 10*time.Second, func(ev session.Event) bool {
		e, ok := ev.(session.MessageStateEvent)
		return ok && e.ID == mine.ID && e.State == store.StateDelivered
	})
	waitGroupMessage(bob, room, "alice", "welcome bobby")
	if n, _ := alice.st.Count(ctx, users[0].JID, room); n != 2 {
		t.Errorf("alice stored %d room messages, want 2 (reflection deduplicated)", n)
	}

	// A private message to an occupant opens a conversation keyed by the
	// occupant's full room JID.
	if _, err := alice.c.SendMessage(ctx, room+"/bobby", "psst"); err != nil {
		t.Fatal(err)
	}
	pm := bob.waitFor("private message", 10*time.Second, func(ev session.Event) bool {
		e, ok := ev.(session.MessageEvent)
		return ok && e.Message.Kind == store.KindPrivate && e.Message.Body == "psst"
	}).(session.MessageEvent).Message
	if pm.Peer != room+"/alice" {
		t.Errorf("private conversation peer = %q", pm.Peer)
	}

	if err := alice.c.SetSubject(ctx, room, "Go, mostly"); err != nil {
		t.Fatal(err)
	}
	waitRoom(bob, room, "subject", func(e session.RoomStateEvent) bool { return e.Subject == "Go, mostly" })

	if err := alice.c.Kick(ctx, room, "bobby", "too loud"); err != nil {
		t.Fatal(err)
	}
	ev := bob.waitFor("kicked", 10*time.Second, func(ev session.Event) bool {
		e, ok := ev.(session.RoomEvent)
		_, removed := e.Event.(muc.SelfRemoved)
		return ok && removed
	}).(session.RoomEvent)
	if r := ev.Event.(muc.SelfRemoved); r.Reason != muc.ReasonKicked || r.ReasonText != "too loud" {
		t.Errorf("removal = %+v", r)
	}

	// A third user is invited through the room, declines, and alice hears.
	carol := start(t, config(srv, users[2], "c"), "")
	carol.waitOnline()
	if err := alice.c.Invite(ctx, room, users[2].JID, "join us"); err != nil {
		t.Fatal(err)
	}
	inv := carol.waitFor("mediated invite", 10*time.Second, func(ev session.Event) bool {
		e, ok := ev.(session.InviteEvent)
		return ok && e.Invite.Room == room && !e.Invite.Direct
	}).(session.InviteEvent)
	if err := carol.c.DeclineInvite(ctx, inv.Invite, "busy"); err != nil {
		t.Fatal(err)
	}
	alice.waitFor("decline", 10*time.Second, func(ev session.Event) bool {
		e, ok := ev.(session.RoomEvent)
		_, declined := e.Event.(muc.DeclinedInvite)
		return ok && declined
	})
	// carol is banned by JID and cannot join.
	if err := alice.c.Ban(ctx, room, users[2].JID, "spam"); err != nil {
		t.Fatal(err)
	}
	if err := carol.c.JoinRoom(ctx, room, "", ""); err != nil {
		t.Fatal(err)
	}
	carol.waitFor("join refused", 10*time.Second, func(ev session.Event) bool {
		e, ok := ev.(session.RoomEvent)
		je, isErr := e.Event.(muc.JoinError)
		return ok && isErr && je.Condition == "forbidden"
	})
}

func TestPrivateGroupInviteAndBookmarks(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	users := srv.Users(t, 2)
	ctx := context.Background()
	alice := start(t, config(srv, users[0], "a"), "")
	bob := start(t, config(srv, users[1], "b"), "")
	alice.waitOnline()
	bob.waitOnline()

	room, err := alice.c.CreateRoom(ctx, session.PrivateGroup, "Secret plans", []string{users[1].JID})
	if err != nil {
		t.Fatal(err)
	}
	st := waitRoom(alice, room, "configured group", func(e session.RoomStateEvent) bool {
		return joined(e) && e.Info.MembersOnly && e.Info.NonAnonymous
	})
	if st.Info.Public || !st.Info.Persistent || !st.Info.Hidden {
		t.Errorf("group info = %+v; want hidden, persistent", st.Info)
	}
	inv := bob.waitFor("invite", 10*time.Second, func(ev session.Event) bool {
		e, ok := ev.(session.InviteEvent)
		return ok && e.Invite.Room == room
	}).(session.InviteEvent)
	if inv.Invite.From == "" {
		t.Errorf("invite without inviter: %+v", inv.Invite)
	}
	// The invitee was made a member, so the members-only room lets him in.
	if err := bob.c.JoinRoom(ctx, room, "", ""); err != nil {
		t.Fatal(err)
	}
	waitRoom(bob, room, "bob in the group", joined)
	members, err := alice.c.Affiliations(ctx, room, muc.AffMember)
	if err != nil || len(members) != 1 || members[0].JID != users[1].JID {
		t.Fatalf("members = %+v, %v", members, err)
	}

	// Bookmarks: a new client for alice (fresh store) joins the room by
	// itself, from the autojoin bookmark on the server.
	alice.stop()
	alice2 := start(t, config(srv, users[0], "a2"), "")
	alice2.waitOnline()
	waitRoom(alice2, room, "autojoined", joined)
	bms, err := alice2.c.Bookmarks(ctx)
	if err != nil || len(bms) != 1 || !bms[0].Autojoin || bms[0].JID != room {
		t.Fatalf("bookmarks = %+v, %v", bms, err)
	}
}

func TestRoomsSurviveServerRestartAndCatchUp(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	users := srv.Users(t, 2)
	ctx := context.Background()
	alice := start(t, config(srv, users[0], "a"), "")
	bobDB := filepath.Join(t.TempDir(), "bob.db")
	bob := start(t, config(srv, users[1], "b"), bobDB)
	alice.waitOnline()
	bob.waitOnline()
	room := publicChannel(t, "restart test", alice, bob)

	srv.Restart(t)
	alice.waitOnline()
	bob.waitOnline()
	waitRoom(alice, room, "rejoined", joined)
	waitRoom(bob, room, "rejoined", joined)
	if _, err := alice.c.SendGroupMessage(ctx, room, "after restart"); err != nil {
		t.Fatal(err)
	}
	waitGroupMessage(bob, room, "alice", "after restart")

	// Bob is away while alice talks; back, he catches up from the room's
	// archive, each message once.
	bob.stop()
	for i := range 30 {
		if _, err := alice.c.SendGroupMessage(ctx, room, fmt.Sprintf("while away %02d", i)); err != nil {
			t.Fatal(err)
		}
	}
	fctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := alice.c.Flush(fctx); err != nil {
		t.Fatal(err)
	}
	bob = start(t, config(srv, users[1], "b"), bobDB)
	bob.waitOnline()
	bob.waitFor("room catch-up", 30*time.Second, func(ev session.Event) bool {
		e, ok := ev.(session.SyncEvent)
		return ok && e.Archive == room && e.Done
	})
	msgs, err := bob.st.Latest(ctx, users[1].JID, room, 100)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, m := range msgs {
		seen[m.Body]++
	}
	for i := range 30 {
		if b := fmt.Sprintf("while away %02d", i); seen[b] != 1 {
			t.Errorf("%q stored %d times", b, seen[b])
		}
	}
}

// A room joined on one device is joined by the account's other device at
// once, through the PEP notification of the bookmark (XEP-0402).
func TestBookmarkAppliedLiveOnOtherDevice(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	users := srv.Users(t, 2)
	phone := start(t, config(srv, users[0], "phone"), "")
	laptop := start(t, config(srv, users[0], "laptop"), "")
	bob := start(t, config(srv, users[1], "b"), "")
	phone.waitOnline()
	laptop.waitOnline()
	bob.waitOnline()
	room := publicChannel(t, "live bookmarks", bob, phone)
	laptop.waitFor("bookmark pushed", 15*time.Second, func(ev session.Event) bool {
		e, ok := ev.(session.BookmarksEvent)
		if !ok {
			return false
		}
		for _, b := range e.Bookmarks {
			if b.JID == room && b.Autojoin {
				return true
			}
		}
		return false
	})
	waitRoom(laptop, room, "laptop joined by itself", joined)
}
