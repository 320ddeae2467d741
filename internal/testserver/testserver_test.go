package testserver

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"mellium.im/sasl"
	"mellium.im/xmpp"
	"mellium.im/xmpp/disco"
	"mellium.im/xmpp/disco/items"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"
	"mellium.im/xmpp/upload"
)

// login negotiates a full client session (STARTTLS with verification, SASL,
// resource binding) and serves it in the background.
func login(t *testing.T, s *Server, u User) (*xmpp.Session, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	conn, err := net.Dial("tcp", s.C2SAddr)
	if err != nil {
		return nil, err
	}
	session, err := xmpp.NewClientSession(ctx, jid.MustParse(u.JID), conn,
		xmpp.StartTLS(s.TLSConfig()),
		xmpp.SASL("", u.Password, sasl.ScramSha1, sasl.Plain),
		xmpp.BindResource(),
	)
	if err != nil {
		conn.Close()
		return nil, err
	}
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = session.Serve(nil)
	}()
	t.Cleanup(func() {
		session.Close()
		conn.Close()
		<-served
	})
	return session, nil
}

func mustLogin(t *testing.T, s *Server, u User) *xmpp.Session {
	t.Helper()
	session, err := login(t, s, u)
	if err != nil {
		t.Fatalf("login as %s: %v", u.JID, err)
	}
	return session
}

// discoItems lists the JIDs the server advertises in disco#items.
func discoItems(t *testing.T, session *xmpp.Session, to string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	iter := disco.FetchItems(ctx, items.Item{JID: jid.MustParse(to)}, session)
	var out []string
	for iter.Next() {
		out = append(out, iter.Item().JID.String())
	}
	if err := iter.Err(); err != nil {
		t.Fatalf("disco#items %s: %v", to, err)
	}
	if err := iter.Close(); err != nil {
		t.Fatalf("close disco#items iterator: %v", err)
	}
	return out
}

