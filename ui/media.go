package ui

import (
	"context"
	"errors"
	"fmt"
	"image"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"
	uv "github.com/charmbracelet/ultraviolet"

	"xchat/internal/sanitize"
	"xchat/media"
	"xchat/session"
	"xchat/store"
)

// Photos and files: /upload with a progress bar, links recognised in
// messages, images fetched (automatically only from roster contacts) and
// shown as thumbnails under their message, a full-window view, the
// external viewer and /save. Transfers run in tea.Cmds; Update only
// records their results.

// Media is the file transfer of an account; *session.Client satisfies it.
type Media interface {
	// SendFile uploads path and sends its link to `to` (contact, room,
	// room/nick), encrypted when the conversation is; progress is called
	// from another goroutine.
	SendFile(ctx context.Context, to, path string, progress session.FileProgress) (session.SentFile, error)
	// FetchFile downloads a link of a message (https, aesgcm), at most
	// maxSize bytes (0: the account's cap).
	FetchFile(ctx context.Context, rawURL string, maxSize int64) (*media.Downloaded, error)
}

// MediaOptions configure photos and files.
type MediaOptions struct {
	// AutoDownloadMax: images up to this size from roster contacts (and
	// our own) are fetched when shown; 0 never fetches without asking.
	AutoDownloadMax int64
	// Protocol is "auto" (default), "halfblock", "kitty", "iterm2",
	// "sixel" or "none" (no thumbnails).
	Protocol string
	// Env is the environment protocol detection reads (TERM, TMUX, ...).
	Env map[string]string
	// Viewer opens a downloaded file (its path is the last argument);
	// nil uses the link opener (xdg-open).
	Viewer []string
	// DownloadDir is where /save writes; "" is $XDG_DOWNLOAD_DIR or
	// ~/Downloads.
	DownloadDir string
	// HTTPHosts are the hosts whose plain http:// links count as files
	// (the account downloads from them over http too).
	HTTPHosts []string
	// OpenDir keeps the copies of files without a cache file that are
	// handed to the viewer (a private directory: copies older than a day
	// are removed there); "" uses the system's temporary directory. This
	// run's copies are removed by RemoveTempFiles.
	OpenDir string
}

// Thumbnail size in cells.
const (
	thumbCols = 40
	thumbRows = 8
	// viewMaxPixels bounds the image kept for display; maxImagePixels
	// refuses decompression bombs before decoding.
	viewMaxPixels  = 800
	maxImagePixels = 100_000_000
	// keptImages bounds the decoded images held in memory; older ones are
	// decoded again (from the cache) when shown.
	keptImages = 32
)

type fileStatus int

const (
	fileIdle fileStatus = iota
	fileFetching
	fileReady
	fileFailed
)

// fileAction is what to do with a file once it is downloaded.
type fileAction int

const (
	actView fileAction = iota + 1
	actOpen
	actSave
)

// fileState is one link's download.
type fileState struct {
	status  fileStatus
	err     string // sanitized
	acct    int
	path    string // cache file, "" without a cache
	data    []byte // kept only when there is no cache file
	ctype   string
	size    int
	img     image.Image // decoded for display; nil for other files
	badImg  string      // why an image could not be shown (corrupt, too big)
	thumb   []string    // half-block lines at thumbW cells
	thumbW  int
	pending []fileAction
	// kitty: the terminal holds the thumbnail as this image id, placed
	// at kittyCols×kittyRows cells (0: half blocks).
	kitty                uint32
	kittyCols, kittyRows int
}

// uploadJob is the upload in progress.
type uploadJob struct {
	id          int
	path, name  string
	acct        int
	peer        string
	cancel      context.CancelFunc
	progress    chan [2]int64 // latest (sent, total); size 1
	done        chan uploadDoneMsg
	sent, total int64
	start       time.Time
}

// uploadReq is an upload that can be retried.
type uploadReq struct {
	acct       int
	peer, path string
}

type mediaUI struct {
	opts   MediaOptions
	proto  media.Protocol
	off    bool // no thumbnails
	files  map[string]*fileState
	upload *uploadJob
	retry  *uploadReq
	view   string // the URL shown full-window; "" when closed
	seq    int
	images []string // URLs with a decoded image, oldest first
	// Kitty images (media_kitty.go): ids handed out, and those to
	// delete from the terminal with the next transmission.
	kittyInline bool
	tmux        bool
	kittyNext   uint32
	kittyGone   []uint32
	kittyLive   map[uint32]bool // sent and not deleted
	kittyView   kittyViewMsg    // the full-window image, once sent
	temps       tempFiles       // copies handed to the viewer
	ov          overlayState    // iTerm2 and Sixel thumbnails (media_overlay.go)
}

