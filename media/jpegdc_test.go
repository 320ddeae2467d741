package media

import (
	"bytes"
	"errors"
	"image"
	"image/jpeg"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// planeMeans compares each sample of a DC plane with the mean of the 8×8
// samples of the same plane in the full decode (whole blocks only).
func planeMeans(full []byte, fullStride int, small []byte, smallStride, w, h int) (sum float64, worst float64, n int) {
	for by := 0; by < h; by++ {
		for bx := 0; bx < w; bx++ {
			var acc float64
			for y := by * 8; y < by*8+8; y++ {
				for x := bx * 8; x < bx*8+8; x++ {
					acc += float64(full[y*fullStride+x])
				}
			}
			d := math.Abs(acc/64 - float64(small[by*smallStride+bx]))
			sum += d
			worst = max(worst, d)
			n++
		}
	}
	return sum, worst, n
}

// compareDC checks the DC image plane by plane against the full decode and
// returns the mean and largest difference per sample.
func compareDC(t *testing.T, data []byte) (mean, worst float64) {
	t.Helper()
	full, err := jpeg.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	small, err := decodeJPEGDC(data, DefaultMaxPixels)
	if err != nil {
		t.Fatal(err)
	}
	fb := full.Bounds()
	if sb := small.Bounds(); sb.Dx() != (fb.Dx()+7)/8 || sb.Dy() != (fb.Dy()+7)/8 {
		t.Fatalf("DC image %v for %v", sb, fb)
	}
	var sum float64
	var n int
	add := func(s, w float64, k int) { sum, worst, n = sum+s, max(worst, w), n+k }
	switch f := full.(type) {
	case *image.Gray:
		g := small.(*image.Gray)
		add(planeMeans(f.Pix, f.Stride, g.Pix, g.Stride, fb.Dx()/8, fb.Dy()/8))
	case *image.YCbCr:
		y, ok := small.(*image.YCbCr)
		if !ok || y.SubsampleRatio != f.SubsampleRatio {
			t.Fatalf("DC image %T, full %v", small, f.SubsampleRatio)
		}
		add(planeMeans(f.Y, f.YStride, y.Y, y.YStride, fb.Dx()/8, fb.Dy()/8))
		cw, ch := y.CStride, len(y.Cb)/y.CStride
		// Chroma planes: compare every block the full plane holds.
		cw = min(cw, f.CStride/8)
		ch = min(ch, len(f.Cb)/f.CStride/8)
		add(planeMeans(f.Cb, f.CStride, y.Cb, y.CStride, cw, ch))
		add(planeMeans(f.Cr, f.CStride, y.Cr, y.CStride, cw, ch))
	default:
		t.Fatalf("full decode %T", full)
	}
	return sum / float64(n), worst
}

func TestJPEGDCMatchesFullDecode(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "jpeg", "*.jpg"))
	if len(files) < 8 {
		t.Fatalf("fixtures missing: %v", files)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if filepath.Base(f) == "progressive.jpg" {
				if _, err := decodeJPEGDC(data, DefaultMaxPixels); !errors.Is(err, errDCUnsupported) {
					t.Fatalf("progressive: %v", err)
				}
				return
			}
			mean, worst := compareDC(t, data)
			t.Logf("mean diff %.2f, worst %.1f", mean, worst)
			// Only IDCT rounding and clamping separate the two.
			if mean > 1 || worst > 8 {
				t.Errorf("DC image differs: mean %.2f worst %.1f", mean, worst)
			}
		})
	}
}

func TestJPEGDCGoEncoder(t *testing.T) {
	for _, img := range []image.Image{testPattern(203, 121), image.NewGray(image.Rect(0, 0, 64, 40))} {
		var buf bytes.Buffer
		jpeg.Encode(&buf, img, &jpeg.Options{Quality: 80})
		mean, worst := compareDC(t, buf.Bytes())
		if mean > 1 || worst > 8 {
			t.Errorf("%T: mean %.2f worst %.1f", img, mean, worst)
		}
	}
}

func TestJPEGDCRejectsDamage(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "jpeg", "rst_rows.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	for _, cut := range []int{len(data) / 2, len(data) - 40, 300} {
		if _, err := decodeJPEGDC(data[:cut], DefaultMaxPixels); err == nil {
			t.Errorf("cut at %d of %d decoded", cut, len(data))
		}
	}
	// Flip bytes inside the entropy-coded data: either an error or a
	// different image, never a panic.
	sos := bytes.Index(data, []byte{0xFF, 0xDA})
	for k := sos + 20; k < len(data)-2; k += 37 {
		bad := bytes.Clone(data)
		bad[k] ^= 0x5A
		decodeJPEGDC(bad, DefaultMaxPixels)
	}
}

func TestDecodeForDisplay(t *testing.T) {
	var buf bytes.Buffer
	jpeg.Encode(&buf, testPattern(800, 600), nil)
	img, f, err := DecodeForDisplay(buf.Bytes(), 0, 40, 24)
	if err != nil || f != "jpeg" || img.Bounds().Dx() != 100 || img.Bounds().Dy() != 75 {
		t.Fatalf("big JPEG: %v %q %v", err, f, img.Bounds())
	}
	// Too small for 1/8 scale to be enough: full decode.
	img, _, err = DecodeForDisplay(buf.Bytes(), 0, 400, 240)
	if err != nil || img.Bounds().Dx() != 800 {
		t.Fatalf("needs full size: %v %v", err, img.Bounds())
	}
	// Progressive falls back to the full decoder.
	prog, _ := os.ReadFile(filepath.Join("testdata", "jpeg", "progressive.jpg"))
	if img, _, err := DecodeForDisplay(prog, 0, 2, 2); err != nil || img.Bounds().Dx() != 61 {
		t.Fatalf("progressive: %v", err)
	}
	// The bomb check still comes first.
	if _, _, err := DecodeForDisplay(buf.Bytes(), 1000, 40, 24); !errors.Is(err, ErrImageTooLarge) {
		t.Fatalf("bomb: %v", err)
	}
	if _, _, err := DecodeForDisplay(buf.Bytes()[:buf.Len()/2], 0, 40, 24); err == nil {
		t.Fatal("truncated JPEG decoded")
	}
}
