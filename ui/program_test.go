package ui

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"xchat/session"
	"xchat/store"
)

// syncBuffer is a bytes.Buffer safe for the renderer's goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestProgram runs the model in a real Bubble Tea program, fed events the
// way cmd/xchat feeds them, and checks that it draws and quits.
func TestProgram(t *testing.T) {
	st := newFakeStore()
	st.contacts[me] = []store.Contact{{Account: me, JID: alice, Name: "Alice"}}
	acc := newFakeAccount(me)
	m := New(Options{Accounts: []Account{acc}, Store: st, Open: alice})
	var out syncBuffer
	p := tea.NewProgram(m, tea.WithInput(strings.NewReader("")), tea.WithOutput(&out),
		tea.WithWindowSize(80, 24), tea.WithoutSignals())
	done := make(chan error, 1)
	go func() { _, err := p.Run(); done <- err }()

	p.Send(session.StateEvent{Account: me, State: session.Online})
	in := st.add(store.Message{Account: me, Peer: alice, Body: "ping from the network", Timestamp: time.Now(), Sender: alice})
	p.Send(session.MessageEvent{Account: me, Message: in})
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), "ping from the network") {
		if time.Now().After(deadline) {
			p.Kill()
			t.Fatalf("the message never reached the screen; output: %q", out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	p.Send(tea.KeyPressMsg{Code: 'c', Mod: tea.ModCtrl})
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		p.Kill()
		t.Fatal("ctrl+c did not quit")
	}
}
