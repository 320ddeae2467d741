package omemo

import (
	"context"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// TrustState is the trust decision about one identity key of one device.
type TrustState int

// Trust states. Only Trusted and Verified devices receive our messages.
const (
	Undecided TrustState = iota // not decided yet: no messages to it
	Trusted                     // trusted without verification (blindly or by hand)
	Verified                    // fingerprint compared by the user
	Untrusted                   // rejected by the user
)

func (s TrustState) String() string {
	switch s {
	case Undecided:
		return "undecided"
	case Trusted:
		return "trusted"
	case Verified:
		return "verified"
	case Untrusted:
		return "untrusted"
	}
	return "TrustState(" + strconv.Itoa(int(s)) + ")"
}

// Policy decides the initial trust state of a newly seen identity key.
type Policy int

const (
	// PolicyBTBV is "blind trust before verification" (as Conversations):
	// new keys of a contact are trusted automatically until one of that
	// contact's keys has been verified; after that they start undecided.
	PolicyBTBV Policy = iota
	// PolicyManual leaves every new key undecided.
	PolicyManual
)

func (m *Manager) initialTrust(ctx context.Context, jid string) (TrustState, error) {
	if m.policy == PolicyManual {
		return Undecided, nil
	}
	var one int
	err := m.s.q(ctx).QueryRowContext(ctx, "SELECT 1 FROM omemo_trust WHERE account_id = ? AND jid = ? AND state = ? LIMIT 1",
		m.s.acct, jid, Verified).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return Trusted, nil
	}
	if err != nil {
		return Undecided, fmt.Errorf("omemo: trust: %w", err)
	}
	return Undecided, nil
}

// trustStates returns the state of the current identity key of each known
// device of the given JIDs.
func (m *Manager) trustStates(ctx context.Context, jids []string) (map[Address]TrustState, error) {
	list, _ := json.Marshal(jids)
	rows, err := m.s.q(ctx).QueryContext(ctx, `SELECT d.jid, d.device_id, t.state FROM omemo_devices d
		JOIN omemo_trust t ON t.account_id = d.account_id AND t.jid = d.jid AND t.device_id = d.device_id
			AND t.identity_key = d.identity_key
		WHERE d.account_id = ? AND d.jid IN (SELECT value FROM json_each(?))`, m.s.acct, string(list))
	if err != nil {
		return nil, fmt.Errorf("omemo: trust: %w", err)
	}
	defer rows.Close()
	states := map[Address]TrustState{}
	for rows.Next() {
		var a Address
		var s TrustState
		if err := rows.Scan(&a.JID, &a.Device, &s); err != nil {
			return nil, err
		}
		states[a] = s
	}
	return states, rows.Err()
}

// TrustOf returns the trust state of addr's current identity key
// (Undecided when no key is known).
func (m *Manager) TrustOf(ctx context.Context, addr Address) (TrustState, error) {
	var s TrustState
	err := m.s.q(ctx).QueryRowContext(ctx, `SELECT t.state FROM omemo_devices d
		JOIN omemo_trust t ON t.account_id = d.account_id AND t.jid = d.jid AND t.device_id = d.device_id
			AND t.identity_key = d.identity_key
		WHERE d.account_id = ? AND d.jid = ? AND d.device_id = ?`, m.s.acct, addr.JID, addr.Device).Scan(&s)
	if errors.Is(err, sql.ErrNoRows) {
		return Undecided, nil
	}
	if err != nil {
		return Undecided, fmt.Errorf("omemo: trust: %w", err)
	}
	return s, nil
}

// Trusted reports whether messages may be encrypted to addr (its current
// identity key is trusted or verified). Errors count as not trusted.
func (m *Manager) Trusted(ctx context.Context, addr Address) bool {
	s, err := m.TrustOf(ctx, addr)
	if err != nil {
		m.log.Warn("omemo trust lookup failed", "device", addr.String(), "err", err)
		return false
	}
	return s == Trusted || s == Verified
}

// parseFingerprint accepts hex (any case, spaces allowed) of a 32-byte key
// or of a 33-byte key starting 05.
func parseFingerprint(fp string) ([]byte, error) {
	fp = strings.Join(strings.Fields(fp), "")
	b, err := hex.DecodeString(fp)
	if err == nil && len(b) == 33 && b[0] == 0x05 {
		b = b[1:]
	}
	if err != nil || len(b) != 32 {
		return nil, fmt.Errorf("omemo: invalid fingerprint %q", fp)
	}
	return b, nil
}

