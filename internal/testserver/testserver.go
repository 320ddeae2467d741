package testserver

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// Fixed names served by every test server. They need no DNS: clients dial the
// loopback addresses in Server and use these only as XMPP domains and TLS
// server names.
const (
	Domain       = "localhost"
	MUCDomain    = "conference.localhost"
	UploadDomain = "upload.localhost"
)

// DefaultUploadSizeLimit is the http_file_share size limit used when
// Options.UploadSizeLimit is zero.
const DefaultUploadSizeLimit = 10 << 20

// Timeouts for the process life cycle.
const (
	startTimeout = 30 * time.Second
	stopGrace    = 5 * time.Second
)

// ErrUnavailable is returned (wrapped) by StartProcess when the Prosody
// binaries cannot be found.
var ErrUnavailable = errors.New("prosody is not available")

// Options tune a server.
type Options struct {
	// NoUpload omits the http_file_share component and the HTTPS listener.
	NoUpload bool
	// UploadSizeLimit is the largest upload accepted, in bytes;
	// DefaultUploadSizeLimit when zero.
	UploadSizeLimit int64
	// Verbose logs at debug level in Prosody's log file.
	Verbose bool
	// KeepDir keeps Dir (config, data, logs) after the server stops. Without
	// it, Dir is removed by Stop (StartProcess) or by the test cleanup when
	// the test passed (Start; a failed test always keeps it).
	KeepDir bool
}

// User is a registered account.
type User struct {
	JID      string // bare JID, e.g. "alice@localhost"
	Password string
}

// Server is a running Prosody instance.
type Server struct {
	Domain        string // "localhost"
	MUCDomain     string // "conference.localhost"
	UploadDomain  string // "upload.localhost", or "" with Options.NoUpload
	C2SAddr       string // "127.0.0.1:PORT", STARTTLS required
	DirectTLSAddr string // "127.0.0.1:PORT", XEP-0368 direct TLS
	HTTPSAddr     string // "127.0.0.1:PORT", or "" with Options.NoUpload
	CAFile        string // PEM of the CA that signed the server certificate
	CAPool        *x509.CertPool
	Dir           string // temporary directory with config, data and logs

	opts     Options
	bin      string // prosody
	ctl      string // prosodyctl
	cfgPath  string
	logPath  string
	outPath  string // prosody's own stdout/stderr
	pidPath  string
	certs    *certSet
	ownsDir  bool // Stop removes Dir (StartProcess servers)
	c2sPort  int
	tlsPort  int
	httpPort int

	mu       sync.Mutex
	proc     *process
	nextUser int
	removed  bool
}

// process is one run of the prosody binary.
type process struct {
	cmd      *exec.Cmd
	done     chan struct{} // closed when the process has exited
	err      error         // Wait's result, valid after done is closed
	expected atomic.Bool   // we signalled it, so its exit is no surprise
}

