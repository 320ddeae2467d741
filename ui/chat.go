package ui

import (
	"strings"
	"time"

	"charm.land/lipgloss/v2"

	"xchat/store"
)

const (
	pageSize  = 200          // messages per store query
	maxLoaded = 3 * pageSize // most messages one pane keeps in memory
	msgIndent = 6            // continuation lines start under the sender, past "HH:MM "
	maxLate   = 256          // bound on state updates parked for messages not yet shown
)

// chatItem is one message of the open conversation with everything drawing
// needs, computed once: sanitized texts, local time, and the wrapped lines
// for the last width it was drawn at.
type chatItem struct {
	msg       store.Message
	sender    string           // sanitized
	body      string           // sanitized, "/me " removed when action
	errTxt    string           // sanitized msg.Error
	action    bool             // XEP-0245 /me
	nameKey   string           // what the sender's colour is derived from: bare JID or nick
	edited    bool             // corrected (XEP-0308)
	reactions []store.Reaction // XEP-0444, loaded per page
	notice    bool             // a room event line (body is the sentence), not a message
	mention   bool             // a room message naming our nick
	segs      [][]segment      // styled body, parsed when first drawn
	local     time.Time
	day       int
	hhmm      string

	width int      // width lines were wrapped at; 0 when they must be redone
	lines []string // each exactly width cells
}

// lateState is a state change for a message the pane has not seen yet: the
// session may report "sent" before SendMessage's answer reaches the UI.
type lateState struct {
	state store.State
	err   string
}

// chatPane shows one conversation. It holds at most maxLoaded messages:
// older pages are fetched from the store on demand and, past the bound,
// the newest ones are dropped and the pane is "detached" from the live end
// until the user scrolls back down, when the newest page is reloaded.
//
// scroll counts rows from the bottom, so prepending a page or growing a
// message above the view does not move what the user is reading.
type chatPane struct {
	st *styles

	open bool
	acct int
	peer string
	kind store.ConvKind
	gen  uint64 // bumped on every Reset; stale loads are dropped

	items  []chatItem
	width  int
	height int
	scroll int

	loading      bool  // the newest page is being loaded
	loadingOlder bool  // an older page is being loaded
	loadingNewer bool  // the page after the loaded ones is being loaded (detached)
	toTop        bool  // Home: keep loading older pages until the first message
	unreadAtOpen int   // unread count when the conversation was opened
	firstUnread  int64 // id of the message the "new messages" line goes above; 0 if none
	hasOlder     bool  // the store may hold older messages
	detached     bool  // newer messages than items exist (dropped to bound memory)
	newBelow     int   // messages that arrived while detached

	hist paneHistory // the server's archive beyond the store (older.go)

	selID  int64    // the message selected in selection mode; 0 if none
	ownJID string   // our account's JID, to tell our reactions apart
	media  *mediaUI // files and thumbnails (media.go)

	late map[int64]lateState
	rev  []string // scratch for Render
	out  []string
}

func newChatPane(st *styles) chatPane {
	return chatPane{st: st, acct: -1}
}

// SetSize sets the size of the message area (without the title line).
func (p *chatPane) SetSize(w, h int) {
	p.width, p.height = w, h
}

// IsOpen reports whether the pane shows the conversation of acct with peer.
func (p *chatPane) IsOpen(acct int, peer string) bool {
	return p.open && p.acct == acct && p.peer == peer
}

// Reset empties the pane for a new conversation and returns its generation.
func (p *chatPane) Reset(acct int, peer string, kind store.ConvKind) uint64 {
	p.gen++
	p.open, p.acct, p.peer, p.kind = true, acct, peer, kind
	p.items = nil
	p.scroll = 0
	p.loading, p.loadingOlder, p.hasOlder, p.detached = true, false, false, false
	p.loadingNewer, p.toTop = false, false
	p.newBelow = 0
	p.late = nil
	p.unreadAtOpen, p.firstUnread = 0, 0
	p.selID = 0
	p.hist = paneHistory{}
	return p.gen
}

