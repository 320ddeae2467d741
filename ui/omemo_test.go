package ui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"xchat/omemo"
	"xchat/session"
	"xchat/store"
)

const (
	ownFP   = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	bobFP1  = "aaaaaaaa11111111bbbbbbbb22222222cccccccc33333333dddddddd44444444"
	bobFP2  = "eeeeeeee55555555ffffffff666666660000000077777777abcdefab88888888"
	ownURI  = "xmpp:me@example.org?omemo-sid-4242=" + ownFP
	ownID   = 4242
	bobURI1 = "xmpp:bob@example.org?omemo-sid-1001=" + bobFP1
)

// omemoFake adds the OMEMO side to a fake account, answering like a
// session.Client: trust decisions change the devices it lists and the
// state Encryption reports.
type omemoFake struct {
	*fakeAccount
	state   encryptionState
	devices map[string][]omemo.DeviceInfo
	err     error
}

func newOMEMOFake() *omemoFake {
	seen := testNow.Add(-time.Hour)
	return &omemoFake{
		fakeAccount: newFakeAccount(me),
		state:       encryptionState{Available: true, Enabled: true, Devices: 2, Untrusted: 1},
		devices: map[string][]omemo.DeviceInfo{
			bob: {
				{Address: omemo.Address{JID: bob, Device: 1001}, Fingerprint: bobFP1, Trust: omemo.Trusted, Active: true, LastSeen: seen, EncryptedTo: true},
				{Address: omemo.Address{JID: bob, Device: 1002}, Fingerprint: bobFP2, Trust: omemo.Undecided, Active: true},
			},
			me: {
				{Address: omemo.Address{JID: me, Device: ownID}, Fingerprint: ownFP, Trust: omemo.Verified, Active: true},
				{Address: omemo.Address{JID: me, Device: 77}, Fingerprint: bobFP2, Trust: omemo.Trusted, Active: false, LastSeen: seen.Add(-48 * time.Hour)},
			},
		},
	}
}

func (f *omemoFake) Encryption(_ context.Context, peer string) (encryptionState, error) {
	f.record("Encryption", peer)
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.state, f.err
}

func (f *omemoFake) SetEncryption(_ context.Context, peer, setting string) error {
	f.record("SetEncryption", peer, setting)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return f.err
	}
	f.state.Setting = setting
	f.state.Enabled = setting != "plain" && f.state.Available
	return nil
}

func (f *omemoFake) OMEMOOwn(context.Context) (uint32, string, string, error) {
	f.record("OMEMOOwn")
	return ownID, omemo.FormatFingerprint(ownFP), ownURI, f.err
}

func (f *omemoFake) OMEMODevices(_ context.Context, jid string) ([]omemo.DeviceInfo, error) {
	f.record("OMEMODevices", jid)
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]omemo.DeviceInfo(nil), f.devices[jid]...), f.err
}

func (f *omemoFake) OMEMOSetTrust(_ context.Context, jid, fp string, state omemo.TrustState) error {
	f.record("OMEMOSetTrust", jid, fp, state.String())
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return f.err
	}
	for i, d := range f.devices[jid] {
		if d.Fingerprint == strings.ReplaceAll(fp, " ", "") {
			if d.Trust == omemo.Undecided {
				f.state.Untrusted--
				if state == omemo.Trusted {
					f.state.Devices++
				}
			}
			f.devices[jid][i].Trust = state
			return nil
		}
	}
	return errors.New("no such fingerprint")
}

func (f *omemoFake) OMEMOVerifyURI(_ context.Context, uri string) (int, error) {
	f.record("OMEMOVerifyURI", uri)
	return strings.Count(uri, "omemo-sid-"), f.err
}

func (f *omemoFake) OMEMORemoveDevices(_ context.Context, ids []uint32) error {
	var s []string
	for _, id := range ids {
		s = append(s, fmt.Sprint(id))
	}
	f.record("OMEMORemoveDevices", s...)
	return f.err
}

