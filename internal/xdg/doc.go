// Package xdg resolves the directories xchat uses for its configuration,
// data, state (logs) and cache, following the XDG Base Directory
// Specification.
//
// Each XDG_* variable is honoured only when it holds an absolute path; the
// specification says relative values must be ignored, so they fall back to
// the usual defaults under $HOME (~/.config, ~/.local/share, ~/.local/state,
// ~/.cache). xchat keeps its files in an "xchat" subdirectory of each.
package xdg
