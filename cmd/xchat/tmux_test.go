package main

// End-to-end tests of the interface: the built binary runs in tmux against
// the Prosody harness, and the tests type into it and read its screen.

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"xchat/internal/testserver"
	"xchat/internal/tmuxtest"
	"xchat/store"
)

// rosterRow matches the roster row of contact jid and captures its unread
// count ("" when there is none).
func rosterRow(jid string) *regexp.Regexp {
	return regexp.MustCompile(`(?m)^.. ` + regexp.QuoteMeta(jid) + ` *(\d*) *│`)
}

// unreadOf returns the unread count shown for jid, and whether its row is
// on the screen.
func unreadOf(screen, jid string) (string, bool) {
	m := rosterRow(jid).FindStringSubmatch(screen)
	if m == nil {
		return "", false
	}
	return m[1], true
}

func TestTUITwoUsersChat(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t, testserver.Options{NoUpload: true})
	users := srv.Users(t, 2)
	alice, bob := users[0], users[1]
	befriend(t, srv, alice, bob, "")

	ha := newHome(t, srv, alice, "")
	hb := newHome(t, srv, bob, "")
	sa := startTUI(t, ha, tmuxtest.Options{})
	sb := startTUI(t, hb, tmuxtest.Options{})
	sb.WaitForText("No conversation is open.")
	sb.WaitFor("alice in bob's roster", rosterRow(alice.JID).MatchString)

	// Alice opens the conversation with a command and types a message.
	sa.SendText("/msg " + bob.JID)
	sa.SendKeys("Enter")
	sa.WaitFor("the conversation title", func(s string) bool {
		return strings.Contains(s, "│ "+bob.JID+" · ")
	})
	const hello = "hi bob, this is alice typing in tmux"
	sa.SendText(hello)
	sa.SendKeys("Enter")
	sa.WaitForText("me: " + hello + " 🔒 ✓") // OMEMO is on by default

	// Bob has no conversation open: the roster counts it as unread.
	screen := sb.WaitFor("an unread count for alice", func(s string) bool {
		n, _ := unreadOf(s, alice.JID)
		return n == "1"
	})
	if strings.Contains(screen, hello) {
		t.Errorf("the message shows although no conversation is open:\n%s", tmuxtest.Frame(screen))
	}
	if title := sb.Title(); title != "xchat (1)" {
		t.Errorf("bob's title = %q, want %q", title, "xchat (1)")
	}

	// Bob opens it: the message shows and the count goes away.
	sb.SendText("/msg " + alice.JID)
	sb.SendKeys("Enter")
	sb.WaitForText(alice.JID + ": " + hello)
	sb.WaitFor("no unread count for alice", func(s string) bool {
		n, ok := unreadOf(s, alice.JID)
		return ok && n == ""
	})
	if _, ok := sb.Poll(5*time.Second, func(string) bool { return sb.Title() == "xchat" }); !ok {
		t.Errorf("bob's title = %q after reading, want %q", sb.Title(), "xchat")
	}

	// Bob replies by typing; alice, whose conversation is open, sees it
	// without an unread count.
	const reply = "hello alice, bob answering"
	sb.SendText(reply)
	sb.SendKeys("Enter")
	sb.WaitForText("me: " + reply + " 🔒 ✓")
	screen = sa.WaitForText(bob.JID + ": " + reply)
	if n, ok := unreadOf(screen, bob.JID); !ok || n != "" {
		t.Errorf("alice's roster shows unread %q for the open conversation:\n%s", n, tmuxtest.Frame(screen))
	}

	// Both directions are in alice's history, as `xchat history` tells
	// while the interface still runs.
	r := runXchat(t, ha, "history", bob.JID)
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if r.code != 0 || len(lines) != 2 ||
		!historyLine.MatchString(lines[0]) || !strings.HasSuffix(lines[0], " "+alice.JID+": "+hello) ||
		!historyLine.MatchString(lines[1]) || !strings.HasSuffix(lines[1], " "+bob.JID+": "+reply) {
		t.Errorf("alice's history:\n%s", r)
	}

	// /quit ends the program.
	sa.SendText("/quit")
	sa.SendKeys("Enter")
	if _, ok := sa.Poll(10*time.Second, func(string) bool { return sa.Exited() }); !ok {
		t.Fatal("xchat did not exit after /quit")
	}
	if status, signal, ok := sa.ExitStatus(); ok && (status != 0 || signal != 0) {
		t.Errorf("xchat exited with status %d, signal %d after /quit", status, signal)
	}
}

