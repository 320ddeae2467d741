package media

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/color/palette"
	"image/gif"
	"image/jpeg"
	"image/png"
	"strings"
	"testing"
)

// pngHeaderOnly is a PNG signature and an IHDR chunk (valid CRC) claiming
// w×h pixels, with no image data.
func pngHeaderOnly(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 6 // 8-bit RGBA
	chunk := append([]byte("IHDR"), ihdr...)
	binary.Write(&b, binary.BigEndian, uint32(len(ihdr)))
	b.Write(chunk)
	binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(chunk))
	return b.Bytes()
}

func TestDecodeRefusesBomb(t *testing.T) {
	data := pngHeaderOnly(100000, 100000)
	if cfg, err := png.DecodeConfig(bytes.NewReader(data)); err != nil || cfg.Width != 100000 {
		t.Fatalf("crafted header is not a valid PNG header: %v", err)
	}
	_, format, err := DecodeImage(data, 0)
	if !errors.Is(err, ErrImageTooLarge) || format != "png" || !strings.Contains(err.Error(), "100000x100000") {
		t.Fatalf("err = %v (format %q)", err, format)
	}
	// The limit is configurable: a real 100x100 image against 5000 pixels.
	var buf bytes.Buffer
	png.Encode(&buf, image.NewRGBA(image.Rect(0, 0, 100, 100)))
	if _, _, err := DecodeImage(buf.Bytes(), 5000); !errors.Is(err, ErrImageTooLarge) {
		t.Fatalf("configured limit: %v", err)
	}
	if img, _, err := DecodeImage(buf.Bytes(), 10000); err != nil || img.Bounds().Dx() != 100 {
		t.Fatalf("at the limit: %v", err)
	}
}

func testPattern(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.RGBA{uint8(x * 255 / max(w-1, 1)), uint8(y * 255 / max(h-1, 1)), 128, 255})
		}
	}
	return img
}

func TestDecodeTruncatedAndCorrupt(t *testing.T) {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, testPattern(256, 256), &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	full := buf.Bytes()
	if _, f, err := DecodeImage(full, 0); err != nil || f != "jpeg" {
		t.Fatalf("full JPEG: %v", err)
	}
	_, _, err := DecodeImage(full[:len(full)/2], 0)
	if err == nil || errors.Is(err, ErrImageTooLarge) || !strings.Contains(err.Error(), "damaged jpeg") {
		t.Fatalf("truncated JPEG: %v", err)
	}
	if _, _, err := DecodeImage(full[:20], 0); err == nil {
		t.Fatal("JPEG cut in its header decoded")
	}
	if _, _, err := DecodeImage([]byte("GIF89a not really"), 0); err == nil {
		t.Fatal("garbage decoded")
	}
	if _, _, err := DecodeImage([]byte("%PDF-1.4"), 0); err == nil || !strings.Contains(err.Error(), "not a supported image") {
		t.Fatalf("PDF: %v", err)
	}
}

func TestDecodeGIFFirstFrame(t *testing.T) {
	red := image.NewPaletted(image.Rect(0, 0, 4, 4), palette.Plan9)
	blue := image.NewPaletted(image.Rect(0, 0, 4, 4), palette.Plan9)
	for i := range red.Pix {
		red.Pix[i] = uint8(red.Palette.Index(color.RGBA{255, 0, 0, 255}))
		blue.Pix[i] = uint8(blue.Palette.Index(color.RGBA{0, 0, 255, 255}))
	}
	var buf bytes.Buffer
	if err := gif.EncodeAll(&buf, &gif.GIF{Image: []*image.Paletted{red, blue}, Delay: []int{10, 10}}); err != nil {
		t.Fatal(err)
	}
	img, f, err := DecodeImage(buf.Bytes(), 0)
	if err != nil || f != "gif" {
		t.Fatal(err)
	}
	if r, g, b, _ := img.At(1, 1).RGBA(); r>>8 != 255 || g != 0 || b != 0 {
		t.Fatalf("first frame pixel = %v", img.At(1, 1))
	}
}

// bitWriter writes LSB-first bit fields as VP8L does.
type bitWriter struct {
	buf  []byte
	bits uint64
	n    uint
}

