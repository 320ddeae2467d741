package media

import (
	"bytes"
	"encoding/binary"
	"errors"
	"image"
)

// A fast path for thumbnails of big photos: a baseline JPEG decoded at 1/8
// scale from the DC coefficients alone. Each DC coefficient is the mean of
// its 8×8 block, so the result is an exact box-filtered reduction, obtained
// without inverse DCTs and without a full-size image in memory.

var errDCUnsupported = errors.New("jpeg: not handled by the DC decoder")

type dcHuffman struct {
	lut     [1 << 9]uint16 // code (9 bits, left-aligned) → length<<8 | symbol
	maxcode [17]int32      // largest code of each length, -1 when none
	mincode [17]int32
	valptr  [17]int32
	vals    []byte
	ok      bool
}

func (h *dcHuffman) build(counts []byte, vals []byte) error {
	*h = dcHuffman{vals: vals, ok: true}
	code, k := int32(0), int32(0)
	for l := 1; l <= 16; l++ {
		n := int32(counts[l-1])
		h.valptr[l] = k
		h.mincode[l] = code
		h.maxcode[l] = -1
		if n > 0 {
			h.maxcode[l] = code + n - 1
		}
		for i := int32(0); i < n; i++ {
			if code >= 1<<l {
				return errors.New("jpeg: bad Huffman table")
			}
			if l <= 9 {
				shift := 9 - l
				for j := int32(0); j < 1<<shift; j++ {
					h.lut[code<<shift|j] = uint16(l)<<8 | uint16(vals[k])
				}
			}
			code++
			k++
		}
		code <<= 1
	}
	return nil
}

// dcBits reads entropy-coded data MSB first, unstuffing 0xFF00, and stops
// at a marker, feeding zero bits after it (counted in fake).
type dcBits struct {
	data    []byte
	pos     int
	acc     uint64
	n       uint // valid bits in acc, top-aligned
	fake    uint // zero bytes appended after the data ran out or a marker
	stopped bool
}

func (r *dcBits) fill() {
	for r.n <= 56 {
		var b byte
		if r.stopped {
			r.fake++
		} else if r.pos >= len(r.data) {
			r.stopped = true
			continue
		} else {
			b = r.data[r.pos]
			if b == 0xFF {
				if r.pos+1 >= len(r.data) || r.data[r.pos+1] != 0 {
					r.stopped = true
					continue
				}
				r.pos += 2
			} else {
				r.pos++
			}
		}
		r.acc |= uint64(b) << (56 - r.n)
		r.n += 8
	}
}

// overrun reports whether bits past the real data were consumed.
func (r *dcBits) overrun() bool { return r.n < 8*r.fake }

func (r *dcBits) bits(k uint) int32 {
	if k == 0 {
		return 0
	}
	v := int32(r.acc >> (64 - k))
	r.acc <<= k
	r.n -= k
	return v
}

func (r *dcBits) decode(h *dcHuffman) (byte, error) {
	if r.n < 32 {
		r.fill()
	}
	if v := h.lut[r.acc>>(64-9)]; v != 0 {
		l := uint(v >> 8)
		r.acc <<= l
		r.n -= l
		return byte(v), nil
	}
	for l := uint(10); l <= 16; l++ {
		code := int32(r.acc >> (64 - l))
		if code <= h.maxcode[l] {
			r.acc <<= l
			r.n -= l
			return h.vals[h.valptr[l]+code-h.mincode[l]], nil
		}
	}
	return 0, errors.New("jpeg: bad Huffman code")
}

func extend(v int32, s uint) int32 {
	if s > 0 && v < 1<<(s-1) {
		return v - (1 << s) + 1
	}
	return v
}

type dcComponent struct {
	id     byte
	h, v   int
	tq     int
	td, ta int
	plane  []byte
	stride int
}

