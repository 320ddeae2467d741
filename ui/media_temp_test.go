package ui

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"xchat/session"
	"xchat/store"
)

// Copies made for the viewer are removed when xchat quits, and those an
// earlier run left behind are removed after a day.
func TestViewerCopiesCleanedUp(t *testing.T) {
	dir := t.TempDir()
	open := filepath.Join(dir, "open")
	log := filepath.Join(dir, "opened")
	stale := filepath.Join(open, tempPrefix+"old")
	recent := filepath.Join(open, tempPrefix+"recent")
	other := filepath.Join(open, "keep-me")
	for _, d := range []string{stale, recent, other} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-2 * openMaxAge)
	if err := os.Chtimes(stale, old, old); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(other, old, old); err != nil {
		t.Fatal(err)
	}
	viewer := []string{"sh", "-c", `printf '%s\n' "$0" >> ` + log}
	h, acc, st := mediaScene(t, MediaOptions{Viewer: viewer, OpenDir: open})
	const u = "https://f.example/doc.pdf"
	mediaOf(acc).files[u] = []byte("%PDF-1.4 hello")
	msg := st.add(store.Message{Account: me, Peer: alice, Direction: store.Incoming, State: store.StateReceived,
		Body: u, Timestamp: testNow, Sender: alice, Kind: store.KindChat})
	h.send(session.MessageEvent{Account: me, Message: msg})
	h.press("esc", "x")

	out, _ := os.ReadFile(log)
	copyPath := strings.TrimSpace(string(out))
	if filepath.Dir(filepath.Dir(copyPath)) != open || filepath.Base(copyPath) != "doc.pdf" {
		t.Fatalf("viewer got %q, want a copy under %s", copyPath, open)
	}
	if data, err := os.ReadFile(copyPath); err != nil || string(data) != "%PDF-1.4 hello" {
		t.Fatalf("copy: %q %v", data, err)
	}
	if fi, err := os.Stat(filepath.Dir(copyPath)); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("copy directory %v %v, want 0700", fi.Mode(), err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Error("a day-old copy of an earlier run was not removed")
	}
	for _, keep := range []string{recent, other} {
		if _, err := os.Stat(keep); err != nil {
			t.Errorf("%s removed: %v", keep, err)
		}
	}

	h.m.RemoveTempFiles()
	if _, err := os.Stat(filepath.Dir(copyPath)); !os.IsNotExist(err) {
		t.Error("the copy outlived the run")
	}
	if _, err := os.Stat(recent); err != nil {
		t.Error("another run's recent copy was removed")
	}
}
