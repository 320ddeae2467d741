package media

import (
	"bytes"
	"encoding/base64"
	"image"
	"image/png"
	"regexp"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// The placeholder cells of the protocol's own 2×2 example (image id 42,
// 256-colour foreground, marks U+0305 for 0 and U+030D for 1).
func TestKittyPlaceholderSpecExample(t *testing.T) {
	got := KittyPlaceholder(42, 2, 2)
	want := []string{
		"\x1b[38;5;42m\U0010EEEE\u0305\u0305\U0010EEEE\u0305\u030D\x1b[39m",
		"\x1b[38;5;42m\U0010EEEE\u030D\u0305\U0010EEEE\u030D\u030D\x1b[39m",
	}
	if len(got) != len(want) {
		t.Fatalf("%d lines, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("line %d = %q, want %q", i, got[i], want[i])
		}
	}
}

// An id with a high byte carries it as a third mark on every cell; one with
// middle bytes uses a 24-bit foreground.
func TestKittyPlaceholderIDs(t *testing.T) {
	got := KittyPlaceholder(42+2<<24, 2, 1)[0]
	if want := "\x1b[38;5;42m\U0010EEEE\u0305\u0305\u030E\U0010EEEE\u0305\u030D\u030E\x1b[39m"; got != want {
		t.Errorf("high byte: %q, want %q", got, want)
	}
	got = KittyPlaceholder(0x07123456, 1, 1)[0]
	if want := "\x1b[38;2;18;52;86m\U0010EEEE\u0305\u0305" + string(kittyDiacritics[7]) + "\x1b[39m"; got != want {
		t.Errorf("24-bit: %q, want %q", got, want)
	}
	// Row 7, column 39 of a 40×8 thumbnail: marks 7 and 39 of the list.
	lines := KittyPlaceholder(5, 40, 8)
	last := []rune(strings.TrimSuffix(lines[7], "\x1b[39m"))
	if n := len(last); last[n-3] != KittyPlaceholderRune || last[n-2] != 0x033F || last[n-1] != 0x0597 {
		t.Errorf("last cell = %q, want U+10EEEE U+033F U+0597", string(last[n-3:]))
	}
}

// Each cell is one terminal column: the ui lays placeholder lines out
// like any text.
func TestKittyPlaceholderWidth(t *testing.T) {
	for _, l := range KittyPlaceholder(300, 17, 3) {
		plain := regexp.MustCompile("\x1b\\[[0-9;]*m").ReplaceAllString(l, "")
		if n := strings.Count(plain, string(KittyPlaceholderRune)); n != 17 {
			t.Errorf("%d placeholder cells, want 17", n)
		}
		for _, r := range plain {
			if r != KittyPlaceholderRune && !unicode.Is(unicode.Mn, r) {
				t.Errorf("unexpected rune %U", r)
			}
		}
	}
}

func TestKittyDiacriticsTable(t *testing.T) {
	if len(kittyDiacritics) != 297 {
		t.Errorf("%d marks, want 297", len(kittyDiacritics))
	}
	for i, r := range kittyDiacritics {
		if !unicode.Is(unicode.Mn, r) {
			t.Errorf("mark %d %U is not a non-spacing mark", i, r)
		}
		if i > 0 && r <= kittyDiacritics[i-1] {
			t.Errorf("mark %d %U out of order", i, r)
		}
	}
}

var apcRe = regexp.MustCompile("\x1b_G([^;\x1b]*)(?:;([^\x1b]*))?\x1b\\\\")

func TestKittyTransmit(t *testing.T) {
	img := testPattern(300, 120)
	cols, rows := KittyCells(img, 40, 8)
	if cols != 40 || rows != 8 { // 300×120 into 40×16 "pixels": 40×16 → 8 rows
		t.Fatalf("cells %dx%d, want 40x8", cols, rows)
	}
	seq := KittyTransmit(77, img, cols, rows)
	cmds := apcRe.FindAllStringSubmatch(seq, -1)
	if strings.Join(apcRe.Split(seq, -1), "") != "" {
		t.Fatalf("stray bytes outside the graphics commands: %q", seq)
	}
	if len(cmds) < 2 {
		t.Fatalf("%d commands", len(cmds))
	}
	if !strings.HasPrefix(cmds[0][1], "a=t,f=100,t=d,i=77,q=2,m=") {
		t.Errorf("first command %q", cmds[0][1])
	}
	var data strings.Builder
	for i, c := range cmds[:len(cmds)-1] {
		more := "m=1"
		if i == len(cmds)-2 {
			more = "m=0"
		}
		if !strings.HasSuffix(c[1], more) {
			t.Errorf("chunk %d: %q, want %s", i, c[1], more)
		}
		if len(c[2]) > 4096 {
			t.Errorf("chunk %d has %d bytes", i, len(c[2]))
		}
		data.WriteString(c[2])
	}
	if got := cmds[len(cmds)-1][1]; got != "a=p,U=1,i=77,c=40,r=8,q=2" {
		t.Errorf("placement %q", got)
	}
	raw, err := base64.StdEncoding.DecodeString(data.String())
	if err != nil {
		t.Fatal(err)
	}
	dec, err := png.Decode(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if b := dec.Bounds(); b.Dx() != 300 || b.Dy() != 120 {
		t.Errorf("sent %v, want the 300×120 image (fits 400×160)", b)
	}
	// A big image is sent at the placement's resolution, not its own.
	dec2 := decodeSent(t, KittyTransmit(1, testPattern(4000, 3000), 40, 15))
	if b := dec2.Bounds(); b.Dx() != 400 || b.Dy() != 300 {
		t.Errorf("sent %v, want 400×300", b)
	}
}

func decodeSent(t *testing.T, seq string) image.Image {
	t.Helper()
	var data strings.Builder
	for _, c := range apcRe.FindAllStringSubmatch(seq, -1) {
		data.WriteString(c[2])
	}
	raw, err := base64.StdEncoding.DecodeString(data.String())
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func TestKittyCellsMatchesHalfBlock(t *testing.T) {
	for _, sz := range [][2]int{{300, 120}, {120, 300}, {6, 5}, {1000, 10}, {10, 1000}} {
		img := testPattern(sz[0], sz[1])
		cols, rows := KittyCells(img, 40, 8)
		hb := HalfBlock(img, 40, 8)
		if rows != len(hb) {
			t.Errorf("%v: %d rows, half blocks %d", sz, rows, len(hb))
		}
		plain := regexp.MustCompile("\x1b\\[[0-9;]*m").ReplaceAllString(hb[0], "")
		if n := utf8.RuneCountInString(plain); cols != n {
			t.Errorf("%v: %d cols, half blocks %d", sz, cols, n)
		}
	}
}

func TestKittyDeleteAndTmux(t *testing.T) {
	if got := KittyDelete(513); got != "\x1b_Ga=d,d=I,i=513,q=2\x1b\\" {
		t.Errorf("delete %q", got)
	}
	if got := TmuxPassthrough("\x1b_Ga=d\x1b\\"); got != "\x1bPtmux;\x1b\x1b_Ga=d\x1b\x1b\\\x1b\\" {
		t.Errorf("passthrough %q", got)
	}
}

func TestKittyPlaceholdersDetection(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		want bool
	}{
		{map[string]string{"TERM": "xterm-kitty"}, true},
		{map[string]string{"KITTY_WINDOW_ID": "3", "TERM": "tmux-256color"}, true},
		{map[string]string{"TERM_PROGRAM": "ghostty"}, true},
		{map[string]string{"KONSOLE_VERSION": "230800", "TERM": "xterm-256color"}, false},
		{map[string]string{"TERM": "xterm-256color"}, false},
	} {
		if got := KittyPlaceholders(tc.env); got != tc.want {
			t.Errorf("KittyPlaceholders(%v) = %v", tc.env, got)
		}
	}
}

func BenchmarkKittyTransmitThumbnail(b *testing.B) {
	img := ScaleToFit(testPattern(4000, 3000), 800, 800)
	cols, rows := KittyCells(img, 40, 8)
	b.ResetTimer()
	for range b.N {
		_ = KittyTransmit(1, img, cols, rows)
	}
}

func BenchmarkKittyPlaceholder40x12(b *testing.B) {
	for range b.N {
		_ = KittyPlaceholder(0x05000007, 40, 12)
	}
}
