package ui

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"

	"xchat/internal/sanitize"
	"xchat/session"
	"xchat/store"
)

// Message features of 1:1 chats (corrections, retractions, reactions,
// replies, typing notices, read markers and client state). The session
// does the protocol; this file draws the results and calls the account
// from Cmds.

// quickReactions are the emojis 1–6 pick in the reaction prompt.
var quickReactions = []string{"👍", "❤️", "😂", "😮", "😢", "🎉"}

const (
	typingShown    = 30 * time.Second // a "typing…" notice expires after this
	composingEvery = 10 * time.Second // "composing" is re-sent at most this often
	pausedAfter    = 5 * time.Second  // "paused" after this long without typing
)

// activeSetter is the XEP-0352 client state of an account; checked at run
// time so that accounts without it still satisfy Account.
type activeSetter interface {
	SetActive(ctx context.Context, active bool) error
}

// composeMode is what Enter does with the input besides sending a message.
type composeMode struct {
	kind string // "", "reply" or "correct"
	id   int64
	acct int
	peer string
}

// reactPrompt is the open reaction prompt for one message.
type reactPrompt struct {
	id   int64
	acct int
	buf  string
}

// typingState is the contact typing in the open conversation.
type typingState struct {
	acct  int
	peer  string
	label string
	seq   int
}

// typingOut tracks our own chat state for the open conversation.
type typingOut struct {
	acct          int
	peer          string
	lastComposing time.Time
	lastKey       time.Time
	composing     bool
	armed         bool // a pausedTickMsg is on its way
	seq           int
}

// reactionsMsg carries the reactions of a page of the open conversation.
type reactionsMsg struct {
	gen  uint64
	reac map[int64][]store.Reaction
	err  error
}

// msgReloadedMsg carries a changed message and its reactions.
type msgReloadedMsg struct {
	gen  uint64
	id   int64
	msg  store.Message
	reac []store.Reaction
	err  error
}

// featureDoneMsg reports a correction, retraction, reaction or reply.
type featureDoneMsg struct {
	what  string
	reply *store.Message
	acct  int
	peer  string
	err   error
}

// typingExpiredMsg clears a "typing…" notice unless a newer one came.
type typingExpiredMsg struct{ seq int }

// pausedTickMsg sends "paused" unless the user typed since.
type pausedTickMsg struct{ seq int }

// reactionsCmd loads the reactions of the given messages (one per page).
func (m *Model) reactionsCmd(ids []int64) tea.Cmd {
	if m.store == nil || len(ids) == 0 {
		return nil
	}
	base, st, gen := m.ctx, m.store, m.chat.gen
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(base, opTimeout)
		defer cancel()
		r, err := st.Reactions(ctx, ids)
		return reactionsMsg{gen: gen, reac: r, err: err}
	}
}

// pageReactions loads the reactions of the loaded items that have none yet.
func (m *Model) pageReactions(msgs []store.Message) tea.Cmd {
	ids := make([]int64, 0, len(msgs))
	for _, msg := range msgs {
		if msg.ID > 0 {
			ids = append(ids, msg.ID)
		}
	}
	return m.reactionsCmd(ids)
}

func (m *Model) onReactions(msg reactionsMsg) {
	if msg.err != nil {
		m.log.Warn("loading reactions", "err", msg.err)
		return
	}
	if msg.gen != m.chat.gen {
		return
	}
	for id, r := range msg.reac {
		if i := m.chat.find(id); i >= 0 {
			m.chat.items[i].reactions = r
			m.chat.items[i].width = 0
		}
	}
}

// onMessageUpdated reloads a changed message of the open conversation.
func (m *Model) onMessageUpdated(ev session.MessageUpdatedEvent) tea.Cmd {
	i, ok := m.byAcct[ev.Account]
	if !ok || !m.chat.IsOpen(i, ev.Peer) || m.chat.find(ev.ID) < 0 || m.store == nil {
		return nil
	}
	base, st, gen, id := m.ctx, m.store, m.chat.gen, ev.ID
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(base, opTimeout)
		defer cancel()
		out := msgReloadedMsg{gen: gen, id: id}
		if out.msg, out.err = st.Message(ctx, id); out.err != nil {
			return out
		}
		r, err := st.Reactions(ctx, []int64{id})
		out.reac, out.err = r[id], err
		return out
	}
}

