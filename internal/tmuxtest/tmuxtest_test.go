package tmuxtest

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// sh runs a shell script as the pane's program.
func sh(t *testing.T, opts Options, script string) *Session {
	t.Helper()
	return Start(t, opts, "/bin/sh", "-c", script)
}

func TestSizeEnvAndTerm(t *testing.T) {
	t.Parallel()
	s := sh(t, Options{Width: 70, Height: 12, Env: []string{"GREETING=hi there"}},
		`printf 'greeting=%s term=%s\n' "$GREETING" "$TERM"; exec sleep 60`)
	if w, h := s.Size(); w != 70 || h != 12 {
		t.Errorf("size = %dx%d, want 70x12", w, h)
	}
	s.WaitForText("greeting=hi there term=" + DefaultTerm)
	if n := len(s.Lines()); n != 12 {
		t.Errorf("Lines returned %d rows, want 12", n)
	}
}

func TestTextKeysAndCapture(t *testing.T) {
	t.Parallel()
	// The shell echoes each line it reads, so what was typed comes back
	// once as the tty echo and once as output.
	s := sh(t, Options{}, `while IFS= read -r line; do printf 'got[%s]\n' "$line"; done`)
	s.SendText("Enter; $HOME 'quoted'")
	s.SendKeys("Enter")
	s.WaitForText("got[Enter; $HOME 'quoted']")
	s.SendText("second")
	s.SendKeys("Enter")
	screen := s.WaitForText("got[second]")
	if strings.Index(screen, "got[Enter;") > strings.Index(screen, "got[second]") {
		t.Errorf("lines out of order:\n%s", Frame(screen))
	}
}

func TestCaptureEscapes(t *testing.T) {
	t.Parallel()
	s := sh(t, Options{}, `printf 'plain \033[1;31mbold-red\033[0m end\n'; exec sleep 60`)
	s.WaitForText("plain bold-red end")
	esc := s.CaptureEscapes()
	i := strings.Index(esc, "bold-red")
	if i < 0 || !strings.Contains(esc[:i], "\x1b[") || !strings.Contains(esc[:i], "31") {
		t.Errorf("no SGR sequence before the red text: %q", esc)
	}
	if strings.Contains(s.Capture(), "\x1b") {
		t.Errorf("Capture returned escape sequences")
	}
}

func TestTitlePIDAndExit(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "pid")
	s := sh(t, Options{Dir: dir}, `printf '\033]2;my title\007'; echo $$ > pid; pwd; read x; exit 3`)
	s.WaitForText(dir)
	if got := s.Title(); got != "my title" {
		t.Errorf("title = %q, want %q", got, "my title")
	}
	var data []byte
	s.Poll(5*time.Second, func(string) bool {
		data, _ = os.ReadFile(pidFile)
		return len(data) > 0
	})
	shellPID, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		t.Fatalf("pid file: %q", data)
	}
	if got := s.PanePID(); got != shellPID {
		t.Errorf("PanePID = %d, the program's pid is %d", got, shellPID)
	}
	if s.Exited() {
		t.Fatal("Exited reports true while the program runs")
	}
	s.SendKeys("Enter")
	waitExited(t, s)
	checkStatus(t, s, 3, 0)
}

func TestExitedBySignal(t *testing.T) {
	t.Parallel()
	s := sh(t, Options{}, `echo up; exec sleep 60`)
	s.WaitForText("up")
	if err := syscall.Kill(s.PanePID(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitExited(t, s)
	checkStatus(t, s, 0, int(syscall.SIGKILL))
}

func waitExited(t *testing.T, s *Session) {
	t.Helper()
	if _, ok := s.Poll(5*time.Second, func(string) bool { return s.Exited() }); !ok {
		t.Fatal("the program did not end")
	}
}

// checkStatus checks the exit status if tmux collected it (see ExitStatus).
func checkStatus(t *testing.T, s *Session, wantStatus, wantSignal int) {
	t.Helper()
	var status, signal int
	var ok bool
	s.Poll(2*time.Second, func(string) bool {
		status, signal, ok = s.ExitStatus()
		return ok
	})
	if !ok {
		t.Logf("tmux did not collect the exit status (a known tmux 3.3 race)")
		return
	}
	if status != wantStatus || signal != wantSignal {
		t.Errorf("ExitStatus = %d, %d; want %d, %d", status, signal, wantStatus, wantSignal)
	}
}
