package session

import (
	"context"
	"encoding/xml"
	"errors"
	"time"

	"xchat/store"
)

// Namespaces of the sync layer.
const (
	nsMAM     = "urn:xmpp:mam:2"
	nsCarbons = "urn:xmpp:carbons:2"
	nsRSM     = "http://jabber.org/protocol/rsm"
	nsForms   = "jabber:x:data"
)

// mamPageSize is how many archived messages one MAM page carries.
const mamPageSize = 250

// mamMaxPages bounds one catch-up (250k messages) so a misbehaving archive
// cannot page forever.
const mamMaxPages = 1000

// SyncEvent reports progress of the catch-up with the server's archive.
type SyncEvent struct {
	Account string
	Archive string // bare JID of the archive
	Fetched int    // messages received so far in this catch-up
	New     int    // of which were not stored before
	Done    bool
	Err     error
}

func (e SyncEvent) account() string { return e.Account }

// mamQueryState is the catch-up in progress (one per account archive).
type mamQueryState struct {
	queryID string
	archive string
	page    []store.Message
	fetched int
	added   int
	pages   int
	last    bool // fetching only the newest page (no stored position yet)
	older   bool // a page of older history (history.go), not a catch-up
	// gapCheck: the next page does not continue from our position, so
	// what lies before it may be a hole in the history (history.go).
	gapCheck bool
	deferred []archivedFeature // features applied once the page is stored (archived.go)
	replies  []int             // indexes of replies in page (archived.go)
}

type carbonsEnable struct {
	XMLName xml.Name `xml:"urn:xmpp:carbons:2 enable"`
}

type mamQuery struct {
	XMLName xml.Name  `xml:"urn:xmpp:mam:2 query"`
	QueryID string    `xml:"queryid,attr"`
	Form    *dataForm `xml:"jabber:x:data x,omitempty"`
	Set     rsmSet    `xml:"http://jabber.org/protocol/rsm set"`
}

type dataForm struct {
	Type   string      `xml:"type,attr"`
	Fields []formField `xml:"field"`
}

type formField struct {
	Var    string   `xml:"var,attr"`
	Type   string   `xml:"type,attr,omitempty"`
	Values []string `xml:"value"`
}

type rsmSet struct {
	Max    int     `xml:"max"`
	After  *string `xml:"after,omitempty"`
	Before *string `xml:"before,omitempty"`
}

type mamFin struct {
	XMLName  xml.Name `xml:"urn:xmpp:mam:2 fin"`
	Complete string   `xml:"complete,attr"`
	Set      struct {
		First string `xml:"first"`
		Last  string `xml:"last"`
	} `xml:"http://jabber.org/protocol/rsm set"`
}

// afterLogin turns on carbons and starts the archive catch-up.
func (c *Client) afterLogin(ctx context.Context) {
	c.caughtUp = false
	c.iq(ctx, "set", "", carbonsEnable{}, func(_ []byte, err error) {
		if err != nil {
			c.log.Info("carbons not enabled", "err", err)
		}
	})
	c.startCatchUp(ctx)
}

// startCatchUp asks our archive for what we missed since the newest
// archived message we hold; with none stored yet, for the newest page only
// (older history is fetched when the user scrolls there).
func (c *Client) startCatchUp(ctx context.Context) {
	lastID, _, err := c.st.ArchiveSync(ctx, c.acct, c.acct)
	if err != nil {
		c.log.Error("store: archive sync", "err", err)
		return
	}
	q := &mamQueryState{archive: c.acct, last: lastID == "", gapCheck: lastID == ""}
	c.queryMAM(ctx, q, lastID, time.Time{})
}

// mamByArchive finds the running query for an archive.
func (c *Client) mamByArchive(archive string) (*mamQueryState, bool) {
	for _, q := range c.mam {
		if q.archive == archive && !q.older {
			return q, true
		}
	}
	return nil, false
}

func (c *Client) queryMAM(ctx context.Context, q *mamQueryState, after string, start time.Time) {
	delete(c.mam, q.queryID)
	q.queryID = newID()
	c.mam[q.queryID] = q
	to := ""
	if q.archive != c.acct {
		to = q.archive
	}
	q.page = q.page[:0]
	q.pages++
	payload := mamQuery{QueryID: q.queryID, Set: rsmSet{Max: mamPageSize}}
	form := &dataForm{Type: "submit", Fields: []formField{{Var: "FORM_TYPE", Type: "hidden", Values: []string{nsMAM}}}}
	switch {
	case q.last:
		empty := ""
		payload.Set.Before = &empty // the newest page
	case !start.IsZero():
		form.Fields = append(form.Fields, formField{Var: "start", Values: []string{start.UTC().Format(time.RFC3339)}})
	default:
		payload.Set.After = &after
	}
	payload.Form = form
	c.iq(ctx, "set", to, payload, func(resp []byte, err error) {
		if c.mam[q.queryID] != q {
			return
		}
		if err != nil {
			var iqErr *IQError
			if errors.As(err, &iqErr) && iqErr.Condition == "item-not-found" && !q.last && start.IsZero() {
				// Our position fell out of the archive: continue by time.
				_, ts, _ := c.st.ArchiveSync(ctx, c.acct, q.archive)
				c.log.Info("archive position expired; catching up by time", "since", ts)
				if ts.IsZero() {
					q.last = true // only the newest page
				}
				// What lies before the next page may be a hole (messages
				// expired with our position, or never fetched).
				q.gapCheck = true
				c.queryMAM(ctx, q, "", ts)
				return
			}
			delete(c.mam, q.queryID)
			c.log.Info("archive catch-up failed", "archive", q.archive, "err", err)
			c.emit(SyncEvent{Account: c.acct, Archive: q.archive, Fetched: q.fetched, New: q.added, Done: true, Err: err})
			return
		}
		var fin mamFin
		if xml.Unmarshal(resp, &fin) != nil {
			delete(c.mam, q.queryID)
			return
		}
		gaps := c.gapCandidates(ctx, q)
		c.flushMAMPage(ctx, q, fin.Set.Last)
		c.recordGaps(ctx, gaps)
		c.applyArchived(ctx, q)
		complete := fin.Complete == "true" || fin.Complete == "1" || fin.Set.Last == "" || q.last
		if !complete && q.pages < mamMaxPages {
			c.emit(SyncEvent{Account: c.acct, Archive: q.archive, Fetched: q.fetched, New: q.added})
			c.queryMAM(ctx, q, fin.Set.Last, time.Time{})
			return
		}
		delete(c.mam, q.queryID)
		if q.archive == c.acct {
			c.caughtUp = true
			c.afterCatchUpOMEMO(ctx)
		} else if rm := c.rooms[q.archive]; rm != nil {
			rm.synced = true
		}
		c.emit(SyncEvent{Account: c.acct, Archive: q.archive, Fetched: q.fetched, New: q.added, Done: true})
	})
}

