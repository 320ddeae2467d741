package session

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"time"

	"mellium.im/xmlstream"
	"mellium.im/xmpp"
)

// sendTimeout bounds one write or one IQ round trip.
const sendTimeout = 30 * time.Second

// startSession installs a freshly bound session: starts Serve on its own
// goroutine and the bootstrap (roster, disco, presence, outbox) after it.
func (c *Client) startSession(ctx context.Context, r loginResult, serveDone chan<- serveResult) {
	s := r.s
	conn := &connection{s: s, gen: connGen.Add(1), in: r.in, out: r.out}
	conn.ctx, conn.cancel = context.WithCancel(context.WithoutCancel(ctx))
	conn.resumed = r.rq != nil && r.rq.resumed
	c.conn = conn
	c.lastIn.Store(time.Now().UnixNano())
	c.log.Info("bound", "jid", s.LocalAddr().String())
	go func() {
		err := s.Serve(&handler{c: c, gen: conn.gen})
		serveDone <- serveResult{gen: conn.gen, err: err}
	}()
	if conn.resumed {
		// The server kept our session: roster, presence and undelivered
		// stanzas are as they were; only our unacked messages go again.
		conn.online = true
		c.caughtUp = c.wasCaughtUp
		c.state.Store(int32(Online))
		c.emit(StateEvent{Account: c.acct, State: Online, Resumed: true})
		c.smStart(ctx, r.rq)
		return
	}
	c.clearPresences()
	if r.out != nil {
		c.smStart(ctx, nil)
	}
	c.bootstrap(ctx, conn)
}

// closeConn ends the current session politely.
func (c *Client) closeConn(ctx context.Context, why string) {
	if c.conn == nil {
		return
	}
	c.log.Info("closing session", "why", why)
	s := c.conn.s
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	_ = s.Encode(wctx, outPresence{Type: "unavailable"})
	// No s.SetCloseDeadline here: in mellium v0.22 it replaces the input
	// context without synchronisation while Serve reads it (a data race),
	// and the connection is closed right below anyway.
	_ = s.Close()
	_ = s.Conn().Close()
	c.conn = nil
}

// connectionLost resets per-connection state; pending messages stay in the
// outbox and go out again after the next login.
func (c *Client) connectionLost() {
	clear(c.mam)
	c.wasCaughtUp = c.caughtUp
	c.caughtUp = false
	c.sentUnack = nil
	c.barrierOn = false
	c.pingFailed = false
	if c.sm.session == nil || !c.sm.session.resume {
		c.clearPresences()
	}
}

// clearPresences forgets every contact's presence (a new session will get
// them again); a resumable session keeps them until we know.
func (c *Client) clearPresences() {
	for bare, res := range c.presences {
		for r := range res {
			c.emit(PresenceEvent{Account: c.acct, JID: bare, Resource: r, Show: ShowUnavailable})
		}
	}
	c.presences = map[string]map[string]PresenceEvent{}
}

// iq sends an IQ and calls done on the owner goroutine with the response's
// inner XML (the payload element) or an error. It never blocks the owner.
func (c *Client) iq(ctx context.Context, typ, to string, payload any, done func(resp []byte, err error)) {
	conn := c.conn
	if conn == nil {
		done(nil, ErrOffline)
		return
	}
	id := newID()
	go func() {
		resp, err := roundTrip(conn.ctx, ctx, conn.s, iqStanza{ID: id, To: to, Type: typ, Payload: payload})
		c.post(func() {
			if c.conn != conn {
				done(nil, ErrOffline)
				return
			}
			done(resp, err)
		})
	}()
}

// ErrOffline is returned for network operations while not connected.
var ErrOffline = errors.New("not connected")

// IQError is an error answer to an IQ.
type IQError struct {
	Condition, Text string
	Raw             []byte // the whole error answer
}

func (e *IQError) Error() string {
	if e.Text != "" {
		return e.Condition + ": " + e.Text
	}
	return e.Condition
}

