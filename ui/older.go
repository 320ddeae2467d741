package ui

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	tea "charm.land/bubbletea/v2"

	"xchat/internal/sanitize"
	"xchat/muc"
	"xchat/session"
	"xchat/store"
)

// Older history from the server and gaps in the history. When the user
// scrolls past the top of what the store holds, the account is asked for
// the archive page before it (HistoryFetcher.FetchOlder); the messages go
// to the store and the pane reads them from there like any older page.
// A gap (a hole a catch-up left, see session/history.go) is drawn as a
// "— gap in history —" line above the first message after it; when it
// comes into view the account is asked to fill it.

// HistoryFetcher is the part of Account that pages the server's archive
// backwards; *session.Client has it.
type HistoryFetcher interface {
	// FetchOlder stores the archive page before what is held of the
	// conversation with peer, or before the gap at gap when that is set.
	FetchOlder(ctx context.Context, peer string, gap time.Time) (session.HistoryResult, error)
}

// HistoryStore is the part of Store that knows the gaps; *store.Store has
// it. Optional: a Store without it shows no gaps.
type HistoryStore interface {
	// Gaps returns a conversation's gaps, oldest first.
	Gaps(ctx context.Context, acct, peer string) ([]store.Gap, error)
}

// paneHistory is what the open pane knows of the history beyond the store.
type paneHistory struct {
	fetching bool        // an archive page is being fetched
	start    bool        // the archive has nothing older: stop asking
	failed   string      // why the last fetch failed (sanitized); "" if it did not
	gaps     []store.Gap // gaps of the conversation, oldest first
	filling  time.Time   // the gap being filled; zero if none
}

// historyMsg is implemented by the messages of this file.
type historyMsg interface{ historyMsg() }

// archiveLoadedMsg is the answer of FetchOlder.
type archiveLoadedMsg struct {
	gen uint64
	gap time.Time // the gap asked for; zero for the top
	res session.HistoryResult
	err error
}

// gapsLoadedMsg carries the gaps of the open conversation.
type gapsLoadedMsg struct {
	gen  uint64
	gaps []store.Gap
	err  error
}

// gapReloadMsg carries the newest page again after a gap was filled.
type gapReloadMsg struct {
	gen  uint64
	msgs []store.Message
	err  error
}

func (archiveLoadedMsg) historyMsg() {}
func (gapsLoadedMsg) historyMsg()    {}
func (gapReloadMsg) historyMsg()     {}

// onHistoryMsg dispatches the messages of this file.
func (m *Model) onHistoryMsg(msg historyMsg) tea.Cmd {
	switch msg := msg.(type) {
	case archiveLoadedMsg:
		return m.onArchiveLoaded(msg)
	case gapsLoadedMsg:
		return m.onGapsLoaded(msg)
	case gapReloadMsg:
		return m.onGapReload(msg)
	}
	return nil
}

// fetchArchive asks the account for the archive page before the top of
// the open conversation, unless that is known to be its start.
func (m *Model) fetchArchive() tea.Cmd {
	p := &m.chat
	h := &p.hist
	if !p.open || h.fetching || h.start || p.kind == store.KindPrivate {
		return nil
	}
	if r := m.accts[p.acct].rooms[p.peer]; p.kind == store.KindGroupchat && (r == nil || r.state != muc.StateJoined) {
		return nil // the room's archive is asked once we are in it
	}
	h.fetching, h.failed = true, ""
	return m.fetchCmd(m.accts[p.acct].client, p.gen, p.peer, time.Time{})
}

func (m *Model) fetchCmd(f HistoryFetcher, gen uint64, peer string, gap time.Time) tea.Cmd {
	base := m.ctx
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(base, opTimeout)
		defer cancel()
		res, err := f.FetchOlder(ctx, peer, gap)
		return archiveLoadedMsg{gen: gen, gap: gap, res: res, err: err}
	}
}

func (m *Model) onArchiveLoaded(msg archiveLoadedMsg) tea.Cmd {
	p := &m.chat
	if msg.gen != p.gen || !p.open {
		return nil
	}
	h := &p.hist
	if !msg.gap.IsZero() {
		return m.onGapFilled(msg)
	}
	h.fetching = false
	if errors.Is(msg.err, session.ErrOffline) || errors.Is(msg.err, session.ErrNotRunning) {
		h.failed = "offline" // said in the marker; no alarm for it
		return nil
	}
	if msg.err != nil {
		h.failed = sanitize.Line(msg.err.Error())
		m.status.Error("older messages from the server: " + h.failed)
		return nil
	}
	h.start = msg.res.Start
	if msg.res.Added == 0 {
		return nil
	}
	// The store has them now: read them like any older page.
	if id := p.OldestID(); id != 0 && !p.loadingOlder {
		p.loadingOlder = true
		return m.olderCmd(p.gen, p.acct, p.peer, id)
	}
	if p.OldestID() == 0 && !p.loading {
		p.loading = true
		return m.latestCmd(p.gen, p.acct, p.peer)
	}
	return nil
}

