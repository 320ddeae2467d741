package ui

import (
	"context"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	tea "charm.land/bubbletea/v2"

	"xchat/internal/sanitize"
	"xchat/omemo"
	"xchat/session"
	"xchat/store"
)

// The session's OMEMO types, under the names the UI uses.
type (
	encryptionState = session.EncryptionState
	omemoEvent      = session.OMEMOEvent
)

// OMEMO is the end-to-end encryption side of an account (XEP-0384);
// *session.Client provides it.
type OMEMO interface {
	// Encryption says how the next message to peer will go.
	Encryption(ctx context.Context, peer string) (encryptionState, error)
	// SetEncryption forces OMEMO on ("omemo"), off ("plain"), or back to
	// the default ("") for the conversation with peer.
	SetEncryption(ctx context.Context, peer, setting string) error
	// OMEMOOwn returns our device id, its fingerprint (grouped in 8s) and
	// the xmpp: URI that carries it, for QR codes.
	OMEMOOwn(ctx context.Context) (deviceID uint32, fingerprint, uri string, err error)
	// OMEMODevices lists the known devices of jid (our own bare JID: ours).
	OMEMODevices(ctx context.Context, jid string) ([]omemo.DeviceInfo, error)
	OMEMOSetTrust(ctx context.Context, jid, fingerprint string, state omemo.TrustState) error
	// OMEMOVerifyURI marks the devices of a scanned xmpp: URI verified and
	// returns how many.
	OMEMOVerifyURI(ctx context.Context, uri string) (int, error)
	// OMEMORemoveDevices drops stale devices of ours from our device list.
	OMEMORemoveDevices(ctx context.Context, ids []uint32) error
}

// convKey names one conversation of one account.
type convKey struct {
	acct int
	peer string
}

// heldSend is a plain message waiting for the user's y/n, or (checking)
// for a fresh answer of Encryption before the question is asked.
type heldSend struct {
	key      convKey
	body     string
	checking bool
}

// omemoUI is the model's OMEMO state: what it knows of each conversation's
// encryption, the pending confirmation of a plain send, and the overlay.
type omemoUI struct {
	enc       map[convKey]encryptionState // last answer of Encryption
	switched  map[convKey]bool            // /omemo off was typed here
	confirmed map[convKey]bool            // the user agreed to send in clear here
	held      *heldSend
	pane      omemoPane
}

func (o *omemoUI) init() {
	if o.enc == nil {
		o.enc = map[convKey]encryptionState{}
		o.switched = map[convKey]bool{}
		o.confirmed = map[convKey]bool{}
	}
}

// omemoMsg marks the answers of the OMEMO Cmds, so that Update needs one
// case for them all.
type omemoMsg interface{ omemoAnswer() }

// encStateMsg is the answer of Encryption.
type encStateMsg struct {
	key   convKey
	state encryptionState
	err   error
}

// omemoListMsg carries what /omemo fingerprint, devices, verify and qr show.
type omemoListMsg struct {
	acct    int
	what    string // "fingerprint", "devices", "qr"
	jid     string // the contact listed; "" for none
	id      uint32
	fp, uri string
	devices []omemo.DeviceInfo
	err     error
	// A room's listing: each member's devices (omemo_members.go).
	room       bool
	members    []memberDevices
	membersErr error
}

// omemoOpMsg is the answer of a trust, verify, remove or encryption
// setting operation.
type omemoOpMsg struct {
	acct int
	op   string // "trust", "untrust", "verify", "remove", "setting"
	arg  string // JID, URI, ids or setting
	peer string // conversation whose encryption may have changed; "" if none
	n    int    // devices verified
	err  error
}

// deviceNoticeMsg carries the trust state of a device an OMEMOEvent was
// about, for the line in its conversation.
type deviceNoticeMsg struct {
	acct  int
	ev    omemoEvent
	trust omemo.TrustState
	known bool
}

func (encStateMsg) omemoAnswer()     {}
func (omemoListMsg) omemoAnswer()    {}
func (omemoOpMsg) omemoAnswer()      {}
func (deviceNoticeMsg) omemoAnswer() {}

// omemoCommand is one /omemo subcommand.
type omemoCommand struct {
	name  string
	usage string
	help  string
	run   func(m *Model, i int, o OMEMO, args string) tea.Cmd
}

