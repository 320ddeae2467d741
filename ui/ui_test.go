package ui

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"xchat/session"
	"xchat/store"
)

// oneAccount is a model with one account that has alice and bob in its
// roster.
func oneAccount(t testing.TB) (*harness, *fakeAccount, *fakeStore) {
	t.Helper()
	st := newFakeStore()
	st.contacts[me] = []store.Contact{
		{Account: me, JID: alice, Name: "Alice", Subscription: "both"},
		{Account: me, JID: bob, Name: "Bob", Subscription: "both"},
	}
	acc := newFakeAccount(me)
	h := newHarness(t, st, acc)
	h.send(session.StateEvent{Account: me, State: session.Online})
	return h, acc, st
}

func lastCall(calls []call, method string) (call, bool) {
	for i := len(calls) - 1; i >= 0; i-- {
		if calls[i].method == method {
			return calls[i], true
		}
	}
	return call{}, false
}

func countCalls(calls []call, method string) int {
	n := 0
	for _, c := range calls {
		if c.method == method {
			n++
		}
	}
	return n
}

func TestInitLoadsRosterFromStore(t *testing.T) {
	h, _, st := oneAccount(t)
	calls := st.Calls()
	if countCalls(calls, "Contacts") != 1 || countCalls(calls, "Conversations") != 1 {
		t.Fatalf("store calls = %v, want Contacts and Conversations once", calls)
	}
	screen := h.screen()
	for _, want := range []string{"Alice", "Bob", "me@example.org"} {
		if !strings.Contains(screen, want) {
			t.Errorf("screen lacks %q:\n%s", want, screen)
		}
	}
}

func TestSendMessage(t *testing.T) {
	h, acc, _ := oneAccount(t)
	h.typeText("/msg " + alice)
	h.press("enter")
	if !h.m.chat.IsOpen(0, alice) {
		t.Fatal("/msg did not open the conversation")
	}
	h.typeText("hello there")
	// Update itself must not call the account: the send is a Cmd.
	cmd := h.update(keyMsg("enter"))
	if n := countCalls(acc.Calls(), "SendMessage"); n != 0 {
		t.Fatalf("Update called SendMessage %d times itself", n)
	}
	if got := h.items(); !slices.Equal(got, []string{"hello there:pending"}) {
		t.Fatalf("local echo: items = %v", got)
	}
	if h.m.input.Value() != "" {
		t.Errorf("input not cleared: %q", h.m.input.Value())
	}
	h.run(cmd)
	c, ok := lastCall(acc.Calls(), "SendMessage")
	if !ok || !slices.Equal(c.args, []string{alice, "hello there"}) {
		t.Fatalf("SendMessage call = %v", c)
	}
	it := h.m.chat.items[0]
	if it.msg.ID <= 0 {
		t.Errorf("local echo not replaced by the stored row: id %d", it.msg.ID)
	}
	if !strings.Contains(h.screen(), "hello there …") {
		t.Errorf("pending mark missing:\n%s", h.screen())
	}
	h.send(session.MessageStateEvent{Account: me, Peer: alice, ID: it.msg.ID, State: store.StateSent})
	if !strings.Contains(h.screen(), "hello there ✓") {
		t.Errorf("sent mark missing:\n%s", h.screen())
	}
	h.send(session.MessageStateEvent{Account: me, Peer: alice, ID: it.msg.ID, State: store.StateDelivered})
	if !strings.Contains(h.screen(), "hello there ✓✓") {
		t.Errorf("delivered mark missing:\n%s", h.screen())
	}
	// A MessageEvent for the same row does not duplicate it.
	h.send(session.MessageEvent{Account: me, Message: h.m.chat.items[0].msg})
	if len(h.m.chat.items) != 1 {
		t.Errorf("items = %v after a repeated MessageEvent", h.items())
	}
}

func TestMsgWithText(t *testing.T) {
	h, acc, st := oneAccount(t)
	h.typeText("/msg Bob@Example.org/phone see you")
	h.press("enter")
	if !h.m.chat.IsOpen(0, bob) {
		t.Fatalf("open conversation = %q, want the bare, normalized %q", h.m.chat.peer, bob)
	}
	if _, ok := lastCall(st.Calls(), "OpenConversation"); !ok {
		t.Error("OpenConversation was not called")
	}
	c, ok := lastCall(acc.Calls(), "SendMessage")
	if !ok || !slices.Equal(c.args, []string{bob, "see you"}) {
		t.Fatalf("SendMessage call = %v", c)
	}
}

