package session

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"mellium.im/xmpp/jid"

	"xchat/muc"
	"xchat/store"
)

// Group chats (XEP-0045). muc.Room is the state machine; this file feeds
// it the stanzas of joined rooms, stores their messages, keeps rooms joined
// (rejoin after reconnect, self-ping) and keeps bookmarks (XEP-0402) in
// step, the way Conversations does: a joined room is an autojoin bookmark,
// so every device and every restart joins the same rooms.

// selfPingIdle is how long a room may be silent before a self-ping checks
// that we are still in it (XEP-0410 §3).
const selfPingIdle = 5 * time.Minute

// historyWithoutMAM is how many messages to ask for on join from rooms
// without an archive.
const historyWithoutMAM = 50

// RoomEvent carries one event of a room's state machine (joined, occupant
// changes, removal, subject...). Text in it comes from the network.
type RoomEvent struct {
	Account string
	Room    string
	Event   muc.Event
}

// RoomStateEvent is a snapshot of a room after changes, coalesced: a
// presence flood produces one snapshot per batch, not one per presence.
type RoomStateEvent struct {
	Account   string
	Room      string
	State     muc.State
	Nick      string
	Subject   string
	Occupants []muc.Occupant // sorted by nick
	Info      muc.RoomInfo
}

// InviteEvent reports an invitation to a room (XEP-0045 mediated or
// XEP-0249 direct).
type InviteEvent struct {
	Account string
	Invite  muc.Invite
}

// BookmarksEvent carries all bookmarks after they changed.
type BookmarksEvent struct {
	Account   string
	Bookmarks []muc.Bookmark
}

func (e RoomEvent) account() string      { return e.Account }
func (e RoomStateEvent) account() string { return e.Account }
func (e InviteEvent) account() string    { return e.Account }
func (e BookmarksEvent) account() string { return e.Account }

// room is the session's record of one room.
type room struct {
	r        *muc.Room
	info     muc.RoomInfo
	password string
	want     bool      // the user wants to be in it (rejoin when dropped)
	lastSeen time.Time // last stanza from the room
	pinging  bool
	dirty    bool // a snapshot is due
	synced   bool // the archive catch-up is done: live stanza-ids move the position
	onJoined []func(created bool)
	feat     roomFeat // message features' state (features_muc.go)
}

// nickFor is the nick to use in rooms.
func (c *Client) nickFor() string {
	if c.cfg.Nick != "" {
		return c.cfg.Nick
	}
	return c.jid.Localpart()
}

// JoinRoom joins a room (and bookmarks it with autojoin).
func (c *Client) JoinRoom(ctx context.Context, roomJID, nick, password string) error {
	j, err := jid.Parse(roomJID)
	if err != nil || j.Localpart() == "" {
		return fmt.Errorf("invalid room address %q", roomJID)
	}
	return c.do(ctx, func() error {
		c.joinRoom(j.Bare().String(), nick, password, true, nil)
		return nil
	})
}

// joinRoom registers the room and, when online, asks its disco#info (to
// know whether it has an archive) and joins.
func (c *Client) joinRoom(roomJID, nick, password string, bookmark bool, onJoined func(created bool)) {
	if nick == "" {
		nick = c.nickFor()
	}
	rm := c.rooms[roomJID]
	if rm == nil {
		rm = &room{r: muc.NewRoom(roomJID, nick)}
		rm.r.SetOwnJID(c.acct)
		c.rooms[roomJID] = rm
	}
	rm.want, rm.password = true, password
	if onJoined != nil {
		rm.onJoined = append(rm.onJoined, onJoined)
	}
	if _, err := c.st.OpenConversation(context.Background(), c.acct, roomJID, store.KindGroupchat); err != nil {
		c.log.Error("store: open conversation", "err", err)
	}
	if bookmark {
		c.publishBookmark(muc.Bookmark{JID: roomJID, Autojoin: true, Nick: nick, Password: password})
	}
	if c.conn != nil && c.conn.online {
		c.sendJoin(rm, nick)
	}
	rm.dirty = true
}