// SetTrust records the trust decision about the identity key with the given
// fingerprint for device addr. The key need not have been seen yet (a
// fingerprint scanned from a QR code): the decision applies when it is.
func (m *Manager) SetTrust(ctx context.Context, addr Address, fingerprint string, state TrustState) error {
	if state < Undecided || state > Untrusted {
		return fmt.Errorf("omemo: invalid trust state %d", state)
	}
	if !ValidDeviceID(addr.Device) {
		return fmt.Errorf("omemo: invalid device id %d", addr.Device)
	}
	key, err := parseFingerprint(fingerprint)
	if err != nil {
		return err
	}
	_, err = m.s.q(ctx).ExecContext(ctx, `INSERT INTO omemo_trust (account_id, jid, device_id, identity_key, state, first_seen)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET state = excluded.state`,
		m.s.acct, addr.JID, addr.Device, key, state, time.Now().UnixMilli())
	if err != nil {
		return fmt.Errorf("omemo: set trust: %w", err)
	}
	return nil
}

// DeviceInfo describes a device of a contact (or of our own account).
type DeviceInfo struct {
	Address
	// Fingerprint of the device's current identity key; "" until known
	// (no session built yet).
	Fingerprint string
	Trust       TrustState
	// Active: listed in the owner's current device list.
	Active bool
	// LastSeen is when we last decrypted a message from it.
	LastSeen time.Time
	// EncryptedTo: the last message we sent to this JID was encrypted for it.
	EncryptedTo bool
}

