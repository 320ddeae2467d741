package muc

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"strconv"
	"time"
)

// The builders return complete stanzas as XML bytes with namespaces declared
// by xmlns attributes. IQs carry no id: mellium's SendIQ adds one (the
// caller may add its own before sending through another path).

// HistoryDefault as JoinOptions.MaxStanzas leaves the amount of discussion
// history to the service.
const HistoryDefault = -1

// JoinOptions tune a join presence.
type JoinOptions struct {
	Password string
	// MaxStanzas limits discussion history: 0 asks for none (the zero value:
	// a client with MAM catches up from the archive), N > 0 for at most N
	// messages, HistoryDefault for the service's default.
	MaxStanzas int
	// Since, if set, asks only for history after this instant.
	Since time.Time
	// Show and Status are our initial availability in the room.
	Show, Status string
}

// JoinPresence builds the presence that enters roomJID as nick
// (XEP-0045 §7.2).
func JoinPresence(roomJID, nick string, opts JoinOptions) []byte {
	var w xw
	w.open("presence", false, "to", occupantJID(roomJID, nick))
	w.optElem("show", opts.Show)
	w.optElem("status", opts.Status)
	w.open("x", false, "xmlns", NSMUC)
	w.optElem("password", opts.Password)
	if opts.MaxStanzas >= 0 || !opts.Since.IsZero() {
		attrs := []string{}
		if opts.MaxStanzas >= 0 {
			attrs = append(attrs, "maxstanzas", strconv.Itoa(opts.MaxStanzas))
		}
		if !opts.Since.IsZero() {
			attrs = append(attrs, "since", opts.Since.UTC().Format(time.RFC3339))
		}
		w.open("history", true, attrs...)
	}
	w.close("x")
	w.close("presence")
	return w.bytes()
}

// LeavePresence builds the unavailable presence that exits the room.
func LeavePresence(roomJID, nick, status string) []byte {
	var w xw
	w.open("presence", false, "to", occupantJID(roomJID, nick), "type", "unavailable")
	w.optElem("status", status)
	w.close("presence")
	return w.bytes()
}

// NickChangePresence asks for a new nick (XEP-0045 §7.6).
func NickChangePresence(roomJID, newNick string) []byte {
	var w xw
	w.open("presence", true, "to", occupantJID(roomJID, newNick))
	return w.bytes()
}

// StatusPresence updates our availability in the room (XEP-0045 §7.7).
func StatusPresence(roomJID, nick, show, status string) []byte {
	var w xw
	w.open("presence", false, "to", occupantJID(roomJID, nick))
	w.optElem("show", show)
	w.optElem("status", status)
	w.close("presence")
	return w.bytes()
}

// GroupChatMessage builds a message to all occupants with an XEP-0359
// origin-id (pass it to Room.TrackOriginID too).
func GroupChatMessage(roomJID, id, body, originID string) []byte {
	var w xw
	w.open("message", false, "to", bareJID(roomJID), "type", "groupchat", "id", id)
	w.elem("body", body)
	if originID != "" {
		w.open("origin-id", true, "xmlns", NSSID, "id", originID)
	}
	w.close("message")
	return w.bytes()
}

// PrivateMessageStanza builds a private message to an occupant, marked with
// the empty muc#user element XEP-0045 §7.5 asks for.
func PrivateMessageStanza(roomJID, nick, id, body string) []byte {
	var w xw
	w.open("message", false, "to", occupantJID(roomJID, nick), "type", "chat", "id", id)
	w.elem("body", body)
	w.open("x", true, "xmlns", NSMUCUser)
	w.close("message")
	return w.bytes()
}

// SubjectMessage changes the room subject (empty clears it).
func SubjectMessage(roomJID, subject string) []byte {
	var w xw
	w.open("message", false, "to", bareJID(roomJID), "type", "groupchat")
	w.elem("subject", subject)
	w.close("message")
	return w.bytes()
}

