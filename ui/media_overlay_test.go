package ui

import (
	"fmt"
	"image"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	uv "github.com/charmbracelet/ultraviolet"
	"github.com/charmbracelet/x/ansi"

	"xchat/media"
	"xchat/session"
	"xchat/store"
)

const catURL = "https://files.example.org/cat.png"

// overlayScene shows alice's photo with the protocol forced to proto;
// before and after are plain messages around it.
func overlayScene(t *testing.T, proto string, env map[string]string, before, after int) *harness {
	t.Helper()
	h, acc, st := mediaScene(t, MediaOptions{AutoDownloadMax: 1 << 20, Protocol: proto, Env: env})
	mediaOf(acc).files[catURL] = testPNG(t)
	add := func(body string) {
		msg := st.add(store.Message{Account: me, Peer: alice, Direction: store.Incoming, State: store.StateReceived,
			Body: body, Timestamp: testNow, Sender: alice, Kind: store.KindChat})
		h.send(session.MessageEvent{Account: me, Message: msg})
	}
	for i := range before {
		add("before " + strconv.Itoa(i))
	}
	add(catURL)
	for i := range after {
		add("after " + strconv.Itoa(i))
	}
	return h
}

// paints fires the armed timers and returns what the overlay printed, as
// the event loop prints a RawMsg (fmt.Sprint at that moment).
func paints(h *harness) []string {
	h.t.Helper()
	timers := h.timers
	h.timers = nil
	var out []string
	var run func(tea.Cmd)
	run = func(cmd tea.Cmd) {
		if cmd == nil {
			return
		}
		switch msg := cmd().(type) {
		case tea.BatchMsg:
			for _, c := range msg {
				run(c)
			}
		case tea.RawMsg:
			if s := fmt.Sprint(msg.Msg); s != "" {
				out = append(out, s)
			}
		case nil:
		default:
			run(h.update(msg))
		}
	}
	for _, m := range timers {
		if _, ok := m.(overlayPaintMsg); ok {
			run(h.update(m))
		}
	}
	return out
}

// reserved is where the frame has reserved thumbnail cells: the screen
// position of the first such row, the number of rows, and the image row
// the first one is.
type reserved struct{ x, y, n, top int }

var markRE = regexp.MustCompile(`\x1b\[38;2;1;(\d+);\d+m`)

func frameReserved(t *testing.T, h *harness) []reserved {
	t.Helper()
	var out []reserved
	for y, l := range strings.Split(h.m.View().Content, "\n") {
		loc := markRE.FindStringSubmatchIndex(l)
		if loc == nil {
			continue
		}
		g, _ := strconv.Atoi(l[loc[2]:loc[3]])
		row := g >> 4
		if n := len(out); n > 0 && out[n-1].y+out[n-1].n == y {
			out[n-1].n++
			continue
		}
		out = append(out, reserved{x: ansi.StringWidth(l[:loc[0]]), y: y, n: 1, top: row})
	}
	return out
}

var cupRE = regexp.MustCompile(`\x1b7\x1b\[(\d+);(\d+)H`)

// cups are the cursor positions (1-based row, col) of the images in seq.
func cups(seq string) [][2]int {
	var out [][2]int
	for _, m := range cupRE.FindAllStringSubmatch(seq, -1) {
		r, _ := strconv.Atoi(m[1])
		c, _ := strconv.Atoi(m[2])
		out = append(out, [2]int{r, c})
	}
	return out
}

