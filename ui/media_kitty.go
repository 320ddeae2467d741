package ui

import (
	"math/rand/v2"
	"slices"
	"strings"

	tea "charm.land/bubbletea/v2"

	"xchat/media"
)

// Inline thumbnails with kitty graphics: each decoded image is sent to the
// terminal once, under its own id, with a virtual placement; the pane then
// shows it as placeholder text (media/kitty.go), which Bubble Tea draws,
// scrolls and clips like any other text. iTerm2 and Sixel images cannot
// move with the text: they are drawn over reserved cells
// (media_overlay.go).

// kittyFirstID picks where this run's image ids start. Ids are global to
// the terminal (other programs, other xchat windows): a random high byte
// keeps them apart; the low byte (1–255) travels as a 256-colour
// foreground, which survives any colour downsampling down to 256 colours.
func kittyFirstID() uint32 {
	return uint32(1+rand.IntN(254))<<24 | 1
}

// newKittyID returns the next image id.
func (mu *mediaUI) newKittyID() uint32 {
	id := mu.kittyNext
	lo, hi := id&0xff, id>>24
	if lo >= 255 {
		lo, hi = 1, hi%254+1
	} else {
		lo++
	}
	mu.kittyNext = hi<<24 | lo
	return id
}

// kittyFlush returns the deletions of the images no longer kept (their
// messages were dropped from memory), to go out with the next sequence.
func (mu *mediaUI) kittyFlush() string {
	var b strings.Builder
	for _, id := range mu.kittyGone {
		b.WriteString(kittyWrap(media.KittyDelete(id), mu.tmux))
		delete(mu.kittyLive, id)
	}
	mu.kittyGone = nil
	return b.String()
}

// kittyWrap passes a graphics command through tmux when xchat runs inside
// it (kitty configured by hand there: tmux needs allow-passthrough on).
func kittyWrap(seq string, tmux bool) string {
	if tmux {
		return media.TmuxPassthrough(seq)
	}
	return seq
}

// kittyViewMsg is the full-window image prepared for kitty: sent under
// its own id, placed at cols×rows cells.
type kittyViewMsg struct {
	url        string
	id         uint32
	cols, rows int
	seq        string
}

// kittyView prepares the full-window image of u: the area stays blank
// until the terminal has it, then shows placeholder cells.
func (m *Model) kittyView(u string, f *fileState) tea.Cmd {
	x := 0
	if rw := m.sidebarWidth(); rw > 0 {
		x = rw + 1
	}
	w, h := m.width-x, m.mainHeight()-2
	if w <= 0 || h <= 0 {
		return nil
	}
	id, img, tmux := m.media.newKittyID(), f.img, m.media.tmux
	return func() tea.Msg {
		cols, rows := media.KittyCells(img, w, h)
		return kittyViewMsg{url: u, id: id, cols: cols, rows: rows, seq: kittyWrap(media.KittyTransmit(id, img, cols, rows), tmux)}
	}
}

func (m *Model) onKittyView(msg kittyViewMsg) tea.Cmd {
	if m.media.view != msg.url {
		return nil // closed meanwhile: nothing was sent
	}
	if old := m.media.kittyView.id; old != 0 {
		m.media.kittyGone = append(m.media.kittyGone, old)
	}
	m.media.kittyView = msg
	m.media.kittyLive[msg.id] = true
	seq := m.media.kittyFlush() + msg.seq
	m.media.kittyView.seq = ""
	return tea.Raw(seq)
}

// closeKittyView deletes the full-window image from the terminal.
func (m *Model) closeKittyView() tea.Cmd {
	if id := m.media.kittyView.id; id != 0 {
		m.media.kittyGone = append(m.media.kittyGone, id)
	}
	m.media.kittyView = kittyViewMsg{}
	if len(m.media.kittyGone) == 0 {
		return nil
	}
	return tea.Raw(m.media.kittyFlush())
}

// KittyCleanup returns the sequences that delete every image this run
// sent to the terminal (kitty keeps them until its quota runs out);
// write them to the terminal once the program has ended.
func (m *Model) KittyCleanup() string {
	mu := &m.media
	for id := range mu.kittyLive {
		mu.kittyGone = append(mu.kittyGone, id)
	}
	slices.Sort(mu.kittyGone)
	return mu.kittyFlush()
}

// kittyLine reports whether a pane line holds kitty placeholder cells or
// the reserved cells of an overlay thumbnail, which must keep their
// colours.
func kittyLine(line string) bool {
	return strings.ContainsRune(line, media.KittyPlaceholderRune) || overlayLine(line)
}