type uploadProgressMsg struct {
	id          int
	sent, total int64
}

type uploadDoneMsg struct {
	id   int
	sent session.SentFile
	err  error
}

type fileFetchedMsg struct {
	url    string
	path   string
	data   []byte
	ctype  string
	size   int
	img    image.Image
	badImg string
	thumb  []string
	// kitty: the sequences that send the thumbnail to the terminal.
	kitty                string
	kittyID              uint32
	kittyCols, kittyRows int
	err                  error
}

type fileActionDoneMsg struct {
	what string
	err  error
}

// paintViewMsg draws the full-window image with a graphics protocol once
// the frame with its blank area is on the screen.
type paintViewMsg struct{ url string }

type pathsListedMsg struct {
	input string // the input when Tab was pressed
	base  string // the text before the path
	dir   string // the typed directory part, kept as typed
	names []string
}

// init applies the options (called from New).
func (mu *mediaUI) init(o MediaOptions) {
	mu.opts = o
	mu.files = map[string]*fileState{}
	configured := false
	switch p := strings.ToLower(o.Protocol); p {
	case "none":
		mu.off = true
	default:
		if proto, ok, err := media.ParseProtocol(p); ok && err == nil {
			mu.proto, configured = proto, true
		} else {
			mu.proto = media.DetectProtocol(o.Env)
		}
	}
	mu.temps.dir = o.OpenDir
	mu.tmux = o.Env["TMUX"] != ""
	// Placeholders where the terminal is known to draw them, or where
	// the user asked for kitty graphics.
	mu.kittyInline = !mu.off && mu.proto == media.Kitty && (configured || media.KittyPlaceholders(o.Env))
	mu.kittyNext = kittyFirstID()
	mu.kittyLive = map[uint32]bool{}
	mu.initOverlay()
}

// onMediaMsg handles the messages of this file; ok is false for others.
func (m *Model) onMediaMsg(msg tea.Msg) (tea.Cmd, bool) {
	switch msg := msg.(type) {
	case uploadProgressMsg:
		if j := m.media.upload; j != nil && j.id == msg.id {
			j.sent, j.total = msg.sent, msg.total
			return m.waitUpload(j), true
		}
		return nil, true
	case uploadDoneMsg:
		m.onUploadDone(msg)
		return nil, true
	case fileFetchedMsg:
		return m.onFetched(msg), true
	case fileActionDoneMsg:
		if msg.err != nil {
			m.status.Error(msg.what + ": " + sanitize.Line(msg.err.Error()))
		} else if msg.what != "" {
			m.status.Info(msg.what)
		}
		return nil, true
	case pathsListedMsg:
		m.onPathsListed(msg)
		return nil, true
	case paintViewMsg:
		return m.paintView(msg.url), true
	case kittyViewMsg:
		return m.onKittyView(msg), true
	case overlayPaintMsg:
		return m.paintOverlay(msg), true
	case uv.CellSizeEvent, uv.PixelSizeEvent:
		m.onCellSize(msg)
		return nil, true
	}
	return nil, false
}

// mediaAfter runs after Update: messages that came into the pane may have
// images to fetch.
func (m *Model) mediaAfter(msg tea.Msg) tea.Cmd {
	switch msg.(type) {
	case session.MessageEvent, convLoadedMsg, olderLoadedMsg, newerLoadedMsg, sentMsg:
		return tea.Batch(m.autoFetch(), m.overlayAfter(msg))
	}
	return m.overlayAfter(msg)
}