func TestTUIHostileText(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t, testserver.Options{NoUpload: true})
	users := srv.Users(t, 2)
	alice, bob := users[0], users[1]
	// The roster name alice gives bob carries 8-bit OSC and CSI controls,
	// which XML allows.
	befriend(t, srv, alice, bob, "Bob\u009d2;pwned-by-name\u009c\u009b2J")

	h := newHome(t, srv, alice, filepath.Join(t.TempDir(), "alice.db"))
	// A stored body with 7-bit escape sequences: a title change and a
	// screen clear. (XML cannot carry ESC or BEL, but a decrypted OMEMO
	// payload or a corrupted store can.)
	now := time.Now()
	prefill(t, h, bob.JID,
		[]time.Time{now.Add(-4 * time.Minute), now.Add(-3 * time.Minute), now.Add(-2 * time.Minute), now.Add(-time.Minute)},
		[]string{"an earlier line", "before\x1b]0;pwned\x07\x1b[2Jafter", "bell\x07ring", "plain\x1b[31;1mRED\x1b[0mtext"}, false)
	s := startTUI(t, h, tmuxtest.Options{}, "XCHAT_OPEN="+bob.JID)
	s.WaitForText("an earlier line", "before", "after")

	// A lone control shows as its Control Pictures symbol, and colours
	// from the network are not applied: no SGR between the words.
	screen := s.WaitForText("bell\u2407ring", "plainREDtext")
	if esc := s.CaptureEscapes(); !strings.Contains(esc, "plainREDtext") {
		t.Errorf("the body's SGR sequence styled the text:\n%q", esc)
	}
	if strings.Contains(screen, "[31;1m") {
		t.Errorf("the SGR sequence shows as text:\n%s", tmuxtest.Frame(screen))
	}

	// Live messages over the network: ESC and BEL are not XML characters
	// (the sender's XML encoder replaces them), C1 controls are.
	bc := startClient(t, srv, bob, "hostile", false)
	bc.waitOnline()
	bc.send(alice.JID, "livebefore\x1b]0;pwned-live\x07\x1b[2Jliveafter")
	bc.send(alice.JID, "cbefore\u009d0;pwned-c1\u009c\u009b2J\u009b31mcafter")
	screen = s.WaitForText("liveafter", "cafter")

	if title := s.Title(); title != "xchat" {
		t.Errorf("pane title = %q, want %q", title, "xchat")
	}
	// Nothing cleared the screen: the roster, the older message and the
	// status and title lines are still drawn.
	for _, want := range []string{alice.JID, "an earlier line", "before", "after", "livebefore", "cbefore"} {
		if !strings.Contains(screen, want) {
			t.Errorf("screen lacks %q", want)
		}
	}
	if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(alice.JID) + ` +online *│`).MatchString(screen) {
		t.Errorf("the roster header is gone")
	}
	// The 7-bit sequences were removed whole, payload included.
	if !regexp.MustCompile(`(?m)` + regexp.QuoteMeta(bob.JID) + `: beforeafter *$`).MatchString(screen) {
		t.Errorf("the stored body should read %q once its escapes are removed", "beforeafter")
	}
	// The roster name shows as text in the roster and the title, without
	// its controls acting.
	if !strings.Contains(screen, "Bob") {
		t.Errorf("bob's roster name is not shown")
	}
	s.Resize(100, 31) // a full redraw must not bring anything back
	s.Resize(100, 30)
	s.WaitForText("an earlier line", "cafter")
	if title := s.Title(); title != "xchat" {
		t.Errorf("pane title after redraw = %q, want %q", title, "xchat")
	}

	// `xchat history` prints the same bodies without any control byte.
	r := runXchat(t, h, "history", bob.JID)
	if r.code != 0 || !strings.Contains(r.stdout, "before") || !strings.Contains(r.stdout, "cafter") {
		t.Fatalf("history:\n%s", r)
	}
	for _, c := range r.stdout {
		if c != '\n' && (c < 0x20 || c == 0x7f || c >= 0x80 && c <= 0x9f) {
			t.Fatalf("history printed control character %U:\n%q", c, r.stdout)
		}
	}
	if strings.Count(r.stdout, "\n") != 6 {
		t.Errorf("history printed %d lines, want 6:\n%s", strings.Count(r.stdout, "\n"), r.stdout)
	}
	if !strings.Contains(r.stdout, ": bell\u2407ring\n") || !strings.Contains(r.stdout, ": beforeafter\n") {
		t.Errorf("history does not show the controls as the interface does:\n%s", r.stdout)
	}
}