// roundTrip sends an IQ and returns the inner XML of the result. mellium
// gets only the connection's context (see connection.ctx); how long we
// wait is bounded by wait and sendTimeout on our side.
func roundTrip(connCtx, wait context.Context, s *xmpp.Session, iq iqStanza) ([]byte, error) {
	type result struct {
		b   []byte
		err error
	}
	ch := make(chan result, 1)
	go func() {
		b, err := sendIQ(connCtx, s, iq)
		ch <- result{b, err}
	}()
	timer := time.NewTimer(sendTimeout)
	defer timer.Stop()
	select {
	case r := <-ch:
		return r.b, r.err
	case <-wait.Done():
		return nil, wait.Err()
	case <-timer.C:
		return nil, context.DeadlineExceeded
	}
}

func sendIQ(ctx context.Context, s *xmpp.Session, iq iqStanza) ([]byte, error) {
	var buf bytes.Buffer
	if err := xml.NewEncoder(&buf).Encode(iq); err != nil {
		return nil, err
	}
	_, inner, err := sendIQRaw(ctx, s, buf.Bytes())
	return inner, err
}

// sendIQRaw sends a hand-built IQ (mellium adds an id if it has none) and
// returns the whole answer and its inner XML. An error answer is an
// *IQError that keeps the whole answer for callers that need its details.
func sendIQRaw(ctx context.Context, s *xmpp.Session, req []byte) (full, inner []byte, err error) {
	r, err := s.SendIQ(ctx, xml.NewDecoder(bytes.NewReader(req)))
	if err != nil {
		return nil, nil, err
	}
	defer r.Close()
	var resp struct {
		XMLName xml.Name
		Type    string     `xml:"type,attr"`
		Inner   []byte     `xml:",innerxml"`
		Error   *stanzaErr `xml:"error"`
	}
	tok, err := r.Token()
	if err != nil {
		return nil, nil, fmt.Errorf("bad IQ response: %w", err)
	}
	start, ok := tok.(xml.StartElement)
	if !ok {
		return nil, nil, fmt.Errorf("bad IQ response: %T", tok)
	}
	raw, err := elementBytes(&start, r)
	if err != nil {
		return nil, nil, fmt.Errorf("bad IQ response: %w", err)
	}
	if err := xml.Unmarshal(raw, &resp); err != nil {
		return nil, nil, fmt.Errorf("bad IQ response: %w", err)
	}
	if resp.Type == "error" {
		cond, text := resp.Error.Condition()
		if cond == "" {
			cond = "undefined-condition"
		}
		return raw, nil, &IQError{Condition: cond, Text: text, Raw: raw}
	}
	return raw, resp.Inner, nil
}

// iqRaw is iq for a hand-built request (from muc/, media/, omemo/): done
// gets the whole answer.
func (c *Client) iqRaw(ctx context.Context, req []byte, done func(full []byte, err error)) {
	conn := c.conn
	if conn == nil {
		done(nil, ErrOffline)
		return
	}
	go func() {
		type result struct {
			b   []byte
			err error
		}
		ch := make(chan result, 1)
		go func() {
			full, _, err := sendIQRaw(conn.ctx, conn.s, req)
			ch <- result{full, err}
		}()
		var r result
		timer := time.NewTimer(sendTimeout)
		defer timer.Stop()
		select {
		case r = <-ch:
		case <-ctx.Done():
			r.err = ctx.Err()
		case <-timer.C:
			r.err = context.DeadlineExceeded
		}
		c.post(func() {
			if c.conn != conn {
				done(nil, ErrOffline)
				return
			}
			done(r.b, r.err)
		})
	}()
}

// sendRaw writes a hand-built stanza on the current connection.
func (c *Client) sendRaw(raw []byte) error {
	if c.conn == nil {
		return ErrOffline
	}
	return c.conn.s.Send(c.conn.ctx, xml.NewDecoder(bytes.NewReader(raw)))
}

// send writes a stanza on the current connection.
func (c *Client) send(ctx context.Context, v any) error {
	if c.conn == nil {
		return ErrOffline
	}
	// A write that hangs (peer gone, buffers full) is ended by keepalive
	// closing the connection, not by a per-call deadline (see connection.ctx).
	return c.conn.s.Encode(c.conn.ctx, v)
}

