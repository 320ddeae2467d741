package muc

import "time"

// Role is an occupant's role in a room (XEP-0045 §5.1).
type Role string

// Roles.
const (
	RoleNone        Role = "none"
	RoleVisitor     Role = "visitor"
	RoleParticipant Role = "participant"
	RoleModerator   Role = "moderator"
)

// Affiliation is a user's long-lived affiliation with a room (XEP-0045 §5.2).
type Affiliation string

// Affiliations.
const (
	AffNone    Affiliation = "none"
	AffOutcast Affiliation = "outcast"
	AffMember  Affiliation = "member"
	AffAdmin   Affiliation = "admin"
	AffOwner   Affiliation = "owner"
)

// Occupant is one entry of the room roster.
type Occupant struct {
	Nick        string
	Role        Role
	Affiliation Affiliation
	RealJID     string // full JID when the room shows it to us, else ""
	Show        string // "", "away", "chat", "dnd", "xa"
	Status      string
	// OccupantID is the XEP-0421 stable id; trust it only when the room
	// advertises urn:xmpp:occupant-id:0 (RoomInfo.OccupantID), since then
	// the room replaces any id a client put in.
	OccupantID string
}

// Event is what HandlePresence and HandleMessage report. The concrete types
// are the structs below.
type Event interface{ mucEvent() }

// Joined reports that our self-presence (status 110) arrived: the roster
// before it is complete and the room is now StateJoined.
type Joined struct {
	Self          Occupant
	Created       bool // 201: we created the room; it stays locked until configured
	NickRewritten bool // 210: the service changed our nick (Self.Nick is the new one)
}

// OccupantJoined reports a new occupant. Initial is true for the roster
// sent before our self-presence (these are not "joins" to announce).
type OccupantJoined struct {
	Occupant Occupant
	Initial  bool
}

// OccupantChanged reports a changed role, affiliation, real JID, show or
// status of a known occupant (Self is true for our own entry).
type OccupantChanged struct {
	Old, New Occupant
	Self     bool
}

// OccupantLeft reports that another occupant left or was removed. Reason is
// ReasonLeft for a normal leave.
type OccupantLeft struct {
	Occupant   Occupant
	Reason     RemovalReason
	Actor      string // nick or JID of the moderator, if given
	ReasonText string
}

// NickChanged reports a nick change (status 303), ours when Self is true.
type NickChanged struct {
	Old, New string
	Self     bool
}

// RemovalReason says why an occupant left a room.
type RemovalReason int

// Removal reasons, from the status codes of the unavailable presence.
const (
	ReasonLeft               RemovalReason = iota // ordinary leave
	ReasonKicked                                  // 307
	ReasonBanned                                  // 301
	ReasonAffiliationChanged                      // 321
	ReasonMembersOnly                             // 322
	ReasonShutdown                                // 332
	ReasonError                                   // 333: removed after a technical error
)

var reasonNames = [...]string{"left", "kicked", "banned", "affiliation changed", "room became members-only", "service shut down", "technical error"}

func (r RemovalReason) String() string {
	if int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return "unknown"
}

// SelfRemoved reports that we are out of the room (state StateLeft). Reason
// ReasonLeft means our own leave was acknowledged.
type SelfRemoved struct {
	Reason     RemovalReason
	Actor      string
	ReasonText string
	CanRejoin  bool // a rejoin may succeed (not banned, not excluded)
}

// RoomDestroyed reports that an owner destroyed the room (state StateLeft).
type RoomDestroyed struct {
	Reason         string
	AlternateVenue string // room JID to go to instead, if given
	Password       string // password of the alternate venue, if given
}

// NickConflict reports that the nick we asked for is taken (joining or
// changing nick). Suggested is NextNick(Nick).
type NickConflict struct {
	Nick      string
	Suggested string
	Joining   bool // the join failed (StateLeft); false: only a nick change failed
}

// JoinError reports a refused join (state StateLeft).
type JoinError struct {
	Condition string // stanza error condition, e.g. "registration-required"
	Text      string // the server's text, if any
	Message   string // a sentence for the user
}

// PresenceError reports an error presence while joined (e.g. a refused
// nick change with not-acceptable).
type PresenceError struct {
	Condition, Text string
}

// Subject reports the room subject: at join (after history) and on change.
// By is the nick that set it ("" when the room itself sent it).
type Subject struct {
	Text  string
	By    string
	Delay time.Time // when it was set, if the room says so
}

// GroupMessage is a message to all occupants.
type GroupMessage struct {
	ID       string
	From     string // sender nick
	RealJID  string // sender's real JID if known
	Body     string
	OriginID string // XEP-0359 origin-id
	// OccupantID is the sender's XEP-0421 id (see Occupant.OccupantID).
	OccupantID string
	StanzaID   string    // XEP-0359 stanza-id assigned by the room (by=room JID)
	Delay      time.Time // history stamp; zero for live messages
	IsSelf     bool      // our own message reflected by the room
}

// RoomNotice is a body-carrying groupchat message from the room itself.
type RoomNotice struct {
	Body  string
	Codes []int
}

// PrivateMessage is a one-to-one message through the room from an occupant.
type PrivateMessage struct {
	ID      string
	From    string // sender nick
	RealJID string
	Body    string
	Type    string // "chat" or "normal"
	Delay   time.Time
}

// MessageError is an error bounced by the room for a message we sent.
type MessageError struct {
	ID, Condition, Text string
}

// Invite is a room invitation, mediated (XEP-0045 §7.8.2) or direct
// (XEP-0249).
type Invite struct {
	Room     string // room JID
	From     string // inviter (bare, full or occupant JID)
	Reason   string
	Password string
	Direct   bool
}

// DeclinedInvite reports that an invitee declined our mediated invitation.
type DeclinedInvite struct {
	From   string
	Reason string
}

// ConfigChanged reports a room configuration change announced with status
// codes (104 and the privacy codes 170-174).
type ConfigChanged struct {
	Codes []int
}

func (Joined) mucEvent()          {}
func (OccupantJoined) mucEvent()  {}
func (OccupantChanged) mucEvent() {}
func (OccupantLeft) mucEvent()    {}
func (NickChanged) mucEvent()     {}
func (SelfRemoved) mucEvent()     {}
func (RoomDestroyed) mucEvent()   {}
func (NickConflict) mucEvent()    {}
func (JoinError) mucEvent()       {}
func (PresenceError) mucEvent()   {}
func (Subject) mucEvent()         {}
func (GroupMessage) mucEvent()    {}
func (RoomNotice) mucEvent()      {}
func (PrivateMessage) mucEvent()  {}
func (MessageError) mucEvent()    {}
func (Invite) mucEvent()          {}
func (DeclinedInvite) mucEvent()  {}
func (ConfigChanged) mucEvent()   {}