func TestSendsAreSerialized(t *testing.T) {
	h, acc, _ := oneAccount(t)
	h.typeText("/msg " + alice)
	h.press("enter")
	h.typeText("one")
	first := h.update(keyMsg("enter"))
	h.typeText("two")
	if cmd := h.update(keyMsg("enter")); cmd != nil {
		t.Fatal("second message was sent while the first was in flight")
	}
	if got := h.items(); !slices.Equal(got, []string{"one:pending", "two:pending"}) {
		t.Fatalf("items = %v", got)
	}
	h.run(first) // the answer to "one" releases "two"
	var bodies []string
	for _, c := range acc.Calls() {
		if c.method == "SendMessage" {
			bodies = append(bodies, c.args[1])
		}
	}
	if !slices.Equal(bodies, []string{"one", "two"}) {
		t.Fatalf("sent %v, want one then two", bodies)
	}
	for _, it := range h.m.chat.items {
		if it.msg.ID <= 0 {
			t.Errorf("%q still a local echo", it.body)
		}
	}
}

func TestStateBeforeSendAnswer(t *testing.T) {
	h, acc, _ := oneAccount(t)
	h.typeText("/msg " + alice)
	h.press("enter")
	h.typeText("quick")
	cmd := h.update(keyMsg("enter"))
	// The session reports "sent" before SendMessage's answer arrives.
	h.send(session.MessageStateEvent{Account: me, Peer: alice, ID: acc.nextID + 1, State: store.StateSent})
	h.run(cmd)
	if got := h.items(); !slices.Equal(got, []string{"quick:sent"}) {
		t.Fatalf("items = %v, want the early state applied", got)
	}
}

func TestSendFailure(t *testing.T) {
	h, acc, _ := oneAccount(t)
	acc.sendErr = errors.New("not connected\x1b[2J")
	h.typeText("/msg " + alice)
	h.press("enter")
	h.typeText("lost")
	h.press("enter")
	if got := h.items(); !slices.Equal(got, []string{"lost:failed"}) {
		t.Fatalf("items = %v", got)
	}
	text, isErr := h.m.status.Text()
	if !isErr || !strings.Contains(text, "not connected") || strings.Contains(text, "\x1b") {
		t.Errorf("status = %q (error %v), want the sanitized error", text, isErr)
	}
	if !strings.Contains(h.screen(), "lost ✗ not connected") {
		t.Errorf("failed mark missing:\n%s", h.screen())
	}
}

func TestSendWithoutConversation(t *testing.T) {
	h, acc, _ := oneAccount(t)
	h.typeText("hello")
	h.press("enter")
	if n := countCalls(acc.Calls(), "SendMessage"); n != 0 {
		t.Errorf("SendMessage called %d times with no conversation open", n)
	}
	if text, isErr := h.m.status.Text(); !isErr || !strings.Contains(text, "no conversation") {
		t.Errorf("status = %q", text)
	}
}

func TestSlashEscapes(t *testing.T) {
	h, acc, _ := oneAccount(t)
	h.typeText("/msg " + alice)
	h.press("enter")
	h.typeText("//etc/hosts")
	h.press("enter")
	h.typeText("/me waves")
	h.press("enter")
	var bodies []string
	for _, c := range acc.Calls() {
		bodies = append(bodies, c.args[1])
	}
	if !slices.Equal(bodies, []string{"/etc/hosts", "/me waves"}) {
		t.Errorf("sent %q", bodies)
	}
	if !strings.Contains(h.screen(), "* me waves") {
		t.Errorf("/me not drawn as an action:\n%s", h.screen())
	}
}

func TestCommands(t *testing.T) {
	tests := []struct {
		line   string
		want   call
		status string
	}{
		{"/add carol@example.org Carol C", call{"AddContact", []string{carol, "Carol C"}}, "added carol@example.org"},
		{"/add carol@example.org", call{"AddContact", []string{carol, ""}}, "added"},
		{"/remove bob@example.org", call{"RemoveContact", []string{bob}}, "removed bob@example.org"},
		{"/approve eve@example.net", call{"Approve", []string{"eve@example.net"}}, "may now see"},
		{"/deny eve@example.net", call{"Deny", []string{"eve@example.net"}}, "refused"},
		{"/status away gone fishing", call{"SetPresence", []string{"away", "gone fishing"}}, "you are away"},
		{"/status dnd", call{"SetPresence", []string{"dnd", ""}}, "do not disturb"},
		{"/STATUS online", call{"SetPresence", []string{"", ""}}, "you are online"},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			h, acc, _ := oneAccount(t)
			h.typeText(tt.line)
			h.press("enter")
			calls := acc.Calls()
			if len(calls) != 1 || calls[0].String() != tt.want.String() {
				t.Fatalf("calls = %v, want %v", calls, tt.want)
			}
			if text, isErr := h.m.status.Text(); isErr || !strings.Contains(text, tt.status) {
				t.Errorf("status = %q (error %v), want %q", text, isErr, tt.status)
			}
		})
	}
}