// Close empties the pane: no conversation is shown.
func (p *chatPane) Close() {
	p.gen++
	p.open, p.acct, p.peer = false, -1, ""
	p.items = nil
	p.scroll = 0
	p.loading, p.loadingOlder, p.hasOlder, p.detached = false, false, false, false
	p.loadingNewer, p.toTop = false, false
	p.newBelow = 0
	p.late = nil
	p.unreadAtOpen, p.firstUnread = 0, 0
	p.hist = paneHistory{}
}

// SetLatest installs the newest page. Messages that reached the pane while
// the page was loading and are not in it are kept after it.
func (p *chatPane) SetLatest(page []chatItem, full bool) {
	seen := make(map[int64]bool, len(page))
	for i := range page {
		seen[page[i].msg.ID] = true
		p.applyLate(&page[i])
	}
	for _, it := range p.items {
		if !seen[it.msg.ID] && (!p.detached || it.msg.ID < 0) {
			page = append(page, it)
		}
	}
	p.items = page
	p.loading, p.detached, p.newBelow, p.scroll = false, false, 0, 0
	p.hasOlder = full
	p.trimOldest()
}

// Prepend adds an older page above the loaded messages.
func (p *chatPane) Prepend(page []chatItem, full bool) {
	p.loadingOlder = false
	p.hasOlder = full
	if len(page) == 0 {
		return
	}
	for i := range page {
		p.applyLate(&page[i])
	}
	p.items = append(page, p.items...)
	if len(p.items) <= maxLoaded {
		return
	}
	// Drop the newest messages; the rows they took were below the view.
	for i := maxLoaded; i < len(p.items); i++ {
		p.scroll -= p.rowsOf(i)
	}
	clear(p.items[maxLoaded:])
	p.items = p.items[:maxLoaded]
	p.scroll = max(0, p.scroll)
	p.detached = true
}

// AppendPage adds the page that follows the loaded messages (paging down
// a detached pane) without moving the view; full says more may follow.
// Past the bound the oldest messages are dropped.
func (p *chatPane) AppendPage(page []chatItem, full bool) {
	p.loadingNewer = false
	have := make(map[int64]bool, len(page))
	for _, it := range p.items {
		have[it.msg.ID] = true
	}
	for i := range page {
		if have[page[i].msg.ID] {
			continue
		}
		p.applyLate(&page[i])
		p.items = append(p.items, page[i])
		p.scroll += p.rowsOf(len(p.items) - 1)
	}
	if !full {
		p.detached, p.newBelow = false, 0
	}
	p.trimOldest()
}

// NewestID returns the store id of the newest loaded message, 0 if none.
func (p *chatPane) NewestID() int64 {
	for i := len(p.items) - 1; i >= 0; i-- {
		if id := p.items[i].msg.ID; id > 0 {
			return id
		}
	}
	return 0
}

// MarkFirstUnread puts the "new messages" line above the first of the
// last n messages, and scrolls so that it is in view.
func (p *chatPane) MarkFirstUnread(n int) {
	p.firstUnread = 0
	if n <= 0 || len(p.items) == 0 {
		return
	}
	i := max(0, len(p.items)-n)
	p.firstUnread = p.items[i].msg.ID
	rows := 0
	for k := i; k < len(p.items); k++ {
		rows += p.rowsOf(k)
	}
	if rows > p.height {
		p.scroll = rows - p.height
	}
}

// ShowItem scrolls as little as needed for item i to be in view.
func (p *chatPane) ShowItem(i int) {
	below := 0
	for k := i + 1; k < len(p.items); k++ {
		below += p.rowsOf(k)
	}
	rows := len(p.linesOf(i))
	if below < p.scroll {
		p.scroll = below
	}
	if below+rows > p.scroll+p.height {
		p.scroll = max(0, below+rows-p.height)
	}
}

// ScrollToTop scrolls to the top of what is loaded.
func (p *chatPane) ScrollToTop() { p.scroll = max(0, p.totalRows()-p.height) }

