// Package demo sets up the throwaway world of `scripts/demo`: a local
// Prosody, two accounts that know each other, an echo bot answering as bob,
// and an xchat configuration for alice.
package demo