func TestCommandErrors(t *testing.T) {
	tests := []struct{ line, status string }{
		{"/frobnicate", "unknown command /frobnicate"},
		{"/msg", "usage: /msg"},
		{"/add", "usage: /add"},
		{"/remove @@", "not a valid JID"},
		{"/status sleepy", "usage: /status"},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			h, acc, _ := oneAccount(t)
			h.typeText(tt.line)
			h.press("enter")
			if calls := acc.Calls(); len(calls) != 0 {
				t.Errorf("calls = %v, want none", calls)
			}
			if text, isErr := h.m.status.Text(); !isErr || !strings.Contains(text, tt.status) {
				t.Errorf("status = %q (error %v), want %q", text, isErr, tt.status)
			}
		})
	}
}

func TestOperationError(t *testing.T) {
	h, acc, _ := oneAccount(t)
	acc.opErr = errors.New("item-not-found\x1b]0;x\x07")
	h.typeText("/remove " + bob)
	h.press("enter")
	text, isErr := h.m.status.Text()
	if !isErr || text != "could not remove bob@example.org: item-not-found" {
		t.Errorf("status = %q (error %v)", text, isErr)
	}
}

func TestStatusAppliesToEveryAccount(t *testing.T) {
	a, b := newFakeAccount(me), newFakeAccount(work)
	h := newHarness(t, newFakeStore(), a, b)
	h.typeText("/status xa")
	h.press("enter")
	for _, acc := range []*fakeAccount{a, b} {
		if c, ok := lastCall(acc.Calls(), "SetPresence"); !ok || c.args[0] != "xa" {
			t.Errorf("%s: SetPresence = %v", acc.jid, c)
		}
	}
}

func TestQuit(t *testing.T) {
	for _, how := range []string{"ctrl+c", "/quit"} {
		t.Run(how, func(t *testing.T) {
			h, _, _ := oneAccount(t)
			if how == "ctrl+c" {
				h.press("ctrl+c")
			} else {
				h.typeText(how)
				h.press("enter")
			}
			if !h.quit {
				t.Error("the program was not told to quit")
			}
			if h.m.ctx.Err() == nil {
				t.Error("pending work was not cancelled")
			}
		})
	}
}

func TestFocusAndRoster(t *testing.T) {
	h, _, st := oneAccount(t)
	if h.m.focus != focusInput {
		t.Fatal("input should have focus at start")
	}
	h.press("tab")
	if h.m.focus != focusRoster {
		t.Fatal("tab did not focus the roster")
	}
	row, _ := h.m.roster.Selected()
	if row.kind != rowContact || row.jid != alice {
		t.Fatalf("first selection = %+v, want alice (headers are skipped)", row)
	}
	h.press("down")
	if row, _ = h.m.roster.Selected(); row.jid != bob {
		t.Fatalf("down selected %q", row.jid)
	}
	h.press("down") // already at the end
	if row, _ = h.m.roster.Selected(); row.jid != bob {
		t.Fatalf("down at the end selected %q", row.jid)
	}
	h.press("k")
	if row, _ = h.m.roster.Selected(); row.jid != alice {
		t.Fatalf("k selected %q", row.jid)
	}
	h.press("up") // the account header is not selectable
	if row, _ = h.m.roster.Selected(); row.jid != alice {
		t.Fatalf("up onto the header selected %+v", row)
	}
	h.press("down", "enter")
	if !h.m.chat.IsOpen(0, bob) {
		t.Fatal("enter did not open bob")
	}
	if h.m.focus != focusInput {
		t.Error("opening a conversation should focus the input")
	}
	calls := st.Calls()
	if c, ok := lastCall(calls, "Latest"); !ok || c.args[1] != bob || c.args[2] != fmt.Sprint(pageSize) {
		t.Errorf("Latest call = %v", c)
	}
	if c, ok := lastCall(calls, "MarkRead"); !ok || c.args[1] != bob {
		t.Errorf("MarkRead call = %v", c)
	}
	h.press("shift+tab")
	if h.m.focus != focusRoster {
		t.Error("shift+tab did not move focus")
	}
	// Typing in the roster goes to the input.
	h.typeText("x")
	if h.m.focus != focusInput || h.m.input.Value() != "x" {
		t.Errorf("focus %v, input %q", h.m.focus, h.m.input.Value())
	}
}

