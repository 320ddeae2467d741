package media

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
)

func pngBytes(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewRGBA(image.Rect(0, 0, 3, 3))); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestDownloadSniffAndCache(t *testing.T) {
	data := pngBytes(t)
	var hits atomic.Int32
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "text/html") // lies; the bytes decide
		w.Write(data)
	}))
	defer srv.Close()
	cache := filepath.Join(t.TempDir(), "cache")
	url := srv.URL + "/a.png"
	d, err := Download(context.Background(), srv.Client(), url, DownloadOptions{CacheDir: cache})
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(url))
	if !bytes.Equal(d.Data, data) || d.ContentType != "image/png" || d.FromCache || d.Path != filepath.Join(cache, hex.EncodeToString(sum[:])) {
		t.Fatalf("%+v", d)
	}
	if fi, err := os.Stat(d.Path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("cache file: %v %v", fi.Mode(), err)
	}
	if fi, err := os.Stat(cache); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("cache dir: %v %v", fi.Mode(), err)
	}
	d2, err := Download(context.Background(), srv.Client(), url, DownloadOptions{CacheDir: cache})
	if err != nil || !d2.FromCache || !bytes.Equal(d2.Data, data) || hits.Load() != 1 {
		t.Fatalf("second: %+v %v hits=%d", d2, err, hits.Load())
	}
	entries, _ := os.ReadDir(cache)
	if len(entries) != 1 {
		t.Errorf("cache holds %d entries (temp files left?)", len(entries))
	}
}

func TestDownloadRedirectPolicy(t *testing.T) {
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "plain body")
	}))
	defer plain.Close()
	var tlsURL string
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch p := r.URL.Path; {
		case strings.HasPrefix(p, "/hop/"):
			n, _ := strconv.Atoi(p[len("/hop/"):])
			if n == 0 {
				fmt.Fprint(w, "arrived")
				return
			}
			http.Redirect(w, r, tlsURL+"/hop/"+strconv.Itoa(n-1), http.StatusFound)
		case p == "/to-http":
			http.Redirect(w, r, plain.URL+"/x", http.StatusFound)
		case p == "/to-file":
			w.Header().Set("Location", "file:///etc/passwd")
			w.WriteHeader(http.StatusFound)
		case p == "/to-ftp":
			w.Header().Set("Location", "ftp://127.0.0.1/x")
			w.WriteHeader(http.StatusMovedPermanently)
		case p == "/missing":
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	tlsURL = srv.URL
	ctx := context.Background()
	c := srv.Client()
	get := func(path string, o DownloadOptions) (string, error) {
		d, err := Download(ctx, c, srv.URL+path, o)
		if err != nil {
			return "", err
		}
		return string(d.Data), nil
	}
	if body, err := get("/hop/3", DownloadOptions{}); err != nil || body != "arrived" {
		t.Errorf("3 redirects: %q %v", body, err)
	}
	if _, err := get("/hop/4", DownloadOptions{}); err == nil || !strings.Contains(err.Error(), "too many redirects") {
		t.Errorf("4 redirects: %v", err)
	}
	if _, err := get("/hop/4", DownloadOptions{MaxRedirects: 10}); err == nil {
		t.Errorf("limit above 3 honoured")
	}
	if _, err := get("/hop/1", DownloadOptions{MaxRedirects: -1}); err == nil {
		t.Errorf("redirect followed with redirects off")
	}
	if _, err := get("/to-http", DownloadOptions{}); err == nil || !strings.Contains(err.Error(), "unencrypted") {
		t.Errorf("https→http: %v", err)
	}
	if body, err := get("/to-http", DownloadOptions{AllowHTTPHosts: []string{"127.0.0.1"}}); err != nil || body != "plain body" {
		t.Errorf("https→allowed http: %q %v", body, err)
	}
	for _, p := range []string{"/to-file", "/to-ftp"} {
		if _, err := get(p, DownloadOptions{AllowHTTPHosts: []string{"127.0.0.1"}}); err == nil || !strings.Contains(err.Error(), "only https") {
			t.Errorf("%s: %v", p, err)
		}
	}
	if _, err := get("/missing", DownloadOptions{}); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("404: %v", err)
	}
	if _, err := Download(ctx, plain.Client(), plain.URL+"/x", DownloadOptions{}); err == nil || !strings.Contains(err.Error(), "unencrypted") {
		t.Errorf("plain http: %v", err)
	}
	if d, err := Download(ctx, plain.Client(), plain.URL+"/x", DownloadOptions{AllowHTTPHosts: []string{"127.0.0.1"}}); err != nil || string(d.Data) != "plain body" {
		t.Errorf("allowed http: %v", err)
	}
	for _, u := range []string{"file:///etc/passwd", "javascript:alert(1)", "data:text/plain,hi", "https:///nohost"} {
		if _, err := Download(ctx, c, u, DownloadOptions{}); err == nil {
			t.Errorf("%s downloaded", u)
		}
	}
}

