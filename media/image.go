package media

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	_ "image/gif" // registers GIF (first frame)
	_ "image/jpeg"
	_ "image/png"

	"golang.org/x/image/draw"
	_ "golang.org/x/image/webp"
)

// DefaultMaxPixels is the largest image (width × height) decoded.
const DefaultMaxPixels = 50_000_000

// ErrImageTooLarge is an image whose header claims more pixels than allowed
// (a decompression bomb, or just too big to show).
var ErrImageTooLarge = errors.New("image too large to decode")

// DecodeImage decodes JPEG, PNG, GIF (first frame) or WebP data after
// checking the header's dimensions against maxPixels (DefaultMaxPixels when
// <= 0). Truncated or corrupt data is an error.
func DecodeImage(data []byte, maxPixels int64) (image.Image, string, error) {
	if maxPixels <= 0 {
		maxPixels = DefaultMaxPixels
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, "", fmt.Errorf("not a supported image: %w", err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, format, fmt.Errorf("image has no pixels (%dx%d)", cfg.Width, cfg.Height)
	}
	if int64(cfg.Width)*int64(cfg.Height) > maxPixels {
		return nil, format, fmt.Errorf("%w: %dx%d pixels, limit %d", ErrImageTooLarge, cfg.Width, cfg.Height, maxPixels)
	}
	img, format, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, format, fmt.Errorf("damaged %s image: %w", format, err)
	}
	return img, format, nil
}

// FitSize returns the largest w×h with the aspect ratio of sw×sh that fits
// in maxW×maxH, never larger than the source, at least 1×1.
func FitSize(sw, sh, maxW, maxH int) (int, int) {
	if sw <= 0 || sh <= 0 || maxW <= 0 || maxH <= 0 {
		return 0, 0
	}
	if sw <= maxW && sh <= maxH {
		return sw, sh
	}
	w, h := maxW, int(int64(sh)*int64(maxW)/int64(sw))
	if h > maxH {
		w, h = int(int64(sw)*int64(maxH)/int64(sh)), maxH
	}
	return max(w, 1), max(h, 1)
}

// Thumbnail scales img to fit cols×rows terminal cells drawn with half
// blocks (one pixel per cell horizontally, two vertically).
func Thumbnail(img image.Image, cols, rows int) *image.RGBA {
	return ScaleToFit(img, cols, 2*rows)
}

// ScaleToFit scales img to fit maxW×maxH pixels keeping its aspect ratio.
// Large reductions first average boxes of pixels (fast and alias-free),
// then finish with Catmull-Rom.
func ScaleToFit(img image.Image, maxW, maxH int) *image.RGBA {
	b := img.Bounds()
	w, h := FitSize(b.Dx(), b.Dy(), maxW, maxH)
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	if w == 0 {
		return dst
	}
	src := img
	// Reduce by an integer box factor while the source is more than 4×
	// the target, so the kernel below touches few pixels.
	if f := min(b.Dx()/(4*w), b.Dy()/(4*h)); f >= 2 {
		src = boxShrink(img, f)
	}
	draw.CatmullRom.Scale(dst, dst.Bounds(), src, src.Bounds(), draw.Src, nil)
	return dst
}