func TestIncomingMessages(t *testing.T) {
	h, _, st := oneAccount(t)
	h.typeText("/msg " + alice)
	h.press("enter")
	in := st.add(store.Message{Account: me, Peer: bob, Body: "psst", Timestamp: testNow, Sender: bob})
	h.send(session.MessageEvent{Account: me, Message: in})
	if h.m.accts[0].unread[bob] != 1 {
		t.Fatalf("unread of bob = %d", h.m.accts[0].unread[bob])
	}
	if len(h.m.chat.items) != 0 {
		t.Fatal("a message for bob went into alice's pane")
	}
	if !regexpLine(h.screen(), "Bob", "1") {
		t.Errorf("roster does not show bob's unread count:\n%s", h.screen())
	}
	if h.m.windowTitle() != "xchat (1)" {
		t.Errorf("window title = %q", h.m.windowTitle())
	}

	before := countCalls(st.Calls(), "MarkRead")
	in = st.add(store.Message{Account: me, Peer: alice, Body: "hi!", Timestamp: testNow, Sender: alice})
	h.send(session.MessageEvent{Account: me, Message: in})
	if got := h.items(); !slices.Equal(got, []string{"hi!:received"}) {
		t.Fatalf("open pane items = %v", got)
	}
	if countCalls(st.Calls(), "MarkRead") != before+1 {
		t.Error("a message shown in the open pane was not marked read")
	}

	h.typeText("/msg " + bob)
	h.press("enter")
	if h.m.accts[0].unread[bob] != 0 {
		t.Error("opening bob did not clear his unread count")
	}
	if got := h.items(); !slices.Equal(got, []string{"psst:received"}) {
		t.Errorf("bob's pane = %v", got)
	}
}

// regexpLine reports whether a line of screen contains all words in order.
func regexpLine(screen string, words ...string) bool {
	for _, l := range strings.Split(screen, "\n") {
		rest, ok := l, true
		for _, w := range words {
			i := strings.Index(rest, w)
			if i < 0 {
				ok = false
				break
			}
			rest = rest[i+len(w):]
		}
		if ok {
			return true
		}
	}
	return false
}

func TestStrangerAppearsInRoster(t *testing.T) {
	h, _, st := oneAccount(t)
	h.send(tea.WindowSizeMsg{Width: 120, Height: 40})
	in := st.add(store.Message{Account: me, Peer: "spam@bad.example", Body: "buy", Timestamp: testNow, Sender: "spam@bad.example"})
	h.send(session.MessageEvent{Account: me, Message: in})
	if !regexpLine(h.screen(), "spam@bad.example", "1") {
		t.Errorf("a message from outside the roster is not listed:\n%s", h.screen())
	}
}

func TestConnectionStates(t *testing.T) {
	h, _, _ := oneAccount(t)
	h.send(session.StateEvent{Account: me, State: session.Offline,
		Err: errors.New("login refused by the server (not-authorized): check the JID and password")})
	text, isErr := h.m.status.Text()
	if !isErr || !strings.Contains(text, "not-authorized") {
		t.Fatalf("status = %q", text)
	}
	screen := h.screen()
	if !strings.Contains(screen, "login refused") || !regexpLine(screen, "me@example.o", "error") {
		t.Errorf("wrong password not shown clearly:\n%s", screen)
	}
	retry := time.Date(2024, 5, 6, 12, 0, 30, 0, time.UTC)
	h.send(session.StateEvent{Account: me, State: session.Reconnecting, Err: errors.New("connection lost"), Retry: retry})
	if !strings.Contains(h.screen(), "reconnecting (next try 12:00:30)") {
		t.Errorf("retry time missing:\n%s", h.screen())
	}
	h.send(session.StateEvent{Account: me, State: session.Online})
	if text, isErr := h.m.status.Text(); isErr {
		t.Errorf("error %q still shown after reconnecting", text)
	}
}

