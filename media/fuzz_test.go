package media

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func jpegSeeds(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "jpeg", "*.jpg"))
	for _, p := range files {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
		}
	}
}

// The DC decoder reads untrusted files: it may fail but must not panic or
// return an image of the wrong size.
func FuzzDecodeJPEGDC(f *testing.F) {
	jpegSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		img, err := decodeJPEGDC(data, DefaultMaxPixels)
		if err != nil {
			return
		}
		b := img.Bounds()
		if b.Dx() <= 0 || b.Dy() <= 0 {
			t.Fatalf("empty image %v", b)
		}
		_ = img.At(b.Max.X-1, b.Max.Y-1)
	})
}

func FuzzStripJPEGMetadata(f *testing.F) {
	jpegSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		out, _, err := StripJPEGMetadata(data)
		if err == nil && len(out) > len(data)+64 {
			t.Fatalf("output grew from %d to %d", len(data), len(out))
		}
	})
}

func FuzzSafeFilename(f *testing.F) {
	for _, s := range []string{"a.jpg", "../x", "\u202eabc", "CON.txt", strings.Repeat("é", 200)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		s := SafeFilename(name)
		if s == "" || strings.ContainsAny(s, "/\\\x00") || strings.HasPrefix(s, ".") || len(s) > MaxFilenameBytes {
			t.Fatalf("SafeFilename(%q) = %q", name, s)
		}
		if SafeFilename(s) != s {
			t.Fatalf("not idempotent: %q → %q → %q", name, s, SafeFilename(s))
		}
	})
}

func FuzzParseAESGCMURL(f *testing.F) {
	f.Add("aesgcm://h.example/x.jpg#" + specIV + specKey)
	f.Fuzz(func(t *testing.T, s string) {
		u, err := ParseAESGCMURL(s)
		if err != nil {
			return
		}
		if len(u.IV) != IVSize && len(u.IV) != OldIVSize {
			t.Fatalf("IV %d bytes", len(u.IV))
		}
		if !strings.HasPrefix(u.HTTPS, "https://") {
			t.Fatalf("HTTPS %q", u.HTTPS)
		}
	})
}
