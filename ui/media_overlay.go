package ui

import (
	"fmt"
	"image"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	tea "charm.land/bubbletea/v2"
	uv "github.com/charmbracelet/ultraviolet"
	"golang.org/x/image/draw"

	"xchat/media"
)

// Inline thumbnails with iTerm2 images or Sixel, drawn over the pane.
//
// Such images are not text: Bubble Tea cannot scroll or clip them. The
// pane reserves the thumbnail's cells instead: blank cells whose
// foreground colour (invisible on a blank) names the image and the row,
// so they differ from any other blank cell. After a frame in which the
// visible thumbnails moved, appeared or disappeared, the images are
// written at their cells' absolute positions (cursor saved, moved,
// image, cursor restored), each cropped to its rows inside the pane.
//
// Ordering. Bubble Tea v2 appends tea.Raw output to a buffer when its
// event loop handles the RawMsg and writes that buffer just before the
// frame on each renderer tick; the frame of an Update goes out on the
// first tick after it. An image written in the same tick as the frame
// that reserves its cells would be wiped by that frame, so the paint is
// a timer (overlayDelay, several frame intervals) and, when the event
// loop finally prints it, overlayRaw.String checks that no layout change
// happened meanwhile: a stale paint prints nothing. Images leave by
// themselves: a frame that moves or hides a thumbnail rewrites its old
// reserved cells (they differ from what replaces them), and the terminal
// drops image pixels under rewritten cells.

// overlayDelay is how long after a layout change the images are drawn:
// well over one frame at Bubble Tea's 60 fps.
const overlayDelay = 50 * time.Millisecond

// overlayCacheMax bounds the encoded sequences kept.
const overlayCacheMax = 64

// overlayRowsMax bounds the reserved rows remembered.
const overlayRowsMax = 4096

// overlayMark starts the colour of reserved cells: 38;2;1;G;B with
// G = row<<4 | slot>>8 and B = slot&0xff (rows < 16, slots < 4096).
const overlayMark = "\x1b[38;2;1;"

// overlaySlots is the number of image slots before they are reused.
const overlaySlots = 4095

type overlayState struct {
	on bool // iTerm2 or Sixel thumbnails drawn over the pane
	// cellW, cellH: the terminal's cell size in pixels (Sixel), 0 until
	// it answers; Sixel thumbnails are half blocks until then.
	cellW, cellH int
	cellExact    bool                   // the terminal reported its cell size (not derived)
	slots        map[string]int         // url → slot, which the reserved colour carries
	slotURL      map[int]string         // slot → url
	nextSlot     int                    // the last slot handed out
	rows         map[string]overlayCell // reserved row → its image row
	want         []placement            // the thumbnails of the current frame
	gen          int                    // bumped on each layout change
	force        bool                   // redraw even if the layout stays (resize, theme)
	cache        *overlayCache
}

// overlayCell is one reserved row.
type overlayCell struct {
	url        string
	row        int // of the image
	cols, rows int // the image's cells
	indent     int
}

// placement is a thumbnail on the screen, possibly cropped.
type placement struct {
	url        string
	x, y       int // screen cell of its first shown row, 0-based
	cols, rows int // the whole image's cells
	top, shown int // image rows shown: [top, top+shown)
}

type overlayPaintMsg struct{ gen int }

// overlayRaw is the raw output of a paint: the event loop turns it into
// text with fmt.Sprint when it handles the RawMsg, in order with Updates;
// a paint made stale by a later layout change prints nothing.
type overlayRaw struct {
	ov  *overlayState
	gen int
	seq string
}

func (r overlayRaw) String() string {
	if r.ov.gen != r.gen {
		return ""
	}
	return r.seq
}

// overlayCache keeps encoded images per image, crop and cell size; the
// paint Cmds fill it from their goroutines.
type overlayCache struct {
	mu    sync.Mutex
	seqs  map[string]string
	order []string
}

func (c *overlayCache) get(k string) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.seqs[k]
	return s, ok
}

func (c *overlayCache) put(k, s string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.seqs[k]; ok {
		return
	}
	c.seqs[k] = s
	c.order = append(c.order, k)
	for len(c.order) > overlayCacheMax {
		delete(c.seqs, c.order[0])
		c.order = c.order[1:]
	}
}

// initOverlay turns the overlay on for iTerm2 and Sixel. Detection never
// answers those inside tmux or screen; configured there, the images go
// through tmux's passthrough.
func (mu *mediaUI) initOverlay() {
	ov := &mu.ov
	ov.on = !mu.off && (mu.proto == media.ITerm2 || mu.proto == media.Sixel)
	ov.slots = map[string]int{}
	ov.slotURL = map[int]string{}
	ov.rows = map[string]overlayCell{}
	ov.cache = &overlayCache{seqs: map[string]string{}}
}