func (w *bitWriter) write(v uint64, n uint) {
	w.bits |= v << w.n
	w.n += n
	for w.n >= 8 {
		w.buf = append(w.buf, byte(w.bits))
		w.bits >>= 8
		w.n -= 8
	}
}

func (w *bitWriter) bytes() []byte {
	if w.n > 0 {
		return append(w.buf, byte(w.bits))
	}
	return w.buf
}

// tinyWebP builds a lossless WebP of width w and height 1 whose pixels
// alternate red, blue, red, …, using one-bit "simple" prefix codes.
func tinyWebP(w int) []byte {
	var bw bitWriter
	bw.write(0x2f, 8)
	bw.write(uint64(w-1), 14)
	bw.write(0, 14) // height 1
	bw.write(0, 1)  // no alpha
	bw.write(0, 3)  // version
	bw.write(0, 1)  // no transform
	bw.write(0, 1)  // no colour cache
	bw.write(0, 1)  // no meta prefix codes
	simple := func(syms ...uint64) {
		bw.write(1, 1)
		bw.write(uint64(len(syms)-1), 1)
		bw.write(1, 1) // first symbol in 8 bits
		for _, s := range syms {
			bw.write(s, 8)
		}
	}
	simple(0)      // green
	simple(0, 255) // red: bit 0 → 0, bit 1 → 255
	simple(0, 255) // blue
	simple(255)    // alpha
	simple(0)      // distance
	for x := 0; x < w; x++ {
		if x%2 == 0 {
			bw.write(1, 1) // red 255
			bw.write(0, 1) // blue 0
		} else {
			bw.write(0, 1)
			bw.write(1, 1)
		}
	}
	payload := bw.bytes()
	if len(payload)%2 == 1 {
		payload = append(payload, 0)
	}
	var b bytes.Buffer
	b.WriteString("RIFF")
	binary.Write(&b, binary.LittleEndian, uint32(4+8+len(payload)))
	b.WriteString("WEBPVP8L")
	binary.Write(&b, binary.LittleEndian, uint32(len(payload)))
	b.Write(payload)
	return b.Bytes()
}

func TestDecodeWebP(t *testing.T) {
	data := tinyWebP(5)
	if SniffType(data) != "image/webp" {
		t.Fatalf("sniffed %q", SniffType(data))
	}
	img, f, err := DecodeImage(data, 0)
	if err != nil || f != "webp" {
		t.Fatalf("%v %q", err, f)
	}
	if img.Bounds().Dx() != 5 || img.Bounds().Dy() != 1 {
		t.Fatalf("bounds %v", img.Bounds())
	}
	for x := 0; x < 5; x++ {
		r, _, b, a := img.At(x, 0).RGBA()
		wantR, wantB := uint32(0xffff), uint32(0)
		if x%2 == 1 {
			wantR, wantB = 0, 0xffff
		}
		if r != wantR || b != wantB || a != 0xffff {
			t.Errorf("pixel %d = %v", x, img.At(x, 0))
		}
	}
	if _, _, err := DecodeImage(data[:len(data)-3], 0); err == nil {
		t.Error("truncated WebP decoded")
	}
}

