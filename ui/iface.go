package ui

import (
	"context"

	"xchat/muc"
	"xchat/session"
	"xchat/store"
)

// Account is what the UI needs from one XMPP account; *session.Client
// satisfies it. Every method may block on the network or the account's
// goroutine, so the UI calls them only from tea.Cmds.
type Account interface {
	Account() string
	SendMessage(ctx context.Context, to, body string) (store.Message, error)
	AddContact(ctx context.Context, jid, name string) error
	RemoveContact(ctx context.Context, jid string) error
	Approve(ctx context.Context, jid string) error
	Deny(ctx context.Context, jid string) error
	SetPresence(ctx context.Context, show session.Show, status string) error

	// Message features of 1:1 chats (XEP-0308, 0424, 0444, 0461, 0085,
	// 0333). SetActive (XEP-0352) is used when the account has it.
	Correct(ctx context.Context, id int64, body string) error
	Retract(ctx context.Context, id int64) error
	React(ctx context.Context, id int64, emojis []string) error
	Reply(ctx context.Context, id int64, body string) (store.Message, error)
	SendChatState(ctx context.Context, peer, state string) error
	MarkDisplayed(ctx context.Context, id int64) error

	OMEMO          // end-to-end encryption (omemo.go)
	HistoryFetcher // older history from the server's archive (older.go)
	Media          // photos and files (media.go)

	// Group chats (XEP-0045) and their bookmarks (XEP-0402).
	JoinRoom(ctx context.Context, roomJID, nick, password string) error
	LeaveRoom(ctx context.Context, roomJID string) error
	LeaveRoomWithReason(ctx context.Context, roomJID, reason string) error
	DeclineInvite(ctx context.Context, inv muc.Invite, reason string) error
	SendGroupMessage(ctx context.Context, roomJID, body string) (store.Message, error)
	SetSubject(ctx context.Context, roomJID, subject string) error
	ChangeNick(ctx context.Context, roomJID, nick string) error
	Invite(ctx context.Context, roomJID, userJID, reason string) error
	Kick(ctx context.Context, roomJID, nick, reason string) error
	Ban(ctx context.Context, roomJID, userJID, reason string) error
	SetRole(ctx context.Context, roomJID, nick string, role muc.Role, reason string) error
	SetAffiliation(ctx context.Context, roomJID, userJID string, aff muc.Affiliation, reason string) error
	Affiliations(ctx context.Context, roomJID string, aff muc.Affiliation) ([]muc.AffiliationItem, error)
	DestroyRoom(ctx context.Context, roomJID, reason string) error
	RoomConfigForm(ctx context.Context, roomJID string) (*muc.Form, error)
	SubmitRoomConfig(ctx context.Context, roomJID string, f *muc.Form) error
	CreateRoom(ctx context.Context, kind session.RoomKind, name string, invitees []string) (string, error)
	Bookmarks(ctx context.Context) ([]muc.Bookmark, error)
	SetBookmark(ctx context.Context, b muc.Bookmark) error
}

// Store is the read side of the message store the UI uses; *store.Store
// satisfies it. It is called only from tea.Cmds.
type Store interface {
	// Latest returns the newest n messages with peer, oldest first.
	Latest(ctx context.Context, acct, peer string, n int) ([]store.Message, error)
	// Before returns up to n messages older than the one with id, oldest first.
	Before(ctx context.Context, acct, peer string, id int64, n int) ([]store.Message, error)
	// After returns up to n messages newer than the one with id, oldest first.
	After(ctx context.Context, acct, peer string, id int64, n int) ([]store.Message, error)
	// Search returns up to limit messages of acct whose body contains text,
	// newest first; peer "" searches every conversation.
	Search(ctx context.Context, acct, peer, text string, limit int) ([]store.Message, error)
	// CloseConversation hides a conversation until it is opened again or a
	// message arrives; its history is kept.
	CloseConversation(ctx context.Context, acct, peer string) error
	Conversations(ctx context.Context, acct string) ([]store.Conversation, error)
	SetMuted(ctx context.Context, acct, peer string, kind store.ConvKind, muted bool) error
	Contacts(ctx context.Context, acct string) ([]store.Contact, error)
	OpenConversation(ctx context.Context, acct, peer string, kind store.ConvKind) (store.Conversation, error)
	MarkRead(ctx context.Context, acct, peer string) error
	// Message returns one message by id.
	Message(ctx context.Context, id int64) (store.Message, error)
	// Reactions returns the reactions to the given messages.
	Reactions(ctx context.Context, ids []int64) (map[int64][]store.Reaction, error)
}