func omemoCommands() []omemoCommand {
	return []omemoCommand{
		{"fingerprint", "[JID|ROOM]", "your device id and fingerprint, and each device of JID (default: the open conversation's contact) with its trust state; for a private group, every member's devices", (*Model).omemoFingerprint},
		{"trust", "JID FINGERPRINT", "trust the device of JID with that fingerprint (spaces allowed)", func(m *Model, i int, o OMEMO, args string) tea.Cmd {
			return m.omemoTrust(i, o, args, "trust", omemo.Trusted)
		}},
		{"untrust", "JID FINGERPRINT", "stop encrypting to that device and mark its messages", func(m *Model, i int, o OMEMO, args string) tea.Cmd {
			return m.omemoTrust(i, o, args, "untrust", omemo.Untrusted)
		}},
		{"verify", "[URI]", "mark the devices of a contact's xmpp:…?omemo-sid-… URI verified; without, show your QR code to be scanned", (*Model).omemoVerify},
		{"qr", "", "show your xmpp: URI with your fingerprint as a QR code", func(m *Model, i int, o OMEMO, _ string) tea.Cmd {
			return m.askList(i, o, "qr", "")
		}},
		{"on", "", "always encrypt in this conversation", func(m *Model, i int, o OMEMO, _ string) tea.Cmd { return m.omemoSetting(i, o, "omemo") }},
		{"off", "", "send in clear in this conversation (asks before the first message)", func(m *Model, i int, o OMEMO, _ string) tea.Cmd { return m.omemoSetting(i, o, "plain") }},
		{"default", "", "encrypt in this conversation whenever the contact has OMEMO devices", func(m *Model, i int, o OMEMO, _ string) tea.Cmd { return m.omemoSetting(i, o, "") }},
		{"devices", "", "list your own devices", func(m *Model, i int, o OMEMO, _ string) tea.Cmd {
			return m.askList(i, o, "devices", "")
		}},
		{"remove", "ID...", "remove stale devices of yours from your device list", (*Model).omemoRemove},
	}
}

// omemoHelpCommands are the subcommands as commands, for /help.
func omemoHelpCommands() []command {
	var out []command
	for _, c := range omemoCommands() {
		out = append(out, command{name: "omemo " + c.name, usage: c.usage, help: c.help})
	}
	return out
}

// encryptable reports whether conversations of a kind can be encrypted:
// chats, and rooms (the session refuses rooms that are not private groups).
func encryptable(k store.ConvKind) bool { return k == store.KindChat || k == store.KindGroupchat }

// omemoOf returns account i's OMEMO side, nil if it has none.
func (m *Model) omemoOf(i int) OMEMO {
	if i < 0 || i >= len(m.accts) {
		return nil
	}
	o, _ := m.accts[i].client.(OMEMO)
	return o
}

// cmdOMEMO runs /omemo SUBCOMMAND.
func (m *Model) cmdOMEMO(args string) tea.Cmd {
	if m.noAccount() {
		return nil
	}
	sub, rest, _ := strings.Cut(args, " ")
	sub, rest = strings.ToLower(sub), strings.TrimSpace(rest)
	var names []string
	for _, c := range omemoCommands() {
		names = append(names, c.name)
		if c.name != sub {
			continue
		}
		i := m.currentAccount()
		if sub == "fingerprint" || sub == "trust" || sub == "untrust" {
			if first, _, _ := strings.Cut(rest, " "); first != "" {
				if bare, err := parseJID(first); err == nil {
					i = m.accountFor(bare)
				}
			}
		}
		o := m.omemoOf(i)
		if o == nil {
			m.status.Error("OMEMO is not available on " + m.accts[i].label)
			return nil
		}
		m.omemo.init()
		return c.run(m, i, o, rest)
	}
	if sub == "" && m.chat.open && encryptable(m.chat.kind) {
		m.status.Info("encryption here: " + m.encryptionLabel() + " · /omemo " + strings.Join(names, "|"))
		return nil
	}
	m.status.Error("usage: /omemo " + strings.Join(names, "|"))
	return nil
}