func TestPresence(t *testing.T) {
	h, _, _ := oneAccount(t)
	glyph := func() string {
		for _, l := range strings.Split(h.screen(), "\n") {
			if i := strings.Index(l, " Alice"); i > 0 {
				r := []rune(l[:i])
				return string(r[len(r)-1])
			}
		}
		return ""
	}
	if g := glyph(); g != "○" {
		t.Fatalf("glyph before presence = %q", g)
	}
	h.send(session.PresenceEvent{Account: me, JID: alice, Resource: "a", Show: session.ShowAway, Priority: 1})
	if g := glyph(); g != "◐" {
		t.Fatalf("away glyph = %q", g)
	}
	h.send(session.PresenceEvent{Account: me, JID: alice, Resource: "b", Show: session.ShowDND, Priority: 5})
	if g := glyph(); g != "⊘" {
		t.Fatalf("higher-priority dnd glyph = %q", g)
	}
	h.send(session.PresenceEvent{Account: me, JID: alice, Resource: "b", Show: session.ShowUnavailable})
	h.send(session.PresenceEvent{Account: me, JID: alice, Resource: "a", Show: session.ShowOnline})
	if g := glyph(); g != "●" {
		t.Fatalf("online glyph = %q", g)
	}
	h.send(session.PresenceEvent{Account: me, JID: alice, Resource: "a", Show: session.ShowUnavailable})
	if g := glyph(); g != "○" {
		t.Fatalf("offline glyph = %q", g)
	}
}

func TestSubscriptionRequest(t *testing.T) {
	h, acc, _ := oneAccount(t)
	h.send(session.SubscriptionRequestEvent{Account: me, From: "eve@example.net"})
	h.send(session.SubscriptionRequestEvent{Account: me, From: "eve@example.net"})
	if !regexpLine(h.screen(), "?", "eve@example.net") {
		t.Fatalf("request not listed:\n%s", h.screen())
	}
	if n := strings.Count(h.screen(), "eve@example.net"); n != 2 { // roster row + status notice
		t.Errorf("eve appears %d times, want once in the roster and once in the status", n)
	}
	h.press("tab", "end") // requests come last
	h.press("enter")
	if h.m.focus != focusInput || h.m.input.Value() != "/approve eve@example.net" {
		t.Fatalf("enter on a request: focus %v, input %q", h.m.focus, h.m.input.Value())
	}
	h.press("enter")
	if c, ok := lastCall(acc.Calls(), "Approve"); !ok || c.args[0] != "eve@example.net" {
		t.Fatalf("Approve call = %v", c)
	}
	if len(h.m.accts[0].requests) != 0 || regexpLine(h.screen(), "?", "eve@example.net") {
		t.Errorf("request still listed after approval:\n%s", h.screen())
	}
}

func TestNotices(t *testing.T) {
	h, _, _ := oneAccount(t)
	h.send(session.NoticeEvent{Account: me, Text: "roster\x1b[31m updated"})
	if text, isErr := h.m.status.Text(); isErr || text != "roster updated" {
		t.Errorf("notice = %q (error %v)", text, isErr)
	}
	h.send(session.NoticeEvent{Account: me, Text: "upload failed", Err: errors.New("quota\x07")})
	if text, isErr := h.m.status.Text(); !isErr || text != "upload failed: quota␇" {
		t.Errorf("error notice = %q (error %v)", text, isErr)
	}
}

func TestOpenOption(t *testing.T) {
	st := newFakeStore()
	st.contacts[work] = []store.Contact{{Account: work, JID: bob, Name: "Bob"}}
	a, b := newFakeAccount(me), newFakeAccount(work)
	h := newHarnessOpts(t, Options{
		Accounts: []Account{a, b}, Store: st, Open: "BOB@example.org",
		Now: func() time.Time { return testNow }, Location: time.UTC,
	}, st, []*fakeAccount{a, b})
	if !h.m.chat.IsOpen(1, bob) {
		t.Fatalf("open = %v acct %d peer %q, want bob on the account that knows him", h.m.chat.open, h.m.chat.acct, h.m.chat.peer)
	}
}

func TestHelpListsTheBindingTable(t *testing.T) {
	h, _, _ := oneAccount(t)
	h.send(tea.WindowSizeMsg{Width: 120, Height: 200})
	h.typeText("/help")
	h.press("enter")
	if !h.m.help.open {
		t.Fatal("/help did not open the help")
	}
	screen := h.screen()
	for _, a := range h.m.keys {
		if !strings.Contains(screen, a.key.Help().Key) || !strings.Contains(screen, a.key.Help().Desc) {
			t.Errorf("help lacks key %q", a.key.Help().Key)
		}
	}
	for _, c := range h.m.commands {
		if !strings.Contains(screen, usage(c)) {
			t.Errorf("help lacks /%s", c.name)
		}
	}
	h.press("esc")
	if h.m.help.open {
		t.Error("esc did not close the help")
	}
	h.press("f1")
	if !h.m.help.open {
		t.Error("f1 did not open the help")
	}
}

