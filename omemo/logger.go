package omemo

import (
	"context"
	"log/slog"
	"sync/atomic"

	"go.mau.fi/libsignal/logger"
)

// sigLogger adapts libsignal's global logger to slog. Debug messages are
// dropped unformatted: they contain key material.
type sigLogger struct{ l atomic.Pointer[slog.Logger] }

var libLog sigLogger

func init() {
	libLog.l.Store(slog.New(slog.DiscardHandler))
	var l logger.Loggable = &libLog
	logger.Setup(&l)
}

// SetLogger routes libsignal's log output (info, warnings and errors, never
// debug) to l. Until it is called, libsignal logs nothing.
func SetLogger(l *slog.Logger) {
	if l == nil {
		l = slog.New(slog.DiscardHandler)
	}
	libLog.l.Store(l.With("lib", "libsignal"))
}

func (s *sigLogger) log(level slog.Level, caller, msg string) {
	l := s.l.Load()
	if l.Enabled(context.Background(), level) {
		l.Log(context.Background(), level, msg, "caller", caller)
	}
}

func (s *sigLogger) Debug(string, string)       {}
func (s *sigLogger) Info(caller, msg string)    { s.log(slog.LevelInfo, caller, msg) }
func (s *sigLogger) Warning(caller, msg string) { s.log(slog.LevelInfo, caller, msg) }
func (s *sigLogger) Error(caller, msg string)   { s.log(slog.LevelWarn, caller, msg) }
func (s *sigLogger) Configure(string)           {}
