package session

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"mellium.im/xmpp/jid"

	"xchat/media"
	"xchat/store"
)

// MediaOptions tune file transfer for an account. The zero value strips
// nothing; DefaultMediaOptions is what the application uses.
type MediaOptions struct {
	// StripMetadata removes Exif (GPS), XMP and IPTC from JPEGs before
	// upload.
	StripMetadata bool
	// MaxDownload caps downloads (media.DefaultMaxDownload when 0).
	MaxDownload int64
	// HTTPHosts may be fetched over plain http; every other host needs https.
	HTTPHosts []string
	// CacheDir keeps downloads under hashed names (0700 dir, 0600 files);
	// "" keeps nothing.
	CacheDir string
	// HTTPClient replaces the client built from Config.TLS (tests).
	HTTPClient *http.Client
}

// DefaultMediaOptions strips metadata and caps downloads at 25 MiB.
var DefaultMediaOptions = MediaOptions{StripMetadata: true, MaxDownload: media.DefaultMaxDownload}

// mediaState is the account's file-transfer state. svc and oob belong to
// the owner goroutine; opts and the HTTP client are guarded by mu because
// transfers run on their callers' goroutines.
type mediaState struct {
	svc       *media.Service // nil until discovered
	svcErr    error          // last discovery failure (ErrNoUploadService: none offered)
	svcWait   []func()       // callers waiting for a discovery in flight
	searching bool
	oob       map[string]bool // bodies (GET URLs) to send with an XEP-0066 element

	mu   sync.Mutex
	opts *MediaOptions
	http *http.Client
}

// SetMediaOptions sets the file-transfer options; call it before Run.
func (c *Client) SetMediaOptions(o MediaOptions) {
	c.media.mu.Lock()
	defer c.media.mu.Unlock()
	c.media.opts = &o
	c.media.http = o.HTTPClient
}

func (c *Client) mediaOptions() MediaOptions {
	c.media.mu.Lock()
	defer c.media.mu.Unlock()
	if c.media.opts == nil {
		return DefaultMediaOptions
	}
	return *c.media.opts
}

// HTTPClient returns the client for uploads and downloads: it verifies
// certificates with the account's TLS settings (extra CA, pin), never less.
func (c *Client) HTTPClient() *http.Client {
	c.media.mu.Lock()
	defer c.media.mu.Unlock()
	if c.media.http != nil {
		return c.media.http
	}
	var tc *tls.Config
	if c.cfg.TLS != nil {
		tc = c.cfg.TLS.Clone()
		// The upload host is usually not the XMPP domain: let the
		// transport check each request's own host name.
		tc.ServerName = ""
	}
	c.media.http = &http.Client{
		Transport: &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           (&net.Dialer{Timeout: 30 * time.Second}).DialContext,
			TLSClientConfig:       tc,
			TLSHandshakeTimeout:   30 * time.Second,
			ResponseHeaderTimeout: 2 * time.Minute,
			ForceAttemptHTTP2:     true,
		},
	}
	return c.media.http
}

// UploadService returns our server's upload service, discovering it if
// the login has not done so yet. media.ErrNoUploadService means the server
// offers none.
func (c *Client) UploadService(ctx context.Context) (media.Service, error) {
	var svc media.Service
	err := c.online(ctx, func(done func(error)) {
		c.withUploadService(ctx, func(s *media.Service, err error) {
			if s != nil {
				svc = *s
			}
			done(err)
		})
	})
	return svc, err
}

// discoverUpload runs at login: disco#info of the server, then of its
// items, for urn:xmpp:http:upload:0 and its size limit.
func (c *Client) discoverUpload(ctx context.Context) {
	c.media.svc, c.media.svcErr = nil, nil
	c.withUploadService(ctx, func(*media.Service, error) {})
}