func (m *Model) omemoFingerprint(i int, o OMEMO, args string) tea.Cmd {
	jid := ""
	if p := &m.chat; args == "" && p.open && p.acct == i && (p.kind == store.KindChat || p.kind == store.KindGroupchat) {
		// In a conversation: its contact's devices (or the group's
		// members'), which the header's "/omemo fingerprint" hint means.
		jid = p.peer
	}
	if args != "" {
		bare, _, ok := m.jidArg(args, "/omemo fingerprint [JID|ROOM]")
		if !ok {
			return nil
		}
		jid = bare
	}
	return m.askList(i, o, "fingerprint", jid)
}

// normFingerprint checks a typed fingerprint and drops its spaces.
func normFingerprint(s string) (string, bool) {
	s = strings.ToLower(strings.Join(strings.Fields(s), ""))
	if s == "" || len(s)%2 != 0 {
		return "", false
	}
	_, err := hex.DecodeString(s)
	return s, err == nil
}

func (m *Model) omemoTrust(i int, o OMEMO, args, op string, state omemo.TrustState) tea.Cmd {
	use := "/omemo " + op + " JID FINGERPRINT"
	peer, rest, ok := m.jidArg(args, use)
	if !ok {
		return nil
	}
	fp, ok := normFingerprint(rest)
	if !ok {
		m.status.Error("usage: " + use + " (the fingerprint is hexadecimal)")
		return nil
	}
	return m.omemoOpCmd(i, op, peer, peer, func(ctx context.Context) (int, error) {
		return 0, o.OMEMOSetTrust(ctx, peer, fp, state)
	})
}

func (m *Model) omemoVerify(i int, o OMEMO, args string) tea.Cmd {
	if args == "" {
		return m.askList(i, o, "qr", "")
	}
	if !strings.HasPrefix(strings.ToLower(args), "xmpp:") || !strings.Contains(args, "omemo-sid-") {
		m.status.Error("usage: /omemo verify xmpp:JID?omemo-sid-ID=FINGERPRINT (scanned from the contact's QR code)")
		return nil
	}
	peer := ""
	addr, _, _ := strings.Cut(args[len("xmpp:"):], "?")
	if j, err := parseJID(addr); err == nil {
		peer = j
	}
	return m.omemoOpCmd(i, "verify", args, peer, func(ctx context.Context) (int, error) {
		return o.OMEMOVerifyURI(ctx, args)
	})
}

func (m *Model) omemoSetting(i int, o OMEMO, setting string) tea.Cmd {
	if !m.chat.open || !encryptable(m.chat.kind) {
		m.status.Error("open a conversation first: /omemo on|off|default applies to the open one")
		return nil
	}
	// i is the open conversation's account (see currentAccount).
	peer := m.chat.peer
	return m.omemoOpCmd(i, "setting", setting, peer, func(ctx context.Context) (int, error) {
		return 0, o.SetEncryption(ctx, peer, setting)
	})
}

func (m *Model) omemoRemove(i int, o OMEMO, args string) tea.Cmd {
	var ids []uint32
	for _, f := range strings.Fields(args) {
		id, err := strconv.ParseUint(f, 10, 32)
		if err != nil || id == 0 {
			m.status.Error(fmt.Sprintf("%q is not a device id (see /omemo devices)", sanitize.Line(f)))
			return nil
		}
		ids = append(ids, uint32(id))
	}
	if len(ids) == 0 {
		m.status.Error("usage: /omemo remove ID... (see /omemo devices)")
		return nil
	}
	return m.omemoOpCmd(i, "remove", strings.Join(strings.Fields(args), " "), "", func(ctx context.Context) (int, error) {
		return 0, o.OMEMORemoveDevices(ctx, ids)
	})
}

// askList is omemoListCmd for a command typed by the user.
func (m *Model) askList(i int, o OMEMO, what, jid string) tea.Cmd {
	m.status.Info("asking " + m.accts[i].label + "…")
	return m.omemoListCmd(i, o, what, jid)
}