// OldestID returns the store id of the oldest loaded message, 0 if none.
func (p *chatPane) OldestID() int64 {
	for _, it := range p.items {
		if it.msg.ID > 0 {
			return it.msg.ID
		}
	}
	return 0
}

// Append adds a live message, or updates it if the pane has it already.
func (p *chatPane) Append(it chatItem) {
	if i := p.find(it.msg.ID); i >= 0 {
		p.merge(i, it.msg.State, it.errTxt)
		return
	}
	if p.detached {
		p.newBelow++
		return
	}
	p.applyLate(&it)
	p.place(it) // in time order (older.go)
	p.trimOldest()
}

// trimOldest keeps the pane within maxLoaded messages by dropping the
// oldest ones, which can be paged in again.
func (p *chatPane) trimOldest() {
	if n := len(p.items) - maxLoaded; n > 0 {
		p.items = append(p.items[:0:0], p.items[n:]...)
		p.hasOlder = true
	}
}

// removeItem drops message id from the pane (the store deleted it).
func (p *chatPane) removeItem(id int64) {
	i := p.find(id)
	if i < 0 {
		return
	}
	p.items = append(p.items[:i], p.items[i+1:]...)
	if p.selID == id {
		p.selID = 0
	}
	p.scroll = max(0, min(p.scroll, p.totalRows()-p.height))
}

// SetState records a state change of message id.
func (p *chatPane) SetState(id int64, state store.State, errTxt string) {
	if i := p.find(id); i >= 0 {
		it := &p.items[i]
		it.msg.State, it.errTxt, it.width = state, errTxt, 0
		return
	}
	if id <= 0 {
		return
	}
	if p.late == nil || len(p.late) >= maxLate {
		p.late = map[int64]lateState{}
	}
	p.late[id] = lateState{state, errTxt}
}

// Confirm replaces the local echo temp with the stored message, or marks it
// failed when sending failed (real is nil).
func (p *chatPane) Confirm(temp int64, real *chatItem, errTxt string) {
	i := p.find(temp)
	if i < 0 {
		if real != nil {
			p.Append(*real)
		}
		return
	}
	if real == nil {
		it := &p.items[i]
		it.msg.State, it.errTxt, it.width = store.StateFailed, errTxt, 0
		return
	}
	if j := p.find(real.msg.ID); j >= 0 {
		p.merge(j, real.msg.State, real.errTxt)
		p.items = append(p.items[:i], p.items[i+1:]...)
		return
	}
	p.applyLate(real)
	p.items[i] = *real
}

func (p *chatPane) find(id int64) int {
	if id == 0 {
		return -1
	}
	for i := len(p.items) - 1; i >= 0; i-- {
		if p.items[i].msg.ID == id {
			return i
		}
	}
	return -1
}

// merge moves item i to state if that is further along.
func (p *chatPane) merge(i int, state store.State, errTxt string) {
	it := &p.items[i]
	if state > it.msg.State {
		it.msg.State, it.errTxt, it.width = state, errTxt, 0
	}
}

func (p *chatPane) applyLate(it *chatItem) {
	if ls, ok := p.late[it.msg.ID]; ok {
		delete(p.late, it.msg.ID)
		if ls.state > it.msg.State {
			it.msg.State, it.errTxt, it.width = ls.state, ls.err, 0
		}
	}
}

// ScrollUp scrolls towards older messages and reports whether the view
// reached the top of what is loaded.
func (p *chatPane) ScrollUp(n int) bool {
	top := max(0, p.totalRows()-p.height)
	p.scroll = min(p.scroll+n, top)
	return p.scroll == top
}

// ScrollDown scrolls towards newer messages and reports whether the view
// reached the bottom.
func (p *chatPane) ScrollDown(n int) bool {
	p.scroll = max(0, p.scroll-n)
	return p.scroll == 0
}

// totalRows is the height of everything loaded, with the top marker.
func (p *chatPane) totalRows() int {
	n := 1
	for i := range p.items {
		n += p.rowsOf(i)
	}
	return n
}