func (m *Model) onMsgReloaded(msg msgReloadedMsg) {
	if errors.Is(msg.err, store.ErrNotFound) && msg.gen == m.chat.gen {
		m.chat.removeItem(msg.id) // it turned out to be a change to another message
		return
	}
	if msg.err != nil {
		m.status.Error("reloading a message: " + sanitize.Line(msg.err.Error()))
		return
	}
	if msg.gen != m.chat.gen {
		return
	}
	k := m.chat.find(msg.msg.ID)
	if k < 0 {
		return
	}
	it := m.newItem(m.chat.acct, msg.msg)
	it.reactions = msg.reac
	m.chat.items[k] = it
	for j := range m.chat.items { // replies quoting it change too
		m.chat.items[j].width = 0
	}
}

// onChatState shows or clears "X is typing…" for the open conversation.
func (m *Model) onChatState(ev session.ChatStateEvent) tea.Cmd {
	i, ok := m.byAcct[ev.Account]
	if !ok || m.chat.kind == store.KindPrivate || !m.chat.IsOpen(i, ev.JID) {
		return nil
	}
	if ev.State != "composing" {
		m.clearTyping()
		return nil
	}
	label := m.accts[i].labelOf(ev.JID)
	if m.chat.kind == store.KindGroupchat {
		label = sanitize.Line(ev.Nick) // the occupant typing in the room
	}
	m.typingSeq++
	m.typing = &typingState{acct: i, peer: ev.JID, label: label, seq: m.typingSeq}
	m.status.Info(m.typing.label + " is typing…")
	seq := m.typingSeq
	return m.after(typingShown, typingExpiredMsg{seq: seq})
}

// clearTyping removes the typing notice if it is still shown.
func (m *Model) clearTyping() {
	if m.typing == nil {
		return
	}
	if text, isErr := m.status.Text(); !isErr && text == m.typing.label+" is typing…" {
		m.status.Info("")
	}
	m.typing = nil
}

// openChat reports whether the open conversation is a 1:1 chat or a room;
// in a private conversation through a room it says these are not there.
func (m *Model) openChat() bool {
	if !m.chat.open {
		m.status.Info("no conversation is open")
		return false
	}
	if m.chat.kind == store.KindPrivate {
		m.status.Info("not supported in private messages through a room")
		return false
	}
	return true
}

// quoteLine is the one-line quote of what a reply answers; "" if it is
// not loaded.
func (p *chatPane) quoteOf(it *chatItem) string {
	ref := strings.TrimPrefix(it.msg.ReplyTo, "id:")
	if ref == "" {
		return ""
	}
	for k := range p.items {
		o := &p.items[k]
		// In rooms a reply refers to the room's stanza-id (XEP-0461 §6).
		if (o.msg.OriginID != "" && strings.TrimPrefix(o.msg.OriginID, "id:") == ref) ||
			(o.msg.Kind == store.KindGroupchat && o.msg.StanzaID == ref) {
			body := o.body
			if o.msg.Retracted {
				body = "message retracted"
			}
			return "↪ " + o.sender + ": " + firstLine(body)
		}
	}
	return "↪ (a message not loaded)"
}

// firstLine is the first line of s.
func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// reactionsLine draws the reactions of a message: "👍 2  🎉 1", ours bold.
func (p *chatPane) reactionsLine(it *chatItem, own string) string {
	type count struct {
		emoji string
		n     int
		mine  bool
	}
	var counts []count
	for _, r := range it.reactions {
		for _, e := range r.Emojis {
			e = sanitize.Line(e)
			k := slices.IndexFunc(counts, func(c count) bool { return c.emoji == e })
			if k < 0 {
				counts = append(counts, count{emoji: e})
				k = len(counts) - 1
			}
			counts[k].n++
			if r.Sender == own {
				counts[k].mine = true
			}
		}
	}
	parts := make([]string, len(counts))
	for k, c := range counts {
		s := c.emoji + " " + strconv.Itoa(c.n)
		if c.mine {
			s = p.st.ownReaction.Render(s)
		}
		parts[k] = s
	}
	return strings.Join(parts, "  ")
}

