package session

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"time"

	"xchat/store"
)

// Older history on demand (XEP-0313 paging backwards with RSM <before/>)
// and gap markers. The catch-up (sync.go) only moves forward from our
// newest archived message; when the user scrolls past the top of what is
// stored, FetchOlder asks the archive for the page before the oldest
// archived message we hold. A catch-up that could not continue from our
// position (item-not-found, or no position at all while messages are
// stored) leaves a gap before the first message it fetched for each
// conversation; FetchOlder with that gap's time fills it page by page.

// olderMaxEmpty bounds how many pages of already-stored messages one
// FetchOlder call walks through before it reports back.
const olderMaxEmpty = 4

// HistoryResult is the answer of FetchOlder.
type HistoryResult struct {
	Added int  // messages stored that we did not have
	Start bool // the archive holds nothing older: stop asking
	// GapClosed: the gap asked for is filled (or could not be); else the
	// hole goes on before NextGap. Lost: it cannot be filled (the archive
	// no longer has those messages) and stays as a mark at NextGap.
	GapClosed bool
	NextGap   time.Time
	Lost      bool
}

// FetchOlder fetches the archive page before the oldest archived message
// of the conversation with peer (a contact, or a joined room), or, when
// gap is not zero, the page before the gap at that time. The messages are
// stored (deduplicated like the catch-up, not counted as unread) and not
// announced one by one: the caller reloads what it shows.
func (c *Client) FetchOlder(ctx context.Context, peer string, gap time.Time) (HistoryResult, error) {
	var res HistoryResult
	err := c.online(ctx, func(done func(error)) {
		c.fetchOlder(peer, gap, &res, 0, done)
	})
	return res, err
}

// fetchOlder runs on the owner goroutine; done is called exactly once.
func (c *Client) fetchOlder(peer string, gap time.Time, res *HistoryResult, empty int, done func(error)) {
	ctx := context.Background()
	archive, with := c.acct, peer
	if rm := c.rooms[peer]; rm != nil {
		if !rm.info.MAM {
			res.Start = true // nothing to ask: the room keeps no archive
			done(nil)
			return
		}
		archive, with = peer, ""
	} else {
		kind, _, err := c.st.ConversationKind(ctx, c.acct, peer)
		switch {
		case err != nil:
			done(err)
			return
		case kind == store.KindGroupchat:
			done(fmt.Errorf("not in %s: join it to fetch its history", peer))
			return
		case kind == store.KindPrivate || c.roomFor(peer) != nil:
			res.Start = true // private messages through a room: not archived for us
			done(nil)
			return
		}
	}
	if gap.IsZero() {
		if start, err := c.st.ArchiveStart(ctx, c.acct, peer); err != nil {
			done(err)
			return
		} else if start {
			res.Start = true
			done(nil)
			return
		}
	}
	// The anchor: the oldest archived message we hold (after the gap).
	before := ""
	anchor, err := c.st.OldestArchived(ctx, c.acct, peer, archive, gap)
	switch {
	case err == nil:
		before = anchor.StanzaID
	case errors.Is(err, store.ErrNotFound):
		if !gap.IsZero() {
			// Nothing archived after the gap to page from: forget it.
			_ = c.st.RemoveGap(ctx, c.acct, peer, gap)
			res.GapClosed = true
			done(nil)
			return
		}
	default:
		done(err)
		return
	}
	q := &mamQueryState{archive: archive, older: true, queryID: newID()}
	c.mam[q.queryID] = q
	form := &dataForm{Type: "submit", Fields: []formField{{Var: "FORM_TYPE", Type: "hidden", Values: []string{nsMAM}}}}
	if with != "" {
		form.Fields = append(form.Fields, formField{Var: "with", Values: []string{with}})
	}
	to := ""
	if archive != c.acct {
		to = archive
	}
	payload := mamQuery{QueryID: q.queryID, Form: form, Set: rsmSet{Max: mamPageSize, Before: &before}}
	c.iq(ctx, "set", to, payload, func(resp []byte, err error) {
		delete(c.mam, q.queryID)
		if err != nil {
			done(fmt.Errorf("archive: %w", err))
			return
		}
		var fin mamFin
		if xml.Unmarshal(resp, &fin) != nil {
			done(errors.New("archive: malformed answer"))
			return
		}
		added, overlap, oldest, err := c.storeOlder(ctx, q, gap, anchor.Timestamp)
		if err != nil {
			done(err)
			return
		}
		c.applyArchived(ctx, q)
		res.Added += added
		complete := fin.Complete == "true" || fin.Complete == "1" || fin.Set.First == ""
		if gap.IsZero() {
			if complete {
				res.Start = true
				if err := c.st.SetArchiveStart(ctx, c.acct, peer, true); err != nil {
					c.log.Error("store: archive start", "err", err)
				}
			}
		} else {
			c.moveGap(ctx, peer, gap, oldest, overlap, complete, res)
			if !res.GapClosed && added == 0 && empty+1 < olderMaxEmpty {
				c.fetchOlder(peer, oldest, res, empty+1, done)
				return
			}
			done(nil)
			return
		}
		if !complete && added == 0 && empty+1 < olderMaxEmpty {
			// A page of what we had (which now carries its archive ids):
			// go on to the page before it.
			c.fetchOlder(peer, gap, res, empty+1, done)
			return
		}
		done(nil)
	})
}

