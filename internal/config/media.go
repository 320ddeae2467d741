package config

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

// Media holds the [media] section: photos and files.
type Media struct {
	// AutoDownloadMax: images up to this size from roster contacts are
	// fetched and shown without asking ("0" turns that off). Default 5MB.
	AutoDownloadMax string `toml:"auto_download_max,omitempty"`
	// MaxDownload caps every download. Default 25MB.
	MaxDownload string `toml:"max_download,omitempty"`
	// StripMetadata removes Exif (GPS), XMP and IPTC from JPEGs before
	// upload (default true).
	StripMetadata *bool `toml:"strip_metadata,omitempty"`
	// ImageProtocol: auto (default), halfblock, kitty, iterm2, sixel or none.
	ImageProtocol string `toml:"image_protocol,omitempty"`
	// Viewer opens a file; its path is the last argument. Default xdg-open.
	Viewer []string `toml:"viewer,omitempty"`
	// DownloadDir is where /save writes (default $XDG_DOWNLOAD_DIR or
	// ~/Downloads).
	DownloadDir string `toml:"download_dir,omitempty"`
	// HTTPHosts may be fetched over plain http (every other host: https).
	HTTPHosts []string `toml:"http_hosts,omitempty"`
}

// Media defaults.
const (
	DefaultAutoDownloadMax = 5 << 20
	DefaultMaxDownload     = 25 << 20
)

// Strip reports whether JPEG metadata is removed before upload (default).
func (m Media) Strip() bool { return m.StripMetadata == nil || *m.StripMetadata }

var imageProtocols = []string{"auto", "halfblock", "kitty", "iterm2", "sixel", "none"}

// AutoDownloadBytes is auto_download_max in bytes, at most MaxDownloadBytes.
func (m Media) AutoDownloadBytes() int64 {
	n, err := parseSize(m.AutoDownloadMax, DefaultAutoDownloadMax)
	if err != nil {
		n = DefaultAutoDownloadMax
	}
	return min(n, m.MaxDownloadBytes())
}

// MaxDownloadBytes is max_download in bytes.
func (m Media) MaxDownloadBytes() int64 {
	n, err := parseSize(m.MaxDownload, DefaultMaxDownload)
	if err != nil || n <= 0 {
		return DefaultMaxDownload
	}
	return n
}

// Protocol is image_protocol normalized: auto, halfblock, kitty, iterm2,
// sixel or none.
func (m Media) Protocol() string {
	p := strings.ToLower(strings.TrimSpace(m.ImageProtocol))
	switch p {
	case "":
		return "auto"
	case "half-block", "halfblocks":
		return "halfblock"
	}
	return p
}

// Hosts is http_hosts in lower case.
func (m Media) Hosts() []string {
	out := make([]string, len(m.HTTPHosts))
	for i, h := range m.HTTPHosts {
		out[i] = strings.ToLower(strings.TrimSpace(h))
	}
	return out
}

// Downloads is download_dir with "~/" expanded; "" when not set.
func (m Media) Downloads() string { return resolvePath("", m.DownloadDir) }

// validate reports problems through fail; it changes nothing.
func (m *Media) validate(fail func(key, jidCtx, format string, args ...any)) {
	if _, err := parseSize(m.AutoDownloadMax, DefaultAutoDownloadMax); err != nil {
		fail("media.auto_download_max", "", "%v", err)
	}
	if n, err := parseSize(m.MaxDownload, DefaultMaxDownload); err != nil {
		fail("media.max_download", "", "%v", err)
	} else if n == 0 {
		fail("media.max_download", "", "must be more than 0")
	}
	if !slices.Contains(imageProtocols, m.Protocol()) {
		fail("media.image_protocol", "", "must be one of %s, got %q", quoteList(imageProtocols), m.ImageProtocol)
	}
	if len(m.Viewer) > 0 && strings.TrimSpace(m.Viewer[0]) == "" {
		fail("media.viewer", "", "the first element must name a program")
	}
	for _, h := range m.HTTPHosts {
		h = strings.TrimSpace(h)
		if h == "" || strings.ContainsAny(h, "/: ") {
			fail("media.http_hosts", "", "%q is not a host name (no scheme, port or path)", h)
		}
	}
}

// parseSize reads "25MB", "512 KiB", "1.5G", "0" or a plain byte count;
// K, M and G are powers of 1024. "" gives def.
func parseSize(s string, def int64) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return def, nil
	}
	i := strings.IndexFunc(s, func(r rune) bool { return !unicode.IsDigit(r) && r != '.' })
	num, unit := s, ""
	if i >= 0 {
		num, unit = s[:i], strings.ToLower(strings.TrimSpace(s[i:]))
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("%q is not a size (e.g. \"25MB\", \"512KB\", \"0\")", s)
	}
	mult := map[string]float64{"": 1, "b": 1, "k": 1 << 10, "kb": 1 << 10, "kib": 1 << 10,
		"m": 1 << 20, "mb": 1 << 20, "mib": 1 << 20, "g": 1 << 30, "gb": 1 << 30, "gib": 1 << 30}[unit]
	if mult == 0 {
		return 0, fmt.Errorf("%q: unknown unit %q (use B, KB, MB or GB)", s, unit)
	}
	return int64(v * mult), nil
}

// orNil is m, or nil when nothing is set (Save then writes no [media]).
func (m Media) orNil() *Media {
	if m.AutoDownloadMax == "" && m.MaxDownload == "" && m.StripMetadata == nil && m.ImageProtocol == "" &&
		len(m.Viewer) == 0 && m.DownloadDir == "" && len(m.HTTPHosts) == 0 {
		return nil
	}
	return &m
}