// autoFetch starts the downloads the shown messages allow without asking:
// images, from roster contacts or ourselves, up to AutoDownloadMax.
func (m *Model) autoFetch() tea.Cmd {
	if !m.chat.open || m.media.opts.AutoDownloadMax <= 0 || m.chat.acct < 0 || m.chat.acct >= len(m.accts) {
		return nil
	}
	a := m.accts[m.chat.acct]
	var cmds []tea.Cmd
	for i := range m.chat.items {
		it := &m.chat.items[i]
		if it.notice || it.msg.Retracted || !strings.Contains(it.msg.Body, "://") {
			continue
		}
		trusted := it.msg.Direction == store.Outgoing
		if !trusted && it.msg.Kind == store.KindChat {
			_, trusted = a.contacts[it.msg.Peer]
		}
		if !trusted && it.msg.Kind == store.KindGroupchat {
			trusted = a.rosterOccupant(it.msg)
		}
		for _, l := range m.media.links(it.msg.Body) {
			if _, known := m.media.files[l.URL]; known {
				continue
			}
			if !media.ShouldAutoDownload(l.Kind == media.KindImage, -1, trusted, m.media.opts.AutoDownloadMax) {
				continue
			}
			cmds = append(cmds, m.fetch(m.chat.acct, l.URL, m.media.opts.AutoDownloadMax))
		}
	}
	return tea.Batch(cmds...)
}

// fetch starts downloading url (once).
func (m *Model) fetch(acct int, rawURL string, limit int64) tea.Cmd {
	f := m.media.files[rawURL]
	if f == nil {
		f = &fileState{acct: acct}
		m.media.files[rawURL] = f
	}
	if f.status == fileFetching || f.status == fileReady {
		return nil
	}
	f.status, f.err = fileFetching, ""
	m.invalidateLink(rawURL)
	client, ok := m.accts[acct].client.(Media)
	if !ok {
		return func() tea.Msg {
			return fileFetchedMsg{url: rawURL, err: errors.New("this account cannot download files")}
		}
	}
	ctx := m.ctx
	var kittyID uint32
	if m.media.kittyInline {
		kittyID = m.media.newKittyID()
	}
	tmux := m.media.tmux
	return func() tea.Msg {
		d, err := client.FetchFile(ctx, rawURL, limit)
		if err != nil {
			return fileFetchedMsg{url: rawURL, err: err}
		}
		out := fileFetchedMsg{url: rawURL, path: d.Path, ctype: d.ContentType, size: len(d.Data)}
		if d.Path == "" {
			out.data = d.Data
		}
		if strings.HasPrefix(d.ContentType, "image/") || media.Classify(rawURL) == media.KindImage {
			img, _, err := media.DecodeForDisplay(d.Data, maxImagePixels, viewMaxPixels, viewMaxPixels)
			if err != nil {
				out.badImg = err.Error()
			} else {
				out.img = media.ScaleToFit(img, viewMaxPixels, viewMaxPixels)
				out.thumb = media.HalfBlock(out.img, thumbCols, thumbRows)
				if kittyID != 0 {
					out.kittyID = kittyID
					out.kittyCols, out.kittyRows = media.KittyCells(out.img, thumbCols, thumbRows)
					out.kitty = kittyWrap(media.KittyTransmit(kittyID, out.img, out.kittyCols, out.kittyRows), tmux)
				}
			}
		}
		return out
	}
}

func (m *Model) onFetched(msg fileFetchedMsg) tea.Cmd {
	f := m.media.files[msg.url]
	if f == nil {
		return nil
	}
	defer m.invalidateLink(msg.url)
	if msg.err != nil {
		asked := len(f.pending) > 0
		f.status, f.err, f.pending = fileFailed, sanitize.Line(msg.err.Error()), nil
		switch {
		case !asked && errors.Is(msg.err, media.ErrTooBig):
			f.status, f.err = fileIdle, "" // over auto_download_max: on demand only
		case asked:
			m.status.Error("download failed: " + f.err)
		}
		return nil
	}
	f.status = fileReady
	f.path, f.data, f.ctype, f.size = msg.path, msg.data, msg.ctype, msg.size
	f.img, f.badImg = msg.img, sanitize.Line(msg.badImg)
	f.thumb, f.thumbW = msg.thumb, thumbCols
	var cmds []tea.Cmd
	if msg.kitty != "" {
		f.kitty, f.kittyCols, f.kittyRows = msg.kittyID, msg.kittyCols, msg.kittyRows
		m.media.kittyLive[msg.kittyID] = true
		cmds = append(cmds, tea.Raw(m.media.kittyFlush()+msg.kitty))
	}
	if f.img != nil {
		m.keepImage(msg.url)
	}
	for _, a := range f.pending {
		cmds = append(cmds, m.doFileAction(msg.url, f, a))
	}
	f.pending = nil
	return tea.Batch(cmds...)
}

