package ui

import (
	"strings"

	"rsc.io/qr"
)

// QR codes drawn with half blocks: each cell holds two modules, one above
// the other, as ▀ ▄ █ or a space, so a code stays square on a terminal
// whose cells are about twice as tall as wide.

// qrQuiet is the quiet zone the QR specification asks for, in modules; a
// smaller one is used only when the screen is too short for it.
const qrQuiet = 4

// qrModules encodes text and returns its modules, true for dark, without
// a quiet zone. Level L keeps the code small: a screen does not smudge.
func qrModules(text string) ([][]bool, error) {
	c, err := qr.Encode(text, qr.L)
	if err != nil {
		return nil, err
	}
	mods := make([][]bool, c.Size)
	for y := range mods {
		mods[y] = make([]bool, c.Size)
		for x := range mods[y] {
			mods[y][x] = c.Black(x, y)
		}
	}
	return mods, nil
}

// qrSize is the size of the drawing of n modules with a quiet zone of
// quiet modules: width in cells and height in rows.
func qrSize(n, quiet int) (w, h int) {
	side := n + 2*quiet
	return side, (side + 1) / 2
}

// qrLines draws the modules with a quiet zone of quiet modules around.
// The blocks are the ink: with lightInk (a dark terminal background, light
// text) they draw the light modules and the quiet zone, so the code comes
// out dark on light either way, as scanners expect.
func qrLines(mods [][]bool, quiet int, lightInk bool) []string {
	n := len(mods)
	side := n + 2*quiet
	ink := func(x, y int) bool {
		x, y = x-quiet, y-quiet
		dark := x >= 0 && y >= 0 && x < n && y < n && mods[y][x]
		return dark != lightInk
	}
	var out []string
	var b strings.Builder
	for y := 0; y < side; y += 2 {
		b.Reset()
		for x := 0; x < side; x++ {
			top := ink(x, y)
			bottom := y+1 < side && ink(x, y+1)
			if y+1 >= side {
				// The last row of an odd side: the half below is
				// outside the code, drawn like the quiet zone.
				bottom = lightInk
			}
			switch {
			case top && bottom:
				b.WriteString("█")
			case top:
				b.WriteString("▀")
			case bottom:
				b.WriteString("▄")
			default:
				b.WriteByte(' ')
			}
		}
		out = append(out, b.String())
	}
	return out
}
