package ui

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"xchat/session"
	"xchat/store"
)

// testNow is the fixed clock of the tests: Monday 6 May 2024, 12:00 UTC.
var testNow = time.Date(2024, 5, 6, 12, 0, 0, 0, time.UTC)

// call is one recorded call to a fake.
type call struct {
	method string
	args   []string
}

func (c call) String() string { return c.method + "(" + strings.Join(c.args, ", ") + ")" }

// fakeAccount records calls and answers like a session.Client would.
type fakeAccount struct {
	jid string

	mu      sync.Mutex
	calls   []call
	nextID  int64
	sendErr error
	opErr   error
	block   chan struct{} // when set, SendMessage waits for it
}

func newFakeAccount(jid string) *fakeAccount { return &fakeAccount{jid: jid, nextID: 5000} }

func (f *fakeAccount) record(method string, args ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, call{method, args})
}

func (f *fakeAccount) Calls() []call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

func (f *fakeAccount) Account() string { return f.jid }

func (f *fakeAccount) SendMessage(ctx context.Context, to, body string) (store.Message, error) {
	f.record("SendMessage", to, body)
	if f.block != nil {
		select {
		case <-f.block:
		case <-ctx.Done():
			return store.Message{}, ctx.Err()
		}
	}
	if f.sendErr != nil {
		return store.Message{}, f.sendErr
	}
	f.mu.Lock()
	f.nextID++
	id := f.nextID
	f.mu.Unlock()
	return store.Message{
		ID: id, Account: f.jid, Peer: to, Kind: store.KindChat, Direction: store.Outgoing,
		Sender: f.jid, Body: body, Type: "chat", Timestamp: testNow, Received: testNow, State: store.StatePending,
	}, nil
}

func (f *fakeAccount) AddContact(_ context.Context, jid, name string) error {
	f.record("AddContact", jid, name)
	return f.opErr
}

func (f *fakeAccount) RemoveContact(_ context.Context, jid string) error {
	f.record("RemoveContact", jid)
	return f.opErr
}

func (f *fakeAccount) Approve(_ context.Context, jid string) error {
	f.record("Approve", jid)
	return f.opErr
}

func (f *fakeAccount) Deny(_ context.Context, jid string) error {
	f.record("Deny", jid)
	return f.opErr
}

func (f *fakeAccount) SetPresence(_ context.Context, show session.Show, status string) error {
	f.record("SetPresence", string(show), status)
	return f.opErr
}

// fakeStore keeps messages in memory, ordered by id within a conversation.
type fakeStore struct {
	mu       sync.Mutex
	msgs     map[string][]store.Message // acct+" "+peer → oldest first
	contacts map[string][]store.Contact
	convs    map[string][]store.Conversation
	calls    []call
	nextID   int64

	reactions map[int64][]store.Reaction
}

func newFakeStore() *fakeStore {
	return &fakeStore{
		msgs:     map[string][]store.Message{},
		contacts: map[string][]store.Contact{},
		convs:    map[string][]store.Conversation{},
		nextID:   1,
	}
}

func (s *fakeStore) record(method string, args ...string) {
	s.calls = append(s.calls, call{method, args})
}

func (s *fakeStore) Calls() []call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

// add stores a message and returns it with its id.
func (s *fakeStore) add(m store.Message) store.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	m.ID = s.nextID
	s.nextID++
	if m.Type == "" {
		m.Type = "chat"
	}
	k := m.Account + " " + m.Peer
	s.msgs[k] = append(s.msgs[k], m)
	return m
}

func (s *fakeStore) Latest(_ context.Context, acct, peer string, n int) ([]store.Message, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.record("Latest", acct, peer, fmt.Sprint(n))
	all := s.msgs[acct+" "+peer]
	return slices.Clone(all[max(0, len(all)-n):]), nil
}

func (s *fakeStore) Before(_ context.Context, acct, peer string, id int64, n int) ([]store.Message, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.record("Before", acct, peer, fmt.Sprint(id), fmt.Sprint(n))
	all := s.msgs[acct+" "+peer]
	end := 0
	for end < len(all) && all[end].ID < id {
		end++
	}
	return slices.Clone(all[max(0, end-n):end]), nil
}

