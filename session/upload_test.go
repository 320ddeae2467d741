package session_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"image"
	"image/jpeg"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"xchat/internal/testserver"
	"xchat/internal/xmpptest"
	"xchat/media"
	"xchat/session"
	"xchat/store"
)

// syncBuffer collects a stream trace from the client's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func randomFile(t *testing.T, name string, n int) (string, []byte) {
	t.Helper()
	data := make([]byte, n)
	if _, err := rand.Read(data); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p, data
}

// waitBody waits for an incoming message from peer whose body passes ok.
func waitBody(a *account, from string, ok func(string) bool) store.Message {
	a.t.Helper()
	return a.waitFor("file message", 20*time.Second, func(ev session.Event) bool {
		e, is := ev.(session.MessageEvent)
		return is && e.Message.Direction == store.Incoming && e.Message.Peer == from && ok(e.Message.Body)
	}).(session.MessageEvent).Message
}

func TestSendFilePlain(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	users := srv.Users(t, 2)
	alice, bob := users[0], users[1]
	ctx := context.Background()
	a := start(t, config(srv, alice, "a"), "")
	bcfg := config(srv, bob, "b")
	trace := &syncBuffer{}
	bcfg.TraceIn = trace
	b := start(t, bcfg, "")
	a.waitOnline()
	b.waitOnline()

	svc, err := a.c.UploadService(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if svc.JID != srv.UploadDomain || svc.MaxSize != testserver.DefaultUploadSizeLimit {
		t.Fatalf("upload service %+v, want %s with limit %d", svc, srv.UploadDomain, testserver.DefaultUploadSizeLimit)
	}

	path, data := randomFile(t, "notes.bin", 300<<10)
	var calls, last, total int64
	sent, err := a.c.SendFile(ctx, bob.JID, path, func(s, tot int64) { calls++; last, total = s, tot })
	if err != nil {
		t.Fatal(err)
	}
	if sent.Encrypted || !strings.HasPrefix(sent.URL, "https://") || sent.Message.Body != sent.URL {
		t.Fatalf("sent %+v", sent)
	}
	if calls < 2 || last != int64(len(data)) || total != int64(len(data)) {
		t.Errorf("progress: %d calls, last %d of %d; want the whole %d", calls, last, total, len(data))
	}
	got := waitBody(b, alice.JID, func(s string) bool { return s == sent.URL })
	if !strings.Contains(trace.String(), "jabber:x:oob") || !strings.Contains(trace.String(), "<url>"+sent.URL+"</url>") {
		t.Error("bob received no XEP-0066 element with the URL")
	}
	links := media.MessageLinks(got.Body, nil)
	if len(links) != 1 || links[0].URL != sent.URL {
		t.Fatalf("links in %q: %+v", got.Body, links)
	}
	dl, err := b.c.FetchFile(ctx, links[0].URL, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(dl.Data, data) {
		t.Fatalf("downloaded %d bytes differ from the %d uploaded", len(dl.Data), len(data))
	}

	// A photo: its XMP (with a GPS position) is removed before upload.
	var img bytes.Buffer
	if err := jpeg.Encode(&img, image.NewGray(image.Rect(0, 0, 16, 16)), nil); err != nil {
		t.Fatal(err)
	}
	xmp := []byte("http://ns.adobe.com/xap/1.0/\x00<x:xmpmeta exif:GPSLatitude='48,51.4N'/>")
	seg := append([]byte{0xFF, 0xE1, byte((len(xmp) + 2) >> 8), byte(len(xmp) + 2)}, xmp...)
	jpg := slices.Concat(img.Bytes()[:2], seg, img.Bytes()[2:])
	photo := filepath.Join(t.TempDir(), "IMG_0001.jpg")
	if err := os.WriteFile(photo, jpg, 0o600); err != nil {
		t.Fatal(err)
	}
	sent, err = a.c.SendFile(ctx, bob.JID, photo, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(sent.Stripped) == 0 {
		t.Error("no metadata reported removed from a JPEG with XMP")
	}
	waitBody(b, alice.JID, func(s string) bool { return s == sent.URL })
	dl, err = b.c.FetchFile(ctx, sent.URL, 0)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(dl.Data, []byte("GPSLatitude")) || !bytes.Equal(dl.Data, img.Bytes()) {
		t.Error("the uploaded photo still has its metadata")
	}
}

func TestSendFileRefusedBeforeUpload(t *testing.T) {
	const limit = 64 << 10
	srv := testserver.Start(t, testserver.Options{UploadSizeLimit: limit})
	users := srv.Users(t, 2)
	alice, bob := users[0], users[1]
	ctx := context.Background()
	a := start(t, config(srv, alice, "a"), "")
	a.waitOnline()

	big, _ := randomFile(t, "big.bin", limit+1)
	_, err := a.c.SendFile(ctx, bob.JID, big, nil)
	var tooBig *media.TooLargeError
	if !errors.As(err, &tooBig) || tooBig.Limit != limit {
		t.Fatalf("over-size file: %v, want a TooLargeError with limit %d", err, limit)
	}
	if !strings.Contains(err.Error(), "64 KiB") {
		t.Errorf("error %q does not state the limit", err)
	}
	if _, err := a.c.SendFile(ctx, bob.JID, t.TempDir(), nil); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("directory: %v", err)
	}
	if _, err := a.c.SendFile(ctx, bob.JID, filepath.Join(t.TempDir(), "missing"), nil); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("missing file: %v", err)
	}
	if n := countMessages(t, a, bob.JID); n != 0 {
		t.Errorf("%d messages stored after refused uploads", n)
	}
}

func countMessages(t *testing.T, a *account, peer string) int {
	t.Helper()
	ms, err := a.st.Latest(context.Background(), a.c.Account(), peer, 10)
	if err != nil {
		t.Fatal(err)
	}
	return len(ms)
}

func TestSendFileWithoutUploadService(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{NoUpload: true})
	users := srv.Users(t, 2)
	alice, bob := users[0], users[1]
	ctx := context.Background()
	a := start(t, config(srv, alice, "a"), "")
	b := start(t, config(srv, bob, "b"), "")
	a.waitOnline()
	b.waitOnline()
	path, _ := randomFile(t, "a.bin", 1000)
	_, err := a.c.SendFile(ctx, bob.JID, path, nil)
	if !errors.Is(err, media.ErrNoUploadService) || err.Error() != "your server does not offer file upload" {
		t.Fatalf("SendFile without upload service: %v", err)
	}
	// Nothing half-sent: no message stored, none received.
	if _, err := a.c.SendMessage(ctx, bob.JID, "marker"); err != nil {
		t.Fatal(err)
	}
	b.waitFor("marker", 20*time.Second, func(ev session.Event) bool {
		e, ok := ev.(session.MessageEvent)
		if ok && e.Message.Body != "marker" {
			t.Errorf("bob received %q", e.Message.Body)
		}
		return ok && e.Message.Body == "marker"
	})
	if n := countMessages(t, a, bob.JID); n != 1 {
		t.Errorf("%d messages stored, want only the marker", n)
	}
}