// omemoListCmd fetches our device and, for "devices" or a JID, a device list.
func (m *Model) omemoListCmd(i int, o OMEMO, what, jid string) tea.Cmd {
	base := m.ctx
	own := m.accts[i].jid
	if what == "devices" {
		jid = own
	}
	_, isRoom := m.accts[i].rooms[jid]
	isRoom = isRoom && what == "fingerprint"
	lister, _ := m.accts[i].client.(roomMemberLister)
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(base, opTimeout)
		defer cancel()
		out := omemoListMsg{acct: i, what: what, jid: jid}
		out.id, out.fp, out.uri, out.err = o.OMEMOOwn(ctx)
		switch {
		case out.err != nil || jid == "":
		case isRoom:
			out.room = true
			out.members, out.membersErr = roomMemberDevices(ctx, lister, o, jid)
		default:
			out.devices, out.err = o.OMEMODevices(ctx, jid)
		}
		return out
	}
}

// omemoOpCmd runs one OMEMO operation.
func (m *Model) omemoOpCmd(i int, op, arg, peer string, call func(ctx context.Context) (int, error)) tea.Cmd {
	base := m.ctx
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(base, opTimeout)
		defer cancel()
		n, err := call(ctx)
		return omemoOpMsg{acct: i, op: op, arg: arg, peer: peer, n: n, err: err}
	}
}

// encryptionCmd asks how the next message of a conversation will go.
func (m *Model) encryptionCmd(k convKey) tea.Cmd {
	o := m.omemoOf(k.acct)
	if o == nil || k.peer == "" {
		return nil
	}
	base := m.ctx
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(base, opTimeout)
		defer cancel()
		st, err := o.Encryption(ctx, k.peer)
		return encStateMsg{key: k, state: st, err: err}
	}
}

// refreshEncryption asks again about the open conversation (a window
// change, an OMEMOEvent, a setting).
func (m *Model) refreshEncryption() tea.Cmd {
	if !m.chat.open || !encryptable(m.chat.kind) {
		return nil
	}
	return m.encryptionCmd(convKey{m.chat.acct, m.chat.peer})
}

// onOMEMOMsg handles the answers of the OMEMO Cmds.
func (m *Model) onOMEMOMsg(msg omemoMsg) tea.Cmd {
	m.omemo.init()
	switch msg := msg.(type) {
	case encStateMsg:
		if msg.err != nil {
			m.log.Warn("omemo state", "peer", msg.key.peer, "err", msg.err)
			delete(m.omemo.enc, msg.key)
			if h := m.omemo.held; h != nil && h.checking && h.key == msg.key {
				h.checking = false // no answer: ask the user
				m.status.Error("send unencrypted? y/n")
			}
			return nil
		}
		old, had := m.omemo.enc[msg.key]
		m.omemo.enc[msg.key] = msg.state
		if had && old.Setting != msg.state.Setting {
			delete(m.omemo.confirmed, msg.key)
		}
		if h := m.omemo.held; h != nil && h.checking && h.key == msg.key {
			return m.decideHeld()
		}
	case omemoListMsg:
		return m.onOMEMOList(msg)
	case omemoOpMsg:
		return m.onOMEMOOp(msg)
	case deviceNoticeMsg:
		m.deviceNotice(msg)
	}
	return nil
}

func (m *Model) onOMEMOList(msg omemoListMsg) tea.Cmd {
	a := m.accts[msg.acct]
	if msg.err != nil {
		m.log.Warn("omemo", "account", a.jid, "what", msg.what, "err", msg.err)
		m.status.Error("OMEMO on " + a.label + ": " + sanitize.Line(msg.err.Error()))
		return nil
	}
	if text, _ := m.status.Text(); strings.HasPrefix(text, "asking ") {
		m.status.Info("")
	}
	p := &m.omemo.pane
	*p = omemoPane{open: true}
	switch msg.what {
	case "qr":
		mods, err := qrModules(msg.uri)
		if err != nil {
			m.status.Error("QR code: " + sanitize.Line(err.Error()))
			p.open = false
			return nil
		}
		p.title = "your OMEMO QR code"
		p.qr = mods
		p.text = []string{
			"Let your contact scan this with their OMEMO client (Conversations: verify → scan), or send them the URI below to paste in /omemo verify:",
			sanitize.Line(msg.uri),
			fmt.Sprintf("Device %d of %s, fingerprint %s", msg.id, a.label, sanitize.Line(omemo.FormatFingerprint(plainHex(msg.fp)))),
			"Esc closes.",
		}
	case "devices":
		p.title = "your OMEMO devices"
		p.text = ownDeviceLines(m, a, msg)
	default:
		p.title = "OMEMO fingerprints"
		p.text = fingerprintLines(m, a, msg)
		if msg.room {
			p.title = "OMEMO fingerprints of the group's members"
			p.text = roomFingerprintLines(m, a, msg)
		}
	}
	p.jid = msg.jid
	return nil
}

