package media

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"image"
	"image/color"
	"image/color/palette"
	"image/png"
	"strconv"
	"strings"

	"golang.org/x/image/draw"
)

// Protocol is a way to draw images in a terminal.
type Protocol int

// Terminal image protocols.
const (
	HalfBlocks Protocol = iota // '▀' with 24-bit colours: works everywhere with truecolor
	Kitty                      // kitty graphics protocol
	ITerm2                     // iTerm2 inline images (OSC 1337)
	Sixel                      // DEC Sixel
)

var protocolNames = []string{"halfblock", "kitty", "iterm2", "sixel"}

func (p Protocol) String() string {
	if p >= 0 && int(p) < len(protocolNames) {
		return protocolNames[p]
	}
	return "unknown"
}

// ParseProtocol reads a configured protocol name; "auto" or "" returns ok
// false so the caller detects instead.
func ParseProtocol(s string) (p Protocol, ok bool, err error) {
	s = strings.ToLower(strings.TrimSpace(s))
	switch s {
	case "", "auto":
		return HalfBlocks, false, nil
	case "halfblocks", "half-block", "blocks":
		return HalfBlocks, true, nil
	}
	for i, n := range protocolNames {
		if s == n {
			return Protocol(i), true, nil
		}
	}
	return HalfBlocks, false, fmt.Errorf("unknown image protocol %q (want auto, halfblock, kitty, iterm2 or sixel)", s)
}

// ProtocolEnv names the variable that overrides detection.
const ProtocolEnv = "XCHAT_IMAGE_PROTOCOL"

// Environ turns os.Environ-style "KEY=value" entries into the map that
// DetectProtocol takes.
func Environ(list []string) map[string]string {
	m := make(map[string]string, len(list))
	for _, kv := range list {
		if k, v, ok := strings.Cut(kv, "="); ok {
			m[k] = v
		}
	}
	return m
}

// DetectProtocol picks the best protocol the terminal described by env
// supports. XCHAT_IMAGE_PROTOCOL overrides it. Inside tmux or screen, which
// do not pass graphics through by default, it answers HalfBlocks.
func DetectProtocol(env map[string]string) Protocol {
	if p, ok, err := ParseProtocol(env[ProtocolEnv]); ok && err == nil {
		return p
	}
	term := strings.ToLower(env["TERM"])
	prog := strings.ToLower(env["TERM_PROGRAM"])
	if env["TMUX"] != "" || strings.HasPrefix(term, "screen") || strings.HasPrefix(term, "tmux") || env["STY"] != "" {
		return HalfBlocks
	}
	switch {
	case env["KITTY_WINDOW_ID"] != "" || term == "xterm-kitty":
		return Kitty
	case prog == "ghostty" || term == "xterm-ghostty":
		return Kitty
	case prog == "iterm.app" || strings.EqualFold(env["LC_TERMINAL"], "iTerm2"):
		return ITerm2
	case prog == "wezterm" || env["WEZTERM_EXECUTABLE"] != "":
		return ITerm2
	case prog == "mintty":
		return ITerm2
	case env["KONSOLE_VERSION"] != "":
		return Kitty
	case strings.HasPrefix(term, "foot") || term == "mlterm" || strings.Contains(term, "sixel"):
		return Sixel
	}
	return HalfBlocks
}

// HalfBlock draws img in at most cols×rows cells: each cell is '▀' with the
// upper pixel as 24-bit foreground and the lower as background. Every line
// ends with a reset. Transparent pixels show the terminal's background.
func HalfBlock(img image.Image, cols, rows int) []string {
	t := Thumbnail(img, cols, rows)
	w, h := t.Rect.Dx(), t.Rect.Dy()
	lines := make([]string, 0, (h+1)/2)
	var b strings.Builder
	for y := 0; y < h; y += 2 {
		b.Reset()
		var fg, bg color.RGBA
		haveFG, haveBG := false, false
		for x := 0; x < w; x++ {
			up := rgbaAt(t, x, y)
			var lo color.RGBA
			if y+1 < h {
				lo = rgbaAt(t, x, y+1)
			}
			upOn, loOn := up.A >= 128, lo.A >= 128
			switch {
			case upOn && loOn:
				if !haveFG || fg != up {
					sgr(&b, 38, up)
					fg, haveFG = up, true
				}
				if !haveBG || bg != lo {
					sgr(&b, 48, lo)
					bg, haveBG = lo, true
				}
				b.WriteString("▀")
			case upOn || loOn:
				px, ch := up, "▀"
				if !upOn {
					px, ch = lo, "▄"
				}
				if haveBG {
					b.WriteString("\x1b[49m")
					haveBG = false
				}
				if !haveFG || fg != px {
					sgr(&b, 38, px)
					fg, haveFG = px, true
				}
				b.WriteString(ch)
			default:
				if haveBG {
					b.WriteString("\x1b[49m")
					haveBG = false
				}
				b.WriteByte(' ')
			}
		}
		b.WriteString("\x1b[0m")
		lines = append(lines, b.String())
	}
	return lines
}

