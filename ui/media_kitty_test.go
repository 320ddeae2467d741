package ui

import (
	"slices"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"xchat/media"
	"xchat/session"
	"xchat/store"
)

// sendRaw is harness.send that also returns what went to the terminal
// raw (tea.Raw), in order.
func sendRaw(h *harness, msg tea.Msg) []string {
	h.t.Helper()
	var raws []string
	var run func(tea.Cmd)
	run = func(cmd tea.Cmd) {
		if cmd == nil {
			return
		}
		switch msg := cmd().(type) {
		case nil:
		case tea.BatchMsg:
			for _, c := range msg {
				run(c)
			}
		case tea.RawMsg:
			raws = append(raws, msg.Msg.(string))
		default:
			run(h.update(msg))
		}
	}
	run(h.update(msg))
	return raws
}

func kittyScene(t *testing.T, env map[string]string, proto string) (*harness, store.Message, []string) {
	h, acc, st := mediaScene(t, MediaOptions{AutoDownloadMax: 1 << 20, Protocol: proto, Env: env})
	const u = "https://files.example.org/cat.png"
	mediaOf(acc).files[u] = testPNG(t)
	msg := st.add(store.Message{Account: me, Peer: alice, Direction: store.Incoming, State: store.StateReceived,
		Body: u, Timestamp: testNow, Sender: alice, Kind: store.KindChat})
	return h, msg, sendRaw(h, session.MessageEvent{Account: me, Message: msg})
}

// With kitty graphics the thumbnail is sent once, with a virtual
// placement, and the pane holds placeholder cells naming its id.
func TestKittyInlineThumbnail(t *testing.T) {
	h, msg, raws := kittyScene(t, map[string]string{"TERM": "xterm-kitty", "KITTY_WINDOW_ID": "1"}, "auto")
	f := h.m.media.files["https://files.example.org/cat.png"]
	if f == nil || f.kitty == 0 {
		t.Fatalf("no kitty image id: %+v", f)
	}
	if len(raws) != 1 {
		t.Fatalf("%d raw outputs, want the transmission", len(raws))
	}
	id := f.kitty
	if !strings.HasPrefix(raws[0], "\x1b_Ga=t,f=100,t=d,i="+itoa(int64(id))+",") ||
		!strings.HasSuffix(raws[0], "\x1b_Ga=p,U=1,i="+itoa(int64(id))+",c=40,r=4,q=2\x1b\\") {
		t.Fatalf("transmission %.80q … %q", raws[0], raws[0][max(0, len(raws[0])-60):])
	}
	lines := h.m.chat.linesOf(h.m.chat.find(msg.ID))
	want := media.KittyPlaceholder(id, 40, 4)
	var found int
	for _, l := range lines {
		for _, w := range want {
			if strings.Contains(l, w) {
				found++
			}
		}
		if strings.Contains(l, "▀") {
			t.Errorf("half blocks with kitty: %q", l)
		}
	}
	if found != 4 {
		t.Fatalf("%d of 4 placeholder rows in the pane:\n%q", found, lines)
	}
	for _, l := range lines {
		if n := ansi.StringWidth(l); n != h.m.chat.width {
			t.Errorf("line of %d cells, want %d", n, h.m.chat.width)
		}
	}
	// The screen shows them as text, row by row (Bubble Tea draws them).
	if s := h.m.View().Content; strings.Count(s, string(media.KittyPlaceholderRune)) != 160 {
		t.Errorf("%d placeholder cells on screen, want 160", strings.Count(s, string(media.KittyPlaceholderRune)))
	}

	// A narrow pane shows the left part: fewer cells, same placement.
	raws = sendRaw(h, tea.WindowSizeMsg{Width: 30, Height: 24})
	if len(raws) != 0 {
		t.Errorf("a resize sent the image again")
	}
	lines = h.m.chat.linesOf(h.m.chat.find(msg.ID))
	cropped := media.KittyPlaceholder(id, 40, 4)[0]
	var rows int
	for _, l := range lines {
		if strings.Contains(l, string(media.KittyPlaceholderRune)) {
			rows++
			if ansi.StringWidth(l) != h.m.chat.width || strings.Contains(l, cropped) {
				t.Errorf("row not cropped to the pane (%d cells): %q", ansi.StringWidth(l), l)
			}
		}
	}
	if rows != 4 {
		t.Errorf("%d placeholder rows after the resize", rows)
	}
}

// Inside tmux detection stays on half blocks; kitty configured there
// passes the transmission through tmux.
func TestKittyInTmux(t *testing.T) {
	env := map[string]string{"TERM": "screen-256color", "TMUX": "/tmp/tmux-0/default,1,0", "KITTY_WINDOW_ID": "1"}
	h, msg, raws := kittyScene(t, env, "auto")
	if len(raws) != 0 || h.m.media.files["https://files.example.org/cat.png"].kitty != 0 {
		t.Fatalf("kitty graphics inside tmux without being configured: %q", raws)
	}
	if s := strings.Join(h.m.chat.linesOf(h.m.chat.find(msg.ID)), "\n"); strings.Count(s, "▀") != 160 {
		t.Errorf("no half-block thumbnail in tmux:\n%s", s)
	}

	h, msg, raws = kittyScene(t, env, "kitty")
	f := h.m.media.files["https://files.example.org/cat.png"]
	if len(raws) != 1 || f.kitty == 0 {
		t.Fatalf("configured kitty in tmux: raws %d, id %d", len(raws), f.kitty)
	}
	if !strings.HasPrefix(raws[0], "\x1bPtmux;\x1b\x1b_Ga=t,") || !strings.HasSuffix(raws[0], "\x1b\x1b\\\x1b\\") {
		t.Errorf("not wrapped for tmux: %.40q", raws[0])
	}
	if s := strings.Join(h.m.chat.linesOf(h.m.chat.find(msg.ID)), "\n"); !strings.Contains(s, media.KittyPlaceholder(f.kitty, 40, 4)[3]) {
		t.Errorf("no placeholder rows:\n%q", s)
	}
}

