package ui

import (
	"fmt"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"xchat/muc"
	"xchat/session"
	"xchat/store"
)

const room = "lounge@conference.example.org"

// roomSnapshot is a joined room with us (nick "me") and n others.
func roomSnapshot(n int) session.RoomStateEvent {
	occ := []muc.Occupant{
		{Nick: "alice", Role: muc.RoleModerator, Affiliation: muc.AffOwner, RealJID: alice + "/pc"},
		{Nick: "bob", Role: muc.RoleParticipant, Show: "away"},
		{Nick: "me", Role: muc.RoleParticipant, RealJID: me + "/x"},
		{Nick: "zed", Role: muc.RoleVisitor},
	}
	for i := 0; i < n; i++ {
		occ = append(occ, muc.Occupant{Nick: fmt.Sprintf("user%04d", i), Role: muc.RoleParticipant})
	}
	return session.RoomStateEvent{Account: me, Room: room, State: muc.StateJoined, Nick: "me",
		Subject: "weekly sync", Occupants: occ, Info: muc.RoomInfo{Name: "Lounge", Occupants: -1}}
}

// inRoom is one account with the room joined and open.
func inRoom(t testing.TB, extra int) (*harness, *fakeAccount, *fakeStore) {
	t.Helper()
	h, acc, st := oneAccount(t)
	h.send(tea.WindowSizeMsg{Width: 120, Height: 40})
	h.send(roomSnapshot(extra))
	h.typeText("/join " + room)
	h.press("enter")
	return h, acc, st
}

func TestJoinOpensRoom(t *testing.T) {
	h, acc, _ := inRoom(t, 0)
	c, ok := lastCall(acc.Calls(), "JoinRoom")
	if !ok || c.args[0] != room {
		t.Fatalf("JoinRoom not called with the room: %v", acc.Calls())
	}
	if !h.m.chat.IsOpen(0, room) || h.m.chat.kind != store.KindGroupchat {
		t.Fatalf("the room is not open")
	}
	screen := h.screen()
	for _, want := range []string{"Lounge <" + room + "> · 4 occupants · weekly sync", "Group chats", "Moderators (1)", "Participants (2)", "Visitors (1)", "alice", "zed"} {
		if !strings.Contains(screen, want) {
			t.Errorf("screen lacks %q:\n%s", want, screen)
		}
	}
	// A name alone takes the service of the known rooms; a nick follows /.
	h.typeText("/join other/nicky secret")
	h.press("enter")
	c, _ = lastCall(acc.Calls(), "JoinRoom")
	if got := strings.Join(c.args, " "); got != "other@conference.example.org nicky secret" {
		t.Errorf("JoinRoom(%s)", got)
	}
}

func TestJoinNeedsService(t *testing.T) {
	h, acc, _ := oneAccount(t)
	h.typeText("/join lounge")
	h.press("enter")
	if _, ok := lastCall(acc.Calls(), "JoinRoom"); ok {
		t.Fatal("joined without knowing the service")
	}
	if text, isErr := h.m.status.Text(); !isErr || !strings.Contains(text, "full address") {
		t.Errorf("status %q", text)
	}
}

