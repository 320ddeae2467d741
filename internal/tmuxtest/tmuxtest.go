package tmuxtest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Defaults for Options.
const (
	DefaultWidth  = 100
	DefaultHeight = 30
	DefaultTerm   = "xterm-256color"
	// DefaultTimeout bounds WaitFor and WaitForText.
	DefaultTimeout = 15 * time.Second
	// PollInterval is how often WaitFor captures the screen.
	PollInterval = 100 * time.Millisecond
)

// target names the one pane of a Session on its private server.
const target = "main:0.0"

// serverConf is the configuration of every private server: no status line
// so the pane has the full window size, dead panes kept so a crash can be
// inspected, and no delay after Escape.
const serverConf = `set -g status off
set -g remain-on-exit on
set -g history-limit 5000
set -s escape-time 0
`

// Require skips the test when tmux is not installed; with CI=true it fails
// it instead, since CI must run the terminal tests.
func Require(tb testing.TB) {
	tb.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		if v, perr := strconv.ParseBool(os.Getenv("CI")); perr == nil && v {
			tb.Fatalf("tmuxtest: tmux is not installed (CI=true, so this is a failure, not a skip): %v", err)
		}
		tb.Skipf("tmuxtest: tmux is not installed: %v", err)
	}
}

// Options describe the terminal a program runs in.
type Options struct {
	Width, Height int      // pane size in cells; DefaultWidth x DefaultHeight when zero
	Env           []string // KEY=VALUE pairs added to the program's environment
	Dir           string   // working directory; the test process's when empty
	Term          string   // TERM of the program; DefaultTerm when empty
}

// Session is one program running in a pane of a private tmux server.
type Session struct {
	tb     testing.TB
	dir    string // holds the socket and the configuration
	socket string
	last   string // the last captured screen, logged on failure
}

// Start runs command (program and arguments, executed directly, without a
// shell) in a new detached tmux session and returns it. The process id of
// the pane (PanePID) is the program's. The server is killed in tb's
// cleanup.
func Start(tb testing.TB, opts Options, command ...string) *Session {
	tb.Helper()
	Require(tb)
	if len(command) == 0 {
		tb.Fatal("tmuxtest: no command")
	}
	if opts.Width <= 0 {
		opts.Width = DefaultWidth
	}
	if opts.Height <= 0 {
		opts.Height = DefaultHeight
	}
	if opts.Term == "" {
		opts.Term = DefaultTerm
	}
	// Socket paths are limited to about 100 bytes, so the directory is a
	// short one of its own rather than tb.TempDir().
	dir, err := os.MkdirTemp("", "tmuxtest-")
	if err != nil {
		tb.Fatalf("tmuxtest: %v", err)
	}
	s := &Session{tb: tb, dir: dir, socket: filepath.Join(dir, "sock")}
	conf := filepath.Join(dir, "tmux.conf")
	if err := os.WriteFile(conf, []byte(serverConf), 0o600); err != nil {
		os.RemoveAll(dir)
		tb.Fatalf("tmuxtest: %v", err)
	}
	tb.Cleanup(s.cleanup)

	// env(1) sets the variables and then executes the program, so the
	// pane's process becomes the program itself; with two or more
	// arguments tmux executes the command without a shell.
	argv := []string{"-f", conf, "new-session", "-d", "-s", "main",
		"-x", strconv.Itoa(opts.Width), "-y", strconv.Itoa(opts.Height)}
	if opts.Dir != "" {
		argv = append(argv, "-c", opts.Dir)
	}
	argv = append(argv, "--", "env", "TERM="+opts.Term)
	argv = append(argv, opts.Env...)
	argv = append(argv, command...)
	if _, err := s.Run(argv...); err != nil {
		tb.Fatalf("tmuxtest: start %q: %v", command, err)
	}
	return s
}

// cleanup logs the screen of a failed test and stops the server.
func (s *Session) cleanup() {
	if s.tb.Failed() {
		if screen, err := s.capture(); err == nil {
			s.last = screen
		}
		s.tb.Logf("tmuxtest: last screen (%s):\n%s", s.socket, frame(s.last))
	}
	_, _ = s.Run("kill-server")
	os.RemoveAll(s.dir)
}

// frame draws a screen with a border so trailing blanks and empty lines
// show in a log.
func frame(screen string) string {
	var b strings.Builder
	lines := strings.Split(strings.TrimRight(screen, "\n"), "\n")
	b.WriteString("┌\n")
	for _, l := range lines {
		b.WriteString("│")
		b.WriteString(l)
		b.WriteString("\n")
	}
	b.WriteString("└")
	return b.String()
}

