package ui

import (
	"context"
	"strings"

	"xchat/muc"
	"xchat/session"
	"xchat/store"
)

// Group-chat methods of fakeAccount: recorded, answered like a
// session.Client would, without a network.

func (f *fakeAccount) JoinRoom(_ context.Context, roomJID, nick, password string) error {
	f.record("JoinRoom", roomJID, nick, password)
	return f.opErr
}

func (f *fakeAccount) LeaveRoom(_ context.Context, roomJID string) error {
	f.record("LeaveRoom", roomJID)
	return f.opErr
}

func (f *fakeAccount) LeaveRoomWithReason(_ context.Context, roomJID, reason string) error {
	f.record("LeaveRoom", roomJID, reason)
	return f.opErr
}

func (f *fakeAccount) DeclineInvite(_ context.Context, inv muc.Invite, reason string) error {
	f.record("DeclineInvite", inv.Room, inv.From)
	return f.opErr
}

func (f *fakeAccount) SendGroupMessage(_ context.Context, roomJID, body string) (store.Message, error) {
	f.record("SendGroupMessage", roomJID, body)
	if f.sendErr != nil {
		return store.Message{}, f.sendErr
	}
	f.mu.Lock()
	f.nextID++
	id := f.nextID
	f.mu.Unlock()
	return store.Message{
		ID: id, Account: f.jid, Peer: roomJID, Kind: store.KindGroupchat, Direction: store.Outgoing,
		Sender: "me", Body: body, Type: "groupchat", Timestamp: testNow, Received: testNow, State: store.StatePending,
	}, nil
}

func (f *fakeAccount) SetSubject(_ context.Context, roomJID, subject string) error {
	f.record("SetSubject", roomJID, subject)
	return f.opErr
}

func (f *fakeAccount) ChangeNick(_ context.Context, roomJID, nick string) error {
	f.record("ChangeNick", roomJID, nick)
	return f.opErr
}

func (f *fakeAccount) Invite(_ context.Context, roomJID, userJID, reason string) error {
	f.record("Invite", roomJID, userJID, reason)
	return f.opErr
}

func (f *fakeAccount) Kick(_ context.Context, roomJID, nick, reason string) error {
	f.record("Kick", roomJID, nick, reason)
	return f.opErr
}

func (f *fakeAccount) Ban(_ context.Context, roomJID, userJID, reason string) error {
	f.record("Ban", roomJID, userJID, reason)
	return f.opErr
}

func (f *fakeAccount) SetRole(_ context.Context, roomJID, nick string, role muc.Role, reason string) error {
	f.record("SetRole", roomJID, nick, string(role), reason)
	return f.opErr
}

func (f *fakeAccount) SetAffiliation(_ context.Context, roomJID, userJID string, aff muc.Affiliation, reason string) error {
	f.record("SetAffiliation", roomJID, userJID, string(aff), reason)
	return f.opErr
}

func (f *fakeAccount) Affiliations(_ context.Context, roomJID string, aff muc.Affiliation) ([]muc.AffiliationItem, error) {
	f.record("Affiliations", roomJID, string(aff))
	if f.opErr != nil {
		return nil, f.opErr
	}
	return []muc.AffiliationItem{{JID: string(aff) + "1@example.org", Affiliation: aff}}, nil
}

func (f *fakeAccount) DestroyRoom(_ context.Context, roomJID, reason string) error {
	f.record("DestroyRoom", roomJID, reason)
	return f.opErr
}

func (f *fakeAccount) RoomConfigForm(_ context.Context, roomJID string) (*muc.Form, error) {
	f.record("RoomConfigForm", roomJID)
	if f.opErr != nil {
		return nil, f.opErr
	}
	return &muc.Form{Type: "form", Title: "Configuration", Fields: []muc.Field{
		{Var: "FORM_TYPE", Type: "hidden", Values: []string{"http://jabber.org/protocol/muc#roomconfig"}},
		{Var: "muc#roomconfig_roomname", Type: "text-single", Label: "Name", Values: []string{"Room"}},
		{Var: "muc#roomconfig_persistentroom", Type: "boolean", Label: "Persistent", Values: []string{"0"}},
		{Var: "muc#roomconfig_whois", Type: "list-single", Label: "Who may see real JIDs", Values: []string{"moderators"},
			Options: []muc.Option{{Label: "Moderators", Value: "moderators"}, {Label: "Anyone", Value: "anyone"}}},
	}}, nil
}

func (f *fakeAccount) SubmitRoomConfig(_ context.Context, roomJID string, form *muc.Form) error {
	var vals []string
	for _, fl := range form.Fields {
		if fl.Type != "hidden" {
			vals = append(vals, fl.Var+"="+strings.Join(fl.Values, ","))
		}
	}
	f.record("SubmitRoomConfig", append([]string{roomJID}, vals...)...)
	return f.opErr
}

func (f *fakeAccount) CreateRoom(_ context.Context, kind session.RoomKind, name string, invitees []string) (string, error) {
	k := "group"
	if kind == session.PublicChannel {
		k = "channel"
	}
	f.record("CreateRoom", append([]string{k, name}, invitees...)...)
	if f.opErr != nil {
		return "", f.opErr
	}
	return muc.LocalpartFromName(name) + "@conference.example.org", nil
}

func (f *fakeAccount) Bookmarks(_ context.Context) ([]muc.Bookmark, error) {
	f.record("Bookmarks")
	return nil, f.opErr
}

func (f *fakeAccount) SetBookmark(_ context.Context, b muc.Bookmark) error {
	auto := "false"
	if b.Autojoin {
		auto = "true"
	}
	f.record("SetBookmark", b.JID, auto, b.Nick)
	return f.opErr
}