func TestTUIScrollback(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t, testserver.Options{NoUpload: true})
	alice, bob := srv.Users(t, 1)[0], testserver.User{JID: "bob@localhost"}
	h := newHome(t, srv, alice, filepath.Join(t.TempDir(), "db", "alice.db"))
	const n = 1000
	ts := make([]time.Time, n)
	bodies := make([]string, n)
	base := time.Now().Add(-2 * time.Hour)
	for i := range n {
		ts[i] = base.Add(time.Duration(i) * time.Second)
		bodies[i] = fmt.Sprintf("msg %04d", i+1)
	}
	prefill(t, h, bob.JID, ts, bodies, true)

	s := startTUI(t, h, tmuxtest.Options{}, "XCHAT_OPEN="+bob.JID)
	screen := s.WaitForText("msg 1000")
	if _, err := os.Stat(filepath.Join(h.dir, "data", "xchat", "xchat.db")); err == nil {
		t.Errorf("XCHAT_DB was ignored: the default database was created")
	}
	if strings.Contains(screen, "msg 0001") {
		t.Fatal("the first message is visible without scrolling")
	}

	// PgUp until the first message shows; every screen shows a run of
	// consecutive messages that goes back in time.
	number := regexp.MustCompile(`msg (\d{4})`)
	lowest := func(screen string) int {
		low := n + 1
		for _, m := range number.FindAllStringSubmatch(screen, -1) {
			v, _ := strconv.Atoi(m[1])
			low = min(low, v)
		}
		return low
	}
	// A press that shows nothing older within 2s is a stall; three in a
	// row end the test.
	prev, presses, stalls := lowest(screen), 0, 0
	for ; presses < 200 && stalls < 3 && !strings.Contains(screen, "msg 0001"); presses++ {
		s.SendKeys("PageUp")
		screen, _ = s.Poll(2*time.Second, func(sc string) bool { return lowest(sc) < prev })
		low := lowest(screen)
		if low > prev {
			t.Fatalf("PgUp moved forward from msg %04d to msg %04d:\n%s", prev, low, tmuxtest.Frame(screen))
		}
		if low == prev {
			stalls++
		} else {
			stalls = 0
		}
		prev = low
	}
	if !strings.Contains(screen, "msg 0001") {
		t.Fatalf("msg 0001 not reached after %d PgUp (lowest seen %d):\n%s", presses, prev, tmuxtest.Frame(screen))
	}
	t.Logf("msg 0001 reached after %d PgUp", presses)
	// The store may not have said yet that nothing is older: the marker
	// above msg 0001 then offers (or is loading) one more page, which
	// turns out empty.
	const top = "beginning of the conversation"
	for i := 0; i < 5 && !strings.Contains(screen, top); i++ {
		if strings.Contains(screen, "PgUp for older messages") {
			s.SendKeys("PageUp")
		}
		screen, _ = s.Poll(2*time.Second, func(sc string) bool { return strings.Contains(sc, top) })
	}
	if !strings.Contains(screen, top) || strings.Index(screen, top) > strings.Index(screen, "msg 0001") ||
		strings.Index(screen, "msg 0001") > strings.Index(screen, "msg 0002") {
		t.Errorf("the top of the conversation is not drawn in order:\n%s", tmuxtest.Frame(screen))
	}

	// PgDn all the way back reaches the newest message again (the pane
	// dropped it while paging up).
	for presses, stalls = 0, 0; presses < 200 && stalls < 3 && !strings.Contains(screen, "msg 1000"); presses++ {
		s.SendKeys("PageDown")
		screen, _ = s.Poll(2*time.Second, func(sc string) bool { return lowest(sc) > prev || strings.Contains(sc, "msg 1000") })
		if low := lowest(screen); low > prev {
			stalls, prev = 0, low
		} else {
			stalls++
		}
	}
	if !strings.Contains(screen, "msg 1000") {
		t.Fatalf("msg 1000 not reached again after %d PgDn:\n%s", presses, tmuxtest.Frame(screen))
	}
}