// omemoHarness is a model whose account has OMEMO, with bob's conversation
// open.
func omemoHarness(t *testing.T) (*harness, *omemoFake, *fakeStore) {
	t.Helper()
	st := newFakeStore()
	st.contacts[me] = []store.Contact{
		{Account: me, JID: alice, Name: "Alice", Subscription: "both"},
		{Account: me, JID: bob, Name: "Bob", Subscription: "both"},
	}
	f := newOMEMOFake()
	opts := Options{Store: st, Now: func() time.Time { return testNow }, Location: time.UTC, Accounts: []Account{f}}
	h := newHarnessOpts(t, opts, st, []*fakeAccount{f.fakeAccount})
	h.send(session.StateEvent{Account: me, State: session.Online})
	h.command("/msg " + bob)
	return h, f, st
}

// command types a line and presses Enter.
func (h *harness) command(line string) {
	h.t.Helper()
	h.typeText(line)
	h.press("enter")
}

func (h *harness) statusText(t *testing.T) (string, bool) {
	t.Helper()
	return h.m.status.Text()
}

func TestOMEMOHeaderShowsEncryption(t *testing.T) {
	h, f, _ := omemoHarness(t)
	if c, ok := lastCall(f.Calls(), "Encryption"); !ok || c.args[0] != bob {
		t.Fatalf("opening the conversation did not ask Encryption(bob): %v", f.Calls())
	}
	title := strings.Split(h.screen(), "\n")[0]
	if !strings.Contains(title, "· 🔒 2 devices, 1 undecided") || h.m.encryptionLabel() != "🔒 2 devices, 1 undecided — /omemo fingerprint" {
		t.Errorf("title = %q, want the undecided count", title)
	}
	f.mu.Lock()
	f.state = encryptionState{Available: true, Enabled: true, Devices: 3}
	f.mu.Unlock()
	h.send(omemoEvent{Account: me, JID: bob, Device: 1003, Kind: "session-repaired"})
	if title := strings.Split(h.screen(), "\n")[0]; !strings.Contains(title, "🔒 OMEMO → 3 devices") {
		t.Errorf("after an event, title = %q, want 3 devices", title)
	}
	h.command("/omemo off")
	if c, ok := lastCall(f.Calls(), "SetEncryption"); !ok || c.args[0] != bob || c.args[1] != "plain" {
		t.Fatalf("/omemo off: calls %v", f.Calls())
	}
	if title := strings.Split(h.screen(), "\n")[0]; !strings.Contains(title, "plain") || strings.Contains(title, "🔒") {
		t.Errorf("after /omemo off, title = %q", title)
	}
	h.command("/omemo on")
	if c, _ := lastCall(f.Calls(), "SetEncryption"); c.args[1] != "omemo" {
		t.Errorf("/omemo on set %v", c)
	}
	h.command("/omemo default")
	if c, _ := lastCall(f.Calls(), "SetEncryption"); c.args[1] != "" {
		t.Errorf("/omemo default set %v", c)
	}
	if title := strings.Split(h.screen(), "\n")[0]; !strings.Contains(title, "🔒 OMEMO → 3 devices") {
		t.Errorf("after /omemo default, title = %q", title)
	}
}

func TestEncryptionText(t *testing.T) {
	for _, c := range []struct {
		st   encryptionState
		want string
	}{
		{encryptionState{Available: true, Enabled: true, Devices: 1}, "🔒 OMEMO → 1 device"},
		{encryptionState{Available: true, Enabled: true, Devices: 3, Untrusted: 1}, "🔒 3 devices, 1 undecided — /omemo fingerprint"},
		{encryptionState{}, "plain"},
		{encryptionState{Available: true, Setting: "plain"}, "plain (/omemo on encrypts)"},
		{encryptionState{Setting: "omemo", Enabled: true}, "⚠ OMEMO: no device to encrypt to"},
		{encryptionState{Available: true, Enabled: true, Untrusted: 2}, "⚠ OMEMO: no trusted device, 2 undecided — /omemo fingerprint"},
	} {
		if got := encryptionText(c.st); got != c.want {
			t.Errorf("encryptionText(%+v) = %q, want %q", c.st, got, c.want)
		}
	}
}