// binaries locates prosody and prosodyctl, honouring XCHAT_PROSODY and
// XCHAT_PROSODYCTL.
func binaries() (prosody, prosodyctl string, err error) {
	prosody = os.Getenv("XCHAT_PROSODY")
	if prosody == "" {
		prosody = "prosody"
	}
	if prosody, err = exec.LookPath(prosody); err != nil {
		return "", "", fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	prosodyctl = os.Getenv("XCHAT_PROSODYCTL")
	if prosodyctl == "" {
		// Prefer the prosodyctl installed next to the chosen prosody.
		prosodyctl = filepath.Join(filepath.Dir(prosody), "prosodyctl")
		if _, statErr := os.Stat(prosodyctl); statErr != nil {
			prosodyctl = "prosodyctl"
		}
	}
	if prosodyctl, err = exec.LookPath(prosodyctl); err != nil {
		return "", "", fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	return prosody, prosodyctl, nil
}

// inCI reports whether the CI environment variable is set to a true value.
func inCI() bool {
	v, err := strconv.ParseBool(os.Getenv("CI"))
	return err == nil && v
}

// Require skips the test when Prosody is not installed, or fails it when the
// CI environment variable is true, since CI must run the integration tests.
func Require(tb testing.TB) {
	tb.Helper()
	if _, _, err := binaries(); err != nil {
		unavailable(tb, err)
	}
}

func unavailable(tb testing.TB, err error) {
	tb.Helper()
	if inCI() {
		tb.Fatalf("testserver: %v (CI=true, so this is a failure, not a skip; scripts/deps installs prosody)", err)
	}
	tb.Skipf("testserver: %v (run scripts/deps to install it)", err)
}

// Start starts a server for the test and stops it in the test's cleanup. On
// test failure the cleanup logs the tail of Prosody's log and keeps Dir.
func Start(tb testing.TB, opts Options) *Server {
	tb.Helper()
	Require(tb)
	s, err := newServer(opts, false)
	if err != nil {
		tb.Fatalf("testserver: %v", err)
		return nil
	}
	if err := s.startFresh(); err != nil {
		tb.Logf("testserver: prosody dir kept at %s", s.Dir)
		tb.Fatalf("testserver: %v", err)
		return nil
	}
	tb.Cleanup(func() {
		failed := tb.Failed()
		if failed {
			tb.Logf("testserver: prosody log %s (dir kept), last lines:\n%s", s.LogPath(), s.LogTail(40))
		}
		if err := s.stop(); err != nil {
			tb.Errorf("testserver: %v\n%s", err, s.LogTail(40))
			failed = true
		}
		if !failed && !opts.KeepDir {
			s.removeDir()
		}
	})
	return s
}

// StartProcess starts a server outside of a test. The caller must call Stop.
// It returns an error wrapping ErrUnavailable when Prosody is not installed.
func StartProcess(opts Options) (*Server, error) {
	if _, _, err := binaries(); err != nil {
		return nil, err
	}
	s, err := newServer(opts, true)
	if err != nil {
		return nil, err
	}
	if err := s.startFresh(); err != nil {
		return nil, fmt.Errorf("%w (prosody dir kept at %s)", err, s.Dir)
	}
	return s, nil
}

// newServer prepares the directory, certificates and paths.
func newServer(opts Options, ownsDir bool) (_ *Server, err error) {
	bin, ctl, err := binaries()
	if err != nil {
		return nil, err
	}
	if opts.UploadSizeLimit <= 0 {
		opts.UploadSizeLimit = DefaultUploadSizeLimit
	}
	dir, err := os.MkdirTemp("", "xchat-prosody-")
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(dir)
		}
	}()
	s := &Server{
		Domain:    Domain,
		MUCDomain: MUCDomain,
		Dir:       dir,
		opts:      opts,
		bin:       bin,
		ctl:       ctl,
		cfgPath:   filepath.Join(dir, "prosody.cfg.lua"),
		logPath:   filepath.Join(dir, "prosody.log"),
		outPath:   filepath.Join(dir, "prosody.out"),
		pidPath:   filepath.Join(dir, "prosody.pid"),
		ownsDir:   ownsDir && !opts.KeepDir,
	}
	if !opts.NoUpload {
		s.UploadDomain = UploadDomain
	}
	if err := os.Mkdir(filepath.Join(dir, "data"), 0o750); err != nil {
		return nil, err
	}
	s.certs, err = writeCerts(dir, []string{Domain, MUCDomain, UploadDomain})
	if err != nil {
		return nil, err
	}
	s.CAFile = s.certs.caFile
	s.CAPool = x509.NewCertPool()
	s.CAPool.AddCert(s.certs.caCert)
	return s, nil
}

// startFresh picks ports and starts Prosody, retrying with new ports when
// another process grabbed one of them in the meantime.
func (s *Server) startFresh() error {
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		if err = s.pickPorts(); err != nil {
			return err
		}
		if err = s.launch(); !errors.Is(err, errPortClash) {
			return err
		}
	}
	return err
}

var errPortClash = errors.New("prosody could not bind a port")

