package media

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestSafeFilename(t *testing.T) {
	long := strings.Repeat("é", 150) + ".jpg" // 300 bytes of stem
	tests := []struct{ in, want string }{
		{"photo.jpg", "photo.jpg"},
		{"très cool.jpg", "très cool.jpg"},
		{"../../etc/passwd", "passwd"},
		{`..\..\windows\system32\cmd.exe`, "cmd.exe"},
		{"/absolute/path/x.png", "x.png"},
		{"..", "file"},
		{".", "file"},
		{"", "file"},
		{"dir/", "file"},
		{".bashrc", "bashrc"},
		{"...hidden.txt", "hidden.txt"},
		{"name.", "name"},
		{"a\x00b\x07c\x1b[31m.txt", "abc[31m.txt"},
		{"line\nbreak.txt", "linebreak.txt"},
		{"tab\there.txt", "tabhere.txt"},
		{"evil\u202Egnp.exe", "evilgnp.exe"},
		{"iso\u2066late\u2069.pdf", "isolate.pdf"},
		{"zero\u200bwidth.txt", "zerowidth.txt"},
		{"c1\u0085ctl.txt", "c1ctl.txt"},
		{"a<b>c:d\"e|f?g*h.txt", "a_b_c_d_e_f_g_h.txt"},
		{"bad\xffutf8.txt", "bad_utf8.txt"},
		{"CON", "_CON"},
		{"con.txt", "_con.txt"},
		{"Lpt1.log", "_Lpt1.log"},
		{"COM9", "_COM9"},
		{"console.txt", "console.txt"},
		{"COM10", "COM10"},
		{"  spaced  ", "spaced"},
		{"\u00a0nbsp.txt", "nbsp.txt"},
	}
	for _, tc := range tests {
		if got := SafeFilename(tc.in); got != tc.want {
			t.Errorf("SafeFilename(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	got := SafeFilename(long)
	if len(got) > MaxFilenameBytes || !strings.HasSuffix(got, ".jpg") || !utf8.ValidString(got) {
		t.Errorf("long name: %d bytes %q", len(got), got)
	}
}

// Property: whatever the input, the result is a plain, visible base name.
func TestSafeFilenameInvariants(t *testing.T) {
	inputs := []string{"a/../b", "\x00", "...", "/", "\\", ". .", "\u202e", "x/\u202e.", strings.Repeat("/", 300), strings.Repeat("a", 1000)}
	for _, in := range inputs {
		s := SafeFilename(in)
		if s == "" || s == "." || s == ".." || strings.ContainsAny(s, `/\`) || strings.HasPrefix(s, ".") || len(s) > MaxFilenameBytes {
			t.Errorf("SafeFilename(%q) = %q", in, s)
		}
		if filepath.Base(s) != s {
			t.Errorf("SafeFilename(%q) = %q is not a base name", in, s)
		}
	}
}

func TestSaveUniqueNeverOverwrites(t *testing.T) {
	dir := t.TempDir()
	var paths []string
	for i := 0; i < 3; i++ {
		p, err := SaveUnique(dir, "../photo.jpg", []byte{byte('a' + i)})
		if err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	want := []string{"photo.jpg", "photo (1).jpg", "photo (2).jpg"}
	for i, p := range paths {
		if filepath.Dir(p) != dir || filepath.Base(p) != want[i] {
			t.Errorf("path %d = %s, want %s in %s", i, p, want[i], dir)
		}
		data, err := os.ReadFile(p)
		if err != nil || string(data) != string(rune('a'+i)) {
			t.Errorf("content of %s = %q, %v", p, data, err)
		}
		if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v", p, fi.Mode())
		}
	}
	// A name without extension and a pre-existing directory of that name.
	if err := os.Mkdir(filepath.Join(dir, "notes"), 0o700); err != nil {
		t.Fatal(err)
	}
	p, err := SaveUnique(dir, "notes", nil)
	if err != nil || filepath.Base(p) != "notes (1)" {
		t.Fatalf("got %s, %v", p, err)
	}
}