// decodeJPEGDC decodes a baseline, single-scan JPEG of at most maxPixels
// (full size) at 1/8 scale. It
// returns errDCUnsupported for files it does not handle (progressive,
// arithmetic, 12-bit, CMYK, RGB, multi-scan) so the caller can fall back.
func decodeJPEGDC(data []byte, maxPixels int64) (image.Image, error) {
	if len(data) < 4 || data[0] != 0xFF || data[1] != 0xD8 {
		return nil, errors.New("jpeg: missing SOI")
	}
	var (
		q         [4]int32
		dc, ac    [4]dcHuffman
		comps     []dcComponent
		width     int
		height    int
		restart   int
		adobeRGB  bool
		haveFrame bool
	)
	i := 2
	for {
		for i < len(data) && data[i] != 0xFF {
			i++ // tolerate junk between segments, as decoders do
		}
		for i < len(data) && data[i] == 0xFF {
			i++
		}
		if i >= len(data) {
			return nil, errors.New("jpeg: no image data")
		}
		m := data[i]
		i++
		if m == 0xD8 || (m >= 0xD0 && m <= 0xD7) || m == 0x01 {
			continue
		}
		if m == 0xD9 {
			return nil, errors.New("jpeg: no image data")
		}
		if i+2 > len(data) {
			return nil, errors.New("jpeg: truncated segment")
		}
		n := int(binary.BigEndian.Uint16(data[i:]))
		if n < 2 || i+n > len(data) {
			return nil, errors.New("jpeg: truncated segment")
		}
		seg := data[i+2 : i+n]
		i += n
		switch {
		case m == 0xC0 || m == 0xC1:
			if haveFrame || len(seg) < 6 || seg[0] != 8 {
				return nil, errDCUnsupported
			}
			height = int(binary.BigEndian.Uint16(seg[1:]))
			width = int(binary.BigEndian.Uint16(seg[3:]))
			nc := int(seg[5])
			if (nc != 1 && nc != 3) || len(seg) < 6+3*nc || width == 0 || height == 0 {
				return nil, errDCUnsupported
			}
			if int64(width)*int64(height) > maxPixels {
				return nil, ErrImageTooLarge
			}
			for k := 0; k < nc; k++ {
				c := seg[6+3*k:]
				comp := dcComponent{id: c[0], h: int(c[1] >> 4), v: int(c[1] & 15), tq: int(c[2])}
				if comp.h < 1 || comp.h > 4 || comp.v < 1 || comp.v > 4 || comp.tq > 3 {
					return nil, errors.New("jpeg: bad frame header")
				}
				comps = append(comps, comp)
			}
			if nc == 3 && comps[0].id == 'R' && comps[1].id == 'G' && comps[2].id == 'B' {
				return nil, errDCUnsupported
			}
			haveFrame = true
		case m >= 0xC2 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC:
			return nil, errDCUnsupported // progressive, lossless, arithmetic
		case m == 0xC4:
			for len(seg) > 0 {
				if len(seg) < 17 {
					return nil, errors.New("jpeg: bad DHT")
				}
				class, id := seg[0]>>4, seg[0]&15
				total := 0
				for _, c := range seg[1:17] {
					total += int(c)
				}
				if class > 1 || id > 3 || total > 256 || len(seg) < 17+total {
					return nil, errors.New("jpeg: bad DHT")
				}
				t := &dc[id]
				if class == 1 {
					t = &ac[id]
				}
				if err := t.build(seg[1:17], seg[17:17+total]); err != nil {
					return nil, err
				}
				seg = seg[17+total:]
			}
		case m == 0xDB:
			for len(seg) > 0 {
				prec, id := seg[0]>>4, seg[0]&15
				size := 65
				if prec == 1 {
					size = 129
				}
				if id > 3 || prec > 1 || len(seg) < size {
					return nil, errors.New("jpeg: bad DQT")
				}
				if prec == 1 {
					q[id] = int32(binary.BigEndian.Uint16(seg[1:]))
				} else {
					q[id] = int32(seg[1])
				}
				seg = seg[size:]
			}
		case m == 0xDD:
			if len(seg) < 2 {
				return nil, errors.New("jpeg: bad DRI")
			}
			restart = int(binary.BigEndian.Uint16(seg))
		case m == 0xEE:
			if len(seg) >= 12 && string(seg[:5]) == "Adobe" && seg[11] == 0 {
				adobeRGB = true
			}
		case m == 0xDA:
			if !haveFrame {
				return nil, errors.New("jpeg: scan before frame")
			}
			if adobeRGB && len(comps) == 3 {
				return nil, errDCUnsupported
			}
			return decodeDCScan(data[i:], seg, comps, width, height, restart, &q, &dc, &ac)
		}
	}
}