// sendJoin asks the room's features, then joins: with an archive no
// history is requested on join (the MAM catch-up fetches exactly what we
// miss); without one a sensible amount.
func (c *Client) sendJoin(rm *room, nick string) {
	ctx := context.Background()
	roomJID := rm.r.JID()
	c.iqRaw(ctx, muc.DiscoInfoIQ(roomJID), func(full []byte, err error) {
		if err == nil {
			if info, err := muc.ParseRoomInfo(full); err == nil {
				rm.info = info
			}
		}
		opts := muc.JoinOptions{Password: rm.password, MaxStanzas: historyWithoutMAM, Show: string(c.myShow), Status: c.myStatus}
		if rm.info.MAM {
			opts.MaxStanzas = 0
		}
		if err := c.sendRaw(rm.r.Join(nick, opts)); err != nil {
			c.log.Warn("join failed", "room", roomJID, "err", err)
		}
		rm.lastSeen = time.Now()
		rm.dirty = true
	})
}

// LeaveRoom leaves a room and turns its bookmark's autojoin off.
func (c *Client) LeaveRoom(ctx context.Context, roomJID string) error {
	return c.LeaveRoomWithReason(ctx, roomJID, "")
}

// LeaveRoomWithReason leaves a room with a parting message.
func (c *Client) LeaveRoomWithReason(ctx context.Context, roomJID, reason string) error {
	return c.do(ctx, func() error {
		rm := c.rooms[roomJID]
		if rm == nil {
			return fmt.Errorf("not in %s", roomJID)
		}
		rm.want = false
		if c.conn != nil {
			_ = c.sendRaw(rm.r.Leave(reason))
		}
		c.publishBookmark(muc.Bookmark{JID: roomJID, Autojoin: false, Nick: rm.r.Nick(), Password: rm.password})
		delete(c.rooms, roomJID)
		c.emit(RoomStateEvent{Account: c.acct, Room: roomJID, State: muc.StateLeft})
		return nil
	})
}

// Rooms returns a snapshot of the rooms.
func (c *Client) Rooms(ctx context.Context) ([]RoomStateEvent, error) {
	var out []RoomStateEvent
	err := c.do(ctx, func() error {
		for _, rm := range c.rooms {
			out = append(out, c.snapshot(rm))
		}
		sort.Slice(out, func(i, j int) bool { return out[i].Room < out[j].Room })
		return nil
	})
	return out, err
}

func (c *Client) snapshot(rm *room) RoomStateEvent {
	subj, _ := rm.r.Subject()
	return RoomStateEvent{Account: c.acct, Room: rm.r.JID(), State: rm.r.State(), Nick: rm.r.Nick(), Subject: subj, Occupants: rm.r.Occupants(), Info: rm.info}
}

// flushRoomSnapshots emits one snapshot per changed room; called once per
// step of the owner loop so floods coalesce.
func (c *Client) flushRoomSnapshots() {
	for _, rm := range c.rooms {
		if rm.dirty {
			rm.dirty = false
			c.emit(c.snapshot(rm))
		}
	}
}

// roomFor returns the joined room a stanza from this address belongs to.
func (c *Client) roomFor(from string) *room {
	if from == "" {
		return nil
	}
	bare, _, _ := strings.Cut(from, "/")
	return c.rooms[strings.ToLower(bare)]
}

// roomPresence feeds a presence from a room to its state machine.
func (c *Client) roomPresence(rm *room, raw []byte) {
	rm.lastSeen = time.Now()
	evs, err := rm.r.HandlePresence(raw)
	if err != nil {
		c.log.Info("room presence rejected", "room", rm.r.JID(), "err", err)
		return
	}
	c.roomEvents(rm, evs)
}

// roomMessage feeds a message from a room to its state machine.
func (c *Client) roomMessage(rm *room, raw []byte) {
	rm.lastSeen = time.Now()
	evs, err := rm.r.HandleMessage(raw)
	if err != nil {
		c.log.Info("room message rejected", "room", rm.r.JID(), "err", err)
		return
	}
	evs = c.omemoRoomMessage(rm, raw, evs) // OMEMO: decrypted and stored there
	c.roomEvents(rm, evs)
}