// keepalive pings the server when nothing was received for PingInterval and
// drops the connection if the ping is not answered in PingTimeout.
func (c *Client) keepalive(ctx context.Context) {
	if c.conn == nil || !c.conn.online {
		return
	}
	idle := time.Since(time.Unix(0, c.lastIn.Load()))
	if idle < c.cfg.PingInterval || c.pingFailed {
		return
	}
	conn := c.conn
	c.pingFailed = true // set until the answer comes; one ping in flight at a time
	pctx, cancel := context.WithTimeout(ctx, c.cfg.PingTimeout)
	c.iq(pctx, "get", c.jid.Domainpart(), ping{}, func(_ []byte, err error) {
		cancel()
		if c.conn != conn {
			return
		}
		var iqErr *IQError
		if err == nil || errors.As(err, &iqErr) {
			// Any answer, even an error, proves the link is alive.
			c.pingFailed = false
			c.lastIn.Store(time.Now().UnixNano())
			return
		}
		c.log.Warn("ping failed; dropping the connection", "err", err)
		_ = conn.s.Conn().Close()
	})
}

type ping struct {
	XMLName xml.Name `xml:"urn:xmpp:ping ping"`
}

// handler is what Serve calls for every top-level element. It decodes,
// answers IQ requests on its own encoder (the only safe way to write while
// Serve holds the stream lock), and enqueues everything else for the owner.
type handler struct {
	c   *Client
	gen uint64
}

func (h *handler) HandleXMPP(t xmlstream.TokenReadEncoder, start *xml.StartElement) error {
	c := h.c
	c.lastIn.Store(time.Now().UnixNano())
	if start.Name.Space == nsSM {
		h.smNonza(start)
		return nil
	}
	switch start.Name.Local {
	case "message":
		m, raw, err := decodeMessage(start, t)
		if err != nil {
			return c.badStanza(start, err)
		}
		c.post(func() { c.handleMessage(h.gen, m, raw) })
		return nil
	case "presence":
		p, raw, err := decodePresence(start, t)
		if err != nil {
			return c.badStanza(start, err)
		}
		c.post(func() { c.handlePresence(h.gen, p, raw) })
		return nil
	}
	raw, err := elementBytes(start, t)
	if err != nil {
		var tooLarge stanzaTooLarge
		if errors.As(err, &tooLarge) {
			c.log.Warn("dropping oversized stanza", "name", start.Name.Local)
			return nil
		}
		return err // the stream itself is broken
	}
	switch start.Name.Local {
	case "iq":
		var iq inIQ
		if err := xml.Unmarshal(raw, &iq); err != nil {
			c.log.Warn("dropping malformed iq", "err", err)
			return replyError(t, iqIDFrom(start), attrValue(start, "from"), "modify", "bad-request")
		}
		return h.handleIQ(t, &iq, iqChildren(raw))
	default:
		c.log.Debug("ignoring top-level element", "name", start.Name.Local, "ns", start.Name.Space)
	}
	return nil
}

// badStanza logs and drops a message or presence that could not be decoded;
// an error that broke the stream itself ends the session.
func (c *Client) badStanza(start *xml.StartElement, err error) error {
	var bad badStanza
	if !errors.As(err, &bad) {
		return err
	}
	c.log.Warn("dropping malformed stanza", "name", start.Name.Local, "err", bad.err)
	return nil
}

func attrValue(start *xml.StartElement, name string) string {
	for _, a := range start.Attr {
		if a.Name.Local == name && a.Name.Space == "" {
			return a.Value
		}
	}
	return ""
}

func iqIDFrom(start *xml.StartElement) string { return attrValue(start, "id") }

