package omemo

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
)

// TestLibsignalLogging checks that libsignal writes nothing to stdout, that
// its errors reach the logger given to SetLogger, and that its debug output
// (which contains key material) does not.
func TestLibsignalLogging(t *testing.T) {
	var logBuf bytes.Buffer
	SetLogger(slog.New(slog.NewTextHandler(&logBuf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	t.Cleanup(func() { SetLogger(nil) })

	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout := os.Stdout
	os.Stdout = w
	captured := make(chan []byte)
	go func() { b, _ := io.ReadAll(r); captured <- b }()
	func() {
		defer func() { os.Stdout = stdout }()
		alice := newDevice(t, aliceJID)
		bob := newDevice(t, bobJID)
		alice.learn(bob)
		enc := alice.send("secret", bob)
		bob.recv(alice, enc)
		// A replay makes libsignal log an error.
		if _, err := bob.m.Decrypt(context.Background(), aliceJID, enc); err == nil {
			t.Error("replay decrypted")
		}
	}()
	w.Close()
	if out := <-captured; len(out) > 0 {
		t.Fatalf("libsignal wrote to stdout: %q", out)
	}
	logs := logBuf.String()
	if !strings.Contains(logs, "lib=libsignal") {
		t.Fatalf("no libsignal message reached the logger:\n%s", logs)
	}
	for _, leak := range []string{"ciphertextBody", "keypair", "Returning keypair", "Decrypting"} {
		if strings.Contains(logs, leak) {
			t.Fatalf("debug output %q leaked into the log:\n%s", leak, logs)
		}
	}
}