func TestOMEMOOffAsksBeforePlainSend(t *testing.T) {
	h, f, _ := omemoHarness(t)
	h.command("/omemo off")
	h.command("hello")
	if n := countCalls(f.Calls(), "SendMessage"); n != 0 {
		t.Fatalf("a plain message left without confirmation")
	}
	if text, isErr := h.statusText(t); text != "send unencrypted? y/n" || !isErr {
		t.Fatalf("status = %q", text)
	}
	h.press("n")
	if n := countCalls(f.Calls(), "SendMessage"); n != 0 || h.m.input.Value() != "hello" {
		t.Fatalf("n: sent %d, input %q; want nothing sent and the text back", n, h.m.input.Value())
	}
	h.press("enter")
	h.press("x") // neither y nor n: still asking
	if h.m.omemo.held == nil {
		t.Fatal("another key dropped the question")
	}
	h.press("y")
	if c, ok := lastCall(f.Calls(), "SendMessage"); !ok || c.args[1] != "hello" {
		t.Fatalf("y did not send: %v", f.Calls())
	}
	// Asked once: the next plain message goes at once.
	h.command("again")
	if n := countCalls(f.Calls(), "SendMessage"); n != 2 {
		t.Errorf("second plain message: %d sends, want 2", n)
	}
}

func TestPlainSendAfterEncryptedHistoryAsks(t *testing.T) {
	st := newFakeStore()
	st.add(store.Message{Account: me, Peer: bob, Direction: store.Incoming, Body: "secret", Encryption: "omemo", Timestamp: testNow.Add(-time.Hour)})
	f := newOMEMOFake()
	f.state = encryptionState{} // bob's devices are gone: the next message would go in clear
	h := newHarnessOpts(t, Options{Store: st, Now: func() time.Time { return testNow }, Location: time.UTC, Accounts: []Account{f}}, st, []*fakeAccount{f.fakeAccount})
	h.command("/msg " + bob)
	h.command("hi")
	if countCalls(f.Calls(), "SendMessage") != 0 || h.m.omemo.held == nil {
		t.Fatal("a plain message after encrypted ones left without asking")
	}
	// Without encrypted history nothing is asked.
	h.press("esc")
	h.m.input.Reset()
	h.command("/msg " + alice)
	h.command("hi alice")
	if c, ok := lastCall(f.Calls(), "SendMessage"); !ok || c.args[0] != alice {
		t.Errorf("plain conversation: calls %v", f.Calls())
	}
}

func TestOMEMOFingerprintListing(t *testing.T) {
	h, f, _ := omemoHarness(t)
	h.command("/omemo fingerprint " + bob)
	if c, ok := lastCall(f.Calls(), "OMEMODevices"); !ok || c.args[0] != bob {
		t.Fatalf("calls %v", f.Calls())
	}
	screen := h.screen()
	for _, want := range []string{
		"This device (me@example.org): 4242",
		"01234567 89abcdef 01234567",
		"1001  trusted, last seen 2024-05-06 11:00",
		"1002  undecided, never heard from",
		"our last message was encrypted to it",
		"our last message was not encrypted to it",
		"/omemo trust bob@example.org",
		bobFP2[:54],
	} {
		if !strings.Contains(screen, want) {
			t.Errorf("listing lacks %q:\n%s", want, screen)
		}
	}
	golden(t, "omemo_fingerprint", screen)
	// Without a JID, in a conversation: its contact.
	h.press("esc")
	h.command("/msg " + bob)
	h.command("/omemo fingerprint")
	if c, ok := lastCall(f.Calls(), "OMEMODevices"); !ok || c.args[0] != bob || countCalls(f.Calls(), "OMEMODevices") != 2 {
		t.Fatalf("/omemo fingerprint in bob's conversation: calls %v", f.Calls())
	}

	// Trusting from the listing refreshes it and the header.
	h.command("/omemo trust " + bob + " " + omemo.FormatFingerprint(bobFP2))
	if c, ok := lastCall(f.Calls(), "OMEMOSetTrust"); !ok || c.args[1] != bobFP2 || c.args[2] != "trusted" {
		t.Fatalf("trust: %v", f.Calls())
	}
	screen = h.screen()
	if !strings.Contains(screen, "1002  trusted") || h.m.encryptionLabel() != "🔒 OMEMO → 3 devices" {
		t.Errorf("after trust:\n%s", screen)
	}
	h.command("/omemo untrust " + bob + " " + bobFP1)
	if c, _ := lastCall(f.Calls(), "OMEMOSetTrust"); c.args[2] != "untrusted" {
		t.Errorf("untrust: %v", c)
	}
	h.press("esc")
	if h.m.omemo.pane.open || strings.Contains(h.screen(), "This device") {
		t.Error("Esc did not close the listing")
	}
}

