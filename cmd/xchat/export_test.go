package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"xchat/store"
)

const (
	expAcct = "me@example.org"
	expBob  = "bob@example.org"
	expCarl = "carl@example.org"
)

var expT0 = time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)

// expSetup writes a configuration for expAcct, points XCHAT_DB at a fresh
// database, and returns the --config arguments and the open store, for the
// test to fill (closed before the commands run, as another process would).
func expSetup(t *testing.T) ([]string, *store.Store) {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(cfg, []byte("[[account]]\njid = \""+expAcct+"\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(dir, "xchat.db")
	t.Setenv("XCHAT_DB", db)
	st, err := store.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return []string{"--config", cfg}, st
}

// expRun runs the command line in-process.
func expRun(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(args, nil, &out, &errb)
	return code, out.String(), errb.String()
}

// subcommand inserts the global flags after the subcommand name.
func subcommand(name string, cfg []string, rest ...string) []string {
	return append(append([]string{name}, cfg...), rest...)
}

func TestExportWholeConversation(t *testing.T) {
	cfg, st := expSetup(t)
	ctx := context.Background()
	// More than two export pages, stored out of time order (a backfill
	// after live messages), plus another conversation that must not leak.
	const n = 2*exportPage + 37
	var msgs []*store.Message
	for i := n - 1; i >= 0; i-- {
		m := &store.Message{Account: expAcct, Peer: expBob, Sender: expBob, Body: fmt.Sprintf("message %d", i),
			Timestamp: expT0.Add(time.Duration(i) * time.Second), OriginID: fmt.Sprintf("o%d", i), StanzaID: fmt.Sprintf("s%d", i), StanzaBy: expAcct}
		if i%3 == 0 {
			m.Direction, m.Sender, m.State = store.Outgoing, expAcct, store.StateDelivered
		}
		if i == 7 {
			m.Body, m.Encryption = "hidden \x1b[2J\u202e line\nbreak", "omemo"
		}
		msgs = append(msgs, m)
	}
	if _, err := st.AddMessages(ctx, msgs); err != nil {
		t.Fatal(err)
	}
	if _, err := st.AddMessage(ctx, &store.Message{Account: expAcct, Peer: expCarl, Sender: expCarl, Body: "not bob's"}); err != nil {
		t.Fatal(err)
	}
	st.Close()

	code, out, errOut := expRun(t, subcommand("export", cfg, "--format", "json", expBob+"/phone")...)
	if code != 0 {
		t.Fatalf("export json: exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != n {
		t.Fatalf("export json: %d lines, want %d", len(lines), n)
	}
	for i, line := range lines {
		var r map[string]any
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("line %d: %v: %s", i, err, line)
		}
		keys := make([]string, 0, len(r))
		for k := range r {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		if want := []string{"body", "direction", "encryption", "origin_id", "sender", "stanza_id", "state", "time"}; !slices.Equal(keys, want) {
			t.Fatalf("line %d fields %v, want %v", i, keys, want)
		}
		want := map[string]any{
			"time": expT0.Add(time.Duration(i) * time.Second).Format("2006-01-02T15:04:05.000Z"),
			"body": fmt.Sprintf("message %d", i), "origin_id": fmt.Sprintf("o%d", i), "stanza_id": fmt.Sprintf("s%d", i),
			"direction": "in", "sender": expBob, "state": "received", "encryption": "",
		}
		if i%3 == 0 {
			want["direction"], want["sender"], want["state"] = "out", expAcct, "delivered"
		}
		if i == 7 {
			want["body"], want["encryption"] = "hidden \x1b[2J\u202e line\nbreak", "omemo"
		}
		if !mapsEqual(r, want) {
			t.Fatalf("line %d = %v, want %v", i, r, want)
		}
	}
	if strings.Contains(out, "\x1b") {
		t.Error("json export holds a raw escape character")
	}

	code, out, errOut = expRun(t, subcommand("export", cfg, expBob)...)
	if code != 0 {
		t.Fatalf("export txt: exit %d: %s", code, errOut)
	}
	lines = strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != n {
		t.Fatalf("export txt: %d lines, want %d", len(lines), n)
	}
	if want := "2025-03-04T05:06:08Z " + expBob + ": message 1"; lines[1] != want {
		t.Errorf("txt line 1 = %q, want %q", lines[1], want)
	}
	if want := "2025-03-04T05:06:07Z " + expAcct + ": message 0"; lines[0] != want {
		t.Errorf("txt line 0 = %q, want %q", lines[0], want)
	}
	if strings.ContainsAny(lines[7], "\x1b\u202e") || !strings.Contains(lines[7], "hidden") || !strings.Contains(lines[7], "break") {
		t.Errorf("txt line 7 not sanitized onto one line: %q", lines[7])
	}
}

func mapsEqual(a, b map[string]any) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestExportErrors(t *testing.T) {
	cfg, st := expSetup(t)
	st.Close()
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{subcommand("export", cfg, "nobody@example.org"), 1, "no conversation with nobody@example.org"},
		{subcommand("export", cfg, "not a jid@@"), 1, "invalid JID"},
		{subcommand("export", cfg, "--format", "xml", expBob), 2, "usage"},
		{subcommand("export", cfg), 2, "usage"},
		{subcommand("export", cfg, expBob, expCarl), 2, "usage"},
		{subcommand("export", cfg, "--account", "who@example.org", expBob), 1, "no account"},
	} {
		code, out, errOut := expRun(t, tc.args...)
		if code != tc.code || !strings.Contains(errOut, tc.msg) || out != "" {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want exit %d and %q", tc.args, code, out, errOut, tc.code, tc.msg)
		}
		if strings.Count(errOut, "\n") != 1 {
			t.Errorf("%q: stderr is not one line: %q", tc.args, errOut)
		}
	}
}

func TestHistorySearch(t *testing.T) {
	cfg, st := expSetup(t)
	ctx := context.Background()
	add := func(peer string, out bool, sec int, body string) {
		m := &store.Message{Account: expAcct, Peer: peer, Sender: peer, Body: body, Timestamp: expT0.Add(time.Duration(sec) * time.Second)}
		if out {
			m.Direction, m.Sender, m.State = store.Outgoing, expAcct, store.StateSent
		}
		if _, err := st.AddMessage(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	add(expBob, false, 1, "Lunch tomorrow?")
	add(expBob, true, 2, "sure, lunch at noon")
	add(expCarl, false, 3, "no LÜNCH \x1b]0;pwned\x07for me")
	add(expCarl, false, 4, "dinner instead")
	add(expBob, false, 5, "the \"lunch\" OR * thing")
	st.Close()

	line := func(sec int, peer, sender, text string) string {
		return expT0.Add(time.Duration(sec)*time.Second).Format(time.RFC3339) + " " + peer + " " + sender + ": " + text
	}
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"--search", "lunch"}, []string{
			line(1, expBob, expBob, "Lunch tomorrow?"),
			line(2, expBob, expAcct, "sure, lunch at noon"),
			line(3, expCarl, expCarl, "no LÜNCH for me"),
			line(5, expBob, expBob, `the "lunch" OR * thing`),
		}},
		{[]string{"--search", "lunch", "-n", "2"}, []string{
			line(3, expCarl, expCarl, "no LÜNCH for me"),
			line(5, expBob, expBob, `the "lunch" OR * thing`),
		}},
		{[]string{"--search", "lun", expBob}, []string{
			line(1, expBob, expBob, "Lunch tomorrow?"),
			line(2, expBob, expAcct, "sure, lunch at noon"),
			line(5, expBob, expBob, `the "lunch" OR * thing`),
		}},
		{[]string{"--search", `"lunch" OR *`}, []string{line(5, expBob, expBob, `the "lunch" OR * thing`)}},
		{[]string{"--search", "lunch noon", expCarl}, nil},
		{[]string{"--search", "breakfast"}, nil},
	} {
		code, out, errOut := expRun(t, subcommand("history", cfg, tc.args...)...)
		if code != 0 {
			t.Errorf("%q: exit %d: %s", tc.args, code, errOut)
			continue
		}
		var got []string
		if out != "" {
			got = strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%q:\n got %q\nwant %q", tc.args, got, tc.want)
		}
	}
	sanitized := regexp.MustCompile(`^[^\x00-\x1f\x7f]*$`)
	_, out, _ := expRun(t, subcommand("history", cfg, "--search", "lunch")...)
	for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if !sanitized.MatchString(l) {
			t.Errorf("unsanitized line %q", l)
		}
	}
	// Plain history is unchanged; --search takes at most one peer.
	if code, out, _ := expRun(t, subcommand("history", cfg, "-n", "1", expBob)...); code != 0 ||
		out != expT0.Add(5*time.Second).Format(time.RFC3339)+" "+expBob+`: the "lunch" OR * thing`+"\n" {
		t.Errorf("history: exit %d, %q", code, out)
	}
	if code, _, errOut := expRun(t, subcommand("history", cfg, "--search", "x", expBob, expCarl)...); code != 2 || !strings.Contains(errOut, "usage") {
		t.Errorf("two peers: exit %d, %q", code, errOut)
	}
	if code, _, errOut := expRun(t, subcommand("history", cfg, "--search", "x", "-n", "0")...); code != 2 || !strings.Contains(errOut, "usage") {
		t.Errorf("-n 0: exit %d, %q", code, errOut)
	}
}

// Error lines can quote a server or a room: nothing in them reaches the
// terminal as a control sequence, and they stay one line.
func TestOneLineSanitizes(t *testing.T) {
	got := oneLine(errors.New("the server refused the message: \x1b]0;pwned\x07evil\x1b[2J\nsecond\u202eline"))
	if strings.ContainsAny(got, "\x1b\x07\n\u202e") || !strings.Contains(got, "evil") || !strings.Contains(got, "second") {
		t.Fatalf("%q", got)
	}
}