func TestNetworkTextIsSanitized(t *testing.T) {
	const evil = "\x1b]0;pwned\x07\x1b[2J"
	st := newFakeStore()
	st.contacts[me] = []store.Contact{{Account: me, JID: alice, Name: "Al" + evil + "ice"}}
	acc := newFakeAccount(me)
	h := newHarness(t, st, acc)
	h.m.setStyles(styles{}) // no styling at all: any ESC in the frame came from the network
	h.send(session.StateEvent{Account: me, State: session.Online})
	h.send(session.PresenceEvent{Account: me, JID: alice, Resource: "r", Status: "away" + evil})
	h.send(session.SubscriptionRequestEvent{Account: me, From: "eve" + evil + "@example.net"})
	h.typeText("/msg " + alice)
	h.press("enter")
	in := st.add(store.Message{Account: me, Peer: alice, Body: evil, Timestamp: testNow, Sender: alice})
	h.send(session.MessageEvent{Account: me, Message: in})
	in = st.add(store.Message{Account: me, Peer: alice, Body: "bidi \u202Egnp.exe" + evil, Timestamp: testNow, Sender: alice, Error: "bad" + evil})
	h.send(session.MessageEvent{Account: me, Message: in})
	h.send(session.NoticeEvent{Account: me, Text: "server says" + evil})
	for _, size := range [][2]int{{80, 24}, {120, 40}} {
		h.send(tea.WindowSizeMsg{Width: size[0], Height: size[1]})
		frame := h.m.render()
		frame = frame[:strings.LastIndexByte(frame, '\n')] // the input is ours, styled at New
		if strings.ContainsAny(frame, "\x1b\x07\u202E") {
			t.Errorf("frame at %v holds control characters from the network: %q", size, frame)
		}
		if strings.Contains(frame, "pwned") {
			t.Errorf("frame at %v shows the payload of an escape sequence", size)
		}
	}
	// With the real styles the only escapes are our own SGR sequences.
	h.m.setStyles(newStyles(false, true, defaultPalette(true)))
	frame := h.m.render()
	if strings.Contains(frame, "\x1b]") || strings.Contains(frame, "\x1b[2J") || strings.Contains(frame, "\x07") {
		t.Errorf("styled frame holds the body's sequences: %q", frame)
	}
	if strings.Contains(ansi.Strip(frame), "pwned") {
		t.Error("styled frame shows the payload")
	}
}

func TestResizeReflows(t *testing.T) {
	h, _, st := oneAccount(t)
	long := strings.Repeat("word ", 60)
	st.add(store.Message{Account: me, Peer: alice, Body: long, Timestamp: testNow, Sender: alice})
	h.typeText("/msg " + alice)
	h.press("enter")
	rows := func() int {
		h.m.render()
		it := &h.m.chat.items[0]
		if it.width != h.m.chat.width {
			t.Fatalf("lines wrapped for %d, pane is %d", it.width, h.m.chat.width)
		}
		for _, l := range it.lines {
			if n := lenCells(l); n != h.m.chat.width {
				t.Fatalf("line %q is %d wide, pane %d", l, n, h.m.chat.width)
			}
		}
		return len(it.lines)
	}
	narrow := rows()
	h.send(tea.WindowSizeMsg{Width: 160, Height: 40})
	wide := rows()
	if wide >= narrow {
		t.Errorf("wider terminal: %d rows, narrower: %d", wide, narrow)
	}
	h.send(tea.WindowSizeMsg{Width: 30, Height: 10})
	checkFrameTB(t, h.screen(), 30, 10)
	h.send(tea.WindowSizeMsg{Width: 2, Height: 2})
	_ = h.screen() // must not panic
}

func checkFrameTB(t *testing.T, frame string, w, h int) {
	t.Helper()
	lines := strings.Split(frame, "\n")
	if len(lines) != h {
		t.Errorf("frame has %d lines, want %d", len(lines), h)
	}
	for i, l := range lines {
		if n := lenCells(l); n != w {
			t.Errorf("line %d is %d wide, want %d: %q", i, n, w, l)
		}
	}
}