func TestRoomCommands(t *testing.T) {
	for _, tc := range []struct {
		line, method, args string
	}{
		{"/part", "LeaveRoom", room + " "},
		{"/part see you", "LeaveRoom", room + " see you"},
		{"/nick newme", "ChangeNick", room + " newme"},
		{"/topic new topic here", "SetSubject", room + " new topic here"},
		{"/invite carol@example.org come in", "Invite", room + " " + carol + " come in"},
		{"/kick bob too loud", "Kick", room + " bob too loud"},
		{"/ban alice spam", "Ban", room + " " + alice + " spam"},
		{"/ban eve@example.net", "Ban", room + " eve@example.net "},
		{"/voice zed", "SetRole", room + " zed participant "},
		{"/devoice bob", "SetRole", room + " bob visitor "},
		{"/role bob moderator", "SetRole", room + " bob moderator "},
		{"/affiliation carol@example.org member", "SetAffiliation", room + " " + carol + " member "},
		{"/bookmark autojoin", "SetBookmark", room + " true me"},
		{"/create-channel My Channel", "CreateRoom", "channel My Channel"},
		{"/create-group Team carol@example.org bob@example.org", "CreateRoom", "group Team " + carol + " " + bob},
	} {
		t.Run(tc.line, func(t *testing.T) {
			h, acc, _ := inRoom(t, 0)
			h.typeText(tc.line)
			h.press("enter")
			c, ok := lastCall(acc.Calls(), tc.method)
			if !ok {
				t.Fatalf("%s not called; status %q", tc.method, h.m.status.text)
			}
			if got := strings.Join(c.args, " "); got != tc.args {
				t.Errorf("%s(%s), want (%s)", tc.method, got, tc.args)
			}
		})
	}
}

func TestRoomCommandErrors(t *testing.T) {
	for _, line := range []string{"/kick nobody", "/ban nobody", "/role bob king", "/voice", "/affiliation carol@example.org boss", "/bookmark always"} {
		h, acc, _ := inRoom(t, 0)
		n := len(acc.Calls())
		h.typeText(line)
		h.press("enter")
		if len(acc.Calls()) != n {
			t.Errorf("%s called %v", line, acc.Calls()[n:])
		}
		if _, isErr := h.m.status.Text(); !isErr {
			t.Errorf("%s: no error shown", line)
		}
	}
	// Outside a room, room commands say so.
	h, acc, _ := oneAccount(t)
	h.typeText("/kick bob")
	h.press("enter")
	if text, _ := h.m.status.Text(); !strings.Contains(text, "works in a room") || countCalls(acc.Calls(), "Kick") != 0 {
		t.Errorf("status %q", text)
	}
}

func TestDestroyConfirms(t *testing.T) {
	h, acc, _ := inRoom(t, 0)
	h.typeText("/destroy done")
	h.press("enter")
	h.press("n")
	if countCalls(acc.Calls(), "DestroyRoom") != 0 {
		t.Fatal("destroyed without confirmation")
	}
	h.typeText("/destroy done")
	h.press("enter")
	h.press("y")
	if c, ok := lastCall(acc.Calls(), "DestroyRoom"); !ok || c.args[1] != "done" {
		t.Fatalf("DestroyRoom not called: %v", acc.Calls())
	}
}

func TestMembers(t *testing.T) {
	h, acc, _ := inRoom(t, 0)
	h.typeText("/members")
	h.press("enter")
	if countCalls(acc.Calls(), "Affiliations") != 3 {
		t.Fatalf("calls: %v", acc.Calls())
	}
	if text, _ := h.m.status.Text(); !strings.Contains(text, "owners: owner1@example.org") || !strings.Contains(text, "members: member1@example.org") {
		t.Errorf("status %q", text)
	}
}

func TestConfigForm(t *testing.T) {
	h, acc, _ := inRoom(t, 0)
	h.typeText("/config")
	h.press("enter")
	if !h.m.form.open {
		t.Fatal("the form did not open")
	}
	screen := h.screen()
	for _, want := range []string{"Name", "Room", "Persistent", "[ ]", "‹Moderators›"} {
		if !strings.Contains(screen, want) {
			t.Errorf("form lacks %q:\n%s", want, screen)
		}
	}
	// Edit the name, toggle the boolean, cycle the list, save.
	h.press("enter")
	h.press("ctrl+u")
	h.typeText("Den")
	h.press("enter")
	h.press("down")
	h.press("enter")
	h.press("down")
	h.press("enter")
	h.press("ctrl+s")
	c, ok := lastCall(acc.Calls(), "SubmitRoomConfig")
	if !ok {
		t.Fatal("not submitted")
	}
	want := room + " muc#roomconfig_roomname=Den muc#roomconfig_persistentroom=1 muc#roomconfig_whois=anyone"
	if got := strings.Join(c.args, " "); got != want {
		t.Errorf("submitted %s\nwant %s", got, want)
	}
	if h.m.form.open {
		t.Error("the form stayed open")
	}
}

