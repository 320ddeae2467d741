package main

// Helpers of the end-to-end tests: they build the xchat binary once, give
// each simulated user a private home (XDG directories and a config file
// for an account on the Prosody harness), run the binary, and drive
// in-test session clients that play the other side of a conversation.

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"xchat/internal/demo"
	"xchat/internal/testserver"
	"xchat/internal/tmuxtest"
	"xchat/session"
	"xchat/store"
)

// e2eVersion is stamped into the test binary, so that --version can be
// checked exactly.
const e2eVersion = "v0.0.0-e2e"

var (
	buildOnce sync.Once
	buildDir  string // removed by TestMain
	buildBin  string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// xchatBinary builds cmd/xchat once per test process (without -race, for
// speed) and returns the path of the binary.
func xchatBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "xchat-e2e-bin-")
		if buildErr != nil {
			return
		}
		buildBin = filepath.Join(buildDir, "xchat")
		cmd := exec.Command(goTool(), "build", "-o", buildBin,
			"-ldflags=-X main.version="+e2eVersion, ".")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildBin
}

// goTool is the go command of the toolchain running the tests.
func goTool() string {
	if p := filepath.Join(os.Getenv("GOROOT"), "bin", "go"); os.Getenv("GOROOT") != "" {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return "go"
}

// home is the private environment of one xchat user.
type home struct {
	dir    string
	user   testserver.User
	config string // $XDG_CONFIG_HOME/xchat/config.toml
	db     string // the history database the binary uses
	env    []string
}

// newHome makes XDG directories under a temporary directory and writes a
// config for u on srv (nil srv: no config file). dbOverride, when set, is
// passed as XCHAT_DB; else the database is the XDG default.
func newHome(t *testing.T, srv *testserver.Server, u testserver.User, dbOverride string) *home {
	t.Helper()
	dir := t.TempDir()
	h := &home{dir: dir, user: u}
	xdgs := map[string]string{}
	for _, d := range []string{"config", "data", "state", "cache"} {
		p := filepath.Join(dir, d)
		if err := os.MkdirAll(p, 0o700); err != nil {
			t.Fatal(err)
		}
		xdgs[d] = p
	}
	h.config = filepath.Join(xdgs["config"], "xchat", "config.toml")
	h.db = filepath.Join(xdgs["data"], "xchat", "xchat.db")
	if dbOverride != "" {
		h.db = dbOverride
	}
	h.env = []string{
		"HOME=" + dir,
		"XDG_CONFIG_HOME=" + xdgs["config"],
		"XDG_DATA_HOME=" + xdgs["data"],
		"XDG_STATE_HOME=" + xdgs["state"],
		"XDG_CACHE_HOME=" + xdgs["cache"],
		"XCHAT_DB=" + dbOverride,
		"XCHAT_OPEN=",
		"NO_COLOR=",
	}
	if srv != nil {
		h.writeConfig(t, demo.AccountConfig(srv, u))
	}
	return h
}

// writeConfig replaces the config file.
func (h *home) writeConfig(t *testing.T, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(h.config), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(h.config, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

// with returns the environment plus extra KEY=VALUE pairs.
func (h *home) with(extra ...string) []string {
	return append(append([]string(nil), h.env...), extra...)
}

// result is what a finished xchat run left behind.
type result struct {
	stdout, stderr string
	code           int
	took           time.Duration
}

func (r result) String() string {
	return fmt.Sprintf("exit %d after %v\nstdout:\n%s\nstderr:\n%s", r.code, r.took.Round(time.Millisecond), r.stdout, r.stderr)
}

// runXchat runs the binary with h's environment (h may be nil: an empty
// one) and waits at most a minute.
func runXchat(t *testing.T, h *home, args ...string) result {
	t.Helper()
	if h == nil {
		h = newHome(t, nil, testserver.User{}, "")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, xchatBinary(t), args...)
	cmd.Env = append(baseEnv(), h.env...)
	cmd.Stdin = nil
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String(), took: time.Since(start)}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee) && ee.Exited():
		r.code = ee.ExitCode()
	default:
		t.Fatalf("xchat %q: %v\n%s", args, err, r)
	}
	return r
}

