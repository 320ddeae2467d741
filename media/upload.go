package media

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"xchat/internal/sanitize"
)

// XML namespaces used by the upload protocol.
const (
	NSUpload     = "urn:xmpp:http:upload:0"
	NSDiscoInfo  = "http://jabber.org/protocol/disco#info"
	NSDiscoItems = "http://jabber.org/protocol/disco#items"
	NSDataForm   = "jabber:x:data"
	NSStanzas    = "urn:ietf:params:xml:ns:xmpp-stanzas"
)

// Sentinel errors; the concrete errors below match them with errors.Is.
var (
	ErrNoUploadService = errors.New("your server does not offer file upload")
	ErrFileTooLarge    = errors.New("file too large")
	ErrQuota           = errors.New("upload quota reached")
	ErrNotAllowed      = errors.New("not allowed to upload files")
)

// Service is an XEP-0363 upload service.
type Service struct {
	JID     string
	MaxSize int64 // largest file accepted in bytes; 0 when the service states no limit
}

// Allows reports whether a file of size bytes fits the service's limit.
func (s Service) Allows(size int64) error {
	if s.MaxSize > 0 && size > s.MaxSize {
		return &TooLargeError{Size: size, Limit: s.MaxSize}
	}
	return nil
}

// TooLargeError is a file over the upload limit, found locally or reported
// by the service.
type TooLargeError struct {
	Size  int64 // 0 when unknown
	Limit int64 // 0 when the service did not say
	Text  string
}

func (e *TooLargeError) Error() string {
	var b strings.Builder
	b.WriteString("file too large")
	if e.Size > 0 {
		fmt.Fprintf(&b, " (%s)", FormatSize(e.Size))
	}
	if e.Limit > 0 {
		fmt.Fprintf(&b, ": the server accepts at most %s", FormatSize(e.Limit))
	}
	if e.Text != "" {
		b.WriteString(" — server says: ")
		b.WriteString(e.Text)
	}
	return b.String()
}

// Is makes errors.Is(err, ErrFileTooLarge) true.
func (e *TooLargeError) Is(target error) bool { return target == ErrFileTooLarge }

// FormatSize renders a byte count for people (binary units).
func FormatSize(n int64) string {
	const unit = 1024
	if n < unit {
		return strconv.FormatInt(n, 10) + " B"
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	v := float64(n) / float64(div)
	s := strconv.FormatFloat(v, 'f', 1, 64)
	s = strings.TrimSuffix(s, ".0")
	return s + " " + string("KMGTP"[exp]) + "iB"
}

// findElement decodes the first element named space/local found anywhere in
// raw (a whole IQ or only its payload) into v. It reports whether one was
// found.
func findElement(raw []byte, space, local string, v any) (bool, error) {
	d := xml.NewDecoder(bytes.NewReader(raw))
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("malformed XML: %w", err)
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == local && (space == "*" || se.Name.Space == space) {
			if err := d.DecodeElement(v, &se); err != nil {
				return false, fmt.Errorf("malformed <%s/>: %w", local, err)
			}
			return true, nil
		}
	}
}

// ParseDiscoItems returns the item JIDs of a disco#items result.
func ParseDiscoItems(raw []byte) ([]string, error) {
	var q struct {
		Items []struct {
			JID string `xml:"jid,attr"`
		} `xml:"item"`
	}
	found, err := findElement(raw, NSDiscoItems, "query", &q)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, errors.New("no disco#items query in result")
	}
	var jids []string
	for _, it := range q.Items {
		if it.JID != "" {
			jids = append(jids, it.JID)
		}
	}
	return jids, nil
}

type discoInfo struct {
	Identities []struct {
		Category string `xml:"category,attr"`
		Type     string `xml:"type,attr"`
	} `xml:"identity"`
	Features []struct {
		Var string `xml:"var,attr"`
	} `xml:"feature"`
	Forms []dataForm `xml:"jabber:x:data x"`
}

type dataForm struct {
	Fields []struct {
		Var    string   `xml:"var,attr"`
		Values []string `xml:"value"`
	} `xml:"field"`
}

func (f dataForm) value(name string) (string, bool) {
	for _, fl := range f.Fields {
		if fl.Var == name && len(fl.Values) > 0 {
			return strings.TrimSpace(fl.Values[0]), true
		}
	}
	return "", false
}