// archiveOnState asks the archive again when the open conversation's
// account comes online after a fetch found it offline.
func (m *Model) archiveOnState(ev session.StateEvent) tea.Cmd {
	p := &m.chat
	if ev.State != session.Online || !p.open || p.hist.failed != "offline" || m.account(ev.Account) != m.accts[p.acct] {
		return nil
	}
	p.hist.failed = ""
	return m.topInView()
}

// topInView fetches the archive page before the stored top when the top
// of the pane is on screen and the store has nothing older: a short
// conversation, or paging that reached the store's first message.
func (m *Model) topInView() tea.Cmd {
	p := &m.chat
	if !p.open || p.loading || p.loadingOlder || p.hasOlder || p.scroll < p.totalRows()-p.height {
		return nil
	}
	return m.fetchArchive()
}

// gapsCmd reads the gaps of the open conversation.
func (m *Model) gapsCmd() tea.Cmd {
	p := &m.chat
	hs, ok := m.store.(HistoryStore)
	if !p.open || !ok {
		return nil
	}
	base, gen, acct, peer := m.ctx, p.gen, m.accts[p.acct].jid, p.peer
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(base, opTimeout)
		defer cancel()
		gaps, err := hs.Gaps(ctx, acct, peer)
		return gapsLoadedMsg{gen: gen, gaps: gaps, err: err}
	}
}

func (m *Model) onGapsLoaded(msg gapsLoadedMsg) tea.Cmd {
	p := &m.chat
	if msg.gen != p.gen || !p.open {
		return nil
	}
	if msg.err != nil {
		m.log.Warn("reading gaps", "err", msg.err)
		return nil
	}
	p.hist.gaps = msg.gaps
	return m.fillVisibleGap()
}

// onHistoryGap reloads the gaps when the open conversation got one.
func (m *Model) onHistoryGap(ev session.HistoryGapEvent) tea.Cmd {
	a := m.account(ev.Account)
	if a == nil || !m.chat.open || m.accts[m.chat.acct] != a || m.chat.peer != ev.Peer {
		return nil
	}
	return m.gapsCmd()
}

// fillVisibleGap asks the account to fill the gap whose line is on
// screen, if any (one at a time).
func (m *Model) fillVisibleGap() tea.Cmd {
	p := &m.chat
	h := &p.hist
	if !p.open || len(h.gaps) == 0 || !h.filling.IsZero() {
		return nil
	}
	gap, ok := p.visibleGap()
	if !ok {
		return nil
	}
	h.filling = gap
	return m.fetchCmd(m.accts[p.acct].client, p.gen, p.peer, gap)
}

func (m *Model) onGapFilled(msg archiveLoadedMsg) tea.Cmd {
	p := &m.chat
	h := &p.hist
	h.filling = time.Time{}
	if msg.err != nil {
		m.status.Error("filling a gap in the history: " + sanitize.Line(msg.err.Error()))
		return nil
	}
	h.gaps = slices.DeleteFunc(h.gaps, func(g store.Gap) bool { return g.At.Equal(msg.gap) })
	if !msg.res.NextGap.IsZero() && (!msg.res.GapClosed || msg.res.Lost) {
		h.gaps = append(h.gaps, store.Gap{At: msg.res.NextGap, Lost: msg.res.Lost})
		slices.SortFunc(h.gaps, func(a, b store.Gap) int { return a.At.Compare(b.At) })
	}
	if msg.res.Added == 0 || p.detached || p.loading {
		return nil
	}
	// The new messages lie among the loaded ones: read the newest page
	// again, keeping the view where it is (it is counted from the bottom).
	base, gen, st, acct, peer := m.ctx, p.gen, m.store, m.accts[p.acct].jid, p.peer
	n := max(pageSize, len(p.items))
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(base, opTimeout)
		defer cancel()
		out := gapReloadMsg{gen: gen}
		if st != nil {
			out.msgs, out.err = st.Latest(ctx, acct, peer, n)
		}
		return out
	}
}

func (m *Model) onGapReload(msg gapReloadMsg) tea.Cmd {
	p := &m.chat
	if msg.gen != p.gen || !p.open || p.detached {
		return nil
	}
	if msg.err != nil {
		m.status.Error("reading the conversation: " + sanitize.Line(msg.err.Error()))
		return nil
	}
	scroll := p.scroll
	items := m.newItems(p.acct, msg.msgs)
	if r := m.accts[p.acct].rooms[p.peer]; r != nil && p.kind == store.KindGroupchat {
		items = mergeEvents(items, r.events)
	}
	p.SetLatest(items, len(msg.msgs) >= pageSize)
	p.scroll = min(scroll, max(0, p.totalRows()-p.height))
	return m.pageReactions(msg.msgs)
}

