package ui

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"xchat/media"
	"xchat/session"
	"xchat/store"
)

// mediaScene opens a conversation with alice (a contact) on an 80x24 screen.
func mediaScene(t *testing.T, opts MediaOptions) (*harness, *fakeAccount, *fakeStore) {
	t.Helper()
	st := newFakeStore()
	st.contacts[me] = []store.Contact{{Account: me, JID: alice, Name: "Alice", Subscription: "both"}}
	acc := newFakeAccount(me)
	hopts := Options{Store: st, Now: func() time.Time { return testNow }, Location: time.UTC, Accounts: []Account{acc}, Media: opts}
	h := newHarnessOpts(t, hopts, st, []*fakeAccount{acc})
	h.send(session.StateEvent{Account: me, State: session.Online})
	h.typeText("/msg " + alice)
	h.press("enter")
	return h, acc, st
}

// testPNG is an 80x16 image: red on top, blue below.
func testPNG(t *testing.T) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 80, 16))
	for y := 0; y < 16; y++ {
		for x := 0; x < 80; x++ {
			c := color.RGBA{200, 0, 0, 255}
			if y >= 8 {
				c = color.RGBA{0, 0, 200, 255}
			}
			img.SetRGBA(x, y, c)
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestUploadProgressAndResult(t *testing.T) {
	h, acc, _ := mediaScene(t, MediaOptions{})
	h.typeText("/upload /tmp/cat.jpg")
	h.press("enter")
	if got := acc.Calls(); got[len(got)-1].String() != "SendMessage(alice@example.org, https://upload.example.org/f//tmp/cat.jpg)" {
		t.Fatalf("calls %v", got)
	}
	var sendFile bool
	for _, c := range acc.Calls() {
		sendFile = sendFile || c.String() == "SendFile(alice@example.org, /tmp/cat.jpg)"
	}
	if !sendFile {
		t.Fatalf("no SendFile call: %v", acc.Calls())
	}
	if s := h.m.status.text; !strings.Contains(s, "sent cat.jpg (3.9 KiB)") {
		t.Errorf("no success line:\n%s", s)
	}
	if h.m.media.upload != nil {
		t.Error("the upload is still shown as running")
	}
}

// stepUpload runs the command of an upload one message at a time, so that
// keys can come in between.
func stepUpload(h *harness, cmd tea.Cmd) tea.Cmd {
	h.t.Helper()
	for cmd != nil {
		msg := cmd()
		if b, ok := msg.(tea.BatchMsg); ok {
			var next tea.Cmd
			for _, c := range b {
				if c == nil {
					continue
				}
				m := c()
				if _, ok := m.(uploadProgressMsg); ok {
					return h.update(m)
				}
				if m != nil {
					next = h.update(m)
				}
			}
			cmd = next
			continue
		}
		return h.update(msg)
	}
	return nil
}

func TestUploadProgressBarAndCancel(t *testing.T) {
	h, acc, _ := mediaScene(t, MediaOptions{})
	clock := testNow
	h.m.now = func() time.Time { return clock }
	started := make(chan struct{})
	mediaOf(acc).send = func(ctx context.Context, to, path string, progress session.FileProgress) (session.SentFile, error) {
		progress(0, 4<<20)
		<-started
		progress(1<<20, 4<<20)
		<-ctx.Done()
		return session.SentFile{}, ctx.Err()
	}
	h.typeText("/upload ~/big.bin")
	cmd := h.update(keyMsg("enter"))
	cmd = stepUpload(h, cmd) // 0 of 4 MiB
	home, _ := os.UserHomeDir()
	if c := acc.Calls(); len(c) == 0 || c[len(c)-1].String() != "SendFile(alice@example.org, "+filepath.Join(home, "big.bin")+")" {
		t.Fatalf("~ not expanded: %v", c)
	}
	close(started)
	clock = clock.Add(2 * time.Second)
	cmd = stepUpload(h, cmd) // 1 MiB after 2 s
	screen := h.screen()
	if !strings.Contains(screen, "⇧ big.bin [") || !strings.Contains(screen, "1 MiB/4 MiB 512 KiB/s ETA 6s (Esc cancels)") {
		t.Fatalf("no progress bar:\n%s", screen)
	}
	checkFrame(t, screen, 80, 24)
	h.press("esc")
	if h.m.sel.active {
		t.Error("Esc selected messages instead of cancelling")
	}
	stepUpload(h, cmd)
	if s := h.m.status.text; !strings.Contains(s, "upload of big.bin cancelled; nothing was sent") || strings.Contains(h.screen(), "⇧ big.bin") {
		t.Errorf("after cancel:\n%s", s)
	}
	for _, c := range acc.Calls() {
		if c.method == "SendMessage" {
			t.Errorf("a message was sent: %v", c)
		}
	}
}

func TestUploadFailureOffersRetry(t *testing.T) {
	h, acc, _ := mediaScene(t, MediaOptions{})
	fail := true
	mediaOf(acc).send = func(ctx context.Context, to, path string, progress session.FileProgress) (session.SentFile, error) {
		if fail {
			fail = false
			return session.SentFile{}, &media.UploadError{Status: "503 Service Unavailable", StatusCode: 503}
		}
		return session.SentFile{URL: "https://u.example/x", Size: 10}, nil
	}
	h.typeText("/upload /tmp/a.txt")
	h.press("enter")
	if s := h.m.status.text; !strings.Contains(s, "upload failed: HTTP 503 Service Unavailable — nothing was sent; /upload without a file retries") {
		t.Fatalf("no retry offer:\n%s", s)
	}
	h.typeText("/upload")
	h.press("enter")
	var n int
	for _, c := range acc.Calls() {
		if c.String() == "SendFile(alice@example.org, /tmp/a.txt)" {
			n++
		}
	}
	if n != 2 {
		t.Errorf("%d uploads of the file, want the retry", n)
	}
	if s := h.m.status.text; !strings.Contains(s, "sent a.txt (10 B)") {
		t.Errorf("retry did not succeed:\n%s", s)
	}

	// Errors found before any traffic are shown as they are, without retry.
	mediaOf(acc).send = func(context.Context, string, string, session.FileProgress) (session.SentFile, error) {
		return session.SentFile{}, media.ErrNoUploadService
	}
	h.typeText("/upload /tmp/b")
	h.press("enter")
	if s := h.m.status.text; !strings.Contains(s, "cannot send b: your server does not offer file upload") {
		t.Errorf("no plain error:\n%s", s)
	}
	if h.m.media.retry != nil {
		t.Error("retry offered for a refusal")
	}
}

func TestThumbnailFromContactOnly(t *testing.T) {
	h, acc, st := mediaScene(t, MediaOptions{AutoDownloadMax: 1 << 20, Protocol: "auto"})
	const catURL = "https://files.example.org/cat.png"
	mediaOf(acc).files[catURL] = testPNG(t)
	mediaOf(acc).files["https://evil.example/x.png"] = testPNG(t)
	mediaOf(acc).files["https://files.example.org/broken.jpg"] = []byte("\xff\xd8\xff\xe0 truncated")
	msg := st.add(store.Message{Account: me, Peer: alice, Direction: store.Incoming, State: store.StateReceived,
		Body: catURL, Timestamp: testNow, Sender: alice, Kind: store.KindChat})
	h.send(session.MessageEvent{Account: me, Message: msg})

	i := h.m.chat.find(msg.ID)
	lines := h.m.chat.linesOf(i)
	golden(t, "thumbnail", strings.Join(lines, "\n")+"\n")
	var blocks int
	for _, l := range lines {
		blocks += strings.Count(ansi.Strip(l), "▀")
	}
	if blocks != 40*4 {
		t.Errorf("%d half blocks, want a 40x4-cell thumbnail", blocks)
	}
	if !strings.Contains(lines[1], "\x1b[38;2;200;0;0m") || !strings.Contains(lines[1], "48;2;200;0;0m") {
		t.Errorf("top rows are not red: %q", lines[1])
	}

	// A stranger's image is not fetched until asked for.
	other := store.Message{Account: me, Peer: "eve@evil.example", Direction: store.Incoming, State: store.StateReceived,
		Body: "https://evil.example/x.png", Timestamp: testNow, Sender: "eve@evil.example", Kind: store.KindChat}
	st.add(other)
	h.typeText("/msg eve@evil.example")
	h.press("enter")
	if f := mediaOf(acc).Fetched(); len(f) != 1 || f[0] != catURL {
		t.Fatalf("fetched %v; a stranger's image must wait", f)
	}
	if s := h.screen(); !strings.Contains(s, "🖼 x.png — select it: v view · x open · s save") {
		t.Fatalf("no placeholder:\n%s", s)
	}
	h.press("esc", "v") // select the message, view it: downloads on demand
	if f := mediaOf(acc).Fetched(); len(f) != 2 {
		t.Fatalf("fetched %v after v", f)
	}
	if s := h.screen(); strings.Count(s, "▀") < 59*5 || !strings.Contains(s, "x.png — x open · s save · any key closes") {
		t.Fatalf("no full-window view:\n%s", s)
	}
	h.press("q")
	if h.m.media.view != "" {
		t.Error("the view did not close")
	}

	// A corrupt image gets an error mark.
	bad := st.add(store.Message{Account: me, Peer: "eve@evil.example", Direction: store.Incoming, State: store.StateReceived,
		Body: "https://files.example.org/broken.jpg", Timestamp: testNow, Sender: "eve@evil.example", Kind: store.KindChat})
	h.press("esc")
	h.send(session.MessageEvent{Account: me, Message: bad})
	h.press("esc", "v")
	if s := h.screen(); !strings.Contains(s, "⚠ broken.jpg: cannot show this image") {
		t.Errorf("no error mark for a corrupt image:\n%s", s)
	}
}

func TestSaveUsesSafeName(t *testing.T) {
	dir := t.TempDir()
	h, acc, st := mediaScene(t, MediaOptions{DownloadDir: dir})
	const u = "https://files.example.org/..%2F..%2F.bashrc"
	mediaOf(acc).files[u] = []byte("data")
	msg := st.add(store.Message{Account: me, Peer: alice, Direction: store.Incoming, State: store.StateReceived,
		Body: u, Timestamp: testNow, Sender: alice, Kind: store.KindChat})
	h.send(session.MessageEvent{Account: me, Message: msg})
	h.typeText("/save")
	h.press("enter")
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || strings.HasPrefix(entries[0].Name(), ".") {
		t.Fatalf("saved %v", entries)
	}
	data, _ := os.ReadFile(filepath.Join(dir, entries[0].Name()))
	if string(data) != "data" {
		t.Errorf("saved %q", data)
	}
	if s := h.m.status.text; !strings.Contains(s, "saved "+dir) {
		t.Errorf("no confirmation:\n%s", s)
	}
}

func TestUploadPathCompletion(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"photo1.jpg", "photo2.jpg", "notes.txt", ".hidden"} {
		if err := os.WriteFile(filepath.Join(dir, n), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "pics"), 0o700); err != nil {
		t.Fatal(err)
	}
	h, _, _ := mediaScene(t, MediaOptions{})
	h.typeText("/upload " + dir + "/ph")
	h.press("tab")
	if got := h.m.input.Value(); got != "/upload "+dir+"/photo" {
		t.Fatalf("common prefix: %q", got)
	}
	if s := h.m.status.text; !strings.Contains(s, "photo1.jpg  photo2.jpg") {
		t.Errorf("candidates not listed:\n%s", s)
	}
	h.typeText("2")
	h.press("tab")
	if got := h.m.input.Value(); got != "/upload "+dir+"/photo2.jpg" {
		t.Fatalf("completed %q", got)
	}
	h.m.input.SetValue("/upload " + dir + "/pi")
	h.press("tab")
	if got := h.m.input.Value(); got != "/upload "+dir+"/pics/" {
		t.Fatalf("directory: %q", got)
	}
}

func TestFullViewWithITerm2Graphics(t *testing.T) {
	h, acc, st := mediaScene(t, MediaOptions{AutoDownloadMax: 1 << 20, Protocol: "iterm2"})
	const u = "https://files.example.org/cat.png"
	mediaOf(acc).files[u] = testPNG(t)
	msg := st.add(store.Message{Account: me, Peer: alice, Direction: store.Incoming, State: store.StateReceived,
		Body: u, Timestamp: testNow, Sender: alice, Kind: store.KindChat})
	h.send(session.MessageEvent{Account: me, Message: msg})
	// Inline, the thumbnail is blank reserved cells with the image drawn
	// over them (media_overlay_test.go).
	if s := h.screen(); strings.Contains(s, "▀") || len(h.m.media.ov.want) != 1 {
		t.Fatalf("no reserved thumbnail (%v):\n%s", h.m.media.ov.want, s)
	}
	h.timers = nil
	h.press("esc", "v")
	if s := h.screen(); strings.Contains(s, "▀") || !strings.Contains(s, "cat.png — x open · s save · any key closes") {
		t.Fatalf("the view should leave the image area blank for iTerm2:\n%s", s)
	}
	if len(h.timers) != 1 {
		t.Fatalf("timers %v, want the paint", h.timers)
	}
	raw, ok := h.update(h.timers[0])().(tea.RawMsg)
	if !ok {
		t.Fatal("no raw graphics output")
	}
	seq := raw.Msg.(string)
	// Cursor saved, moved under the header right of the roster, image, restored.
	if !strings.HasPrefix(seq, "\x1b7\x1b[3;22H\x1b]1337;File=inline=1") || !strings.HasSuffix(seq, "\x1b8") {
		t.Errorf("sequence %.60q…", seq)
	}
	cmd := h.update(keyMsg("q"))
	if h.m.media.view != "" || cmd == nil {
		t.Error("closing the view neither closed it nor cleared the image")
	}
}

func TestDecodedImagesAreBounded(t *testing.T) {
	h, acc, st := mediaScene(t, MediaOptions{AutoDownloadMax: 1 << 20})
	png := testPNG(t)
	for i := range keptImages + 5 {
		u := "https://files.example.org/" + strings.Repeat("x", i+1) + ".png"
		mediaOf(acc).files[u] = png
		peer := alice
		if i < 10 {
			peer = bob // not on the pane once alice's chat is open
		}
		st.add(store.Message{Account: me, Peer: peer, Direction: store.Outgoing, State: store.StateSent, Body: u, Timestamp: testNow, Sender: me, Kind: store.KindChat})
	}
	h.typeText("/msg " + bob)
	h.press("enter")
	h.typeText("/msg " + alice)
	h.press("enter")
	if n := len(h.m.media.images); n != keptImages {
		t.Errorf("%d decoded images kept, want %d", n, keptImages)
	}
	// What alice's pane shows is all kept.
	for _, it := range h.m.chat.items {
		if f := h.m.media.files[it.msg.Body]; f == nil || f.img == nil {
			t.Errorf("%s on the pane lost its image", it.msg.Body)
		}
	}
}

func TestBigImageWaitsForDemand(t *testing.T) {
	h, acc, st := mediaScene(t, MediaOptions{AutoDownloadMax: 100})
	const u = "https://files.example.org/big.png"
	mediaOf(acc).files[u] = testPNG(t) // more than 100 bytes
	msg := st.add(store.Message{Account: me, Peer: alice, Direction: store.Incoming, State: store.StateReceived,
		Body: u, Timestamp: testNow, Sender: alice, Kind: store.KindChat})
	h.send(session.MessageEvent{Account: me, Message: msg})
	if s := h.screen(); !strings.Contains(s, "🖼 big.png — select it: v view") || h.m.status.isErr {
		t.Fatalf("an image over auto_download_max should wait quietly:\n%s", s)
	}
	h.press("esc", "v")
	if f := h.m.media.files[u]; f == nil || f.img == nil || h.m.media.view != u {
		t.Fatal("v did not fetch and show it")
	}
}

func TestFileKeyNotShown(t *testing.T) {
	h, acc, st := mediaScene(t, MediaOptions{AutoDownloadMax: 1 << 20})
	const u = "aesgcm://files.example.org/a/cat.png#000102030405060708090a0b" + "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20"
	mediaOf(acc).files[u] = testPNG(t)
	msg := st.add(store.Message{Account: me, Peer: alice, Direction: store.Incoming, State: store.StateReceived,
		Body: u, Timestamp: testNow, Sender: alice, Kind: store.KindChat, Encryption: "omemo"})
	h.send(session.MessageEvent{Account: me, Message: msg})
	s := h.screen()
	if strings.Contains(s, "0a0b0c") || !strings.Contains(s, "aesgcm://files.example.org/a/cat.png#…") {
		t.Errorf("the key shows:\n%s", s)
	}
	if f := mediaOf(acc).Fetched(); len(f) != 1 || f[0] != u {
		t.Errorf("fetched %v, want the whole aesgcm URL", f)
	}
	if !strings.Contains(s, strings.Repeat("▀", 40)) {
		t.Errorf("no thumbnail of the encrypted image:\n%s", s)
	}
}

func TestViewerGetsOnlyMediaAndDocuments(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "opened")
	viewer := []string{"sh", "-c", `printf '%s\n' "$0" >> ` + log}
	h, acc, st := mediaScene(t, MediaOptions{Viewer: viewer, OpenDir: filepath.Join(dir, "open")})
	for _, f := range []struct{ url, data string }{
		{"https://f.example/run.desktop", "[Desktop Entry]\nExec=rm -rf ~\n\x00"},
		{"https://f.example/doc.pdf", "%PDF-1.4 hello"},
	} {
		mediaOf(acc).files[f.url] = []byte(f.data)
		msg := st.add(store.Message{Account: me, Peer: alice, Direction: store.Incoming, State: store.StateReceived,
			Body: f.url, Timestamp: testNow, Sender: alice, Kind: store.KindChat})
		h.send(session.MessageEvent{Account: me, Message: msg})
	}
	h.press("esc", "k", "x") // the .desktop file
	if !h.m.status.isErr || !strings.Contains(h.m.status.text, "run.desktop is application/octet-stream, which xchat does not hand to a viewer") {
		t.Errorf("status %q", h.m.status.text)
	}
	h.press("j", "x") // the PDF
	out, _ := os.ReadFile(log)
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 1 || !strings.HasSuffix(lines[0], "doc.pdf") {
		t.Errorf("viewer ran for %q", lines)
	}
}

func TestHTTPLinksOnlyForConfiguredHosts(t *testing.T) {
	h, acc, st := mediaScene(t, MediaOptions{AutoDownloadMax: 1 << 20, HTTPHosts: []string{"lan.example"}})
	mediaOf(acc).files["http://lan.example:8080/a.png"] = testPNG(t)
	for _, u := range []string{"http://lan.example:8080/a.png", "http://other.example/b.png"} {
		msg := st.add(store.Message{Account: me, Peer: alice, Direction: store.Incoming, State: store.StateReceived,
			Body: u, Timestamp: testNow, Sender: alice, Kind: store.KindChat})
		h.send(session.MessageEvent{Account: me, Message: msg})
	}
	if f := mediaOf(acc).Fetched(); len(f) != 1 || f[0] != "http://lan.example:8080/a.png" {
		t.Errorf("fetched %v", f)
	}
	if s := h.screen(); strings.Contains(s, "b.png —") || !strings.Contains(s, strings.Repeat("▀", 40)) {
		t.Errorf("screen:\n%s", s)
	}
}