func TestITerm2InlineThumbnailOverlay(t *testing.T) {
	h := overlayScene(t, "iterm2", nil, 0, 0)
	if s := h.screen(); strings.Contains(s, "▀") {
		t.Fatalf("half blocks with iTerm2:\n%s", s)
	}
	res := frameReserved(t, h)
	if len(res) != 1 || res[0].n != 4 || res[0].top != 0 {
		t.Fatalf("reserved cells %+v, want one 4-row thumbnail", res)
	}
	out := paints(h)
	if len(out) != 1 {
		t.Fatalf("%d paints, want 1", len(out))
	}
	// At the frame's reserved cells: under the message, right of the roster.
	if c := cups(out[0]); len(c) != 1 || c[0] != [2]int{res[0].y + 1, res[0].x + 1} || c[0][1] <= 22 {
		t.Fatalf("image at %v, reserved at %+v", c, res[0])
	}
	if !strings.Contains(out[0], "\x1b]1337;File=inline=1;") || !strings.Contains(out[0], ";width=40;height=4;") ||
		!strings.HasSuffix(out[0], "\a\x1b8") {
		t.Fatalf("sequence %.80q", out[0])
	}
	// The reserved cells look blank, right under the message's line.
	lines := strings.Split(h.screen(), "\n")
	if !strings.Contains(lines[res[0].y-1], "Alice: "+catURL) {
		t.Fatalf("row above the thumbnail: %q", lines[res[0].y-1])
	}
	if got := lines[res[0].y]; strings.TrimSpace(got[strings.Index(got, "│")+len("│"):]) != "" {
		t.Fatalf("reserved row %q", got)
	}

	// Typing in the input moves nothing: nothing is painted again.
	h.typeText("hello")
	h.press("left")
	if out := paints(h); len(out) != 0 {
		t.Fatalf("repainted on a keystroke: %d", len(out))
	}
	// Selecting the message keeps the reserved cells as they are.
	h.m.input.SetValue("")
	h.press("esc")
	if out := paints(h); !h.m.sel.active || len(out) != 0 || len(frameReserved(t, h)) != 1 {
		t.Fatalf("selection %v: %d paints, reserved %v", h.m.sel.active, len(out), frameReserved(t, h))
	}
	// A new message moves the thumbnail up: painted at its new cells.
	h.press("esc")
	msg := h.store.add(store.Message{Account: me, Peer: alice, Direction: store.Incoming, State: store.StateReceived,
		Body: "nice", Timestamp: testNow, Sender: alice, Kind: store.KindChat})
	h.send(session.MessageEvent{Account: me, Message: msg})
	moved := frameReserved(t, h)
	out = paints(h)
	if len(moved) != 1 || moved[0].y != res[0].y-1 || len(out) != 1 || cups(out[0])[0] != [2]int{moved[0].y + 1, moved[0].x + 1} {
		t.Fatalf("after a new message: reserved %+v (was %+v), paints %d", moved, res, len(out))
	}
	// A resize repaints even where nothing moved.
	h.send(tea.WindowSizeMsg{Width: h.m.width, Height: h.m.height})
	if out := paints(h); len(out) != 1 {
		t.Fatalf("%d paints after a resize, want 1", len(out))
	}
}

func TestOverlayHiddenByOverlays(t *testing.T) {
	h := overlayScene(t, "iterm2", nil, 0, 0)
	paints(h)
	// The switcher covers the pane: no reserved cells, no image.
	h.press("ctrl+k")
	if res, out := frameReserved(t, h), paints(h); len(res) != 0 || len(out) != 0 {
		t.Fatalf("switcher open: reserved %v, %d paints", res, len(out))
	}
	h.press("esc")
	if out := paints(h); len(out) != 1 {
		t.Fatalf("%d paints after the switcher closed, want 1", len(out))
	}
	// A paint made stale by a layout change prints nothing, even when its
	// raw output reaches the event loop later.
	h.send(tea.WindowSizeMsg{Width: h.m.width, Height: h.m.height})
	stale := h.timers
	h.timers = nil
	cmd := h.update(stale[len(stale)-1])
	h.press("ctrl+k")
	if raw, ok := cmd().(tea.RawMsg); !ok || fmt.Sprint(raw.Msg) != "" {
		t.Fatalf("stale paint printed %.60q", fmt.Sprint(raw.Msg))
	}
	h.press("esc")
	// Help and the full-window view hide it too.
	paints(h)
	h.press("f1")
	if res, out := frameReserved(t, h), paints(h); !h.m.help.open || len(res) != 0 || len(out) != 0 {
		t.Fatalf("help: open %v, reserved %v, %d paints", h.m.help.open, res, len(out))
	}
	h.press("f1")
	if out := paints(h); len(out) != 1 {
		t.Fatalf("%d paints after help closed, want 1", len(out))
	}
	h.press("esc", "v")
	var inline int
	for _, s := range paints(h) {
		if strings.Contains(s, "height=4;") {
			inline++
		}
	}
	if h.m.media.view == "" || len(frameReserved(t, h)) != 0 || inline != 0 {
		t.Fatalf("full view: %q, reserved %v, %d thumbnails painted", h.m.media.view, frameReserved(t, h), inline)
	}
}

