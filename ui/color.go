package ui

import (
	"crypto/sha1"
	"fmt"
	"math"
)

// Consistent colours for names, after XEP-0392 (Consistent Color
// Generation): the identifier (a bare JID, or a nickname in a room) is
// hashed with SHA-1; the first two bytes of the digest, read as a
// little-endian 16-bit number, give the hue angle n/65536·360°. The hue is
// turned into RGB through HSLuv, a perceptually uniform HSL, at full
// saturation and a lightness that reads well on the terminal's background
// (lighter on dark backgrounds, darker on light ones), so every name is as
// legible as the others and the same JID has the same colour in every
// client that follows the XEP.

// jidHue returns the XEP-0392 hue angle of id, in degrees.
func jidHue(id string) float64 {
	sum := sha1.Sum([]byte(id))
	n := uint16(sum[0]) | uint16(sum[1])<<8
	return float64(n) / 65536 * 360
}

// Lightness of name colours in HSLuv (0-100) for each background.
const (
	nameLightnessDark  = 70
	nameLightnessLight = 40
)

// jidColor returns the colour of id as "#rrggbb".
func jidColor(id string, dark bool) string {
	l := float64(nameLightnessLight)
	if dark {
		l = nameLightnessDark
	}
	r, g, b := hsluvToRGB(jidHue(id), 100, l)
	return hexColor(r, g, b)
}

func hexColor(r, g, b float64) string {
	c := func(v float64) int { return int(math.Round(max(0, min(1, v)) * 255)) }
	return fmt.Sprintf("#%02x%02x%02x", c(r), c(g), c(b))
}

// The HSLuv conversion (https://www.hsluv.org): HSLuv → LCh(uv) → CIELUV →
// XYZ → linear sRGB → sRGB, with the chroma of each hue and lightness
// scaled to the largest the sRGB gamut holds.

// xyzToRGB is the XYZ (D65) to linear sRGB matrix.
var xyzToRGB = [3][3]float64{
	{3.240969941904521, -1.537383177570093, -0.498610760293},
	{-0.96924363628087, 1.87596750150772, 0.041555057407175},
	{0.055630079696993, -0.20397695888897, 1.056971514242878},
}

const (
	refU    = 0.19783000664283
	refV    = 0.46831999493879
	kappa   = 903.2962962
	epsilon = 0.0088564516
)

// maxChroma is the largest chroma in gamut for lightness l and hue h.
func maxChroma(l, h float64) float64 {
	hr := h / 360 * 2 * math.Pi
	sub1 := math.Pow(l+16, 3) / 1560896
	sub2 := sub1
	if sub1 <= epsilon {
		sub2 = l / kappa
	}
	best := math.MaxFloat64
	for _, m := range xyzToRGB {
		for t := 0.0; t <= 1; t++ {
			top1 := (284517*m[0] - 94839*m[2]) * sub2
			top2 := (838422*m[2]+769860*m[1]+731718*m[0])*l*sub2 - 769860*t*l
			bottom := (632260*m[2]-126452*m[1])*sub2 + 126452*t
			slope, icept := top1/bottom, top2/bottom
			if length := icept / (math.Sin(hr) - slope*math.Cos(hr)); length >= 0 {
				best = min(best, length)
			}
		}
	}
	return best
}

// hsluvToRGB converts HSLuv (h in degrees, s and l in 0-100) to sRGB
// components in 0-1.
func hsluvToRGB(h, s, l float64) (r, g, b float64) {
	if l > 99.9999999 {
		return 1, 1, 1
	}
	if l < 1e-8 {
		return 0, 0, 0
	}
	c := maxChroma(l, h) / 100 * s
	hr := h / 360 * 2 * math.Pi
	u, v := c*math.Cos(hr), c*math.Sin(hr)
	// CIELUV → XYZ
	var y float64
	if l <= 8 {
		y = l / kappa
	} else {
		y = math.Pow((l+16)/116, 3)
	}
	varU := u/(13*l) + refU
	varV := v/(13*l) + refV
	x := -(9 * y * varU) / ((varU-4)*varV - varU*varV)
	z := (9*y - 15*varV*y - varV*x) / (3 * varV)
	out := [3]float64{}
	for i, m := range xyzToRGB {
		out[i] = fromLinear(m[0]*x + m[1]*y + m[2]*z)
	}
	return out[0], out[1], out[2]
}

// fromLinear applies the sRGB transfer function.
func fromLinear(c float64) float64 {
	if c <= 0.0031308 {
		return 12.92 * c
	}
	return 1.055*math.Pow(c, 1/2.4) - 0.055
}
