// Command testsummary reads `go test -json` output on stdin and prints what a
// plain `go test` run would (package results, and the output of failed
// tests; everything with -v), then a closing line
// "N passed, N failed, N skipped" counting tests and subtests.
//
// A package that fails without a failing test (build error, panic in
// TestMain, timeout) counts as one failure, so the line never reports zero
// failures for a failed run. It exits 1 when anything failed.
package main
