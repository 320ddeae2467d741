//go:build xchat_uiload

package session_test

// The UI half of the group-chat load measurements: the events a client
// emitted while joining are replayed into the real UI model (ui.New with a
// stub account and store), timing Update and View only, since the store
// reads the model's commands do run off the UI goroutine in the program.
// Behind a build tag so that this package's tests do not break whenever
// the UI package is mid-change:
//
//	XCHAT_LOAD=1 go test -tags xchat_uiload ./session -run TestMUCLoad -v
//	go test -tags xchat_uiload ./session -run '^$' -bench RoomFloodUI

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"xchat/muc"
	"xchat/session"
	"xchat/store"
	"xchat/ui"
)

func init() { uiReplay = replayUI }

// uiAccount names ui.Account so that it can be embedded next to an
// Account method.
type uiAccount = ui.Account

// stubAccount is an account that is never asked to act: the embedded nil
// interface covers methods the replay does not call.
type stubAccount struct {
	uiAccount
	jid string
}

func (a stubAccount) Account() string { return a.jid }

// stubStore knows the rooms as group-chat conversations and nothing else.
type stubStore struct {
	ui.Store
	acct  string
	rooms []string
}

func (s stubStore) Latest(context.Context, string, string, int) ([]store.Message, error) {
	return nil, nil
}

func (s stubStore) Before(context.Context, string, string, int64, int) ([]store.Message, error) {
	return nil, nil
}

func (s stubStore) After(context.Context, string, string, int64, int) ([]store.Message, error) {
	return nil, nil
}

func (s stubStore) Contacts(context.Context, string) ([]store.Contact, error) { return nil, nil }

func (s stubStore) Conversations(context.Context, string) ([]store.Conversation, error) {
	out := make([]store.Conversation, len(s.rooms))
	for i, r := range s.rooms {
		out[i] = store.Conversation{Account: s.acct, Peer: r, Kind: store.KindGroupchat}
	}
	return out, nil
}

func (s stubStore) OpenConversation(_ context.Context, acct, peer string, kind store.ConvKind) (store.Conversation, error) {
	return store.Conversation{Account: acct, Peer: peer, Kind: kind}, nil
}

func (s stubStore) MarkRead(context.Context, string, string) error          { return nil }
func (s stubStore) CloseConversation(context.Context, string, string) error { return nil }

// uiDriver feeds messages to the model, timing Update and View, and runs
// the returned commands untimed (a command that does not return within a
// second, such as a tick, is dropped, and so is one that panics).
type uiDriver struct {
	tb   testing.TB
	m    *ui.Model
	busy time.Duration
}

func newUIDriver(tb testing.TB, acct string, rooms []string) *uiDriver {
	m := ui.New(ui.Options{
		Accounts: []ui.Account{stubAccount{jid: acct}},
		Store:    stubStore{acct: acct, rooms: rooms},
		Location: time.UTC,
	})
	d := &uiDriver{tb: tb, m: m}
	d.send(tea.WindowSizeMsg{Width: 120, Height: 40})
	d.run(m.Init())
	d.send(session.StateEvent{Account: acct, State: session.Online})
	d.view()
	d.busy = 0
	return d
}

func (d *uiDriver) send(msg tea.Msg) {
	t0 := time.Now()
	_, cmd := d.m.Update(msg)
	d.busy += time.Since(t0)
	d.run(cmd)
}

func (d *uiDriver) view() {
	t0 := time.Now()
	_ = d.m.View()
	d.busy += time.Since(t0)
}

func (d *uiDriver) run(cmd tea.Cmd) {
	if cmd == nil {
		return
	}
	res := make(chan tea.Msg, 1)
	go func() {
		// A command may use an account method the stub leaves to the
		// embedded nil interface (the UI grows); it yields nothing.
		defer func() {
			if recover() != nil {
				res <- nil
			}
		}()
		res <- cmd()
	}()
	var msg tea.Msg
	select {
	case msg = <-res:
	case <-time.After(time.Second):
		return
	}
	switch msg := msg.(type) {
	case nil, tea.QuitMsg:
	case tea.BatchMsg:
		for _, c := range msg {
			d.run(c)
		}
	default:
		d.send(msg)
	}
}

// replayUI feeds the events of a join to a fresh UI, drawing a frame
// after each snapshot (the program draws at most once per frame, so this
// is an upper bound). The first room to get a window is opened (alt+1) as
// soon as it has one, so its occupant list is drawn in every frame.
func replayUI(tb testing.TB, acct string, rooms []string, evs []session.Event) time.Duration {
	d := newUIDriver(tb, acct, rooms)
	open, last := "", 0
	for _, ev := range evs {
		d.send(ev)
		if e, ok := ev.(session.RoomStateEvent); ok {
			if open == "" {
				d.send(tea.KeyPressMsg{Code: '1', Mod: tea.ModAlt})
				open = e.Room
			}
			if e.Room == open {
				last = len(e.Occupants)
			}
			d.view()
		}
	}
	// The frames measured must be the ones with the list in them.
	if frame := d.m.View().Content; !strings.Contains(frame, fmt.Sprintf("%d occupants", last)) {
		tb.Errorf("the last frame does not show %s with its %d occupants:\n%s", open, last, frame)
	}
	return d.busy
}

// BenchmarkRoomFloodUI is the UI's work for a 1,000-occupant room's join
// as the session delivers it: one event per occupant, and a snapshot plus
// a frame every 100 presences.
func BenchmarkRoomFloodUI(b *testing.B) {
	const n, batch = 1000, 100
	const acct, room = "me@localhost", "big@conference.localhost"
	var evs []session.Event
	r := muc.NewRoom(room, "me")
	r.SetOwnJID(acct)
	for i, raw := range floodPresences(n) {
		mevs, err := r.HandlePresence(raw)
		if err != nil {
			b.Fatal(err)
		}
		for _, ev := range mevs {
			evs = append(evs, session.RoomEvent{Account: acct, Room: room, Event: ev})
		}
		if (i+1)%batch == 0 || i == n {
			evs = append(evs, session.RoomStateEvent{Account: acct, Room: room, State: r.State(), Nick: r.Nick(), Occupants: r.Occupants()})
		}
	}
	var busy time.Duration
	for b.Loop() {
		busy += replayUI(b, acct, []string{room}, evs)
	}
	b.ReportMetric(float64(busy.Nanoseconds())/float64(b.N)/1e6, "ms/1000presences")
}
