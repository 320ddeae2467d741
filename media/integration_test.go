package media

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/xml"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"xchat/internal/testserver"
	"xchat/internal/xmpptest"
)

// xmppConn is the shared bare test client, for the upload protocol steps.
type xmppConn struct {
	c  *xmpptest.Client
	tb testing.TB
}

func dialXMPP(tb testing.TB, srv *testserver.Server) *xmppConn {
	tb.Helper()
	return &xmppConn{c: xmpptest.Dial(tb, srv, srv.Users(tb, 1)[0]), tb: tb}
}

// iq sends a get IQ with payload and returns the whole response.
func (c *xmppConn) iq(_ context.Context, to, payload string) ([]byte, error) {
	var toEsc bytes.Buffer
	xml.EscapeText(&toEsc, []byte(to))
	return c.c.IQ(c.tb, fmt.Appendf(nil, "<iq type='get' to='%s'>%s</iq>", toEsc.String(), payload)), nil
}

// query is a QueryFunc: error IQs become Go errors.
func (c *xmppConn) query(ctx context.Context, to, payload string) ([]byte, error) {
	raw, err := c.iq(ctx, to, payload)
	if err != nil {
		return nil, err
	}
	var iq struct {
		Type string `xml:"type,attr"`
	}
	if err := xml.Unmarshal(raw, &iq); err != nil {
		return nil, err
	}
	if iq.Type == "error" {
		return nil, fmt.Errorf("IQ error from %s", to)
	}
	return raw, nil
}

func (c *xmppConn) slot(tb testing.TB, svc Service, name string, size int64, ct string) (Slot, error) {
	tb.Helper()
	raw, err := c.iq(context.Background(), svc.JID, SlotRequest(name, size, ct))
	if err != nil {
		tb.Fatal(err)
	}
	return ParseSlot(raw)
}

func TestProsodyUpload(t *testing.T) {
	const limit = 1 << 20
	srv := testserver.Start(t, testserver.Options{UploadSizeLimit: limit})
	c := dialXMPP(t, srv)
	ctx := context.Background()
	hc := srv.HTTPClient()

	svc, err := Discover(ctx, c.query, srv.Domain)
	if err != nil {
		t.Fatal(err)
	}
	if svc.JID != srv.UploadDomain || svc.MaxSize != limit {
		t.Fatalf("service %+v, want %s with limit %d", svc, srv.UploadDomain, limit)
	}

	dir := t.TempDir()
	t.Run("plain round trip", func(t *testing.T) {
		data := make([]byte, 300_001)
		rand.Read(data)
		path := filepath.Join(dir, "très cool.bin")
		os.WriteFile(path, data, 0o600)
		size, err := CheckFile(path, &svc)
		if err != nil {
			t.Fatal(err)
		}
		slot, err := c.slot(t, svc, filepath.Base(path), size, "application/octet-stream")
		if err != nil {
			t.Fatal(err)
		}
		if slot.Header.Get("Authorization") == "" {
			t.Errorf("Prosody slot without Authorization: %+v", slot)
		}
		f, _ := os.Open(path)
		defer f.Close()
		var last int64
		if err := Upload(ctx, hc, slot, f, size, "application/octet-stream", func(n int64) { last = n }); err != nil {
			t.Fatal(err)
		}
		if last != size {
			t.Errorf("progress ended at %d of %d", last, size)
		}
		d, err := Download(ctx, hc, slot.GetURL, DownloadOptions{CacheDir: filepath.Join(dir, "cache")})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(d.Data, data) {
			t.Fatalf("downloaded %d bytes differ from the %d uploaded", len(d.Data), len(data))
		}
	})

	t.Run("encrypted round trip", func(t *testing.T) {
		plain := pngBytes(t)
		ct, key, iv, err := EncryptFile(bytes.NewReader(plain))
		if err != nil {
			t.Fatal(err)
		}
		if err := svc.Allows(int64(len(ct))); err != nil {
			t.Fatal(err)
		}
		slot, err := c.slot(t, svc, "pic.png", int64(len(ct)), "application/octet-stream")
		if err != nil {
			t.Fatal(err)
		}
		if err := Upload(ctx, hc, slot, bytes.NewReader(ct), int64(len(ct)), "application/octet-stream", nil); err != nil {
			t.Fatal(err)
		}
		aes, err := MakeAESGCMURL(slot.GetURL, key, iv[:])
		if err != nil {
			t.Fatal(err)
		}
		links := MessageLinks(aes, nil)
		if len(links) != 1 || !links[0].Encrypted || links[0].Kind != KindImage {
			t.Fatalf("links %+v", links)
		}
		d, err := Download(ctx, hc, links[0].URL, DownloadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(d.Data, plain) || d.ContentType != "image/png" {
			t.Fatalf("decrypted %d bytes (%s)", len(d.Data), d.ContentType)
		}
		// What the server stores is the ciphertext, not the image.
		raw, err := Download(ctx, hc, slot.GetURL, DownloadOptions{})
		if err != nil || !bytes.Equal(raw.Data, ct) {
			t.Fatalf("stored bytes are not the ciphertext: %v", err)
		}
	})

	t.Run("over size refused before upload", func(t *testing.T) {
		path := filepath.Join(dir, "big.bin")
		os.WriteFile(path, make([]byte, limit+1), 0o600)
		_, err := CheckFile(path, &svc)
		if !errors.Is(err, ErrFileTooLarge) || !strings.Contains(err.Error(), "at most 1 MiB") {
			t.Fatalf("CheckFile: %v", err)
		}
		// Asked anyway, Prosody refuses the slot and states its limit.
		_, err = c.slot(t, svc, "big.bin", limit+1, "")
		var se *SlotError
		if !errors.As(err, &se) || !errors.Is(err, ErrFileTooLarge) || se.MaxFileSize != limit {
			t.Fatalf("slot for oversize file: %v (%+v)", err, se)
		}
		t.Logf("Prosody: %v", err)
	})

	t.Run("PUT without the slot's headers is refused", func(t *testing.T) {
		slot, err := c.slot(t, svc, "x.txt", 5, "text/plain")
		if err != nil {
			t.Fatal(err)
		}
		slot.Header = nil
		err = Upload(ctx, hc, slot, strings.NewReader("hello"), 5, "text/plain", nil)
		var ue *UploadError
		if !errors.As(err, &ue) || ue.StatusCode < 400 {
			t.Fatalf("unauthenticated PUT: %v", err)
		}
		t.Logf("Prosody: %v", err)
	})
}

func TestProsodyNoUploadService(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{NoUpload: true})
	c := dialXMPP(t, srv)
	svc, err := Discover(context.Background(), c.query, srv.Domain)
	if !errors.Is(err, ErrNoUploadService) {
		t.Fatalf("Discover = %+v, %v", svc, err)
	}
	path := filepath.Join(t.TempDir(), "a.txt")
	os.WriteFile(path, []byte("a"), 0o600)
	if _, err := CheckFile(path, nil); err == nil || err.Error() != "your server does not offer file upload" {
		t.Fatalf("CheckFile: %v", err)
	}
}