// plainHex drops the spaces of a grouped fingerprint.
func plainHex(fp string) string { return strings.Join(strings.Fields(fp), "") }

// grouped formats a fingerprint in groups of 8 for display (sanitized).
func grouped(fp string) string {
	if fp = plainHex(fp); fp == "" {
		return "(no key known yet)"
	}
	return sanitize.Line(omemo.FormatFingerprint(fp))
}

// ownHeader is the first lines of every listing: our device.
func ownHeader(a *accountState, msg omemoListMsg) []string {
	return []string{
		"This device (" + a.label + "): " + strconv.FormatUint(uint64(msg.id), 10),
		"  " + grouped(msg.fp),
		"",
	}
}

func (m *Model) lastSeen(d omemo.DeviceInfo) string {
	if d.LastSeen.IsZero() {
		return "never heard from"
	}
	return "last seen " + d.LastSeen.In(m.loc).Format("2006-01-02 15:04")
}

func fingerprintLines(m *Model, a *accountState, msg omemoListMsg) []string {
	lines := ownHeader(a, msg)
	if msg.jid == "" {
		return append(lines,
			"Compare it with what your contact's client shows for you, then",
			"/omemo fingerprint JID lists theirs; /omemo trust JID FINGERPRINT or /omemo verify URI.",
			"Esc closes.")
	}
	who := sanitize.Line(msg.jid)
	if len(msg.devices) == 0 {
		return append(lines, who+" has no known OMEMO device.", "Esc closes.")
	}
	lines = append(lines, "Devices of "+who+":")
	lines = append(lines, m.deviceLines(who, msg.devices)...)
	return append(lines, "", "/omemo trust|untrust JID FINGERPRINT decides; /omemo verify URI verifies. Esc closes.")
}

// deviceLines describes the devices of who (sanitized), for the listings.
func (m *Model) deviceLines(who string, devs []omemo.DeviceInfo) []string {
	var lines []string
	for _, d := range devs {
		state := d.Trust.String()
		if !d.Active {
			state += ", gone"
		}
		to := "our last message was not encrypted to it"
		if d.EncryptedTo {
			to = "our last message was encrypted to it"
		}
		lines = append(lines,
			fmt.Sprintf("  %d  %s, %s", d.Device, state, m.lastSeen(d)),
			"    "+grouped(d.Fingerprint),
			"    "+to)
		if d.Trust == omemo.Undecided && d.Fingerprint != "" {
			lines = append(lines, "    /omemo trust "+who+" "+sanitize.Line(plainHex(d.Fingerprint)))
		}
	}
	return lines
}

func ownDeviceLines(m *Model, a *accountState, msg omemoListMsg) []string {
	lines := ownHeader(a, msg)
	var others int
	for _, d := range msg.devices {
		if d.Device == msg.id {
			continue
		}
		if others == 0 {
			lines = append(lines, "Your other devices:")
		}
		others++
		state := d.Trust.String()
		if !d.Active {
			state += ", gone"
		}
		lines = append(lines,
			fmt.Sprintf("  %d  %s, %s", d.Device, state, m.lastSeen(d)),
			"    "+grouped(d.Fingerprint))
	}
	if others == 0 {
		return append(lines, "You have no other device.", "Esc closes.")
	}
	return append(lines, "", "/omemo remove ID... drops devices you no longer use; /omemo trust "+a.label+" FINGERPRINT trusts one. Esc closes.")
}

