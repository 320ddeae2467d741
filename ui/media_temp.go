package ui

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"xchat/media"
)

// Files without a cache file (no cache configured) reach the external
// viewer as private copies: one directory each, named xchat-open-*. The
// viewer may read a file long after it was started (xdg-open returns at
// once), so a copy stays until xchat quits (RemoveTempFiles); copies that
// a crash left behind are removed from OpenDir after openMaxAge.

const (
	tempPrefix = "xchat-open-"
	openMaxAge = 24 * time.Hour
)

// tempFiles tracks this run's copies; write runs in Cmds, so it locks.
type tempFiles struct {
	dir  string // OpenDir; "" is os.TempDir() (never swept)
	mu   sync.Mutex
	made []string // directories made by this run
}

// write puts data in a new private directory under a safe name and
// returns the file's path; stale copies of earlier runs go first.
func (t *tempFiles) write(name string, data []byte) (string, error) {
	base := t.dir
	if base != "" {
		if err := os.MkdirAll(base, 0o700); err != nil {
			return "", err
		}
		sweepOld(base, time.Now().Add(-openMaxAge))
	}
	dir, err := os.MkdirTemp(base, tempPrefix)
	if err != nil {
		return "", err
	}
	t.mu.Lock()
	t.made = append(t.made, dir)
	t.mu.Unlock()
	p := filepath.Join(dir, media.SafeFilename(name))
	return p, os.WriteFile(p, data, 0o600)
}

// removeAll deletes this run's copies.
func (t *tempFiles) removeAll() {
	t.mu.Lock()
	made := t.made
	t.made = nil
	t.mu.Unlock()
	for _, d := range made {
		_ = os.RemoveAll(d)
	}
}

// sweepOld removes the copy directories in base last changed before
// cutoff (symbolic links and other entries are left alone).
func sweepOld(base string, cutoff time.Time) {
	entries, err := os.ReadDir(base)
	if err != nil {
		return
	}
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), tempPrefix) || e.Type()&os.ModeSymlink != 0 || !e.IsDir() {
			continue
		}
		if fi, err := e.Info(); err == nil && fi.ModTime().Before(cutoff) {
			_ = os.RemoveAll(filepath.Join(base, e.Name()))
		}
	}
}

// RemoveTempFiles deletes the copies made for the viewer during this run;
// call it once the program has ended.
func (m *Model) RemoveTempFiles() { m.media.temps.removeAll() }