// Run runs a tmux command on the session's server and returns its
// standard output.
func (s *Session) Run(args ...string) (string, error) {
	cmd := exec.Command("tmux", append([]string{"-S", s.socket}, args...)...)
	cmd.Env = clientEnv()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("tmux %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// clientEnv is the environment of tmux client commands: the test's,
// without the variables that would tie it to an enclosing tmux.
func clientEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "TMUX=") || strings.HasPrefix(kv, "TMUX_PANE=") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// must runs a tmux command and fails the test when it fails.
func (s *Session) must(args ...string) string {
	s.tb.Helper()
	out, err := s.Run(args...)
	if err != nil {
		s.tb.Fatalf("tmuxtest: %v\nscreen:\n%s", err, frame(s.last))
	}
	return out
}

// SendText types text literally: every character is sent as is, with no
// key-name interpretation.
func (s *Session) SendText(text string) {
	s.tb.Helper()
	s.must("send-keys", "-t", target, "-l", "--", text)
}

// SendKeys presses named keys, e.g. "Enter", "PageUp", "Tab", "C-c".
func (s *Session) SendKeys(keys ...string) {
	s.tb.Helper()
	s.must(append([]string{"send-keys", "-t", target, "--"}, keys...)...)
}

// capture returns the visible screen, one line per row, trailing blanks
// trimmed.
func (s *Session) capture() (string, error) {
	return s.Run("capture-pane", "-p", "-t", target)
}

// Capture returns the visible screen as text, one line per row with
// trailing blanks trimmed.
func (s *Session) Capture() string {
	s.tb.Helper()
	screen := s.must("capture-pane", "-p", "-t", target)
	s.last = screen
	return screen
}

// CaptureEscapes returns the visible screen with the SGR sequences of its
// colours and attributes, to check how text is drawn.
func (s *Session) CaptureEscapes() string {
	s.tb.Helper()
	return s.must("capture-pane", "-p", "-e", "-t", target)
}

// Lines returns the visible screen as exactly one string per row.
func (s *Session) Lines() []string {
	s.tb.Helper()
	lines := strings.Split(strings.TrimSuffix(s.Capture(), "\n"), "\n")
	if _, h := s.Size(); len(lines) < h {
		lines = append(lines, make([]string, h-len(lines))...)
	}
	return lines
}

// Display expands a tmux format (e.g. "#{pane_title}") for the pane.
func (s *Session) Display(format string) string {
	s.tb.Helper()
	return strings.TrimSuffix(s.must("display-message", "-p", "-t", target, format), "\n")
}

// Title returns the pane title, as set by the program with OSC 0 or 2.
func (s *Session) Title() string {
	s.tb.Helper()
	return s.Display("#{pane_title}")
}

// PanePID returns the process id of the program in the pane.
func (s *Session) PanePID() int {
	s.tb.Helper()
	v := s.Display("#{pane_pid}")
	pid, err := strconv.Atoi(v)
	if err != nil || pid <= 0 {
		s.tb.Fatalf("tmuxtest: pane_pid %q is not a process id", v)
	}
	return pid
}

// Size returns the pane size in cells.
func (s *Session) Size() (width, height int) {
	s.tb.Helper()
	v := s.Display("#{pane_width} #{pane_height}")
	if _, err := fmt.Sscan(v, &width, &height); err != nil {
		s.tb.Fatalf("tmuxtest: pane size %q: %v", v, err)
	}
	return width, height
}

// Resize sets the window, and so the pane, to width x height cells; the
// program receives SIGWINCH.
func (s *Session) Resize(width, height int) {
	s.tb.Helper()
	s.must("resize-window", "-t", "main", "-x", strconv.Itoa(width), "-y", strconv.Itoa(height))
}

// Exited reports whether the program has ended (its terminal closed).
func (s *Session) Exited() bool {
	s.tb.Helper()
	return s.Display("#{pane_dead}") == "1"
}

// ExitStatus returns how the program ended: its exit status, or the signal
// that killed it (status 0 then). ok is false while the program runs, and
// also when tmux did not collect the status: tmux 3.3 sometimes misses the
// SIGCHLD of a pane under load and leaves the program a zombie.
func (s *Session) ExitStatus() (status, signal int, ok bool) {
	s.tb.Helper()
	v := s.Display("#{pane_dead}:#{pane_dead_status}:#{pane_dead_signal}")
	parts := strings.Split(v, ":")
	if len(parts) != 3 || parts[0] != "1" || parts[1] == "" && parts[2] == "" {
		return 0, 0, false
	}
	status, _ = strconv.Atoi(parts[1])
	signal, _ = strconv.Atoi(parts[2])
	return status, signal, true
}

// Poll captures the screen every PollInterval until cond accepts it or
// timeout passes; it returns the last screen and whether cond accepted it.
func (s *Session) Poll(timeout time.Duration, cond func(screen string) bool) (string, bool) {
	s.tb.Helper()
	deadline := time.Now().Add(timeout)
	for {
		screen := s.Capture()
		if cond(screen) {
			return screen, true
		}
		if time.Now().After(deadline) {
			return screen, false
		}
		time.Sleep(PollInterval)
	}
}

// WaitFor polls the screen until cond accepts it, and fails the test with
// the last screen when DefaultTimeout passes first.
func (s *Session) WaitFor(what string, cond func(screen string) bool) string {
	s.tb.Helper()
	screen, ok := s.Poll(DefaultTimeout, cond)
	if !ok {
		s.tb.Fatalf("tmuxtest: timed out after %v waiting for %s; screen:\n%s", DefaultTimeout, what, frame(screen))
	}
	return screen
}

// WaitForText waits until the screen contains every one of texts.
func (s *Session) WaitForText(texts ...string) string {
	s.tb.Helper()
	return s.WaitFor(fmt.Sprintf("%q", texts), func(screen string) bool {
		for _, t := range texts {
			if !strings.Contains(screen, t) {
				return false
			}
		}
		return true
	})
}

// Frame returns screen with a border, for failure messages.
func Frame(screen string) string { return frame(screen) }

// Kill stops the tmux server, and with it the program (SIGHUP). Cleanup
// does it anyway; calling Kill again is harmless.
func (s *Session) Kill() {
	_, _ = s.Run("kill-server")
}
