package ui

import (
	"bytes"
	"encoding/base64"
	"fmt"
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

// runProgram starts the model in a real program and returns a function
// that waits for the output to satisfy ok.
func runProgram(t *testing.T, m *Model) (*tea.Program, *syncBuffer, func(what string, ok func(string) bool)) {
	t.Helper()
	var out syncBuffer
	p := tea.NewProgram(m, tea.WithInput(strings.NewReader("")), tea.WithOutput(&out),
		tea.WithWindowSize(100, 30), tea.WithoutSignals())
	done := make(chan error, 1)
	go func() { _, err := p.Run(); done <- err }()
	t.Cleanup(func() {
		p.Quit()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			p.Kill()
		}
	})
	wait := func(what string, ok func(string) bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !ok(out.String()) {
			if time.Now().After(deadline) {
				t.Fatalf("%s never happened; output: %q", what, out.String())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	return p, &out, wait
}

func keys(p *tea.Program, names ...string) {
	for _, n := range names {
		p.Send(keyMsg(n))
	}
}

func typeInto(p *tea.Program, s string) {
	for _, r := range s {
		p.Send(tea.KeyPressMsg{Code: r, Text: string(r)})
	}
}

// TestProgramSwitcherAndCopy goes through a real program: Ctrl+K to a
// contact, a message, selection mode and y, which must put an OSC 52
// sequence with the text on the terminal.
func TestProgramSwitcherAndCopy(t *testing.T) {
	st := newFakeStore()
	st.contacts[me] = []store.Contact{{Account: me, JID: alice, Name: "Alice"}, {Account: me, JID: bob, Name: "Bob"}}
	st.add(store.Message{Account: me, Peer: bob, Body: "copy me please", Timestamp: time.Now(), Sender: bob})
	m := New(Options{Accounts: []Account{newFakeAccount(me)}, Store: st})
	p, _, wait := runProgram(t, m)
	wait("the roster", func(s string) bool { return strings.Contains(s, "Bob") })

	keys(p, "ctrl+k")
	wait("the switcher", func(s string) bool { return strings.Contains(s, "Go to:") })
	typeInto(p, "bo")
	keys(p, "enter")
	wait("bob's conversation", func(s string) bool { return strings.Contains(s, "copy me please") })

	keys(p, "esc", "y")
	want := "\x1b]52;c;" + base64.StdEncoding.EncodeToString([]byte("copy me please"))
	wait("the OSC 52 sequence", func(s string) bool { return strings.Contains(s, want) })
}

// TestProgramWindowsAndPaging switches windows with Alt+digits and pages
// through history in a real program.
func TestProgramWindowsAndPaging(t *testing.T) {
	st := newFakeStore()
	st.convs[me] = []store.Conversation{{Account: me, Peer: alice}, {Account: me, Peer: bob}}
	for i := range 600 {
		st.add(store.Message{Account: me, Peer: alice, Body: fmt.Sprintf("alice line %03d", i), Timestamp: time.Now(), Sender: alice})
	}
	st.add(store.Message{Account: me, Peer: bob, Body: "bob says hi", Timestamp: time.Now(), Sender: bob})
	m := New(Options{Accounts: []Account{newFakeAccount(me)}, Store: st})
	p, out, wait := runProgram(t, m)
	wait("the window list", func(s string) bool { return strings.Contains(s, "1 2") })
	// The renderer writes only what changed: a resize makes it clear the
	// screen and draw all of it, and the frame after the last clear is
	// what the terminal shows.
	width := 100
	screen := func(what string, want, unwanted string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			width = 201 - width
			p.Send(tea.WindowSizeMsg{Width: width, Height: 30})
			time.Sleep(50 * time.Millisecond)
			s := out.String()
			if i := strings.LastIndex(s, "\x1b[2J"); i >= 0 {
				frame := s[i:]
				if strings.Contains(frame, want) && (unwanted == "" || !strings.Contains(frame, unwanted)) {
					return
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s never happened; output: %q", what, s)
			}
		}
	}
	keys(p, "alt+2")
	screen("window 2", "bob says hi", "alice line")
	keys(p, "alt+1")
	screen("window 1", "alice line 599", "bob says hi")
	keys(p, "home")
	screen("the first message", "alice line 000", "alice line 599")
	keys(p, "end")
	screen("back at the end", "alice line 599", "alice line 000")
}