func TestSendFileEncrypted(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	users := srv.Users(t, 2)
	alice, bob := users[0], users[1]
	ctx := context.Background()
	a := start(t, omemoConfig(srv, alice, "a"), "")
	bcfg := omemoConfig(srv, bob, "b")
	trace := &syncBuffer{}
	bcfg.TraceIn = trace
	b := start(t, bcfg, "")
	a.waitOnline()
	b.waitOnline()
	befriend(t, a, b, alice.JID, bob.JID)
	waitEncryption(t, a, bob.JID, 1)

	path, data := randomFile(t, "secret.png", 200<<10)
	sent, err := a.c.SendFile(ctx, bob.JID, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !sent.Encrypted || !strings.HasPrefix(sent.URL, "aesgcm://") || sent.Size != int64(len(data))+media.TagSize {
		t.Fatalf("sent %+v", sent)
	}
	u, err := media.ParseAESGCMURL(sent.URL)
	if err != nil || len(u.IV) != 12 {
		t.Fatalf("aesgcm URL %q: %v", sent.URL, err)
	}
	got := waitEncrypted(b, alice.JID, sent.URL)
	if got.Encryption != "omemo" {
		t.Fatal("not received encrypted")
	}
	if strings.Contains(trace.String(), "aesgcm://") || strings.Contains(trace.String(), "jabber:x:oob") {
		t.Error("the aesgcm URL or an OOB element went in clear")
	}
	// The server holds only ciphertext.
	if raw, err := media.Download(ctx, srv.HTTPClient(), u.HTTPS, media.DownloadOptions{}); err != nil || bytes.Equal(raw.Data, data) {
		t.Fatalf("server copy: err %v, plaintext %v", err, err == nil && bytes.Equal(raw.Data, data))
	}
	dl, err := b.c.FetchFile(ctx, got.Body, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(dl.Data, data) {
		t.Fatal("decrypted download differs from the original")
	}
	pythonDecrypts(t, srv, u, data)
}

// pythonDecrypts has Python's cryptography fetch the uploaded file over
// https (trusting the harness CA) and decrypt it with the URL's key.
func pythonDecrypts(t *testing.T, srv *testserver.Server, u media.AESGCMURL, want []byte) {
	t.Helper()
	const python = "/usr/bin/python3"
	if err := exec.Command(python, "-c", "from cryptography.hazmat.primitives.ciphers.aead import AESGCM").Run(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("python3-cryptography is required in CI: %v", err)
		}
		t.Skipf("python3-cryptography not available: %v", err)
	}
	script := `
import sys, ssl, hashlib, urllib.request
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
url, key, iv, ca = sys.argv[1], bytes.fromhex(sys.argv[2]), bytes.fromhex(sys.argv[3]), sys.argv[4]
data = urllib.request.urlopen(url, context=ssl.create_default_context(cafile=ca)).read()
print(hashlib.sha256(AESGCM(key).decrypt(iv, data, None)).hexdigest())
`
	out, err := exec.Command(python, "-c", script, u.HTTPS, hex.EncodeToString(u.Key[:]), hex.EncodeToString(u.IV), srv.CAFile).CombinedOutput()
	if err != nil {
		t.Fatalf("python: %v\n%s", err, out)
	}
	if sum := sha256.Sum256(want); strings.TrimSpace(string(out)) != hex.EncodeToString(sum[:]) {
		t.Fatalf("python decrypted to sha256 %s, want %x", out, sum)
	}
}

func TestSendFileToRoom(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	users := srv.Users(t, 2)
	ctx := context.Background()
	alice := start(t, config(srv, users[0], "a"), "")
	bcfg := config(srv, users[1], "b")
	trace := &syncBuffer{}
	bcfg.TraceIn = trace
	bob := start(t, bcfg, "")
	alice.waitOnline()
	bob.waitOnline()
	room, err := alice.c.CreateRoom(ctx, session.PublicChannel, "photos", nil)
	if err != nil {
		t.Fatal(err)
	}
	waitRoom(alice, room, "alice joined", joined)
	if err := bob.c.JoinRoom(ctx, room, "bobby", ""); err != nil {
		t.Fatal(err)
	}
	waitRoom(bob, room, "bob joined", joined)

	path, data := randomFile(t, "map.png", 50<<10)
	sent, err := alice.c.SendFile(ctx, room, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if sent.Message.Kind != store.KindGroupchat || sent.Encrypted {
		t.Fatalf("sent %+v", sent.Message)
	}
	got := waitGroupMessage(bob, room, strings.Split(users[0].JID, "@")[0], sent.URL)
	if !strings.Contains(trace.String(), "<url>"+sent.URL+"</url>") {
		t.Error("the room message had no OOB element")
	}
	dl, err := bob.c.FetchFile(ctx, got.Body, 0)
	if err != nil || !bytes.Equal(dl.Data, data) {
		t.Fatalf("download: %v", err)
	}
}

// In a private group with OMEMO the file is encrypted as in a 1:1 chat: the
// aesgcm:// link goes only inside the encrypted message, never in clear.
func TestSendFileToPrivateGroupEncrypted(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	users := srv.Users(t, 2)
	ctx := context.Background()
	alice := start(t, omemoConfig(srv, users[0], "a"), "")
	bcfg := omemoConfig(srv, users[1], "b")
	trace := &syncBuffer{}
	bcfg.TraceIn = trace
	bob := start(t, bcfg, "")
	alice.waitOnline()
	bob.waitOnline()
	room := privateGroup(t, "Album", alice, bob)
	waitEncryption(t, alice, room, 1)

	path, data := randomFile(t, "holiday.png", 80<<10)
	sent, err := alice.c.SendFile(ctx, room, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if sent.Message.Kind != store.KindGroupchat || !sent.Encrypted || !strings.HasPrefix(sent.URL, "aesgcm://") {
		t.Fatalf("sent %+v", sent)
	}
	got := waitGroupEncrypted(bob, room, nick(users[0]), sent.URL)
	if strings.Contains(trace.String(), "aesgcm://") || strings.Contains(trace.String(), "jabber:x:oob") {
		t.Error("the aesgcm URL or an OOB element went in clear")
	}
	dl, err := bob.c.FetchFile(ctx, got.Body, 0)
	if err != nil || !bytes.Equal(dl.Data, data) {
		t.Fatalf("decrypted download: %v", err)
	}
}

// A file announced only in XEP-0066 (body with other text) keeps its link.
func TestReceivedOOBLinkKept(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{NoUpload: true})
	users := srv.Users(t, 2)
	alice, bob := users[0], users[1]
	a := start(t, config(srv, alice, "a"), "")
	a.waitOnline()
	peer := xmpptest.Dial(t, srv, bob)
	const u = "https://files.example.org/x/photo.jpg"
	peer.Send(t, []byte(`<message to='`+alice.JID+`' type='chat' id='m1'><body>look at this</body>`+
		`<x xmlns='jabber:x:oob'><url>`+u+`</url></x></message>`))
	got := waitBody(a, bob.JID, func(s string) bool { return strings.HasPrefix(s, "look at this") })
	if got.Body != "look at this\n"+u {
		t.Fatalf("stored body %q", got.Body)
	}
	if l := media.MessageLinks(got.Body, nil); len(l) != 1 || l[0].URL != u || l[0].Kind != media.KindImage {
		t.Errorf("links %+v", l)
	}
}
