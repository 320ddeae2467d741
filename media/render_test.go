package media

import (
	"bytes"
	"encoding/base64"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

// goldenImage is 6×5 pixels: colour ramps, one transparent pixel at (2,0)
// and an odd height so the last row has no lower half.
func goldenImage() *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, 6, 5))
	for y := 0; y < 5; y++ {
		for x := 0; x < 6; x++ {
			img.SetRGBA(x, y, color.RGBA{uint8(40 * x), uint8(60 * y), uint8(255 - 30*x - 20*y), 255})
		}
	}
	img.SetRGBA(2, 0, color.RGBA{})
	return img
}

func TestHalfBlockGolden(t *testing.T) {
	var out strings.Builder
	fmt.Fprintln(&out, "# exact size 6x5 into 6x3 cells")
	for _, l := range HalfBlock(goldenImage(), 6, 3) {
		fmt.Fprintln(&out, strconv.Quote(l))
	}
	fmt.Fprintln(&out, "# 24x20 pattern scaled into 6x3 cells")
	for _, l := range HalfBlock(testPattern(24, 20), 6, 3) {
		fmt.Fprintln(&out, strconv.Quote(l))
	}
	path := filepath.Join("testdata", "halfblock.golden")
	if *update {
		if err := os.WriteFile(path, []byte(out.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./media -run Golden -update)", err)
	}
	if out.String() != string(want) {
		t.Errorf("half-block output differs from %s:\n%s\nwant:\n%s", path, out.String(), want)
	}
}

var sgrRe = regexp.MustCompile(`\x1b\[[0-9;]*m`)

// Independent of the golden file: decode what HalfBlock emitted cell by cell
// and compare each cell's colours with the source pixels.
func TestHalfBlockCellsMatchPixels(t *testing.T) {
	img := goldenImage()
	lines := HalfBlock(img, 6, 3)
	if len(lines) != 3 {
		t.Fatalf("%d lines", len(lines))
	}
	for row, line := range lines {
		if !strings.HasSuffix(line, "\x1b[0m") {
			t.Errorf("line %d does not end with a reset", row)
		}
		var fg, bg string
		cell := 0
		for i := 0; i < len(line); {
			if loc := sgrRe.FindStringIndex(line[i:]); loc != nil && loc[0] == 0 {
				seq := line[i+2 : i+loc[1]-1]
				switch {
				case strings.HasPrefix(seq, "38;2;"):
					fg = seq[5:]
				case strings.HasPrefix(seq, "48;2;"):
					bg = seq[5:]
				case seq == "49":
					bg = ""
				}
				i += loc[1]
				continue
			}
			r, n := utf8.DecodeRuneInString(line[i:])
			i += n
			px := func(x, y int) string {
				c := img.RGBAAt(x, y)
				return fmt.Sprintf("%d;%d;%d", c.R, c.G, c.B)
			}
			up, lo := 2*row, 2*row+1
			switch {
			case row == 0 && cell == 2: // transparent upper pixel
				if r != '▄' || fg != px(cell, lo) || bg != "" {
					t.Errorf("cell %d,%d = %q fg %s bg %s", cell, row, r, fg, bg)
				}
			case lo >= 5: // last row: no lower pixel
				if r != '▀' || fg != px(cell, up) || bg != "" {
					t.Errorf("cell %d,%d = %q fg %s bg %s", cell, row, r, fg, bg)
				}
			default:
				if r != '▀' || fg != px(cell, up) || bg != px(cell, lo) {
					t.Errorf("cell %d,%d = %q fg %s bg %s, want %s / %s", cell, row, r, fg, bg, px(cell, up), px(cell, lo))
				}
			}
			cell++
		}
		if cell != 6 {
			t.Errorf("line %d has %d cells", row, cell)
		}
	}
}

func TestHalfBlockFits(t *testing.T) {
	lines := HalfBlock(testPattern(400, 100), 40, 12)
	// 400x100 into 40x24 px → 40x10 px → 5 lines of 40 cells.
	if len(lines) != 5 {
		t.Fatalf("%d lines", len(lines))
	}
	for _, l := range lines {
		if n := utf8.RuneCountInString(sgrRe.ReplaceAllString(l, "")); n != 40 {
			t.Errorf("line width %d", n)
		}
	}
}

func TestDetectProtocol(t *testing.T) {
	tests := []struct {
		env  map[string]string
		want Protocol
	}{
		{map[string]string{}, HalfBlocks},
		{map[string]string{"TERM": "xterm-256color"}, HalfBlocks},
		{map[string]string{"TERM": "xterm-kitty"}, Kitty},
		{map[string]string{"TERM": "xterm-256color", "KITTY_WINDOW_ID": "1"}, Kitty},
		{map[string]string{"TERM_PROGRAM": "ghostty"}, Kitty},
		{map[string]string{"TERM_PROGRAM": "iTerm.app"}, ITerm2},
		{map[string]string{"LC_TERMINAL": "iTerm2", "TERM": "xterm-256color"}, ITerm2},
		{map[string]string{"TERM_PROGRAM": "WezTerm"}, ITerm2},
		{map[string]string{"TERM": "foot"}, Sixel},
		{map[string]string{"TERM": "foot-extra"}, Sixel},
		{map[string]string{"TERM": "mlterm"}, Sixel},
		{map[string]string{"KONSOLE_VERSION": "230804"}, Kitty},
		{map[string]string{"TERM": "tmux-256color", "KITTY_WINDOW_ID": "1"}, HalfBlocks},
		{map[string]string{"TERM": "screen-256color", "TERM_PROGRAM": "iTerm.app"}, HalfBlocks},
		{map[string]string{"TMUX": "/tmp/tmux-0/default,1,0", "TERM": "xterm-kitty"}, HalfBlocks},
		{map[string]string{"TMUX": "/tmp/x", "XCHAT_IMAGE_PROTOCOL": "kitty"}, Kitty},
		{map[string]string{"TERM": "xterm-kitty", "XCHAT_IMAGE_PROTOCOL": "halfblock"}, HalfBlocks},
		{map[string]string{"TERM": "xterm-kitty", "XCHAT_IMAGE_PROTOCOL": "auto"}, Kitty},
		{map[string]string{"TERM": "xterm-kitty", "XCHAT_IMAGE_PROTOCOL": "bogus"}, Kitty},
		{map[string]string{"TERM": "foot", "XCHAT_IMAGE_PROTOCOL": "SIXEL"}, Sixel},
	}
	for _, tc := range tests {
		if got := DetectProtocol(tc.env); got != tc.want {
			t.Errorf("DetectProtocol(%v) = %v, want %v", tc.env, got, tc.want)
		}
	}
	if got := DetectProtocol(Environ([]string{"TERM=xterm-kitty", "X=a=b", "junk"})); got != Kitty {
		t.Errorf("Environ: %v", got)
	}
	if _, _, err := ParseProtocol("bogus"); err == nil {
		t.Error("bogus protocol accepted")
	}
}

func TestKittyImage(t *testing.T) {
	// Noise does not compress, so the PNG needs several chunks.
	noise := testPattern(300, 200)
	rnd := rand.New(rand.NewPCG(1, 2))
	for i := range noise.Pix {
		if i%4 != 3 {
			noise.Pix[i] = uint8(rnd.Uint32())
		}
	}
	s := KittyImage(noise, 20, 10)
	chunks := strings.Split(strings.TrimSuffix(s, "\x1b\\"), "\x1b\\")
	var data strings.Builder
	for i, c := range chunks {
		if !strings.HasPrefix(c, "\x1b_G") {
			t.Fatalf("chunk %d: %q", i, c[:10])
		}
		ctrl, payload, _ := strings.Cut(c[3:], ";")
		if i == 0 && !strings.HasPrefix(ctrl, "a=T,f=100,q=2,c=20,r=10,") {
			t.Errorf("control %q", ctrl)
		}
		more := strings.HasSuffix(ctrl, "m=1")
		if more != (i < len(chunks)-1) {
			t.Errorf("chunk %d: m flag %q", i, ctrl)
		}
		if len(payload) > 4096 {
			t.Errorf("chunk %d: %d bytes", i, len(payload))
		}
		data.WriteString(payload)
	}
	if len(chunks) < 2 {
		t.Errorf("expected several chunks, got %d", len(chunks))
	}
	checkPNG(t, data.String(), 200, 133)
}

func checkPNG(t *testing.T, b64 string, w, h int) {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if img.Bounds().Dx() != w || img.Bounds().Dy() != h {
		t.Errorf("PNG %v, want %dx%d", img.Bounds(), w, h)
	}
}

func TestITerm2Image(t *testing.T) {
	s := ITerm2Image(testPattern(300, 200), 20, 10)
	re := regexp.MustCompile(`^\x1b\]1337;File=inline=1;size=(\d+);width=20;height=10;preserveAspectRatio=1:([A-Za-z0-9+/=]+)\x07$`)
	m := re.FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("bad sequence %q", s[:60])
	}
	raw, _ := base64.StdEncoding.DecodeString(m[2])
	if strconv.Itoa(len(raw)) != m[1] {
		t.Errorf("size %s, data %d", m[1], len(raw))
	}
	checkPNG(t, m[2], 200, 133)
}

