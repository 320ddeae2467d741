package ui

import (
	"context"
	"fmt"
	"slices"
	"strings"

	tea "charm.land/bubbletea/v2"
	"mellium.im/xmpp/jid"

	"xchat/internal/sanitize"
	"xchat/muc"
	"xchat/session"
	"xchat/store"
)

// The group-chat commands. Each checks its arguments in Update and runs
// the account call in a tea.Cmd answered by a roomOpDoneMsg.

// roomOpDoneMsg is the answer of a room operation: done is the sentence
// for the status line on success.
type roomOpDoneMsg struct {
	acct int
	room string
	what string // what was tried, for the error message
	done string
	err  error
}

// confirmation is a command waiting for "y" (/destroy).
type confirmation struct {
	prompt string
	run    func() tea.Cmd
}

// roomCommands are the commands of the table for group chats.
func roomCommands() []command {
	return []command{
		{"join", "ROOM[/NICK] [password]", "join a room (ROOM alone takes the MUC service of your other rooms)", (*Model).cmdJoin},
		{"part", "[reason]", "leave the current room (the reason is not sent yet)", (*Model).cmdPart},
		{"names", "", "show or hide the occupant list (F4)", func(m *Model, _ string) tea.Cmd { return m.toggleOccupants() }},
		{"nick", "NEW", "change your nick in the current room", (*Model).cmdNick},
		{"topic", "TEXT", "set the room's topic", (*Model).cmdTopic},
		{"invite", "JID [reason]", "invite JID to the current room", (*Model).cmdInvite},
		{"kick", "NICK [reason]", "remove NICK from the room", (*Model).cmdKick},
		{"ban", "JID|NICK [reason]", "ban a user (a nick is resolved to their real JID)", (*Model).cmdBan},
		{"voice", "NICK", "let a visitor speak in a moderated room", func(m *Model, a string) tea.Cmd { return m.setRole(a, string(muc.RoleParticipant)) }},
		{"devoice", "NICK", "take NICK's voice", func(m *Model, a string) tea.Cmd { return m.setRole(a, string(muc.RoleVisitor)) }},
		{"role", "NICK moderator|participant|visitor|none", "set an occupant's role", (*Model).cmdRole},
		{"affiliation", "JID owner|admin|member|outcast|none", "set a user's affiliation with the room", (*Model).cmdAffiliation},
		{"members", "", "list the room's owners, admins and members", (*Model).cmdMembers},
		{"destroy", "[reason]", "destroy the current room (asks to confirm)", (*Model).cmdDestroy},
		{"config", "", "edit the room's configuration", (*Model).cmdConfig},
		{"create-group", "NAME [JID...]", "create a private group and invite JIDs", func(m *Model, a string) tea.Cmd { return m.cmdCreate(a, session.PrivateGroup) }},
		{"create-channel", "NAME", "create a public channel", func(m *Model, a string) tea.Cmd { return m.cmdCreate(a, session.PublicChannel) }},
		{"bookmark", "[autojoin]", "bookmark the current room (with autojoin: join it at start)", (*Model).cmdBookmark},
		{"bookmarks", "", "list the bookmarked rooms", (*Model).cmdBookmarks},
		{"accept", "[ROOM]", "accept an invitation (the latest without ROOM)", (*Model).cmdAccept},
		{"decline", "[ROOM]", "drop an invitation (the latest without ROOM)", (*Model).cmdDecline},
	}
}

// ownNick is our nick in a room, else the account's default.
func (m *Model) ownNick(i int, room string) string {
	a := m.accts[i]
	if r, ok := a.rooms[room]; ok && r.nick != "" {
		return r.nick
	}
	return a.nick
}

// curRoom returns the account and room of the open pane; it reports in
// the status line when no room is open.
func (m *Model) curRoom(cmd string) (int, *roomState, bool) {
	if !m.chat.open || m.chat.kind != store.KindGroupchat {
		m.status.Error("/" + cmd + " works in a room: open one first")
		return 0, nil, false
	}
	a := m.accts[m.chat.acct]
	return m.chat.acct, a.room(m.chat.peer), true
}

// roomOp runs an account call about a room in a tea.Cmd.
func (m *Model) roomOp(i int, room, what, done string, call func(ctx context.Context, a Account) error) tea.Cmd {
	base := m.ctx
	client := m.accts[i].client
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(base, opTimeout)
		defer cancel()
		return roomOpDoneMsg{acct: i, room: room, what: what, done: done, err: call(ctx, client)}
	}
}