// invalidateLink makes the messages with rawURL redraw.
func (m *Model) invalidateLink(rawURL string) {
	for i := range m.chat.items {
		if strings.Contains(m.chat.items[i].msg.Body, rawURL) {
			m.chat.items[i].width = 0
		}
	}
}

// linkName is the file name a URL ends with, unescaped; "file" if none.
func linkName(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "file"
	}
	name := path.Base(u.Path)
	if n, err := url.PathUnescape(name); err == nil {
		name = n
	}
	if name == "" || name == "/" || name == "." {
		return "file"
	}
	return name
}

// attachment tells the links shown as files from links in text: images,
// encrypted files, and a body that is nothing but the link.
func attachment(l media.Link, body string) bool {
	return l.Kind == media.KindImage || l.Encrypted || strings.TrimSpace(body) == l.URL
}

// mediaLines are the rows under a message with a file: a thumbnail, or a
// line saying what the file is and how to get it.
func (p *chatPane) mediaLines(it *chatItem, indent int) []string {
	mu := p.media
	if mu == nil || it.msg.Retracted || it.notice || !strings.Contains(it.msg.Body, "://") {
		return nil
	}
	st := p.st
	avail := max(1, p.width-indent)
	var out []string
	add := func(s string) { out = append(out, fit(spaces(indent)+s, p.width)) }
	for _, l := range mu.links(it.msg.Body) {
		if !attachment(l, it.msg.Body) {
			continue
		}
		name := sanitize.Line(linkName(l.URL))
		icon := "📎"
		if l.Kind == media.KindImage {
			icon = "🖼"
		}
		f := mu.files[l.URL]
		switch {
		case f == nil || f.status == fileIdle:
			add(st.edited.Render(icon + " " + name + " — select it: v view · x open · s save"))
		case f.status == fileFetching:
			add(st.edited.Render(icon + " " + name + " — downloading…"))
		case f.status == fileFailed:
			add(st.msgError.Render("⚠ " + name + ": " + f.err))
		case f.badImg != "":
			add(st.msgError.Render("⚠ " + name + ": cannot show this image: " + f.badImg))
		case f.img != nil && f.kitty != 0 && !st.mono:
			// Placeholder cells: the terminal draws the image sent in
			// onFetched; a narrow pane shows its left part.
			for _, line := range media.KittyPlaceholder(f.kitty, min(f.kittyCols, avail), f.kittyRows) {
				add(line)
			}
		case f.img != nil && mu.overlayReady() && !st.mono:
			// Reserved cells; the image is drawn over them after the
			// frame (media_overlay.go).
			out = append(out, mu.reserveLines(l.URL, f.img, indent, avail, p.width)...)
		case f.img != nil && !mu.off && !st.mono:
			cols := min(thumbCols, avail)
			if f.thumbW != cols {
				f.thumb, f.thumbW = media.HalfBlock(f.img, cols, thumbRows), cols
			}
			for _, line := range f.thumb {
				add(line)
			}
		default:
			add(st.edited.Render(icon + " " + name + " (" + media.FormatSize(int64(f.size)) + ") — select it: v view · x open · s save"))
		}
	}
	return out
}

// cmdUpload is /upload PATH; without PATH it retries the last failed one.
func (m *Model) cmdUpload(args string) tea.Cmd {
	if m.media.upload != nil {
		m.status.Error("an upload is already running (Esc cancels it)")
		return nil
	}
	if args == "" {
		r := m.media.retry
		if r == nil {
			m.status.Error("usage: /upload PATH (Tab completes file names)")
			return nil
		}
		return m.startUpload(*r)
	}
	if !m.chat.open || m.chat.acct < 0 {
		m.status.Error("open a conversation first: the file goes to it")
		return nil
	}
	return m.startUpload(uploadReq{acct: m.chat.acct, peer: m.chat.peer, path: expandHome(args)})
}

// expandHome expands a leading ~ or ~/.
func expandHome(p string) string {
	if p == "~" || strings.HasPrefix(p, "~/") {
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, p[1:])
		}
	}
	return p
}

