package logging

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"

	"xchat/internal/xdg"
)

const (
	// LogName is the name of the log file inside the log directory.
	LogName = "xchat.log"
	// TraceName is the name of the XML trace file inside the log directory.
	TraceName = "xml-trace.log"
	// MaxLogSize is the size above which a log file is rotated at open.
	MaxLogSize = 10 << 20
)

// Open creates dir (0700) if needed and opens dir/xchat.log for appending
// with mode 0600, tightening the mode of an existing file. If the file is
// larger than MaxLogSize it is first renamed to xchat.log.1, replacing any
// older rotation. The returned logger writes text records at level and above;
// close the io.Closer on exit.
func Open(dir string, level slog.Level) (*slog.Logger, io.Closer, error) {
	path := filepath.Join(dir, LogName)
	f, err := openPrivate(dir, path)
	if err != nil {
		return nil, nil, err
	}
	h := slog.NewTextHandler(f, &slog.HandlerOptions{Level: level})
	return slog.New(h), f, nil
}

// OpenTrace creates dir (0700) if needed and opens dir/xml-trace.log for
// appending with mode 0600, rotated like the log. Wrap it with
// NewTraceWriter: the file itself does no redaction.
func OpenTrace(dir string) (io.WriteCloser, error) {
	return openPrivate(dir, filepath.Join(dir, TraceName))
}

// openPrivate rotates path if it is too large, then opens it for appending,
// readable only by the owner.
func openPrivate(dir, path string) (*os.File, error) {
	if err := xdg.EnsureDir(dir); err != nil {
		return nil, fmt.Errorf("log directory: %w", err)
	}
	if err := rotateIfLarge(path, MaxLogSize); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open log: %w", err)
	}
	// OpenFile's mode only applies on creation; an existing file may have
	// been created looser (or by an older version), so fix it explicitly.
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return nil, fmt.Errorf("chmod log: %w", err)
	}
	return f, nil
}

// rotateIfLarge renames path to path.1 when it is larger than limit.
func rotateIfLarge(path string, limit int64) error {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("stat log: %w", err)
	}
	if fi.Size() <= limit {
		return nil
	}
	if err := os.Rename(path, path+".1"); err != nil {
		return fmt.Errorf("rotate log: %w", err)
	}
	return nil
}