// roomEvents acts on a room's events: messages are stored (then
// notified), the rest is passed on to the UI.
func (c *Client) roomEvents(rm *room, evs []muc.Event) {
	ctx := context.Background()
	roomJID := rm.r.JID()
	c.omemoRoomEvents(rm, evs) // OMEMO: members of private groups
	for _, ev := range evs {
		rm.feat.track(ev)
		switch e := ev.(type) {
		case muc.GroupMessage:
			c.storeGroupMessage(ctx, rm, e)
			continue
		case muc.PrivateMessage:
			c.storePrivateMessage(ctx, rm, e)
			continue
		case muc.Joined:
			rm.lastSeen = time.Now()
			hooks := rm.onJoined
			rm.onJoined = nil
			for _, f := range hooks {
				f(e.Created)
			}
			if rm.info.MAM {
				c.startRoomCatchUp(ctx, roomJID)
			}
			c.flushRoomOutbox(ctx, roomJID)
		case muc.NickConflict:
			if e.Joining && rm.want {
				c.emit(NoticeEvent{Account: c.acct, Text: fmt.Sprintf("%s: the nick %s is taken; joining as %s", roomJID, e.Nick, e.Suggested)})
				c.sendJoin(rm, e.Suggested)
			}
		case muc.SelfRemoved:
			rm.want = false
		case muc.RoomDestroyed:
			rm.want = false
		case muc.Invite:
			c.emit(InviteEvent{Account: c.acct, Invite: e})
			continue
		}
		rm.dirty = true
		c.emit(RoomEvent{Account: c.acct, Room: roomJID, Event: ev})
	}
}

// storeGroupMessage persists a room message; our own reflected message
// confirms the pending copy (state Delivered: the room distributed it).
func (c *Client) storeGroupMessage(ctx context.Context, rm *room, e muc.GroupMessage) {
	now := time.Now().UTC()
	m := store.Message{
		Account:    c.acct,
		Peer:       rm.r.JID(),
		Kind:       store.KindGroupchat,
		Direction:  store.Incoming,
		Sender:     e.From,
		SenderFull: e.RealJID,
		Body:       e.Body,
		Type:       "groupchat",
		OriginID:   e.OriginID,
		Timestamp:  now,
		Received:   now,
		State:      store.StateReceived,
	}
	if m.OriginID == "" && e.ID != "" {
		m.OriginID = "id:" + e.ID
	}
	if e.StanzaID != "" {
		m.StanzaID, m.StanzaBy = e.StanzaID, rm.r.JID()
	}
	if !e.Delay.IsZero() && e.Delay.Before(now) {
		m.Timestamp = e.Delay.UTC()
	}
	if len(m.Body) > MaxBodyBytes {
		m.Body = truncateUTF8(m.Body, MaxBodyBytes) + " [truncated]"
	}
	if e.IsSelf {
		m.Direction, m.State = store.Outgoing, store.StateDelivered
	}
	rm.applyExtra(&m)
	inserted, err := c.st.AddMessage(ctx, &m)
	if err != nil {
		c.log.Error("store: room message", "err", err)
		return
	}
	if inserted {
		c.afterRoomStored(ctx, rm, &m, e.OccupantID)
	}
	if rm.synced && m.StanzaID != "" {
		if err := c.st.SetArchiveSync(ctx, c.acct, rm.r.JID(), m.StanzaID, m.Timestamp); err != nil {
			c.log.Error("store: archive sync", "err", err)
		}
	}
	if inserted {
		c.emit(MessageEvent{Account: c.acct, Message: m})
		return
	}
	if e.IsSelf {
		// The reflection of a message we stored as pending.
		if old, err := c.st.Message(ctx, m.ID); err == nil && old.State < store.StateDelivered {
			c.advance(ctx, m.ID, store.StateDelivered)
		}
	}
}