func TestTUIResizeRewraps(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t, testserver.Options{NoUpload: true})
	alice, bob := srv.Users(t, 1)[0], testserver.User{JID: "bob@localhost"}
	h := newHome(t, srv, alice, "")
	var words []string
	for i := 1; i <= 40; i++ {
		words = append(words, fmt.Sprintf("w%02d", i))
	}
	long := strings.Join(words, " ")
	prefill(t, h, bob.JID, []time.Time{time.Now().Add(-time.Minute)}, []string{long}, true)

	s := startTUI(t, h, tmuxtest.Options{Width: 120, Height: 30}, "XCHAT_OPEN="+bob.JID)
	s.WaitForText("w40")
	wide := wrapped(t, s, 120, words)

	s.Resize(60, 30)
	s.WaitFor("the layout for 60 columns", func(string) bool {
		rows, ok := wrappedRows(s.Lines(), words)
		return ok && len(rows) > len(wide)
	})
	narrow := wrapped(t, s, 60, words)
	if len(narrow) <= len(wide) {
		t.Errorf("the message takes %d rows at 60 columns and %d at 120", len(narrow), len(wide))
	}
	// w%02d of the last word of the first row at 120 columns is on a later
	// row at 60.
	firstRowLast := strings.Fields(wide[0])[len(strings.Fields(wide[0]))-1]
	if strings.Contains(narrow[0], firstRowLast) {
		t.Errorf("%s stayed on the first row after narrowing:\n%q\n%q", firstRowLast, wide[0], narrow[0])
	}

	s.Resize(120, 30)
	s.WaitFor("the layout for 120 columns", func(string) bool {
		rows, ok := wrappedRows(s.Lines(), words)
		return ok && len(rows) == len(wide)
	})
	again := wrapped(t, s, 120, words)
	if strings.Join(again, "\n") != strings.Join(wide, "\n") {
		t.Errorf("wrapping at 120 columns differs after resizing back:\n%q\n%q", wide, again)
	}
}

// wrappedRows finds the rows of the conversation holding words, from the
// row with the first word to the row with the last, as chat-column text.
func wrappedRows(lines []string, words []string) ([]string, bool) {
	first, last := -1, -1
	for i, l := range lines {
		c := chatColumn(l)
		if first < 0 && strings.Contains(c, words[0]) {
			first = i
		}
		if strings.Contains(c, words[len(words)-1]) {
			last = i
		}
	}
	if first < 0 || last < first {
		return nil, false
	}
	var rows []string
	for _, l := range lines[first : last+1] {
		rows = append(rows, strings.TrimRight(chatColumn(l), " "))
	}
	return rows, true
}