func (m *Model) startUpload(r uploadReq) tea.Cmd {
	client, ok := m.accts[r.acct].client.(Media)
	if !ok {
		m.status.Error("this account cannot send files")
		return nil
	}
	m.media.seq++
	ctx, cancel := context.WithCancel(m.ctx)
	j := &uploadJob{
		id: m.media.seq, path: r.path, name: filepath.Base(r.path), acct: r.acct, peer: r.peer, cancel: cancel,
		progress: make(chan [2]int64, 1), done: make(chan uploadDoneMsg, 1), start: m.now(),
	}
	m.media.upload = j
	m.media.retry = nil
	m.status.Info("uploading " + sanitize.Line(j.name) + " (Esc cancels)")
	go func() {
		sent, err := client.SendFile(ctx, r.peer, r.path, func(s, t int64) {
			select { // keep only the newest figure
			case <-j.progress:
			default:
			}
			j.progress <- [2]int64{s, t}
		})
		j.done <- uploadDoneMsg{id: j.id, sent: sent, err: err}
	}()
	return m.waitUpload(j)
}

// waitUpload delivers the next progress figure or the end of the upload.
func (m *Model) waitUpload(j *uploadJob) tea.Cmd {
	return func() tea.Msg {
		select {
		case d := <-j.done:
			return d
		case p := <-j.progress:
			return uploadProgressMsg{id: j.id, sent: p[0], total: p[1]}
		}
	}
}

func (m *Model) onUploadDone(msg uploadDoneMsg) {
	j := m.media.upload
	if j == nil || j.id != msg.id {
		return
	}
	m.media.upload = nil
	j.cancel()
	name := sanitize.Line(j.name)
	var up *media.UploadError
	switch err := msg.err; {
	case err == nil:
		s := "sent " + name + " (" + media.FormatSize(msg.sent.Size) + ")"
		if msg.sent.Encrypted {
			s += ", encrypted"
		}
		if len(msg.sent.Stripped) > 0 {
			s += "; removed " + strings.Join(msg.sent.Stripped, ", ") + " metadata first"
		}
		m.status.Info(s)
	case errors.Is(err, context.Canceled):
		m.status.Info("upload of " + name + " cancelled; nothing was sent")
	case errors.As(err, &up), errors.Is(err, context.DeadlineExceeded):
		m.media.retry = &uploadReq{acct: j.acct, peer: j.peer, path: j.path}
		m.status.Error(sanitize.Line(err.Error()) + " — nothing was sent; /upload without a file retries")
	default:
		m.status.Error("cannot send " + name + ": " + sanitize.Line(err.Error()))
	}
}

// cancelUpload is Esc while an upload runs.
func (m *Model) cancelUpload() tea.Cmd {
	if j := m.media.upload; j != nil {
		j.cancel()
		m.status.Info("cancelling the upload…")
	}
	return nil
}

// mediaKey takes the keys of the full-window view and Esc during an
// upload; ok is false for keys it leaves alone.
func (m *Model) mediaKey(k tea.KeyPressMsg) (tea.Cmd, bool) {
	name := k.String()
	if m.media.view != "" && name != "ctrl+c" {
		switch name {
		case "x":
			return m.fileAction(actOpen), true
		case "s":
			return m.fileAction(actSave), true
		}
		return m.closeView(), true
	}
	if m.media.upload != nil && name == "esc" && m.scope() == scopeInput {
		return m.cancelUpload(), true
	}
	return nil, false
}

// uploadBar replaces the last row of the pane with the upload's progress:
// name, a bar, bytes, rate and time left.
func (m *Model) uploadBar(body []string, w int) []string {
	j := m.media.upload
	if j == nil || len(body) == 0 || w <= 0 {
		return body
	}
	elapsed := m.now().Sub(j.start).Seconds()
	rate := 0.0
	if elapsed > 0 {
		rate = float64(j.sent) / elapsed
	}
	eta := "–"
	if rate > 0 && j.total > j.sent {
		eta = (time.Duration(float64(j.total-j.sent)/rate) * time.Second).Round(time.Second).String()
	} else if j.total > 0 && j.sent >= j.total {
		eta = "0s"
	}
	info := fmt.Sprintf(" %s/%s %s/s ETA %s (Esc cancels)", media.FormatSize(j.sent), media.FormatSize(j.total), media.FormatSize(int64(rate)), eta)
	label := "⇧ " + sanitize.Line(j.name) + " "
	barW := max(0, w-lenCells(label)-lenCells(info)-2)
	barW = min(barW, 30)
	filled := 0
	if j.total > 0 {
		filled = int(int64(barW) * j.sent / j.total)
	}
	bar := "[" + strings.Repeat("█", filled) + strings.Repeat("░", barW-filled) + "]"
	body[len(body)-1] = fit(m.st.marker.Render(label+bar+info), w)
	return body
}