// boxShrink averages f×f blocks of img.
func boxShrink(img image.Image, f int) *image.RGBA {
	b := img.Bounds()
	w, h := b.Dx()/f, b.Dy()/f
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	sums := make([]uint32, 4*w)
	n := uint32(f * f)
	ycc, isYCC := img.(*image.YCbCr)
	var hs, vs int // chroma subsampling shifts
	if isYCC {
		hs, vs, isYCC = chromaShift(ycc.SubsampleRatio)
	}
	rgba, isRGBA := img.(*image.RGBA)
	for y := 0; y < h; y++ {
		clear(sums)
		for sy := b.Min.Y + y*f; sy < b.Min.Y+(y+1)*f; sy++ {
			switch {
			case isYCC:
				// Sum Y, Cb and Cr; converting the averages equals averaging
				// the conversions (it is affine) apart from clamping.
				yrow := ycc.Y[(sy-ycc.Rect.Min.Y)*ycc.YStride-ycc.Rect.Min.X:]
				crow := (sy>>vs - ycc.Rect.Min.Y>>vs) * ycc.CStride
				for x := 0; x < w; x++ {
					s := sums[4*x : 4*x+4]
					for sx := b.Min.X + x*f; sx < b.Min.X+(x+1)*f; sx++ {
						ci := crow + sx>>hs - ycc.Rect.Min.X>>hs
						s[0] += uint32(yrow[sx])
						s[1] += uint32(ycc.Cb[ci])
						s[2] += uint32(ycc.Cr[ci])
					}
				}
			case isRGBA:
				for x := 0; x < w; x++ {
					s := sums[4*x : 4*x+4]
					off := rgba.PixOffset(b.Min.X+x*f, sy)
					for k := 0; k < f; k++ {
						p := rgba.Pix[off+4*k : off+4*k+4]
						s[0] += uint32(p[0])
						s[1] += uint32(p[1])
						s[2] += uint32(p[2])
						s[3] += uint32(p[3])
					}
				}
			default:
				for x := 0; x < w; x++ {
					s := sums[4*x : 4*x+4]
					for sx := b.Min.X + x*f; sx < b.Min.X+(x+1)*f; sx++ {
						r, g, bl, a := img.At(sx, sy).RGBA()
						s[0] += r >> 8
						s[1] += g >> 8
						s[2] += bl >> 8
						s[3] += a >> 8
					}
				}
			}
		}
		row := dst.Pix[y*dst.Stride : y*dst.Stride+4*w]
		if isYCC {
			for x := 0; x < w; x++ {
				s := sums[4*x : 4*x+4]
				r, g, bl := yccToRGB(uint8((s[0]+n/2)/n), uint8((s[1]+n/2)/n), uint8((s[2]+n/2)/n))
				row[4*x], row[4*x+1], row[4*x+2], row[4*x+3] = r, g, bl, 255
			}
			continue
		}
		for i, s := range sums {
			row[i] = uint8((s + n/2) / n)
		}
	}
	return dst
}

func chromaShift(r image.YCbCrSubsampleRatio) (h, v int, ok bool) {
	switch r {
	case image.YCbCrSubsampleRatio444:
		return 0, 0, true
	case image.YCbCrSubsampleRatio422:
		return 1, 0, true
	case image.YCbCrSubsampleRatio420:
		return 1, 1, true
	case image.YCbCrSubsampleRatio440:
		return 0, 1, true
	case image.YCbCrSubsampleRatio411:
		return 2, 0, true
	case image.YCbCrSubsampleRatio410:
		return 2, 1, true
	}
	return 0, 0, false
}

// yccToRGB is the JFIF conversion of image/color, inlined for speed.
func yccToRGB(y, cb, cr uint8) (uint8, uint8, uint8) {
	yy := int32(y) * 0x10101
	cb1 := int32(cb) - 128
	cr1 := int32(cr) - 128
	r := yy + 91881*cr1
	g := yy - 22554*cb1 - 46802*cr1
	b := yy + 116130*cb1
	return clamp16(r), clamp16(g), clamp16(b)
}

func clamp16(v int32) uint8 {
	if uint32(v)&0xff000000 == 0 {
		return uint8(v >> 16)
	}
	if v < 0 {
		return 0
	}
	return 255
}

// JPEG markers.
const (
	markerSOI  = 0xD8
	markerEOI  = 0xD9
	markerSOS  = 0xDA
	markerAPP1 = 0xE1
	markerAPPD = 0xED
)

var (
	exifID   = []byte("Exif\x00\x00")
	xmpID    = []byte("http://ns.adobe.com/xap/1.0/\x00")
	xmpExtID = []byte("http://ns.adobe.com/xmp/extension/\x00")
	psID     = []byte("Photoshop 3.0\x00")
)

