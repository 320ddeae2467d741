package ui

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	tea "charm.land/bubbletea/v2"
)

// The QR code is checked by reading its drawing back: the half blocks are
// turned into modules and decoded by the small reader below (byte mode,
// versions 1–6, one error-correction block: enough for our URIs at level
// L), which checks the format information and the Reed–Solomon codewords
// with its own arithmetic, independently of the encoder.

// unhalf turns half-block lines into modules (true: dark) and drops the
// quiet zone.
func unhalf(t *testing.T, lines []string, lightInk bool) [][]bool {
	t.Helper()
	var rows [][]bool
	for _, l := range lines {
		var top, bottom []bool
		for _, r := range l {
			var a, b bool
			switch r {
			case '█':
				a, b = true, true
			case '▀':
				a = true
			case '▄':
				b = true
			case ' ':
			default:
				t.Fatalf("unexpected character %q in the drawing", r)
			}
			top, bottom = append(top, a != lightInk), append(bottom, b != lightInk)
		}
		rows = append(rows, top, bottom)
	}
	// Crop to the dark modules: the finder patterns sit in three corners.
	minX, minY, maxX, maxY := 1<<30, 1<<30, -1, -1
	for y, row := range rows {
		for x, dark := range row {
			if dark {
				minX, minY, maxX, maxY = min(minX, x), min(minY, y), max(maxX, x), max(maxY, y)
			}
		}
	}
	if maxX < 0 || maxX-minX != maxY-minY {
		t.Fatalf("the dark modules do not form a square: x %d..%d, y %d..%d", minX, maxX, minY, maxY)
	}
	out := make([][]bool, maxY-minY+1)
	for y := range out {
		out[y] = rows[minY+y][minX : maxX+1]
	}
	return out
}

func gfMul(x, y byte) byte {
	var z byte
	for i := 7; i >= 0; i-- {
		z = z<<1 ^ (z>>7)*0x1d
		z ^= (y >> i & 1) * x
	}
	return z
}

// rsRemainder is the Reed–Solomon error-correction of data, n codewords.
func rsRemainder(data []byte, n int) []byte {
	div := make([]byte, n)
	div[n-1] = 1
	root := byte(1)
	for range n {
		for j := range n {
			div[j] = gfMul(div[j], root)
			if j+1 < n {
				div[j] ^= div[j+1]
			}
		}
		root = gfMul(root, 2)
	}
	rem := make([]byte, n)
	for _, b := range data {
		f := b ^ rem[0]
		copy(rem, rem[1:])
		rem[n-1] = 0
		for i := range rem {
			rem[i] ^= gfMul(div[i], f)
		}
	}
	return rem
}

// readQR decodes a level-L code of version 1 to 6 in byte mode.
func readQR(mods [][]bool) (string, error) {
	size := len(mods)
	version := (size - 17) / 4
	if size < 21 || (size-17)%4 != 0 || version > 6 {
		return "", fmt.Errorf("size %d: not a version 1–6 code", size)
	}
	at := func(x, y int) bool { return mods[y][x] }
	// Format information, first copy, bit i as placed by the standard.
	fmtAt := func(i int) bool {
		switch {
		case i < 6:
			return at(8, i)
		case i == 6:
			return at(8, 7)
		case i == 7:
			return at(8, 8)
		case i == 8:
			return at(7, 8)
		}
		return at(14-i, 8)
	}
	fmtAt2 := func(i int) bool {
		if i < 8 {
			return at(size-1-i, 8)
		}
		return at(8, size-15+i)
	}
	mask := -1
	for mk := range 8 {
		data := 1<<3 | mk // level L
		rem := data
		for range 10 {
			rem = rem<<1 ^ (rem>>9)*0x537
		}
		bits := (data<<10 | rem) ^ 0x5412
		ok := true
		for i := range 15 {
			if fmtAt(i) != (bits>>i&1 == 1) || fmtAt2(i) != (bits>>i&1 == 1) {
				ok = false
				break
			}
		}
		if ok {
			mask = mk
		}
	}
	if mask < 0 {
		return "", fmt.Errorf("no valid level-L format information")
	}
	if !at(8, size-8) {
		return "", fmt.Errorf("the dark module is missing")
	}
	fn := make([][]bool, size)
	for y := range fn {
		fn[y] = make([]bool, size)
	}
	area := func(x0, y0, w, h int) {
		for y := max(0, y0); y < min(size, y0+h); y++ {
			for x := max(0, x0); x < min(size, x0+w); x++ {
				fn[y][x] = true
			}
		}
	}
	area(0, 0, 9, 9)
	area(size-8, 0, 8, 9)
	area(0, size-8, 9, 8)
	area(6, 0, 1, size)
	area(0, 6, size, 1)
	if version >= 2 {
		c := size - 7
		area(c-2, c-2, 5, 5)
	}
	// Mask functions, by number; x is the column.
	masks := []func(x, y int) bool{
		func(x, y int) bool { return (x+y)%2 == 0 },
		func(x, y int) bool { return y%2 == 0 },
		func(x, y int) bool { return x%3 == 0 },
		func(x, y int) bool { return (x+y)%3 == 0 },
		func(x, y int) bool { return (x/3+y/2)%2 == 0 },
		func(x, y int) bool { return x*y%2+x*y%3 == 0 },
		func(x, y int) bool { return (x*y%2+x*y%3)%2 == 0 },
		func(x, y int) bool { return ((x+y)%2+x*y%3)%2 == 0 },
	}
	var bits []bool
	for right := size - 1; right >= 1; right -= 2 {
		if right == 6 {
			right = 5
		}
		for vert := range size {
			for j := range 2 {
				x := right - j
				y := vert
				if (right+1)&2 == 0 {
					y = size - 1 - vert
				}
				if !fn[y][x] {
					bits = append(bits, at(x, y) != masks[mask](x, y))
				}
			}
		}
	}
	total := len(bits) / 8
	words := make([]byte, total)
	for i := range words {
		for k := range 8 {
			if bits[i*8+k] {
				words[i] |= 1 << (7 - k)
			}
		}
	}
	// Level L: versions 1–5 have one block, version 6 two equal ones,
	// whose codewords are interleaved.
	ecLen := []int{0, 7, 10, 15, 20, 26, 18}[version]
	blocks := 1
	if version == 6 {
		blocks = 2
	}
	dataLen := total/blocks - ecLen
	var data []byte
	for b := range blocks {
		var d, ec []byte
		for i := range dataLen {
			d = append(d, words[i*blocks+b])
		}
		for i := range ecLen {
			ec = append(ec, words[dataLen*blocks+i*blocks+b])
		}
		if got := rsRemainder(d, ecLen); string(got) != string(ec) {
			return "", fmt.Errorf("error-correction codewords of block %d do not match its data", b)
		}
		data = append(data, d...)
	}
	if data[0]>>4 != 0b0100 {
		return "", fmt.Errorf("mode %04b, want byte mode", data[0]>>4)
	}
	n := int(data[0]&0xf)<<4 | int(data[1]>>4)
	out := make([]byte, n)
	for i := range out {
		out[i] = data[1+i]<<4 | data[2+i]>>4
	}
	return string(out), nil
}

