package session

import (
	"context"
	"encoding/xml"
	"strconv"
	"strings"
	"sync"

	"xchat/store"
)

// Stream management (XEP-0198), which mellium lacks. The pieces:
//   - wireCounter watches the plaintext we write (mellium's TeeOut) and
//     counts top-level stanzas in wire order, so sequence numbers are exact
//     whichever goroutine wrote;
//   - the Serve handler counts stanzas received and answers <r/> at once;
//   - the owner keeps the messages not yet acked, marks them Sent on <a/>,
//     and resumes the stream after a connection loss (bindFeature sends
//     <resume/> instead of binding). When resumption fails, the durable
//     outbox sends the messages again with the same origin-id.
const nsSM = "urn:xmpp:sm:3"

// smSession is what survives a connection loss for resumption.
type smSession struct {
	id      string
	fullJID string
	resume  bool
}

// smState is the per-account stream management state (owner goroutine).
type smState struct {
	session *smSession // non-nil once <enabled/> arrived on this or a resumed stream
	unacked []smItem   // our messages written since enable, oldest first
	// Counts carried into a resumption.
	lastIn  uint32 // stanzas received and handled
	lastOut uint32 // stanzas the server acknowledged
}

type smItem struct {
	seq uint32 // outbound count once it was written
	id  int64  // message row
}

// wireCounter parses one direction of the plaintext stream just enough to
// count top-level stanzas in wire order. Both ends escape '<' and '>' in
// text and attribute values, so tags are found without a full parser.
type wireCounter struct {
	mu      sync.Mutex
	mark    string // top-level element that starts the count (enable / enabled)
	depth   int
	inTag   bool
	closing bool
	named   bool
	name    []byte
	tag     []byte // the start tag's bytes, bounded, for the id of a top-level message
	topID   string
	last    byte
	top     string
	// recent maps the ids of our last top-level messages to their count,
	// so a message's sequence number is exact whatever else was written.
	recent [64]struct {
		id  string
		seq uint32
	}
	recentN int
	total   uint32
	base    uint32 // total when the count started
	started bool
	rMarks  []uint32 // counts at each <r/> seen (inbound)
	// When armed, a <resumed/> restarts the count at resumeFrom, in stream
	// order (what follows it in the same read is counted after it).
	resumeArmed bool
	resumeFrom  uint32
}

// newWireCounter counts from zero once the mark element goes by.
func newWireCounter(mark string) *wireCounter { return &wireCounter{mark: mark} }

// armResume makes a coming <resumed/> start the count at v.
func (w *wireCounter) armResume(v uint32) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.resumeArmed, w.resumeFrom = true, v
}

// startAt starts the count at v now: a resumed stream continues the
// previous stream's count. Only for our own output, where nothing is
// written between <resume/> and the session starting.
func (w *wireCounter) startAt(v uint32) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.started, w.base, w.total = true, 0, v
}

func (w *wireCounter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, b := range p {
		if !w.inTag {
			if b == '<' {
				w.inTag, w.closing, w.named, w.name, w.tag, w.last = true, false, false, w.name[:0], w.tag[:0], 0
			}
			continue
		}
		if len(w.tag) < 256 {
			w.tag = append(w.tag, b)
		}
		switch {
		case b == '>':
			w.inTag = false
			w.tagDone(w.last == '/')
		case len(w.name) == 0 && !w.named && b == '/' && !w.closing:
			w.closing = true
		case !w.named && (b == ' ' || b == '\t' || b == '\n' || b == '\r' || b == '/'):
			w.named = true
		case !w.named && len(w.name) < 64:
			w.name = append(w.name, b)
		}
		if b != ' ' && b != '\t' && b != '\n' && b != '\r' {
			w.last = b
		}
	}
	return len(p), nil
}

func (w *wireCounter) tagDone(selfClosing bool) {
	if len(w.name) == 0 || w.name[0] == '?' || w.name[0] == '!' {
		return
	}
	name := string(w.name)
	if w.closing {
		w.depth--
		if w.depth == 1 {
			w.elementDone(w.top)
		}
		w.depth = max(w.depth, 0)
		return
	}
	if name == "stream:stream" || name == "stream" {
		w.depth = 1
		return
	}
	if w.depth == 1 {
		w.top, w.topID = name, ""
		if name == "message" {
			w.topID = attrIn(w.tag, "id")
		}
	}
	if selfClosing {
		if w.depth == 1 {
			w.elementDone(name)
		}
		return
	}
	w.depth++
}

