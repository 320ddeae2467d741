package xdg

import (
	"os"
	"path/filepath"
	"testing"
)

func TestBaseDirs(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)

	cases := []struct {
		name     string
		env      string
		fn       func() string
		fallback string
	}{
		{"config", "XDG_CONFIG_HOME", ConfigHome, filepath.Join(home, ".config")},
		{"data", "XDG_DATA_HOME", DataHome, filepath.Join(home, ".local", "share")},
		{"state", "XDG_STATE_HOME", StateHome, filepath.Join(home, ".local", "state")},
		{"cache", "XDG_CACHE_HOME", CacheHome, filepath.Join(home, ".cache")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(tc.env, "")
			if got := tc.fn(); got != tc.fallback {
				t.Errorf("unset: got %q, want %q", got, tc.fallback)
			}
			abs := filepath.Join(home, "custom-"+tc.name)
			t.Setenv(tc.env, abs+"/")
			if got := tc.fn(); got != abs {
				t.Errorf("absolute: got %q, want %q", got, abs)
			}
			// The spec says relative paths are invalid and must be ignored.
			t.Setenv(tc.env, "relative/dir")
			if got := tc.fn(); got != tc.fallback {
				t.Errorf("relative: got %q, want fallback %q", got, tc.fallback)
			}
		})
	}
}

func TestFiles(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", "/x/cfg")
	t.Setenv("XDG_DATA_HOME", "/x/data")
	t.Setenv("XDG_STATE_HOME", "/x/state")
	t.Setenv("XDG_CACHE_HOME", "/x/cache")
	for got, want := range map[string]string{
		ConfigFile():   "/x/cfg/xchat/config.toml",
		DatabaseFile(): "/x/data/xchat/xchat.db",
		LogDir():       "/x/state/xchat",
		CacheDir():     "/x/cache/xchat",
	} {
		if got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
}

func TestEnsureDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	if err := EnsureDir(dir); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !fi.IsDir() || fi.Mode().Perm() != 0o700 {
		t.Errorf("mode = %v, want drwx------", fi.Mode())
	}
	// Idempotent.
	if err := EnsureDir(dir); err != nil {
		t.Errorf("second call: %v", err)
	}
	// A file in the way is an error.
	file := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := EnsureDir(file); err == nil {
		t.Error("EnsureDir over a regular file succeeded")
	}
}
