package media

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxFilenameBytes bounds SafeFilename's result (most file systems allow 255).
const MaxFilenameBytes = 200

// SafeFilename turns a name from the network into a file name that is safe
// to create in a downloads folder: the base name only (no separators or
// traversal), no leading dots, no control, bidi or zero-width characters,
// none of the characters Windows refuses, not a Windows device name, at
// most MaxFilenameBytes bytes with the extension kept. An empty result
// becomes "file".
func SafeFilename(name string) string {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	var b strings.Builder
	for i := 0; i < len(name); {
		r, n := utf8.DecodeRuneInString(name[i:])
		i += n
		switch {
		case r == utf8.RuneError && n == 1:
			b.WriteByte('_')
		case unicode.IsControl(r), isInvisible(r):
			// dropped
		case strings.ContainsRune(`<>:"|?*`, r):
			b.WriteByte('_')
		case unicode.IsSpace(r):
			b.WriteByte(' ')
		default:
			b.WriteRune(r)
		}
	}
	s := strings.TrimLeft(b.String(), ". ")
	s = strings.TrimRight(s, ". ")
	if s == "" {
		return "file"
	}
	if isReserved(s) {
		s = "_" + s
	}
	return truncateName(s, MaxFilenameBytes)
}

// isInvisible is a bidi control or zero-width character that could disguise
// a name (e.g. "gnp.exe" shown as "exe.png").
func isInvisible(r rune) bool {
	switch {
	case r >= 0x202A && r <= 0x202E, r >= 0x2066 && r <= 0x2069,
		r == 0x200E, r == 0x200F, r == 0x061C,
		r >= 0x200B && r <= 0x200D, r == 0x2060, r == 0xFEFF:
		return true
	}
	return false
}

func isReserved(s string) bool {
	base, _, _ := strings.Cut(s, ".")
	base = strings.ToUpper(strings.TrimRight(base, " "))
	switch base {
	case "CON", "PRN", "AUX", "NUL":
		return true
	}
	if len(base) == 4 && (strings.HasPrefix(base, "COM") || strings.HasPrefix(base, "LPT")) && base[3] >= '0' && base[3] <= '9' {
		return true
	}
	return false
}

// truncateName cuts s to limit bytes on a rune boundary, keeping a short
// extension.
func truncateName(s string, limit int) string {
	if len(s) <= limit {
		return s
	}
	ext := filepath.Ext(s)
	if len(ext) > 16 || len(ext) >= limit {
		ext = ""
	}
	stem := s[:len(s)-len(ext)]
	cut := limit - len(ext)
	for cut > 0 && !utf8.RuneStart(stem[cut]) {
		cut--
	}
	return strings.TrimRight(stem[:cut], ". ") + ext
}

// CreateUnique creates a new file for name (sanitized) in dir without
// overwriting anything: "a.jpg", then "a (1).jpg", "a (2).jpg", …. The
// file is created with O_EXCL and mode 0600.
func CreateUnique(dir, name string) (*os.File, error) {
	name = SafeFilename(name)
	ext := filepath.Ext(name)
	stem := strings.TrimSuffix(name, ext)
	if stem == "" {
		stem, ext = name, ""
	}
	for n := 0; n < 10000; n++ {
		candidate := name
		if n > 0 {
			candidate = fmt.Sprintf("%s (%d)%s", stem, n, ext)
		}
		f, err := os.OpenFile(filepath.Join(dir, candidate), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err == nil {
			return f, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, err
		}
	}
	return nil, fmt.Errorf("no free file name for %q in %s", name, dir)
}

// SaveUnique writes data to a new file made by CreateUnique and returns its
// path.
func SaveUnique(dir, name string, data []byte) (string, error) {
	f, err := CreateUnique(dir, name)
	if err != nil {
		return "", err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(f.Name())
		return "", err
	}
	if err := f.Close(); err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}