// StripJPEGMetadata removes Exif (with GPS, camera and time data), XMP and
// Photoshop/IPTC segments from a JPEG, leaving every other byte as it was.
// The Exif orientation, if not "normal", is kept in a minimal new Exif
// segment so that photos still display upright. removed names what went.
func StripJPEGMetadata(data []byte) (out []byte, removed []string, err error) {
	if len(data) < 4 || data[0] != 0xFF || data[1] != markerSOI {
		return nil, nil, errors.New("not a JPEG file")
	}
	out = make([]byte, 0, len(data))
	out = append(out, 0xFF, markerSOI)
	i := 2
	for {
		if i >= len(data) {
			return nil, nil, errors.New("truncated JPEG: no image data")
		}
		if data[i] != 0xFF {
			return nil, nil, fmt.Errorf("corrupt JPEG: expected a marker at offset %d", i)
		}
		// Skip fill bytes.
		j := i
		for j < len(data) && data[j] == 0xFF {
			j++
		}
		if j >= len(data) {
			return nil, nil, errors.New("truncated JPEG")
		}
		m := data[j]
		segStart := j - 1
		if m == markerEOI || m == 0x01 || (m >= 0xD0 && m <= 0xD7) {
			out = append(out, data[segStart:j+1]...)
			i = j + 1
			if m == markerEOI {
				return out, removed, nil
			}
			continue
		}
		if j+3 > len(data) {
			return nil, nil, errors.New("truncated JPEG segment")
		}
		n := int(binary.BigEndian.Uint16(data[j+1:]))
		end := j + 1 + n
		if n < 2 || end > len(data) {
			return nil, nil, errors.New("truncated JPEG segment")
		}
		payload := data[j+3 : end]
		if m == markerSOS {
			// Entropy-coded data follows: keep the rest untouched.
			out = append(out, data[segStart:]...)
			return out, removed, nil
		}
		switch {
		case m == markerAPP1 && bytes.HasPrefix(payload, exifID):
			removed = append(removed, "Exif")
			if o := exifOrientation(payload[len(exifID):]); o > 1 && o <= 8 {
				out = append(out, minimalExif(o)...)
			}
		case m == markerAPP1 && bytes.HasPrefix(payload, xmpID):
			removed = append(removed, "XMP")
		case m == markerAPP1 && bytes.HasPrefix(payload, xmpExtID):
			removed = append(removed, "XMP extension")
		case m == markerAPPD && bytes.HasPrefix(payload, psID):
			removed = append(removed, "Photoshop/IPTC")
		default:
			out = append(out, data[segStart:end]...)
		}
		i = end
	}
}

// exifOrientation reads tag 0x0112 of IFD0 from a TIFF structure; 0 when
// absent or unreadable.
func exifOrientation(tiff []byte) uint16 {
	if len(tiff) < 8 {
		return 0
	}
	var bo binary.ByteOrder
	switch string(tiff[:2]) {
	case "II":
		bo = binary.LittleEndian
	case "MM":
		bo = binary.BigEndian
	default:
		return 0
	}
	off := int(bo.Uint32(tiff[4:]))
	if off < 8 || off+2 > len(tiff) {
		return 0
	}
	count := int(bo.Uint16(tiff[off:]))
	for k := 0; k < count; k++ {
		e := off + 2 + 12*k
		if e+12 > len(tiff) {
			return 0
		}
		if bo.Uint16(tiff[e:]) == 0x0112 && bo.Uint16(tiff[e+2:]) == 3 {
			return bo.Uint16(tiff[e+8:])
		}
	}
	return 0
}

// minimalExif is an APP1 segment holding only the orientation.
func minimalExif(o uint16) []byte {
	tiff := []byte{'M', 'M', 0, 42, 0, 0, 0, 8, // header, IFD0 at 8
		0, 1, // one entry
		0x01, 0x12, 0, 3, 0, 0, 0, 1, byte(o >> 8), byte(o), 0, 0, // Orientation SHORT
		0, 0, 0, 0} // no next IFD
	seg := []byte{0xFF, markerAPP1, 0, 0}
	seg = append(seg, exifID...)
	seg = append(seg, tiff...)
	binary.BigEndian.PutUint16(seg[2:], uint16(len(seg)-2))
	return seg
}
