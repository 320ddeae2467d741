package ui

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"xchat/store"
)

// selectionScene opens alice's conversation with three messages and an
// opener that writes the link it gets into a file.
func selectionScene(t *testing.T) (*harness, string) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "opened")
	st := newFakeStore()
	st.contacts[me] = []store.Contact{{Account: me, JID: alice, Name: "Alice"}}
	for i, body := range []string{"first", "see https://example.org/page and http://second.example", "/me waves"} {
		st.add(store.Message{Account: me, Peer: alice, Body: body, Timestamp: testNow.Add(time.Duration(i) * time.Minute), Sender: alice})
	}
	a := newFakeAccount(me)
	h := newHarnessOpts(t, Options{Accounts: []Account{a}, Store: st, Now: func() time.Time { return testNow }, Location: time.UTC,
		OpenCommand: []string{"sh", "-c", `printf %s "$1" > "$0"`, out}}, st, []*fakeAccount{a})
	h.typeText("/msg " + alice)
	h.press("enter")
	return h, out
}

func selectedBody(h *harness) string {
	if it, ok := h.m.selectedItem(); ok {
		return it.body
	}
	return ""
}

func TestSelectionMode(t *testing.T) {
	h, out := selectionScene(t)
	h.typeText("x")
	h.press("esc")
	if h.m.sel.active {
		t.Fatal("esc with text in the input entered selection mode")
	}
	h.press("ctrl+u", "esc")
	if !h.m.sel.active || selectedBody(h) != "waves" {
		t.Fatalf("esc in an empty input: active %v, selected %q", h.m.sel.active, selectedBody(h))
	}
	if v := h.m.View(); v.Cursor != nil {
		t.Error("the input cursor shows in selection mode")
	}
	// The selected message is drawn in reverse video.
	if frame := h.m.render(); !strings.Contains(frame, "\x1b[7m12:02 * Alice waves") {
		t.Errorf("selected row not highlighted: %q", frame)
	}
	h.press("k")
	if got := selectedBody(h); !strings.HasPrefix(got, "see ") {
		t.Fatalf("k selected %q", got)
	}
	h.press("g")
	if got := selectedBody(h); got != "first" {
		t.Fatalf("g selected %q", got)
	}
	h.press("k") // already first
	h.press("j")
	if got := selectedBody(h); !strings.HasPrefix(got, "see ") {
		t.Fatalf("j selected %q", got)
	}
	// Typing does not reach the input.
	h.typeText("zz")
	if h.m.input.Value() != "" {
		t.Errorf("input = %q in selection mode", h.m.input.Value())
	}

	// y copies with OSC 52.
	cmd := h.update(keyMsg("y"))
	if cmd == nil {
		t.Fatal("y returned no command")
	}
	msg := cmd()
	v := reflect.ValueOf(msg)
	if v.Kind() != reflect.String || v.String() != "see https://example.org/page and http://second.example" ||
		reflect.TypeOf(msg) != reflect.TypeOf(tea.SetClipboard("")()) {
		t.Errorf("y produced %T %v, want the clipboard set to the message", msg, msg)
	}

	// o opens the first link, through a command.
	cmd = h.update(keyMsg("o"))
	if _, err := os.Stat(out); err == nil {
		t.Fatal("the opener ran inside Update")
	}
	h.run(cmd)
	if b, err := os.ReadFile(out); err != nil || string(b) != "https://example.org/page" {
		t.Errorf("opener got %q (%v)", b, err)
	}
	h.press("G")
	h.press("o")
	if text, _ := h.m.status.Text(); !strings.Contains(text, "no link") {
		t.Errorf("o without a link: %q", text)
	}
	h.press("i")
	if h.m.sel.active || h.m.focus != focusInput {
		t.Fatal("i did not return to the input")
	}
	if strings.Contains(h.m.render(), "\x1b[7m12:") {
		t.Error("highlight left after leaving selection mode")
	}
	h.typeText("ok")
	if h.m.input.Value() != "ok" {
		t.Errorf("input after leaving = %q", h.m.input.Value())
	}
	h.press("ctrl+u", "esc", "esc")
	if h.m.sel.active {
		t.Error("esc did not leave selection mode")
	}
}

func TestSelectionOpenerFailure(t *testing.T) {
	h, _ := selectionScene(t)
	h.m.opener = []string{"/nonexistent/opener"}
	h.press("esc", "k", "o")
	if text, isErr := h.m.status.Text(); !isErr || !strings.Contains(text, "could not open https://example.org/page") {
		t.Errorf("status = %q", text)
	}
}

func TestSelectionScrollsIntoView(t *testing.T) {
	h, _ := longConversation(t, 500)
	h.press("esc")
	for range 60 {
		h.press("k")
	}
	if got := selectedBody(h); got != "m439" {
		t.Fatalf("selected %q after 60 k", got)
	}
	if !strings.Contains(h.screen(), "m439") {
		t.Errorf("the selected message is not on screen:\n%s", h.screen())
	}
	// Moving past the top of what is loaded loads older messages.
	h.press("g")
	before := len(h.m.chat.items)
	h.press("k")
	if len(h.m.chat.items) <= before {
		t.Errorf("k at the first loaded message did not load older ones (%d items)", len(h.m.chat.items))
	}
	if !h.m.sel.active || selectedBody(h) != "m300" {
		t.Errorf("selection after loading: %q", selectedBody(h))
	}
}
