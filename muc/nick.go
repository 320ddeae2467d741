package muc

import (
	"strconv"
	"strings"
)

// NextNick suggests another nick after a conflict. The scheme is a numeric
// suffix after an underscore: "alice" → "alice_2" → "alice_3" … Only a
// trailing "_N" (N ≥ 2, no leading zero) counts as our suffix, so
// "bob_01" becomes "bob_01_2".
func NextNick(nick string) string {
	if i := strings.LastIndexByte(nick, '_'); i > 0 && i < len(nick)-1 {
		digits := nick[i+1:]
		if digits[0] != '0' && allDigits(digits) {
			if n, err := strconv.Atoi(digits); err == nil && n >= 2 {
				return nick[:i+1] + strconv.Itoa(n+1)
			}
		}
	}
	return nick + "_2"
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