func (m *Model) onOMEMOOp(msg omemoOpMsg) tea.Cmd {
	a := m.accts[msg.acct]
	arg := sanitize.Line(msg.arg)
	if msg.err != nil {
		m.log.Warn("omemo", "account", a.jid, "op", msg.op, "arg", msg.arg, "err", msg.err)
		m.status.Error("could not " + map[string]string{"trust": "trust the device of", "untrust": "distrust the device of",
			"verify": "verify", "remove": "remove device", "setting": "change the encryption:"}[msg.op] +
			" " + arg + ": " + sanitize.Line(msg.err.Error()))
		return nil
	}
	switch msg.op {
	case "trust":
		m.status.Info("the device of " + arg + " is trusted")
	case "untrust":
		m.status.Info("the device of " + arg + " is untrusted: it gets no more messages")
	case "verify":
		m.status.Info(fmt.Sprintf("%d device(s) verified", msg.n))
	case "remove":
		m.status.Info("removed device(s) " + arg + " from your device list")
	case "setting":
		k := convKey{msg.acct, msg.peer}
		delete(m.omemo.confirmed, k)
		switch msg.arg {
		case "omemo":
			delete(m.omemo.switched, k)
			m.status.Info("encryption on in this conversation")
		case "plain":
			m.omemo.switched[k] = true
			m.status.Info("encryption off in this conversation: messages go in clear")
		default:
			delete(m.omemo.switched, k)
			m.status.Info("encryption back to the default: on when the contact (in a private group: every member) has OMEMO devices")
		}
		return m.encryptionCmd(k)
	}
	var cmds []tea.Cmd
	if msg.peer != "" {
		cmds = append(cmds, m.encryptionCmd(convKey{msg.acct, msg.peer}))
	}
	if m.omemo.pane.open && m.omemo.pane.qr == nil && (msg.op == "trust" || msg.op == "untrust" || msg.op == "remove") {
		// The listing shows trust states: show it again as it is now.
		if o := m.omemoOf(msg.acct); o != nil {
			what, jid := "fingerprint", msg.peer
			if m.omemo.pane.jid != "" && m.omemo.pane.jid != a.jid {
				jid = m.omemo.pane.jid // the room (or contact) listed
			}
			if msg.op == "remove" {
				what = "devices"
			}
			cmds = append(cmds, m.omemoListCmd(msg.acct, o, what, jid))
		}
	}
	return tea.Batch(cmds...)
}

// encryptionLabel says how the next message of the open conversation will
// go, for its header; "" when unknown or not a chat.
func (m *Model) encryptionLabel() string {
	if !m.chat.open || !encryptable(m.chat.kind) {
		return ""
	}
	st, ok := m.omemo.enc[convKey{m.chat.acct, m.chat.peer}]
	if !ok || m.chat.kind == store.KindGroupchat && !st.Available && !st.Enabled {
		return "" // a room that is not a private group: nothing to say
	}
	return encryptionText(st)
}

func encryptionText(st encryptionState) string {
	devs := func(n int) string {
		if n == 1 {
			return "1 device"
		}
		return strconv.Itoa(n) + " devices"
	}
	switch {
	case st.Enabled && st.Devices == 0 && st.Untrusted > 0:
		return fmt.Sprintf("⚠ OMEMO: no trusted device, %d undecided — /omemo fingerprint", st.Untrusted)
	case st.Enabled && st.Devices == 0:
		return "⚠ OMEMO: no device to encrypt to"
	case st.Enabled && st.Untrusted > 0:
		return fmt.Sprintf("🔒 %s, %d undecided — /omemo fingerprint", devs(st.Devices), st.Untrusted)
	case st.Enabled:
		return "🔒 OMEMO → " + devs(st.Devices)
	case st.Setting == "plain":
		return "plain (/omemo on encrypts)"
	}
	return "plain"
}

// holdPlain reports whether a message must wait for the user's consent to
// go in clear: the conversation is not encrypted now but was before, or the
// user switched encryption off here. When only the history says it was
// encrypted, the state may be older than what just arrived (a device list,
// an encrypted message): the message waits for a fresh answer first and
// the question is asked only if that still says plain (decideHeld).
func (m *Model) holdPlain(body string) (bool, tea.Cmd) {
	if !m.chat.open || !encryptable(m.chat.kind) || m.omemoOf(m.chat.acct) == nil {
		return false, nil
	}
	m.omemo.init()
	k := convKey{m.chat.acct, m.chat.peer}
	st, ok := m.omemo.enc[k]
	if ok && st.Enabled || m.omemo.confirmed[k] {
		return false, nil
	}
	if h := m.omemo.held; h != nil && h.checking {
		// One at a time: this one goes back to the input.
		if m.input.Value() == "" {
			m.input.SetValue(body)
		}
		m.status.Info("one moment: checking the encryption…")
		return true, nil
	}
	switched := m.omemo.switched[k]
	if !switched && !m.chat.hadEncrypted() {
		return false, nil
	}
	if switched {
		m.omemo.held = &heldSend{key: k, body: body}
		m.status.Error("send unencrypted? y/n")
		return true, nil
	}
	m.omemo.held = &heldSend{key: k, body: body, checking: true}
	m.status.Info("checking the encryption…")
	return true, m.encryptionCmd(k)
}