func (w *wireCounter) elementDone(name string) {
	switch name {
	case "message", "presence", "iq":
		w.total++
		if name == "message" && w.topID != "" {
			r := &w.recent[w.recentN%len(w.recent)]
			r.id, r.seq = w.topID, w.count()
			w.recentN++
		}
	case "r":
		w.rMarks = append(w.rMarks, w.count())
	case w.mark:
		w.started, w.base = true, w.total
	case "resumed":
		if w.resumeArmed {
			w.started, w.base, w.total = true, 0, w.resumeFrom
		}
	}
}

func (w *wireCounter) count() uint32 {
	if !w.started {
		return 0
	}
	return w.total - w.base
}

// Count is the number of stanzas since the count started.
func (w *wireCounter) Count() uint32 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.count()
}

// seqOf returns the count right after the top-level message with this id
// was written, if it was among the last few.
func (w *wireCounter) seqOf(id string) (uint32, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for i := range w.recent {
		if w.recent[i].id == id && id != "" {
			return w.recent[i].seq, true
		}
	}
	return 0, false
}

// attrIn finds attribute name's value in a start tag's bytes (as written
// by encoding/xml or a server: quoted with ' or ").
func attrIn(tag []byte, name string) string {
	s := string(tag)
	for i := 0; i < len(s); i++ {
		j := strings.Index(s[i:], name+"=")
		if j < 0 {
			return ""
		}
		j += i
		if j > 0 && s[j-1] != ' ' && s[j-1] != '\t' && s[j-1] != '\n' {
			i = j
			continue
		}
		k := j + len(name) + 1
		if k >= len(s) || (s[k] != '"' && s[k] != '\'') {
			return ""
		}
		end := strings.IndexByte(s[k+1:], s[k])
		if end < 0 {
			return ""
		}
		return s[k+1 : k+1+end]
	}
	return ""
}

// popR returns the count at the oldest unanswered <r/>.
func (w *wireCounter) popR() (uint32, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.rMarks) == 0 {
		return 0, false
	}
	v := w.rMarks[0]
	w.rMarks = w.rMarks[1:]
	return v, true
}

type smEnable struct {
	XMLName xml.Name `xml:"urn:xmpp:sm:3 enable"`
	Resume  bool     `xml:"resume,attr"`
}

type smRequest struct {
	XMLName xml.Name `xml:"urn:xmpp:sm:3 r"`
}

type smAnswer struct {
	XMLName xml.Name `xml:"urn:xmpp:sm:3 a"`
	H       uint32   `xml:"h,attr"`
}

// smNonza handles an SM element from the server inside the Serve handler.
// Nothing is written here: <r/> is answered by the owner goroutine once it
// has stored every stanza that came before it, so an ack never covers a
// message not yet on disk.
func (h *handler) smNonza(start *xml.StartElement) {
	c := h.c
	switch start.Name.Local {
	case "r":
		c.post(func() { c.smAnswer(h.gen) })
	case "a":
		v, err := strconv.ParseUint(attrValue(start, "h"), 10, 32)
		if err != nil {
			c.log.Warn("bad stream management ack", "h", attrValue(start, "h"))
			return
		}
		c.post(func() { c.smAcked(h.gen, uint32(v)) })
	case "enabled":
		s := &smSession{id: attrValue(start, "id")}
		s.resume = s.id != "" && (attrValue(start, "resume") == "true" || attrValue(start, "resume") == "1")
		c.post(func() { c.smEnabled(h.gen, s) })
	case "failed":
		c.log.Info("stream management refused by the server")
	}
}

// smAnswer answers the oldest <r/> with the count of stanzas before it.
func (c *Client) smAnswer(gen uint64) {
	if c.conn == nil || c.conn.gen != gen || c.conn.in == nil {
		return
	}
	h, ok := c.conn.in.popR()
	if !ok {
		return
	}
	c.sm.lastIn = h
	if err := c.send(context.Background(), smAnswer{H: h}); err != nil {
		c.log.Info("ack answer failed", "err", err)
	}
}