func TestRoomEventsBecomeLines(t *testing.T) {
	h, _, _ := inRoom(t, 0)
	for _, ev := range []muc.Event{
		muc.OccupantJoined{Occupant: muc.Occupant{Nick: "early"}, Initial: true},
		muc.OccupantJoined{Occupant: muc.Occupant{Nick: "carl"}},
		muc.OccupantLeft{Occupant: muc.Occupant{Nick: "dora"}, Reason: muc.ReasonKicked, Actor: "alice", ReasonText: "spam"},
		muc.NickChanged{Old: "bob", New: "robert"},
		muc.Subject{Text: "new topic", By: "alice"},
		muc.OccupantChanged{Old: muc.Occupant{Nick: "zed", Role: muc.RoleVisitor}, New: muc.Occupant{Nick: "zed", Role: muc.RoleParticipant}},
		muc.SelfRemoved{Reason: muc.ReasonKicked, Actor: "alice", ReasonText: "too loud", CanRejoin: true},
	} {
		h.send(session.RoomEvent{Account: me, Room: room, Event: ev})
	}
	screen := h.screen()
	for _, want := range []string{"-- carl joined", "-- dora was kicked by alice: spam", "-- bob is now known as robert",
		"-- alice set the topic: new topic", "-- zed now is a participant", "-- you were kicked by alice: too loud — /join to rejoin"} {
		if !strings.Contains(screen, want) {
			t.Errorf("screen lacks %q:\n%s", want, screen)
		}
	}
	if strings.Contains(screen, "early") {
		t.Error("the initial roster was announced")
	}
	if !strings.Contains(screen, "· new topic") {
		t.Error("the title does not show the new subject")
	}
	// The lines come back when the room is opened again.
	h.typeText("/msg " + alice)
	h.press("enter")
	h.typeText("/join " + room)
	h.press("enter")
	if !strings.Contains(h.screen(), "-- carl joined") {
		t.Error("the event lines were lost")
	}
}

func TestPresenceLinesAreRateLimited(t *testing.T) {
	h, _, _ := inRoom(t, 0)
	for i := 0; i < 50; i++ {
		h.send(session.RoomEvent{Account: me, Room: room, Event: muc.OccupantJoined{Occupant: muc.Occupant{Nick: fmt.Sprintf("n%02d", i)}}})
	}
	if got := len(h.m.accts[0].rooms[room].events); got != presenceBurst {
		t.Errorf("%d join lines, want %d", got, presenceBurst)
	}
	now := testNow.Add(presenceWindow)
	h.m.now = func() time.Time { return now }
	h.send(session.RoomEvent{Account: me, Room: room, Event: muc.OccupantJoined{Occupant: muc.Occupant{Nick: "late"}}})
	if !strings.Contains(h.screen(), "… and 45 more joins and leaves") {
		t.Errorf("no summary line:\n%s", h.screen())
	}
}