// ParseUploadInfo reads the disco#info result of jid and reports whether it
// is an XEP-0363 upload service (feature urn:xmpp:http:upload:0; an
// identity store/file alone is not enough, since that also marks older
// upload versions). MaxSize comes from the urn:xmpp:http:upload:0 form's
// max-file-size field.
func ParseUploadInfo(jid string, raw []byte) (Service, bool, error) {
	var q discoInfo
	found, err := findElement(raw, NSDiscoInfo, "query", &q)
	if err != nil {
		return Service{}, false, err
	}
	if !found {
		return Service{}, false, errors.New("no disco#info query in result")
	}
	ok := false
	for _, f := range q.Features {
		if f.Var == NSUpload {
			ok = true
		}
	}
	if !ok {
		return Service{}, false, nil
	}
	svc := Service{JID: jid}
	for _, form := range q.Forms {
		if ft, _ := form.value("FORM_TYPE"); ft != NSUpload {
			continue
		}
		if v, ok := form.value("max-file-size"); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				return Service{}, false, fmt.Errorf("bad max-file-size %q", v)
			}
			svc.MaxSize = n
		}
	}
	return svc, true, nil
}

// QueryFunc sends a disco query (payload XML) to a JID and returns the raw
// result. Discover uses it so that the protocol logic stays free of I/O.
type QueryFunc func(ctx context.Context, to, payload string) ([]byte, error)

// Disco query payloads.
const (
	DiscoInfoQuery  = `<query xmlns='http://jabber.org/protocol/disco#info'/>`
	DiscoItemsQuery = `<query xmlns='http://jabber.org/protocol/disco#items'/>`
)

// Discover finds the upload service of domain: the server itself if it
// advertises the feature, else the first of its disco#items that does.
// Items whose disco#info fails are skipped. It returns ErrNoUploadService
// when none is found.
func Discover(ctx context.Context, query QueryFunc, domain string) (Service, error) {
	if raw, err := query(ctx, domain, DiscoInfoQuery); err == nil {
		if svc, ok, _ := ParseUploadInfo(domain, raw); ok {
			return svc, nil
		}
	} else if ctx.Err() != nil {
		return Service{}, ctx.Err()
	}
	raw, err := query(ctx, domain, DiscoItemsQuery)
	if err != nil {
		return Service{}, fmt.Errorf("service discovery on %s: %w", domain, err)
	}
	items, err := ParseDiscoItems(raw)
	if err != nil {
		return Service{}, err
	}
	for _, it := range items {
		raw, err := query(ctx, it, DiscoInfoQuery)
		if err != nil {
			if ctx.Err() != nil {
				return Service{}, ctx.Err()
			}
			continue
		}
		if svc, ok, _ := ParseUploadInfo(it, raw); ok {
			return svc, nil
		}
	}
	return Service{}, ErrNoUploadService
}

// SlotRequestElement is the <request/> payload for encoding/xml users
// (e.g. a session that marshals IQ payloads). SlotRequest is its text form.
type SlotRequestElement struct {
	XMLName     xml.Name `xml:"urn:xmpp:http:upload:0 request"`
	Filename    string   `xml:"filename,attr"`
	Size        int64    `xml:"size,attr"`
	ContentType string   `xml:"content-type,attr,omitempty"`
}

// SlotRequest returns the <request/> payload asking for an upload slot.
func SlotRequest(filename string, size int64, contentType string) string {
	var b strings.Builder
	b.WriteString(`<request xmlns='` + NSUpload + `' filename='`)
	xmlEscape(&b, filename)
	b.WriteString(`' size='`)
	b.WriteString(strconv.FormatInt(size, 10))
	b.WriteString(`'`)
	if contentType != "" {
		b.WriteString(` content-type='`)
		xmlEscape(&b, contentType)
		b.WriteString(`'`)
	}
	b.WriteString(`/>`)
	return b.String()
}

func xmlEscape(b *strings.Builder, s string) {
	var buf bytes.Buffer
	_ = xml.EscapeText(&buf, []byte(s)) // escapes both quote kinds
	b.Write(buf.Bytes())
}

// Slot is where to PUT a file and where it can be fetched afterwards.
type Slot struct {
	PutURL string
	GetURL string
	// Header holds only the headers XEP-0363 allows (Authorization,
	// Cookie, Expires), newlines stripped, in the server's order.
	Header http.Header
}

var allowedHeaders = map[string]bool{"Authorization": true, "Cookie": true, "Expires": true}