// storeOlder stores the page a backwards query collected. It reports how
// many messages were new, whether one we already held lies before the gap
// (the hole is closed), and the time of the oldest message of the page.
func (c *Client) storeOlder(ctx context.Context, q *mamQueryState, gap, floor time.Time) (added int, overlap bool, oldest time.Time, err error) {
	added = q.added // OMEMO messages are stored as they are decrypted
	if len(q.page) == 0 {
		return added, false, oldest, nil
	}
	// The page comes in archive order and goes before floor (the anchor's
	// time). Archive stamps are often whole seconds, and the store orders
	// equal times by insertion, which runs backwards here: place each
	// message at least a millisecond before the one after it. The time
	// stays the archive's, so a copy we hold with a live time outside it
	// moves too (else a live copy received just after the second turned
	// could sort after the message that followed it).
	for i := len(q.page) - 1; i >= 0; i-- {
		m := &q.page[i]
		if !floor.IsZero() && !m.Timestamp.Before(floor) {
			m.Timestamp = floor.Add(-time.Millisecond)
		}
		floor = m.Timestamp
	}
	ptrs := make([]*store.Message, len(q.page))
	for i := range q.page {
		ptrs[i] = &q.page[i]
	}
	isNew, err := c.st.AddHistory(ctx, ptrs)
	if err != nil {
		return 0, false, oldest, fmt.Errorf("store: older history: %w", err)
	}
	for i, ok := range isNew {
		m := &q.page[i]
		if oldest.IsZero() || m.Timestamp.Before(oldest) {
			oldest = m.Timestamp
		}
		if ok {
			added++
		} else if !gap.IsZero() && m.Timestamp.Before(gap) {
			overlap = true
		}
	}
	return added, overlap, oldest, nil
}

// moveGap closes the gap at gap when the page met what we held (overlap),
// marks it lost when the archive ran out first (complete: its older
// messages are gone), or moves it down to the oldest message just fetched.
func (c *Client) moveGap(ctx context.Context, peer string, gap, oldest time.Time, overlap, complete bool, res *HistoryResult) {
	if err := c.st.RemoveGap(ctx, c.acct, peer, gap); err != nil {
		c.log.Error("store: gap", "err", err)
		return
	}
	at := oldest
	if at.IsZero() {
		at = gap
	}
	// Still a hole below the page, unless nothing is stored below it:
	// then it is simply the top of the history.
	below, err := c.st.HasBefore(ctx, c.acct, peer, at)
	if overlap || err != nil || !below {
		res.GapClosed = true
		return
	}
	if complete {
		res.GapClosed, res.Lost = true, true
	} else if oldest.IsZero() {
		res.GapClosed = true // an empty page that is not the end: nothing to page from
		return
	}
	if err := c.st.AddGap(ctx, c.acct, peer, at, res.Lost); err != nil {
		c.log.Error("store: gap", "err", err)
		return
	}
	res.NextGap = at
}

// gapCandidate is the first message of a conversation in a catch-up page
// that did not continue from our position.
type gapCandidate struct {
	peer string
	ts   time.Time
}

// gapCandidates finds, before a catch-up page is stored, the conversations
// where it may leave a hole: the page does not continue from our position,
// its oldest message for the conversation is new to us, and older
// messages are stored.
func (c *Client) gapCandidates(ctx context.Context, q *mamQueryState) []gapCandidate {
	if !q.gapCheck || q.older {
		return nil
	}
	q.gapCheck = false
	seen := map[string]bool{}
	var out []gapCandidate
	for i := range q.page {
		m := &q.page[i]
		if seen[m.Peer] {
			continue
		}
		seen[m.Peer] = true
		if m.StanzaID != "" {
			if _, err := c.st.MessageByStanzaID(ctx, c.acct, m.StanzaBy, m.StanzaID); err == nil {
				continue // we had it: the page joins what is stored
			}
		}
		if below, err := c.st.HasBefore(ctx, c.acct, m.Peer, m.Timestamp); err == nil && below {
			// At the store's precision, so the UI and FetchOlder match it.
			out = append(out, gapCandidate{peer: m.Peer, ts: time.UnixMilli(m.Timestamp.UnixMilli()).UTC()})
		}
	}
	return out
}

// recordGaps stores the gaps found by gapCandidates once their page is in.
func (c *Client) recordGaps(ctx context.Context, gaps []gapCandidate) {
	for _, g := range gaps {
		if err := c.st.AddGap(ctx, c.acct, g.peer, g.ts, false); err != nil {
			c.log.Error("store: gap", "err", err)
			continue
		}
		c.log.Info("gap in history", "peer", g.peer, "before", g.ts)
		c.emit(HistoryGapEvent{Account: c.acct, Peer: g.peer, At: g.ts})
	}
}

// HistoryGapEvent reports a new gap in a conversation's history: the
// archive holds messages before At that we did not fetch.
type HistoryGapEvent struct {
	Account string
	Peer    string
	At      time.Time
}

func (e HistoryGapEvent) account() string { return e.Account }
