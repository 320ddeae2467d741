package logging

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestOpenCreatesPrivateFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state", "xchat")
	log, c, err := Open(dir, slog.LevelInfo)
	if err != nil {
		t.Fatal(err)
	}
	log.Debug("hidden debug")
	log.Info("hello", "account", "alice@example.org")
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}

	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o700 {
		t.Errorf("dir mode = %v, want 0700", fi.Mode().Perm())
	}
	path := filepath.Join(dir, LogName)
	fi, err = os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("file mode = %v, want 0600", fi.Mode().Perm())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), "msg=hello account=alice@example.org") {
		t.Errorf("log lacks the info record: %q", data)
	}
	if strings.Contains(string(data), "hidden debug") {
		t.Errorf("debug record written at info level: %q", data)
	}
}

func TestOpenAppendsAndTightensMode(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, LogName)
	if err := os.WriteFile(path, []byte("old line\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil { // defeat umask
		t.Fatal(err)
	}
	log, c, err := Open(dir, slog.LevelDebug)
	if err != nil {
		t.Fatal(err)
	}
	log.Debug("new line")
	c.Close()

	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode = %v, want 0600", fi.Mode().Perm())
	}
	data, _ := os.ReadFile(path)
	if !strings.HasPrefix(string(data), "old line\n") || !strings.Contains(string(data), "new line") {
		t.Errorf("not appended: %q", data)
	}
}

func TestOpenRotates(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, LogName)
	big := bytes.Repeat([]byte("x"), MaxLogSize+1)
	if err := os.WriteFile(path, big, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path+".1", []byte("ancient"), 0o600); err != nil {
		t.Fatal(err)
	}
	log, c, err := Open(dir, slog.LevelInfo)
	if err != nil {
		t.Fatal(err)
	}
	log.Info("fresh")
	c.Close()

	rotated, err := os.Stat(path + ".1")
	if err != nil {
		t.Fatal(err)
	}
	if rotated.Size() != int64(len(big)) {
		t.Errorf("rotated size = %d, want %d", rotated.Size(), len(big))
	}
	cur, _ := os.ReadFile(path)
	if len(cur) > 200 || !strings.Contains(string(cur), "fresh") {
		t.Errorf("current log after rotation = %q", cur)
	}

	// A file at exactly the limit is kept.
	if err := os.WriteFile(path, big[:MaxLogSize], 0o600); err != nil {
		t.Fatal(err)
	}
	_, c, err = Open(dir, slog.LevelInfo)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if fi, _ := os.Stat(path); fi.Size() != MaxLogSize {
		t.Errorf("file at the limit was rotated (size %d)", fi.Size())
	}
}

func TestOpenTrace(t *testing.T) {
	dir := t.TempDir()
	w, err := OpenTrace(dir)
	if err != nil {
		t.Fatal(err)
	}
	tw := NewTraceWriter(w, "SEND ")
	tw.Write([]byte(`<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>AGFsaWNlAHNlY3JldA==</auth>`))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, TraceName)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode = %v, want 0600", fi.Mode().Perm())
	}
	data, _ := os.ReadFile(path)
	want := "SEND <auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>[redacted]</auth>\n"
	if string(data) != want {
		t.Errorf("trace = %q, want %q", data, want)
	}
}

func TestOpenFailsWhenDirIsAFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Open(file, slog.LevelInfo); err == nil {
		t.Error("Open succeeded with a regular file as directory")
	}
}
