package muc

import (
	"crypto/rand"
	"encoding/hex"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// maxLocalpart is the RFC 7622 limit on a localpart, in bytes.
const maxLocalpart = 64

// translit covers Latin letters that do not decompose into a base letter
// plus combining marks.
var translit = map[rune]string{
	'ß': "ss", 'æ': "ae", 'Æ': "ae", 'œ': "oe", 'Œ': "oe", 'ø': "o", 'Ø': "o",
	'đ': "d", 'Đ': "d", 'ð': "d", 'Ð': "d", 'þ': "th", 'Þ': "th", 'ł': "l",
	'Ł': "l", 'ı': "i", 'ħ': "h", 'Ħ': "h", 'ŋ': "n", 'Ŋ': "n", 'ĸ': "k",
}

// LocalpartFromName derives a room localpart from a free-text name: NFKD
// folding drops accents (é→e), a few Latin letters are spelled out (ß→ss),
// other non-ASCII is dropped, letters are lowercased, runs of spaces,
// punctuation and separators become one '-', and characters RFC 7622
// forbids in localparts (" & ' / : < > @) never appear. The result has at
// most 64 bytes and no leading or trailing '-'. A name with nothing usable
// gives "room-" plus a random suffix.
func LocalpartFromName(name string) string {
	return LocalpartFromNameRand(name, randomSuffix)
}

// LocalpartFromNameRand is LocalpartFromName with the random suffix source
// injected (tests).
func LocalpartFromNameRand(name string, suffix func() string) string {
	var b strings.Builder
	dash := false
	emit := func(s string) {
		if dash && b.Len() > 0 {
			b.WriteByte('-')
		}
		dash = false
		b.WriteString(s)
	}
	for _, r := range norm.NFKD.String(name) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			emit(string(r))
		case r >= 'A' && r <= 'Z':
			emit(string(r + ('a' - 'A')))
		case r == '.' || r == '_':
			// Allowed and meaningful in localparts; keep, but not
			// at the edges (handled by the final trim).
			emit(string(r))
		case unicode.Is(unicode.Mn, r):
			// Combining mark left by NFKD: drop.
		default:
			if t, ok := translit[r]; ok {
				emit(t)
			} else if r < 0x80 || unicode.IsSpace(r) || unicode.IsPunct(r) || unicode.IsSymbol(r) {
				dash = true // separators and forbidden ASCII become '-'
			}
			// Other scripts are dropped.
		}
	}
	s := b.String()
	if len(s) > maxLocalpart {
		s = s[:maxLocalpart] // ASCII only: any cut is a valid boundary
	}
	s = strings.Trim(s, "-._")
	if s == "" {
		return "room-" + suffix()
	}
	return s
}

func randomSuffix() string {
	var b [4]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go ≥ 1.24)
	return hex.EncodeToString(b[:])
}