// MediatedInvite asks the room to invite invitee (XEP-0045 §7.8.2).
func MediatedInvite(roomJID, invitee, reason string) []byte {
	var w xw
	w.open("message", false, "to", bareJID(roomJID))
	w.open("x", false, "xmlns", NSMUCUser)
	w.open("invite", false, "to", invitee)
	w.optElem("reason", reason)
	w.close("invite")
	w.close("x")
	w.close("message")
	return w.bytes()
}

// DirectInvite invites invitee directly (XEP-0249).
func DirectInvite(invitee, roomJID, reason, password string) []byte {
	var w xw
	w.open("message", false, "to", invitee)
	w.open("x", true, "xmlns", NSConference, "jid", bareJID(roomJID), "reason", reason, "password", password)
	w.close("message")
	return w.bytes()
}

// DeclineInvite declines a mediated invitation from inviter.
func DeclineInvite(roomJID, inviter, reason string) []byte {
	var w xw
	w.open("message", false, "to", bareJID(roomJID))
	w.open("x", false, "xmlns", NSMUCUser)
	w.open("decline", false, "to", inviter)
	w.optElem("reason", reason)
	w.close("decline")
	w.close("x")
	w.close("message")
	return w.bytes()
}

func adminIQ(roomJID string, item func(w *xw)) []byte {
	var w xw
	w.open("iq", false, "to", bareJID(roomJID), "type", "set")
	w.open("query", false, "xmlns", NSMUCAdmin)
	item(&w)
	w.close("query")
	w.close("iq")
	return w.bytes()
}

// SetRole changes an occupant's role (XEP-0045 §8): RoleNone kicks,
// RoleParticipant gives voice, RoleVisitor revokes it, RoleModerator makes
// a moderator.
func SetRole(roomJID, nick string, role Role, reason string) []byte {
	return adminIQ(roomJID, func(w *xw) {
		w.open("item", false, "nick", nick, "role", string(role))
		w.optElem("reason", reason)
		w.close("item")
	})
}

// SetAffiliation changes a user's affiliation by bare JID (XEP-0045 §9):
// AffOutcast bans, AffNone removes membership.
func SetAffiliation(roomJID, userJID string, aff Affiliation, reason string) []byte {
	return adminIQ(roomJID, func(w *xw) {
		w.open("item", false, "affiliation", string(aff), "jid", bareJID(userJID))
		w.optElem("reason", reason)
		w.close("item")
	})
}

// Kick removes an occupant (role none).
func Kick(roomJID, nick, reason string) []byte { return SetRole(roomJID, nick, RoleNone, reason) }

// Ban makes userJID an outcast.
func Ban(roomJID, userJID, reason string) []byte {
	return SetAffiliation(roomJID, userJID, AffOutcast, reason)
}

// Voice makes an occupant a participant.
func Voice(roomJID, nick, reason string) []byte {
	return SetRole(roomJID, nick, RoleParticipant, reason)
}

// Devoice makes an occupant a visitor.
func Devoice(roomJID, nick, reason string) []byte {
	return SetRole(roomJID, nick, RoleVisitor, reason)
}

// AffiliationListQuery asks for the users with one affiliation
// (XEP-0045 §9.5: member, admin, owner, outcast).
func AffiliationListQuery(roomJID string, aff Affiliation) []byte {
	var w xw
	w.open("iq", false, "to", bareJID(roomJID), "type", "get")
	w.open("query", false, "xmlns", NSMUCAdmin)
	w.open("item", true, "affiliation", string(aff))
	w.close("query")
	w.close("iq")
	return w.bytes()
}

// AffiliationItem is one entry of an affiliation list.
type AffiliationItem struct {
	JID         string
	Nick        string
	Affiliation Affiliation
}

// ParseAffiliationList reads the result of AffiliationListQuery (the whole
// IQ or the muc#admin query element).
func ParseAffiliationList(raw []byte) ([]AffiliationItem, error) {
	var q struct {
		Items []wItem `xml:"http://jabber.org/protocol/muc#admin item"`
	}
	if err := unmarshalPayload(raw, NSMUCAdmin, "query", &q); err != nil {
		return nil, err
	}
	out := make([]AffiliationItem, 0, len(q.Items))
	for _, it := range q.Items {
		if it.JID == "" {
			continue
		}
		out = append(out, AffiliationItem{JID: it.JID, Nick: it.Nick, Affiliation: Affiliation(it.Affiliation)})
	}
	return out, nil
}

