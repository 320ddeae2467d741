package session

import (
	"encoding/xml"
	"strings"
	"time"

	"xchat/internal/stanzaerr"
)

// XML namespaces used by the session.
const (
	nsClient   = "jabber:client"
	nsRoster   = "jabber:iq:roster"
	nsPing     = "urn:xmpp:ping"
	nsDiscoInf = "http://jabber.org/protocol/disco#info"
	nsVersion  = "jabber:iq:version"
	nsSID      = "urn:xmpp:sid:0"
	nsDelay    = "urn:xmpp:delay"
	nsStanzas  = "urn:ietf:params:xml:ns:xmpp-stanzas"
)

// inMessage is a decoded <message/>. JIDs stay strings here: they are parsed
// and checked by the owner goroutine, so a bad address drops one stanza and
// never the stream.
type inMessage struct {
	XMLName   xml.Name
	ID        string     `xml:"id,attr"`
	From      string     `xml:"from,attr"`
	To        string     `xml:"to,attr"`
	Type      string     `xml:"type,attr"`
	Bodies    []langText `xml:"body"`
	Subject   []langText `xml:"subject"`
	Thread    string     `xml:"thread"`
	StanzaIDs []stanzaID `xml:"urn:xmpp:sid:0 stanza-id"`
	OriginID  *stanzaID  `xml:"urn:xmpp:sid:0 origin-id"`
	Delay     *delay     `xml:"urn:xmpp:delay delay"`
	Error     *stanzaErr `xml:"error"`
	// Wrappers of other messages: carbons (XEP-0280) and MAM results
	// (XEP-0313). Only trusted when the wrapper comes from our own account.
	CarbonReceived *carbon    `xml:"urn:xmpp:carbons:2 received"`
	CarbonSent     *carbon    `xml:"urn:xmpp:carbons:2 sent"`
	MAMResult      *mamResult `xml:"urn:xmpp:mam:2 result"`
	// Message features: correction (XEP-0308), retraction (XEP-0424),
	// reactions (XEP-0444), replies (XEP-0461) with their fallback
	// (XEP-0428), chat states (XEP-0085), markers (XEP-0333).
	Replace   *refID     `xml:"urn:xmpp:message-correct:0 replace"`
	Retract   *refID     `xml:"urn:xmpp:message-retract:1 retract"`
	Reactions *reactions `xml:"urn:xmpp:reactions:0 reactions"`
	Reply     *reply     `xml:"urn:xmpp:reply:0 reply"`
	Fallbacks []fallback `xml:"urn:xmpp:fallback:0 fallback"`
	Composing *struct{}  `xml:"http://jabber.org/protocol/chatstates composing"`
	Paused    *struct{}  `xml:"http://jabber.org/protocol/chatstates paused"`
	Active    *struct{}  `xml:"http://jabber.org/protocol/chatstates active"`
	Inactive  *struct{}  `xml:"http://jabber.org/protocol/chatstates inactive"`
	Gone      *struct{}  `xml:"http://jabber.org/protocol/chatstates gone"`
	Displayed *refID     `xml:"urn:xmpp:chat-markers:0 displayed"`
	// Receipts (XEP-0184).
	ReceiptRequest *struct{}   `xml:"urn:xmpp:receipts request"`
	ReceiptFor     *receiptFor `xml:"urn:xmpp:receipts received"`
	// Inner is the children as XML, for later protocol layers (OMEMO);
	// decodeMessage fills it (a token decoder cannot).
	Inner string `xml:"-"`
}

type carbon struct {
	Forwarded forwarded `xml:"urn:xmpp:forward:0 forwarded"`
}

type forwarded struct {
	Delay   *delay     `xml:"urn:xmpp:delay delay"`
	Message *inMessage `xml:"jabber:client message"`
}

type mamResult struct {
	QueryID   string    `xml:"queryid,attr"`
	ID        string    `xml:"id,attr"`
	Forwarded forwarded `xml:"urn:xmpp:forward:0 forwarded"`
}

type refID struct {
	ID string `xml:"id,attr"`
}

type reactions struct {
	ID        string   `xml:"id,attr"`
	Reactions []string `xml:"reaction"`
}

type reply struct {
	To string `xml:"to,attr,omitempty"`
	ID string `xml:"id,attr"`
}

type fallback struct {
	For    string          `xml:"for,attr"`
	Bodies []fallbackRange `xml:"body"`
}

type fallbackRange struct {
	Start *int `xml:"start,attr"`
	End   *int `xml:"end,attr"`
}

type receiptFor struct {
	ID string `xml:"id,attr"`
}

type langText struct {
	Lang string `xml:"http://www.w3.org/XML/1998/namespace lang,attr"`
	Text string `xml:",chardata"`
}

type stanzaID struct {
	ID string `xml:"id,attr"`
	By string `xml:"by,attr"`
}

type delay struct {
	Stamp string `xml:"stamp,attr"`
	From  string `xml:"from,attr"`
}

// stanzaErr is an RFC 6120 <error/> (shared with the MUC core).
type stanzaErr = stanzaerr.Error

// chatState returns the XEP-0085 state the message carries, "" if none.
func (m *inMessage) chatState() string {
	switch {
	case m.Composing != nil:
		return "composing"
	case m.Paused != nil:
		return "paused"
	case m.Active != nil:
		return "active"
	case m.Inactive != nil:
		return "inactive"
	case m.Gone != nil:
		return "gone"
	}
	return ""
}

// Body returns the message body, "" when it has none.
func (m *inMessage) Body() string {
	b, _ := m.body()
	return b
}

// body returns the message body: the one without xml:lang, else the first.
func (m *inMessage) body() (string, bool) {
	if len(m.Bodies) == 0 {
		return "", false
	}
	for _, b := range m.Bodies {
		if b.Lang == "" {
			return b.Text, true
		}
	}
	return m.Bodies[0].Text, true
}

