package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// event is one line of `go test -json` (cmd/test2json) output.
type event struct {
	Action     string
	Package    string
	ImportPath string // build-output and build-fail events
	Test       string
	Output     string
}

type testKey struct{ pkg, test string }

type summary struct {
	verbose bool
	out     io.Writer

	passed, failed, skipped int
	// Output of running tests, printed only if the test fails.
	pending map[testKey][]string
	// Packages with at least one failed test.
	failedTests map[string]bool
	// Packages whose result line was FAIL.
	failedPkgs map[string]bool
}

func newSummary(out io.Writer, verbose bool) *summary {
	return &summary{
		verbose:     verbose,
		out:         out,
		pending:     map[testKey][]string{},
		failedTests: map[string]bool{},
		failedPkgs:  map[string]bool{},
	}
}

// handle processes one event.
func (s *summary) handle(e event) {
	switch e.Action {
	case "build-output":
		fmt.Fprint(s.out, e.Output)
		return
	case "build-fail":
		// "pkg [pkg.test]" names the package whose result line follows.
		pkg, _, _ := strings.Cut(e.ImportPath, " ")
		s.failedPkgs[pkg] = true
		return
	}
	if e.Test == "" {
		// Package-level lines: "ok pkg", "FAIL pkg", "PASS", panics, etc.
		if e.Action == "output" && (s.verbose || !isNoise(e.Output)) {
			fmt.Fprint(s.out, e.Output)
		}
		if e.Action == "fail" {
			s.failedPkgs[e.Package] = true
		}
		return
	}
	k := testKey{e.Package, e.Test}
	switch e.Action {
	case "output":
		if s.verbose {
			fmt.Fprint(s.out, e.Output)
		} else {
			s.pending[k] = append(s.pending[k], e.Output)
		}
	case "pass":
		s.passed++
		delete(s.pending, k)
	case "skip":
		s.skipped++
		if !s.verbose {
			// Keep skip reasons visible, as plain go test does not.
			s.flush(k)
		}
		delete(s.pending, k)
	case "fail":
		s.failed++
		s.failedTests[e.Package] = true
		s.flush(k)
	}
}

// flush prints and forgets the buffered output of a test, without the
// "=== RUN" style progress lines that plain go test omits.
func (s *summary) flush(k testKey) {
	for _, line := range s.pending[k] {
		if !isNoise(line) {
			fmt.Fprint(s.out, line)
		}
	}
	delete(s.pending, k)
}

// isNoise reports package-level lines that plain go test does not print.
func isNoise(line string) bool {
	t := strings.TrimSpace(line)
	return t == "PASS" || strings.HasPrefix(t, "=== ")
}

// finish prints tests that never ended (a timeout or crash killed them), and
// the closing line; it reports whether the run passed.
func (s *summary) finish() bool {
	keys := make([]testKey, 0, len(s.pending))
	for k := range s.pending {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].pkg != keys[j].pkg {
			return keys[i].pkg < keys[j].pkg
		}
		return keys[i].test < keys[j].test
	})
	for _, k := range keys {
		if s.failedPkgs[k.pkg] {
			fmt.Fprintf(s.out, "--- unfinished: %s %s\n", k.pkg, k.test)
			s.flush(k)
		}
	}
	failed := s.failed
	for pkg := range s.failedPkgs {
		if !s.failedTests[pkg] {
			failed++ // build failure, TestMain failure, timeout...
		}
	}
	fmt.Fprintf(s.out, "%d passed, %d failed, %d skipped\n", s.passed, failed, s.skipped)
	return failed == 0
}

func run(in io.Reader, out io.Writer, verbose bool) bool {
	s := newSummary(out, verbose)
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1024*1024), 64*1024*1024)
	for sc.Scan() {
		line := sc.Bytes()
		var e event
		if len(line) == 0 || line[0] != '{' || json.Unmarshal(line, &e) != nil {
			// Not test2json output (e.g. a go command error): pass it on.
			fmt.Fprintf(out, "%s\n", line)
			continue
		}
		s.handle(e)
	}
	if err := sc.Err(); err != nil {
		fmt.Fprintf(out, "testsummary: reading input: %v\n", err)
		s.finish()
		return false
	}
	return s.finish()
}

func main() {
	verbose := flag.Bool("v", false, "print the output of every test")
	flag.Parse()
	if !run(os.Stdin, os.Stdout, *verbose) {
		os.Exit(1)
	}
}
