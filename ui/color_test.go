package ui

import (
	"math"
	"testing"
)

// The hue angles are the test vectors of XEP-0392.
func TestJIDHue(t *testing.T) {
	for _, tt := range []struct {
		id  string
		hue float64
	}{
		{"Romeo", 327.255249},
		{"juliet@capulet.lit", 209.410400},
		{"😺", 331.199341},
		{"council", 359.994507},
	} {
		if got := jidHue(tt.id); math.Abs(got-tt.hue) > 1e-5 {
			t.Errorf("hue(%q) = %f, want %f", tt.id, got, tt.hue)
		}
	}
}

// HSLuv coordinates of the sRGB primaries and of a grey come back as those
// colours.
func TestHSLuv(t *testing.T) {
	for _, tt := range []struct {
		h, s, l float64
		want    string
	}{
		{12.177050630061776, 100, 53.23711559542933, "#ff0000"},
		{127.71501294923954, 100, 87.73703347354422, "#00ff00"},
		{265.8743202181779, 100, 32.30087290398002, "#0000ff"},
		{0, 0, 50, "#777777"},
		{0, 0, 100, "#ffffff"},
		{0, 0, 0, "#000000"},
	} {
		if got := hexColor(hsluvToRGB(tt.h, tt.s, tt.l)); got != tt.want {
			t.Errorf("hsluv(%v, %v, %v) = %s, want %s", tt.h, tt.s, tt.l, got, tt.want)
		}
	}
}

func TestJIDColor(t *testing.T) {
	a, b := jidColor(alice, true), jidColor(bob, true)
	if a == b || a != jidColor(alice, true) {
		t.Errorf("colours: alice %s, bob %s", a, b)
	}
	if jidColor(alice, true) == jidColor(alice, false) {
		t.Error("same colour on dark and light backgrounds")
	}
	// Lighter on dark backgrounds.
	lum := func(hex string) int {
		var r, g, b int
		for i, p := range []*int{&r, &g, &b} {
			for _, c := range hex[1+2*i : 3+2*i] {
				d := int(c - '0')
				if c >= 'a' {
					d = int(c-'a') + 10
				}
				*p = *p*16 + d
			}
		}
		return r + g + b
	}
	if lum(jidColor(alice, true)) <= lum(jidColor(alice, false)) {
		t.Errorf("dark-background colour %s is not lighter than %s", jidColor(alice, true), jidColor(alice, false))
	}
}