// handleIQ answers IQ requests. Requests are answered here, immediately;
// state changes (roster pushes) are posted to the owner.
func (h *handler) handleIQ(t xmlstream.TokenReadEncoder, iq *inIQ, children int) error {
	c := h.c
	if iq.Type != "get" && iq.Type != "set" {
		return nil // stray result/error for an IQ we no longer wait for
	}
	if children != 1 {
		return replyError(t, iq.ID, iq.From, "modify", "bad-request")
	}
	switch {
	case iq.Type == "get" && iq.Ping != nil:
		return replyResult(t, iq.ID, iq.From, nil)
	case iq.Type == "get" && iq.Disco != nil:
		return replyResult(t, iq.ID, iq.From, discoInfo(iq.Disco.Node))
	case iq.Type == "get" && iq.Version != nil:
		return replyResult(t, iq.ID, iq.From, versionInfo{Name: "xchat", Version: Version})
	case iq.Type == "set" && iq.Roster != nil:
		// RFC 6121 §2.1.6: a push is only valid from our own bare JID (which
		// mellium turns into an empty from) or with no from at all.
		if iq.From != "" && iq.From != c.acct {
			c.log.Warn("ignoring roster push from a foreign sender (spoofing attempt?)", "from", iq.From)
			return replyError(t, iq.ID, iq.From, "cancel", "service-unavailable")
		}
		q := *iq.Roster
		if len(q.Items) != 1 {
			return replyError(t, iq.ID, iq.From, "modify", "bad-request")
		}
		if err := replyResult(t, iq.ID, iq.From, nil); err != nil {
			return err
		}
		c.post(func() { c.applyRosterPush(h.gen, q) })
		return nil
	}
	return replyError(t, iq.ID, iq.From, "cancel", "service-unavailable")
}

func replyResult(t xmlstream.TokenReadEncoder, id, to string, payload any) error {
	return t.Encode(iqStanza{ID: id, To: to, Type: "result", Payload: payload})
}

func replyError(t xmlstream.TokenReadEncoder, id, to, typ, cond string) error {
	return t.Encode(iqStanza{ID: id, To: to, Type: "error", Payload: errorPayload{Type: typ, Cond: xml.Name{Space: nsStanzas, Local: cond}}})
}

type errorPayload struct {
	XMLName xml.Name `xml:"error"`
	Type    string   `xml:"type,attr"`
	Cond    xml.Name
}

func (e errorPayload) MarshalXML(enc *xml.Encoder, _ xml.StartElement) error {
	start := xml.StartElement{Name: xml.Name{Local: "error"}, Attr: []xml.Attr{{Name: xml.Name{Local: "type"}, Value: e.Type}}}
	if err := enc.EncodeToken(start); err != nil {
		return err
	}
	cond := xml.StartElement{Name: xml.Name{Local: e.Cond.Local}, Attr: []xml.Attr{{Name: xml.Name{Local: "xmlns"}, Value: e.Cond.Space}}}
	if err := enc.EncodeToken(cond); err != nil {
		return err
	}
	if err := enc.EncodeToken(xml.EndElement{Name: xml.Name{Local: e.Cond.Local}}); err != nil {
		return err
	}
	return enc.EncodeToken(start.End())
}

// Version is the client version reported by jabber:iq:version; cmd/xchat
// sets it from its build information.
var Version = "dev"

type versionInfo struct {
	XMLName xml.Name `xml:"jabber:iq:version query"`
	Name    string   `xml:"name"`
	Version string   `xml:"version"`
}

// Features are the disco#info features this client answers with.
var Features = []string{
	nsDiscoInf, nsPing, nsVersion, nsSID, "http://jabber.org/protocol/caps",
	"urn:xmpp:receipts", "jabber:x:conference", "http://jabber.org/protocol/muc",
	"urn:xmpp:bookmarks:1+notify", "eu.siacs.conversations.axolotl.devicelist+notify",
}

type discoQuery struct {
	XMLName  xml.Name `xml:"http://jabber.org/protocol/disco#info query"`
	Node     string   `xml:"node,attr,omitempty"`
	Identity struct {
		Category string `xml:"category,attr"`
		Type     string `xml:"type,attr"`
		Name     string `xml:"name,attr"`
	} `xml:"identity"`
	Features []discoFeature `xml:"feature"`
}

type discoFeature struct {
	Var string `xml:"var,attr"`
}

func discoInfo(node string) discoQuery {
	q := discoQuery{Node: node}
	q.Identity.Category, q.Identity.Type, q.Identity.Name = "client", "console", "xchat"
	for _, f := range Features {
		q.Features = append(q.Features, discoFeature{Var: f})
	}
	return q
}