func rgbaAt(img *image.RGBA, x, y int) color.RGBA {
	i := img.PixOffset(x, y)
	p := img.Pix[i : i+4]
	c := color.RGBA{p[0], p[1], p[2], p[3]}
	if c.A != 0 && c.A != 255 {
		// Un-premultiply for display.
		c.R = uint8(uint16(c.R) * 255 / uint16(c.A))
		c.G = uint8(uint16(c.G) * 255 / uint16(c.A))
		c.B = uint8(uint16(c.B) * 255 / uint16(c.A))
	}
	return c
}

func sgr(b *strings.Builder, code int, c color.RGBA) {
	b.WriteString("\x1b[")
	b.WriteString(strconv.Itoa(code))
	b.WriteString(";2;")
	b.WriteString(strconv.Itoa(int(c.R)))
	b.WriteByte(';')
	b.WriteString(strconv.Itoa(int(c.G)))
	b.WriteByte(';')
	b.WriteString(strconv.Itoa(int(c.B)))
	b.WriteByte('m')
}

// Assumed cell size in pixels for protocols that need pixel dimensions.
const (
	CellWidthPx  = 10
	CellHeightPx = 20
)

func encodePNG(img image.Image) []byte {
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	_ = enc.Encode(&buf, img) // writing to a bytes.Buffer cannot fail
	return buf.Bytes()
}

// KittyImage returns the kitty graphics escape sequence showing img scaled
// into cols×rows cells at the cursor (PNG, chunks of 4096 base64 bytes).
func KittyImage(img image.Image, cols, rows int) string {
	scaled := ScaleToFit(img, cols*CellWidthPx, rows*CellHeightPx)
	data := base64.StdEncoding.EncodeToString(encodePNG(scaled))
	var b strings.Builder
	const chunk = 4096
	for i := 0; i < len(data) || i == 0; i += chunk {
		end := min(i+chunk, len(data))
		more := 0
		if end < len(data) {
			more = 1
		}
		b.WriteString("\x1b_G")
		if i == 0 {
			fmt.Fprintf(&b, "a=T,f=100,q=2,c=%d,r=%d,", cols, rows)
		}
		fmt.Fprintf(&b, "m=%d;%s\x1b\\", more, data[i:end])
		if end == len(data) {
			break
		}
	}
	return b.String()
}

// ITerm2Image returns the iTerm2 OSC 1337 sequence showing img inline in
// cols×rows cells.
func ITerm2Image(img image.Image, cols, rows int) string {
	scaled := ScaleToFit(img, cols*CellWidthPx, rows*CellHeightPx)
	p := encodePNG(scaled)
	return fmt.Sprintf("\x1b]1337;File=inline=1;size=%d;width=%d;height=%d;preserveAspectRatio=1:%s\a",
		len(p), cols, rows, base64.StdEncoding.EncodeToString(p))
}

// SixelImage returns a DEC Sixel sequence for img scaled into cols×rows
// cells, quantised with Floyd–Steinberg dithering to the 216-colour web
// palette.
func SixelImage(img image.Image, cols, rows int) string {
	scaled := ScaleToFit(img, cols*CellWidthPx, rows*CellHeightPx)
	w, h := scaled.Rect.Dx(), scaled.Rect.Dy()
	pal := image.NewPaletted(scaled.Rect, palette.WebSafe)
	draw.FloydSteinberg.Draw(pal, pal.Rect, scaled, image.Point{})
	var b strings.Builder
	fmt.Fprintf(&b, "\x1bP0;1;0q\"1;1;%d;%d", w, h)
	used := make([]bool, len(palette.WebSafe))
	for _, ci := range pal.Pix {
		used[ci] = true
	}
	for i, c := range palette.WebSafe {
		if !used[i] {
			continue
		}
		r, g, bl, _ := c.RGBA()
		fmt.Fprintf(&b, "#%d;2;%d;%d;%d", i, r*100/0xffff, g*100/0xffff, bl*100/0xffff)
	}
	bits := make([]byte, w)
	for band := 0; band < h; band += 6 {
		first := true
		for ci := range palette.WebSafe {
			if !used[ci] {
				continue
			}
			any := false
			for x := 0; x < w; x++ {
				var v byte
				for k := 0; k < 6 && band+k < h; k++ {
					if int(pal.Pix[pal.PixOffset(x, band+k)]) == ci {
						v |= 1 << k
					}
				}
				bits[x] = v
				any = any || v != 0
			}
			if !any {
				continue
			}
			if !first {
				b.WriteByte('$')
			}
			first = false
			fmt.Fprintf(&b, "#%d", ci)
			sixelRun(&b, bits)
		}
		b.WriteByte('-')
	}
	b.WriteString("\x1b\\")
	return b.String()
}

// sixelRun writes sixel bytes with run-length compression.
func sixelRun(b *strings.Builder, bits []byte) {
	for i := 0; i < len(bits); {
		j := i
		for j < len(bits) && bits[j] == bits[i] {
			j++
		}
		ch := byte('?' + bits[i])
		if n := j - i; n > 3 {
			fmt.Fprintf(b, "!%d%c", n, ch)
		} else {
			for k := 0; k < n; k++ {
				b.WriteByte(ch)
			}
		}
		i = j
	}
}