// Ids differ per image and carry a high byte; images dropped from memory
// are deleted from the terminal with the next transmission.
func TestKittyIDsAndDeletion(t *testing.T) {
	var mu mediaUI
	mu.init(MediaOptions{Protocol: "kitty"})
	seen := map[uint32]bool{}
	for range 600 {
		id := mu.newKittyID()
		if id&0xff == 0 || id>>24 == 0 || id&0x00ffff00 != 0 || seen[id] {
			t.Fatalf("bad or repeated id %#x", id)
		}
		seen[id] = true
	}
	mu.kittyGone = []uint32{7 | 3<<24}
	if got := mu.kittyFlush(); got != media.KittyDelete(7|3<<24) || len(mu.kittyGone) != 0 {
		t.Errorf("flush %q", got)
	}
}

// With kitty the full-window view is placeholder text too: the image is
// sent under a new id when the view opens and deleted when it closes.
func TestKittyFullView(t *testing.T) {
	h, _, _ := kittyScene(t, map[string]string{"TERM": "xterm-kitty"}, "auto")
	h.press("esc")
	raws := sendRaw(h, keyMsg("v"))
	v := h.m.media.kittyView
	if len(raws) != 1 || v.id == 0 || v.id == h.m.media.files["https://files.example.org/cat.png"].kitty {
		t.Fatalf("raws %d, view id %#x", len(raws), v.id)
	}
	// 80x16 pixels into the 59x21 cells right of the roster: 59 columns.
	if !strings.HasSuffix(raws[0], "\x1b_Ga=p,U=1,i="+itoa(int64(v.id))+",c=59,r=6,q=2\x1b\\") {
		t.Errorf("placement %q", raws[0][max(0, len(raws[0])-50):])
	}
	s := h.m.View().Content
	if n := strings.Count(s, string(media.KittyPlaceholderRune)); n != 59*6 {
		t.Errorf("%d placeholder cells in the view, want %d", n, 59*6)
	}
	if !strings.Contains(s, media.KittyPlaceholder(v.id, 59, 6)[5]) {
		t.Error("the view's last row is missing")
	}
	raws = sendRaw(h, keyMsg("q"))
	if h.m.media.view != "" || len(raws) != 1 || raws[0] != media.KittyDelete(v.id) {
		t.Errorf("closing: view %q, raws %q", h.m.media.view, raws)
	}
	if strings.Contains(h.m.View().Content, media.KittyPlaceholder(v.id, 59, 6)[0]) {
		t.Error("the view's cells stayed")
	}
}

// Konsole speaks the kitty protocol but not its placeholders: detected
// there, thumbnails stay half blocks and only the full view is an image.
func TestKittyWithoutPlaceholders(t *testing.T) {
	h, msg, raws := kittyScene(t, map[string]string{"TERM": "xterm-256color", "KONSOLE_VERSION": "230800"}, "auto")
	if h.m.media.proto != media.Kitty || h.m.media.kittyInline || len(raws) != 0 {
		t.Fatalf("proto %v, inline %v, raws %d", h.m.media.proto, h.m.media.kittyInline, len(raws))
	}
	if s := strings.Join(h.m.chat.linesOf(h.m.chat.find(msg.ID)), "\n"); strings.Count(s, "▀") != 160 {
		t.Errorf("no half-block thumbnail:\n%s", s)
	}
	h.timers = nil
	h.press("esc", "v")
	if len(h.timers) != 1 {
		t.Fatalf("timers %v, want the paint of the full view", h.timers)
	}
	raw, ok := h.update(h.timers[0])().(tea.RawMsg)
	if !ok || !strings.Contains(raw.Msg.(string), "\x1b_Ga=T,f=100") {
		t.Errorf("full view not painted with kitty graphics: %v", raw)
	}
}

// At the end every image still in the terminal is deleted, once.
func TestKittyCleanup(t *testing.T) {
	h, _, _ := kittyScene(t, map[string]string{"TERM": "xterm-kitty"}, "auto")
	thumb := h.m.media.files["https://files.example.org/cat.png"].kitty
	h.press("esc")
	sendRaw(h, keyMsg("v"))
	view := h.m.media.kittyView.id
	want := []uint32{thumb, view}
	slices.Sort(want)
	if got := h.m.KittyCleanup(); got != media.KittyDelete(want[0])+media.KittyDelete(want[1]) {
		t.Errorf("cleanup %q", got)
	}
	if got := h.m.KittyCleanup(); got != "" {
		t.Errorf("second cleanup %q", got)
	}
}

// A selected message is highlighted, but its image keeps the colour that
// names it.
func TestKittyThumbnailSelected(t *testing.T) {
	h, _, _ := kittyScene(t, map[string]string{"TERM": "xterm-kitty"}, "auto")
	id := h.m.media.files["https://files.example.org/cat.png"].kitty
	h.press("esc")
	if !h.m.sel.active {
		t.Fatal("no selection")
	}
	s := h.m.View().Content
	for _, row := range media.KittyPlaceholder(id, 40, 4) {
		if !strings.Contains(s, row) {
			t.Fatalf("a placeholder row lost its colour under the selection")
		}
	}
}