func TestFitSizeAndThumbnail(t *testing.T) {
	tests := []struct{ sw, sh, mw, mh, w, h int }{
		{4000, 3000, 40, 24, 32, 24},
		{3000, 4000, 40, 24, 18, 24},
		{100, 10, 40, 24, 40, 4},
		{10, 10, 40, 24, 10, 10}, // never upscaled
		{10000, 1, 40, 24, 40, 1},
		{0, 5, 40, 24, 0, 0},
	}
	for _, tc := range tests {
		if w, h := FitSize(tc.sw, tc.sh, tc.mw, tc.mh); w != tc.w || h != tc.h {
			t.Errorf("FitSize(%d,%d,%d,%d) = %d,%d want %d,%d", tc.sw, tc.sh, tc.mw, tc.mh, w, h, tc.w, tc.h)
		}
	}
	// A large two-colour image: left half black, right half white. The box
	// prefilter must keep the halves apart and average nothing across.
	src := image.NewRGBA(image.Rect(0, 0, 800, 480))
	for y := 0; y < 480; y++ {
		for x := 400; x < 800; x++ {
			src.Set(x, y, color.White)
		}
	}
	th := Thumbnail(src, 40, 12)
	if th.Bounds().Dx() != 40 || th.Bounds().Dy() != 24 {
		t.Fatalf("thumbnail %v", th.Bounds())
	}
	if c := th.RGBAAt(5, 10); c.R > 10 {
		t.Errorf("left %v", c)
	}
	if c := th.RGBAAt(35, 10); c.R < 245 {
		t.Errorf("right %v", c)
	}
	// YCbCr source (as JPEG decodes) through the fast path matches the
	// generic colour conversion.
	var buf bytes.Buffer
	jpeg.Encode(&buf, testPattern(640, 480), &jpeg.Options{Quality: 95})
	img, _, _ := DecodeImage(buf.Bytes(), 0)
	if _, ok := img.(*image.YCbCr); !ok {
		t.Fatalf("JPEG decoded to %T", img)
	}
	fast := boxShrink(img, 8)
	for _, p := range []image.Point{{0, 0}, {40, 30}, {79, 59}} {
		var sr, sg, sb uint32
		for y := p.Y * 8; y < p.Y*8+8; y++ {
			for x := p.X * 8; x < p.X*8+8; x++ {
				r, g, b, _ := img.At(x, y).RGBA()
				sr, sg, sb = sr+r>>8, sg+g>>8, sb+b>>8
			}
		}
		got := fast.RGBAAt(p.X, p.Y)
		want := color.RGBA{uint8((sr + 32) / 64), uint8((sg + 32) / 64), uint8((sb + 32) / 64), 255}
		if diff(got.R, want.R) > 1 || diff(got.G, want.G) > 1 || diff(got.B, want.B) > 1 || got.A != 255 {
			t.Errorf("box %v = %v, want %v", p, got, want)
		}
	}
}

func diff(a, b uint8) int {
	if a > b {
		return int(a - b)
	}
	return int(b - a)
}

// exifWithGPS builds an Exif APP1 payload (little-endian TIFF) with IFD0
// {Orientation, GPSInfo → GPS IFD {LatitudeRef N, Latitude 48/1 51/1 2400/100}}.
func exifWithGPS(orientation uint16) []byte {
	le := binary.LittleEndian
	var t bytes.Buffer
	t.WriteString("II")
	binary.Write(&t, le, uint16(42))
	binary.Write(&t, le, uint32(8))
	// IFD0 at 8: 2 entries, 8+2+24+4 = 38 → GPS IFD at 38.
	binary.Write(&t, le, uint16(2))
	binary.Write(&t, le, []uint16{0x0112, 3})
	binary.Write(&t, le, uint32(1))
	binary.Write(&t, le, []uint16{orientation, 0})
	binary.Write(&t, le, []uint16{0x8825, 4})
	binary.Write(&t, le, uint32(1))
	binary.Write(&t, le, uint32(38))
	binary.Write(&t, le, uint32(0))
	// GPS IFD at 38: 2 entries → 38+2+24+4 = 68 for the rationals.
	binary.Write(&t, le, uint16(2))
	binary.Write(&t, le, []uint16{0x0001, 2})
	binary.Write(&t, le, uint32(2))
	t.Write([]byte{'N', 0, 0, 0})
	binary.Write(&t, le, []uint16{0x0002, 5})
	binary.Write(&t, le, uint32(3))
	binary.Write(&t, le, uint32(68))
	binary.Write(&t, le, uint32(0))
	binary.Write(&t, le, []uint32{48, 1, 51, 1, 2400, 100})
	return append([]byte("Exif\x00\x00"), t.Bytes()...)
}

func segment(marker byte, payload []byte) []byte {
	s := []byte{0xFF, marker, 0, 0}
	binary.BigEndian.PutUint16(s[2:], uint16(len(payload)+2))
	return append(s, payload...)
}