// overlayReady reports whether thumbnails are reserved cells now.
func (mu *mediaUI) overlayReady() bool {
	ov := &mu.ov
	return ov.on && (mu.proto != media.Sixel || ov.cellW > 0 && ov.cellH > 0)
}

// reserveLines are the pane rows of u's thumbnail: cols×rows blank cells
// after indent, each row with its own invisible colour.
func (mu *mediaUI) reserveLines(u string, img image.Image, indent, avail, width int) []string {
	ov := &mu.ov
	cols, rows := media.KittyCells(img, min(thumbCols, avail), thumbRows)
	slot, ok := ov.slots[u]
	if !ok {
		ov.nextSlot = ov.nextSlot%overlaySlots + 1
		slot = ov.nextSlot
		if old, used := ov.slotURL[slot]; used {
			// Reused: the old image's rows must not name the new one.
			delete(ov.slots, old)
			maps.DeleteFunc(ov.rows, func(_ string, c overlayCell) bool { return c.url == old })
		}
		ov.slots[u], ov.slotURL[slot] = slot, u
	}
	out := make([]string, 0, rows)
	for r := range rows {
		g, b := r<<4|slot>>8, slot&0xff
		l := fit(spaces(indent)+overlayMark+strconv.Itoa(g)+";"+strconv.Itoa(b)+"m"+spaces(cols)+"\x1b[m", width)
		ov.rows[l] = overlayCell{url: u, row: r, cols: cols, rows: rows, indent: indent}
		out = append(out, l)
	}
	return out
}

// overlayLine reports whether a pane line is a reserved thumbnail row.
func overlayLine(line string) bool { return strings.Contains(line, overlayMark) }

// paneShown reports whether the screen shows the chat pane (no overlay,
// switcher, help, form or full view over it); as render decides.
func (m *Model) paneShown() bool {
	if _, ok := m.omemoScreen(); ok {
		return false
	}
	return m.width > 0 && m.height > 0 && m.mainHeight() > 1 && m.chat.open && !m.search.open && !m.switcher.open &&
		!m.omemo.pane.open && !m.help.open && !m.form.open && m.media.view == ""
}

// overlayLayout finds the reserved rows in the pane as it is drawn now.
func (m *Model) overlayLayout() []placement {
	if !m.paneShown() {
		return nil
	}
	rows := m.chat.Render(m.now().In(m.loc))
	if m.media.upload != nil && len(rows) > 0 {
		rows = rows[:len(rows)-1] // the progress bar's row
	}
	x0 := 0
	if rw := m.sidebarWidth(); rw > 0 {
		x0 = rw + 1
	}
	var out []placement
	for y := 0; y < len(rows); y++ {
		c, ok := m.media.ov.rows[rows[y]]
		if !ok {
			continue
		}
		// The run of this image's rows that follow in order.
		n := 1
		for y+n < len(rows) {
			d, ok := m.media.ov.rows[rows[y+n]]
			if !ok || d.url != c.url || d.row != c.row+n {
				break
			}
			n++
		}
		// Only whole rows at the pane's edges may be missing.
		if (c.row == 0 || y == 0) && (c.row+n == c.rows || y+n == len(rows)) {
			out = append(out, placement{url: c.url, x: x0 + c.indent, y: 1 + y, cols: c.cols, rows: c.rows, top: c.row, shown: n})
		}
		y += n - 1
	}
	return out
}

// overlayAfter runs after every Update: when the thumbnails on the screen
// changed, it schedules their painting after the frame.
func (m *Model) overlayAfter(msg tea.Msg) tea.Cmd {
	ov := &m.media.ov
	if !ov.on {
		return nil
	}
	var query tea.Cmd
	switch msg.(type) {
	case tea.WindowSizeMsg:
		ov.force = true // the renderer redraws everything
		if m.media.proto == media.Sixel {
			// Cell size in pixels, and the window's for terminals that
			// only answer that (XTWINOPS).
			query = tea.Raw("\x1b[16t\x1b[14t")
		}
	case tea.BackgroundColorMsg, tea.ResumeMsg:
		ov.force = true // restyled, or redrawn after a suspension
	case overlayPaintMsg:
		return nil
	}
	if len(ov.rows) > overlayRowsMax {
		// Rows of old widths and dropped images: forget them all and
		// let the pane reserve its cells again.
		clear(ov.rows)
		for i := range m.chat.items {
			m.chat.items[i].width = 0
		}
	}
	want := m.overlayLayout()
	if !ov.force && slices.EqualFunc(want, ov.want, func(a, b placement) bool {
		return a.url == b.url && a.x == b.x && a.y == b.y && a.cols == b.cols && a.rows == b.rows && a.top == b.top && a.shown == b.shown
	}) {
		return query
	}
	ov.force = false
	ov.want = want
	ov.gen++
	if len(want) == 0 {
		return query
	}
	return tea.Batch(query, m.after(overlayDelay, overlayPaintMsg{gen: ov.gen}))
}