// decideHeld sends the held message when the fresh state says it will be
// encrypted, and asks the user otherwise.
func (m *Model) decideHeld() tea.Cmd {
	h := m.omemo.held
	h.checking = false
	if !m.chat.IsOpen(h.key.acct, h.key.peer) {
		m.omemo.held = nil
		m.status.Error("the conversation changed: nothing sent")
		return nil
	}
	if st := m.omemo.enc[h.key]; st.Enabled {
		m.omemo.held = nil
		m.status.Info("")
		return m.send(h.body)
	}
	m.status.Error("send unencrypted? y/n")
	return nil
}

// encryptionOnState asks again about the open conversation when its
// account comes online: asked before, the session could not yet learn
// the contact's devices.
func (m *Model) encryptionOnState(ev session.StateEvent) tea.Cmd {
	if i, ok := m.byAcct[ev.Account]; !ok || ev.State != session.Online || !m.chat.open || m.chat.acct != i {
		return nil
	}
	return m.refreshEncryption()
}

// encryptionOnMessage asks again about the open conversation when an
// encrypted message arrives in it while the header says plain, does not
// know, or lacks a device's key: the contact's devices (and the sender's
// key, with the session the message started) were learned on the way.
func (m *Model) encryptionOnMessage(ev session.MessageEvent) tea.Cmd {
	i, ok := m.byAcct[ev.Account]
	if !ok || ev.Message.Encryption == "" || !m.chat.IsOpen(i, ev.Message.Peer) {
		return nil
	}
	if st, known := m.omemo.enc[convKey{i, ev.Message.Peer}]; known && st.Enabled && st.Devices > 0 && st.Untrusted == 0 {
		return nil // nothing the message could improve
	}
	return m.refreshEncryption()
}

// hadEncrypted reports whether a loaded message of the pane was encrypted.
func (p *chatPane) hadEncrypted() bool {
	for i := range p.items {
		if p.items[i].msg.Encryption != "" {
			return true
		}
	}
	return false
}

// answerPlain takes the y/n for a held plain message. It reports false for
// keys it leaves alone (ctrl+c still quits).
func (m *Model) answerPlain(k tea.KeyPressMsg) (tea.Cmd, bool) {
	h := m.omemo.held
	if h.checking {
		if k.String() == "esc" {
			m.omemo.held = nil
			if m.chat.IsOpen(h.key.acct, h.key.peer) && m.input.Value() == "" {
				m.input.SetValue(h.body)
			}
			m.status.Info("not sent")
			return nil, true
		}
		return nil, false // typing goes on while the answer comes
	}
	switch k.String() {
	case "y", "Y":
		m.omemo.held = nil
		if !m.chat.IsOpen(h.key.acct, h.key.peer) {
			m.status.Error("the conversation changed: nothing sent")
			return nil, true
		}
		m.omemo.confirmed[h.key] = true
		m.status.Info("sent in clear")
		return m.send(h.body), true
	case "n", "N", "esc":
		m.omemo.held = nil
		if m.chat.IsOpen(h.key.acct, h.key.peer) && m.input.Value() == "" {
			m.input.SetValue(h.body)
		}
		m.status.Info("not sent: /omemo on encrypts, /omemo default follows the contact's devices")
		return nil, true
	case "ctrl+c":
		return nil, false
	}
	m.status.Error("send unencrypted? y/n")
	return nil, true
}