func TestGroupMessagesAndMentions(t *testing.T) {
	h, _, st := inRoom(t, 0)
	msg := st.add(store.Message{Account: me, Peer: room, Kind: store.KindGroupchat, Direction: store.Incoming,
		Sender: "alice", Body: "hello everyone", Timestamp: testNow})
	h.send(session.MessageEvent{Account: me, Message: msg})
	if !strings.Contains(h.screen(), "alice: hello everyone") {
		t.Fatalf("message not shown:\n%s", h.screen())
	}
	ping := st.add(store.Message{Account: me, Peer: room, Kind: store.KindGroupchat, Direction: store.Incoming,
		Sender: "alice", Body: "ME, are you there?", Timestamp: testNow})
	h.send(session.MessageEvent{Account: me, Message: ping})
	items := h.m.chat.items
	if n := len(items); n < 2 || items[n-2].mention || !items[n-1].mention {
		t.Errorf("mention flags wrong: %+v", items)
	}
	if a := h.m.accts[0]; a.mentions[room] != 0 || a.unread[room] != 0 {
		t.Errorf("the open room counts unread %d, mentions %d", a.unread[room], a.mentions[room])
	}
	// Away from the room: unread and mentions are counted apart.
	h.typeText("/msg " + bob)
	h.press("enter")
	for _, body := range []string{"plain", "hey me, look", "me: again", "meme is no mention"} {
		m := st.add(store.Message{Account: me, Peer: room, Kind: store.KindGroupchat, Direction: store.Incoming, Sender: "alice", Body: body, Timestamp: testNow})
		h.send(session.MessageEvent{Account: me, Message: m})
	}
	a := h.m.accts[0]
	if a.unread[room] != 4 || a.mentions[room] != 2 {
		t.Errorf("unread %d, mentions %d; want 4 and 2", a.unread[room], a.mentions[room])
	}
	if !regexpLine(h.screen(), "Lounge", "4 @2") {
		t.Errorf("the sidebar lacks the counts:\n%s", h.screen())
	}
}

func TestMentionNotifies(t *testing.T) {
	st := newFakeStore()
	acc := newFakeAccount(me)
	opts := Options{Accounts: []Account{acc}, Store: st, Now: func() time.Time { return testNow }, Location: time.UTC, Bell: true}
	h := newHarnessOpts(t, opts, st, []*fakeAccount{acc})
	h.send(roomSnapshot(0))
	m1 := st.add(store.Message{Account: me, Peer: room, Kind: store.KindGroupchat, Direction: store.Incoming, Sender: "alice", Body: "chatter", Timestamp: testNow})
	if cmd := h.m.onMessage(session.MessageEvent{Account: me, Message: m1}); cmd != nil {
		t.Error("a plain room message notifies")
	}
	m2 := st.add(store.Message{Account: me, Peer: room, Kind: store.KindGroupchat, Direction: store.Incoming, Sender: "alice", Body: "ping me", Timestamp: testNow})
	if cmd := h.m.onMessage(session.MessageEvent{Account: me, Message: m2}); cmd == nil {
		t.Error("a mention does not notify")
	}
}

func TestSendInRoom(t *testing.T) {
	h, acc, _ := inRoom(t, 0)
	h.typeText("hi all")
	h.press("enter")
	if c, ok := lastCall(acc.Calls(), "SendGroupMessage"); !ok || c.args[1] != "hi all" {
		t.Fatalf("calls %v", acc.Calls())
	}
	if countCalls(acc.Calls(), "SendMessage") != 0 {
		t.Error("a room message went out as a chat message")
	}
}

func TestPrivateMessageThroughRoom(t *testing.T) {
	h, acc, _ := inRoom(t, 0)
	h.typeText("/msg bob psst")
	h.press("enter")
	if !h.m.chat.IsOpen(0, room+"/bob") || h.m.chat.kind != store.KindPrivate {
		t.Fatalf("no private window: open %q", h.m.chat.peer)
	}
	if c, ok := lastCall(acc.Calls(), "SendMessage"); !ok || c.args[0] != room+"/bob" || c.args[1] != "psst" {
		t.Errorf("calls %v", acc.Calls())
	}
	if !strings.Contains(h.screen(), "bob in "+room) {
		t.Errorf("title:\n%s", h.screen())
	}
}

func TestNickCompletion(t *testing.T) {
	h, _, _ := inRoom(t, 0)
	h.typeText("al")
	h.press("tab")
	if v := h.m.input.Value(); v != "alice: " {
		t.Errorf("line start: %q", v)
	}
	h.m.input.Reset()
	h.typeText("hi b")
	h.press("tab")
	if v := h.m.input.Value(); v != "hi bob " {
		t.Errorf("mid-line: %q", v)
	}
	h.m.input.Reset()
	h.typeText("/kick z")
	h.press("tab")
	if v := h.m.input.Value(); v != "/kick zed " {
		t.Errorf("command argument: %q", v)
	}
	h.m.input.Reset()
	h.typeText("/create-ch")
	h.press("tab")
	if v := h.m.input.Value(); v != "/create-channel " {
		t.Errorf("command: %q", v)
	}
}