// ownItem returns the selected message if it is one of ours, sent, in a
// 1:1 chat.
func (m *Model) ownSelected(what string) (*chatItem, bool) {
	if !m.openChat() {
		return nil, false
	}
	it, ok := m.selectedItem()
	if !ok {
		return nil, false
	}
	if it.msg.Direction != store.Outgoing || it.msg.ID <= 0 {
		m.status.Info("only your own sent messages can be " + what)
		return nil, false
	}
	if it.msg.Retracted {
		m.status.Info("the message is retracted")
		return nil, false
	}
	return it, true
}

// replySelected puts the input in reply mode for the selected message.
func (m *Model) replySelected() tea.Cmd {
	if !m.openChat() {
		return nil
	}
	it, ok := m.selectedItem()
	if !ok || it.msg.ID <= 0 {
		return nil
	}
	m.compose = composeMode{kind: "reply", id: it.msg.ID, acct: m.chat.acct, peer: m.chat.peer}
	m.leaveSelection()
	m.status.Info("replying to " + it.sender + ": " + firstLine(it.body) + " (Esc cancels)")
	return nil
}

// correctSelected prefills the input with the selected message to correct it.
func (m *Model) correctSelected() tea.Cmd {
	it, ok := m.ownSelected("corrected")
	if !ok {
		return nil
	}
	return m.startCorrect(it)
}

func (m *Model) startCorrect(it *chatItem) tea.Cmd {
	m.compose = composeMode{kind: "correct", id: it.msg.ID, acct: m.chat.acct, peer: m.chat.peer}
	body := it.msg.Body
	if m.sel.active {
		m.leaveSelection()
	}
	m.input.SetValue(body)
	m.layout()
	m.status.Info("correcting your message (Enter sends, Esc cancels)")
	return nil
}

// retractSelected asks before retracting the selected message.
func (m *Model) retractSelected() tea.Cmd {
	it, ok := m.ownSelected("retracted")
	if !ok {
		return nil
	}
	return m.askRetract(it.msg.ID)
}

func (m *Model) askRetract(id int64) tea.Cmd {
	i := m.chat.acct
	m.confirm = &confirmation{prompt: "retract this message? y/n", run: func() tea.Cmd {
		return m.featureCmd(i, "retracting", func(ctx context.Context, a Account) error { return a.Retract(ctx, id) })
	}}
	m.status.Error(m.confirm.prompt)
	return nil
}

// reactSelected opens the reaction prompt for the selected message.
func (m *Model) reactSelected() tea.Cmd {
	if !m.openChat() {
		return nil
	}
	it, ok := m.selectedItem()
	if !ok || it.msg.ID <= 0 {
		return nil
	}
	m.react = &reactPrompt{id: it.msg.ID, acct: m.chat.acct}
	m.showReactPrompt()
	return nil
}

func (m *Model) showReactPrompt() {
	var b strings.Builder
	b.WriteString("react: ")
	for k, e := range quickReactions {
		b.WriteString(strconv.Itoa(k+1) + " " + e + "  ")
	}
	b.WriteString("or type one and Enter (Esc cancels)")
	if m.react.buf != "" {
		b.WriteString(": " + m.react.buf)
	}
	m.status.Info(b.String())
}

// reactKey takes the keys of the reaction prompt.
func (m *Model) reactKey(k tea.KeyPressMsg) tea.Cmd {
	p := m.react
	name := k.String()
	switch {
	case name == "esc":
		m.react = nil
		m.status.Info("cancelled")
		return nil
	case name == "enter":
		m.react = nil
		if strings.TrimSpace(p.buf) == "" {
			m.status.Info("cancelled")
			return nil
		}
		return m.toggleReaction(p, strings.TrimSpace(p.buf))
	case name == "backspace":
		if r := []rune(p.buf); len(r) > 0 {
			p.buf = string(r[:len(r)-1])
		}
	case p.buf == "" && len(name) == 1 && name >= "1" && name <= "6":
		m.react = nil
		return m.toggleReaction(p, quickReactions[name[0]-'1'])
	case k.Text != "":
		p.buf += k.Text
	}
	m.showReactPrompt()
	return nil
}