// viewSelected shows the selected message's image full-window.
func (m *Model) viewSelected() tea.Cmd { return m.fileAction(actView) }

// openSelectedFile opens the selected message's file in the viewer.
func (m *Model) openSelectedFile() tea.Cmd { return m.fileAction(actOpen) }

// saveSelected saves the selected message's file (s, and /save).
func (m *Model) saveSelected() tea.Cmd { return m.fileAction(actSave) }

// cmdSave is /save: the selected message's file, else the newest one here.
func (m *Model) cmdSave(string) tea.Cmd { return m.fileAction(actSave) }

// targetLink is the link acted on: the full-window one, else the file of
// the selected message or the nearest one above it (without a selection:
// of the newest message with a file).
func (m *Model) targetLink() (string, int, bool) {
	if m.media.view != "" {
		if f := m.media.files[m.media.view]; f != nil {
			return m.media.view, f.acct, true
		}
	}
	if !m.chat.open {
		return "", 0, false
	}
	from := len(m.chat.items) - 1
	if m.sel.active {
		from = m.selectedIndex()
	}
	for i := from; i >= 0; i-- {
		it := &m.chat.items[i]
		for _, l := range m.media.links(it.msg.Body) {
			if attachment(l, it.msg.Body) {
				return l.URL, m.chat.acct, true
			}
		}
	}
	return "", 0, false
}

// fileAction views, opens or saves the target file, downloading it first
// if needed (on demand: strangers' files too, within the size cap).
func (m *Model) fileAction(a fileAction) tea.Cmd {
	u, acct, ok := m.targetLink()
	if !ok {
		m.status.Info("no file here")
		return nil
	}
	f := m.media.files[u]
	if f != nil && f.status == fileReady {
		return m.doFileAction(u, f, a)
	}
	cmd := m.fetch(acct, u, 0)
	f = m.media.files[u]
	f.pending = append(f.pending, a)
	m.status.Info("downloading " + sanitize.Line(linkName(u)) + "…")
	return cmd
}

func (m *Model) doFileAction(u string, f *fileState, a fileAction) tea.Cmd {
	name := linkName(u)
	switch a {
	case actView:
		if f.img == nil {
			if f.badImg != "" {
				m.status.Error("cannot show " + sanitize.Line(name) + ": " + f.badImg)
				return nil
			}
			return m.doFileAction(u, f, actOpen)
		}
		m.media.view = u
		m.status.Info(sanitize.Line(name) + " — x open · s save · any other key closes")
		if m.media.kittyInline {
			return m.kittyView(u, f)
		}
		if m.media.graphics() {
			return m.after(paintDelay, paintViewMsg{url: u})
		}
		return nil
	case actOpen:
		if !viewable(f.ctype) {
			m.status.Error(sanitize.Line(name) + " is " + sanitize.Line(f.ctype) + ", which xchat does not hand to a viewer: s saves it")
			return nil
		}
		argv := m.media.opts.Viewer
		if len(argv) == 0 {
			argv = m.opener
		}
		if len(argv) == 0 {
			m.status.Error("no viewer is configured")
			return nil
		}
		p, data := f.path, f.data
		temps := &m.media.temps
		return func() tea.Msg {
			if p == "" {
				tmp, err := temps.write(name, data)
				if err != nil {
					return fileActionDoneMsg{what: "open " + sanitize.Line(name), err: err}
				}
				p = tmp
			}
			ctx, cancel := context.WithTimeout(context.Background(), openTimeout)
			defer cancel()
			c := exec.CommandContext(ctx, argv[0], append(argv[1:len(argv):len(argv)], p)...)
			if err := c.Run(); err != nil {
				return fileActionDoneMsg{what: "open " + sanitize.Line(name), err: err}
			}
			return fileActionDoneMsg{}
		}
	case actSave:
		dir := m.downloadDir()
		p, data := f.path, f.data
		return func() tea.Msg {
			if p != "" {
				var err error
				if data, err = os.ReadFile(p); err != nil {
					return fileActionDoneMsg{what: "save", err: err}
				}
			}
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return fileActionDoneMsg{what: "save", err: err}
			}
			saved, err := media.SaveUnique(dir, media.SafeFilename(name), data)
			if err != nil {
				return fileActionDoneMsg{what: "save", err: err}
			}
			return fileActionDoneMsg{what: "saved " + sanitize.Line(saved)}
		}
	}
	return nil
}

