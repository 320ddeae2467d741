package session

import (
	"time"

	"xchat/store"
)

// ConnState is the connection state of one account.
type ConnState int

// Connection states.
const (
	Offline      ConnState = iota // not connected, not trying (stopped, or a fatal error such as a wrong password)
	Connecting                    // dialing, TLS, SASL, bind
	Online                        // bound, roster fetched, presence sent
	Reconnecting                  // connection lost; waiting until Event.Retry to try again
)

func (s ConnState) String() string {
	switch s {
	case Offline:
		return "offline"
	case Connecting:
		return "connecting"
	case Online:
		return "online"
	case Reconnecting:
		return "reconnecting"
	}
	return "unknown"
}

// Show is an availability as in RFC 6121 <show/>; "" means plainly available.
type Show string

// Availabilities. Unavailable is ours, not a <show/> value.
const (
	ShowOnline      Show = ""
	ShowChat        Show = "chat"
	ShowAway        Show = "away"
	ShowXA          Show = "xa"
	ShowDND         Show = "dnd"
	ShowUnavailable Show = "unavailable"
)

// Event is something the session tells the UI. All text in events comes from
// the network unsanitized: the UI must sanitize it before drawing.
type Event interface{ account() string }

// StateEvent reports a change of the connection state.
type StateEvent struct {
	Account string
	State   ConnState
	Err     error     // why we are Offline or Reconnecting; nil otherwise
	Retry   time.Time // when Reconnecting: the next attempt
	// Resumed is set on Online when the stream was resumed (XEP-0198):
	// nothing was lost and no new login took place.
	Resumed bool
}

// RosterEvent carries the whole roster after it changed (fetch or push).
type RosterEvent struct {
	Account  string
	Contacts []store.Contact
}

// PresenceEvent reports the presence of one resource of a contact.
type PresenceEvent struct {
	Account  string
	JID      string // bare JID
	Resource string
	Show     Show // ShowUnavailable when the resource went offline
	Status   string
	Priority int
}

// MessageEvent reports a message that has been stored (persist, then notify).
type MessageEvent struct {
	Account string
	Message store.Message
}

// MessageStateEvent reports that a stored message changed state.
type MessageStateEvent struct {
	Account string
	Peer    string
	ID      int64
	State   store.State
	Error   string
}

// SubscriptionRequestEvent reports that From asks to see our presence.
type SubscriptionRequestEvent struct {
	Account string
	From    string
}

// NoticeEvent is a line of information or a non-fatal error for the user.
type NoticeEvent struct {
	Account string
	Text    string
	Err     error
}

func (e StateEvent) account() string               { return e.Account }
func (e RosterEvent) account() string              { return e.Account }
func (e PresenceEvent) account() string            { return e.Account }
func (e MessageEvent) account() string             { return e.Account }
func (e MessageStateEvent) account() string        { return e.Account }
func (e SubscriptionRequestEvent) account() string { return e.Account }
func (e NoticeEvent) account() string              { return e.Account }

// AccountOf returns the account an event belongs to.
func AccountOf(e Event) string { return e.account() }