func (s *fakeStore) After(_ context.Context, acct, peer string, id int64, n int) ([]store.Message, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.record("After", acct, peer, fmt.Sprint(id), fmt.Sprint(n))
	all := s.msgs[acct+" "+peer]
	start := 0
	for start < len(all) && all[start].ID <= id {
		start++
	}
	return slices.Clone(all[start:min(len(all), start+n)]), nil
}

func (s *fakeStore) Search(_ context.Context, acct, peer, text string, limit int) ([]store.Message, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.record("Search", acct, peer, text, fmt.Sprint(limit))
	var out []store.Message
	for k, msgs := range s.msgs {
		if !strings.HasPrefix(k, acct+" ") || (peer != "" && k != acct+" "+peer) {
			continue
		}
		for _, m := range msgs {
			if strings.Contains(strings.ToLower(m.Body), strings.ToLower(text)) {
				out = append(out, m)
			}
		}
	}
	slices.SortFunc(out, func(a, b store.Message) int { return int(b.ID - a.ID) })
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

func (s *fakeStore) CloseConversation(_ context.Context, acct, peer string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.record("CloseConversation", acct, peer)
	return nil
}

func (s *fakeStore) Conversations(_ context.Context, acct string) ([]store.Conversation, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.record("Conversations", acct)
	return slices.Clone(s.convs[acct]), nil
}

func (s *fakeStore) SetMuted(_ context.Context, acct, peer string, _ store.ConvKind, muted bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.record("SetMuted", acct, peer, fmt.Sprint(muted))
	return nil
}

func (s *fakeStore) Contacts(_ context.Context, acct string) ([]store.Contact, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.record("Contacts", acct)
	return slices.Clone(s.contacts[acct]), nil
}

func (s *fakeStore) OpenConversation(_ context.Context, acct, peer string, kind store.ConvKind) (store.Conversation, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.record("OpenConversation", acct, peer)
	return store.Conversation{Account: acct, Peer: peer, Kind: kind}, nil
}

func (s *fakeStore) MarkRead(_ context.Context, acct, peer string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.record("MarkRead", acct, peer)
	return nil
}

// harness drives a Model like Bubble Tea does, but synchronously.
type harness struct {
	t     testing.TB
	m     *Model
	quit  bool
	store *fakeStore
	accts []*fakeAccount

	timers []tea.Msg // what armed timers would deliver, in order
}

func newHarness(t testing.TB, st *fakeStore, accts ...*fakeAccount) *harness {
	t.Helper()
	opts := Options{Store: st, Now: func() time.Time { return testNow }, Location: time.UTC}
	for _, a := range accts {
		opts.Accounts = append(opts.Accounts, a)
	}
	return newHarnessOpts(t, opts, st, accts)
}

func newHarnessOpts(t testing.TB, opts Options, st *fakeStore, accts []*fakeAccount) *harness {
	t.Helper()
	h := &harness{t: t, m: New(opts), store: st, accts: accts}
	h.m.after = func(d time.Duration, msg tea.Msg) tea.Cmd { // timers fire only when a test says so
		h.timers = append(h.timers, msg)
		return nil
	}
	h.send(tea.WindowSizeMsg{Width: 80, Height: 24})
	h.run(h.m.Init())
	return h
}

// send feeds a message to Update and runs the commands it returns.
func (h *harness) send(msg tea.Msg) {
	h.t.Helper()
	_, cmd := h.m.Update(msg)
	h.run(cmd)
}

// update feeds a message without running the returned command.
func (h *harness) update(msg tea.Msg) tea.Cmd {
	_, cmd := h.m.Update(msg)
	return cmd
}

// run executes cmd and feeds what it returns back, depth first.
func (h *harness) run(cmd tea.Cmd) {
	h.t.Helper()
	if cmd == nil {
		return
	}
	switch msg := cmd().(type) {
	case nil:
	case tea.BatchMsg:
		for _, c := range msg {
			h.run(c)
		}
	case tea.QuitMsg:
		h.quit = true
	default:
		h.send(msg)
	}
}

// keyMsg builds a key press from Bubble Tea's key names.
func keyMsg(name string) tea.KeyPressMsg {
	var mod tea.KeyMod
	for {
		switch {
		case strings.HasPrefix(name, "ctrl+"):
			mod |= tea.ModCtrl
			name = name[5:]
			continue
		case strings.HasPrefix(name, "shift+"):
			mod |= tea.ModShift
			name = name[6:]
			continue
		case strings.HasPrefix(name, "alt+"):
			mod |= tea.ModAlt
			name = name[4:]
			continue
		}
		break
	}
	codes := map[string]rune{
		"enter": tea.KeyEnter, "tab": tea.KeyTab, "esc": tea.KeyEscape, "up": tea.KeyUp, "down": tea.KeyDown,
		"pgup": tea.KeyPgUp, "pgdown": tea.KeyPgDown, "home": tea.KeyHome, "end": tea.KeyEnd,
		"f1": tea.KeyF1, "backspace": tea.KeyBackspace, "space": tea.KeySpace,
	}
	if c, ok := codes[name]; ok {
		return tea.KeyPressMsg{Code: c, Mod: mod}
	}
	r := []rune(name)[0]
	if mod != 0 {
		return tea.KeyPressMsg{Code: r, Mod: mod}
	}
	return tea.KeyPressMsg{Code: r, Text: name}
}

// press sends named keys.
func (h *harness) press(names ...string) {
	h.t.Helper()
	for _, n := range names {
		h.send(keyMsg(n))
	}
}

// typeText types text into whatever has focus.
func (h *harness) typeText(s string) {
	h.t.Helper()
	for _, r := range s {
		if r == ' ' {
			h.send(tea.KeyPressMsg{Code: tea.KeySpace, Text: " "})
			continue
		}
		h.send(tea.KeyPressMsg{Code: r, Text: string(r)})
	}
}

// screen returns the current frame without ANSI sequences.
func (h *harness) screen() string { return ansi.Strip(h.m.View().Content) }

// item returns the pane's messages' bodies and states, for assertions.
func (h *harness) items() []string {
	var out []string
	for _, it := range h.m.chat.items {
		out = append(out, fmt.Sprintf("%s:%s", it.body, it.msg.State))
	}
	return out
}

func (f *fakeAccount) Correct(_ context.Context, id int64, body string) error {
	f.record("Correct", fmt.Sprint(id), body)
	return f.opErr
}

func (f *fakeAccount) Retract(_ context.Context, id int64) error {
	f.record("Retract", fmt.Sprint(id))
	return f.opErr
}

func (f *fakeAccount) React(_ context.Context, id int64, emojis []string) error {
	f.record("React", append([]string{fmt.Sprint(id)}, emojis...)...)
	return f.opErr
}

func (f *fakeAccount) Reply(_ context.Context, id int64, body string) (store.Message, error) {
	f.record("Reply", fmt.Sprint(id), body)
	f.mu.Lock()
	f.nextID++
	n := f.nextID
	f.mu.Unlock()
	return store.Message{ID: n, Account: f.jid, Direction: store.Outgoing, Kind: store.KindChat, Body: body,
		ReplyTo: fmt.Sprint("ref", id), Timestamp: testNow, State: store.StateSent}, f.opErr
}

func (f *fakeAccount) SendChatState(_ context.Context, peer, state string) error {
	f.record("SendChatState", peer, state)
	return nil
}

func (f *fakeAccount) MarkDisplayed(_ context.Context, id int64) error {
	f.record("MarkDisplayed", fmt.Sprint(id))
	return nil
}

func (f *fakeAccount) SetActive(_ context.Context, active bool) error {
	f.record("SetActive", fmt.Sprint(active))
	return nil
}

func (s *fakeStore) Message(_ context.Context, id int64) (store.Message, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ms := range s.msgs {
		for _, m := range ms {
			if m.ID == id {
				return m, nil
			}
		}
	}
	return store.Message{}, fmt.Errorf("no message %d: %w", id, store.ErrNotFound)
}

func (s *fakeStore) Reactions(_ context.Context, ids []int64) (map[int64][]store.Reaction, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.record("Reactions", fmt.Sprint(ids))
	out := map[int64][]store.Reaction{}
	for _, id := range ids {
		if r, ok := s.reactions[id]; ok {
			out[id] = r
		}
	}
	return out, nil
}