// pickPorts reserves distinct free loopback ports and writes the config.
func (s *Server) pickPorts() error {
	n := 3
	if s.opts.NoUpload {
		n = 2
	}
	ports := make([]int, 0, n)
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return fmt.Errorf("find a free port: %w", err)
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	s.c2sPort, s.tlsPort = ports[0], ports[1]
	s.C2SAddr = addr(s.c2sPort)
	s.DirectTLSAddr = addr(s.tlsPort)
	if !s.opts.NoUpload {
		s.httpPort = ports[2]
		s.HTTPSAddr = addr(s.httpPort)
	}
	return writeConfig(s.cfgPath, configParams{
		runAsRoot:       os.Geteuid() == 0,
		dir:             s.Dir,
		dataDir:         filepath.Join(s.Dir, "data"),
		pidFile:         s.pidPath,
		logFile:         s.logPath,
		certFile:        s.certs.certFile,
		keyFile:         s.certs.keyFile,
		domain:          s.Domain,
		mucDomain:       s.MUCDomain,
		uploadDomain:    s.UploadDomain,
		c2sPort:         s.c2sPort,
		directTLSPort:   s.tlsPort,
		httpsPort:       s.httpPort,
		uploadSizeLimit: s.opts.UploadSizeLimit,
		verbose:         s.opts.Verbose,
	})
}

func addr(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }

// launch runs prosody with the current config and waits until it serves
// clients.
func (s *Server) launch() error {
	logStart := fileSize(s.logPath)
	out, err := os.OpenFile(s.outPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer out.Close() // the child keeps its own descriptor

	cmd := exec.Command(s.bin, "--config", s.cfgPath, "-F")
	cmd.Dir = s.Dir
	cmd.Stdin = nil
	cmd.Stdout = out
	cmd.Stderr = out
	cmd.SysProcAttr = procAttr()

	p := &process{cmd: cmd, done: make(chan struct{})}
	started := make(chan error, 1)
	go func() {
		// Pdeathsig fires when the thread that forked the child exits, so
		// keep this goroutine on its thread for the child's whole life.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		p.err = cmd.Wait()
		close(p.done)
	}()
	if err := <-started; err != nil {
		return fmt.Errorf("start %s: %w", s.bin, err)
	}
	s.mu.Lock()
	s.proc = p
	s.mu.Unlock()

	if err := s.waitReady(p, logStart); err != nil {
		s.kill(p)
		if errors.Is(err, errPortClash) {
			return err
		}
		return fmt.Errorf("%w\nprosody log (%s):\n%s", err, s.logPath, s.LogTail(40))
	}
	return nil
}

// waitReady polls until the c2s port answers with stream features, then
// checks the log for listeners that failed to bind.
func (s *Server) waitReady(p *process, logStart int64) error {
	deadline := time.Now().Add(startTimeout)
	var lastErr error
	for time.Now().Before(deadline) {
		select {
		case <-p.done:
			if logHasBindFailure(s.logPath, logStart) {
				return errPortClash
			}
			return fmt.Errorf("prosody exited during startup (%v); output:\n%s", p.err, tail(s.outPath, 20))
		default:
		}
		if logHasBindFailure(s.logPath, logStart) {
			return errPortClash
		}
		_, err := StreamFeatures(s.C2SAddr, s.Domain, time.Second)
		if err == nil {
			// Startup is synchronous: once c2s answers, every listener has
			// been opened or has logged its failure.
			if logHasBindFailure(s.logPath, logStart) {
				return errPortClash
			}
			return nil
		}
		lastErr = err
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("prosody not ready after %v: %v", startTimeout, lastErr)
}

// logHasBindFailure reports whether the log written since offset says a
// listener could not be opened.
func logHasBindFailure(path string, offset int64) bool {
	data := readFrom(path, offset)
	return bytes.Contains(data, []byte("Failed to open server port")) ||
		bytes.Contains(data, []byte("Error binding encrypted port"))
}

// StreamFeatures opens a plain TCP connection to a c2s address, sends a
// stream header for domain and returns the inner XML of the
// <stream:features/> element the server answers with.
func StreamFeatures(address, domain string, timeout time.Duration) (string, error) {
	conn, err := net.DialTimeout("tcp", address, timeout)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(timeout)); err != nil {
		return "", err
	}
	header := fmt.Sprintf("<?xml version='1.0'?><stream:stream to='%s' version='1.0' xml:lang='en' "+
		"xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>", domain)
	if _, err := io.WriteString(conn, header); err != nil {
		return "", err
	}
	d := xml.NewDecoder(conn)
	for {
		tok, err := d.Token()
		if err != nil {
			return "", fmt.Errorf("read stream features: %w", err)
		}
		start, ok := tok.(xml.StartElement)
		if !ok || start.Name.Local == "stream" {
			continue
		}
		if start.Name.Space != "http://etherx.jabber.org/streams" || start.Name.Local != "features" {
			return "", fmt.Errorf("expected stream features, got <%s xmlns=%q>", start.Name.Local, start.Name.Space)
		}
		var f struct {
			Inner string `xml:",innerxml"`
		}
		if err := d.DecodeElement(&f, &start); err != nil {
			return "", err
		}
		return f.Inner, nil
	}
}

// Stop stops Prosody: SIGTERM, then SIGKILL after 5 s. A StartProcess server
// also removes Dir unless Options.KeepDir. Stop reports an error when Prosody
// had exited on its own before. Calling Stop again is a no-op.
func (s *Server) Stop() error {
	err := s.stop()
	if s.ownsDir {
		s.removeDir()
	}
	return err
}

func (s *Server) stop() error {
	s.mu.Lock()
	p := s.proc
	s.proc = nil
	s.mu.Unlock()
	if p == nil {
		return nil
	}
	select {
	case <-p.done:
		if !p.expected.Load() {
			return fmt.Errorf("prosody (pid %d) had exited unexpectedly: %v", p.cmd.Process.Pid, p.err)
		}
		return nil
	default:
	}
	p.expected.Store(true)
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return nil
	case <-time.After(stopGrace):
	}
	_ = p.cmd.Process.Kill()
	<-p.done
	return fmt.Errorf("prosody (pid %d) ignored SIGTERM for %v and was killed", p.cmd.Process.Pid, stopGrace)
}