func (m *Model) onRoomOpDone(msg roomOpDoneMsg) {
	if msg.err != nil {
		m.log.Warn("room operation", "room", msg.room, "what", msg.what, "err", msg.err)
		m.status.Error("could not " + msg.what + ": " + sanitize.Line(msg.err.Error()))
		return
	}
	if msg.done != "" {
		m.status.Info(msg.done)
	}
}

// mucService guesses the MUC service of an account from the rooms it
// knows, without the network; "" when it knows none.
func (m *Model) mucService(i int) string {
	a := m.accts[i]
	var jids []string
	for r := range a.rooms {
		jids = append(jids, r)
	}
	for _, b := range a.bookmarks {
		jids = append(jids, b.JID)
	}
	slices.Sort(jids)
	for _, r := range jids {
		if _, dom, ok := strings.Cut(r, "@"); ok && dom != "" {
			return strings.SplitN(dom, "/", 2)[0]
		}
	}
	return ""
}

func (m *Model) cmdJoin(args string) tea.Cmd {
	if m.noAccount() {
		return nil
	}
	target, password, _ := strings.Cut(args, " ")
	password = strings.TrimSpace(password)
	if target == "" {
		m.status.Error("usage: /join ROOM[/NICK] [password]")
		return nil
	}
	i := m.currentAccount()
	if !strings.Contains(strings.SplitN(target, "/", 2)[0], "@") {
		svc := m.mucService(i)
		if svc == "" {
			m.status.Error("give the room's full address, like room@conference.example.org (no MUC service is known yet)")
			return nil
		}
		name, nick, hasNick := strings.Cut(target, "/")
		target = strings.ToLower(name) + "@" + svc
		if hasNick {
			target += "/" + nick
		}
	}
	j, err := jid.Parse(target)
	if err != nil || j.Localpart() == "" {
		m.status.Error(sanitize.Line(fmt.Sprintf("%q is not a room address", target)))
		return nil
	}
	room, nick := j.Bare().String(), j.Resourcepart()
	if nick == "" {
		nick = m.accts[i].nick
	}
	if i2 := m.roomAccount(room); i2 >= 0 {
		i = i2
	}
	a := m.accts[i]
	a.room(room)
	m.roster.Invalidate()
	m.status.Info("joining " + sanitize.Line(room) + "…")
	return tea.Batch(
		m.roomOp(i, room, "join "+sanitize.Line(room), "", func(ctx context.Context, c Account) error {
			return c.JoinRoom(ctx, room, nick, password)
		}),
		m.openConversation(i, room, store.KindGroupchat, ""),
	)
}

// roomAccount is the account that knows a room, -1 if none does.
func (m *Model) roomAccount(room string) int {
	for i, a := range m.accts {
		if _, ok := a.rooms[room]; ok {
			return i
		}
	}
	return -1
}

func (m *Model) cmdPart(reason string) tea.Cmd {
	i, r, ok := m.curRoom("part")
	if !ok {
		return nil
	}
	room := r.jid
	return m.roomOp(i, room, "leave "+r.label(), "left "+r.label(), func(ctx context.Context, a Account) error {
		return a.LeaveRoomWithReason(ctx, room, reason)
	})
}

func (m *Model) cmdNick(args string) tea.Cmd {
	i, r, ok := m.curRoom("nick")
	if !ok {
		return nil
	}
	if args == "" {
		m.status.Error("usage: /nick NEW")
		return nil
	}
	room := r.jid
	return m.roomOp(i, room, "change your nick", "", func(ctx context.Context, a Account) error {
		return a.ChangeNick(ctx, room, args)
	})
}

func (m *Model) cmdTopic(args string) tea.Cmd {
	i, r, ok := m.curRoom("topic")
	if !ok {
		return nil
	}
	room := r.jid
	return m.roomOp(i, room, "set the topic", "", func(ctx context.Context, a Account) error {
		return a.SetSubject(ctx, room, args)
	})
}