func TestOverlayOffScreenAndCropped(t *testing.T) {
	// Far enough below for the whole thumbnail to be scrolled off.
	h := overlayScene(t, "iterm2", nil, 0, 40)
	if res, out := frameReserved(t, h), paints(h); len(res) != 0 || len(out) != 0 {
		t.Fatalf("off screen: reserved %v, %d paints", res, len(out))
	}
	// Scroll up until part of it shows at the pane's top edge.
	var res []reserved
	for range 30 {
		h.send(tea.MouseWheelMsg{Button: tea.MouseWheelUp, X: 40, Y: 10})
		if res = frameReserved(t, h); len(res) > 0 {
			break
		}
	}
	if len(res) != 1 || res[0].n >= 4 || res[0].y != 1 || res[0].top != 4-res[0].n {
		t.Fatalf("after scrolling: %+v, want the bottom rows at the pane's top", res)
	}
	out := paints(h)
	if len(out) != 1 {
		t.Fatalf("%d paints, want 1", len(out))
	}
	if c := cups(out[0]); len(c) != 1 || c[0] != [2]int{2, res[0].x + 1} {
		t.Fatalf("cropped image at %v, reserved %+v", c, res[0])
	}
	if want := ";width=40;height=" + strconv.Itoa(res[0].n) + ";"; !strings.Contains(out[0], want) {
		t.Fatalf("cropped sequence %.100q, want %q", out[0], want)
	}

	// At the bottom edge: a photo with older messages above, scrolled so
	// that only its top rows show.
	h = overlayScene(t, "iterm2", nil, 40, 2)
	paints(h)
	h.send(tea.MouseWheelMsg{Button: tea.MouseWheelUp, X: 40, Y: 10}) // 3 rows
	res = frameReserved(t, h)
	paneBottom := h.m.mainHeight() - 1 // last pane row on the screen
	if len(res) != 1 || res[0].top != 0 || res[0].n >= 4 || res[0].y+res[0].n-1 != paneBottom {
		t.Fatalf("reserved %+v, want the top rows at the pane's bottom (row %d)", res, paneBottom)
	}
	out = paints(h)
	if len(out) != 1 || !strings.Contains(out[0], ";height="+strconv.Itoa(res[0].n)+";") ||
		cups(out[0])[0] != [2]int{res[0].y + 1, res[0].x + 1} {
		t.Fatalf("bottom crop %.100q, reserved %+v", out, res)
	}
}