func TestOMEMOCommandErrors(t *testing.T) {
	h, f, _ := omemoHarness(t)
	for _, c := range []struct{ line, want string }{
		{"/omemo", "encryption here: 🔒"},
		{"/omemo bogus", "usage: /omemo fingerprint|trust|"},
		{"/omemo trust", "usage: /omemo trust JID FINGERPRINT"},
		{"/omemo trust " + bob + " zz", "hexadecimal"},
		{"/omemo remove", "usage: /omemo remove ID"},
		{"/omemo remove 12 x", `"x" is not a device id`},
		{"/omemo verify https://example.org", "usage: /omemo verify xmpp:"},
	} {
		h.command(c.line)
		if text, _ := h.statusText(t); !strings.Contains(text, c.want) {
			t.Errorf("%s: status %q, want %q", c.line, text, c.want)
		}
	}
	if n := countCalls(f.Calls(), "OMEMOSetTrust") + countCalls(f.Calls(), "OMEMORemoveDevices") + countCalls(f.Calls(), "OMEMOVerifyURI"); n != 0 {
		t.Errorf("bad commands reached the account: %v", f.Calls())
	}
	f.mu.Lock()
	f.err = errors.New("no <b>route</b>\x1b[31m")
	f.mu.Unlock()
	h.command("/omemo trust " + bob + " " + bobFP1)
	if text, isErr := h.statusText(t); !isErr || !strings.Contains(text, "could not trust the device of bob@example.org: no <b>route</b>") || strings.Contains(text, "\x1b") {
		t.Errorf("failure: %q", text)
	}
}

func TestOMEMOWithoutSupport(t *testing.T) {
	h, acc, _ := oneAccount(t)
	h.command("/omemo fingerprint")
	if text, isErr := h.statusText(t); !isErr || !strings.Contains(text, "OMEMO is not available") {
		t.Errorf("status %q", text)
	}
	h.command("/msg " + bob)
	if title := strings.Split(h.screen(), "\n")[0]; strings.Contains(title, "plain") || strings.Contains(title, "🔒") {
		t.Errorf("an account without OMEMO shows an encryption state: %q", title)
	}
	_ = acc
}

func TestOMEMOVerifyAndRemove(t *testing.T) {
	h, f, _ := omemoHarness(t)
	h.command("/omemo verify " + bobURI1)
	if c, ok := lastCall(f.Calls(), "OMEMOVerifyURI"); !ok || c.args[0] != bobURI1 {
		t.Fatalf("calls %v", f.Calls())
	}
	if text, _ := h.statusText(t); text != "1 device(s) verified" {
		t.Errorf("status %q", text)
	}
	h.command("/omemo devices")
	if c, _ := lastCall(f.Calls(), "OMEMODevices"); c.args[0] != me {
		t.Errorf("/omemo devices asked for %v", c)
	}
	screen := h.screen()
	for _, want := range []string{"Your other devices:", "77  trusted, gone, last seen 2024-05-04 11:00", "/omemo remove ID..."} {
		if !strings.Contains(screen, want) {
			t.Errorf("devices listing lacks %q:\n%s", want, screen)
		}
	}
	h.command("/omemo remove 77 78")
	if c, ok := lastCall(f.Calls(), "OMEMORemoveDevices"); !ok || strings.Join(c.args, ",") != "77,78" {
		t.Errorf("remove: %v", f.Calls())
	}
	if text, _ := h.statusText(t); !strings.Contains(text, "removed device(s) 77 78") {
		t.Errorf("status %q", text)
	}
}