func (m *Model) cmdInvite(args string) tea.Cmd {
	i, r, ok := m.curRoom("invite")
	if !ok {
		return nil
	}
	who, reason, ok := m.jidArg(args, "/invite JID [reason]")
	if !ok {
		return nil
	}
	room := r.jid
	return m.roomOp(i, room, "invite "+sanitize.Line(who), "invited "+sanitize.Line(who), func(ctx context.Context, a Account) error {
		return a.Invite(ctx, room, who, reason)
	})
}

// nickArg splits the first word off as an occupant's nick; unknown nicks
// are refused, since the room would refuse them too.
func (m *Model) nickArg(r *roomState, args, usage string) (nick, rest string, ok bool) {
	nick, rest, _ = strings.Cut(args, " ")
	if nick == "" {
		m.status.Error("usage: " + usage)
		return "", "", false
	}
	nick = strings.TrimSuffix(nick, ":")
	if _, known := r.occupant(nick); !known && r.known {
		m.status.Error("no occupant is called " + sanitize.Line(nick))
		return "", "", false
	}
	return nick, strings.TrimSpace(rest), true
}

func (m *Model) cmdKick(args string) tea.Cmd {
	i, r, ok := m.curRoom("kick")
	if !ok {
		return nil
	}
	nick, reason, ok := m.nickArg(r, args, "/kick NICK [reason]")
	if !ok {
		return nil
	}
	room := r.jid
	return m.roomOp(i, room, "kick "+sanitize.Line(nick), "", func(ctx context.Context, a Account) error {
		return a.Kick(ctx, room, nick, reason)
	})
}

func (m *Model) cmdBan(args string) tea.Cmd {
	i, r, ok := m.curRoom("ban")
	if !ok {
		return nil
	}
	first, reason, _ := strings.Cut(args, " ")
	reason = strings.TrimSpace(reason)
	if first == "" {
		m.status.Error("usage: /ban JID|NICK [reason]")
		return nil
	}
	var user string
	if o, ok := r.occupant(strings.TrimSuffix(first, ":")); ok {
		if o.RealJID == "" {
			m.status.Error("the room does not show " + sanitize.Line(o.Nick) + "'s address: /ban their JID")
			return nil
		}
		user, _ = parseJID(o.RealJID)
	} else {
		bare, err := parseJID(first)
		if err != nil || !strings.Contains(bare, "@") && !strings.Contains(bare, ".") {
			m.status.Error("no occupant is called " + sanitize.Line(first) + " and it is not a JID")
			return nil
		}
		user = bare
	}
	room := r.jid
	return m.roomOp(i, room, "ban "+sanitize.Line(user), "banned "+sanitize.Line(user), func(ctx context.Context, a Account) error {
		return a.Ban(ctx, room, user, reason)
	})
}

var roles = map[string]muc.Role{
	"moderator": muc.RoleModerator, "participant": muc.RoleParticipant,
	"visitor": muc.RoleVisitor, "none": muc.RoleNone,
}

var affiliations = map[string]muc.Affiliation{
	"owner": muc.AffOwner, "admin": muc.AffAdmin, "member": muc.AffMember,
	"outcast": muc.AffOutcast, "none": muc.AffNone,
}

func (m *Model) cmdRole(args string) tea.Cmd {
	nick, role, _ := strings.Cut(args, " ")
	return m.setRole(nick, strings.TrimSpace(role))
}

func (m *Model) setRole(nick, roleName string) tea.Cmd {
	i, r, ok := m.curRoom("role")
	if !ok {
		return nil
	}
	nick, _, ok = m.nickArg(r, nick, "/role NICK moderator|participant|visitor|none")
	if !ok {
		return nil
	}
	role, ok := roles[strings.ToLower(roleName)]
	if !ok {
		m.status.Error("usage: /role NICK moderator|participant|visitor|none")
		return nil
	}
	room := r.jid
	done := sanitize.Line(nick) + " is now " + roleNoun(role)
	return m.roomOp(i, room, "change "+sanitize.Line(nick)+"'s role", done, func(ctx context.Context, a Account) error {
		return a.SetRole(ctx, room, nick, role, "")
	})
}

func (m *Model) cmdAffiliation(args string) tea.Cmd {
	i, r, ok := m.curRoom("affiliation")
	if !ok {
		return nil
	}
	user, rest, ok := m.jidArg(args, "/affiliation JID owner|admin|member|outcast|none")
	if !ok {
		return nil
	}
	aff, ok := affiliations[strings.ToLower(rest)]
	if !ok {
		m.status.Error("usage: /affiliation JID owner|admin|member|outcast|none")
		return nil
	}
	room := r.jid
	done := sanitize.Line(user) + " is now " + affNoun(aff)
	return m.roomOp(i, room, "change "+sanitize.Line(user)+"'s affiliation", done, func(ctx context.Context, a Account) error {
		return a.SetAffiliation(ctx, room, user, aff, "")
	})
}