// ParseSlot reads the answer to a slot request: a <slot/> yields a Slot, an
// error stanza (whole IQ or the <error/> element) yields a *SlotError.
func ParseSlot(raw []byte) (Slot, error) {
	var s struct {
		Put struct {
			URL     string `xml:"url,attr"`
			Headers []struct {
				Name  string `xml:"name,attr"`
				Value string `xml:",chardata"`
			} `xml:"header"`
		} `xml:"put"`
		Get struct {
			URL string `xml:"url,attr"`
		} `xml:"get"`
	}
	found, err := findElement(raw, NSUpload, "slot", &s)
	if err != nil {
		return Slot{}, err
	}
	if !found {
		if serr, ok := ParseSlotError(raw); ok {
			return Slot{}, serr
		}
		return Slot{}, errors.New("upload service answered without a slot")
	}
	slot := Slot{PutURL: strings.TrimSpace(s.Put.URL), GetURL: strings.TrimSpace(s.Get.URL), Header: http.Header{}}
	if err := checkHTTPS(slot.PutURL, "PUT"); err != nil {
		return Slot{}, err
	}
	if err := checkHTTPS(slot.GetURL, "GET"); err != nil {
		return Slot{}, err
	}
	strip := strings.NewReplacer("\r", "", "\n", "")
	for _, h := range s.Put.Headers {
		name := http.CanonicalHeaderKey(strings.TrimSpace(strip.Replace(h.Name)))
		if !allowedHeaders[name] {
			continue
		}
		slot.Header.Add(name, strings.TrimSpace(strip.Replace(h.Value)))
	}
	return slot, nil
}

func checkHTTPS(raw, what string) error {
	if raw == "" {
		return fmt.Errorf("upload slot has no %s URL", what)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("upload slot %s URL is malformed: %w", what, err)
	}
	if u.Scheme != "https" || u.Host == "" {
		return fmt.Errorf("upload slot %s URL is not https: %s", what, sanitize.Line(raw))
	}
	return nil
}

// SlotError is an upload service's refusal of a slot.
type SlotError struct {
	Type        string    // modify, wait, auth, cancel
	Condition   string    // e.g. not-acceptable, resource-constraint, forbidden
	Text        string    // the server's text, sanitized
	MaxFileSize int64     // from <file-too-large/>, 0 when absent
	Retry       time.Time // from <retry stamp=…/>, zero when absent
}

func (e *SlotError) kind() error {
	switch {
	case e.MaxFileSize > 0 || e.Condition == "not-acceptable" && strings.Contains(strings.ToLower(e.Text), "large"):
		return ErrFileTooLarge
	case e.Condition == "resource-constraint" || !e.Retry.IsZero():
		return ErrQuota
	case e.Condition == "not-allowed" || e.Condition == "forbidden":
		return ErrNotAllowed
	}
	return nil
}

func (e *SlotError) Error() string {
	var b strings.Builder
	switch e.kind() {
	case ErrFileTooLarge:
		b.WriteString("file too large")
		if e.MaxFileSize > 0 {
			fmt.Fprintf(&b, ": the server accepts at most %s", FormatSize(e.MaxFileSize))
		}
	case ErrQuota:
		b.WriteString("upload quota reached")
		if !e.Retry.IsZero() {
			fmt.Fprintf(&b, ", try again after %s", e.Retry.UTC().Format("2006-01-02 15:04 MST"))
		}
	case ErrNotAllowed:
		b.WriteString("not allowed to upload files")
	default:
		b.WriteString("upload refused")
		if e.Condition != "" {
			b.WriteString(" (" + e.Condition + ")")
		}
	}
	// Skip a server text that only repeats the condition.
	if t := strings.TrimRight(e.Text, ". "); t != "" && !strings.EqualFold(t, "file too large") {
		b.WriteString(" — server says: ")
		b.WriteString(e.Text)
	}
	return b.String()
}

// Is matches ErrFileTooLarge, ErrQuota or ErrNotAllowed.
func (e *SlotError) Is(target error) bool { return target != nil && e.kind() == target }