// gapAbove reports whether a gap line goes above item i: a gap lies
// between the message before it (or, for the first loaded one, older
// stored messages) and it.
func (p *chatPane) gapAbove(i int) bool {
	_, ok := p.gapAt(i)
	return ok
}

// gapAt returns the newest gap above item i.
func (p *chatPane) gapAt(i int) (store.Gap, bool) {
	gaps := p.hist.gaps
	if len(gaps) == 0 || p.items[i].notice || p.items[i].msg.ID <= 0 {
		return store.Gap{}, false
	}
	t := p.items[i].msg.Timestamp
	var prev time.Time
	found := false
	for k := i - 1; k >= 0; k-- {
		if it := p.items[k]; !it.notice && it.msg.ID > 0 {
			prev, found = it.msg.Timestamp, true
			break
		}
	}
	if !found && !p.hasOlder {
		return store.Gap{}, false // nothing older stored: that is the top, not a gap
	}
	for k := len(gaps) - 1; k >= 0; k-- {
		if g := gaps[k]; !g.At.After(t) && (!found || g.At.After(prev)) {
			return g, true
		}
	}
	return store.Gap{}, false
}

// gapLine is the line drawn for gap g.
func (p *chatPane) gapLine(g store.Gap) string {
	s := "— gap in history —"
	switch {
	case g.Lost:
		s = "— gap in history: no longer on the server —"
	case p.hist.filling.Equal(g.At):
		s = "— gap in history: loading… —"
	}
	pad := max(0, (p.width-lenCells(s))/2)
	return fit(spaces(pad)+p.st.marker.Render(s), p.width)
}

// visibleGap returns the gap whose line is on screen, the newest first.
func (p *chatPane) visibleGap() (time.Time, bool) {
	below := 0
	for i := len(p.items) - 1; i >= 0 && below < p.scroll+p.height; i-- {
		rows := p.rowsOf(i)
		if g, ok := p.gapAt(i); ok && !g.Lost {
			// The gap line is the top row of the item, day separator aside.
			at := below + rows - 1
			if p.separated(i) {
				at--
			}
			if at >= p.scroll && at < p.scroll+p.height {
				return g.At, true
			}
		}
		below += rows
	}
	return time.Time{}, false
}

// archiveMarker is the top marker's text while the store has nothing
// older; "" leaves the pane's own.
func (p *chatPane) archiveMarker() string {
	h := &p.hist
	switch {
	case h.fetching:
		return "loading older messages…"
	case h.start:
		return "beginning of the conversation"
	case h.failed == "offline":
		return "beginning of what is stored (offline)"
	case h.failed != "":
		return "beginning of what is stored (the server could not be asked)"
	case p.kind == store.KindPrivate || len(p.items) == 0:
		return ""
	}
	return "PgUp for older messages from the server"
}

// syncProgress counts what the running archive catch-ups fetched, per
// archive, for the status line.
type syncProgress map[string]int

// update records a SyncEvent.
func (s *syncProgress) update(ev session.SyncEvent) {
	if *s == nil {
		*s = syncProgress{}
	}
	if ev.Done {
		delete(*s, ev.Archive)
		return
	}
	(*s)[ev.Archive] = ev.Fetched
}

// text is what the status line shows while catch-ups run: "" when none.
func (s syncProgress) text() string {
	if len(s) == 0 {
		return ""
	}
	n := 0
	for _, v := range s {
		n += v
	}
	if len(s) > 1 {
		return fmt.Sprintf("syncing %d messages (%d archives)…", n, len(s))
	}
	return fmt.Sprintf("syncing %d messages…", n)
}

// onReadElsewhere clears the unread count of a conversation another of our
// devices displayed (the store is already updated).
func (m *Model) onReadElsewhere(ev session.ReadEvent) {
	a := m.account(ev.Account)
	if a == nil || a.unread[ev.Peer] == 0 {
		return
	}
	a.unread[ev.Peer] = 0
	a.mentions[ev.Peer] = 0
	m.roster.Invalidate()
}

// place adds a live message: ours at the end (just sent), a received one
// in time order, since a catch-up page can bring messages older than a
// live one already shown, and offline delivery older than what the
// archive gave. One older than everything loaded while older messages
// exist is left to paging. The view does not move: rows added below it
// count in scroll.
func (p *chatPane) place(it chatItem) {
	k := len(p.items)
	for it.msg.Direction == store.Incoming && k > 0 && it.local.Before(p.items[k-1].local) {
		k--
	}
	if k == 0 && len(p.items) > 0 && p.hasOlder {
		return // it belongs among the older pages
	}
	p.items = slices.Insert(p.items, k, it)
	if p.scroll == 0 {
		return
	}
	below := 0
	for j := k + 1; j < len(p.items) && below < p.scroll; j++ {
		below += p.rowsOf(j)
	}
	if below < p.scroll {
		p.scroll += p.rowsOf(k) // keep the view where it is
	}
	if k+1 < len(p.items) {
		p.items[k+1].width = 0 // its day separator may have changed
	}
}