func (m *Model) cmdMembers(string) tea.Cmd {
	i, r, ok := m.curRoom("members")
	if !ok {
		return nil
	}
	room := r.jid
	base := m.ctx
	client := m.accts[i].client
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(base, opTimeout)
		defer cancel()
		var parts []string
		for _, aff := range []muc.Affiliation{muc.AffOwner, muc.AffAdmin, muc.AffMember} {
			items, err := client.Affiliations(ctx, room, aff)
			if err != nil {
				return roomOpDoneMsg{acct: i, room: room, what: "list the " + string(aff) + "s", err: err}
			}
			var who []string
			for _, it := range items {
				who = append(who, sanitize.Line(it.JID))
			}
			if len(who) > 0 {
				parts = append(parts, string(aff)+"s: "+strings.Join(who, ", "))
			}
		}
		if len(parts) == 0 {
			parts = []string{"no owners, admins or members are listed"}
		}
		return roomOpDoneMsg{acct: i, room: room, done: strings.Join(parts, "; ")}
	}
}

func (m *Model) cmdDestroy(reason string) tea.Cmd {
	i, r, ok := m.curRoom("destroy")
	if !ok {
		return nil
	}
	room, label := r.jid, r.label()
	m.confirm = &confirmation{
		prompt: "destroy " + label + " for everyone? y destroys it, any other key cancels",
		run: func() tea.Cmd {
			return m.roomOp(i, room, "destroy "+label, "destroyed "+label, func(ctx context.Context, a Account) error {
				return a.DestroyRoom(ctx, room, reason)
			})
		},
	}
	m.status.Error(m.confirm.prompt)
	return nil
}

// confirmKey answers a pending confirmation: y runs it, anything else
// cancels it.
func (m *Model) confirmKey(k tea.KeyPressMsg) tea.Cmd {
	c := m.confirm
	m.confirm = nil
	if k.String() == "y" {
		return c.run()
	}
	m.status.Info("cancelled")
	return nil
}

func (m *Model) cmdCreate(args string, kind session.RoomKind) tea.Cmd {
	if m.noAccount() {
		return nil
	}
	usage := "/create-channel NAME"
	if kind == session.PrivateGroup {
		usage = "/create-group NAME [JID...]"
	}
	words := strings.Fields(args)
	var invitees []string
	if kind == session.PrivateGroup {
		for len(words) > 1 {
			last := words[len(words)-1]
			if !strings.Contains(last, "@") {
				break
			}
			bare, err := parseJID(last)
			if err != nil {
				m.status.Error(sanitize.Line(err.Error()))
				return nil
			}
			invitees = append([]string{bare}, invitees...)
			words = words[:len(words)-1]
		}
	}
	name := strings.Join(words, " ")
	if name == "" {
		m.status.Error("usage: " + usage)
		return nil
	}
	i := m.currentAccount()
	base := m.ctx
	client := m.accts[i].client
	m.status.Info("creating " + sanitize.Line(name) + "…")
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(base, opTimeout)
		defer cancel()
		room, err := client.CreateRoom(ctx, kind, name, invitees)
		return roomCreatedMsg{acct: i, room: room, name: name, err: err}
	}
}

// roomCreatedMsg is the answer of CreateRoom.
type roomCreatedMsg struct {
	acct       int
	room, name string
	err        error
}

func (m *Model) onRoomCreated(msg roomCreatedMsg) tea.Cmd {
	if msg.err != nil {
		m.status.Error("could not create " + sanitize.Line(msg.name) + ": " + sanitize.Line(msg.err.Error()))
		if msg.room == "" {
			return nil
		}
	} else {
		m.status.Info("created " + sanitize.Line(msg.room))
	}
	m.accts[msg.acct].room(msg.room)
	return m.openConversation(msg.acct, msg.room, store.KindGroupchat, "")
}