// time returns the delay stamp if present and valid.
func (m *inMessage) time() (time.Time, bool) {
	if m.Delay == nil {
		return time.Time{}, false
	}
	return parseStamp(m.Delay.Stamp)
}

// parseStamp reads an XEP-0082 timestamp. Servers often send whole seconds
// (Prosody does); such a stamp means "some time in that second", and is
// placed at its end so that a message stored earlier in that second with our
// own millisecond clock keeps its place before it.
func parseStamp(stamp string) (time.Time, bool) {
	t, err := time.Parse(time.RFC3339Nano, stamp)
	if err != nil {
		return time.Time{}, false
	}
	if !strings.Contains(stamp, ".") {
		t = t.Add(time.Second - time.Millisecond)
	}
	return t.UTC(), true
}

// inPresence is a decoded <presence/>.
type inPresence struct {
	XMLName  xml.Name
	ID       string     `xml:"id,attr"`
	From     string     `xml:"from,attr"`
	To       string     `xml:"to,attr"`
	Type     string     `xml:"type,attr"`
	Show     string     `xml:"show"`
	Status   []langText `xml:"status"`
	Priority string     `xml:"priority"`
	Error    *stanzaErr `xml:"error"`
	Inner    string     `xml:"-"` // the children as XML; decodePresence fills it
}

func (p *inPresence) status() string {
	for _, s := range p.Status {
		if s.Lang == "" {
			return s.Text
		}
	}
	if len(p.Status) > 0 {
		return p.Status[0].Text
	}
	return ""
}

// rosterQuery is a jabber:iq:roster <query/>.
type rosterQuery struct {
	XMLName xml.Name     `xml:"jabber:iq:roster query"`
	Ver     *string      `xml:"ver,attr"`
	Items   []rosterItem `xml:"item"`
}

type rosterItem struct {
	JID          string   `xml:"jid,attr"`
	Name         string   `xml:"name,attr,omitempty"`
	Subscription string   `xml:"subscription,attr,omitempty"`
	Ask          string   `xml:"ask,attr,omitempty"`
	Groups       []string `xml:"group"`
}

// outMessage is a message we send.
type outMessage struct {
	XMLName  xml.Name    `xml:"jabber:client message"`
	ID       string      `xml:"id,attr"`
	To       string      `xml:"to,attr"`
	Type     string      `xml:"type,attr,omitempty"`
	Body     string      `xml:"body,omitempty"`
	OriginID *originID   `xml:"urn:xmpp:sid:0 origin-id"`
	Request  *receiptReq `xml:"urn:xmpp:receipts request"`
	Received *receiptAck `xml:"urn:xmpp:receipts received"`
	MUCUser  *struct{}   `xml:"http://jabber.org/protocol/muc#user x"`
	Reply    *reply      `xml:"urn:xmpp:reply:0 reply"`
	Markable *struct{}   `xml:"urn:xmpp:chat-markers:0 markable"`
	Active   *struct{}   `xml:"http://jabber.org/protocol/chatstates active"`
	Raw      string      `xml:",innerxml"` // pre-built children (OMEMO)
	// Hints (XEP-0334): a receipt needs no archive copy.
	NoStore *struct{} `xml:"urn:xmpp:hints no-store"`
}

type receiptReq struct{}

type receiptAck struct {
	ID string `xml:"id,attr"`
}

type originID struct {
	ID string `xml:"id,attr"`
}

// outPresence is a presence we send.
type outPresence struct {
	XMLName  xml.Name `xml:"jabber:client presence"`
	ID       string   `xml:"id,attr,omitempty"`
	To       string   `xml:"to,attr,omitempty"`
	Type     string   `xml:"type,attr,omitempty"`
	Show     string   `xml:"show,omitempty"`
	Status   string   `xml:"status,omitempty"`
	Priority int      `xml:"priority,omitempty"`
	Caps     *caps    `xml:"http://jabber.org/protocol/caps c,omitempty"`
}

// iqStanza is an IQ we send or answer; Payload is raw inner XML we built.
type iqStanza struct {
	XMLName xml.Name `xml:"jabber:client iq"`
	ID      string   `xml:"id,attr"`
	To      string   `xml:"to,attr,omitempty"`
	From    string   `xml:"from,attr,omitempty"`
	Type    string   `xml:"type,attr"`
	Payload any
}

// inIQ is a decoded incoming IQ request. Known payloads get their own
// fields; anything else lands in Other.
type inIQ struct {
	XMLName xml.Name
	ID      string       `xml:"id,attr"`
	From    string       `xml:"from,attr"`
	To      string       `xml:"to,attr"`
	Type    string       `xml:"type,attr"`
	Roster  *rosterQuery `xml:"jabber:iq:roster query"`
	Ping    *struct{}    `xml:"urn:xmpp:ping ping"`
	Disco   *struct {
		Node string `xml:"node,attr"`
	} `xml:"http://jabber.org/protocol/disco#info query"`
	Version *struct{} `xml:"jabber:iq:version query"`
	Other   []struct {
		XMLName xml.Name
	} `xml:",any"`
}

// iqChildren counts the child elements of an IQ (RFC 6120 §8.2.3: a get
// or set carries exactly one).
func iqChildren(raw []byte) int {
	var all struct {
		Children []struct{ XMLName xml.Name } `xml:",any"`
	}
	if xml.Unmarshal(raw, &all) != nil {
		return 0
	}
	return len(all.Children)
}

// discoInfoRequest asks for an entity's disco#info.
type discoInfoRequest struct {
	XMLName xml.Name `xml:"http://jabber.org/protocol/disco#info query"`
	Node    string   `xml:"node,attr,omitempty"`
}