// kill ends p at once and waits for it.
func (s *Server) kill(p *process) {
	p.expected.Store(true)
	_ = p.cmd.Process.Kill()
	<-p.done
	s.mu.Lock()
	if s.proc == p {
		s.proc = nil
	}
	s.mu.Unlock()
}

// Kill ends Prosody abruptly with SIGKILL, as in a crash; Restart brings it
// back.
func (s *Server) Kill() {
	s.mu.Lock()
	p := s.proc
	s.mu.Unlock()
	if p != nil {
		s.kill(p)
	}
}

func (s *Server) removeDir() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.removed {
		s.removed = true
		os.RemoveAll(s.Dir)
	}
}

// Restart stops Prosody and starts it again on the same ports with the same
// data, so accounts, rosters and archives survive.
func (s *Server) Restart(tb testing.TB) {
	tb.Helper()
	if err := s.restart(); err != nil {
		tb.Fatalf("testserver: restart: %v", err)
	}
}

func (s *Server) restart() error {
	if err := s.stop(); err != nil {
		return err
	}
	var err error
	for attempt := 0; attempt < 10; attempt++ {
		// The ports are fixed now; a clash can only be waited out.
		if err = s.launch(); !errors.Is(err, errPortClash) {
			return err
		}
		time.Sleep(200 * time.Millisecond)
	}
	return err
}

// PID returns the process id of the running Prosody, or 0 when stopped.
func (s *Server) PID() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		return 0
	}
	return s.proc.cmd.Process.Pid
}

// Prosodyctl runs prosodyctl against this server's config and returns its
// combined output.
func (s *Server) Prosodyctl(args ...string) (string, error) {
	cmd := exec.Command(s.ctl, append([]string{"--config", s.cfgPath}, args...)...)
	cmd.Dir = s.Dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("prosodyctl %s: %w: %s", args[0], err, bytes.TrimSpace(out))
	}
	return string(out), nil
}

