package ui

import "unicode"

// fuzzyScore matches pattern against text as a case-insensitive
// subsequence and scores the match; ok is false when some rune of pattern
// is missing. Higher is better: runes that follow each other in text, runes
// at the start of a word (after a space or one of @ . - _ /) and a match at
// the very start score extra; every rune skipped before the first match
// costs a little. The empty pattern matches everything with score 0.
//
// A greedy left-to-right scan is enough for names and JIDs: it finds a
// match whenever one exists, though not always the best-scoring one.
func fuzzyScore(pattern []rune, text string) (score int, ok bool) {
	if len(pattern) == 0 {
		return 0, true
	}
	pi := 0
	prev := -2 // index of the previous matched rune
	first := -1
	prevRune := ' '
	i := 0
	for _, r := range text {
		if pi < len(pattern) && unicode.ToLower(r) == pattern[pi] {
			score++
			if i == prev+1 {
				score += 5
			}
			if isWordStart(prevRune) {
				score += 8
			}
			if first < 0 {
				first = i
			}
			prev = i
			pi++
		}
		prevRune = r
		i++
	}
	if pi < len(pattern) {
		return 0, false
	}
	if first == 0 {
		score += 10
	}
	score -= min(first, 15)
	return score, true
}

func isWordStart(prev rune) bool {
	switch prev {
	case ' ', '@', '.', '-', '_', '/':
		return true
	}
	return false
}

// lowerRunes returns s lower-cased, as runes, for fuzzyScore's pattern.
func lowerRunes(s string) []rune {
	out := []rune(s)
	for i, r := range out {
		out[i] = unicode.ToLower(r)
	}
	return out
}