// rowsOf is the number of rows item i takes, with its day separator.
func (p *chatPane) rowsOf(i int) int {
	n := len(p.linesOf(i))
	if p.separated(i) {
		n++
	}
	if p.firstUnread != 0 && p.items[i].msg.ID == p.firstUnread {
		n++
	}
	if p.gapAbove(i) {
		n++
	}
	return n
}

// separated reports whether a day separator goes above item i.
func (p *chatPane) separated(i int) bool {
	return i == 0 || p.items[i-1].day != p.items[i].day
}

// linesOf returns the wrapped lines of item i, wrapping at most once per width.
func (p *chatPane) linesOf(i int) []string {
	it := &p.items[i]
	if it.width == p.width && it.lines != nil {
		return it.lines
	}
	st := p.st
	indent := 0
	if p.width >= 30 {
		indent = msgIndent
	}
	avail := max(1, p.width-indent)

	if it.notice {
		lines := strings.Split(lipgloss.Wrap(st.time.Render(it.hhmm)+" "+st.notice.Render("-- "+it.body), avail, ""), "\n")
		for j := range lines {
			if j > 0 {
				lines[j] = spaces(indent) + lines[j]
			}
			lines[j] = fit(lines[j], p.width)
		}
		it.lines, it.width = lines, p.width
		return lines
	}
	sender := st.nameStyle(it.nameKey, it.msg.Direction == store.Outgoing)
	if it.segs == nil {
		it.segs = styleBody(it.body)
	}
	var b strings.Builder
	var quote string
	if it.msg.ReplyTo != "" {
		quote = fit(spaces(indent)+st.edited.Render(p.quoteOf(it)), p.width)
	}
	if it.msg.Retracted {
		b.WriteString(st.time.Render(it.hhmm))
		b.WriteByte(' ')
		b.WriteString(sender.Render(it.sender))
		b.WriteString(": ")
		b.WriteString(st.edited.Render("message retracted"))
		return p.finishLines(it, b.String(), quote, indent, avail)
	}
	if it.mention {
		b.WriteString(st.mention.Render(it.hhmm))
	} else {
		b.WriteString(st.time.Render(it.hhmm))
	}
	b.WriteByte(' ')
	if it.action {
		b.WriteString("* ")
		b.WriteString(sender.Render(it.sender))
		b.WriteByte(' ')
	} else {
		b.WriteString(sender.Render(it.sender))
		b.WriteString(": ")
	}
	for k, line := range it.segs {
		if k > 0 {
			b.WriteByte('\n')
		}
		for _, seg := range line {
			if seg.attr == 0 {
				b.WriteString(seg.text)
			} else {
				start, end := st.segSGR(seg.attr)
				b.WriteString(start)
				b.WriteString(seg.text)
				b.WriteString(end)
			}
		}
	}
	if it.edited {
		b.WriteByte(' ')
		b.WriteString(st.edited.Render("(edited)"))
	}
	if it.msg.Encryption != "" {
		b.WriteByte(' ')
		b.WriteString(st.lock.Render("🔒"))
		if it.msg.Untrusted {
			b.WriteByte(' ')
			b.WriteString(st.msgError.Render(untrustedMark(it.msg)))
		}
	}
	if mark := p.mark(it); mark != "" {
		b.WriteByte(' ')
		b.WriteString(mark)
	}
	return p.finishLines(it, b.String(), quote, indent, avail)
}

// finishLines wraps a message's text and adds its reply quote above and
// its reactions below, then caches the lines.
func (p *chatPane) finishLines(it *chatItem, text, quote string, indent, avail int) []string {
	lines := strings.Split(lipgloss.Wrap(text, avail, ""), "\n")
	for j := range lines {
		if j > 0 {
			lines[j] = spaces(indent) + lines[j]
		}
		lines[j] = fit(lines[j], p.width)
	}
	if quote != "" {
		lines = append([]string{quote}, lines...)
	}
	lines = append(lines, p.mediaLines(it, indent)...)
	if len(it.reactions) > 0 && !it.msg.Retracted {
		if r := p.reactionsLine(it, p.ownJID); r != "" {
			for _, l := range strings.Split(lipgloss.Wrap(r, avail, ""), "\n") {
				lines = append(lines, fit(spaces(indent)+l, p.width))
			}
		}
	}
	it.lines, it.width = lines, p.width
	return lines
}