// Register creates a new account on Domain and returns its bare JID. It
// fails when the account already exists (prosodyctl itself would silently
// reset the password).
func (s *Server) Register(user, password string) (string, error) {
	user = strings.ToLower(user) // Prosody nodepreps; this covers ASCII names
	j := user + "@" + s.Domain
	if s.userExists(user) {
		return "", fmt.Errorf("register %s: account exists", j)
	}
	// "register" takes the password as an argument; adduser would prompt.
	if _, err := s.Prosodyctl("register", user, s.Domain, password); err != nil {
		return "", err
	}
	if !s.userExists(user) {
		return "", fmt.Errorf("register %s: prosodyctl succeeded but the account is missing", j)
	}
	return j, nil
}

// userExists checks the internal storage file for the account.
func (s *Server) userExists(user string) bool {
	_, err := os.Stat(filepath.Join(s.Dir, "data", encodePath(s.Domain), "accounts", encodePath(user)+".dat"))
	return err == nil
}

// encodePath mirrors Prosody's datamanager file name encoding: every byte
// outside [a-zA-Z0-9] becomes %XX (lower-case hex).
func encodePath(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02x", c)
		}
	}
	return b.String()
}

var userNames = []string{
	"alice", "bob", "carol", "dave", "eve", "frank", "grace", "heidi", "ivan", "judy",
}

// Users registers n accounts that were not handed out before on this server
// (alice, bob, carol, ... then user11, user12, ...) with random passwords.
func (s *Server) Users(tb testing.TB, n int) []User {
	tb.Helper()
	s.mu.Lock()
	first := s.nextUser
	s.nextUser += n
	s.mu.Unlock()

	users := make([]User, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	for i := range users {
		idx := first + i
		name := "user" + strconv.Itoa(idx+1)
		if idx < len(userNames) {
			name = userNames[idx]
		}
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			pw := randomPassword()
			j, err := s.Register(name, pw)
			users[i], errs[i] = User{JID: j, Password: pw}, err
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		tb.Fatalf("testserver: register users: %v", err)
	}
	return users
}

func randomPassword() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// LogPath returns the path of Prosody's log file.
func (s *Server) LogPath() string { return s.logPath }

// LogTail returns the last n lines of Prosody's log.
func (s *Server) LogTail(n int) string { return tail(s.logPath, n) }

// TLSConfig returns a client TLS config that trusts the server's CA and
// verifies the certificate for Domain.
func (s *Server) TLSConfig() *tls.Config {
	return &tls.Config{RootCAs: s.CAPool, ServerName: s.Domain, MinVersion: tls.VersionTLS12}
}

// HTTPClient returns an HTTP client for upload and download URLs: it trusts
// the server's CA and sends "localhost" and "*.localhost" to 127.0.0.1
// without a resolver lookup. Other hosts are refused.
func (s *Server) HTTPClient() *http.Client {
	dialer := &net.Dialer{Timeout: 10 * time.Second}
	tr := &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: s.CAPool, MinVersion: tls.VersionTLS12},
		DialContext: func(ctx context.Context, network, address string) (net.Conn, error) {
			host, port, err := net.SplitHostPort(address)
			if err != nil {
				return nil, err
			}
			if host != "localhost" && !strings.HasSuffix(host, ".localhost") && host != "127.0.0.1" {
				return nil, fmt.Errorf("testserver: refusing to dial non-loopback host %q", host)
			}
			return dialer.DialContext(ctx, network, net.JoinHostPort("127.0.0.1", port))
		},
		ForceAttemptHTTP2: true,
	}
	return &http.Client{Transport: tr, Timeout: 60 * time.Second}
}

func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

func readFrom(path string, offset int64) []byte {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return nil
	}
	data, _ := io.ReadAll(f)
	return data
}

// tail returns the last n lines of a file, or a note when it is unreadable.
func tail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", path, err)
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
