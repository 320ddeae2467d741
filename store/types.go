package store

import "time"

// Direction tells whether a message was received or sent by the account.
type Direction int

// Message directions.
const (
	Incoming Direction = 0
	Outgoing Direction = 1
)

// State is the delivery state of a message. Incoming messages are Received;
// outgoing ones move Pending → Sent → Delivered → Read, or end Failed.
type State int

// Message states, stored as integers: never renumber.
const (
	StateReceived  State = 0
	StatePending   State = 1
	StateSent      State = 2
	StateDelivered State = 3
	StateRead      State = 4
	StateFailed    State = 5
)

func (s State) String() string {
	switch s {
	case StateReceived:
		return "received"
	case StatePending:
		return "pending"
	case StateSent:
		return "sent"
	case StateDelivered:
		return "delivered"
	case StateRead:
		return "read"
	case StateFailed:
		return "failed"
	}
	return "unknown"
}

// ConvKind is the kind of a conversation.
type ConvKind int

// Conversation kinds, stored as integers: never renumber.
const (
	KindChat      ConvKind = 0 // 1:1 with a bare JID
	KindGroupchat ConvKind = 1 // a MUC room (bare room JID)
	KindPrivate   ConvKind = 2 // a MUC private message (full occupant JID)
)

// Message is one stored message. Account and Peer are bare JIDs as strings
// (Peer is the full occupant JID for KindPrivate). Times are UTC.
type Message struct {
	ID         int64 // row id, assigned by the store
	Account    string
	Peer       string
	Kind       ConvKind
	Direction  Direction
	Sender     string // bare JID for 1:1 (full JID kept in SenderFull), nick for rooms
	SenderFull string
	Body       string
	Type       string // stanza type: chat, normal, groupchat
	OriginID   string // XEP-0359 origin-id; for our own messages it is also the stanza id
	StanzaID   string // XEP-0359 stanza-id assigned by StanzaBy
	StanzaBy   string
	Timestamp  time.Time // server time (delay/stanza-id) when known, else Received
	Received   time.Time // when this client stored it
	State      State
	Encryption string // "" for plaintext, "omemo" for legacy OMEMO
	Error      string // reason when State is Failed or decryption failed

	Edited    bool   // corrected by its sender (XEP-0308): Body is the newest text
	Retracted bool   // retracted by its sender (XEP-0424): Body is empty
	ReplyTo   string // the id of the message this one replies to (XEP-0461)

	// OMEMO: the device that sent it, and whether that device was not
	// trusted when it arrived (SetOMEMOSender).
	SenderDevice uint32
	Untrusted    bool

	// ArchiveTime marks Timestamp as the archive's own (a MAM result): on a
	// duplicate it replaces the stored copy's time. Not stored.
	ArchiveTime bool
}

// Contact is one roster item.
type Contact struct {
	Account      string
	JID          string
	Name         string
	Subscription string // none, to, from, both
	Ask          bool   // outgoing subscription request pending
	Groups       []string
}

// Conversation is a row of the conversation list.
type Conversation struct {
	ID       int64
	Account  string
	Peer     string
	Kind     ConvKind
	Unread   int
	LastTime time.Time // timestamp of the newest message, zero if none
	LastBody string
	Closed   bool // the user closed the window; a new message reopens it
	Muted    bool // no notifications for this conversation
}