func TestOMEMOEvents(t *testing.T) {
	h, f, _ := omemoHarness(t)
	h.send(omemoEvent{Account: me, JID: bob, Device: 1002, Kind: "new-device"})
	h.send(omemoEvent{Account: me, JID: bob, Device: 1001, Fingerprint: bobFP1, Kind: "changed-key"})
	h.send(omemoEvent{Account: me, JID: bob, Device: 1001, Kind: "undecryptable", Text: "could not decrypt: no session\x1b[2J"})
	var notices []string
	for _, it := range h.m.chat.items {
		if it.notice {
			notices = append(notices, it.body)
		}
	}
	want := []string{
		"Bob has a new device 1002 (fingerprint eeeeeeee 55555555 ffffffff 66666666 00000000 77777777 abcdefab 88888888) — undecided: /omemo trust bob@example.org " + bobFP2,
		"the key of Bob's device 1001 changed (fingerprint aaaaaaaa 11111111 bbbbbbbb 22222222 cccccccc 33333333 dddddddd 44444444) — trusted automatically (blind trust before verification)",
		"⚠ a message from Bob's device 1001 could not be decrypted: no session",
	}
	if strings.Join(notices, "\n") != strings.Join(want, "\n") {
		t.Errorf("notices:\n%s\nwant:\n%s", strings.Join(notices, "\n"), strings.Join(want, "\n"))
	}
	if n := countCalls(f.Calls(), "Encryption"); n < 4 {
		t.Errorf("events did not refresh the header: %d Encryption calls", n)
	}
	// An event about a conversation not on screen goes to the status line.
	h.send(omemoEvent{Account: me, JID: alice, Device: 5, Kind: "undecryptable", Text: "bad key"})
	if text, isErr := h.statusText(t); !isErr || text != "⚠ a message from Alice's device 5 could not be decrypted: bad key" {
		t.Errorf("status %q", text)
	}
}

func TestOMEMOHelpListsSubcommands(t *testing.T) {
	h, _, _ := omemoHarness(t)
	lines := strings.Join(helpLines(h.m, 200), "\n")
	for _, c := range omemoCommands() {
		if !strings.Contains(lines, usage(command{name: "omemo " + c.name, usage: c.usage})) || !strings.Contains(lines, c.help) {
			t.Errorf("help lacks /omemo %s", c.name)
		}
	}
}

func TestEncryptionFollowsTheWindow(t *testing.T) {
	h, f, _ := omemoHarness(t)
	f.mu.Lock()
	f.state = encryptionState{}
	f.mu.Unlock()
	h.command("/msg " + alice)
	if c, _ := lastCall(f.Calls(), "Encryption"); c.args[0] != alice || h.m.encryptionLabel() != "plain" {
		t.Fatalf("after opening alice: last call %v, label %q", c, h.m.encryptionLabel())
	}
	f.mu.Lock()
	f.state = encryptionState{Available: true, Enabled: true, Devices: 4}
	f.mu.Unlock()
	h.press("alt+1")
	if !h.m.chat.IsOpen(0, bob) {
		t.Fatal("alt+1 did not go back to bob")
	}
	if c, _ := lastCall(f.Calls(), "Encryption"); c.args[0] != bob || h.m.encryptionLabel() != "🔒 OMEMO → 4 devices" {
		t.Errorf("after going back to bob: last call %v, label %q", c, h.m.encryptionLabel())
	}
	// A late answer about another conversation does not change the header.
	h.send(encStateMsg{key: convKey{0, alice}, state: encryptionState{}})
	if h.m.encryptionLabel() != "🔒 OMEMO → 4 devices" {
		t.Errorf("an answer about alice changed bob's header: %q", h.m.encryptionLabel())
	}
}