// toggleReaction adds emoji to our reactions of the message, or removes it
// if it is there, and sends the new set.
func (m *Model) toggleReaction(p *reactPrompt, emoji string) tea.Cmd {
	var mine []string
	if k := m.chat.find(p.id); k >= 0 {
		own := m.accts[p.acct].jid
		for _, r := range m.chat.items[k].reactions {
			if r.Sender == own {
				mine = slices.Clone(r.Emojis)
			}
		}
	}
	if k := slices.Index(mine, emoji); k >= 0 {
		mine = slices.Delete(mine, k, k+1)
	} else {
		mine = append(mine, emoji)
	}
	id := p.id
	m.status.Info("")
	return m.featureCmd(p.acct, "reacting", func(ctx context.Context, a Account) error { return a.React(ctx, id, mine) })
}

// featureCmd runs a message feature on an account.
func (m *Model) featureCmd(i int, what string, call func(ctx context.Context, a Account) error) tea.Cmd {
	base, client := m.ctx, m.accts[i].client
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(base, opTimeout)
		defer cancel()
		return featureDoneMsg{what: what, acct: i, err: call(ctx, client)}
	}
}

func (m *Model) onFeatureDone(msg featureDoneMsg) {
	if msg.err != nil {
		m.status.Error(msg.what + ": " + sanitize.Line(msg.err.Error()))
		return
	}
	if msg.reply != nil && m.chat.IsOpen(msg.acct, msg.peer) && m.chat.find(msg.reply.ID) < 0 {
		m.chat.Append(m.newItem(msg.acct, *msg.reply))
		m.chat.scroll = 0
	}
}

// submitCompose sends the input in reply or correct mode.
func (m *Model) submitCompose(line string) tea.Cmd {
	c := m.compose
	m.compose = composeMode{}
	m.status.Info("")
	if !m.chat.IsOpen(c.acct, c.peer) {
		m.status.Error("the conversation changed: nothing sent")
		return nil
	}
	id := c.id
	if c.kind == "correct" {
		return m.featureCmd(c.acct, "correcting", func(ctx context.Context, a Account) error { return a.Correct(ctx, id, line) })
	}
	base, client, i, peer := m.ctx, m.accts[c.acct].client, c.acct, c.peer
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(base, opTimeout)
		defer cancel()
		msg, err := client.Reply(ctx, id, line)
		return featureDoneMsg{what: "replying", acct: i, peer: peer, reply: &msg, err: err}
	}
}

// cancelCompose leaves reply or correct mode.
func (m *Model) cancelCompose() tea.Cmd {
	if m.compose.kind == "correct" {
		m.input.Reset()
		m.layout()
	}
	m.compose = composeMode{}
	m.status.Info("cancelled")
	return nil
}

// lastOwn returns our newest sent message in the pane.
func (m *Model) lastOwn() (*chatItem, bool) {
	for k := len(m.chat.items) - 1; k >= 0; k-- {
		it := &m.chat.items[k]
		if it.msg.Direction == store.Outgoing && it.msg.ID > 0 && !it.msg.Retracted {
			return it, true
		}
	}
	m.status.Info("you have sent no message here")
	return nil, false
}

func (m *Model) cmdCorrect(args string) tea.Cmd {
	if !m.openChat() {
		return nil
	}
	it, ok := m.lastOwn()
	if !ok {
		return nil
	}
	if strings.TrimSpace(args) == "" {
		return m.startCorrect(it)
	}
	id := it.msg.ID
	return m.featureCmd(m.chat.acct, "correcting", func(ctx context.Context, a Account) error { return a.Correct(ctx, id, args) })
}

func (m *Model) cmdRetract(string) tea.Cmd {
	if !m.openChat() {
		return nil
	}
	it, ok := m.lastOwn()
	if !ok {
		return nil
	}
	return m.askRetract(it.msg.ID)
}