func TestInputGrowsAndShrinks(t *testing.T) {
	h, _, _ := oneAccount(t)
	h.typeText("/msg " + alice)
	h.press("enter")
	h.typeText("line one")
	h.press("shift+enter")
	h.typeText("line two")
	if h.m.input.Height() != 2 {
		t.Fatalf("input height = %d, want 2", h.m.input.Height())
	}
	checkFrameTB(t, h.screen(), 80, 24)
	h.press("enter")
	if h.m.input.Height() != 1 {
		t.Errorf("input height after sending = %d", h.m.input.Height())
	}
	if got := h.items(); !slices.Equal(got, []string{"line one\nline two:pending"}) {
		t.Errorf("items = %q", got)
	}
	checkFrameTB(t, h.screen(), 80, 24)
}

func TestCursor(t *testing.T) {
	h, _, _ := oneAccount(t)
	h.typeText("abc")
	v := h.m.View()
	if !v.AltScreen {
		t.Error("alt screen not requested")
	}
	if v.Cursor == nil || v.Cursor.X != 5 || v.Cursor.Y != 23 {
		t.Errorf("cursor = %+v, want after \"> abc\" on the last row", v.Cursor)
	}
	h.press("ctrl+u", "tab")
	if v := h.m.View(); v.Cursor != nil {
		t.Error("cursor shown while the roster has focus")
	}
}

func TestPaging(t *testing.T) {
	h, _, st := oneAccount(t)
	const total = 1500
	for i := range total {
		st.add(store.Message{Account: me, Peer: alice, Body: fmt.Sprintf("m%d", i),
			Timestamp: testNow.Add(time.Duration(i-total) * time.Minute), Sender: alice})
	}
	h.typeText("/msg " + alice)
	h.press("enter")
	p := &h.m.chat
	if len(p.items) != pageSize || !p.hasOlder {
		t.Fatalf("first load: %d items, hasOlder %v", len(p.items), p.hasOlder)
	}
	if p.items[len(p.items)-1].body != fmt.Sprint("m", total-1) {
		t.Fatalf("newest = %q", p.items[len(p.items)-1].body)
	}
	// Page up to the very beginning.
	for range 2000 {
		h.press("pgup")
		if len(p.items) > maxLoaded {
			t.Fatalf("%d messages in memory, bound is %d", len(p.items), maxLoaded)
		}
		if !p.hasOlder && p.scroll == max(0, p.totalRows()-p.height) {
			break
		}
	}
	if p.items[0].body != "m0" || !p.detached {
		t.Fatalf("top: first %q, detached %v", p.items[0].body, p.detached)
	}
	if !strings.Contains(h.screen(), "beginning of the conversation") || !strings.Contains(h.screen(), "m0") {
		t.Errorf("top of history not shown:\n%s", h.screen())
	}
	if !strings.Contains(h.screen(), "newer messages below") {
		t.Errorf("detached pane does not say so:\n%s", h.screen())
	}
	// A live message while detached is counted, not shown.
	in := st.add(store.Message{Account: me, Peer: alice, Body: "live", Timestamp: testNow, Sender: alice})
	h.send(session.MessageEvent{Account: me, Message: in})
	if p.newBelow != 1 || !strings.Contains(h.screen(), "1 new below") {
		t.Errorf("newBelow = %d", p.newBelow)
	}
	// Page down to the end: the newest page is reloaded.
	for range 2000 {
		h.press("pgdown")
		if !p.detached {
			break
		}
	}
	if p.detached || p.scroll != 0 {
		t.Fatalf("detached %v scroll %d after paging down", p.detached, p.scroll)
	}
	if got := p.items[len(p.items)-1].body; got != "live" {
		t.Errorf("newest after reload = %q", got)
	}
	if len(p.items) != pageSize {
		t.Errorf("%d items after reload", len(p.items))
	}
}