func TestInvites(t *testing.T) {
	h, acc, _ := oneAccount(t)
	h.send(session.InviteEvent{Account: me, Invite: muc.Invite{Room: "team@conference.example.org", From: alice, Reason: "standup", Password: "pw"}})
	h.send(session.InviteEvent{Account: me, Invite: muc.Invite{Room: "other@conference.example.org", From: bob}})
	screen := h.screen()
	if !strings.Contains(screen, "Invitations") || !strings.Contains(h.m.status.text, "/accept") {
		t.Fatalf("invitation not shown:\n%s", screen)
	}
	h.typeText("/decline")
	h.press("enter")
	h.typeText("/accept team@conference.example.org")
	h.press("enter")
	c, ok := lastCall(acc.Calls(), "JoinRoom")
	if !ok || c.args[0] != "team@conference.example.org" || c.args[2] != "pw" {
		t.Fatalf("calls %v", acc.Calls())
	}
	if countCalls(acc.Calls(), "JoinRoom") != 1 || len(h.m.accts[0].invites) != 0 {
		t.Errorf("declined invitation joined, or invitations left: %v", h.m.accts[0].invites)
	}
	// The decline went to the session (which tells the inviter).
	d, ok := lastCall(acc.Calls(), "DeclineInvite")
	if !ok || d.args[0] != "other@conference.example.org" || d.args[1] != bob {
		t.Errorf("DeclineInvite calls: %v", acc.Calls())
	}
}

func TestBookmarksAndSync(t *testing.T) {
	h, _, _ := oneAccount(t)
	h.send(session.BookmarksEvent{Account: me, Bookmarks: []muc.Bookmark{{JID: "book@conference.example.org", Name: "Book Club", Autojoin: true}}})
	if !strings.Contains(h.screen(), "Book Club") {
		t.Errorf("bookmark not in the sidebar:\n%s", h.screen())
	}
	h.typeText("/bookmarks")
	h.press("enter")
	if !strings.Contains(h.m.status.text, "book@conference.example.org (autojoin)") {
		t.Errorf("status %q", h.m.status.text)
	}
	h.send(session.StateEvent{Account: me, State: session.Online})
	h.send(session.SyncEvent{Account: me, Archive: me, Fetched: 250, New: 12})
	if !strings.Contains(h.screen(), "syncing 250 messages") {
		t.Errorf("no progress in the status line:\n%s", h.screen())
	}
	h.send(session.SyncEvent{Account: me, Archive: me, Fetched: 300, New: 20, Done: true})
	if !strings.Contains(h.m.status.text, "caught up") {
		t.Errorf("status %q", h.m.status.text)
	}
}

func TestOccupantListToggles(t *testing.T) {
	h, _, _ := inRoom(t, 0)
	if !strings.Contains(h.screen(), "Moderators (1)") {
		t.Fatal("no occupant list")
	}
	h.press("f4")
	if strings.Contains(h.screen(), "Moderators (1)") {
		t.Error("F4 did not hide the list")
	}
	h.typeText("/names")
	h.press("enter")
	if !strings.Contains(h.screen(), "Moderators (1)") {
		t.Error("/names did not show the list")
	}
}

func TestRoomHostileText(t *testing.T) {
	h, _, _ := inRoom(t, 0)
	ev := roomSnapshot(0)
	ev.Subject = "evil\x1b]0;pwn\x07subject"
	ev.Occupants = append(ev.Occupants, muc.Occupant{Nick: "x\x1b[2Jy", Role: muc.RoleParticipant})
	h.send(ev)
	h.send(session.RoomEvent{Account: me, Room: room, Event: muc.OccupantJoined{Occupant: muc.Occupant{Nick: "q\x9b2Jq"}}})
	if frame := h.m.render(); strings.Contains(frame, "\x1b]0;") || strings.Contains(frame, "\x1b[2J") || strings.Contains(frame, "\x9b") {
		t.Errorf("escape sequences reached the screen: %q", frame)
	}
}

