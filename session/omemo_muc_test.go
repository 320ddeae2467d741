package session_test

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"xchat/internal/testserver"
	"xchat/muc"
	"xchat/session"
	"xchat/store"
)

// nick is the room nick a user gets by default (its localpart).
func nick(u testserver.User) string {
	l, _, _ := strings.Cut(u.JID, "@")
	return l
}

// waitGroupEncrypted waits for an encrypted room message from nick.
func waitGroupEncrypted(a *account, room, nick, body string) store.Message {
	a.t.Helper()
	m := waitGroupMessage(a, room, nick, body)
	if m.Encryption != "omemo" {
		a.t.Fatalf("%q arrived with encryption %q", body, m.Encryption)
	}
	return m
}

// noUndecryptable fails if a's store holds a room message with an error.
func noUndecryptable(t *testing.T, a *account, acct, room string) {
	t.Helper()
	msgs, err := a.st.Latest(context.Background(), acct, room, 50)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		if m.Error != "" || strings.Contains(m.Body, "OMEMO") {
			t.Errorf("%s: stored %q with error %q", acct, m.Body, m.Error)
		}
	}
}

// publicChannel has owner create a public channel and each member join it
// with the default nick; it returns the room's JID.
func publicChannel(t *testing.T, name string, owner *account, members ...*account) string {
	t.Helper()
	ctx := context.Background()
	room, err := owner.c.CreateRoom(ctx, session.PublicChannel, name, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range members {
		if err := m.c.JoinRoom(ctx, room, "", ""); err != nil {
			t.Fatal(err)
		}
		waitRoom(m, room, "joined", joined)
	}
	return room
}

// privateGroup has owner create a private group (members-only,
// non-anonymous) with members invited, and each member join it; it returns
// the room's JID.
func privateGroup(t *testing.T, name string, owner *account, members ...*account) string {
	t.Helper()
	ctx := context.Background()
	var jids []string
	for _, m := range members {
		jids = append(jids, m.c.Account())
	}
	room, err := owner.c.CreateRoom(ctx, session.PrivateGroup, name, jids)
	if err != nil {
		t.Fatal(err)
	}
	waitRoom(owner, room, "configured group", func(e session.RoomStateEvent) bool {
		return joined(e) && e.Info.MembersOnly && e.Info.NonAnonymous
	})
	for _, m := range members {
		if err := m.c.JoinRoom(ctx, room, "", ""); err != nil {
			t.Fatal(err)
		}
		waitRoom(m, room, "joined", joined)
	}
	return room
}

func TestOMEMOPrivateGroup(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	users := srv.Users(t, 3)
	ctx := context.Background()
	aliceDB := filepath.Join(t.TempDir(), "alice.db")
	alice := start(t, omemoConfig(srv, users[0], "a"), aliceDB)
	bob := start(t, omemoConfig(srv, users[1], "b"), "")
	carolDB := filepath.Join(t.TempDir(), "carol.db")
	carol := start(t, omemoConfig(srv, users[2], "c"), carolDB)
	for _, x := range []*account{alice, bob, carol} {
		x.waitOnline()
	}
	room := privateGroup(t, "Cabal", alice, bob, carol)
	// bob's and carol's devices.
	waitEncryption(t, alice, room, 2)

	mine, err := alice.c.SendGroupMessage(ctx, room, "group secret one")
	if err != nil {
		t.Fatal(err)
	}
	waitGroupEncrypted(bob, room, nick(users[0]), "group secret one")
	waitGroupEncrypted(carol, room, nick(users[0]), "group secret one")
	// Our own copy comes back from the room: recognised by origin-id.
	alice.waitFor("reflection", 10*time.Second, func(ev session.Event) bool {
		e, ok := ev.(session.MessageStateEvent)
		return ok && e.ID == mine.ID && e.State == store.StateDelivered
	})

	waitEncryption(t, bob, room, 2)
	if _, err := bob.c.SendGroupMessage(ctx, room, "bob agrees"); err != nil {
		t.Fatal(err)
	}
	waitGroupEncrypted(alice, room, nick(users[1]), "bob agrees")
	waitGroupEncrypted(carol, room, nick(users[1]), "bob agrees")

	// carol goes offline: she is still a member, so her device still gets
	// the key, and she reads it from the room's archive when back.
	carol.stop()
	st := waitEncryption(t, alice, room, 2)
	if _, err := alice.c.SendGroupMessage(ctx, room, "while carol sleeps"); err != nil {
		t.Fatal(err)
	}
	waitGroupEncrypted(bob, room, nick(users[0]), "while carol sleeps")
	carol = start(t, omemoConfig(srv, users[2], "c"), carolDB)
	carol.waitOnline()
	waitGroupEncrypted(carol, room, nick(users[0]), "while carol sleeps")
	if st.Devices < 2 {
		t.Errorf("encrypted to %d devices with carol offline", st.Devices)
	}
	time.Sleep(500 * time.Millisecond)
	noUndecryptable(t, alice, users[0].JID, room)
	noUndecryptable(t, bob, users[1].JID, room)
	noUndecryptable(t, carol, users[2].JID, room)
	if n, _ := alice.st.Count(ctx, users[0].JID, room); n != 3 {
		t.Errorf("alice stored %d room messages, want 3", n)
	}

	// alice restarts having forgotten her place in the room's archive: it
	// returns her own messages (not encrypted to her own device) and bob's.
	// Hers are matched by origin-id, bob's by stanza-id: nothing new, no
	// error.
	alice.stop()
	db, err := store.Open(ctx, aliceDB)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.DB().ExecContext(ctx, "DELETE FROM archive_sync WHERE archive = ?", room); err != nil {
		t.Fatal(err)
	}
	db.Close()
	alice = start(t, omemoConfig(srv, users[0], "a"), aliceDB)
	alice.waitOnline()
	alice.waitFor("room catch-up", 20*time.Second, func(ev session.Event) bool {
		e, ok := ev.(session.SyncEvent)
		if ok && e.Archive == room && e.Done && e.Fetched < 3 {
			t.Errorf("room catch-up fetched %d messages, want at least 3", e.Fetched)
		}
		return ok && e.Archive == room && e.Done
	})
	noUndecryptable(t, alice, users[0].JID, room)
	msgs, _ := alice.st.Latest(ctx, users[0].JID, room, 10)
	var got []string
	for _, m := range msgs {
		got = append(got, m.Body)
	}
	if strings.Join(got, "|") != "group secret one|bob agrees|while carol sleeps" {
		t.Errorf("alice's room history after the archive replay: %q", got)
	}
}

func TestOMEMORefusedInPublicChannel(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	u := srv.Users(t, 1)[0]
	ctx := context.Background()
	alice := start(t, omemoConfig(srv, u, "a"), "")
	alice.waitOnline()
	room, err := alice.c.CreateRoom(ctx, session.PublicChannel, "Open air", nil)
	if err != nil {
		t.Fatal(err)
	}
	waitRoom(alice, room, "configured channel", func(e session.RoomStateEvent) bool { return joined(e) && e.Info.Public })
	err = alice.c.SetEncryption(ctx, room, "omemo")
	if err == nil || !strings.Contains(err.Error(), "private group") {
		t.Fatalf("SetEncryption in a channel: %v", err)
	}
	st, err := alice.c.Encryption(ctx, room)
	if err != nil || st.Available || st.Enabled {
		t.Fatalf("channel encryption state %+v, %v", st, err)
	}
}

// A member added while absent gets the key: the affiliation change makes
// alice read the member lists again.
func TestOMEMOGroupMemberAddedWhileAway(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	users := srv.Users(t, 3)
	ctx := context.Background()
	alice := start(t, omemoConfig(srv, users[0], "a"), "")
	bob := start(t, omemoConfig(srv, users[1], "b"), "")
	dave := start(t, omemoConfig(srv, users[2], "d"), "")
	for _, x := range []*account{alice, bob, dave} {
		x.waitOnline()
	}
	room := privateGroup(t, "Growing", alice, bob)
	waitEncryption(t, alice, room, 1)

	if err := alice.c.SetAffiliation(ctx, room, users[2].JID, muc.AffMember, ""); err != nil {
		t.Fatal(err)
	}
	waitEncryption(t, alice, room, 2)
	members, err := alice.c.RoomMembers(ctx, room)
	if err != nil || !slices.Contains(members, users[2].JID) {
		t.Fatalf("members %v, %v", members, err)
	}
	if _, err := alice.c.SendGroupMessage(ctx, room, "welcome, dave"); err != nil {
		t.Fatal(err)
	}
	waitGroupEncrypted(bob, room, nick(users[0]), "welcome, dave")
	if err := dave.c.JoinRoom(ctx, room, "", ""); err != nil {
		t.Fatal(err)
	}
	waitGroupEncrypted(dave, room, nick(users[0]), "welcome, dave")

	// Asked again with nothing new to learn, alice answers from what she
	// knows, without a "devices" event: the UI asks again on each such
	// event, which would otherwise never end.
	waitEncryption(t, alice, room, 2)
	time.Sleep(500 * time.Millisecond)
	for drained := false; !drained; {
		select {
		case <-alice.events:
		default:
			drained = true
		}
	}
	for range 3 {
		waitEncryption(t, alice, room, 2)
	}
	quiet := time.After(time.Second)
	for {
		select {
		case ev := <-alice.events:
			if e, ok := ev.(session.OMEMOEvent); ok && e.JID == room && e.Kind == "devices" {
				t.Fatal("Encryption with nothing new started a refresh")
			}
			continue
		case <-quiet:
		}
		break
	}
}
