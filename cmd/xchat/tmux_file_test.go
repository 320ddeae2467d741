package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"image"
	"image/color"
	"image/png"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"xchat/internal/demo"
	"xchat/internal/testserver"
	"xchat/internal/tmuxtest"
	"xchat/session"
	"xchat/store"
)

// writePNG writes a w×h picture, green above and magenta below.
func writePNG(t *testing.T, path string, w, h int) {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := color.RGBA{20, 200, 20, 255}
			if y >= h/2 {
				c = color.RGBA{200, 20, 200, 255}
			}
			img.SetRGBA(x, y, c)
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

// halfBlockRows counts the screen rows that hold a run of n or more '▀'.
func halfBlockRows(screen string, n int) int {
	rows := 0
	for _, l := range strings.Split(screen, "\n") {
		if strings.Contains(l, strings.Repeat("▀", n)) {
			rows++
		}
	}
	return rows
}

func TestTUIPhotoThumbnail(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t, testserver.Options{})
	users := srv.Users(t, 3)
	alice, bob, eve := users[0], users[1], users[2]
	befriend(t, srv, alice, bob, "")

	ha := newHome(t, srv, alice, "")
	sa := startTUI(t, ha, tmuxtest.Options{}, "XCHAT_OPEN="+bob.JID)
	sa.WaitFor("the conversation with bob", func(s string) bool { return strings.Contains(s, "│ "+bob.JID+" · ") })

	// Bob, a contact, sends a photo: it is fetched and shown at once.
	photo := filepath.Join(t.TempDir(), "sunset.png")
	writePNG(t, photo, 160, 64)
	bc := startClient(t, srv, bob, "phone", false)
	bc.waitOnline()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sent, err := bc.c.SendFile(ctx, alice.JID, photo, nil)
	if err != nil {
		t.Fatal(err)
	}
	screen := sa.WaitFor("a half-block thumbnail", func(s string) bool { return halfBlockRows(s, 30) >= 6 })
	if !strings.Contains(screen, bob.JID+":") || !strings.Contains(screen, sent.URL[:strings.Index(sent.URL, "file_share/")+11]) {
		t.Errorf("the link is not shown above the thumbnail:\n%s", tmuxtest.Frame(screen))
	}
	// Colours reach the terminal: green over magenta in 24-bit or 256.
	if esc := sa.CaptureEscapes(); !strings.Contains(esc, "▀") || !strings.Contains(esc, "\x1b[") {
		t.Errorf("no coloured half blocks:\n%q", esc)
	}
	// The cache holds it under a hashed name, private.
	cache := filepath.Join(ha.dir, "cache", "xchat", "files")
	entries, err := os.ReadDir(cache)
	if err != nil || len(entries) != 1 || len(entries[0].Name()) != 64 {
		t.Fatalf("cache %s: %v %v", cache, entries, err)
	}
	if fi, _ := os.Stat(filepath.Join(cache, entries[0].Name())); fi.Mode().Perm() != 0o600 {
		t.Errorf("cache file mode %v", fi.Mode().Perm())
	}
	if fi, _ := os.Stat(cache); fi.Mode().Perm() != 0o700 {
		t.Errorf("cache dir mode %v", fi.Mode().Perm())
	}

	// A stranger's photo is not fetched: a placeholder instead.
	ec := startClient(t, srv, eve, "x", false)
	ec.waitOnline()
	if _, err := ec.c.SendFile(ctx, alice.JID, photo, nil); err != nil {
		t.Fatal(err)
	}
	sa.SendText("/msg " + eve.JID)
	sa.SendKeys("Enter")
	screen = sa.WaitForText("🖼 sunset.png — select it: v view")
	if halfBlockRows(screen, 30) != 0 {
		t.Errorf("a stranger's image was shown:\n%s", tmuxtest.Frame(screen))
	}
	if entries, _ := os.ReadDir(cache); len(entries) != 1 {
		t.Errorf("a stranger's image was downloaded: %d cache files", len(entries))
	}
	// On demand it is: Esc selects the message, v views it full-window.
	sa.SendKeys("Escape")
	sa.WaitForText("selection: j/k move") // else Esc and v arrive as Alt+v
	sa.SendText("v")
	sa.WaitFor("the full-window view", func(s string) bool { return halfBlockRows(s, 50) >= 10 })
	sa.SendText("q")
	// Back in the pane, the downloaded image is now a thumbnail.
	sa.WaitFor("the thumbnail under eve's message", func(s string) bool {
		return !strings.Contains(s, "any key closes") && halfBlockRows(s, 30) >= 6 && halfBlockRows(s, 50) == 0
	})
}

