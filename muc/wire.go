package muc

import (
	"encoding/xml"
	"strconv"
	"strings"
	"time"

	"xchat/internal/stanzaerr"
)

// Wire structures for parsing. Tags without a namespace match the element in
// any namespace (jabber:client children); extension elements are matched by
// namespace so that look-alikes in other namespaces are ignored.

type wPresence struct {
	XMLName xml.Name   `xml:"presence"`
	From    string     `xml:"from,attr"`
	To      string     `xml:"to,attr"`
	ID      string     `xml:"id,attr"`
	Type    string     `xml:"type,attr"`
	Show    string     `xml:"show"`
	Status  string     `xml:"status"`
	User    *wMUCUser  `xml:"http://jabber.org/protocol/muc#user x"`
	Error   *wError    `xml:"error"`
	OccID   *wStanzaID `xml:"urn:xmpp:occupant-id:0 occupant-id"`
}

type wMessage struct {
	XMLName    xml.Name     `xml:"message"`
	From       string       `xml:"from,attr"`
	To         string       `xml:"to,attr"`
	ID         string       `xml:"id,attr"`
	Type       string       `xml:"type,attr"`
	Body       *string      `xml:"body"`
	Subject    *string      `xml:"subject"`
	Delay      *wDelay      `xml:"urn:xmpp:delay delay"`
	StanzaIDs  []wStanzaID  `xml:"urn:xmpp:sid:0 stanza-id"`
	OriginID   *wStanzaID   `xml:"urn:xmpp:sid:0 origin-id"`
	OccID      *wStanzaID   `xml:"urn:xmpp:occupant-id:0 occupant-id"`
	User       *wMUCUser    `xml:"http://jabber.org/protocol/muc#user x"`
	Conference *wConference `xml:"jabber:x:conference x"`
	Error      *wError      `xml:"error"`
}

type wDelay struct {
	From  string `xml:"from,attr"`
	Stamp string `xml:"stamp,attr"`
}

type wStanzaID struct {
	ID string `xml:"id,attr"`
	By string `xml:"by,attr"`
}

type wMUCUser struct {
	Items    []wItem   `xml:"item"`
	Status   []wStatus `xml:"status"`
	Destroy  *wDestroy `xml:"destroy"`
	Invite   []wInvite `xml:"invite"`
	Decline  *wInvite  `xml:"decline"`
	Password *string   `xml:"password"`
}

type wItem struct {
	Affiliation string  `xml:"affiliation,attr"`
	Role        string  `xml:"role,attr"`
	JID         string  `xml:"jid,attr"`
	Nick        string  `xml:"nick,attr"`
	Actor       *wActor `xml:"actor"`
	Reason      string  `xml:"reason"`
}

type wActor struct {
	Nick string `xml:"nick,attr"`
	JID  string `xml:"jid,attr"`
}

type wStatus struct {
	Code string `xml:"code,attr"`
}

type wDestroy struct {
	JID      string `xml:"jid,attr"`
	Reason   string `xml:"reason"`
	Password string `xml:"password"`
}

type wInvite struct {
	From   string `xml:"from,attr"`
	To     string `xml:"to,attr"`
	Reason string `xml:"reason"`
}

type wConference struct {
	JID      string `xml:"jid,attr"`
	Password string `xml:"password,attr"`
	Reason   string `xml:"reason,attr"`
	Continue bool   `xml:"continue,attr"`
	Thread   string `xml:"thread,attr"`
}

// wError is a stanza error (shared with the session layer).
type wError = stanzaerr.Error

type wAny = stanzaerr.Child

// errCondition returns the defined stanza error condition (at least
// undefined-condition) and the optional text.
func errCondition(e *wError) (cond, text string) {
	cond, text = e.Condition()
	if cond == "" {
		cond = "undefined-condition"
	}
	return cond, text
}

// codes returns the status codes of a muc#user element.
func (u *wMUCUser) codes() []int {
	if u == nil || len(u.Status) == 0 {
		return nil
	}
	out := make([]int, 0, len(u.Status))
	for _, s := range u.Status {
		if n, err := strconv.Atoi(strings.TrimSpace(s.Code)); err == nil {
			out = append(out, n)
		}
	}
	return out
}

func (u *wMUCUser) item() wItem {
	if u == nil || len(u.Items) == 0 {
		return wItem{}
	}
	return u.Items[0]
}

func hasCode(codes []int, c int) bool {
	for _, x := range codes {
		if x == c {
			return true
		}
	}
	return false
}

// parseStamp parses an XEP-0082 date-time; the zero time on failure.
func parseStamp(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(s))
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}

// splitJID splits a JID into its bare part and resource.
func splitJID(j string) (bare, resource string) {
	if i := strings.IndexByte(j, '/'); i >= 0 {
		return j[:i], j[i+1:]
	}
	return j, ""
}

// bareJID returns j without its resource.
func bareJID(j string) string {
	b, _ := splitJID(j)
	return b
}

// sameBare compares bare JIDs; localpart and domain are case-insensitive
// (Prosody and most servers send them lowercase, but a user may type
// capitals).
func sameBare(a, b string) bool { return strings.EqualFold(a, b) }
