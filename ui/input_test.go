package ui

import (
	"strings"
	"testing"

	"xchat/session"
	"xchat/store"
)

func TestReadlineKeys(t *testing.T) {
	h, _, _ := oneAccount(t)
	steps := []struct {
		keys []string
		typ  string
		want string
	}{
		{nil, "hello big world", "hello big world"},
		{[]string{"ctrl+w"}, "", "hello big "},
		{[]string{"ctrl+a"}, ">", ">hello big "},
		{[]string{"ctrl+e"}, "<", ">hello big <"},
		{[]string{"alt+b", "alt+b"}, "X", ">hello Xbig <"},
		{[]string{"alt+f"}, "Y", ">hello XbigY <"},
		{[]string{"ctrl+k"}, "", ">hello XbigY"},
		{[]string{"ctrl+u"}, "", ""},
	}
	for _, s := range steps {
		h.press(s.keys...)
		h.typeText(s.typ)
		if got := h.m.input.Value(); got != s.want {
			t.Fatalf("after %v %q: input %q, want %q", s.keys, s.typ, got, s.want)
		}
	}
	if h.m.switcher.open {
		t.Error("ctrl+k with text after the cursor opened the switcher")
	}
}

func TestInputHistory(t *testing.T) {
	h, _, _ := oneAccount(t)
	h.typeText("/msg " + alice)
	h.press("enter")
	for _, s := range []string{"one", "two", "three"} {
		h.typeText(s)
		h.press("enter")
	}
	h.typeText("draft")
	want := []string{"three", "two", "one", "one"}
	for _, w := range want {
		h.press("up")
		if got := h.m.input.Value(); got != w {
			t.Fatalf("up: %q, want %q", got, w)
		}
	}
	for _, w := range []string{"two", "three", "draft", "draft"} {
		h.press("down")
		if got := h.m.input.Value(); got != w {
			t.Fatalf("down: %q, want %q", got, w)
		}
	}
	// Each conversation has its own history.
	h.press("ctrl+u")
	h.typeText("/msg " + bob)
	h.press("enter")
	h.press("up")
	if got := h.m.input.Value(); got != "" {
		t.Errorf("bob's history starts with %q", got)
	}
	h.typeText("for bob")
	h.press("enter", "alt+1", "up")
	if got := h.m.input.Value(); got != "/msg "+bob {
		t.Errorf("alice's last line = %q, want the /msg typed there", got)
	}
	// In a multi-line input Up moves between lines first.
	h.press("ctrl+u")
	h.typeText("a")
	h.press("shift+enter")
	h.typeText("b")
	h.press("up")
	if got := h.m.input.Value(); got != "a\nb" || h.m.input.ta.Line() != 0 {
		t.Errorf("up on the second line: input %q, line %d", got, h.m.input.ta.Line())
	}
}

func TestTabCompletion(t *testing.T) {
	h, _, _ := oneAccount(t)
	h.send(session.SubscriptionRequestEvent{Account: me, From: "eve@example.net"})
	steps := []struct {
		typ, keys string
		want      string
	}{
		{"/ms", "tab", "/msg "},
		{"/q", "tab", "/query "},
		{"/msg a", "tab", "/msg alice@example.org "},
		{"/msg ", "tab", "/msg alice@example.org "},
		{"/msg ", "tab tab", "/msg bob@example.org "},
		{"/msg ", "tab tab tab", "/msg alice@example.org "}, // wraps
		{"/msg ", "shift+tab", "/msg bob@example.org "},
		{"/approve ", "tab", "/approve eve@example.net "},
		{"/status a", "tab", "/status away "},
		{"/status ", "tab tab", "/status chat "},
		{"/account ", "tab", "/account me@example.org "},
		{"/st", "tab", "/status "},
		{"/se", "tab", "/search "},
		{"/s", "tab tab tab", "/status "}, // /save, /search, /status
	}
	for _, s := range steps {
		t.Run(s.typ+" "+s.keys, func(t *testing.T) {
			h.press("ctrl+u")
			h.typeText(s.typ)
			h.press(strings.Fields(s.keys)...)
			if got := h.m.input.Value(); got != s.want {
				t.Errorf("input %q, want %q", got, s.want)
			}
		})
	}
	// Another key ends the cycle: the next Tab completes the new word.
	h.press("ctrl+u")
	h.typeText("/msg ")
	h.press("tab")
	h.typeText("x")
	h.press("tab")
	if got := h.m.input.Value(); got != "/msg alice@example.org x" {
		t.Errorf("input %q after typing past a completion", got)
	}
	if text, _ := h.m.status.Text(); !strings.Contains(text, "no completion") {
		t.Errorf("status = %q", text)
	}
	// Tab on an empty input still moves the focus.
	h.press("ctrl+u", "tab")
	if h.m.focus != focusRoster {
		t.Error("tab on an empty input did not focus the roster")
	}
}

func TestCompletionListsConversationPeers(t *testing.T) {
	st := newFakeStore()
	st.convs[me] = []store.Conversation{{Account: me, Peer: "zed@example.net"}}
	h := newHarness(t, st, newFakeAccount(me))
	h.typeText("/msg z")
	h.press("tab")
	if got := h.m.input.Value(); got != "/msg zed@example.net " {
		t.Errorf("input %q", got)
	}
}