func decodeDCScan(entropy, sos []byte, comps []dcComponent, width, height, restart int, q *[4]int32, dc, ac *[4]dcHuffman) (image.Image, error) {
	if len(sos) < 1 || int(sos[0]) != len(comps) || len(sos) < 1+2*len(comps)+3 {
		return nil, errDCUnsupported // one scan per component: not handled
	}
	for k := range comps {
		id, tables := sos[1+2*k], sos[2+2*k]
		if id != comps[k].id {
			return nil, errDCUnsupported
		}
		comps[k].td, comps[k].ta = int(tables>>4), int(tables&15)
		if comps[k].td > 3 || comps[k].ta > 3 || !dc[comps[k].td].ok || !ac[comps[k].ta].ok || q[comps[k].tq] == 0 {
			return nil, errors.New("jpeg: scan uses a missing table")
		}
	}
	tail := sos[1+2*len(comps):]
	if tail[0] != 0 || tail[1] != 63 || tail[2] != 0 {
		return nil, errDCUnsupported
	}
	hmax, vmax := 1, 1
	for _, c := range comps {
		hmax, vmax = max(hmax, c.h), max(vmax, c.v)
	}
	var mcusX, mcusY int
	if len(comps) == 1 {
		// A single-component scan is not interleaved: one block per MCU.
		comps[0].h, comps[0].v = 1, 1
		mcusX, mcusY = (width+7)/8, (height+7)/8
	} else {
		mcusX, mcusY = (width+8*hmax-1)/(8*hmax), (height+8*vmax-1)/(8*vmax)
	}
	for k := range comps {
		c := &comps[k]
		c.stride = mcusX * c.h
		c.plane = make([]byte, c.stride*mcusY*c.v)
	}
	r := &dcBits{data: entropy}
	var pred [3]int32
	total := mcusX * mcusY
	for mcu := 0; mcu < total; mcu++ {
		if restart > 0 && mcu > 0 && mcu%restart == 0 {
			// Byte-align and expect RSTn where the reader stopped.
			if r.overrun() {
				return nil, errors.New("jpeg: truncated or corrupt data")
			}
			p := r.pos
			if p+1 >= len(entropy) || entropy[p] != 0xFF || entropy[p+1] < 0xD0 || entropy[p+1] > 0xD7 {
				return nil, errors.New("jpeg: missing restart marker")
			}
			*r = dcBits{data: entropy, pos: p + 2}
			pred = [3]int32{}
		}
		mx, my := mcu%mcusX, mcu/mcusX
		for k := range comps {
			c := &comps[k]
			qdc := q[c.tq]
			for by := 0; by < c.v; by++ {
				for bx := 0; bx < c.h; bx++ {
					t, err := r.decode(&dc[c.td])
					if err != nil {
						return nil, err
					}
					if t > 11 {
						return nil, errors.New("jpeg: bad DC coefficient")
					}
					pred[k] += extend(r.bits(uint(t)), uint(t))
					for z := 1; z < 64; z++ {
						rs, err := r.decode(&ac[c.ta])
						if err != nil {
							return nil, err
						}
						run, size := int(rs>>4), uint(rs&15)
						if size == 0 {
							if run != 15 {
								break // end of block
							}
							z += 15
							continue
						}
						z += run
						if z > 63 {
							return nil, errors.New("jpeg: bad AC run")
						}
						if r.n < 16 {
							r.fill()
						}
						r.bits(size)
					}
					// Mean of the block: DC·Q/8 around 128.
					v := (pred[k]*qdc+4)>>3 + 128
					c.plane[(my*c.v+by)*c.stride+mx*c.h+bx] = uint8(min(max(v, 0), 255))
				}
			}
		}
		if r.overrun() {
			return nil, errors.New("jpeg: truncated or corrupt data")
		}
	}
	rect := image.Rect(0, 0, (width+7)/8, (height+7)/8)
	if len(comps) == 1 {
		return &image.Gray{Pix: comps[0].plane, Stride: comps[0].stride, Rect: rect}, nil
	}
	y, cb, cr := comps[0], comps[1], comps[2]
	if cb.h != cr.h || cb.v != cr.v || y.h != hmax || y.v != vmax || y.h%cb.h != 0 || y.v%cb.v != 0 {
		return nil, errDCUnsupported
	}
	var ratio image.YCbCrSubsampleRatio
	switch [2]int{y.h / cb.h, y.v / cb.v} {
	case [2]int{1, 1}:
		ratio = image.YCbCrSubsampleRatio444
	case [2]int{2, 1}:
		ratio = image.YCbCrSubsampleRatio422
	case [2]int{2, 2}:
		ratio = image.YCbCrSubsampleRatio420
	case [2]int{1, 2}:
		ratio = image.YCbCrSubsampleRatio440
	case [2]int{4, 1}:
		ratio = image.YCbCrSubsampleRatio411
	case [2]int{4, 2}:
		ratio = image.YCbCrSubsampleRatio410
	default:
		return nil, errDCUnsupported
	}
	return &image.YCbCr{Y: y.plane, Cb: cb.plane, Cr: cr.plane, YStride: y.stride, CStride: cb.stride, SubsampleRatio: ratio, Rect: rect}, nil
}

// DecodeForDisplay decodes data for showing at no more than maxW×maxH
// pixels. Large baseline JPEGs are decoded at 1/8 scale (several times
// faster, far less memory); everything else as DecodeImage does. The
// decompression-bomb check applies to the full size.
func DecodeForDisplay(data []byte, maxPixels int64, maxW, maxH int) (image.Image, string, error) {
	if maxPixels <= 0 {
		maxPixels = DefaultMaxPixels
	}
	if len(data) > 2 && data[0] == 0xFF && data[1] == 0xD8 {
		cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
		if err == nil && int64(cfg.Width)*int64(cfg.Height) <= maxPixels &&
			cfg.Width/8 >= maxW && cfg.Height/8 >= maxH {
			if img, err := decodeJPEGDC(data, maxPixels); err == nil {
				return img, "jpeg", nil
			}
		}
	}
	return DecodeImage(data, maxPixels)
}
