package main

import (
	"encoding/json"
	"strings"
	"testing"
)

func jsonLines(t *testing.T, events ...event) string {
	t.Helper()
	var b strings.Builder
	for _, e := range events {
		data, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(data)
		b.WriteByte('\n')
	}
	return b.String()
}

func TestRunCounts(t *testing.T) {
	in := jsonLines(t,
		event{Action: "run", Package: "p", Test: "TestA"},
		event{Action: "output", Package: "p", Test: "TestA", Output: "=== RUN   TestA\n"},
		event{Action: "output", Package: "p", Test: "TestA", Output: "secret pass log\n"},
		event{Action: "pass", Package: "p", Test: "TestA"},
		event{Action: "run", Package: "p", Test: "TestB/sub"},
		event{Action: "output", Package: "p", Test: "TestB/sub", Output: "    b_test.go:9: boom\n"},
		event{Action: "fail", Package: "p", Test: "TestB/sub"},
		event{Action: "fail", Package: "p", Test: "TestB"},
		event{Action: "output", Package: "p", Test: "TestC", Output: "    c_test.go:3: no prosody\n"},
		event{Action: "skip", Package: "p", Test: "TestC"},
		event{Action: "output", Package: "p", Output: "FAIL\tp\t0.1s\n"},
		event{Action: "fail", Package: "p"},
	)
	var out strings.Builder
	if run(strings.NewReader(in), &out, false) {
		t.Fatal("run with failures reported success")
	}
	got := out.String()
	for _, want := range []string{"boom", "no prosody", "FAIL\tp", "1 passed, 2 failed, 1 skipped\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "secret pass log") {
		t.Errorf("output of a passing test printed without -v:\n%s", got)
	}
	if !strings.HasSuffix(got, "1 passed, 2 failed, 1 skipped\n") {
		t.Errorf("summary is not the last line:\n%s", got)
	}
}

func TestRunVerbose(t *testing.T) {
	in := jsonLines(t,
		event{Action: "output", Package: "p", Test: "TestA", Output: "shown with -v\n"},
		event{Action: "pass", Package: "p", Test: "TestA"},
		event{Action: "pass", Package: "p"},
	)
	var out strings.Builder
	if !run(strings.NewReader(in), &out, true) {
		t.Fatal("passing run reported failure")
	}
	if !strings.Contains(out.String(), "shown with -v") || !strings.HasSuffix(out.String(), "1 passed, 0 failed, 0 skipped\n") {
		t.Errorf("unexpected output:\n%s", out.String())
	}
}

func TestBuildFailureCounts(t *testing.T) {
	in := jsonLines(t,
		event{Action: "build-output", ImportPath: "q [q.test]", Output: "q/x.go:1:1: syntax error\n"},
		event{Action: "build-fail", ImportPath: "q [q.test]"},
		event{Action: "output", Package: "q", Output: "FAIL\tq [build failed]\n"},
		event{Action: "fail", Package: "q"},
	) + "go: some non-JSON error\n"
	var out strings.Builder
	if run(strings.NewReader(in), &out, false) {
		t.Fatal("build failure reported success")
	}
	got := out.String()
	for _, want := range []string{"syntax error", "some non-JSON error", "0 passed, 1 failed, 0 skipped\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
}

func TestTimeoutShowsUnfinished(t *testing.T) {
	in := jsonLines(t,
		event{Action: "run", Package: "r", Test: "TestHang"},
		event{Action: "output", Package: "r", Test: "TestHang", Output: "waiting for server\n"},
		event{Action: "output", Package: "r", Output: "panic: test timed out after 1s\n"},
		event{Action: "fail", Package: "r"},
	)
	var out strings.Builder
	if run(strings.NewReader(in), &out, false) {
		t.Fatal("timeout reported success")
	}
	got := out.String()
	for _, want := range []string{"panic: test timed out", "unfinished: r TestHang", "waiting for server", "0 passed, 1 failed, 0 skipped\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
}