func TestScrollKeepsViewOnNewMessage(t *testing.T) {
	h, _, st := oneAccount(t)
	for i := range 100 {
		st.add(store.Message{Account: me, Peer: alice, Body: fmt.Sprintf("m%d", i), Timestamp: testNow, Sender: alice})
	}
	h.typeText("/msg " + alice)
	h.press("enter")
	h.press("pgup")
	before := h.screen()
	in := st.add(store.Message{Account: me, Peer: alice, Body: "new one", Timestamp: testNow, Sender: alice})
	h.send(session.MessageEvent{Account: me, Message: in})
	if after := h.screen(); after != before {
		t.Errorf("view moved while scrolled back:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

func TestUpdateNeverBlocks(t *testing.T) {
	h, acc, _ := oneAccount(t)
	acc.block = make(chan struct{}) // SendMessage hangs until closed
	defer close(acc.block)
	h.typeText("/msg " + alice)
	h.press("enter")
	h.typeText("stuck")
	done := make(chan tea.Cmd)
	go func() { done <- h.update(keyMsg("enter")) }()
	select {
	case cmd := <-done:
		if cmd == nil {
			t.Fatal("no command to send the message")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Update blocked on the account")
	}
}

func TestRosterEventWinsOverStore(t *testing.T) {
	st := newFakeStore()
	st.contacts[me] = []store.Contact{{Account: me, JID: "stale@example.org"}}
	acc := newFakeAccount(me)
	m := New(Options{Accounts: []Account{acc}, Store: st, Now: func() time.Time { return testNow }, Location: time.UTC})
	h := &harness{t: t, m: m, store: st, accts: []*fakeAccount{acc}}
	h.send(tea.WindowSizeMsg{Width: 80, Height: 24})
	load := m.Init() // the store answers after the session's roster
	h.send(session.RosterEvent{Account: me, Contacts: []store.Contact{{Account: me, JID: bob, Name: "Bob"}}})
	h.run(load)
	screen := h.screen()
	if strings.Contains(screen, "stale") || !strings.Contains(screen, "Bob") {
		t.Errorf("roster from the store replaced the live one:\n%s", screen)
	}
}

func TestSendUsesConversationAccount(t *testing.T) {
	st := newFakeStore()
	st.contacts[me] = []store.Contact{{Account: me, JID: alice, Name: "Alice"}}
	st.contacts[work] = []store.Contact{{Account: work, JID: bob, Name: "Bob"}}
	a, b := newFakeAccount(me), newFakeAccount(work)
	h := newHarness(t, st, a, b)
	h.press("tab", "down", "enter") // alice on me, then bob on work
	if !h.m.chat.IsOpen(1, bob) {
		t.Fatalf("open: acct %d peer %q", h.m.chat.acct, h.m.chat.peer)
	}
	h.typeText("hi bob")
	h.press("enter")
	if n := len(a.Calls()); n != 0 {
		t.Errorf("the other account was called: %v", a.Calls())
	}
	if c, ok := lastCall(b.Calls(), "SendMessage"); !ok || c.args[0] != bob {
		t.Errorf("SendMessage on the conversation's account = %v", c)
	}
	if !strings.Contains(h.screen(), "via me@work.example") {
		t.Errorf("title does not name the account:\n%s", h.screen())
	}
}

var sgr = regexp.MustCompile(`\x1b\[([0-9;:]*)m`)

func TestNoColor(t *testing.T) {
	colours := func(frame string) bool {
		for _, m := range sgr.FindAllStringSubmatch(frame, -1) {
			for _, p := range strings.FieldsFunc(m[1], func(r rune) bool { return r == ';' || r == ':' }) {
				n, _ := strconv.Atoi(p)
				if (n >= 30 && n <= 49) || (n >= 90 && n <= 107) {
					return true
				}
			}
		}
		return false
	}
	t.Setenv("NO_COLOR", "yes") // any non-empty value counts
	h := scene(t)
	frame := h.m.render()
	if colours(frame) {
		t.Errorf("NO_COLOR frame has colours: %q", frame)
	}
	if !strings.Contains(frame, "\x1b[7m") && !strings.Contains(frame, ";7m") {
		t.Error("NO_COLOR frame lost its reverse-video bars")
	}
	t.Setenv("NO_COLOR", "")
	if h := scene(t); !colours(h.m.render()) {
		t.Error("colour frame has no colours: the check above proves nothing")
	}
}

func TestLongRosterScrolls(t *testing.T) {
	st := newFakeStore()
	for i := range 100 {
		st.contacts[me] = append(st.contacts[me], store.Contact{Account: me, JID: fmt.Sprintf("c%03d@example.org", i)})
	}
	h := newHarness(t, st, newFakeAccount(me))
	h.press("tab", "end")
	if row, _ := h.m.roster.Selected(); row.jid != "c099@example.org" || !strings.Contains(h.screen(), "c099@") {
		t.Fatalf("end: selected %q\n%s", row.jid, h.screen())
	}
	if strings.Contains(h.screen(), "c000@") {
		t.Error("the top of the roster is still drawn with the last entry selected")
	}
	h.press("g")
	if !strings.Contains(h.screen(), "c000@") || !strings.Contains(h.screen(), "me@example") {
		t.Errorf("home: top of the roster (with its header) not drawn:\n%s", h.screen())
	}
}