// mark is the delivery mark after one of our messages, or the error of a
// received one (for instance a message that could not be decrypted).
func (p *chatPane) mark(it *chatItem) string {
	st := p.st
	if it.msg.Direction != store.Outgoing {
		if it.errTxt != "" {
			return st.msgError.Render("⚠ " + it.errTxt)
		}
		return ""
	}
	var m string
	switch it.msg.State {
	case store.StatePending:
		m = "…"
	case store.StateSent:
		m = "✓"
	case store.StateDelivered:
		m = "✓✓"
	case store.StateRead:
		m = "✓✓ read" // distinct without colour (NO_COLOR)
	case store.StateFailed:
		m = "✗"
		if it.errTxt != "" {
			m += " " + it.errTxt
		}
	default:
		return ""
	}
	return st.marks[it.msg.State].Render(m)
}

// Render returns exactly height rows of exactly width cells: the bottom of
// the conversation, scroll rows up. Only the visible messages are wrapped.
func (p *chatPane) Render(now time.Time) []string {
	if p.height <= 0 || p.width <= 0 {
		return nil
	}
	limit := p.scroll + p.height
	rev := p.rev[:0] // rows, bottom first
	i := len(p.items) - 1
	for ; i >= 0 && len(rev) < limit; i-- {
		lines := p.linesOf(i)
		sel := p.selID != 0 && p.items[i].msg.ID == p.selID
		for j := len(lines) - 1; j >= 0; j-- {
			if sel {
				rev = append(rev, p.highlight(lines[j]))
			} else {
				rev = append(rev, lines[j])
			}
		}
		if p.firstUnread != 0 && p.items[i].msg.ID == p.firstUnread {
			rev = append(rev, p.unreadSeparator())
		}
		if g, ok := p.gapAt(i); ok {
			rev = append(rev, p.gapLine(g))
		}
		if p.separated(i) {
			rev = append(rev, p.daySeparator(p.items[i].local, now))
		}
	}
	if i < 0 && len(rev) < limit {
		rev = append(rev, p.topMarker())
	}
	p.rev = rev

	skip := min(p.scroll, max(0, len(rev)-p.height))
	out := p.out[:0]
	for k := skip + p.height - 1; k >= skip; k-- {
		if k < len(rev) {
			out = append(out, rev[k])
		} else {
			out = append(out, spaces(p.width))
		}
	}
	p.out = out
	return out
}

func (p *chatPane) daySeparator(t, now time.Time) string {
	label := dayLabel(t, now)
	rest := max(0, p.width-4-lenCells(label))
	return fit(p.st.daySep.Render("── "+label+" "+strings.Repeat("─", rest)), p.width)
}

// unreadSeparator is the "new messages" line above the first unread one.
func (p *chatPane) unreadSeparator() string {
	const label = " new messages "
	left := max(0, (p.width-len(label))/2)
	right := max(0, p.width-left-len(label))
	return fit(p.st.unreadSep.Render(strings.Repeat("─", left)+label+strings.Repeat("─", right)), p.width)
}

func (p *chatPane) topMarker() string {
	var s string
	switch {
	case p.loading:
		s = "loading history…"
	case p.loadingOlder && p.toTop:
		s = "going to the beginning…"
	case p.loadingOlder:
		s = "loading older messages…"
	case p.hasOlder:
		s = "PgUp for older messages"
	case p.archiveMarker() != "":
		s = p.archiveMarker()
	case len(p.items) == 0:
		s = "no messages yet"
	default:
		s = "beginning of the conversation"
	}
	pad := max(0, (p.width-lenCells(s))/2)
	return fit(spaces(pad)+p.st.marker.Render(s), p.width)
}
