// Package bench holds cross-package benchmarks: the real store and the real
// interface together, as a user starts xchat.
package bench