// withUploadService calls f on the owner goroutine with the discovered
// service, running one discovery for every caller that waits.
func (c *Client) withUploadService(ctx context.Context, f func(*media.Service, error)) {
	if c.media.svc != nil || c.media.svcErr != nil {
		f(c.media.svc, c.media.svcErr)
		return
	}
	c.media.svcWait = append(c.media.svcWait, func() { f(c.media.svc, c.media.svcErr) })
	if c.media.searching {
		return
	}
	c.media.searching = true
	conn := c.conn
	query := c.discoQuery(conn)
	dctx := context.WithoutCancel(ctx)
	go func() {
		svc, err := media.Discover(dctx, query, c.jid.Domainpart())
		c.post(func() {
			c.media.searching = false
			if c.conn != conn {
				err = ErrOffline
			} else if err != nil {
				c.media.svcErr = err
				if !errors.Is(err, media.ErrNoUploadService) {
					c.log.Warn("upload service discovery failed", "err", err)
				}
			} else {
				c.media.svc = &svc
				c.log.Info("upload service", "jid", svc.JID, "max", svc.MaxSize)
			}
			waiting := c.media.svcWait
			c.media.svcWait = nil
			for _, w := range waiting {
				w()
			}
			if err != nil && !errors.Is(err, media.ErrNoUploadService) {
				c.media.svcErr = nil // transient: try again next time
			}
		})
	}()
}

