package ui

import (
	"fmt"
	"image/color"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"xchat/session"
	"xchat/store"
)

func themed(t *testing.T, th Theme) *harness {
	t.Helper()
	t.Setenv("NO_COLOR", "")
	st := newFakeStore()
	st.contacts[me] = []store.Contact{{Account: me, JID: alice, Name: "Alice"}}
	st.convs[me] = []store.Conversation{{Account: me, Peer: alice, Unread: 2}}
	st.add(store.Message{Account: me, Peer: bob, Body: "hi", Timestamp: testNow, Sender: bob})
	a := newFakeAccount(me)
	h := newHarnessOpts(t, Options{Accounts: []Account{a}, Store: st, Now: func() time.Time { return testNow }, Location: time.UTC, Theme: th},
		st, []*fakeAccount{a})
	h.send(session.StateEvent{Account: me, State: session.Online})
	return h
}

func TestBackgroundDetection(t *testing.T) {
	h := themed(t, Theme{})
	h.typeText("/msg " + bob)
	h.press("enter")
	dark := h.m.render()
	if !h.m.st.dark || !strings.Contains(dark, sgrFG(jidColor(bob, true))) {
		t.Fatalf("bob's name is not in the dark-background colour %s", jidColor(bob, true))
	}
	h.send(tea.BackgroundColorMsg{Color: color.White})
	light := h.m.render()
	if h.m.st.dark || !strings.Contains(light, sgrFG(jidColor(bob, false))) {
		t.Errorf("after a light background report, bob is not in %s", jidColor(bob, false))
	}
	h.send(tea.BackgroundColorMsg{Color: color.Black})
	if !h.m.st.dark {
		t.Error("a dark background report did not switch back")
	}
}

// sgrFG is the SGR parameters lipgloss writes for a #rrggbb foreground.
func sgrFG(hex string) string {
	var r, g, b int
	fmt.Sscanf(hex, "#%02x%02x%02x", &r, &g, &b)
	return fmt.Sprintf("38;2;%d;%d;%d", r, g, b)
}

func TestThemeColours(t *testing.T) {
	h := themed(t, Theme{Background: "light", Unread: "#ff0000", TitleBackground: "#00ff00"})
	frame := h.m.render()
	if !strings.Contains(frame, "38;2;255;0;0") || !strings.Contains(frame, "48;2;0;255;0") {
		t.Errorf("theme colours not used: %q", frame)
	}
	if h.m.st.dark {
		t.Error("Background light ignored")
	}
	h.send(tea.BackgroundColorMsg{Color: color.Black})
	if h.m.st.dark {
		t.Error("a fixed background was overridden by the terminal's report")
	}
	// A bad theme is ignored whole.
	bad := themed(t, Theme{Unread: "reddish"})
	if strings.Contains(bad.m.render(), "reddish") || bad.m.theme != (Theme{}) {
		t.Error("an invalid theme was used")
	}
	for _, tt := range []struct {
		th Theme
		ok bool
	}{
		{Theme{Link: "12"}, true}, {Theme{Link: "#0a0B0c"}, true}, {Theme{Link: "256"}, false},
		{Theme{Link: "#12345"}, false}, {Theme{Background: "grey"}, false}, {Theme{Background: "dark"}, true},
	} {
		if err := tt.th.Validate(); (err == nil) != tt.ok {
			t.Errorf("Validate(%+v) = %v", tt.th, err)
		}
	}
}