// storePrivateMessage persists a private message from an occupant; the
// conversation is keyed by the occupant's full room JID.
func (c *Client) storePrivateMessage(ctx context.Context, rm *room, e muc.PrivateMessage) {
	now := time.Now().UTC()
	m := store.Message{
		Account:    c.acct,
		Peer:       rm.r.JID() + "/" + e.From,
		Kind:       store.KindPrivate,
		Direction:  store.Incoming,
		Sender:     e.From,
		SenderFull: e.RealJID,
		Body:       e.Body,
		Type:       typeOr(e.Type, "chat"),
		Timestamp:  now,
		Received:   now,
		State:      store.StateReceived,
	}
	if e.ID != "" {
		m.OriginID = "id:" + e.ID
	}
	if !e.Delay.IsZero() && e.Delay.Before(now) {
		m.Timestamp = e.Delay.UTC()
	}
	c.storeAndEmit(ctx, m)
}

// IsRoom asks jid (a bare JID) whether it is a group chat: its disco#info
// names the MUC protocol. For scripts, which are given JIDs of either
// kind; an entity that does not answer is not a room.
func (c *Client) IsRoom(ctx context.Context, jid string) (bool, error) {
	var room bool
	err := c.online(ctx, func(done func(error)) {
		c.iqRaw(ctx, muc.DiscoInfoIQ(jid), func(full []byte, err error) {
			if err != nil {
				done(nil)
				return
			}
			if info, err := muc.ParseRoomInfo(full); err == nil {
				room = slices.Contains(info.Features, muc.NSMUC)
			}
			done(nil)
		})
	})
	return room, err
}

// SendGroupMessage stores a room message as pending and sends it when the
// room is joined.
func (c *Client) SendGroupMessage(ctx context.Context, roomJID, body string) (store.Message, error) {
	var m store.Message
	err := c.do(ctx, func() error {
		rm := c.rooms[roomJID]
		if rm == nil {
			return fmt.Errorf("not in %s: /join it first", roomJID)
		}
		if body == "" {
			return errors.New("empty message")
		}
		if len(body) > MaxBodyBytes {
			return fmt.Errorf("message too long (%d bytes, at most %d)", len(body), MaxBodyBytes)
		}
		now := time.Now().UTC()
		m = store.Message{
			Account: c.acct, Peer: roomJID, Kind: store.KindGroupchat, Direction: store.Outgoing,
			Sender: rm.r.Nick(), SenderFull: c.acct, Body: body, Type: "groupchat",
			OriginID: newID(), Timestamp: now, Received: now, State: store.StatePending,
		}
		c.presetEncryption(ctx, &m)
		if _, err := c.st.AddMessage(context.WithoutCancel(ctx), &m); err != nil {
			return fmt.Errorf("store: %w", err)
		}
		c.emit(MessageEvent{Account: c.acct, Message: m})
		if c.conn != nil && c.conn.online && rm.r.State() == muc.StateJoined {
			c.transmit(context.WithoutCancel(ctx), m)
		}
		return nil
	})
	return m, err
}

// flushRoomOutbox sends the room's pending messages once it is joined.
func (c *Client) flushRoomOutbox(ctx context.Context, roomJID string) {
	pending, err := c.st.Outbox(ctx, c.acct)
	if err != nil {
		return
	}
	for _, m := range pending {
		if m.Kind == store.KindGroupchat && m.Peer == roomJID {
			c.transmit(ctx, m)
		}
	}
}

// rejoinRooms joins again every room we want to be in (after a new login;
// a resumed stream keeps them).
func (c *Client) rejoinRooms() {
	for _, rm := range c.rooms {
		if rm.want {
			c.sendJoin(rm, rm.r.Nick())
		}
	}
}