// smEnabled records the resumable session.
func (c *Client) smEnabled(gen uint64, s *smSession) {
	if c.conn == nil || c.conn.gen != gen {
		return
	}
	s.fullJID = c.conn.s.LocalAddr().String()
	c.sm.session = s
	c.sm.unacked = nil
	c.log.Info("stream management enabled", "resumable", s.resume)
}

// smAcked marks the acknowledged messages Sent.
func (c *Client) smAcked(gen uint64, h uint32) {
	if c.conn == nil || c.conn.gen != gen {
		return
	}
	c.ackUpTo(context.Background(), h)
}

func (c *Client) ackUpTo(ctx context.Context, h uint32) {
	c.sm.lastOut = h
	var ids []int64
	for _, it := range c.sm.unacked {
		if int32(h-it.seq) < 0 { // seq after h, modulo 2^32
			break
		}
		ids = append(ids, it.id)
	}
	c.sm.unacked = c.sm.unacked[len(ids):]
	c.advanceAll(ctx, ids, store.StateSent)
}

// advanceAll is advance for the messages one ack or barrier confirmed, in
// one transaction (one commit instead of one per message); the events
// follow the commit. If it fails they stay as they were, which is safe: a
// message not marked Sent goes out again with the same origin-id.
func (c *Client) advanceAll(ctx context.Context, ids []int64, st store.State) {
	if len(ids) < 2 {
		for _, id := range ids {
			c.advance(ctx, id, st)
		}
		return
	}
	release := c.holdEvents()
	err := c.st.WithTx(ctx, func(ctx context.Context) error {
		for _, id := range ids {
			c.advance(ctx, id, st)
		}
		return nil
	})
	if err != nil {
		c.log.Error("store: set states", "err", err)
	}
	release(err == nil)
}

// advance moves our message to a later state (the store never moves one
// back) and tells the UI the state it ends in.
func (c *Client) advance(ctx context.Context, id int64, st store.State) {
	if err := c.st.SetState(ctx, id, st, ""); err != nil {
		c.log.Error("store: set state", "err", err)
		return
	}
	if m, err := c.st.Message(ctx, id); err == nil {
		c.emit(MessageStateEvent{Account: c.acct, Peer: m.Peer, ID: id, State: m.State})
	}
}

// smTrack notes a message just written; it returns false when stream
// management is not active (the caller then uses a ping barrier).
func (c *Client) smTrack(ctx context.Context, id int64, stanzaID string) bool {
	if c.sm.session == nil || c.conn == nil || c.conn.out == nil {
		return false
	}
	seq, ok := c.conn.out.seqOf(stanzaID)
	if !ok {
		seq = c.conn.out.Count() // later than exact: safe, never acks early
	}
	c.sm.unacked = append(c.sm.unacked, smItem{seq: seq, id: id})
	return true
}

// smRequestAck asks the server to acknowledge what it has.
func (c *Client) smRequestAck(ctx context.Context) {
	if err := c.send(ctx, smRequest{}); err != nil {
		c.log.Info("ack request failed", "err", err)
	}
}

// resumeReq asks bindFeature to resume a stream instead of binding.
type resumeReq struct {
	id      string
	h       uint32 // stanzas we handled on the old stream
	fullJID string
	in, out *wireCounter
	// Set by bindFeature when the server resumed the stream.
	resumed bool
	ackedH  uint32 // stanzas of ours the server received
}

// smResumeSnapshot is taken by the owner before a login.
func (c *Client) smResumeSnapshot() *resumeReq {
	s := c.sm.session
	if s == nil || !s.resume || s.fullJID == "" {
		return nil
	}
	return &resumeReq{id: s.id, h: c.sm.lastIn, fullJID: s.fullJID}
}

// smStart runs on a new connection: after a resumption it settles the acks
// and writes again what the server did not get; on a fresh stream it asks
// for stream management.
func (c *Client) smStart(ctx context.Context, rq *resumeReq) {
	if rq != nil && rq.resumed {
		c.ackUpTo(ctx, rq.ackedH)
		c.log.Info("stream resumed", "acked", rq.ackedH, "unacked", len(c.sm.unacked))
		// What the server did not get, and what was typed meanwhile, is
		// still Pending in the outbox: send it all, in order.
		c.sm.unacked = nil
		c.flushOutbox(ctx)
		return
	}
	c.sm = smState{}
	if err := c.send(ctx, smEnable{Resume: true}); err != nil {
		c.log.Info("enabling stream management failed", "err", err)
	}
}
