package config

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// openPTY returns the controller and terminal ends of a new pseudo-terminal.
func openPTY(t *testing.T) (ctrl, tty *os.File) {
	t.Helper()
	ctrl, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminal support: %v", err)
	}
	t.Cleanup(func() { ctrl.Close() })
	fd := int(ctrl.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatalf("unlockpt: %v", err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		t.Fatalf("ptsname: %v", err)
	}
	tty, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("cannot open pty %d: %v", n, err)
	}
	t.Cleanup(func() { tty.Close() })
	return ctrl, tty
}

// echoed collects what the terminal echoes back to the controller side.
func echoed(ctrl *os.File) <-chan string {
	ch := make(chan string, 1)
	go func() {
		var buf bytes.Buffer
		io.Copy(&buf, ctrl) // ends with EIO once the tty side is closed
		ch <- buf.String()
	}()
	return ch
}

// waitNoEcho waits until the terminal's ECHO flag is off: typed input is
// echoed when it arrives, so secrets may only be typed after that.
func waitNoEcho(t *testing.T, tty *os.File) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		tio, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
		if err != nil {
			t.Fatal(err)
		}
		if tio.Lflag&unix.ECHO == 0 {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatal("echo was never turned off")
}

// syncBuffer is a bytes.Buffer safe for one writer and a polling reader.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// waitFor waits until s has been written n times in total.
func (b *syncBuffer) waitFor(t *testing.T, s string, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for strings.Count(b.String(), s) < n {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %q; output:\n%s", s, b.String())
		}
		time.Sleep(time.Millisecond)
	}
}

func TestReadPasswordTerminalNoEcho(t *testing.T) {
	ctrl, tty := openPTY(t)
	echo := echoed(ctrl)
	ctrl.Write([]byte("visible\n"))
	lr := lineReader{r: tty}
	if first, err := lr.readLine(); err != nil || first != "visible" {
		t.Fatalf("first line = %q, %v", first, err)
	}

	var out syncBuffer
	type result struct {
		pw  string
		err error
	}
	done := make(chan result, 1)
	go func() {
		pw, err := ReadPassword("Password: ", tty, &out)
		done <- result{pw, err}
	}()
	out.waitFor(t, "Password: ", 1)
	waitNoEcho(t, tty)
	ctrl.Write([]byte("topsecret\n"))
	r := <-done
	if r.err != nil || r.pw != "topsecret" {
		t.Fatalf("ReadPassword = %q, %v", r.pw, r.err)
	}
	if out.String() != "Password: \n" {
		t.Errorf("output = %q", out.String())
	}
	tio, _ := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
	if tio.Lflag&unix.ECHO == 0 {
		t.Error("echo not restored")
	}
	tty.Close()
	got := <-echo
	if strings.Contains(got, "topsecret") {
		t.Errorf("password echoed on the terminal: %q", got)
	}
	if !strings.Contains(got, "visible") {
		t.Errorf("normal input was not echoed (%q): the no-echo check proves nothing", got)
	}
}

func TestFirstRunTerminalPassword(t *testing.T) {
	ctrl, tty := openPTY(t)
	echo := echoed(ctrl)
	path := filepath.Join(t.TempDir(), "config.toml")
	var out syncBuffer
	type result struct {
		c   *Config
		err error
	}
	done := make(chan result, 1)
	go func() {
		c, err := FirstRun(tty, &out, path)
		done <- result{c, err}
	}()
	out.waitFor(t, "XMPP address", 1)
	ctrl.Write([]byte("alice@example.org\n"))
	out.waitFor(t, "Choice", 1)
	ctrl.Write([]byte("2\n"))
	// The first confirmation differs, so the wizard asks again.
	for i, pw := range []string{"first", "other", "pw one", "pw one"} {
		prompt := "Password: "
		if i%2 == 1 {
			prompt = "Repeat password: "
		}
		out.waitFor(t, prompt, i/2+1)
		waitNoEcho(t, tty)
		ctrl.Write([]byte(pw + "\n"))
	}
	out.waitFor(t, "Server host:port", 1)
	ctrl.Write([]byte("\n"))
	r := <-done
	if r.err != nil {
		t.Fatalf("FirstRun: %v\n%s", r.err, out.String())
	}
	if r.c.Accounts[0].Password != "pw one" {
		t.Errorf("password = %q", r.c.Accounts[0].Password)
	}
	if !strings.Contains(out.String(), "The passwords differ") {
		t.Errorf("no mismatch message:\n%s", out.String())
	}
	tty.Close()
	got := <-echo
	if strings.Contains(got, "pw one") || strings.Contains(got, "first") {
		t.Errorf("password echoed: %q", got)
	}
	if !strings.Contains(got, "alice@example.org") {
		t.Errorf("JID not echoed: %q", got)
	}
}