// ifdTags lists the tags of IFD0 and of a GPS IFD if one is linked.
func ifdTags(tiff []byte) []uint16 {
	bo := binary.ByteOrder(binary.BigEndian)
	if string(tiff[:2]) == "II" {
		bo = binary.LittleEndian
	}
	var tags []uint16
	off := int(bo.Uint32(tiff[4:]))
	n := int(bo.Uint16(tiff[off:]))
	for k := 0; k < n; k++ {
		tags = append(tags, bo.Uint16(tiff[off+2+12*k:]))
	}
	return tags
}

func TestStripJPEGMetadata(t *testing.T) {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, testPattern(32, 16), nil); err != nil {
		t.Fatal(err)
	}
	plain := buf.Bytes()
	exif := exifWithGPS(6)
	xmp := append([]byte("http://ns.adobe.com/xap/1.0/\x00"), []byte(`<x:xmpmeta><rdf:Description exif:GPSLatitude="48,51.4N"/></x:xmpmeta>`)...)
	icc := append([]byte("ICC_PROFILE\x00"), make([]byte, 20)...)
	var in []byte
	in = append(in, plain[:2]...)
	in = append(in, segment(0xE1, exif)...)
	in = append(in, 0xFF) // a fill byte before the next marker
	in = append(in, segment(0xE1, xmp)...)
	in = append(in, segment(0xE2, icc)...)
	in = append(in, segment(0xFE, []byte("keep this comment"))...)
	in = append(in, segment(0xED, []byte("Photoshop 3.0\x00iptc city"))...)
	in = append(in, plain[2:]...)
	if tags := ifdTags(exif[6:]); len(tags) != 2 || tags[1] != 0x8825 {
		t.Fatalf("fixture has no GPS pointer: %v", tags)
	}

	out, removed, err := StripJPEGMetadata(in)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(removed, ",") != "Exif,XMP,Photoshop/IPTC" {
		t.Errorf("removed = %v", removed)
	}
	for _, secret := range [][]byte{[]byte("GPSLatitude"), []byte("iptc city"), {0x25, 0x88}, {0x88, 0x25}, {48, 0, 0, 0, 1, 0, 0, 0, 51}} {
		if bytes.Contains(out, secret) {
			t.Errorf("output still contains %q", secret)
		}
	}
	if !bytes.Contains(out, []byte("keep this comment")) || !bytes.Contains(out, icc) {
		t.Error("kept segments lost")
	}
	// The new Exif holds only the orientation.
	i := bytes.Index(out, []byte("Exif\x00\x00"))
	if i < 0 {
		t.Fatal("orientation Exif missing")
	}
	tiff := out[i+6:]
	if tags := ifdTags(tiff); len(tags) != 1 || tags[0] != 0x0112 || exifOrientation(tiff) != 6 {
		t.Errorf("new Exif tags %v orientation %d", tags, exifOrientation(tiff))
	}
	// Image data untouched: same tail from SOS, same pixels.
	sos := bytes.Index(plain, []byte{0xFF, 0xDA})
	if !bytes.HasSuffix(out, plain[sos:]) {
		t.Error("entropy-coded data changed")
	}
	a, _ := jpeg.Decode(bytes.NewReader(plain))
	b, err := jpeg.Decode(bytes.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.(*image.YCbCr).Y, b.(*image.YCbCr).Y) {
		t.Error("pixels differ")
	}

	// Orientation 1 (normal) needs no Exif at all; clean files stay the same.
	in2 := append(append(append([]byte{}, plain[:2]...), segment(0xE1, exifWithGPS(1))...), plain[2:]...)
	out2, removed2, err := StripJPEGMetadata(in2)
	if err != nil || !bytes.Equal(out2, plain) || len(removed2) != 1 {
		t.Errorf("orientation 1: equal=%v removed=%v err=%v", bytes.Equal(out2, plain), removed2, err)
	}
	out3, removed3, err := StripJPEGMetadata(plain)
	if err != nil || !bytes.Equal(out3, plain) || len(removed3) != 0 {
		t.Errorf("clean file changed: %v %v", removed3, err)
	}
	for name, bad := range map[string][]byte{
		"not jpeg":    []byte("\x89PNG\r\n\x1a\n"),
		"cut segment": in[:10],
		"no image":    plain[:2],
		"garbage":     append([]byte{0xFF, 0xD8, 0x00}, plain[2:]...),
	} {
		if _, _, err := StripJPEGMetadata(bad); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