// selfPingRooms checks idle rooms (XEP-0410): a room can drop us silently
// (server restart, netsplit), and only asking tells.
func (c *Client) selfPingRooms() {
	if c.conn == nil || !c.conn.online {
		return
	}
	for _, rm := range c.rooms {
		if !rm.want || rm.pinging || rm.r.State() != muc.StateJoined || time.Since(rm.lastSeen) < selfPingIdle {
			continue
		}
		rm.pinging = true
		rmRef := rm
		c.iqRaw(context.Background(), muc.SelfPingIQ(rm.r.JID(), rm.r.Nick()), func(_ []byte, err error) {
			rmRef.pinging = false
			cond := ""
			var iqErr *IQError
			switch {
			case err == nil:
			case errors.As(err, &iqErr):
				cond = iqErr.Condition
			default:
				return // no answer: the keepalive deals with the link
			}
			switch muc.SelfPingResult(cond) {
			case muc.PingJoined:
				rmRef.lastSeen = time.Now()
			case muc.PingNotJoined:
				c.log.Info("dropped from room; rejoining", "room", rmRef.r.JID())
				c.sendJoin(rmRef, rmRef.r.Nick())
			}
		})
	}
}

// roomIQ sends a moderation or configuration request to a room and waits.
func (c *Client) roomIQ(ctx context.Context, req []byte) error {
	return c.online(ctx, func(done func(error)) {
		c.iqRaw(ctx, req, func(_ []byte, err error) { done(err) })
	})
}

// Kick removes an occupant (role none).
func (c *Client) Kick(ctx context.Context, roomJID, nick, reason string) error {
	return c.roomIQ(ctx, muc.Kick(roomJID, nick, reason))
}

// Ban bans a user by real JID (affiliation outcast).
func (c *Client) Ban(ctx context.Context, roomJID, userJID, reason string) error {
	return c.roomIQ(ctx, muc.Ban(roomJID, userJID, reason))
}

// SetRole changes an occupant's role (voice, devoice, moderator...).
func (c *Client) SetRole(ctx context.Context, roomJID, nick string, role muc.Role, reason string) error {
	return c.roomIQ(ctx, muc.SetRole(roomJID, nick, role, reason))
}

// SetAffiliation changes a user's affiliation (member, admin, owner,
// outcast, none): member lists of private groups are managed with it.
func (c *Client) SetAffiliation(ctx context.Context, roomJID, userJID string, aff muc.Affiliation, reason string) error {
	return c.roomIQ(ctx, muc.SetAffiliation(roomJID, userJID, aff, reason))
}

// Affiliations lists the users with an affiliation in a room.
func (c *Client) Affiliations(ctx context.Context, roomJID string, aff muc.Affiliation) ([]muc.AffiliationItem, error) {
	var items []muc.AffiliationItem
	err := c.online(ctx, func(done func(error)) {
		c.iqRaw(ctx, muc.AffiliationListQuery(roomJID, aff), func(full []byte, err error) {
			if err == nil {
				items, err = muc.ParseAffiliationList(full)
			}
			done(err)
		})
	})
	return items, err
}

// SetSubject changes the room's subject.
func (c *Client) SetSubject(ctx context.Context, roomJID, subject string) error {
	return c.online(ctx, func(done func(error)) { done(c.sendRaw(muc.SubjectMessage(roomJID, subject))) })
}

// ChangeNick asks for a new nick in a room.
func (c *Client) ChangeNick(ctx context.Context, roomJID, nick string) error {
	return c.online(ctx, func(done func(error)) {
		rm := c.rooms[roomJID]
		if rm == nil {
			done(fmt.Errorf("not in %s", roomJID))
			return
		}
		done(c.sendRaw(rm.r.ChangeNick(nick)))
	})
}

// Invite invites a user: a direct invitation (XEP-0249) and, for
// members-only rooms, membership first so the invitee can enter.
func (c *Client) Invite(ctx context.Context, roomJID, userJID, reason string) error {
	return c.online(ctx, func(done func(error)) {
		rm := c.rooms[roomJID]
		send := func() {
			pw := ""
			if rm != nil {
				pw = rm.password
			}
			if err := c.sendRaw(muc.DirectInvite(userJID, roomJID, reason, pw)); err != nil {
				done(err)
				return
			}
			done(c.sendRaw(muc.MediatedInvite(roomJID, userJID, reason)))
		}
		if rm != nil && rm.info.MembersOnly {
			c.iqRaw(ctx, muc.SetAffiliation(roomJID, userJID, muc.AffMember, reason), func(_ []byte, err error) {
				if err != nil {
					c.log.Info("could not make the invitee a member", "err", err)
				}
				send()
			})
			return
		}
		send()
	})
}

