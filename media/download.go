package media

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"xchat/internal/sanitize"
)

// Download defaults.
const (
	DefaultMaxDownload  = 25 << 20
	DefaultMaxRedirects = 3
)

// ErrTooBig is a download over DownloadOptions.MaxSize.
var ErrTooBig = errors.New("download exceeds the size limit")

// DownloadOptions restrict a download.
type DownloadOptions struct {
	// MaxSize is the largest body accepted (plaintext for aesgcm);
	// DefaultMaxDownload when 0.
	MaxSize int64
	// AllowHTTPHosts lists hosts (without port) that may be fetched over
	// plain http. Every other host needs https.
	AllowHTTPHosts []string
	// MaxRedirects is the number of redirects followed, at most
	// DefaultMaxRedirects; 0 means DefaultMaxRedirects, negative none.
	MaxRedirects int
	// CacheDir, when set, keeps downloads as files named by the SHA-256 of
	// the URL (dir 0700, files 0600) and serves repeats from there.
	CacheDir string
}

// Downloaded is a fetched file.
type Downloaded struct {
	Data        []byte
	ContentType string // sniffed from the bytes, never from the server
	Path        string // cache file, "" without CacheDir
	FromCache   bool
}

// Download fetches rawURL (https, aesgcm, or http for allowed hosts) with
// the limits of opts. aesgcm:// URLs are fetched over https and decrypted.
func Download(ctx context.Context, client *http.Client, rawURL string, opts DownloadOptions) (*Downloaded, error) {
	if opts.MaxSize <= 0 {
		opts.MaxSize = DefaultMaxDownload
	}
	if opts.MaxRedirects == 0 || opts.MaxRedirects > DefaultMaxRedirects {
		opts.MaxRedirects = DefaultMaxRedirects
	}
	fetchURL, limit := rawURL, opts.MaxSize
	var enc *AESGCMURL
	if len(rawURL) >= 7 && strings.EqualFold(rawURL[:7], "aesgcm:") {
		a, err := ParseAESGCMURL(rawURL)
		if err != nil {
			return nil, err
		}
		enc, fetchURL, limit = &a, a.HTTPS, opts.MaxSize+TagSize
	}
	u, err := url.Parse(fetchURL)
	if err != nil {
		return nil, fmt.Errorf("malformed URL: %w", err)
	}
	if err := opts.schemeAllowed(u); err != nil {
		return nil, err
	}
	var cachePath string
	if opts.CacheDir != "" {
		sum := sha256.Sum256([]byte(rawURL))
		cachePath = filepath.Join(opts.CacheDir, hex.EncodeToString(sum[:]))
		if data, err := readCapped(cachePath, opts.MaxSize); err == nil {
			return &Downloaded{Data: data, ContentType: SniffType(data), Path: cachePath, FromCache: true}, nil
		}
	}

	c := *client
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if opts.MaxRedirects < 0 || len(via) > opts.MaxRedirects {
			return fmt.Errorf("too many redirects (limit %d)", max(opts.MaxRedirects, 0))
		}
		return opts.schemeAllowed(req.URL)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fetchURL, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("download failed: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("download failed: HTTP %s", sanitize.Line(resp.Status))
	}
	if resp.ContentLength > limit {
		return nil, fmt.Errorf("%w: %s, limit %s", ErrTooBig, FormatSize(resp.ContentLength), FormatSize(opts.MaxSize))
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("download interrupted: %w", err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%w: more than %s", ErrTooBig, FormatSize(opts.MaxSize))
	}
	if resp.ContentLength >= 0 && int64(len(data)) != resp.ContentLength {
		return nil, fmt.Errorf("download interrupted: %d of %d bytes", len(data), resp.ContentLength)
	}
	if enc != nil {
		if data, err = DecryptFile(data, enc.Key, enc.IV); err != nil {
			return nil, err
		}
	}
	out := &Downloaded{Data: data, ContentType: SniffType(data)}
	if cachePath != "" {
		if err := writeCache(cachePath, data); err != nil {
			return nil, err
		}
		out.Path = cachePath
	}
	return out, nil
}

func (o DownloadOptions) schemeAllowed(u *url.URL) error {
	switch strings.ToLower(u.Scheme) {
	case "https":
	case "http":
		if !slices.ContainsFunc(o.AllowHTTPHosts, func(h string) bool { return strings.EqualFold(h, u.Hostname()) }) {
			return fmt.Errorf("refusing unencrypted http:// download from %s", sanitize.Line(u.Hostname()))
		}
	default:
		return fmt.Errorf("refusing %s URL: only https downloads are allowed", sanitize.Line(u.Scheme))
	}
	if u.Host == "" {
		return errors.New("URL has no host")
	}
	return nil
}

func readCapped(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, ErrTooBig
	}
	return data, nil
}

// writeCache stores data atomically with private permissions.
func writeCache(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, ".part-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// SniffType detects the content type from the first bytes, adding WebP and
// a few image types to http.DetectContentType.
func SniffType(data []byte) string {
	if len(data) >= 12 && bytes.Equal(data[:4], []byte("RIFF")) && bytes.Equal(data[8:12], []byte("WEBP")) {
		return "image/webp"
	}
	return http.DetectContentType(data)
}

// ShouldAutoDownload decides whether an incoming file may be fetched without
// the user asking: only images, only from contacts in the roster, and only
// up to limit bytes (limit <= 0 disables auto-download). size < 0 means the
// size is unknown; the caller then passes limit as DownloadOptions.MaxSize
// so the cap holds while streaming.
func ShouldAutoDownload(isImage bool, size int64, senderInRoster bool, limit int64) bool {
	if !isImage || !senderInRoster || limit <= 0 {
		return false
	}
	return size <= limit
}