// downloadDir is where /save writes.
func (m *Model) downloadDir() string {
	if d := m.media.opts.DownloadDir; d != "" {
		return d
	}
	if d := os.Getenv("XDG_DOWNLOAD_DIR"); filepath.IsAbs(d) {
		return d
	}
	home, err := os.UserHomeDir()
	if err != nil {
		home = "."
	}
	return filepath.Join(home, "Downloads")
}

// mediaView is the full-window image.
func (m *Model) mediaView(w, h int) []string {
	f := m.media.files[m.media.view]
	out := make([]string, 0, h)
	if f == nil || f.img == nil || h < 2 {
		for len(out) < h {
			out = append(out, spaces(w))
		}
		return out
	}
	out = append(out, fit(m.st.edited.Render(sanitize.Line(linkName(m.media.view))+" — x open · s save · any key closes"), w))
	if v := m.media.kittyView; m.media.kittyInline && v.url == m.media.view && v.id != 0 {
		for _, l := range media.KittyPlaceholder(v.id, min(v.cols, w), min(v.rows, h-1)) {
			out = append(out, fit(l, w))
		}
	} else if !m.media.graphics() {
		for _, l := range media.HalfBlock(f.img, w, h-1) {
			out = append(out, fit(l, w))
		}
	}
	for len(out) < h {
		out = append(out, spaces(w))
	}
	return out
}

// completePath completes the PATH of /upload from the file system, in a
// Cmd; ok is false when the word is not such a path.
func (m *Model) completePath(base, word string) (tea.Cmd, bool) {
	if strings.ToLower(strings.TrimSpace(base)) != "/upload" {
		return nil, false
	}
	input := m.input.Value()
	dir, prefix := filepath.Split(word)
	return func() tea.Msg {
		real := expandHome(dir)
		if real == "" {
			real = "."
		}
		entries, err := os.ReadDir(real)
		if err != nil {
			return pathsListedMsg{input: input, base: base, dir: dir}
		}
		var names []string
		for _, e := range entries {
			n := e.Name()
			if !strings.HasPrefix(n, prefix) || strings.HasPrefix(n, ".") && !strings.HasPrefix(prefix, ".") ||
				sanitize.Line(n) != n { // control characters would act in the input
				continue
			}
			if e.IsDir() {
				n += "/"
			} else if e.Type()&os.ModeSymlink != 0 {
				if fi, err := os.Stat(filepath.Join(real, n)); err == nil && fi.IsDir() {
					n += "/"
				}
			}
			names = append(names, n)
		}
		return pathsListedMsg{input: input, base: base, dir: dir, names: names}
	}, true
}

func (m *Model) onPathsListed(msg pathsListedMsg) {
	if m.input.Value() != msg.input {
		return // typed on meanwhile
	}
	switch len(msg.names) {
	case 0:
		m.status.Info("no file matches")
		return
	case 1:
		m.input.SetValue(msg.base + msg.dir + msg.names[0])
		return
	}
	common := msg.names[0]
	for _, n := range msg.names[1:] {
		for !strings.HasPrefix(n, common) {
			common = common[:len(common)-1]
		}
	}
	m.input.SetValue(msg.base + msg.dir + common)
	shown := msg.names
	if len(shown) > 20 {
		shown = append(shown[:20:20], "…")
	}
	m.status.Info(sanitize.Line(strings.Join(shown, "  ")))
}

// paintDelay lets the frame with the view's blank area reach the terminal
// before the image is drawn over it.
const paintDelay = 60 * time.Millisecond

// graphics reports whether images are drawn with a terminal graphics
// protocol (kitty, iTerm2, Sixel) rather than half blocks. Kitty images
// are placeholder text (media_kitty.go); iTerm2 and Sixel thumbnails are
// painted over reserved cells (media_overlay.go), the full-window image
// over the view's blank area.
func (mu *mediaUI) graphics() bool { return !mu.off && mu.proto != media.HalfBlocks }