func TestServer(t *testing.T) {
	s := Start(t, Options{})

	if s.Domain != "localhost" || s.MUCDomain != "conference.localhost" || s.UploadDomain != "upload.localhost" {
		t.Fatalf("domains = %q %q %q", s.Domain, s.MUCDomain, s.UploadDomain)
	}
	for _, a := range []string{s.C2SAddr, s.DirectTLSAddr, s.HTTPSAddr} {
		host, _, err := net.SplitHostPort(a)
		if err != nil || host != "127.0.0.1" {
			t.Fatalf("address %q is not a loopback host:port (%v)", a, err)
		}
	}
	if s.C2SAddr == s.DirectTLSAddr || s.C2SAddr == s.HTTPSAddr || s.DirectTLSAddr == s.HTTPSAddr {
		t.Fatalf("ports not distinct: %s %s %s", s.C2SAddr, s.DirectTLSAddr, s.HTTPSAddr)
	}
	if pem, err := os.ReadFile(s.CAFile); err != nil || !x509.NewCertPool().AppendCertsFromPEM(pem) {
		t.Fatalf("CAFile %s is not a PEM certificate: %v", s.CAFile, err)
	}

	t.Run("StartTLSRequired", func(t *testing.T) {
		f, err := StreamFeatures(s.C2SAddr, s.Domain, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(f, "urn:ietf:params:xml:ns:xmpp-tls") || !strings.Contains(f, "<required/>") {
			t.Fatalf("features before TLS do not require STARTTLS: %s", f)
		}
		if strings.Contains(f, "mechanisms") {
			t.Fatalf("SASL offered before TLS: %s", f)
		}
	})

	t.Run("DirectTLSVerified", func(t *testing.T) {
		for _, name := range []string{s.Domain, s.MUCDomain, s.UploadDomain} {
			cfg := s.TLSConfig()
			cfg.ServerName = name
			conn, err := tls.Dial("tcp", s.DirectTLSAddr, cfg)
			if err != nil {
				t.Fatalf("direct TLS as %s: %v", name, err)
			}
			peer := conn.ConnectionState().PeerCertificates[0]
			if !peer.Equal(s.certs.leaf) {
				t.Errorf("direct TLS as %s: server presented %s, not the generated certificate", name, peer.Subject)
			}
			conn.Close()
		}
		// After direct TLS the stream offers SASL straight away.
		conn, err := tls.Dial("tcp", s.DirectTLSAddr, s.TLSConfig())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		fmt.Fprintf(conn, "<?xml version='1.0'?><stream:stream to='localhost' version='1.0' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>")
		buf := make([]byte, 4096)
		var got []byte
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		for !bytes.Contains(got, []byte("</stream:features>")) {
			n, err := conn.Read(buf)
			if err != nil {
				t.Fatalf("read features over direct TLS: %v (got %q)", err, got)
			}
			got = append(got, buf[:n]...)
		}
		if !bytes.Contains(got, []byte("SCRAM-SHA-1")) {
			t.Fatalf("no SCRAM-SHA-1 over direct TLS: %s", got)
		}
	})

	t.Run("UntrustedRejected", func(t *testing.T) {
		// An empty pool: the generated CA is not trusted, so verification
		// must fail. This proves clients really verify.
		_, err := tls.Dial("tcp", s.DirectTLSAddr, &tls.Config{RootCAs: x509.NewCertPool(), ServerName: "localhost"})
		var unknown x509.UnknownAuthorityError
		if !errors.As(err, &unknown) {
			t.Fatalf("handshake with empty RootCAs: got %v, want unknown authority", err)
		}
		// A name the certificate does not cover (Prosody itself refuses the
		// unknown SNI name before the client can check).
		cfg := s.TLSConfig()
		cfg.ServerName = "example.org"
		if conn, err := tls.Dial("tcp", s.DirectTLSAddr, cfg); err == nil {
			conn.Close()
			t.Fatal("handshake for example.org succeeded")
		}
		// The HTTPS port verifies the same way.
		_, err = tls.Dial("tcp", s.HTTPSAddr, &tls.Config{RootCAs: x509.NewCertPool(), ServerName: "localhost"})
		if !errors.As(err, &unknown) {
			t.Fatalf("HTTPS handshake with empty RootCAs: got %v, want unknown authority", err)
		}
	})

	t.Run("HTTPS", func(t *testing.T) {
		_, port, _ := net.SplitHostPort(s.HTTPSAddr)
		resp, err := s.HTTPClient().Get("https://localhost:" + port + "/file_share/no-such-slot/x.txt")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.TLS == nil || !resp.TLS.PeerCertificates[0].Equal(s.certs.leaf) {
			t.Fatal("HTTPS did not present the generated certificate")
		}
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET of a missing upload = %s, want 404", resp.Status)
		}
		// The helper client never dials anything but loopback.
		if _, err := s.HTTPClient().Get("https://example.org/"); err == nil || !strings.Contains(err.Error(), "refusing") {
			t.Errorf("HTTPClient dialled a non-loopback host: %v", err)
		}
	})

	t.Run("Register", func(t *testing.T) {
		j, err := s.Register("Zed", "secret-1")
		if err != nil {
			t.Fatal(err)
		}
		if j != "zed@localhost" {
			t.Fatalf("Register returned %q", j)
		}
		if _, err := s.Register("zed", "secret-2"); err == nil {
			t.Fatal("registering an existing account succeeded")
		}
		// The first password still works: the account was not overwritten.
		mustLogin(t, s, User{JID: j, Password: "secret-1"})

		first := s.Users(t, 2)
		second := s.Users(t, 1)
		var jids []string
		for _, u := range append(first, second...) {
			jids = append(jids, u.JID)
		}
		want := []string{"alice@localhost", "bob@localhost", "carol@localhost"}
		if !slices.Equal(jids, want) {
			t.Fatalf("Users gave %v, want %v", jids, want)
		}
		if first[0].Password == first[1].Password || len(first[0].Password) < 16 {
			t.Fatalf("weak or repeated passwords: %q %q", first[0].Password, first[1].Password)
		}
	})

	t.Run("Login", func(t *testing.T) {
		users := s.Users(t, 2)
		session := mustLogin(t, s, users[0])
		bound := session.LocalAddr()
		if bound.Bare().String() != users[0].JID || bound.Resourcepart() == "" {
			t.Fatalf("bound JID %s, want a full JID for %s", bound, users[0].JID)
		}
		if _, err := login(t, s, User{JID: users[1].JID, Password: users[0].Password}); err == nil {
			t.Fatal("login with a wrong password succeeded")
		}

		got := discoItems(t, session, s.Domain)
		for _, want := range []string{s.MUCDomain, s.UploadDomain} {
			if !slices.Contains(got, want) {
				t.Errorf("server disco#items %v lacks %s", got, want)
			}
		}

		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		info, err := disco.GetInfo(ctx, "", jid.MustParse(s.Domain), session)
		if err != nil {
			t.Fatal(err)
		}
		var features []string
		for _, f := range info.Features {
			features = append(features, f.Var)
		}
		for _, want := range []string{"urn:xmpp:carbons:2", "urn:xmpp:blocking", "urn:xmpp:ping", "jabber:iq:version", "urn:xmpp:time", "jabber:iq:private"} {
			if !slices.Contains(features, want) {
				t.Errorf("server features lack %s: %v", want, features)
			}
		}
		acct, err := disco.GetInfo(ctx, "", jid.MustParse(users[0].JID), session)
		if err != nil {
			t.Fatal(err)
		}
		var acctFeatures []string
		for _, f := range acct.Features {
			acctFeatures = append(acctFeatures, f.Var)
		}
		for _, want := range []string{"urn:xmpp:mam:2", "http://jabber.org/protocol/pubsub#publish"} {
			if !slices.Contains(acctFeatures, want) {
				t.Errorf("account features lack %s: %v", want, acctFeatures)
			}
		}
	})

	t.Run("Upload", func(t *testing.T) {
		u := s.Users(t, 1)[0]
		session := mustLogin(t, s, u)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		body := []byte("hello from the testserver harness\n")
		slot, err := upload.GetSlot(ctx, upload.File{Name: "hello.txt", Size: len(body), Type: "text/plain"}, jid.MustParse(s.UploadDomain), session)
		if err != nil {
			t.Fatalf("request upload slot: %v", err)
		}
		_, port, _ := net.SplitHostPort(s.HTTPSAddr)
		if slot.PutURL.Scheme != "https" || slot.PutURL.Host != "localhost:"+port {
			t.Fatalf("slot URL %s is not on https://localhost:%s", slot.PutURL, port)
		}
		req, err := slot.Put(ctx, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.ContentLength = int64(len(body))
		req.Header.Set("Content-Type", "text/plain")
		client := s.HTTPClient()
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("PUT: %v", err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("PUT = %s, want 201", resp.Status)
		}
		resp, err = client.Get(slot.GetURL.String())
		if err != nil {
			t.Fatalf("GET: %v", err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !bytes.Equal(got, body) {
			t.Fatalf("GET = %s %q, want 200 %q", resp.Status, got, body)
		}
		// Over the configured limit (10 MiB default) the slot is refused.
		_, err = upload.GetSlot(ctx, upload.File{Name: "big.bin", Size: DefaultUploadSizeLimit + 1}, jid.MustParse(s.UploadDomain), session)
		var se stanza.Error
		if !errors.As(err, &se) {
			t.Fatalf("slot over the size limit: got %v, want a stanza error", err)
		}
	})
}

func TestNoUpload(t *testing.T) {
	s := Start(t, Options{NoUpload: true, Verbose: true})
	if s.UploadDomain != "" || s.HTTPSAddr != "" {
		t.Fatalf("NoUpload server has UploadDomain %q HTTPSAddr %q", s.UploadDomain, s.HTTPSAddr)
	}
	session := mustLogin(t, s, s.Users(t, 1)[0])
	got := discoItems(t, session, s.Domain)
	if !slices.Contains(got, MUCDomain) || slices.Contains(got, UploadDomain) {
		t.Fatalf("disco#items %v: want %s and no %s", got, MUCDomain, UploadDomain)
	}
	// Verbose really switches Prosody to debug logging.
	if log, _ := os.ReadFile(s.LogPath()); !bytes.Contains(log, []byte("\tdebug\t")) {
		t.Fatalf("Verbose log has no debug lines:\n%s", s.LogTail(10))
	}
}

// processGone reports whether pid no longer exists (or is a zombie nobody
// waits for, which cannot happen for our children after Wait).
func processGone(pid int) bool {
	return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}

func TestRestartAndStop(t *testing.T) {
	s := Start(t, Options{UploadSizeLimit: 4096})
	u := s.Users(t, 1)[0]
	mustLogin(t, s, u)

	// A custom size limit reaches the config.
	session := mustLogin(t, s, u)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := upload.GetSlot(ctx, upload.File{Name: "ok.bin", Size: 4096}, jid.MustParse(s.UploadDomain), session); err != nil {
		t.Fatalf("slot at the limit: %v", err)
	}
	if _, err := upload.GetSlot(ctx, upload.File{Name: "big.bin", Size: 4097}, jid.MustParse(s.UploadDomain), session); err == nil {
		t.Fatal("slot over a 4096-byte limit was granted")
	}

	// An authenticated client that never reads must not hold up the
	// restart (Prosody waits up to c2s_close_timeout+1 s for sessions to
	// close, and Stop kills after 5 s).
	idle, err := net.Dial("tcp", s.C2SAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	negotiateCtx, negotiateCancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer negotiateCancel()
	if _, err := xmpp.NewClientSession(negotiateCtx, jid.MustParse(u.JID), idle,
		xmpp.StartTLS(s.TLSConfig()), xmpp.SASL("", u.Password, sasl.ScramSha1), xmpp.BindResource()); err != nil {
		t.Fatal(err)
	}

	oldPID, c2s, direct, https := s.PID(), s.C2SAddr, s.DirectTLSAddr, s.HTTPSAddr
	began := time.Now()
	s.Restart(t)
	if d := time.Since(began); d > 4*time.Second {
		t.Errorf("restart with a connected client took %v", d)
	}
	if s.PID() == oldPID || s.PID() == 0 || !processGone(oldPID) {
		t.Fatalf("restart: old pid %d, new pid %d", oldPID, s.PID())
	}
	if s.C2SAddr != c2s || s.DirectTLSAddr != direct || s.HTTPSAddr != https {
		t.Fatal("restart moved the server to other ports")
	}
	// The account survived: data lives in Dir.
	mustLogin(t, s, u)

	// A crash (SIGKILL) followed by Restart also works.
	crashed := s.PID()
	s.Kill()
	if s.PID() != 0 || !processGone(crashed) {
		t.Fatalf("Kill left pid %d", crashed)
	}
	if _, err := net.DialTimeout("tcp", s.C2SAddr, time.Second); err == nil {
		t.Fatal("c2s port still accepts after Kill")
	}
	s.Restart(t)

	// Restart waits out another process holding one of the ports.
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
	blocker, err := net.Listen("tcp", s.C2SAddr)
	if err != nil {
		t.Fatalf("occupy %s: %v", s.C2SAddr, err)
	}
	logStart := len(readFrom(s.LogPath(), 0))
	go func() {
		// Free the port once Prosody has met the clash (however slow its
		// start on a loaded machine), or after a long while regardless.
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			if bytes.Contains(readFrom(s.LogPath(), int64(logStart)), []byte("Failed to open server port")) {
				break
			}
		}
		blocker.Close()
	}()
	if err := s.restart(); err != nil {
		t.Fatalf("restart while the port was briefly taken: %v", err)
	}
	if !bytes.Contains(readFrom(s.LogPath(), 0), []byte("Failed to open server port")) {
		t.Fatal("the port clash was not seen by Prosody; the test proved nothing")
	}
	mustLogin(t, s, u)

	pid := s.PID()
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if !processGone(pid) {
		t.Fatalf("prosody pid %d still exists after Stop", pid)
	}
	if _, err := net.DialTimeout("tcp", s.C2SAddr, time.Second); err == nil {
		t.Fatal("c2s port still accepts after Stop")
	}
	if err := s.Stop(); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
	if _, err := os.Stat(s.Dir); err != nil {
		t.Fatalf("Stop of a test server removed Dir early: %v", err)
	}
}

func TestStartProcess(t *testing.T) {
	Require(t)
	s, err := StartProcess(Options{NoUpload: true})
	if err != nil {
		t.Fatal(err)
	}
	pid := s.PID()
	if _, err := StreamFeatures(s.C2SAddr, s.Domain, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if !processGone(pid) {
		t.Fatalf("pid %d alive after Stop", pid)
	}
	if _, err := os.Stat(s.Dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("StartProcess server's Dir survives Stop: %v", err)
	}
}

func TestStartProcessUnavailable(t *testing.T) {
	t.Setenv("XCHAT_PROSODY", "/nonexistent/prosody")
	_, err := StartProcess(Options{})
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("StartProcess without prosody: %v, want ErrUnavailable", err)
	}
}

// recordingTB stands in for a test so that Start's skip-or-fail decision can
// be observed. Like testing.T, FailNow and SkipNow end the calling goroutine.
type recordingTB struct {
	testing.TB
	mu      sync.Mutex
	fatal   []string
	skipped []string
}

func (r *recordingTB) Helper() {}

func (r *recordingTB) Fatalf(format string, args ...any) {
	r.mu.Lock()
	r.fatal = append(r.fatal, fmt.Sprintf(format, args...))
	r.mu.Unlock()
	runtime.Goexit()
}

func (r *recordingTB) Skipf(format string, args ...any) {
	r.mu.Lock()
	r.skipped = append(r.skipped, fmt.Sprintf(format, args...))
	r.mu.Unlock()
	runtime.Goexit()
}

// runStart calls Start on a recordingTB in its own goroutine.
func runStart(t *testing.T) (*recordingTB, *Server) {
	rec := &recordingTB{TB: t}
	var s *Server
	done := make(chan struct{})
	go func() {
		defer close(done)
		s = Start(rec, Options{})
	}()
	<-done
	return rec, s
}

func TestMissingProsody(t *testing.T) {
	t.Setenv("XCHAT_PROSODY", "/nonexistent/prosody")

	t.Setenv("CI", "true")
	rec, s := runStart(t)
	if s != nil || len(rec.fatal) != 1 || len(rec.skipped) != 0 {
		t.Fatalf("CI=true: fatal %q, skipped %q, server %v; want exactly one failure", rec.fatal, rec.skipped, s)
	}
	if !strings.Contains(rec.fatal[0], "prosody") {
		t.Errorf("failure does not name prosody: %s", rec.fatal[0])
	}

	t.Setenv("CI", "")
	rec, s = runStart(t)
	if s != nil || len(rec.fatal) != 0 || len(rec.skipped) != 1 {
		t.Fatalf("outside CI: fatal %q, skipped %q; want exactly one skip", rec.fatal, rec.skipped)
	}
	if !strings.Contains(rec.skipped[0], "scripts/deps") {
		t.Errorf("skip message does not say how to install: %s", rec.skipped[0])
	}
}

func TestEncodePath(t *testing.T) {
	for in, want := range map[string]string{
		"localhost":     "localhost",
		"alice":         "alice",
		"user.name":     "user%2ename",
		"upload-x":      "upload%2dx",
		"a_b":           "a%5fb",
		"conference.lh": "conference%2elh",
	} {
		if got := encodePath(in); got != want {
			t.Errorf("encodePath(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRenderConfig(t *testing.T) {
	cfg := renderConfig(configParams{
		dir: `/tmp/we"ird`, dataDir: "/d", pidFile: "/p", logFile: "/l", certFile: "/c", keyFile: "/k",
		domain: Domain, mucDomain: MUCDomain, uploadDomain: UploadDomain,
		c2sPort: 1111, directTLSPort: 2222, httpsPort: 3333, uploadSizeLimit: 77,
	})
	for _, want := range []string{
		`certificates = "/tmp/we\"ird"`,
		"c2s_ports = { 1111 }",
		"c2s_direct_tls_ports = { 2222 }",
		"https_ports = { 3333 }",
		`http_external_url = "https://localhost:3333/"`,
		"http_file_share_size_limit = 77",
		`modules_disabled = { "s2s" }`,
		"log = { info = ",
	} {
		if !strings.Contains(cfg, want) {
			t.Errorf("config lacks %q:\n%s", want, cfg)
		}
	}
	if strings.Contains(cfg, "run_as_root") {
		t.Error("run_as_root set for a non-root config")
	}
}