func (m *Model) cmdBookmark(args string) tea.Cmd {
	i, r, ok := m.curRoom("bookmark")
	if !ok {
		return nil
	}
	if args != "" && args != "autojoin" {
		m.status.Error("usage: /bookmark [autojoin]")
		return nil
	}
	b := muc.Bookmark{JID: r.jid, Nick: r.nick, Autojoin: args == "autojoin"}
	for _, old := range m.accts[i].bookmarks {
		if old.JID == r.jid {
			b.Name, b.Password, b.Extensions = old.Name, old.Password, old.Extensions
		}
	}
	if b.Name == "" {
		b.Name = r.info.Name
	}
	return m.roomOp(i, r.jid, "bookmark "+r.label(), "bookmarked "+r.label(), func(ctx context.Context, a Account) error {
		return a.SetBookmark(ctx, b)
	})
}

func (m *Model) cmdBookmarks(string) tea.Cmd {
	if m.noAccount() {
		return nil
	}
	var parts []string
	for _, a := range m.accts {
		for _, b := range a.bookmarks {
			s := sanitize.Line(b.JID)
			if b.Autojoin {
				s += " (autojoin)"
			}
			parts = append(parts, s)
		}
	}
	if len(parts) == 0 {
		m.status.Info("no bookmarks: /bookmark in a room adds it")
		return nil
	}
	m.status.Info("bookmarks: " + strings.Join(parts, ", "))
	return nil
}

// takeInvite removes and returns the invitation to room ("" the latest).
func (m *Model) takeInvite(room string) (int, muc.Invite, bool) {
	if room != "" {
		if b, err := parseJID(room); err == nil {
			room = b
		}
	}
	for i := len(m.accts) - 1; i >= 0; i-- {
		a := m.accts[i]
		for k := len(a.invites) - 1; k >= 0; k-- {
			if in := a.invites[k]; room == "" || in.Room == room {
				a.invites = slices.Delete(a.invites, k, k+1)
				m.roster.Invalidate()
				return i, in, true
			}
		}
	}
	if room == "" {
		m.status.Error("no invitation is pending")
	} else {
		m.status.Error("no invitation to " + sanitize.Line(room) + " is pending")
	}
	return 0, muc.Invite{}, false
}

func (m *Model) cmdAccept(args string) tea.Cmd {
	i, in, ok := m.takeInvite(args)
	if !ok {
		return nil
	}
	room, nick, pw := in.Room, m.accts[i].nick, in.Password
	m.accts[i].room(room)
	return tea.Batch(
		m.roomOp(i, room, "join "+sanitize.Line(room), "", func(ctx context.Context, a Account) error {
			return a.JoinRoom(ctx, room, nick, pw)
		}),
		m.openConversation(i, room, store.KindGroupchat, ""),
	)
}

func (m *Model) cmdDecline(args string) tea.Cmd {
	i, in, ok := m.takeInvite(args)
	if !ok {
		return nil
	}
	m.status.Info("declined the invitation to " + sanitize.Line(in.Room))
	acct := m.accts[i].client
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
		defer cancel()
		if err := acct.DeclineInvite(ctx, in, ""); err != nil {
			return session.NoticeEvent{Account: acct.Account(), Text: "could not decline the invitation to " + in.Room, Err: err}
		}
		return nil
	}
}

// scrollOccupants scrolls the occupant list by a page in direction dir.
func (m *Model) scrollOccupants(dir int) tea.Cmd {
	if r := m.openRoom(); r != nil && m.occupantColumn() > 0 {
		m.occ.Scroll(r, dir*max(1, m.chat.height-1), m.chat.height)
	}
	return nil
}

// toggleOccupants hides or shows the occupant list.
func (m *Model) toggleOccupants() tea.Cmd {
	m.occHidden = !m.occHidden
	m.layout()
	return nil
}

// roomPM opens a private conversation with an occupant of the open room:
// /msg NICK inside a room. It reports false when nick is no occupant.
func (m *Model) roomPM(args string) (tea.Cmd, bool) {
	r := m.openRoom()
	if r == nil {
		return nil, false
	}
	nick, text, _ := strings.Cut(args, " ")
	nick = strings.TrimSuffix(nick, ":")
	if _, ok := r.occupant(nick); !ok {
		return nil, false
	}
	m.setFocus(focusInput)
	return m.openConversation(m.chat.acct, r.jid+"/"+nick, store.KindPrivate, strings.TrimSpace(text)), true
}