// paintView draws the full-window image into the blank area under the
// view's header: cursor saved, moved there, image, cursor restored.
func (m *Model) paintView(u string) tea.Cmd {
	f := m.media.files[u]
	if m.media.view != u || f == nil || f.img == nil {
		return nil
	}
	x := 0
	if rw := m.sidebarWidth(); rw > 0 {
		x = rw + 1
	}
	w, h := m.width-x, m.mainHeight()-2
	if w <= 0 || h <= 0 {
		return nil
	}
	var seq string
	switch m.media.proto {
	case media.Kitty:
		seq = media.KittyImage(f.img, w, h)
	case media.ITerm2:
		seq = media.ITerm2Image(f.img, w, h)
	case media.Sixel:
		seq = media.SixelImage(f.img, w, h)
	default:
		return nil
	}
	return tea.Raw(fmt.Sprintf("\x1b7\x1b[%d;%dH%s\x1b8", 3, x+1, seq))
}

// closeView leaves the full-window view; a graphics-protocol image is
// removed (kitty: delete the placements; others: a full redraw).
func (m *Model) closeView() tea.Cmd {
	m.media.view = ""
	if m.media.kittyInline {
		return m.closeKittyView()
	}
	if !m.media.graphics() {
		return nil
	}
	if m.media.proto == media.Kitty {
		return tea.Sequence(tea.Raw("\x1b_Ga=d,q=2\x1b\\"), tea.ClearScreen)
	}
	return tea.ClearScreen
}

// keepImage records a decoded image and forgets the oldest beyond
// keptImages that no loaded message shows: such a file is fetched again
// (from the cache) when its conversation is shown.
func (m *Model) keepImage(u string) {
	mu := &m.media
	mu.images = append(mu.images, u)
	for i := 0; len(mu.images) > keptImages && i < len(mu.images); {
		old := mu.images[i]
		if old == mu.view || m.onPane(old) {
			i++
			continue
		}
		mu.images = append(mu.images[:i], mu.images[i+1:]...)
		if f := mu.files[old]; f != nil && f.kitty != 0 {
			mu.kittyGone = append(mu.kittyGone, f.kitty)
		}
		delete(mu.files, old)
	}
}

// onPane reports whether a loaded message has the link.
func (m *Model) onPane(u string) bool {
	for i := range m.chat.items {
		if strings.Contains(m.chat.items[i].msg.Body, u) {
			return true
		}
	}
	return false
}

// hideFileKeys shortens the fragment of aesgcm:// links (the file's key)
// in displayed text: the key has no business on the screen or in the
// clipboard; the message keeps it.
func hideFileKeys(body string) string {
	if !strings.Contains(body, "aesgcm://") {
		return body
	}
	for _, u := range media.FindURLs(body) {
		if i := strings.IndexByte(u, '#'); i > 0 && strings.HasPrefix(strings.ToLower(u), "aesgcm://") {
			body = strings.ReplaceAll(body, u, u[:i]+"#…")
		}
	}
	return body
}

// viewable reports whether a file of type ctype (sniffed from its bytes)
// may go to the external viewer: media and documents, never something a
// desktop could run (scripts, .desktop files, executables).
func viewable(ctype string) bool {
	t, _, _ := strings.Cut(ctype, ";")
	switch {
	case strings.HasPrefix(t, "image/"), strings.HasPrefix(t, "video/"), strings.HasPrefix(t, "audio/"):
		return true
	}
	return t == "text/plain" || t == "application/pdf"
}

// links are the file links of a body: https:// and aesgcm:// ones, and
// http:// ones to the hosts configured for plain http.
func (mu *mediaUI) links(body string) []media.Link {
	out := media.MessageLinks(body, nil)
	if len(mu.opts.HTTPHosts) == 0 || !strings.Contains(body, "http://") {
		return out
	}
	for _, w := range strings.Fields(body) {
		if !strings.HasPrefix(w, "http://") {
			continue
		}
		w = strings.TrimRight(w, ".,;:!?)]}>\"'")
		u, err := url.Parse(w)
		if err != nil || !slices.Contains(mu.opts.HTTPHosts, strings.ToLower(u.Hostname())) {
			continue
		}
		out = append(out, media.Link{URL: w, Kind: media.Classify(w)})
	}
	return out
}