// DestroyRoom destroys a room (owners only).
func (c *Client) DestroyRoom(ctx context.Context, roomJID, reason string) error {
	return c.roomIQ(ctx, muc.DestroyRoom(roomJID, reason, "", ""))
}

// RoomConfigForm fetches a room's configuration form.
func (c *Client) RoomConfigForm(ctx context.Context, roomJID string) (*muc.Form, error) {
	var f *muc.Form
	err := c.online(ctx, func(done func(error)) {
		c.iqRaw(ctx, muc.ConfigFormRequest(roomJID), func(full []byte, err error) {
			if err == nil {
				f, err = muc.ParseConfigForm(full)
			}
			done(err)
		})
	})
	return f, err
}

// SubmitRoomConfig submits an edited configuration form.
func (c *Client) SubmitRoomConfig(ctx context.Context, roomJID string, f *muc.Form) error {
	return c.roomIQ(ctx, muc.ConfigSubmit(roomJID, f))
}

// RoomKind selects the preset CreateRoom applies.
type RoomKind int

// Kinds of room xchat creates (after Conversations).
const (
	PrivateGroup  RoomKind = iota // members-only, non-anonymous, persistent, hidden: OMEMO works
	PublicChannel                 // public, open, semi-anonymous, persistent, archived
)

// CreateRoom creates a room named name on our server's MUC service,
// configures it with the kind's preset, and, for a private group, makes the
// invitees members and invites them. It returns the room JID.
func (c *Client) CreateRoom(ctx context.Context, kind RoomKind, name string, invitees []string) (string, error) {
	service, err := c.mucServiceJID(ctx)
	if err != nil {
		return "", err
	}
	roomJID := muc.LocalpartFromName(name) + "@" + service
	res := make(chan error, 1)
	err = c.do(ctx, func() error {
		if _, ok := c.rooms[roomJID]; ok {
			return fmt.Errorf("%s is already open", roomJID)
		}
		c.joinRoom(roomJID, "", "", true, func(created bool) {
			if !created {
				res <- fmt.Errorf("a room %s already exists; joined it instead of creating one", roomJID)
				return
			}
			c.configureNewRoom(ctx, kind, roomJID, name, invitees, res)
		})
		return nil
	})
	if err != nil {
		return "", err
	}
	select {
	case err := <-res:
		return roomJID, err
	case <-ctx.Done():
		return roomJID, ctx.Err()
	}
}

func (c *Client) configureNewRoom(ctx context.Context, kind RoomKind, roomJID, name string, invitees []string, res chan<- error) {
	c.iqRaw(ctx, muc.ConfigFormRequest(roomJID), func(full []byte, err error) {
		if err != nil {
			res <- fmt.Errorf("room configuration: %w", err)
			return
		}
		f, err := muc.ParseConfigForm(full)
		if err != nil {
			res <- err
			return
		}
		var missing []string
		if kind == PrivateGroup {
			missing = muc.PrivateGroupConfig(f, name)
		} else {
			missing = muc.PublicChannelConfig(f, name)
		}
		if len(missing) > 0 {
			c.log.Info("room options the server does not offer", "room", roomJID, "missing", missing)
		}
		c.iqRaw(ctx, muc.ConfigSubmit(roomJID, f), func(_ []byte, err error) {
			if err != nil {
				res <- fmt.Errorf("room configuration: %w", err)
				return
			}
			// Learn the room's new features (members-only, archive).
			c.iqRaw(ctx, muc.DiscoInfoIQ(roomJID), func(full []byte, err error) {
				if rm := c.rooms[roomJID]; rm != nil && err == nil {
					if info, err := muc.ParseRoomInfo(full); err == nil {
						rm.info = info
						rm.dirty = true
					}
				}
				for _, u := range invitees {
					inv := u
					c.iqRaw(ctx, muc.SetAffiliation(roomJID, inv, muc.AffMember, ""), func(_ []byte, err error) {
						if err != nil {
							c.emit(NoticeEvent{Account: c.acct, Text: "could not add " + inv + " as a member of " + roomJID, Err: err})
						}
						_ = c.sendRaw(muc.DirectInvite(inv, roomJID, "", ""))
					})
				}
				res <- nil
			})
		})
	})
}