// baseEnv is the test's environment without the variables xchat reads,
// which the home sets.
func baseEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "XDG_") || strings.HasPrefix(k, "XCHAT_") || k == "HOME" || k == "NO_COLOR" {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// oneLineOf checks that s is exactly one newline-terminated line and
// returns it without the newline.
func oneLineOf(t *testing.T, what, s string) string {
	t.Helper()
	if !strings.HasSuffix(s, "\n") || strings.Count(s, "\n") != 1 {
		t.Errorf("%s is not exactly one line: %q", what, s)
	}
	return strings.TrimSuffix(s, "\n")
}

// client is an in-test session.Client with its events recorded.
type client struct {
	t      *testing.T
	c      *session.Client
	st     *store.Store
	events chan session.Event
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
}

// startClient logs u in with its own store and, with approve, grants every
// subscription request it gets (in the background).
func startClient(t *testing.T, srv *testserver.Server, u testserver.User, resource string, approve bool) *client {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "client.db"))
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	cfg := demo.ClientConfig(srv, u, resource)
	cfg.MinBackoff, cfg.MaxBackoff = 200*time.Millisecond, time.Second
	c, err := session.New(cfg, st, slog.New(slog.DiscardHandler))
	if err != nil {
		cancel()
		st.Close()
		t.Fatal(err)
	}
	cl := &client{t: t, c: c, st: st, events: make(chan session.Event, 8192), cancel: cancel, done: make(chan error, 1)}
	go func() { cl.done <- c.Run(ctx) }()
	go func() {
		for ev := range c.Events() {
			if e, ok := ev.(session.SubscriptionRequestEvent); ok && approve {
				go func() { _ = c.Approve(ctx, e.From) }()
			}
			select {
			case cl.events <- ev:
			default: // nobody reads: drop rather than stall the session
			}
		}
		close(cl.events)
	}()
	t.Cleanup(cl.stop)
	return cl
}

func (cl *client) stop() {
	cl.once.Do(func() {
		cl.cancel()
		select {
		case <-cl.done:
		case <-time.After(10 * time.Second):
			cl.t.Error("session.Client.Run did not return after cancel")
		}
		cl.st.Close()
	})
}

// waitFor reads events until match accepts one or timeout passes.
func (cl *client) waitFor(what string, timeout time.Duration, match func(session.Event) bool) session.Event {
	cl.t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case ev, ok := <-cl.events:
			if !ok {
				cl.t.Fatalf("%s: events closed while waiting for %s", cl.c.Account(), what)
			}
			if match(ev) {
				return ev
			}
		case <-deadline:
			cl.t.Fatalf("%s: timed out after %v waiting for %s", cl.c.Account(), timeout, what)
		}
	}
}

func (cl *client) waitOnline() {
	cl.t.Helper()
	cl.waitFor("online", 20*time.Second, func(ev session.Event) bool {
		e, ok := ev.(session.StateEvent)
		if ok && e.State == session.Offline && e.Err != nil {
			cl.t.Fatalf("%s: login failed: %v", cl.c.Account(), e.Err)
		}
		return ok && e.State == session.Online
	})
}

// waitMessage waits for the next incoming chat message from peer and
// returns it.
func (cl *client) waitMessage(from string) store.Message {
	cl.t.Helper()
	ev := cl.waitFor("a message from "+from, 20*time.Second, func(ev session.Event) bool {
		e, ok := ev.(session.MessageEvent)
		return ok && e.Message.Direction == store.Incoming && e.Message.Peer == from
	})
	return ev.(session.MessageEvent).Message
}

// send sends a message and waits until the server has it.
func (cl *client) send(to, body string) {
	cl.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	m, err := cl.c.SendMessage(ctx, to, body)
	if err != nil {
		cl.t.Fatalf("%s: send to %s: %v", cl.c.Account(), to, err)
	}
	cl.waitFor("the server to take message "+fmt.Sprint(m.ID), 20*time.Second, func(ev session.Event) bool {
		e, ok := ev.(session.MessageStateEvent)
		if ok && e.ID == m.ID && e.State == store.StateFailed {
			cl.t.Fatalf("%s: message to %s failed: %s", cl.c.Account(), to, e.Error)
		}
		return ok && e.ID == m.ID && e.State >= store.StateSent
	})
}