// setActiveCmd tells every account whether the terminal has focus.
func (m *Model) setActiveCmd(active bool) tea.Cmd {
	var cmds []tea.Cmd
	for _, a := range m.accts {
		s, ok := a.client.(activeSetter)
		if !ok {
			continue
		}
		base, log, jid := m.ctx, m.log, a.jid
		cmds = append(cmds, func() tea.Msg {
			ctx, cancel := context.WithTimeout(base, opTimeout)
			defer cancel()
			if err := s.SetActive(ctx, active); err != nil {
				log.Warn("client state", "account", jid, "err", err)
			}
			return nil
		})
	}
	return tea.Batch(cmds...)
}

// tickAfter is the default Model.after: msg after d, on a timer.
func tickAfter(d time.Duration, msg tea.Msg) tea.Cmd {
	return tea.Tick(d, func(time.Time) tea.Msg { return msg })
}

// onTyped sends "composing" while the user types a message in a 1:1
// conversation (at most once per composingEvery) and arms the "paused"
// timer.
func (m *Model) onTyped() tea.Cmd {
	if !m.chat.open || m.chat.kind == store.KindPrivate || m.scope() != scopeInput {
		return nil
	}
	v := m.input.Value()
	if strings.TrimSpace(v) == "" || strings.HasPrefix(v, "/") {
		return nil
	}
	t := &m.typingOut
	now := m.now()
	if t.acct != m.chat.acct || t.peer != m.chat.peer {
		*t = typingOut{acct: m.chat.acct, peer: m.chat.peer}
	}
	var send tea.Cmd
	if !t.composing || now.Sub(t.lastComposing) >= composingEvery {
		t.composing, t.lastComposing = true, now
		send = m.chatStateCmd(t.acct, t.peer, "composing")
	}
	t.lastKey = now
	if t.armed {
		return send
	}
	t.armed = true
	return tea.Batch(send, m.after(pausedAfter, pausedTickMsg{seq: t.seq}))
}

// onPausedTick sends "paused" if nothing was typed since the tick was armed.
func (m *Model) onPausedTick(msg pausedTickMsg) tea.Cmd {
	t := &m.typingOut
	if msg.seq != t.seq {
		return nil // from before a send or another conversation
	}
	t.armed = false
	if !t.composing || !m.chat.IsOpen(t.acct, t.peer) {
		return nil
	}
	if left := pausedAfter - m.now().Sub(t.lastKey); left > 0 {
		t.armed = true
		return m.after(left, pausedTickMsg{seq: t.seq})
	}
	t.composing = false
	return m.chatStateCmd(t.acct, t.peer, "paused")
}

// sentTyping forgets our composing state: the session sends "active" with
// the message.
func (m *Model) sentTyping() {
	m.typingOut.composing, m.typingOut.armed = false, false
	m.typingOut.seq++
}

// chatStateCmd sends a chat state; failures only go to the log.
func (m *Model) chatStateCmd(i int, peer, state string) tea.Cmd {
	base, client, log := m.ctx, m.accts[i].client, m.log
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(base, opTimeout)
		defer cancel()
		if err := client.SendChatState(ctx, peer, state); err != nil {
			log.Warn("chat state", "peer", peer, "err", err)
		}
		return nil
	}
}

// markDisplayed sends a read marker for the newest incoming message of the
// open 1:1 conversation when it is on screen, once per message.
func (m *Model) markDisplayed() tea.Cmd {
	p := &m.chat
	if !p.open || p.kind == store.KindPrivate || !m.termFocused || p.detached || p.loading {
		return nil
	}
	for k := len(p.items) - 1; k >= 0; k-- {
		msg := p.items[k].msg
		if msg.Direction != store.Incoming || msg.ID <= 0 {
			continue
		}
		if msg.ID <= m.displayed {
			return nil
		}
		m.displayed = msg.ID
		base, client, log, id := m.ctx, m.accts[p.acct].client, m.log, msg.ID
		return func() tea.Msg {
			ctx, cancel := context.WithTimeout(base, opTimeout)
			defer cancel()
			if err := client.MarkDisplayed(ctx, id); err != nil {
				log.Warn("read marker", "err", err)
			}
			return nil
		}
	}
	return nil
}