func TestGoldenRoom(t *testing.T) {
	for _, size := range []struct {
		name string
		w, h int
	}{{"80x24", 80, 24}, {"120x40", 120, 40}} {
		t.Run(size.name, func(t *testing.T) {
			h, _, st := inRoom(t, 0)
			for i, m := range []struct{ from, body string }{{"alice", "welcome to the lounge"}, {"bob", "me: did you see the report?"}, {"zed", "/me waves"}} {
				msg := st.add(store.Message{Account: me, Peer: room, Kind: store.KindGroupchat, Direction: store.Incoming,
					Sender: m.from, Body: m.body, Timestamp: testNow.Add(time.Duration(i-5) * time.Minute)})
				h.send(session.MessageEvent{Account: me, Message: msg})
			}
			h.send(session.RoomEvent{Account: me, Room: room, Event: muc.OccupantJoined{Occupant: muc.Occupant{Nick: "carl"}}})
			h.send(tea.WindowSizeMsg{Width: size.w, Height: size.h})
			frame := h.screen()
			checkFrame(t, frame, size.w, size.h)
			golden(t, "room_"+size.name, frame)
		})
	}
}

// BenchmarkRoomFlood is a 1,000-occupant snapshot, then a frame.
func BenchmarkRoomFlood(b *testing.B) {
	h, _, _ := inRoom(b, 0)
	ev := roomSnapshot(1000)
	b.ReportAllocs()
	for b.Loop() {
		h.m.Update(ev)
		_ = h.m.render()
	}
}

func TestOccupantListScrollsAndStaysCheap(t *testing.T) {
	h, _, _ := inRoom(t, 1000)
	screen := h.screen()
	if !strings.Contains(screen, "Participants") || strings.Contains(screen, "user0999") {
		t.Fatalf("the list starts wrong:\n%s", screen)
	}
	for i := 0; i < 100; i++ {
		h.press("alt+pgdown")
	}
	screen = h.screen()
	if !strings.Contains(screen, "user0999") || !strings.Contains(screen, "Visitors (1)") {
		t.Errorf("the end of the list is not reachable:\n%s", screen)
	}
	h.press("alt+pgup")
	if h.m.occ.top == 0 {
		t.Error("alt+pgup did not move the list")
	}
	// Only the visible rows are drawn.
	if n := len(h.m.occ.Render(&h.m.st, h.m.openRoom(), 20, 10)); n != 10 {
		t.Errorf("rendered %d rows, want 10", n)
	}
}

func TestSwitcherOpensRooms(t *testing.T) {
	h, _, _ := inRoom(t, 0)
	h.typeText("/msg " + alice)
	h.press("enter")
	h.press("ctrl+k")
	h.typeText("lounge")
	h.press("enter")
	if !h.m.chat.IsOpen(0, room) || h.m.chat.kind != store.KindGroupchat {
		t.Errorf("the switcher opened %q kind %d", h.m.chat.peer, h.m.chat.kind)
	}
}

// BenchmarkRoomJoinFlood is what joining a 1,000-occupant room costs the
// interface: the initial presences (one event each), the coalesced
// snapshot, and a frame.
func BenchmarkRoomJoinFlood(b *testing.B) {
	h, _, _ := inRoom(b, 0)
	snap := roomSnapshot(1000)
	evs := make([]session.RoomEvent, len(snap.Occupants))
	for i, o := range snap.Occupants {
		evs[i] = session.RoomEvent{Account: me, Room: room, Event: muc.OccupantJoined{Occupant: o, Initial: true}}
	}
	b.ReportAllocs()
	for b.Loop() {
		for _, ev := range evs {
			h.m.Update(ev)
		}
		h.m.Update(snap)
		_ = h.m.render()
	}
}