func TestSixelInlineThumbnailOverlay(t *testing.T) {
	h := overlayScene(t, "sixel", nil, 0, 0)
	// Until the terminal tells its cell size, half blocks.
	if !strings.Contains(h.screen(), strings.Repeat("▀", 40)) || len(paints(h)) != 0 {
		t.Fatalf("before the cell size:\n%s", h.screen())
	}
	// A resize asks for the cell size.
	cmd := h.update(tea.WindowSizeMsg{Width: h.m.width, Height: h.m.height})
	if !strings.Contains(fmt.Sprint(rawOf(cmd)), "\x1b[16t") {
		t.Fatal("no cell size query")
	}
	// The window's size in pixels gives the cells' (80x24 cells).
	h.send(uv.PixelSizeEvent{Width: 80*9 + 5, Height: 24*18 + 3})
	if c := [2]int{h.m.media.ov.cellW, h.m.media.ov.cellH}; c != [2]int{9, 18} {
		t.Fatalf("cell size %v from the window's pixels, want 9x18", c)
	}
	// The cell size itself wins, whatever comes after.
	h.send(uv.CellSizeEvent{Width: 8, Height: 16})
	h.send(uv.PixelSizeEvent{Width: 80 * 9, Height: 24 * 18})
	if strings.Contains(h.screen(), "▀") {
		t.Fatalf("half blocks once the cell size is known:\n%s", h.screen())
	}
	res := frameReserved(t, h)
	out := paints(h)
	if len(res) != 1 || len(out) != 1 {
		t.Fatalf("reserved %v, %d paints", res, len(out))
	}
	if c := cups(out[0]); len(c) != 1 || c[0] != [2]int{res[0].y + 1, res[0].x + 1} {
		t.Fatalf("image at %v, reserved %+v", c, res[0])
	}
	// Sized to the terminal's cells: 40×4 cells of 8×16 pixels at most.
	m := regexp.MustCompile(`\x1bP0;1;0q"1;1;(\d+);(\d+)`).FindStringSubmatch(out[0])
	if m == nil {
		t.Fatalf("no sixel: %.80q", out[0])
	}
	w, _ := strconv.Atoi(m[1])
	ht, _ := strconv.Atoi(m[2])
	if w > 40*8 || ht > 4*16 || w < 40*8-8 || ht < 4*16-16 {
		t.Fatalf("sixel %dx%d pixels for 40x4 cells of 8x16", w, ht)
	}
	if !strings.HasSuffix(out[0], "\x1b\\\x1b8") {
		t.Fatalf("sequence end %q", out[0][len(out[0])-10:])
	}
	// The same layout painted again (resize) comes from the cache.
	n := len(h.m.media.ov.cache.order)
	h.send(tea.WindowSizeMsg{Width: h.m.width, Height: h.m.height})
	if again := paints(h); len(again) != 1 || again[0] != out[0] || len(h.m.media.ov.cache.order) != n {
		t.Fatalf("repaint differs or was encoded again (%d → %d entries)", n, len(h.m.media.ov.cache.order))
	}
}

// rawOf returns the raw output among what cmd produces (one level of
// batch), nil if none.
func rawOf(cmd tea.Cmd) any {
	if cmd == nil {
		return nil
	}
	switch msg := cmd().(type) {
	case tea.RawMsg:
		return msg.Msg
	case tea.BatchMsg:
		for _, c := range msg {
			if r := rawOf(c); r != nil {
				return r
			}
		}
	}
	return nil
}

// Half blocks stay where the overlay must not run: tmux without a
// configured protocol, and the other protocols.
func TestOverlayOnlyForITerm2AndSixel(t *testing.T) {
	for _, c := range []struct {
		proto string
		env   map[string]string
	}{
		{"auto", map[string]string{"TERM_PROGRAM": "iTerm.app", "TMUX": "/tmp/tmux-1/default,1,0"}},
		{"auto", map[string]string{"TERM": "foot", "TMUX": "/tmp/tmux-1/default,1,0"}},
		{"halfblock", map[string]string{"TERM_PROGRAM": "iTerm.app"}},
		{"none", map[string]string{"TERM_PROGRAM": "iTerm.app"}},
		{"kitty", nil},
	} {
		h := overlayScene(t, c.proto, c.env, 0, 0)
		h.send(uv.CellSizeEvent{Width: 8, Height: 16})
		if h.m.media.ov.on || len(frameReserved(t, h)) != 0 || len(paints(h)) != 0 {
			t.Errorf("%s %v: overlay on", c.proto, c.env)
		}
	}
	// Detected outside tmux.
	h := overlayScene(t, "auto", map[string]string{"TERM_PROGRAM": "iTerm.app"}, 0, 0)
	if !h.m.media.ov.on || len(paints(h)) != 1 {
		t.Error("iTerm2 detected: no overlay")
	}
}

