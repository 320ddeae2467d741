package main

// End-to-end tests of the command-line forms of the built binary: usage,
// `xchat send` and `xchat history` against the Prosody harness, and how
// they fail.

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"xchat/internal/demo"
	"xchat/internal/testserver"
)

func TestE2EVersionHelpAndUsageErrors(t *testing.T) {
	t.Parallel()
	r := runXchat(t, nil, "--version")
	if r.code != 0 || r.stdout != "xchat "+e2eVersion+"\n" || r.stderr != "" {
		t.Errorf("--version: want exit 0 and %q on stdout\n%s", "xchat "+e2eVersion+"\n", r)
	}

	forms := []string{
		"xchat send [--config FILE] [--account JID] TO-JID TEXT...",
		"xchat history [--config FILE] [--account JID] [-n N] PEER-JID",
	}
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}} {
		r := runXchat(t, nil, args...)
		if r.code != 0 || r.stderr != "" {
			t.Errorf("%q: want exit 0 and nothing on stderr\n%s", args, r)
		}
		for _, f := range forms {
			if !strings.Contains(r.stdout, f) {
				t.Errorf("%q: usage lacks %q\n%s", args, f, r)
			}
		}
	}

	bad := []struct {
		args []string
		want string // in stderr
	}{
		{[]string{"--bogus"}, "bogus"},
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"send", "--bogus", "bob@localhost", "hi"}, "bogus"},
		{[]string{"send", "bob@localhost"}, "usage: xchat send"},
		{[]string{"history"}, "usage: xchat history"},
		{[]string{"history", "-n", "0", "bob@localhost"}, "usage: xchat history"},
		{[]string{"history", "-n", "many", "bob@localhost"}, "-n"},
	}
	for _, tc := range bad {
		r := runXchat(t, nil, tc.args...)
		if r.code != 2 || !strings.Contains(r.stderr, tc.want) || r.stdout != "" {
			t.Errorf("%q: want exit 2, nothing on stdout and %q on stderr\n%s", tc.args, tc.want, r)
		}
	}
}

// historyLine is one line of `xchat history`.
var historyLine = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d) (\S+): (.*)$`)

func TestE2ESendAndHistory(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t, testserver.Options{NoUpload: true})
	users := srv.Users(t, 2)
	alice, bob := users[0], users[1]
	bobC := startClient(t, srv, bob, "e2e", false)
	bobC.waitOnline()

	// The config is passed with --config; the XDG config directory stays
	// empty, so a fallback to it would fail.
	h := newHome(t, nil, alice, "")
	cfgFile := filepath.Join(t.TempDir(), "alice.toml")
	if err := os.WriteFile(cfgFile, []byte(demo.AccountConfig(srv, alice)), 0o600); err != nil {
		t.Fatal(err)
	}
	before := time.Now().Add(-time.Second)
	r := runXchat(t, h, "send", "--config", cfgFile, bob.JID, "hello", "from", "the", "script")
	if r.code != 0 || r.stdout != "" || r.stderr != "" {
		t.Fatalf("send: want exit 0 and no output\n%s", r)
	}
	got := bobC.waitMessage(alice.JID)
	if got.Body != "hello from the script" {
		t.Errorf("bob received %q, want %q", got.Body, "hello from the script")
	}

	r = runXchat(t, h, "history", "--config", cfgFile, "-n", "5", bob.JID)
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("history: want exit 0 and nothing on stderr\n%s", r)
	}
	line := oneLineOf(t, "history output", r.stdout)
	want := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d) alice@localhost: hello from the script$`)
	if !want.MatchString(line) {
		t.Fatalf("history line %q does not match %s", line, want)
	}
	stamp, err := time.Parse(time.RFC3339, strings.Fields(line)[0])
	if err != nil || stamp.Before(before.Truncate(time.Second)) || stamp.After(time.Now().Add(time.Second)) {
		t.Errorf("history timestamp %v is not the time of sending (%v, %v)", stamp, before, err)
	}

	// A second message: history lists both, oldest first, and -n limits.
	r = runXchat(t, h, "send", "--config", cfgFile, bob.JID+"/ignored-resource", "second one")
	if r.code != 0 {
		t.Fatalf("second send:\n%s", r)
	}
	if got := bobC.waitMessage(alice.JID); got.Body != "second one" {
		t.Errorf("bob received %q, want %q", got.Body, "second one")
	}
	r = runXchat(t, h, "history", "--config", cfgFile, bob.JID)
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if r.code != 0 || len(lines) != 2 || !strings.HasSuffix(lines[0], " alice@localhost: hello from the script") ||
		!strings.HasSuffix(lines[1], " alice@localhost: second one") {
		t.Errorf("history of two messages, oldest first:\n%s", r)
		dumpMessages(t, h.db)
	}
	r = runXchat(t, h, "history", "--config", cfgFile, "-n", "1", bob.JID)
	if r.code != 0 || !strings.HasSuffix(r.stdout, " alice@localhost: second one\n") || strings.Count(r.stdout, "\n") != 1 {
		t.Errorf("history -n 1 must print the newest message only:\n%s", r)
	}
	// A peer never talked to has no history: nothing printed, success.
	r = runXchat(t, h, "history", "--config", cfgFile, "nobody@localhost")
	if r.code != 0 || r.stdout != "" {
		t.Errorf("history with a stranger: want exit 0 and no output\n%s", r)
	}
}