// wrapped checks that the message shows every word once, in order, on rows
// that fit the terminal width, and returns its rows.
func wrapped(t *testing.T, s *tmuxtest.Session, width int, words []string) []string {
	t.Helper()
	lines := s.Lines()
	rows, ok := wrappedRows(lines, words)
	if !ok {
		t.Fatalf("the message is not on the screen:\n%s", tmuxtest.Frame(strings.Join(lines, "\n")))
	}
	var got []string
	for i, r := range rows {
		f := strings.Fields(r)
		if i == 0 {
			// "HH:MM bob@localhost: w01 ..."
			if len(f) < 3 || !regexp.MustCompile(`^\d\d:\d\d$`).MatchString(f[0]) {
				t.Fatalf("first row %q lacks the time and sender", r)
			}
			f = f[2:]
		}
		got = append(got, f...)
	}
	if strings.Join(got, " ") != strings.Join(words, " ") {
		t.Errorf("at %d columns the message reads %q", width, strings.Join(got, " "))
	}
	for _, l := range lines {
		if n := len([]rune(l)); n > width {
			t.Errorf("row wider than %d: %q", width, l)
		}
	}
	if len(rows) > 1 && !strings.HasPrefix(rows[1], "      w") {
		t.Errorf("continuation row %q is not indented under the text", rows[1])
	}
	return rows
}

func TestTUICrashSafety(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t, testserver.Options{NoUpload: true})
	users := srv.Users(t, 2)
	alice, bob := users[0], users[1]
	dbPath := filepath.Join(t.TempDir(), "alice.db")
	h := newHome(t, srv, alice, dbPath)
	s := startTUI(t, h, tmuxtest.Options{}, "XCHAT_OPEN="+bob.JID)
	pid := s.PanePID()
	if comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid)); strings.TrimSpace(string(comm)) != "xchat" {
		t.Fatalf("the pane's process %d is %q, not xchat", pid, comm)
	}

	bc := startClient(t, srv, bob, "flood", false)
	bc.waitOnline()
	const total = 300
	// The flood stops between two sends when told to: cancelling the
	// context of a SendMessage in progress races in session (see the
	// report).
	var halt atomic.Bool
	sendErr := make(chan error, 1)
	go func() {
		for i := 1; i <= total && !halt.Load(); i++ {
			if _, err := bc.c.SendMessage(context.Background(), alice.JID, fmt.Sprintf("n=%03d", i)); err != nil {
				sendErr <- err
				return
			}
		}
		sendErr <- nil
	}()
	defer func() {
		halt.Store(true)
		<-sendErr
	}()

	// Watch alice's database from the side and kill xchat once 50
	// messages are in.
	db := openDBReadOnly(t, dbPath)
	deadline := time.Now().Add(30 * time.Second)
	stored := 0
	for stored < 50 {
		if time.Now().After(deadline) {
			t.Fatalf("only %d messages stored after 30s", stored)
		}
		_ = db.QueryRow(`SELECT count(*) FROM messages WHERE body LIKE 'n=%'`).Scan(&stored)
		if stored < 50 {
			time.Sleep(10 * time.Millisecond)
		}
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Poll(10*time.Second, func(string) bool { return s.Exited() }); !ok {
		t.Fatal("xchat still runs after SIGKILL")
	}
	db.Close()

	st, err := store.Open(context.Background(), dbPath)
	if err != nil {
		t.Fatalf("reopening the database after the crash: %v", err)
	}
	defer st.Close()
	var check string
	if err := st.DB().QueryRow("PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check = %q, %v", check, err)
	}
	msgs, err := st.Latest(context.Background(), alice.JID, bob.JID, 2*total)
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range msgs {
		if want := fmt.Sprintf("n=%03d", i+1); m.Body != want {
			t.Fatalf("message %d of %d is %q, want %q: not a gapless prefix", i+1, len(msgs), m.Body, want)
		}
	}
	if len(msgs) < 50 {
		t.Fatalf("%d messages survived, want at least the 50 seen before the kill", len(msgs))
	}
	t.Logf("%d of %d messages stored when xchat was killed (%d seen before the kill)", len(msgs), total, stored)

	// The binary reads the database it left behind.
	r := runXchat(t, h, "history", "-n", "1", bob.JID)
	if r.code != 0 || !strings.HasSuffix(r.stdout, fmt.Sprintf(" %s: n=%03d\n", bob.JID, len(msgs))) {
		t.Errorf("history after the crash:\n%s", r)
	}
}
