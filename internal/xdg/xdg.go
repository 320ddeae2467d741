package xdg

import (
	"os"
	"path/filepath"
)

// appName is the subdirectory xchat uses inside every base directory.
const appName = "xchat"

// base returns $env when it is an absolute path, otherwise $HOME/fallback.
// If the home directory cannot be determined either, the fallback is
// resolved against the current directory: a relative path is the least
// surprising answer when there is no better one.
func base(env string, fallback ...string) string {
	if v := os.Getenv(env); v != "" && filepath.IsAbs(v) {
		return filepath.Clean(v)
	}
	home, err := os.UserHomeDir()
	if err != nil || home == "" {
		home = "."
	}
	return filepath.Join(append([]string{home}, fallback...)...)
}

// ConfigHome returns $XDG_CONFIG_HOME or ~/.config.
func ConfigHome() string { return base("XDG_CONFIG_HOME", ".config") }

// DataHome returns $XDG_DATA_HOME or ~/.local/share.
func DataHome() string { return base("XDG_DATA_HOME", ".local", "share") }

// StateHome returns $XDG_STATE_HOME or ~/.local/state.
func StateHome() string { return base("XDG_STATE_HOME", ".local", "state") }

// CacheHome returns $XDG_CACHE_HOME or ~/.cache.
func CacheHome() string { return base("XDG_CACHE_HOME", ".cache") }

// ConfigFile returns the path of the configuration file,
// $XDG_CONFIG_HOME/xchat/config.toml.
func ConfigFile() string { return filepath.Join(ConfigHome(), appName, "config.toml") }

// DatabaseFile returns the path of the SQLite database,
// $XDG_DATA_HOME/xchat/xchat.db.
func DatabaseFile() string { return filepath.Join(DataHome(), appName, "xchat.db") }

// LogDir returns the directory for log and trace files,
// $XDG_STATE_HOME/xchat.
func LogDir() string { return filepath.Join(StateHome(), appName) }

// CacheDir returns the directory for disposable data such as downloaded
// media, $XDG_CACHE_HOME/xchat.
func CacheDir() string { return filepath.Join(CacheHome(), appName) }

// EnsureDir creates path and any missing parents with mode 0700 (private to
// the user, as the directories hold credentials, keys and message history).
// Existing directories keep their mode.
func EnsureDir(path string) error {
	return os.MkdirAll(path, 0o700)
}