// ParseSlotError reads an XMPP <error/> (alone or inside an IQ) answering a
// slot request.
func ParseSlotError(raw []byte) (*SlotError, bool) {
	var x struct {
		Type  string `xml:"type,attr"`
		Inner []struct {
			XMLName xml.Name
			Stamp   string `xml:"stamp,attr"`
			Chars   string `xml:",chardata"`
			Max     string `xml:"max-file-size"`
		} `xml:",any"`
	}
	d := xml.NewDecoder(bytes.NewReader(raw))
	for {
		tok, err := d.Token()
		if err != nil {
			return nil, false
		}
		se, ok := tok.(xml.StartElement)
		if !ok || se.Name.Local != "error" || se.Name.Space == NSUpload {
			continue
		}
		if err := d.DecodeElement(&x, &se); err != nil {
			return nil, false
		}
		break
	}
	e := &SlotError{Type: x.Type}
	for _, c := range x.Inner {
		switch {
		case c.XMLName.Space == NSStanzas && c.XMLName.Local == "text":
			e.Text = sanitize.Line(strings.TrimSpace(c.Chars))
		case c.XMLName.Space == NSStanzas:
			if e.Condition == "" {
				e.Condition = c.XMLName.Local
			}
		case c.XMLName.Space == NSUpload && c.XMLName.Local == "file-too-large":
			e.MaxFileSize, _ = strconv.ParseInt(strings.TrimSpace(c.Max), 10, 64)
			if e.MaxFileSize <= 0 {
				e.MaxFileSize = -1 // present but unstated: still "too large"
			}
		case c.XMLName.Space == NSUpload && c.XMLName.Local == "retry":
			if t, err := time.Parse(time.RFC3339, c.Stamp); err == nil {
				e.Retry = t.UTC()
			}
		}
	}
	if e.MaxFileSize < 0 {
		e.MaxFileSize = 0
		if e.Condition == "" {
			e.Condition = "not-acceptable"
		}
		if e.Text == "" {
			e.Text = "file too large"
		}
	}
	return e, true
}

// CheckFile checks, before any network traffic, that path can be uploaded
// to svc (nil or empty JID: the server offers no upload). It returns the
// file's size.
func CheckFile(path string, svc *Service) (int64, error) {
	if svc == nil || svc.JID == "" {
		return 0, ErrNoUploadService
	}
	fi, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return 0, fmt.Errorf("file not found: %s", path)
		}
		return 0, fmt.Errorf("cannot read %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		return 0, fmt.Errorf("not a regular file: %s", path)
	}
	if err := svc.Allows(fi.Size()); err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

// UploadError is a failed HTTP PUT.
type UploadError struct {
	Status     string // e.g. "413 Request Entity Too Large"; empty when the connection failed
	StatusCode int
	Body       string // start of the response body, sanitized
	Err        error  // transport error
}

func (e *UploadError) Error() string {
	if e.Status == "" {
		return "upload interrupted: " + e.Err.Error()
	}
	s := "upload failed: HTTP " + sanitize.Line(e.Status)
	if e.Body != "" {
		s += ": " + e.Body
	}
	return s
}

func (e *UploadError) Unwrap() error { return e.Err }

// Upload PUTs size bytes of file to the slot with the slot's allowed headers,
// calling progress (if not nil) as bytes are sent. It fails if file ends
// early, and stops when ctx is cancelled.
func Upload(ctx context.Context, client *http.Client, slot Slot, file io.Reader, size int64, contentType string, progress func(sent int64)) error {
	if err := checkHTTPS(slot.PutURL, "PUT"); err != nil {
		return err
	}
	body := &countingReader{r: io.LimitReader(file, size), want: size, progress: progress}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, slot.PutURL, body)
	if err != nil {
		return err
	}
	req.ContentLength = size
	if size == 0 {
		req.Body = http.NoBody
	}
	for name, values := range slot.Header {
		if allowedHeaders[http.CanonicalHeaderKey(name)] {
			for _, v := range values {
				req.Header.Add(name, v)
			}
		}
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if body.err != nil {
			return body.err
		}
		return &UploadError{Err: err}
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return &UploadError{Status: resp.Status, StatusCode: resp.StatusCode, Body: errorBody(resp)}
	}
	return nil
}

// errorBody returns the start of a plain-text error response; HTML pages
// say nothing the status does not.
func errorBody(resp *http.Response) string {
	if ct := resp.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "text/plain") {
		return ""
	}
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
	return sanitize.Line(strings.TrimSpace(strings.ToValidUTF8(string(snippet), "")))
}

// countingReader reports progress and turns a short file into an error.
type countingReader struct {
	r        io.Reader
	want     int64
	sent     int64
	progress func(int64)
	err      error
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.sent += int64(n)
	if n > 0 && c.progress != nil {
		c.progress(c.sent)
	}
	if err == io.EOF && c.sent < c.want {
		c.err = fmt.Errorf("file shorter than announced: %d of %d bytes", c.sent, c.want)
		return n, c.err
	}
	return n, err
}