// onOMEMOEvent reports an OMEMO event: a line in the conversation with the
// contact (after asking the device's trust state), the status line for
// our own devices; the header is refreshed.
func (m *Model) onOMEMOEvent(ev omemoEvent) tea.Cmd {
	i, ok := m.byAcct[ev.Account]
	if !ok {
		return nil
	}
	m.omemo.init()
	refresh := m.refreshEncryption()
	if ev.Kind == "devices" {
		return refresh // sessions ready: only the header changes
	}
	o := m.omemoOf(i)
	if o == nil || ev.Kind != "new-device" && ev.Kind != "changed-key" {
		m.deviceNotice(deviceNoticeMsg{acct: i, ev: ev})
		return refresh
	}
	base := m.ctx
	return tea.Batch(refresh, func() tea.Msg {
		ctx, cancel := context.WithTimeout(base, opTimeout)
		defer cancel()
		out := deviceNoticeMsg{acct: i, ev: ev}
		devs, err := o.OMEMODevices(ctx, ev.JID)
		if err != nil {
			return out
		}
		for _, d := range devs {
			if d.Device == ev.Device {
				out.trust, out.known = d.Trust, true
				if ev.Fingerprint == "" {
					out.ev.Fingerprint = d.Fingerprint
				}
			}
		}
		return out
	})
}

// omemoEventText is the sentence for an event (sanitized).
func omemoEventText(a *accountState, msg deviceNoticeMsg) string {
	ev := msg.ev
	who := a.labelOf(ev.JID)
	fp := grouped(ev.Fingerprint)
	extra := strings.TrimSpace(sanitize.Line(ev.Text))
	var s string
	switch ev.Kind {
	case "new-device":
		s = fmt.Sprintf("%s has a new device %d (fingerprint %s)", who, ev.Device, fp)
	case "changed-key":
		s = fmt.Sprintf("the key of %s's device %d changed (fingerprint %s)", who, ev.Device, fp)
	case "undecryptable":
		// The session's reason may repeat what the sentence says.
		extra = strings.TrimSpace(strings.TrimPrefix(extra, "could not decrypt:"))
		s = fmt.Sprintf("⚠ a message from %s's device %d could not be decrypted", who, ev.Device)
		if extra != "" {
			s += ": " + extra
		}
		return s
	case "session-repaired":
		s = fmt.Sprintf("the encrypted session with %s's device %d was repaired", who, ev.Device)
	default:
		if extra == "" {
			return fmt.Sprintf("OMEMO: %s, device %d", who, ev.Device)
		}
		return "OMEMO: " + extra
	}
	if msg.known {
		switch msg.trust {
		case omemo.Trusted:
			s += " — trusted automatically (blind trust before verification)"
		case omemo.Verified:
			s += " — verified"
		case omemo.Untrusted:
			s += " — untrusted: it gets no messages"
		default:
			if plainHex(ev.Fingerprint) == "" {
				s += " — its key is not fetched yet"
			} else {
				s += " — undecided: /omemo trust " + sanitize.Line(ev.JID) + " " + sanitize.Line(plainHex(ev.Fingerprint))
			}
		}
	} else if extra != "" {
		s += " — " + extra
	}
	return s
}

// deviceNotice puts an event's line in the contact's conversation, and in
// the status line when that conversation is not on screen.
func (m *Model) deviceNotice(msg deviceNoticeMsg) {
	a := m.accts[msg.acct]
	text := omemoEventText(a, msg)
	if msg.ev.JID == a.jid || !m.chat.IsOpen(msg.acct, msg.ev.JID) {
		if msg.ev.Kind == "undecryptable" {
			m.status.Error(text)
		} else {
			m.status.Info(text)
		}
		return
	}
	now := m.now()
	m.nextTemp--
	it := chatItem{
		msg:    store.Message{ID: m.nextTemp, Peer: msg.ev.JID, Kind: store.KindChat, Timestamp: now.UTC()},
		body:   text,
		notice: true,
	}
	it.local = now.In(m.loc)
	it.day = dayKey(it.local)
	it.hhmm = it.local.Format("15:04")
	m.chat.Append(it)
}

// untrustedMark marks a message from a device that was not trusted when it
// arrived (undecided or untrusted: see /omemo fingerprint).
func untrustedMark(msg store.Message) string {
	return fmt.Sprintf("⚠ untrusted device %d", msg.SenderDevice)
}