// mucServiceJID finds (once) the MUC service of our server through disco.
func (c *Client) mucServiceJID(ctx context.Context) (string, error) {
	var cached string
	if err := c.do(ctx, func() error { cached = c.mucService; return nil }); err != nil {
		return "", err
	}
	if cached != "" {
		return cached, nil
	}
	var items []muc.DiscoItem
	err := c.online(ctx, func(done func(error)) {
		c.iqRaw(ctx, muc.DiscoItemsIQ(c.jid.Domainpart()), func(full []byte, err error) {
			if err == nil {
				items, err = muc.ParseDiscoItems(full)
			}
			done(err)
		})
	})
	if err != nil {
		return "", fmt.Errorf("looking for the group chat service: %w", err)
	}
	service, err := muc.FindMUCService(items, func(j string) ([]byte, error) {
		var out []byte
		err := c.online(ctx, func(done func(error)) {
			c.iqRaw(ctx, muc.DiscoInfoIQ(j), func(full []byte, err error) { out = full; done(err) })
		})
		return out, err
	})
	if err != nil {
		return "", fmt.Errorf("your server offers no group chat service: %w", err)
	}
	_ = c.do(ctx, func() error { c.mucService = service; return nil })
	return service, nil
}

// publishBookmark stores a bookmark (XEP-0402) on the server; the
// account's other devices see it at once.
func (c *Client) publishBookmark(b muc.Bookmark) {
	if old, ok := c.bookmarks[b.JID]; ok {
		b.Extensions = old.Extensions // keep other clients' data
		if b.Name == "" {
			b.Name = old.Name
		}
		if old.Autojoin == b.Autojoin && old.Nick == b.Nick && old.Password == b.Password {
			return
		}
	}
	c.bookmarks[b.JID] = b
	c.emitBookmarks()
	if c.conn == nil || !c.conn.online {
		c.pendingBM = append(c.pendingBM, b)
		return
	}
	c.iqRaw(context.Background(), muc.PublishBookmarkIQ(b), func(_ []byte, err error) {
		if err != nil {
			c.log.Warn("publishing bookmark failed", "room", b.JID, "err", err)
		}
	})
}

// Bookmarks returns the known bookmarks.
func (c *Client) Bookmarks(ctx context.Context) ([]muc.Bookmark, error) {
	var out []muc.Bookmark
	err := c.do(ctx, func() error { out = c.bookmarkList(); return nil })
	return out, err
}

func (c *Client) bookmarkList() []muc.Bookmark {
	out := make([]muc.Bookmark, 0, len(c.bookmarks))
	for _, b := range c.bookmarks {
		out = append(out, b)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].JID < out[j].JID })
	return out
}

func (c *Client) emitBookmarks() {
	c.emit(BookmarksEvent{Account: c.acct, Bookmarks: c.bookmarkList()})
}

// SetBookmark adds or changes a bookmark without joining.
func (c *Client) SetBookmark(ctx context.Context, b muc.Bookmark) error {
	return c.do(ctx, func() error { c.publishBookmark(b); return nil })
}

// fetchBookmarks reads our bookmarks at login (XEP-0402; XEP-0048 private
// storage when there are none) and joins the autojoin rooms.
func (c *Client) fetchBookmarks(ctx context.Context) {
	pending := c.pendingBM
	c.pendingBM = nil
	for _, b := range pending {
		c.iqRaw(ctx, muc.PublishBookmarkIQ(b), func(_ []byte, err error) {
			if err != nil {
				c.log.Warn("publishing bookmark failed", "room", b.JID, "err", err)
			}
		})
	}
	c.iqRaw(ctx, muc.FetchBookmarksIQ(), func(full []byte, err error) {
		var bms []muc.Bookmark
		if err == nil {
			bms, err = muc.ParseBookmarks(full)
		}
		if err == nil && len(bms) > 0 {
			c.applyBookmarks(bms)
			return
		}
		c.iqRaw(ctx, muc.LegacyBookmarksQuery(), func(full []byte, err error) {
			if err != nil {
				return
			}
			legacy, err := muc.ParseLegacyBookmarks(full)
			if err == nil && len(legacy) > 0 {
				c.log.Info("using legacy bookmarks", "n", len(legacy))
				c.applyBookmarks(legacy)
				for _, b := range legacy {
					c.publishBookmark(b) // migrate to XEP-0402
				}
			}
		})
	})
}