func TestSendFileCommand(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t, testserver.Options{UploadSizeLimit: 1 << 20})
	users := srv.Users(t, 2)
	alice, bob := users[0], users[1]
	ha := newHome(t, srv, alice, "")
	bc := startClient(t, srv, bob, "b", false)
	bc.waitOnline()

	data := make([]byte, 200<<10)
	if _, err := rand.Read(data); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "report.pdf")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	r := runXchat(t, ha, "send", "--file", path, bob.JID)
	if r.code != 0 || r.stdout != "" || r.stderr != "" {
		t.Fatalf("send --file:\n%s", r)
	}
	m := bc.waitMessage(alice.JID)
	if !strings.HasPrefix(m.Body, "https://") || !strings.HasSuffix(m.Body, "/report.pdf") {
		t.Fatalf("bob got %q", m.Body)
	}
	dl, err := bc.c.FetchFile(context.Background(), m.Body, 0)
	if err != nil || !bytes.Equal(dl.Data, data) {
		t.Fatalf("download: %v (identical: %v)", err, err == nil && bytes.Equal(dl.Data, data))
	}

	// Too big: refused before anything is sent, with the limit.
	big := filepath.Join(t.TempDir(), "big.bin")
	if err := os.WriteFile(big, make([]byte, 2<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	r = runXchat(t, ha, "send", "--file", big, bob.JID)
	if r.code != 1 || r.stderr != "xchat send: file too large (2 MiB): the server accepts at most 1 MiB\n" {
		t.Errorf("over-size:\n%s", r)
	}
	r = runXchat(t, ha, "send", "--file", path)
	if r.code != 2 {
		t.Errorf("no recipient:\n%s", r)
	}
	msgs, err := bc.st.Latest(context.Background(), bob.JID, alice.JID, 10)
	if err != nil || len(msgs) != 1 || msgs[0].Direction != store.Incoming {
		t.Errorf("bob has %d messages (%v), want only the file", len(msgs), err)
	}
}

// startOMEMOClient is startClient with OMEMO on.
func startOMEMOClient(t *testing.T, srv *testserver.Server, u testserver.User, resource string) *session.Client {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "omemo.db"))
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	cfg := demo.ClientConfig(srv, u, resource)
	cfg.OMEMO = true
	c, err := session.New(cfg, st, slog.New(slog.DiscardHandler))
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = c.Run(ctx); close(done) }()
	go func() {
		for range c.Events() {
		}
	}()
	t.Cleanup(func() { cancel(); <-done; st.Close() })
	return c
}

func TestTUIEncryptedPhoto(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t, testserver.Options{})
	users := srv.Users(t, 2)
	alice, bob := users[0], users[1]
	befriend(t, srv, alice, bob, "")
	ha := newHome(t, srv, alice, "")
	sa := startTUI(t, ha, tmuxtest.Options{}, "XCHAT_OPEN="+bob.JID)

	bc := startOMEMOClient(t, srv, bob, "phone")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for { // until bob sees alice's xchat device
		st, err := bc.Encryption(ctx, alice.JID)
		if err == nil && st.Enabled && st.Devices >= 1 {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("bob never saw alice's OMEMO device: %+v %v", st, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	photo := filepath.Join(t.TempDir(), "secret.png")
	writePNG(t, photo, 120, 48)
	want, _ := os.ReadFile(photo)
	sent, err := bc.SendFile(ctx, alice.JID, photo, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !sent.Encrypted || !strings.HasPrefix(sent.URL, "aesgcm://") {
		t.Fatalf("not encrypted: %+v", sent)
	}
	sa.WaitFor("the decrypted thumbnail", func(s string) bool { return halfBlockRows(s, 30) >= 6 })
	// The cache holds the decrypted bytes, identical to bob's file.
	cache := filepath.Join(ha.dir, "cache", "xchat", "files")
	entries, err := os.ReadDir(cache)
	if err != nil || len(entries) != 1 {
		t.Fatalf("cache: %v %v", entries, err)
	}
	got, _ := os.ReadFile(filepath.Join(cache, entries[0].Name()))
	if !bytes.Equal(got, want) {
		t.Errorf("alice's xchat decrypted %d bytes, not bob's %d", len(got), len(want))
	}
}

func TestTUIUpload(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t, testserver.Options{})
	users := srv.Users(t, 2)
	alice, bob := users[0], users[1]
	befriend(t, srv, alice, bob, "")
	ha := newHome(t, srv, alice, "")
	dir := filepath.Join(ha.dir, "pictures")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	photo := filepath.Join(dir, "holiday photo.png")
	writePNG(t, photo, 100, 40)
	want, _ := os.ReadFile(photo)
	bc := startClient(t, srv, bob, "b", false)
	bc.waitOnline()
	sa := startTUI(t, ha, tmuxtest.Options{}, "XCHAT_OPEN="+bob.JID)
	sa.WaitFor("the conversation with bob", func(s string) bool { return strings.Contains(s, "│ "+bob.JID+" · ") })

	// ~ is the home; Tab completes the directory, then the file.
	sa.SendText("/upload ~/pic")
	sa.SendKeys("Tab")
	sa.WaitForText("/upload ~/pictures/")
	sa.SendText("hol")
	sa.SendKeys("Tab")
	sa.WaitForText("/upload ~/pictures/holiday photo.png")
	sa.SendKeys("Enter")
	sa.WaitForText("sent holiday photo.png (")
	m := bc.waitMessage(alice.JID)
	if !strings.HasSuffix(m.Body, "/holiday%20photo.png") {
		t.Fatalf("bob got %q", m.Body)
	}
	dl, err := bc.c.FetchFile(context.Background(), m.Body, 0)
	if err != nil || !bytes.Equal(dl.Data, want) {
		t.Fatalf("download: %v", err)
	}
	// Alice sees her own photo as a thumbnail under her message.
	sa.WaitFor("alice's own thumbnail", func(s string) bool { return halfBlockRows(s, 30) >= 6 })

	// A directory is refused before anything is sent.
	sa.SendText("/upload ~/pictures")
	sa.SendKeys("Enter")
	sa.WaitForText("not a regular file")
}