// discoQuery is a media.QueryFunc over conn, usable from any goroutine:
// IQ errors come back as errors.
func (c *Client) discoQuery(conn *connection) media.QueryFunc {
	return func(ctx context.Context, to, payload string) ([]byte, error) {
		if conn == nil {
			return nil, ErrOffline
		}
		req := iqGet(to, payload)
		ctx, cancel := context.WithTimeout(ctx, sendTimeout)
		defer cancel()
		type result struct {
			b   []byte
			err error
		}
		ch := make(chan result, 1)
		go func() {
			full, _, err := sendIQRaw(conn.ctx, conn.s, req)
			ch <- result{full, err}
		}()
		select {
		case r := <-ch:
			return r.b, r.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// iqGet builds a get IQ with a hand-made payload.
func iqGet(to, payload string) []byte {
	return []byte("<iq type='get' id='" + newID() + "' to='" + xmlText(to) + "'>" + payload + "</iq>")
}

// maxInMemory bounds a file that is encrypted or cleaned of metadata
// before upload (both work on the whole file); others are streamed.
const maxInMemory = 512 << 20

// SentFile is the result of SendFile.
type SentFile struct {
	Message   store.Message // the stored message carrying the link
	URL       string        // what the body says: the GET URL or the aesgcm:// URL
	GetURL    string        // where the (possibly encrypted) bytes are
	Size      int64         // bytes uploaded
	Encrypted bool
	Stripped  []string // metadata removed before upload ("Exif", "XMP", ...)
}

// FileProgress receives the bytes sent so far out of total.
type FileProgress func(sent, total int64)

// SendFile uploads the file at path to our server (XEP-0363) and sends its
// link to `to` (a contact, room/nick, or a joined room). Everything that
// can be checked is checked before any traffic: the upload service, that
// path is a regular file, its size against the limit. In a conversation
// that is OMEMO-encrypted the file is encrypted (XEP-0454) and only the
// aesgcm:// URL is sent, inside the encrypted body; otherwise the body is
// the GET URL with an XEP-0066 element. Cancelling ctx stops the upload;
// nothing is sent unless the upload completed.
func (c *Client) SendFile(ctx context.Context, to, path string, progress FileProgress) (SentFile, error) {
	var out SentFile
	j, err := jid.Parse(to)
	if err != nil || j.Domainpart() == "" {
		return out, fmt.Errorf("invalid address %q", to)
	}
	peer := j.Bare().String()
	opts := c.mediaOptions()
	// The cheap local checks first: no traffic for a file we cannot send.
	if fi, err := os.Stat(path); err != nil || !fi.Mode().IsRegular() {
		_, err := media.CheckFile(path, &media.Service{JID: "-"})
		return out, err
	}

	// 1. Where to upload, and whether the conversation is encrypted.
	var (
		svc     *media.Service
		isRoom  bool
		encrypt bool
	)
	err = c.online(ctx, func(done func(error)) {
		c.withUploadService(ctx, func(s *media.Service, err error) {
			if err != nil {
				done(err)
				return
			}
			cp := *s // the owner may replace it on a new login
			svc = &cp
			if rm := c.rooms[peer]; rm != nil {
				if j.Resourcepart() == "" {
					isRoom = true
					// A private group may be encrypted (omemo_muc.go).
					on, err := c.wantEncryption(ctx, peer)
					encrypt = on && c.om != nil
					done(err)
					return
				}
				done(nil)
				return
			}
			if c.om == nil {
				done(nil)
				return
			}
			c.prepareOMEMO(ctx, peer, func() {
				on, err := c.wantEncryption(ctx, peer)
				encrypt = on
				done(err)
			})
		})
	})
	if err != nil {
		return out, err
	}

	// 2. Local checks, then the bytes to upload: streamed from the file,
	// or in memory when they must be changed (metadata, encryption).
	size, err := media.CheckFile(path, svc)
	if err != nil {
		return out, err
	}
	f, err := os.Open(path)
	if err != nil {
		return out, fmt.Errorf("cannot read %s: %w", path, err)
	}
	defer f.Close()
	head := make([]byte, 512)
	n, err := io.ReadFull(f, head)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return out, fmt.Errorf("cannot read %s: %w", path, err)
	}
	head = head[:n]
	ctype := media.SniffType(head)
	if ctype == "application/octet-stream" || strings.HasPrefix(ctype, "text/plain") {
		if t := mime.TypeByExtension(strings.ToLower(filepath.Ext(path))); t != "" {
			ctype = t
		}
	}
	strip := opts.StripMetadata && ctype == "image/jpeg"
	name := media.SafeFilename(filepath.Base(path))
	body := io.MultiReader(bytes.NewReader(head), f)
	out.Size = size
	var (
		key [media.KeySize]byte
		iv  [media.IVSize]byte
	)
	if strip || encrypt {
		if size > maxInMemory {
			return out, fmt.Errorf("%s is too large to encrypt or clean (%s, at most %s)", filepath.Base(path), media.FormatSize(size), media.FormatSize(maxInMemory))
		}
		data, err := io.ReadAll(io.LimitReader(body, size+1))
		if err != nil {
			return out, fmt.Errorf("cannot read %s: %w", path, err)
		}
		if int64(len(data)) != size {
			return out, fmt.Errorf("%s changed while reading it", path)
		}
		if strip {
			clean, removed, err := media.StripJPEGMetadata(data)
			if err != nil {
				return out, fmt.Errorf("cannot remove the metadata of %s: %w", filepath.Base(path), err)
			}
			data, out.Stripped = clean, removed
		}
		if encrypt {
			var ct []byte
			ct, key, iv, err = media.EncryptFile(bytes.NewReader(data))
			if err != nil {
				return out, err
			}
			data = ct
			// The server needs no real name for bytes it cannot read.
			var rnd [8]byte
			_, _ = rand.Read(rnd[:])
			name = hex.EncodeToString(rnd[:]) + strings.ToLower(filepath.Ext(name))
			ctype = "application/octet-stream"
			out.Encrypted = true
		}
		body, out.Size = bytes.NewReader(data), int64(len(data))
	}
	if err := svc.Allows(out.Size); err != nil {
		return out, err
	}

	// 3. A slot: the raw answer keeps the server's reasons (quota, size).
	var slot media.Slot
	req := iqGet(svc.JID, media.SlotRequest(name, out.Size, ctype))
	err = c.online(ctx, func(done func(error)) {
		c.iqRaw(ctx, req, func(full []byte, err error) {
			var iqErr *IQError
			if err != nil && !errors.As(err, &iqErr) {
				done(err)
				return
			}
			slot, err = media.ParseSlot(full)
			done(err)
		})
	})
	if err != nil {
		return out, err
	}

	// 4. The PUT.
	var report func(int64)
	if progress != nil {
		total := out.Size
		progress(0, total)
		report = func(sent int64) { progress(sent, total) }
	}
	if err := media.Upload(ctx, c.HTTPClient(), slot, body, out.Size, ctype, report); err != nil {
		return out, err
	}
	out.GetURL, out.URL = slot.GetURL, slot.GetURL
	if encrypt {
		if out.URL, err = media.MakeAESGCMURL(slot.GetURL, key, iv[:]); err != nil {
			return out, err
		}
	}
	if err := ctx.Err(); err != nil {
		return out, err
	}

	// 5. The message, once the file is there. The URL is recorded first:
	// a message sent again after a restart still gets its OOB element.
	wctx := context.WithoutCancel(ctx)
	if isRoom {
		if !encrypt {
			if err := c.do(wctx, func() error { return c.markOOB(wctx, out.URL) }); err != nil {
				return out, err
			}
		}
		out.Message, err = c.SendGroupMessage(wctx, peer, out.URL)
		return out, err
	}
	err = c.do(wctx, func() error {
		if !encrypt {
			if err := c.markOOB(wctx, out.URL); err != nil {
				return err
			}
		}
		var err error
		out.Message, err = c.sendMessage(wctx, to, out.URL)
		return err
	})
	return out, err
}

// markOOB records url as a file we uploaded, in the store and in memory.
func (c *Client) markOOB(ctx context.Context, url string) error {
	if err := c.st.AddUpload(ctx, c.acct, url); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	if c.media.oob == nil {
		c.media.oob = map[string]bool{}
	}
	c.media.oob[url] = true
	return nil
}

// isUpload reports whether body is nothing but the URL of a file we
// uploaded (remembered, or recorded by an earlier run).
func (c *Client) isUpload(body string) bool {
	if c.media.oob[body] {
		return true
	}
	if !strings.HasPrefix(body, "https://") && !strings.HasPrefix(body, "http://") || strings.ContainsAny(body, " \t\r\n") {
		return false
	}
	ok, err := c.st.IsUpload(context.Background(), c.acct, body)
	if err != nil {
		c.log.Error("store: uploads", "err", err)
	}
	if ok {
		if c.media.oob == nil {
			c.media.oob = map[string]bool{}
		}
		c.media.oob[body] = true
	}
	return ok
}

// mediaExtra is what transmitNow adds to a plaintext message: the XEP-0066
// element when its body is a file we uploaded. ok is false when the
// message must not go out in plaintext: an aesgcm:// body carries the key.
func (c *Client) mediaExtra(m store.Message) (extra string, ok bool) {
	if strings.HasPrefix(m.Body, "aesgcm://") {
		return "", false
	}
	if c.isUpload(m.Body) {
		return "<x xmlns='" + media.NSOOB + "'><url>" + xmlText(m.Body) + "</url></x>", true
	}
	return "", true
}

// withOOB adds to a received body the XEP-0066 URLs it does not already
// contain, so that the link of an attachment is kept with the message.
func withOOB(body, inner string) string {
	if !strings.Contains(inner, media.NSOOB) {
		return body
	}
	urls, _ := media.ParseOOB([]byte(inner))
	for _, u := range urls {
		if !strings.Contains(body, u) {
			if body != "" {
				body += "\n"
			}
			body += u
		}
	}
	return body
}

// FetchFile downloads a file link (https, aesgcm, or http for the
// configured hosts) with the account's TLS settings, at most maxSize bytes
// (0: the configured cap; never more than it), into the cache when one is
// configured.
func (c *Client) FetchFile(ctx context.Context, rawURL string, maxSize int64) (*media.Downloaded, error) {
	o := c.mediaOptions()
	limit := o.MaxDownload
	if limit <= 0 {
		limit = media.DefaultMaxDownload
	}
	if maxSize > 0 && maxSize < limit {
		limit = maxSize
	}
	return media.Download(ctx, c.HTTPClient(), rawURL, media.DownloadOptions{
		MaxSize:        limit,
		AllowHTTPHosts: o.HTTPHosts,
		CacheDir:       o.CacheDir,
	})
}