// applyBookmarks records bookmarks and joins those with autojoin.
func (c *Client) applyBookmarks(bms []muc.Bookmark) {
	for _, b := range bms {
		c.bookmarks[b.JID] = b
		if b.Autojoin {
			if rm := c.rooms[b.JID]; rm == nil || !rm.want {
				c.joinRoom(b.JID, b.Nick, b.Password, false, nil)
			}
		}
	}
	c.emitBookmarks()
}

// bookmarkEvent applies a bookmark change pushed by PEP (another device).
func (c *Client) bookmarkEvent(raw []byte) bool {
	ev, ok, err := muc.ParseBookmarkEvent(raw)
	if err != nil || !ok {
		return false
	}
	c.applyBookmarks(ev.Updated)
	for _, r := range ev.Retracted {
		delete(c.bookmarks, r)
	}
	c.emitBookmarks()
	return true
}

// startRoomCatchUp fetches what a room's archive has that we miss.
func (c *Client) startRoomCatchUp(ctx context.Context, roomJID string) {
	if _, running := c.mamByArchive(roomJID); running {
		return
	}
	lastID, _, err := c.st.ArchiveSync(ctx, c.acct, roomJID)
	if err != nil {
		return
	}
	q := &mamQueryState{archive: roomJID, last: lastID == "", gapCheck: lastID == ""}
	c.queryMAM(ctx, q, lastID, time.Time{})
}

// roomArchived turns an archived room message into a row.
func (c *Client) roomArchived(q *mamQueryState, r *mamResult) (store.Message, bool) {
	m := r.Forwarded.Message
	if m == nil || m.Type != "groupchat" {
		return store.Message{}, false
	}
	body, ok := m.body()
	if !ok {
		return store.Message{}, false
	}
	j, err := jid.Parse(m.From)
	if err != nil || !strings.EqualFold(j.Bare().String(), q.archive) || j.Resourcepart() == "" {
		return store.Message{}, false
	}
	now := time.Now().UTC()
	msg := store.Message{
		Account: c.acct, Peer: q.archive, Kind: store.KindGroupchat, Direction: store.Incoming,
		Sender: j.Resourcepart(), SenderFull: j.String(), Body: body, Type: "groupchat",
		Timestamp: now, Received: now, State: store.StateReceived,
		StanzaID: r.ID, StanzaBy: q.archive,
	}
	if r.Forwarded.Delay != nil {
		if t, ok := parseStamp(r.Forwarded.Delay.Stamp); ok && t.Before(now) {
			msg.Timestamp, msg.ArchiveTime = t, true
		}
	}
	if m.OriginID != nil && m.OriginID.ID != "" {
		msg.OriginID = m.OriginID.ID
	} else if m.ID != "" {
		msg.OriginID = "id:" + m.ID
	}
	if rm := c.rooms[q.archive]; rm != nil && msg.Sender == rm.r.Nick() {
		msg.Direction, msg.State = store.Outgoing, store.StateDelivered
	}
	if c.omemoRoomArchived(q, m, msg) {
		return store.Message{}, false // decrypted and stored there
	}
	return msg, true
}

// DeclineInvite declines a mediated invitation through the room (XEP-0045
// §7.8.2); a direct invitation (XEP-0249) has no decline, so nothing is
// sent for those.
func (c *Client) DeclineInvite(ctx context.Context, inv muc.Invite, reason string) error {
	if inv.Direct || inv.From == "" {
		return nil
	}
	return c.online(ctx, func(done func(error)) {
		done(c.sendRaw(muc.DeclineInvite(inv.Room, inv.From, reason)))
	})
}