func TestSixelImage(t *testing.T) {
	// 2 cells → 20x40 px of a solid red image: one colour register, 7 bands.
	red := image.NewRGBA(image.Rect(0, 0, 20, 40))
	for i := 0; i < len(red.Pix); i += 4 {
		copy(red.Pix[i:], []byte{255, 0, 0, 255})
	}
	s := SixelImage(red, 2, 2)
	if !strings.HasPrefix(s, "\x1bP0;1;0q\"1;1;20;40") || !strings.HasSuffix(s, "\x1b\\") {
		t.Fatalf("framing %q", s)
	}
	body := strings.TrimSuffix(strings.TrimPrefix(s, "\x1bP0;1;0q\"1;1;20;40"), "\x1b\\")
	defs := regexp.MustCompile(`#(\d+);2;(\d+);(\d+);(\d+)`).FindAllStringSubmatch(body, -1)
	if len(defs) != 1 || defs[0][2] != "100" || defs[0][3] != "0" || defs[0][4] != "0" {
		t.Fatalf("colour definitions %v", defs)
	}
	body = body[len(defs[0][0]):]
	bands := strings.Split(strings.TrimSuffix(body, "-"), "-")
	if len(bands) != 7 { // ceil(40/6)
		t.Fatalf("%d bands: %q", len(bands), body)
	}
	reg := "#" + defs[0][1]
	for i, b := range bands[:6] {
		if b != reg+"!20~" {
			t.Errorf("band %d = %q", i, b)
		}
	}
	// The last band holds rows 36..39: bits 0-3 → '?'+15 = 'N'.
	if bands[6] != reg+"!20N" {
		t.Errorf("last band = %q", bands[6])
	}
}