func TestE2ESendFailures(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t, testserver.Options{NoUpload: true})
	alice := srv.Users(t, 1)[0]
	dir := t.TempDir()

	config := func(t *testing.T, text string) (string, *home) {
		path := filepath.Join(t.TempDir(), "config.toml")
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return path, newHome(t, nil, alice, "")
	}
	account := func(password, server, caFile string) string {
		return fmt.Sprintf("[[account]]\njid = %q\npassword = %q\nserver = %q\nca_file = %q\n", alice.JID, password, server, caFile)
	}
	// checkFailure runs send and checks exit status 1 (or any non-zero)
	// and one line on stderr that contains every one of wants.
	checkFailure := func(t *testing.T, h *home, cfg string, anyCode bool, wants ...string) result {
		t.Helper()
		r := runXchat(t, h, "send", "--config", cfg, "--timeout", "5s", "bob@localhost", "never delivered")
		if r.code == 0 || (!anyCode && r.code != 1) {
			t.Errorf("want exit status 1\n%s", r)
		}
		line := oneLineOf(t, "stderr", r.stderr)
		t.Logf("exit %d after %v: %s", r.code, r.took.Round(time.Millisecond), line)
		for _, w := range wants {
			if !strings.Contains(line, w) {
				t.Errorf("stderr %q does not mention %q", line, w)
			}
		}
		if r.stdout != "" {
			t.Errorf("stdout not empty: %q", r.stdout)
		}
		return r
	}

	t.Run("wrong password", func(t *testing.T) {
		t.Parallel()
		cfg, h := config(t, account("not-"+alice.Password, srv.C2SAddr, srv.CAFile))
		checkFailure(t, h, cfg, false, "password")
	})
	t.Run("untrusted certificate", func(t *testing.T) {
		t.Parallel()
		otherCA := filepath.Join(dir, "other-ca.pem")
		writeCA(t, otherCA)
		cfg, h := config(t, account(alice.Password, srv.C2SAddr, otherCA))
		checkFailure(t, h, cfg, false, "certificate")
	})
	t.Run("nothing listens", func(t *testing.T) {
		t.Parallel()
		addr := closedPort(t)
		cfg, h := config(t, account(alice.Password, addr, srv.CAFile))
		r := checkFailure(t, h, cfg, true, addr)
		if r.took > 8*time.Second {
			t.Errorf("send took %v with --timeout 5s", r.took)
		}
	})
	t.Run("silent server", func(t *testing.T) {
		t.Parallel()
		// Accepts connections and never says a word: only --timeout ends it.
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				defer c.Close()
			}
		}()
		cfg, h := config(t, account(alice.Password, ln.Addr().String(), srv.CAFile))
		r := checkFailure(t, h, cfg, true, "5s")
		if r.took < 4*time.Second || r.took > 9*time.Second {
			t.Errorf("send took %v with --timeout 5s", r.took)
		}
	})
	t.Run("malformed config", func(t *testing.T) {
		t.Parallel()
		cfg, h := config(t, "# xchat\n[[account]]\njid = \"alice@localhost\"\npassword = \"unterminated\nserver = \"127.0.0.1:1\"\n")
		checkFailure(t, h, cfg, false, cfg+":4")
	})
	t.Run("invalid value", func(t *testing.T) {
		t.Parallel()
		cfg, h := config(t, account(alice.Password, srv.C2SAddr, srv.CAFile)+"tls = \"sometimes\"\n")
		checkFailure(t, h, cfg, false, cfg+":6", "tls")
	})
	t.Run("missing config", func(t *testing.T) {
		t.Parallel()
		_, h := config(t, "")
		missing := filepath.Join(t.TempDir(), "absent.toml")
		checkFailure(t, h, missing, false, missing)
	})
}

// writeCA writes the PEM certificate of a fresh self-signed CA for
// "localhost", unrelated to the harness's CA.
func writeCA(t *testing.T, path string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "xchat e2e impostor CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// closedPort returns a loopback address where nothing listens.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}