// Devices lists the known devices of jid, by device id.
func (m *Manager) Devices(ctx context.Context, jid string) ([]DeviceInfo, error) {
	rows, err := m.s.q(ctx).QueryContext(ctx, `SELECT d.device_id, d.identity_key, coalesce(t.state, 0),
			d.active, d.last_seen, d.encrypted_to
		FROM omemo_devices d LEFT JOIN omemo_trust t ON t.account_id = d.account_id AND t.jid = d.jid
			AND t.device_id = d.device_id AND t.identity_key = d.identity_key
		WHERE d.account_id = ? AND d.jid = ? ORDER BY d.device_id`, m.s.acct, jid)
	if err != nil {
		return nil, fmt.Errorf("omemo: devices: %w", err)
	}
	defer rows.Close()
	var out []DeviceInfo
	for rows.Next() {
		d := DeviceInfo{Address: Address{JID: jid}}
		var key []byte
		var seen int64
		if err := rows.Scan(&d.Device, &key, &d.Trust, &d.Active, &seen, &d.EncryptedTo); err != nil {
			return nil, err
		}
		if len(key) > 0 {
			d.Fingerprint = FingerprintOf(key)
		}
		if seen != 0 {
			d.LastSeen = time.UnixMilli(seen).UTC()
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// SetDeviceList records jid's device list as published (PEP): listed
// devices become active, the others inactive (their state is kept).
func (m *Manager) SetDeviceList(ctx context.Context, jid string, ids []uint32) error {
	return m.withTx(ctx, func(ctx context.Context) error {
		q := m.s.q(ctx)
		if _, err := q.ExecContext(ctx, "UPDATE omemo_devices SET active = 0 WHERE account_id = ? AND jid = ?", m.s.acct, jid); err != nil {
			return fmt.Errorf("omemo: device list: %w", err)
		}
		for _, id := range ids {
			if !ValidDeviceID(id) {
				continue
			}
			if _, err := q.ExecContext(ctx, `INSERT INTO omemo_devices (account_id, jid, device_id, active) VALUES (?, ?, ?, 1)
				ON CONFLICT DO UPDATE SET active = 1`, m.s.acct, jid, id); err != nil {
				return fmt.Errorf("omemo: device list: %w", err)
			}
		}
		return nil
	})
}

// Recipients returns the active devices of the given JIDs, except our own
// device: the addresses to pass to Encrypt (include our own account's JID to
// reach our other devices).
func (m *Manager) Recipients(ctx context.Context, jids ...string) ([]Address, error) {
	var out []Address
	for _, jid := range jids {
		rows, err := m.s.q(ctx).QueryContext(ctx, "SELECT device_id FROM omemo_devices WHERE account_id = ? AND jid = ? AND active = 1 ORDER BY device_id",
			m.s.acct, jid)
		if err != nil {
			return nil, fmt.Errorf("omemo: recipients: %w", err)
		}
		for rows.Next() {
			var id uint32
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return nil, err
			}
			if jid != m.account || id != m.s.deviceID {
				out = append(out, Address{jid, id})
			}
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// markEncryptedTo records, for each of jids, which of its devices the last
// message went to, writing only rows whose flag changes.
func (m *Manager) markEncryptedTo(ctx context.Context, jids []string, got []Address) error {
	keys := make([]string, len(got))
	for i, a := range got {
		keys[i] = a.JID + "/" + strconv.FormatUint(uint64(a.Device), 10) // '/' cannot occur in a bare JID
	}
	jl, _ := json.Marshal(jids)
	kl, _ := json.Marshal(keys)
	_, err := m.s.q(ctx).ExecContext(ctx, `UPDATE omemo_devices SET encrypted_to = NOT encrypted_to
		WHERE account_id = ? AND jid IN (SELECT value FROM json_each(?))
			AND encrypted_to <> (jid || '/' || device_id IN (SELECT value FROM json_each(?)))`,
		m.s.acct, string(jl), string(kl))
	if err != nil {
		return fmt.Errorf("omemo: %w", err)
	}
	return nil
}

// URIDevice is one device of a verification URI.
type URIDevice struct {
	Device      uint32
	Fingerprint string // lowercase hex of the 32-byte identity key
}

// BuildURI returns the verification URI (shown as a QR code) listing
// devices of jid: xmpp:jid?omemo-sid-ID=FINGERPRINT;omemo-sid-ID=...
func BuildURI(jid string, devs []URIDevice) string {
	var b strings.Builder
	b.WriteString("xmpp:")
	b.WriteString((&url.URL{Path: jid}).EscapedPath())
	for i, d := range devs {
		if i == 0 {
			b.WriteByte('?')
		} else {
			b.WriteByte(';')
		}
		b.WriteString("omemo-sid-")
		b.WriteString(strconv.FormatUint(uint64(d.Device), 10))
		b.WriteByte('=')
		b.WriteString(strings.ToLower(d.Fingerprint))
	}
	return b.String()
}

// URI returns the verification URI of our own device.
func (m *Manager) URI() string {
	return BuildURI(m.account, []URIDevice{{m.s.deviceID, m.Fingerprint()}})
}

// ParseURI parses a verification URI. Parameters other than omemo-sid-*
// are ignored.
func ParseURI(uri string) (jid string, devs []URIDevice, err error) {
	rest, ok := strings.CutPrefix(uri, "xmpp:")
	if !ok {
		return "", nil, errors.New("omemo: not an xmpp: URI")
	}
	rawJID, query, _ := strings.Cut(rest, "?")
	jid, err = url.PathUnescape(strings.TrimPrefix(rawJID, "//"))
	if err != nil || jid == "" || strings.ContainsAny(jid, "/?;& \t\r\n") {
		return "", nil, fmt.Errorf("omemo: bad JID in URI %q", uri)
	}
	for _, p := range strings.FieldsFunc(query, func(r rune) bool { return r == ';' || r == '&' }) {
		k, v, _ := strings.Cut(p, "=")
		idStr, ok := strings.CutPrefix(k, "omemo-sid-")
		if !ok {
			continue
		}
		id, err := parseDeviceID(idStr)
		if err != nil {
			return "", nil, fmt.Errorf("omemo: URI: %v", err)
		}
		key, err := parseFingerprint(v)
		if err != nil {
			return "", nil, err
		}
		devs = append(devs, URIDevice{id, hex.EncodeToString(key)})
	}
	return jid, devs, nil
}

// VerifyURI marks every device+key listed in a scanned verification URI as
// Verified and returns how many there were.
func (m *Manager) VerifyURI(ctx context.Context, uri string) (int, error) {
	jid, devs, err := ParseURI(uri)
	if err != nil {
		return 0, err
	}
	if len(devs) == 0 {
		return 0, errors.New("omemo: URI lists no device")
	}
	err = m.withTx(ctx, func(ctx context.Context) error {
		for _, d := range devs {
			if err := m.SetTrust(ctx, Address{jid, d.Device}, d.Fingerprint, Verified); err != nil {
				return err
			}
		}
		return nil
	})
	return len(devs), err
}