// DestroyRoom asks the service to destroy the room (owner only,
// XEP-0045 §10.9).
func DestroyRoom(roomJID, reason, alternateVenue, venuePassword string) []byte {
	var w xw
	w.open("iq", false, "to", bareJID(roomJID), "type", "set")
	w.open("query", false, "xmlns", NSMUCOwner)
	w.open("destroy", false, "jid", alternateVenue)
	w.optElem("reason", reason)
	w.optElem("password", venuePassword)
	w.close("destroy")
	w.close("query")
	w.close("iq")
	return w.bytes()
}

// ConfigFormRequest asks for the room configuration form (XEP-0045 §10.1.3).
func ConfigFormRequest(roomJID string) []byte {
	var w xw
	w.open("iq", false, "to", bareJID(roomJID), "type", "get")
	w.open("query", true, "xmlns", NSMUCOwner)
	w.close("iq")
	return w.bytes()
}

// ConfigSubmit submits a filled configuration form.
func ConfigSubmit(roomJID string, f *Form) []byte {
	var w xw
	w.open("iq", false, "to", bareJID(roomJID), "type", "set")
	w.open("query", false, "xmlns", NSMUCOwner)
	w.raw(f.Submit())
	w.close("query")
	w.close("iq")
	return w.bytes()
}

// InstantRoom accepts the default configuration of a new room (an empty
// submit form, XEP-0045 §10.1.2).
func InstantRoom(roomJID string) []byte {
	var w xw
	w.open("iq", false, "to", bareJID(roomJID), "type", "set")
	w.open("query", false, "xmlns", NSMUCOwner)
	w.open("x", true, "xmlns", NSData, "type", "submit")
	w.close("query")
	w.close("iq")
	return w.bytes()
}

// ParseConfigForm extracts the data form from the answer to
// ConfigFormRequest.
func ParseConfigForm(raw []byte) (*Form, error) {
	var q struct {
		X *wForm `xml:"jabber:x:data x"`
	}
	if err := unmarshalPayload(raw, NSMUCOwner, "query", &q); err != nil {
		return nil, err
	}
	if q.X == nil {
		return nil, fmt.Errorf("%w: no data form in the owner query", ErrMalformed)
	}
	return q.X.form(), nil
}

// IQError returns the error condition and text of an IQ of type error; cond
// is "" for a result.
func IQError(raw []byte) (cond, text string, err error) {
	var iq struct {
		Type  string  `xml:"type,attr"`
		Error *wError `xml:"error"`
	}
	if err := xml.Unmarshal(raw, &iq); err != nil {
		return "", "", fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if iq.Type != "error" {
		return "", "", nil
	}
	cond, text = errCondition(iq.Error)
	return cond, text, nil
}

// unmarshalPayload decodes into v the first element named space/local in
// raw, which may be that element itself or a stanza wrapping it (at any
// depth). An IQ error yields an *IQErr.
func unmarshalPayload(raw []byte, space, local string, v any) error {
	d := xml.NewDecoder(bytes.NewReader(raw))
	first := true
	for {
		tok, err := d.Token()
		if err != nil {
			return fmt.Errorf("%w: no <%s xmlns=%q/>: %v", ErrMalformed, local, space, err)
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		if first {
			first = false
			if se.Name.Local == "iq" {
				for _, a := range se.Attr {
					if a.Name.Local == "type" && a.Value == "error" {
						cond, text, _ := IQError(raw)
						return &IQErr{Condition: cond, Text: text}
					}
				}
			}
		}
		if se.Name.Space == space && se.Name.Local == local {
			if err := d.DecodeElement(v, &se); err != nil {
				return fmt.Errorf("%w: %v", ErrMalformed, err)
			}
			return nil
		}
	}
}

// IQErr is an IQ error answer met where a result was expected.
type IQErr struct{ Condition, Text string }

func (e *IQErr) Error() string {
	if e.Text != "" {
		return "muc: " + e.Condition + ": " + e.Text
	}
	return "muc: " + e.Condition
}
