package media

import (
	"context"
	"crypto/sha256"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

const infoUpload = `<iq xmlns='jabber:client' type='result' from='upload.montague.tld' id='2'>
<query xmlns='http://jabber.org/protocol/disco#info'>
<identity category='store' type='file' name='HTTP File Upload'/>
<feature var='urn:xmpp:http:upload:0'/>
<x type='result' xmlns='jabber:x:data'>
<field var='FORM_TYPE' type='hidden'><value>urn:xmpp:http:upload:0</value></field>
<field var='max-file-size'><value>5242880</value></field>
</x>
<x type='result' xmlns='jabber:x:data'>
<field var='FORM_TYPE' type='hidden'><value>urn:xmpp:http:upload</value></field>
<field var='max-file-size'><value>1</value></field>
</x>
</query></iq>`

func TestParseUploadInfo(t *testing.T) {
	svc, ok, err := ParseUploadInfo("upload.montague.tld", []byte(infoUpload))
	if err != nil || !ok {
		t.Fatalf("ok=%v err=%v", ok, err)
	}
	if svc != (Service{JID: "upload.montague.tld", MaxSize: 5242880}) {
		t.Fatalf("svc = %+v", svc)
	}
	// Payload only, no limit form.
	svc, ok, err = ParseUploadInfo("u", []byte(`<query xmlns='http://jabber.org/protocol/disco#info'><feature var='urn:xmpp:http:upload:0'/></query>`))
	if err != nil || !ok || svc.MaxSize != 0 {
		t.Fatalf("no form: %+v %v %v", svc, ok, err)
	}
	// Only the legacy namespace / a MUC service: not an upload service.
	for _, raw := range []string{
		`<query xmlns='http://jabber.org/protocol/disco#info'><identity category='store' type='file'/><feature var='urn:xmpp:http:upload'/></query>`,
		`<query xmlns='http://jabber.org/protocol/disco#info'><identity category='conference' type='text'/><feature var='http://jabber.org/protocol/muc'/></query>`,
	} {
		if _, ok, err := ParseUploadInfo("x", []byte(raw)); ok || err != nil {
			t.Errorf("%s: ok=%v err=%v", raw, ok, err)
		}
	}
	bad := strings.Replace(infoUpload, "5242880", "lots", 1)
	if _, _, err := ParseUploadInfo("x", []byte(bad)); err == nil {
		t.Error("bad max-file-size accepted")
	}
	if _, _, err := ParseUploadInfo("x", []byte(`<query xmlns='jabber:iq:roster'/>`)); err == nil {
		t.Error("missing disco#info accepted")
	}
}

func TestDiscover(t *testing.T) {
	replies := map[string]string{
		"montague.tld|info":            `<query xmlns='http://jabber.org/protocol/disco#info'><feature var='urn:xmpp:ping'/></query>`,
		"montague.tld|items":           `<query xmlns='http://jabber.org/protocol/disco#items'><item jid='conference.montague.tld'/><item jid='broken.montague.tld'/><item jid='upload.montague.tld'/></query>`,
		"conference.montague.tld|info": `<query xmlns='http://jabber.org/protocol/disco#info'><feature var='http://jabber.org/protocol/muc'/></query>`,
		"upload.montague.tld|info":     infoUpload,
	}
	var asked []string
	query := func(_ context.Context, to, payload string) ([]byte, error) {
		kind := "info"
		if strings.Contains(payload, "disco#items") {
			kind = "items"
		}
		asked = append(asked, to+"|"+kind)
		r, ok := replies[to+"|"+kind]
		if !ok {
			return nil, errors.New("service-unavailable")
		}
		return []byte(r), nil
	}
	svc, err := Discover(context.Background(), query, "montague.tld")
	if err != nil || svc.JID != "upload.montague.tld" || svc.MaxSize != 5242880 {
		t.Fatalf("svc=%+v err=%v asked=%v", svc, err, asked)
	}
	delete(replies, "upload.montague.tld|info")
	if _, err := Discover(context.Background(), query, "montague.tld"); !errors.Is(err, ErrNoUploadService) {
		t.Fatalf("err = %v", err)
	}
	if ErrNoUploadService.Error() != "your server does not offer file upload" {
		t.Fatal(ErrNoUploadService)
	}
}

func TestSlotRequest(t *testing.T) {
	got := SlotRequest(`très "cool" <&'>.jpg`, 23456, "image/jpeg")
	var req struct {
		XMLName     xml.Name `xml:"urn:xmpp:http:upload:0 request"`
		Filename    string   `xml:"filename,attr"`
		Size        int64    `xml:"size,attr"`
		ContentType string   `xml:"content-type,attr"`
	}
	if err := xml.Unmarshal([]byte(got), &req); err != nil {
		t.Fatalf("%s: %v", got, err)
	}
	if req.Filename != `très "cool" <&'>.jpg` || req.Size != 23456 || req.ContentType != "image/jpeg" {
		t.Fatalf("%+v", req)
	}
	// The struct form marshals to the same element.
	out, err := xml.Marshal(SlotRequestElement{Filename: "x y.png", Size: 7})
	if err != nil {
		t.Fatal(err)
	}
	var back struct {
		XMLName  xml.Name `xml:"urn:xmpp:http:upload:0 request"`
		Filename string   `xml:"filename,attr"`
		Size     int64    `xml:"size,attr"`
	}
	if err := xml.Unmarshal(out, &back); err != nil || back.Filename != "x y.png" || back.Size != 7 || strings.Contains(string(out), "content-type") {
		t.Fatalf("%s: %v", out, err)
	}
	if strings.Contains(SlotRequest("a", 1, ""), "content-type") {
		t.Fatal("empty content-type sent")
	}
}

func TestParseSlot(t *testing.T) {
	raw := `<iq xmlns='jabber:client' type='result' id='3'><slot xmlns='urn:xmpp:http:upload:0'>
<put url='https://upload.montague.tld/4a77/tr%C3%A8s%20cool.jpg'>
<header name='Authorization'>Basic Base64String==</header>
<header name='cookie'>foo=bar;
 user=romeo</header>
<header name='eXpires'>Tue, 01 Dec 2026 00:00:00 GMT</header>
<header name='Cookie'>second=1</header>
<header name='X-Evil'>1</header>
<header name='Host'>evil.example</header>
<header name='Content-Length'>1</header>
</put>
<get url='https://download.montague.tld/4a77/tr%C3%A8s%20cool.jpg'/>
</slot></iq>`
	slot, err := ParseSlot([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	if slot.PutURL != "https://upload.montague.tld/4a77/tr%C3%A8s%20cool.jpg" || slot.GetURL != "https://download.montague.tld/4a77/tr%C3%A8s%20cool.jpg" {
		t.Fatalf("%+v", slot)
	}
	want := http.Header{
		"Authorization": {"Basic Base64String=="},
		"Cookie":        {"foo=bar; user=romeo", "second=1"},
		"Expires":       {"Tue, 01 Dec 2026 00:00:00 GMT"},
	}
	if fmt.Sprint(slot.Header) != fmt.Sprint(want) {
		t.Fatalf("headers %v\nwant    %v", slot.Header, want)
	}
	for _, bad := range []string{
		`<slot xmlns='urn:xmpp:http:upload:0'><put url='http://u/x'/><get url='https://u/x'/></slot>`,
		`<slot xmlns='urn:xmpp:http:upload:0'><put url='https://u/x'/></slot>`,
		`<slot xmlns='urn:xmpp:http:upload:0'><put url='https://u/x'/><get url='javascript:alert(1)'/></slot>`,
		`<query xmlns='jabber:iq:version'/>`,
		`<slot xmlns='urn:xmpp:http:upload:0'><put url='https://u/x'>`,
	} {
		if _, err := ParseSlot([]byte(bad)); err == nil {
			t.Errorf("accepted %s", bad)
		}
	}
}

func TestParseSlotErrors(t *testing.T) {
	tooLarge := `<iq xmlns='jabber:client' type='error' id='3'>
<request xmlns='urn:xmpp:http:upload:0' filename='a.jpg' size='23456'/>
<error type='modify'>
<not-acceptable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>
<text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>File too large. The maximum file size is 20000 bytes</text>
<file-too-large xmlns='urn:xmpp:http:upload:0'><max-file-size>20000</max-file-size></file-too-large>
</error></iq>`
	quota := `<error type='wait' xmlns='jabber:client'>
<resource-constraint xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>
<text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>Quota reached. You can only upload 5 files in 5 minutes</text>
<retry xmlns='urn:xmpp:http:upload:0' stamp='2017-12-03T23:42:05Z'/>
</error>`
	forbidden := `<iq type='error'><error type='auth'>
<forbidden xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>
<text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>Only premium members are allowed to upload files</text>
</error></iq>`
	notAllowed := `<error type='cancel'><not-allowed xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>`
	other := `<error type='cancel'><internal-server-error xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/><text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>boom&#x9b;2J&#x202e;</text></error>`

	tests := []struct {
		raw      string
		is       error
		contains []string
	}{
		{tooLarge, ErrFileTooLarge, []string{"file too large", "19.5 KiB", "The maximum file size is 20000 bytes"}},
		{quota, ErrQuota, []string{"quota", "2017-12-03 23:42 UTC", "5 files in 5 minutes"}},
		{forbidden, ErrNotAllowed, []string{"not allowed", "Only premium members"}},
		{notAllowed, ErrNotAllowed, []string{"not allowed to upload files"}},
		{other, nil, []string{"upload refused (internal-server-error)", "boom"}},
	}
	for _, tc := range tests {
		_, err := ParseSlot([]byte(tc.raw))
		var se *SlotError
		if !errors.As(err, &se) {
			t.Fatalf("%s: err = %v", tc.raw, err)
		}
		for _, sentinel := range []error{ErrFileTooLarge, ErrQuota, ErrNotAllowed} {
			if got := errors.Is(err, sentinel); got != (sentinel == tc.is) {
				t.Errorf("%v: errors.Is(%v) = %v", err, sentinel, got)
			}
		}
		for _, c := range tc.contains {
			if !strings.Contains(err.Error(), c) {
				t.Errorf("%q lacks %q", err, c)
			}
		}
		if strings.ContainsAny(err.Error(), "\x1b\u009b\u202e") {
			t.Errorf("control characters in %q", err)
		}
	}
	_, err := ParseSlot([]byte(tooLarge))
	var se *SlotError
	errors.As(err, &se)
	if se.MaxFileSize != 20000 || se.Type != "modify" || se.Condition != "not-acceptable" {
		t.Errorf("%+v", se)
	}
	_, err = ParseSlot([]byte(quota))
	errors.As(err, &se)
	if !se.Retry.Equal(time.Date(2017, 12, 3, 23, 42, 5, 0, time.UTC)) {
		t.Errorf("retry %v", se.Retry)
	}
}

func TestCheckFile(t *testing.T) {
	dir := t.TempDir()
	small := filepath.Join(dir, "small.bin")
	os.WriteFile(small, make([]byte, 100), 0o600)
	big := filepath.Join(dir, "big.bin")
	os.WriteFile(big, make([]byte, 2048), 0o600)
	svc := &Service{JID: "upload.example", MaxSize: 1024}

	if n, err := CheckFile(small, svc); err != nil || n != 100 {
		t.Fatalf("small: %d %v", n, err)
	}
	_, err := CheckFile(big, svc)
	if !errors.Is(err, ErrFileTooLarge) || !strings.Contains(err.Error(), "at most 1 KiB") || !strings.Contains(err.Error(), "2 KiB") {
		t.Errorf("big: %v", err)
	}
	if _, err := CheckFile(filepath.Join(dir, "missing"), svc); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("missing: %v", err)
	}
	if _, err := CheckFile(dir, svc); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("dir: %v", err)
	}
	if _, err := CheckFile(small, nil); !errors.Is(err, ErrNoUploadService) || err.Error() != "your server does not offer file upload" {
		t.Errorf("no service: %v", err)
	}
	if n, err := CheckFile(big, &Service{JID: "u"}); err != nil || n != 2048 {
		t.Errorf("unlimited: %d %v", n, err)
	}
}

func TestUploadHTTP(t *testing.T) {
	var got atomic.Value
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return
		}
		got.Store(fmt.Sprintf("%s len=%d ct=%s auth=%s cookie=%q evil=%q sum=%x", r.Method, r.ContentLength,
			r.Header.Get("Content-Type"), r.Header.Get("Authorization"), r.Header.Values("Cookie"), r.Header.Get("X-Evil"), sha256.Sum256(body)))
		switch r.URL.Path {
		case "/full":
			http.Error(w, "quota exceeded\x1b[2J", http.StatusRequestEntityTooLarge)
		default:
			w.WriteHeader(http.StatusCreated)
		}
	}))
	defer srv.Close()
	data := []byte(strings.Repeat("0123456789", 100000))
	slot := Slot{PutURL: srv.URL + "/ok", Header: http.Header{"Authorization": {"Bearer t"}, "Cookie": {"a=1", "b=2"}, "X-Evil": {"1"}}}
	var last int64
	calls := 0
	err := Upload(context.Background(), srv.Client(), slot, strings.NewReader(string(data)), int64(len(data)), "text/plain", func(n int64) { last = n; calls++ })
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("PUT len=%d ct=text/plain auth=Bearer t cookie=[\"a=1\" \"b=2\"] evil=\"\" sum=%x", len(data), sha256.Sum256(data))
	if got.Load() != want {
		t.Errorf("server saw %v\nwant       %v", got.Load(), want)
	}
	if last != int64(len(data)) || calls < 2 {
		t.Errorf("progress: last=%d calls=%d", last, calls)
	}

	slot.PutURL = srv.URL + "/full"
	err = Upload(context.Background(), srv.Client(), slot, strings.NewReader("abc"), 3, "", nil)
	var ue *UploadError
	if !errors.As(err, &ue) || ue.StatusCode != 413 || !strings.Contains(err.Error(), "413") || !strings.Contains(err.Error(), "quota exceeded") || strings.ContainsRune(err.Error(), 0x1b) {
		t.Errorf("413: %v", err)
	}

	slot.PutURL = srv.URL + "/ok"
	if err := Upload(context.Background(), srv.Client(), slot, strings.NewReader("short"), 100, "", nil); err == nil || !strings.Contains(err.Error(), "shorter") {
		t.Errorf("short file: %v", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	r := &stallReader{cancel: cancel}
	if err := Upload(ctx, srv.Client(), slot, r, 1<<20, "", nil); !errors.Is(err, context.Canceled) {
		t.Errorf("cancel: %v", err)
	}

	slot.PutURL = "http://127.0.0.1:1/x"
	if err := Upload(context.Background(), srv.Client(), slot, strings.NewReader("a"), 1, "", nil); err == nil || !strings.Contains(err.Error(), "not https") {
		t.Errorf("http PUT: %v", err)
	}
}

// stallReader returns some data, cancels the context, then blocks until the
// transport gives up on it.
type stallReader struct {
	cancel context.CancelFunc
	n      int
}

func (s *stallReader) Read(p []byte) (int, error) {
	if s.n == 0 {
		s.n++
		return copy(p, "hello"), nil
	}
	s.cancel()
	time.Sleep(50 * time.Millisecond)
	return copy(p, "x"), nil
}

func TestUploadConnectionCut(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.CopyN(io.Discard, r.Body, 1000)
		hj, ok := w.(http.Hijacker)
		if !ok {
			t.Error("no hijacker")
			return
		}
		c, _, _ := hj.Hijack()
		c.Close()
	}))
	defer srv.Close()
	err := Upload(context.Background(), srv.Client(), Slot{PutURL: srv.URL + "/x"}, strings.NewReader(strings.Repeat("a", 1<<20)), 1<<20, "", nil)
	var ue *UploadError
	if !errors.As(err, &ue) || ue.Status != "" || !strings.Contains(err.Error(), "interrupted") {
		t.Fatalf("err = %v", err)
	}
}