// befriend makes a and b contacts with mutual presence subscriptions;
// aName is the name a gives b in its roster.
func befriend(t *testing.T, srv *testserver.Server, a, b testserver.User, aName string) {
	t.Helper()
	ca := startClient(t, srv, a, "setup", true)
	cb := startClient(t, srv, b, "setup", true)
	ca.waitOnline()
	cb.waitOnline()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := ca.c.AddContact(ctx, b.JID, aName); err != nil {
		t.Fatalf("add contact: %v", err)
	}
	mutual := func(cl *client, other string) {
		cl.waitFor(other+" with subscription both", 20*time.Second, func(ev session.Event) bool {
			e, ok := ev.(session.RosterEvent)
			if !ok {
				return false
			}
			for _, c := range e.Contacts {
				if c.JID == other && c.Subscription == "both" {
					return true
				}
			}
			return false
		})
	}
	mutual(ca, b.JID)
	mutual(cb, a.JID)
	ca.stop()
	cb.stop()
}

// prefill stores messages from peer to h's account before xchat starts;
// with read, the conversation has no unread messages.
func prefill(t *testing.T, h *home, peer string, ts []time.Time, bodies []string, read bool) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, h.db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ms := make([]*store.Message, len(bodies))
	for i, body := range bodies {
		ms[i] = &store.Message{
			Account:   h.user.JID,
			Peer:      peer,
			Kind:      store.KindChat,
			Direction: store.Incoming,
			Sender:    peer,
			Body:      body,
			Type:      "chat",
			OriginID:  fmt.Sprintf("prefill-%d", i),
			Timestamp: ts[i],
			Received:  ts[i],
			State:     store.StateReceived,
		}
	}
	n, err := st.AddMessages(ctx, ms)
	if err != nil || n != len(ms) {
		t.Fatalf("prefill: stored %d of %d: %v", n, len(ms), err)
	}
	if read {
		if err := st.MarkRead(ctx, h.user.JID, peer); err != nil {
			t.Fatal(err)
		}
	}
}

// startTUI runs the interface of h in a new tmux session of the default
// size, with extra environment, and waits until its account is online.
func startTUI(t *testing.T, h *home, opts tmuxtest.Options, extraEnv ...string) *tmuxtest.Session {
	t.Helper()
	opts.Env = append(h.with(extraEnv...), opts.Env...)
	s := tmuxtest.Start(t, opts, xchatBinary(t))
	waitOnline(t, s, h.user.JID)
	return s
}

// waitOnline waits until the roster header of account jid says online.
func waitOnline(t *testing.T, s *tmuxtest.Session, jid string) string {
	t.Helper()
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(jid) + ` +online *│`)
	return s.WaitFor(jid+" online in the roster", re.MatchString)
}

// openDBReadOnly opens a database file read-only, beside a writer.
func openDBReadOnly(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// dumpMessages logs the message rows of a database, for failures that
// depend on what the store holds.
func dumpMessages(t *testing.T, path string) {
	t.Helper()
	db := openDBReadOnly(t, path)
	rows, err := db.Query(`SELECT id, direction, ts, received, state, body FROM messages ORDER BY id`)
	if err != nil {
		t.Logf("dump %s: %v", path, err)
		return
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var id, dir, ts, recv, state int64
		var body string
		if err := rows.Scan(&id, &dir, &ts, &recv, &state, &body); err != nil {
			t.Logf("dump %s: %v", path, err)
			return
		}
		fmt.Fprintf(&b, "id=%d dir=%d ts=%d received=%d state=%d body=%q\n", id, dir, ts, recv, state, body)
	}
	t.Logf("messages in %s:\n%s", path, b.String())
}

// chatColumn returns the part of a screen row right of the roster.
func chatColumn(row string) string {
	_, chat, ok := strings.Cut(row, "│")
	if !ok {
		return ""
	}
	return chat
}