func TestDownloadSizeCap(t *testing.T) {
	const limit = 1000
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		if r.URL.Query().Get("chunked") != "" {
			// No Content-Length: the cap must hold while streaming.
			for i := 0; i < n; i += 100 {
				w.Write(bytes.Repeat([]byte("a"), min(100, n-i)))
				w.(http.Flusher).Flush()
			}
			return
		}
		if r.URL.Query().Get("short") != "" {
			w.Header().Set("Content-Length", strconv.Itoa(n))
			w.Write(bytes.Repeat([]byte("a"), n/2))
			hj, _, _ := w.(http.Hijacker).Hijack()
			hj.Close()
			return
		}
		w.Header().Set("Content-Length", strconv.Itoa(n))
		w.Write(bytes.Repeat([]byte("a"), n))
	}))
	defer srv.Close()
	o := DownloadOptions{MaxSize: limit}
	ctx := context.Background()
	if d, err := Download(ctx, srv.Client(), srv.URL+"/?n=1000", o); err != nil || len(d.Data) != 1000 {
		t.Errorf("at limit: %v", err)
	}
	if _, err := Download(ctx, srv.Client(), srv.URL+"/?n=1001", o); !errors.Is(err, ErrTooBig) {
		t.Errorf("over limit (Content-Length): %v", err)
	}
	if d, err := Download(ctx, srv.Client(), srv.URL+"/?n=1000&chunked=1", o); err != nil || len(d.Data) != 1000 {
		t.Errorf("chunked at limit: %v", err)
	}
	if _, err := Download(ctx, srv.Client(), srv.URL+"/?n=5000&chunked=1", o); !errors.Is(err, ErrTooBig) {
		t.Errorf("over limit (streamed): %v", err)
	}
	if _, err := Download(ctx, srv.Client(), srv.URL+"/?n=800&short=1", o); err == nil || !strings.Contains(err.Error(), "interrupted") {
		t.Errorf("cut connection: %v", err)
	}
	// Default limit is 25 MB: a 26 MB Content-Length is refused unread.
	if _, err := Download(ctx, srv.Client(), srv.URL+"/?n="+strconv.Itoa(26<<20), DownloadOptions{}); !errors.Is(err, ErrTooBig) {
		t.Errorf("default limit: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := Download(cctx, srv.Client(), srv.URL+"/?n=10", o); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

func TestDownloadAESGCM(t *testing.T) {
	plain := pngBytes(t)
	ct, key, iv, err := EncryptFile(bytes.NewReader(plain))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write(ct)
	}))
	defer srv.Close()
	aes, err := MakeAESGCMURL(srv.URL+"/f/pic.png", key, iv[:])
	if err != nil {
		t.Fatal(err)
	}
	cache := t.TempDir()
	d, err := Download(context.Background(), srv.Client(), aes, DownloadOptions{CacheDir: cache})
	if err != nil || !bytes.Equal(d.Data, plain) || d.ContentType != "image/png" {
		t.Fatalf("%v %+v", err, d)
	}
	// Cache name hashes the whole aesgcm URL, key included, so the key is
	// not readable from the file name.
	if strings.Contains(d.Path, hex.EncodeToString(key[:])[:16]) {
		t.Error("key in cache path")
	}
	wrong := key
	wrong[5] ^= 1
	bad, _ := MakeAESGCMURL(srv.URL+"/f/pic.png", wrong, iv[:])
	if _, err := Download(context.Background(), srv.Client(), bad, DownloadOptions{}); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("wrong key: %v", err)
	}
	// The cap applies to the plaintext: a limit of exactly len(plain) passes.
	if _, err := Download(context.Background(), srv.Client(), aes, DownloadOptions{MaxSize: int64(len(plain))}); err != nil {
		t.Fatalf("plaintext-sized cap: %v", err)
	}
	if _, err := Download(context.Background(), srv.Client(), aes, DownloadOptions{MaxSize: int64(len(plain)) - 1}); !errors.Is(err, ErrTooBig) {
		t.Fatalf("cap: %v", err)
	}
}

func TestShouldAutoDownload(t *testing.T) {
	const limit = 1 << 20
	tests := []struct {
		image, roster bool
		size, limit   int64
		want          bool
	}{
		{true, true, 1000, limit, true},
		{true, true, limit, limit, true},
		{true, true, limit + 1, limit, false},
		{true, true, -1, limit, true}, // unknown size: capped while streaming
		{false, true, 1000, limit, false},
		{true, false, 1000, limit, false},
		{true, true, 1000, 0, false},
		{true, true, 1000, -5, false},
	}
	for _, tc := range tests {
		if got := ShouldAutoDownload(tc.image, tc.size, tc.roster, tc.limit); got != tc.want {
			t.Errorf("ShouldAutoDownload(%v, %d, %v, %d) = %v", tc.image, tc.size, tc.roster, tc.limit, got)
		}
	}
}