// onCellSize records the terminal's cell size; Sixel thumbnails become
// reserved cells once it is known. A window size in pixels gives it too
// (rounded down: the image stays inside its cells), unless the terminal
// also reported the cell size itself.
func (m *Model) onCellSize(e uv.Event) {
	ov := &m.media.ov
	var w, h int
	switch e := e.(type) {
	case uv.CellSizeEvent:
		w, h = e.Width, e.Height
		ov.cellExact = true
	case uv.PixelSizeEvent:
		if ov.cellExact || m.width <= 0 || m.height <= 0 {
			return
		}
		w, h = e.Width/m.width, e.Height/m.height
	}
	if !ov.on || w <= 0 || h <= 0 || w == ov.cellW && h == ov.cellH {
		return
	}
	ov.cellW, ov.cellH = w, h
	ov.force = true
	for i := range m.chat.items {
		m.chat.items[i].width = 0
	}
}

// paintOverlay encodes the current layout (in a Cmd, cached) and prints
// it unless the layout changed since.
func (m *Model) paintOverlay(msg overlayPaintMsg) tea.Cmd {
	ov := &m.media.ov
	if msg.gen != ov.gen || len(ov.want) == 0 {
		return nil
	}
	type job struct {
		p   placement
		img image.Image
	}
	var jobs []job
	for _, p := range ov.want {
		if f := m.media.files[p.url]; f != nil && f.img != nil {
			jobs = append(jobs, job{p, f.img})
		}
	}
	proto, cw, ch, cache, tmux := m.media.proto, ov.cellW, ov.cellH, ov.cache, m.media.tmux
	gen := ov.gen
	return func() tea.Msg {
		var b strings.Builder
		for _, j := range jobs {
			seq := overlayImage(cache, proto, j.img, j.p, cw, ch)
			if tmux {
				seq = media.TmuxPassthrough(seq)
			}
			fmt.Fprintf(&b, "\x1b7\x1b[%d;%dH%s\x1b8", j.p.y+1, j.p.x+1, seq)
		}
		return tea.RawMsg{Msg: overlayRaw{ov: ov, gen: gen, seq: b.String()}}
	}
}

// overlayImage is the escape sequence of the shown rows of p's image.
func overlayImage(cache *overlayCache, proto media.Protocol, img image.Image, p placement, cw, ch int) string {
	key := fmt.Sprintf("%s|%d|%d×%d|%d+%d|%d×%d|%p", p.url, proto, p.cols, p.rows, p.top, p.shown, cw, ch, img)
	if s, ok := cache.get(key); ok {
		return s
	}
	sub := img
	if p.top > 0 || p.shown < p.rows {
		b := img.Bounds()
		y0 := b.Min.Y + b.Dy()*p.top/p.rows
		y1 := b.Min.Y + b.Dy()*(p.top+p.shown)/p.rows
		if s, ok := img.(interface {
			SubImage(image.Rectangle) image.Image
		}); ok {
			sub = s.SubImage(image.Rect(b.Min.X, y0, b.Max.X, max(y1, y0+1)))
		}
	}
	var s string
	switch proto {
	case media.ITerm2:
		s = media.ITerm2Image(sub, p.cols, p.shown)
	case media.Sixel:
		// Scaled to the terminal's cells, so the image fills its
		// reserved ones and stays inside; SixelImage keeps a size that
		// fits its box.
		px := scaleTo(sub, p.cols*cw, p.shown*ch)
		s = media.SixelImage(px, p.cols*cw/media.CellWidthPx+1, p.shown*ch/media.CellHeightPx+1)
	}
	cache.put(key, s)
	return s
}

// scaleTo scales img to fit w×h pixels keeping its aspect ratio, up as
// well as down.
func scaleTo(img image.Image, w, h int) image.Image {
	b := img.Bounds()
	if b.Dx() <= 0 || b.Dy() <= 0 || w <= 0 || h <= 0 {
		return img
	}
	fw, fh := w, b.Dy()*w/b.Dx()
	if fh > h {
		fw, fh = b.Dx()*h/b.Dy(), h
	}
	fw, fh = max(fw, 1), max(fh, 1)
	if fw <= b.Dx() {
		return media.ScaleToFit(img, fw, fh)
	}
	dst := image.NewRGBA(image.Rect(0, 0, fw, fh))
	draw.ApproxBiLinear.Scale(dst, dst.Rect, img, b, draw.Src, nil)
	return dst
}