// Slots are reused after overlaySlots images: the old image's rows are
// forgotten, so a reserved row never names two images.
func TestOverlaySlotReuse(t *testing.T) {
	var mu mediaUI
	mu.init(MediaOptions{Protocol: "iterm2"})
	img := image.NewRGBA(image.Rect(0, 0, 80, 16))
	old := mu.reserveLines("https://a.example/old.png", img, 2, 60, 60)
	mu.ov.nextSlot = overlaySlots - 1
	last := mu.reserveLines("https://a.example/last.png", img, 2, 60, 60)
	if !strings.Contains(last[1], overlayMark+strconv.Itoa(1<<4|overlaySlots>>8)+";"+strconv.Itoa(overlaySlots&0xff)+"m") {
		t.Fatalf("slot %d row 1: %q", overlaySlots, last[1])
	}
	reused := mu.reserveLines("https://a.example/new.png", img, 2, 60, 60)
	if !slices.Equal(reused, old) {
		t.Fatalf("slot 1 not reused: %q vs %q", reused[0], old[0])
	}
	if c := mu.ov.rows[old[0]]; c.url != "https://a.example/new.png" || mu.ov.slots["https://a.example/old.png"] != 0 {
		t.Fatalf("row names %q; old slot %d", c.url, mu.ov.slots["https://a.example/old.png"])
	}
	for _, c := range mu.ov.rows {
		if c.url == "https://a.example/old.png" {
			t.Fatal("the old image's rows are still known")
		}
	}
}

// TestProgramOverlayAfterFrame runs a real Bubble Tea program with iTerm2
// images: the image must reach the terminal after the frame that reserved
// its cells, no later frame may rewrite them, and an unrelated keystroke
// must not draw it again.
func TestProgramOverlayAfterFrame(t *testing.T) {
	st := newFakeStore()
	st.contacts[me] = []store.Contact{{Account: me, JID: alice, Name: "Alice", Subscription: "both"}}
	acc := newFakeAccount(me)
	mediaOf(acc).files[catURL] = testPNG(t)
	st.add(store.Message{Account: me, Peer: alice, Direction: store.Incoming, State: store.StateReceived,
		Body: catURL, Timestamp: time.Now(), Sender: alice, Kind: store.KindChat})
	m := New(Options{Accounts: []Account{acc}, Store: st, Open: alice,
		Media: MediaOptions{AutoDownloadMax: 1 << 20, Protocol: "iterm2"}})
	var out syncBuffer
	p := tea.NewProgram(m, tea.WithInput(strings.NewReader("")), tea.WithOutput(&out),
		tea.WithWindowSize(100, 30), tea.WithoutSignals(), tea.WithColorProfile(colorprofile.TrueColor))
	done := make(chan error, 1)
	go func() { _, err := p.Run(); done <- err }()
	defer func() {
		p.Quit()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			p.Kill()
		}
	}()
	p.Send(session.StateEvent{Account: me, State: session.Online})
	const image = "\x1b]1337;File=inline=1;"
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), image) {
		if time.Now().After(deadline) {
			t.Fatalf("no image drawn; output: %q", out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	s := out.String()
	i := strings.Index(s, image)
	if !strings.Contains(s[:i], overlayMark) {
		t.Fatal("the image went out before any frame with its reserved cells")
	}
	if after := s[i:]; strings.Contains(after[strings.Index(after, "\a"):], overlayMark) {
		t.Fatalf("a frame after the image rewrote reserved cells: %q", after[strings.Index(after, "\a"):])
	}
	n := strings.Count(s, image)
	typeInto(p, "hi")
	time.Sleep(300 * time.Millisecond)
	if s := out.String(); strings.Count(s, image) != n || !strings.Contains(s, "hi") {
		t.Fatalf("a keystroke drew the image again (%d → %d)", n, strings.Count(s, image))
	}
}

// BenchmarkOverlayEncode is the cost of one uncached thumbnail (40×8
// cells from an 800×600 image), per protocol; cached paints cost a map
// lookup.
func BenchmarkOverlayEncode(b *testing.B) {
	img := image.NewRGBA(image.Rect(0, 0, 800, 600))
	for i := range img.Pix {
		img.Pix[i] = byte(i * 7)
	}
	for _, proto := range []media.Protocol{media.ITerm2, media.Sixel} {
		b.Run(proto.String(), func(b *testing.B) {
			cols, rows := media.KittyCells(img, thumbCols, thumbRows)
			p := placement{url: "u", cols: cols, rows: rows, shown: rows}
			for b.Loop() {
				cache := &overlayCache{seqs: map[string]string{}}
				overlayImage(cache, proto, img, p, 9, 18)
			}
		})
	}
}