// mamResult collects one archived message of a running query. It must
// come from the archive we asked: our own account, or the room.
func (c *Client) mamResult(from string, r *mamResult) {
	q := c.mam[r.QueryID]
	if q == nil {
		c.log.Info("MAM result for no running query", "queryid", r.QueryID)
		return
	}
	fromArchive := from == q.archive || (q.archive == c.acct && from == "")
	if !fromArchive {
		c.log.Warn("rejecting MAM result from a foreign sender (forgery?)", "from", from, "archive", q.archive)
		return
	}
	if q.archive != c.acct {
		if c.deferRoomArchived(q, r) {
			return
		}
		q.fetched++
		if msg, ok := c.roomArchived(q, r); ok {
			noteArchivedRoom(r.Forwarded.Message, &msg)
			noteArchivedReply(q, r.Forwarded.Message, &msg)
			q.page = append(q.page, msg)
		}
		return
	}
	inner := r.Forwarded.Message
	if inner == nil || r.ID == "" {
		return
	}
	if r.Forwarded.Delay != nil {
		inner.Delay = r.Forwarded.Delay
	}
	q.fetched++
	msg, ok := c.toStore(inner, false, time.Now().UTC())
	if !ok {
		return
	}
	msg.StanzaID, msg.StanzaBy = r.ID, q.archive
	if c.deferArchived(q, inner, msg) {
		return
	}
	if c.om != nil && isOMEMO(inner) {
		// Decrypted one by one, in archive order, each in the transaction
		// of its ratchet update.
		from := msg.Sender
		if msg.Direction == store.Outgoing {
			from = c.acct
		}
		decrypt := func(ctx context.Context) error {
			if _, inserted := c.decryptInto(ctx, wrapMessage(inner), &msg, from, c.chatFeatures(inner)); inserted {
				q.added++
			}
			return nil
		}
		if !q.older {
			_ = decrypt(context.Background())
			return
		}
		// Older history the user scrolled to: stored, but not unread and
		// not announced as new (the pane reads the page from the store).
		release := c.holdEvents()
		if err := c.st.KeepUnread(context.Background(), c.acct, msg.Peer, decrypt); err != nil {
			c.log.Error("store: older history", "err", err)
		}
		release(false)
		return
	}
	// The archive's stamp is authoritative, unless it was clamped to now.
	if r.Forwarded.Delay != nil {
		if t, ok := parseStamp(r.Forwarded.Delay.Stamp); ok && t.Equal(msg.Timestamp) {
			msg.ArchiveTime = true
		}
	}
	noteArchivedReply(q, inner, &msg)
	q.page = append(q.page, msg)
}

// flushMAMPage stores a page in one transaction, then notifies about the new
// messages, then records the archive position.
func (c *Client) flushMAMPage(ctx context.Context, q *mamQueryState, last string) {
	if len(q.page) > 0 {
		ptrs := make([]*store.Message, len(q.page))
		for i := range q.page {
			ptrs[i] = &q.page[i]
		}
		added, err := c.st.AddMessagesReport(ctx, ptrs)
		if err != nil {
			c.log.Error("store: MAM page", "err", err)
			return // position not advanced: the page is fetched again next time
		}
		for i, ok := range added {
			if ok {
				q.added++
				c.emit(MessageEvent{Account: c.acct, Message: q.page[i]})
			}
		}
	}
	if last == "" {
		return
	}
	var ts time.Time
	if n := len(q.page); n > 0 {
		ts = q.page[n-1].Timestamp
	}
	if err := c.st.SetArchiveSync(ctx, c.acct, q.archive, last, ts); err != nil {
		c.log.Error("store: archive sync", "err", err)
	}
}

// liveArchived moves our archive position forward with live messages, once
// the catch-up is complete (before that, a gap could be skipped).
func (c *Client) liveArchived(ctx context.Context, m store.Message) {
	if !c.caughtUp || m.StanzaID == "" || m.StanzaBy != c.acct {
		return
	}
	if err := c.st.SetArchiveSync(ctx, c.acct, c.acct, m.StanzaID, m.Timestamp); err != nil {
		c.log.Error("store: archive sync", "err", err)
	}
}