func TestQRRoundTrip(t *testing.T) {
	for _, text := range []string{"xmpp:a@b", ownURI, "xmpp:juliet@capulet.example?omemo-sid-1234=" + bobFP2} {
		mods, err := qrModules(text)
		if err != nil {
			t.Fatal(err)
		}
		for _, light := range []bool{true, false} {
			for _, quiet := range []int{1, 2, 4} {
				lines := qrLines(mods, quiet, light)
				w, h := qrSize(len(mods), quiet)
				if len(lines) != h {
					t.Errorf("%d rows, want %d", len(lines), h)
				}
				for _, l := range lines {
					if lenCells(l) != w {
						t.Fatalf("row of %d cells, want %d", lenCells(l), w)
					}
				}
				if light && quiet >= 2 {
					// The quiet zone is ink on a dark terminal: the first row is full.
					if strings.Trim(lines[0], "█") != "" {
						t.Errorf("quiet zone not drawn: %q", lines[0])
					}
				}
				got, err := readQR(unhalf(t, lines, light))
				if err != nil {
					t.Fatalf("%q (quiet %d, light ink %v): %v", text, quiet, light, err)
				}
				if got != text {
					t.Errorf("decoded %q, want %q", got, text)
				}
			}
		}
	}
}

func TestQRReaderRejectsDamage(t *testing.T) {
	mods, err := qrModules(ownURI)
	if err != nil {
		t.Fatal(err)
	}
	mods[len(mods)-1][len(mods)-1] = !mods[len(mods)-1][len(mods)-1] // a data module
	if _, err := readQR(mods); err == nil {
		t.Error("a flipped data module went unnoticed")
	}
}

func TestQRGolden(t *testing.T) {
	h, f, _ := omemoHarness(t)
	h.command("/omemo qr")
	if _, ok := lastCall(f.Calls(), "OMEMOOwn"); !ok {
		t.Fatal("no OMEMOOwn call")
	}
	screen := h.screen()
	checkFrame(t, screen, 80, 24)
	golden(t, "omemo_qr", screen)
	lines := strings.Split(screen, "\n")
	var code []string
	for _, l := range lines {
		if i := strings.IndexAny(l, "█▀▄"); i >= 0 {
			j := strings.LastIndexAny(l, "█▀▄")
			_, n := utf8.DecodeRuneInString(l[j:])
			code = append(code, l[i:j+n])
		}
	}
	got, err := readQR(unhalf(t, code, true))
	if err != nil || got != ownURI {
		t.Fatalf("the screen's QR code reads %q, %v; want %q", got, err, ownURI)
	}
	h.press("esc")
	if strings.Contains(h.screen(), "█") {
		t.Error("Esc left the QR code on screen")
	}
	// /omemo verify without a URI shows it too, with the URI in text when
	// the pane is large enough.
	h.send(tea.WindowSizeMsg{Width: 160, Height: 60})
	h.command("/omemo verify")
	screen = h.screen()
	if !strings.Contains(screen, "Let your contact scan this") || !strings.Contains(screen, "█") {
		t.Errorf("/omemo verify:\n%s", screen)
	}
}

func TestQRFullScreenHidesCursor(t *testing.T) {
	h, _, _ := omemoHarness(t)
	if h.m.View().Cursor == nil {
		t.Fatal("no cursor in the input to begin with")
	}
	h.command("/omemo qr")
	if !h.m.omemoFullScreen() || h.m.View().Cursor != nil {
		t.Error("the cursor shows over a full-screen QR code")
	}
	h.send(tea.WindowSizeMsg{Width: 200, Height: 80})
	if h.m.omemoFullScreen() || h.m.View().Cursor == nil {
		t.Error("on a large screen the QR code should stay in the pane, with the input usable")
	}
}
