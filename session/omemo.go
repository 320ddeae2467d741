package session

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"mellium.im/xmpp/jid"

	"xchat/omemo"
	"xchat/store"
)

// OMEMO (legacy, eu.siacs.conversations.axolotl). The omemo package does
// the cryptography and keeps its state in the store; this file publishes
// our device and bundle, learns the devices of contacts, encrypts outgoing
// 1:1 messages for every trusted device of the peer and every other device
// of ours, and decrypts incoming ones (live, carbons, archive) in the same
// transaction that stores them. Private groups: omemo_muc.go; retries of
// undecryptable messages: omemo_retry.go. All of it runs on the owner goroutine,
// which is what the omemo.Manager requires.

// fallbackBody is the plaintext body sent next to an encrypted payload for
// clients without OMEMO (as Conversations does).
const fallbackBody = "I sent you an OMEMO encrypted message but your client doesn't seem to support that."

// EncryptionState says how the next message in a conversation will go.
type EncryptionState struct {
	Available bool   // OMEMO usable with this peer (it has devices) and enabled for the account
	Enabled   bool   // the next message will be encrypted
	Setting   string // "" (default: on when the peer has devices), "omemo", "plain"
	Devices   int    // devices that will get the key (the peer's trusted + our other ones)
	Untrusted int    // the peer's devices waiting for a trust decision: they get nothing
}

// OMEMOEvent reports something about devices and keys the user should see.
type OMEMOEvent struct {
	Account     string
	JID         string
	Device      uint32
	Fingerprint string
	Kind        string // "new-device", "undecryptable", "session-repaired"
	Text        string
}

func (e OMEMOEvent) account() string { return e.Account }

// omemoState is the OMEMO part of the owner's state.
type omemoState struct {
	m        *omemo.Manager
	lists    map[string][]uint32                // device lists known this run (bare JID → ids)
	fetching map[string][]func([]uint32, error) // device list fetches in flight, with waiters
	// listFailedAt is when a JID's list last could not be read (not "does
	// not exist": a timeout, an error): it is asked again after listRetry.
	listFailedAt map[string]time.Time
	// ownRetryAt, when set, is when publishOMEMO runs again after our own
	// list could not be read; ownListOK says the last read (or push) of it
	// succeeded, so that what we know of it may be published.
	ownRetryAt time.Time
	ownListOK  bool
	repaired   map[omemo.Address]bool
	// emptyAt is when a JID's list was last found empty or unreadable: it
	// is asked again after emptyRetry (it may publish one any time, and
	// without a presence subscription no notification tells us).
	emptyAt  map[string]time.Time
	ensuring map[string]bool             // refreshPeer in progress
	kt       []omemo.Address             // key transports owed after catch-up
	rooms    map[string]*omemoRoom       // private groups' members (omemo_muc.go)
	retry    map[omemo.Address]bool      // devices with messages waiting for a retry
	failedAt map[omemo.Address]time.Time // last failed session build per device
	failN    map[omemo.Address]int       // failed builds in a row per device
	// building holds the session builds in flight, with their waiters: two
	// sends that both find no session (a message and a file, say) must not
	// build two sessions, or the peer sees the second's PreKeySignalMessage
	// reuse a one-time prekey it has already spent.
	building map[omemo.Address][]func(error)
	// rotatedAt is when the signed prekey's age was last checked.
	rotatedAt time.Time
}

// openOMEMO loads (or creates) our identity when OMEMO is on.
func (c *Client) openOMEMO(ctx context.Context) error {
	if !c.cfg.OMEMO {
		return nil
	}
	m, err := omemo.Open(ctx, c.st, c.acct, c.log)
	if err != nil {
		return fmt.Errorf("omemo: %w", err)
	}
	if c.cfg.OMEMOManualTrust {
		m.SetPolicy(omemo.PolicyManual)
	}
	c.om = &omemoState{m: m, lists: map[string][]uint32{}, fetching: map[string][]func([]uint32, error){}, listFailedAt: map[string]time.Time{}, repaired: map[omemo.Address]bool{}, emptyAt: map[string]time.Time{}, ensuring: map[string]bool{}, retry: map[omemo.Address]bool{}, failedAt: map[omemo.Address]time.Time{}, failN: map[omemo.Address]int{}, building: map[omemo.Address][]func(error){}}
	c.loadRetries(ctx)
	return nil
}

// publishOMEMO makes sure our device is in our published list and our
// bundle is published (every login: another client may have dropped us).
// Before our id is first published it is checked against the list (another
// device of the account may have the same one); a signed prekey past its
// age is replaced first.
func (c *Client) publishOMEMO(ctx context.Context) {
	if c.om == nil {
		return
	}
	m := c.om.m
	if _, err := m.RotateSignedPreKey(ctx, time.Now()); err != nil {
		c.log.Error("omemo signed prekey rotation", "err", err)
	}
	c.om.rotatedAt = time.Now()
	c.om.ownRetryAt = time.Time{}
	c.fetchDeviceListErr(ctx, c.acct, func(ids []uint32, err error) {
		if err != nil {
			// Unreadable is not empty: publishing now could drop our other
			// devices from the list (and the id check needs it). Later.
			c.om.ownListOK = false
			c.om.ownRetryAt = time.Now().Add(ownListRetry)
			c.log.Warn("omemo: our device list could not be read; not publishing, trying again later", "err", err, "retry", ownListRetry)
			return
		}
		c.om.ownListOK = true
		if changed, err := m.ClaimDeviceID(ctx, ids); err != nil {
			c.log.Error("omemo device id", "err", err)
			return
		} else if changed {
			c.emit(NoticeEvent{Account: c.acct, Text: fmt.Sprintf("another device of this account had our OMEMO device id; this device is now %d", m.DeviceID())})
		}
		// From now on the id is ours: a list holding it (our own
		// publication, maybe still in flight) is no collision.
		if err := m.MarkPublished(ctx); err != nil {
			c.log.Error("omemo device id", "err", err)
		}
		c.publishBundle(ctx)
		if slices.Contains(ids, m.DeviceID()) {
			return
		}
		ids = append(slices.Clone(ids), m.DeviceID())
		c.om.lists[c.acct] = ids
		_ = m.SetDeviceList(ctx, c.acct, ids)
		c.publishPEP(ctx, omemo.NodeDeviceList, func(id string) []byte {
			return omemo.PublishDeviceListIQ(id, ids, omemo.PublishOptions{})
		}, nil)
	})
}

// publishBundle publishes our current bundle.
func (c *Client) publishBundle(ctx context.Context) {
	m := c.om.m
	b, err := m.Bundle(ctx)
	if err != nil {
		c.log.Error("omemo bundle", "err", err)
		return
	}
	c.publishPEP(ctx, omemo.BundleNode(m.DeviceID()), func(id string) []byte {
		return omemo.PublishBundleIQ(id, m.DeviceID(), b, omemo.PublishOptions{})
	}, nil)
}

// ownListRetry is how long after a failed read of our own device list it
// is read again (and our device published); a var for tests.
var ownListRetry = 30 * time.Second

// listRetry is how long a contact's list that could not be read is
// believed as it was known before it is asked again.
const listRetry = 30 * time.Second

// rotateCheckEvery is how often a running session checks the age of its
// signed prekey.
const rotateCheckEvery = time.Hour

// omemoTick replaces the signed prekey when it is too old (and
// republishes the bundle); called from the owner loop's ticker.
func (c *Client) omemoTick(ctx context.Context) {
	if c.om == nil || c.conn == nil || !c.conn.online {
		return
	}
	if !c.om.ownRetryAt.IsZero() && time.Now().After(c.om.ownRetryAt) {
		c.publishOMEMO(ctx) // our list could not be read at login
		return
	}
	if time.Since(c.om.rotatedAt) < rotateCheckEvery {
		return
	}
	c.om.rotatedAt = time.Now()
	rotated, err := c.om.m.RotateSignedPreKey(ctx, time.Now())
	if err != nil {
		c.log.Error("omemo signed prekey rotation", "err", err)
	}
	if rotated {
		c.publishBundle(ctx)
	}
}

// publishPEP publishes with publish-options; when the node's configuration
// does not match (precondition-not-met), it reconfigures the node and
// publishes again (XEP-0060 §7.1.5).
// done, when not nil, gets the outcome.
func (c *Client) publishPEP(ctx context.Context, node string, build func(id string) []byte, done func(error)) {
	if done == nil {
		done = func(error) {}
	}
	c.iqRaw(ctx, build(newID()), func(_ []byte, err error) {
		var iqErr *IQError
		if err == nil {
			done(nil)
			return
		}
		if !errors.As(err, &iqErr) || !omemo.PreconditionNotMet(iqErr.Raw) {
			c.log.Warn("omemo publish failed", "node", node, "err", err)
			done(err)
			return
		}
		c.iqRaw(ctx, omemo.ConfigureNodeIQ(newID(), node, omemo.PublishOptions{}), func(_ []byte, err error) {
			if err != nil {
				c.log.Warn("omemo node configuration failed", "node", node, "err", err)
				done(err)
				return
			}
			c.iqRaw(ctx, build(newID()), func(_ []byte, err error) {
				if err != nil {
					c.log.Warn("omemo publish failed again", "node", node, "err", err)
				}
				done(err)
			})
		})
	})
}

// fetchDeviceList asks for a device list (once at a time per JID) and
// records it; done gets the ids. A failed fetch changes nothing: done
// gets what was known (see fetchDeviceListErr).
func (c *Client) fetchDeviceList(ctx context.Context, bare string, done func([]uint32)) {
	c.fetchDeviceListErr(ctx, bare, func(ids []uint32, _ error) { done(ids) })
}

// fetchDeviceListErr is fetchDeviceList telling failures apart. Only an
// answer that says the list does not exist (item-not-found, an empty node)
// counts as an empty list. Any other failure
// (timeout, disconnect, server error, a malformed list) leaves the known
// list, in memory and in the store, as it was — treating it as empty would
// drop devices from our view or, for our own list, from the published one
// — and err says so; done then gets the list known before (in memory, or
// the active devices stored by an earlier run).
func (c *Client) fetchDeviceListErr(ctx context.Context, bare string, done func([]uint32, error)) {
	if waiters, busy := c.om.fetching[bare]; busy {
		c.om.fetching[bare] = append(waiters, done)
		return
	}
	c.om.fetching[bare] = []func([]uint32, error){}
	c.iqRaw(ctx, omemo.FetchDeviceListIQ(newID(), bare), func(full []byte, err error) {
		var ids []uint32
		if err == nil {
			ids, err = omemo.FindDeviceList(full)
		}
		if err != nil && listAbsent(err) {
			ids, err = nil, nil
		}
		if err != nil {
			var iqErr *IQError
			if errors.As(err, &iqErr) && iqErr.Condition == "forbidden" {
				c.log.Info("omemo: device list not readable", "jid", bare)
			} else {
				c.log.Warn("omemo: device list not read; keeping the known one", "jid", bare, "err", err)
			}
			c.om.listFailedAt[bare] = time.Now()
			if ids = c.knownDeviceList(ctx, bare); len(ids) == 0 {
				c.om.emptyAt[bare] = time.Now() // nothing to keep: ask again soon
			}
		} else {
			delete(c.om.listFailedAt, bare)
			c.setDeviceList(ctx, bare, ids)
			if len(ids) == 0 {
				c.om.emptyAt[bare] = time.Now()
			} else {
				delete(c.om.emptyAt, bare)
			}
		}
		waiters := c.om.fetching[bare]
		delete(c.om.fetching, bare)
		done(ids, err)
		for _, w := range waiters {
			w(ids, err)
		}
	})
}

// listAbsent reports whether a fetch error means that the device list does
// not exist. forbidden does not: Prosody answers it to a stranger asking
// about a node that does not exist, but also when the node's access model
// keeps us out — then the devices we know are still there.
func listAbsent(err error) bool {
	if errors.Is(err, omemo.ErrNoItem) {
		return true
	}
	var iqErr *IQError
	return errors.As(err, &iqErr) && iqErr.Condition == "item-not-found"
}

// hasDevices reports whether bare has OMEMO devices: by this run's list,
// or before it is known (just started, offline) by the active devices an
// earlier run stored — the list fetched before sending has the last word.
func (c *Client) hasDevices(ctx context.Context, bare string) bool {
	if ids, ok := c.om.lists[bare]; ok {
		return len(ids) > 0
	}
	recips, err := c.om.m.Recipients(ctx, bare)
	return err == nil && len(recips) > 0
}

// knownDeviceList returns the list known for bare: this run's, else the
// active devices an earlier run stored (put in memory, so that a contact
// whose list cannot be read now keeps getting encrypted messages, and is
// not asked again before listStale says so).
func (c *Client) knownDeviceList(ctx context.Context, bare string) []uint32 {
	if ids, ok := c.om.lists[bare]; ok {
		return ids
	}
	recips, err := c.om.m.Recipients(ctx, bare)
	if err != nil {
		return nil
	}
	ids := make([]uint32, 0, len(recips)+1)
	for _, a := range recips {
		ids = append(ids, a.Device)
	}
	if bare == c.acct {
		ids = append(ids, c.om.m.DeviceID())
	}
	c.om.lists[bare] = ids
	return ids
}

// setDeviceList records a list and announces devices we had not seen.
func (c *Client) setDeviceList(ctx context.Context, bare string, ids []uint32) {
	old, known := c.om.lists[bare]
	c.om.lists[bare] = ids
	if err := c.om.m.SetDeviceList(ctx, bare, ids); err != nil {
		c.log.Error("omemo device list", "err", err)
	}
	if !slices.Equal(old, ids) && (known || len(ids) > 0) {
		// The header's "how many devices" may change: the UI asks again.
		defer c.emit(OMEMOEvent{Account: c.acct, JID: bare, Kind: "devices"})
	}
	if !known {
		return
	}
	for _, id := range ids {
		if !slices.Contains(old, id) {
			// Announced anew: its bundle is worth another look at once.
			delete(c.om.failedAt, omemo.Address{JID: bare, Device: id})
			delete(c.om.failN, omemo.Address{JID: bare, Device: id})
		}
		if !slices.Contains(old, id) && !(bare == c.acct && id == c.om.m.DeviceID()) {
			c.emit(OMEMOEvent{Account: c.acct, JID: bare, Device: id, Kind: "new-device",
				Text: fmt.Sprintf("%s has a new OMEMO device %d", bare, id)})
		}
	}
}

// deviceListEvent applies a device list pushed by PEP.
func (c *Client) deviceListEvent(from string, raw []byte) bool {
	if c.om == nil || !strings.Contains(string(raw), omemo.NodeDeviceList) {
		return false
	}
	ids, err := omemo.FindDeviceList(raw)
	if err != nil {
		return false
	}
	bare := c.acct
	if from != "" {
		j, err := jid.Parse(from)
		if err != nil {
			return true
		}
		bare = j.Bare().String()
	}
	ctx := context.Background()
	delete(c.om.listFailedAt, bare)
	c.setDeviceList(ctx, bare, ids)
	if bare == c.acct {
		c.om.ownListOK = true // the server's word on our list
	}
	if bare == c.acct && !slices.Contains(ids, c.om.m.DeviceID()) {
		// Another client published a list without us: put us back.
		c.publishOMEMO(ctx)
	}
	return true
}

// ensureSessions builds sessions for the devices of jids that have none,
// from their bundles, then calls done.
func (c *Client) ensureSessions(ctx context.Context, jids []string, done func()) {
	pending := 1
	finish := func() {
		pending--
		if pending == 0 {
			done()
		}
	}
	for _, bare := range jids {
		pending++
		c.withDeviceList(ctx, bare, func(ids []uint32) {
			for _, id := range ids {
				addr := omemo.Address{JID: bare, Device: id}
				if bare == c.acct && id == c.om.m.DeviceID() {
					continue
				}
				if ok, _ := c.om.m.HasSession(ctx, addr); ok || c.recentlyFailed(addr) {
					continue
				}
				pending++
				c.buildSession(ctx, addr, func(error) { finish() })
			}
			finish()
		})
	}
	finish()
}

// withDeviceList calls f with the known list, fetching it first if needed.
func (c *Client) withDeviceList(ctx context.Context, bare string, f func([]uint32)) {
	if ids, ok := c.om.lists[bare]; ok && !c.listStale(bare) {
		f(ids)
		return
	}
	c.fetchDeviceList(ctx, bare, f)
}

// refreshPeer learns peer's devices and builds the missing sessions in the
// background; an OMEMOEvent of kind "devices" says when it is done.
func (c *Client) refreshPeer(peer string) {
	if c.conn == nil || !c.conn.online || c.om.ensuring[peer] {
		return
	}
	ctx := context.Background()
	if !c.sessionsMissing(ctx, []string{peer, c.acct}) {
		return
	}
	c.om.ensuring[peer] = true
	c.withDeviceList(ctx, peer, func([]uint32) {
		c.ensureSessions(ctx, []string{peer, c.acct}, func() {
			delete(c.om.ensuring, peer)
			c.emit(OMEMOEvent{Account: c.acct, JID: peer, Kind: "devices"})
		})
	})
}

// sessionsMissing reports whether a device list of jids is unknown (or an
// empty one is due again) or a device lacks a session that was not just
// tried in vain.
func (c *Client) sessionsMissing(ctx context.Context, jids []string) bool {
	for _, j := range jids {
		if _, known := c.om.lists[j]; !known || c.listStale(j) {
			return true
		}
	}
	recips, err := c.om.m.Recipients(ctx, jids...)
	if err != nil {
		return false
	}
	for _, a := range recips {
		if c.recentlyFailed(a) {
			continue
		}
		if ok, _ := c.om.m.HasSession(ctx, a); !ok {
			return true
		}
	}
	return false
}

// buildRetry is how long a device whose bundle did not give a session is
// left alone at most (a broken or missing bundle is not fetched on every
// look). The first failures wait less (firstBuildRetry, doubling): a
// device's id can reach its list before its bundle is published.
const (
	buildRetry      = time.Minute
	firstBuildRetry = 2 * time.Second
)

func (c *Client) recentlyFailed(a omemo.Address) bool {
	t, ok := c.om.failedAt[a]
	if !ok {
		return false
	}
	wait := buildRetry
	if n := c.om.failN[a]; n > 0 && n <= 5 {
		wait = min(buildRetry, firstBuildRetry<<(n-1))
	}
	return time.Since(t) < wait
}

// emptyRetry is how long an empty device list is believed.
const emptyRetry = 3 * time.Second

// listStale reports whether an empty list, or one that could not be
// read, should be asked again.
func (c *Client) listStale(bare string) bool {
	if t, ok := c.om.listFailedAt[bare]; ok && time.Since(t) > listRetry {
		return true
	}
	t, ok := c.om.emptyAt[bare]
	return ok && time.Since(t) > emptyRetry
}

// buildSession fetches a device's bundle and builds a session from it.
func (c *Client) buildSession(ctx context.Context, addr omemo.Address, done func(error)) {
	if waiters, ok := c.om.building[addr]; ok {
		c.om.building[addr] = append(waiters, done)
		return
	}
	c.om.building[addr] = []func(error){done}
	finish := func(err error) {
		waiters := c.om.building[addr]
		delete(c.om.building, addr)
		for _, w := range waiters {
			w(err)
		}
	}
	c.iqRaw(ctx, omemo.FetchBundleIQ(newID(), addr.JID, addr.Device), func(full []byte, err error) {
		var b *omemo.Bundle
		if err == nil {
			b, err = omemo.FindBundle(full)
		}
		if err == nil {
			err = c.om.m.ProcessBundle(ctx, addr.JID, addr.Device, b)
		}
		if err != nil {
			c.log.Info("omemo: no session with device", "jid", addr.JID, "device", addr.Device, "err", err)
			c.om.failedAt[addr] = time.Now()
			c.om.failN[addr]++
		} else {
			delete(c.om.failedAt, addr)
			delete(c.om.failN, addr)
		}
		finish(err)
	})
}

// wantEncryption decides whether a message to peer is encrypted, from the
// conversation's setting and whether the peer has devices.
func (c *Client) wantEncryption(ctx context.Context, peer string) (bool, error) {
	if c.om == nil {
		return false, nil
	}
	setting, err := c.st.ConversationEncryption(ctx, c.acct, peer)
	if err != nil {
		return false, err
	}
	if c.isRoom(peer) {
		return c.wantRoomEncryption(peer, setting), nil
	}
	switch setting {
	case "plain":
		return false, nil
	case "omemo":
		return true, nil
	}
	return c.hasDevices(ctx, peer), nil
}

// prepareOMEMO learns the peer's devices (so the default choice is right)
// before a message is sent, then calls send.
func (c *Client) prepareOMEMO(ctx context.Context, peer string, send func()) {
	if c.om == nil || c.conn == nil || !c.conn.online {
		send()
		return
	}
	if c.isRoom(peer) {
		c.prepareRoomOMEMO(ctx, peer, send)
		return
	}
	c.withDeviceList(ctx, peer, func([]uint32) {
		on, _ := c.wantEncryption(ctx, peer)
		if !on {
			send()
			return
		}
		c.ensureSessions(ctx, []string{peer, c.acct}, send)
	})
}

// presetEncryption marks a new outgoing message encrypted when what is
// known now says it will be, so that it shows so from the start;
// settleEncryption corrects it when it goes out.
func (c *Client) presetEncryption(ctx context.Context, m *store.Message) {
	if c.om == nil || m.Kind != store.KindChat && m.Kind != store.KindGroupchat {
		return
	}
	if on, err := c.wantEncryption(ctx, m.Peer); err == nil && on {
		m.Encryption = "omemo"
	}
}

// settleEncryption records how a queued message actually goes out and
// tells the UI when that differs from what was stored.
func (c *Client) settleEncryption(ctx context.Context, m *store.Message, on bool) {
	want := ""
	if on {
		want = "omemo"
	}
	if m.Encryption == want {
		return
	}
	m.Encryption = want
	if err := c.st.SetMessageEncryption(ctx, m.ID, want); err != nil {
		c.log.Error("store: message encryption", "err", err)
		return
	}
	c.emit(MessageUpdatedEvent{Account: c.acct, Peer: m.Peer, ID: m.ID, What: "encryption"})
}

// encryptedStanza builds the OMEMO part of a message to peer: the
// <encrypted/> element, the EME hint (XEP-0380) and the store hint
// (XEP-0334), or an error when no device could get the key.
func (c *Client) encryptedStanza(ctx context.Context, peer, body string) (string, error) {
	if c.isRoom(peer) && !c.privateGroup(peer) {
		return "", errNotPrivate(peer)
	}
	recips, err := c.om.m.Recipients(ctx, c.omemoJIDs(peer)...)
	if err != nil {
		return "", err
	}
	enc, errs := c.om.m.Encrypt(ctx, body, recips)
	for _, e := range errs {
		c.log.Info("omemo: device skipped", "err", e)
	}
	if enc == nil {
		if c.isRoom(peer) {
			return "", fmt.Errorf("no member of %s has a trusted OMEMO device", peer)
		}
		return "", fmt.Errorf("%s has no trusted OMEMO device: see /omemo fingerprint %s", peer, peer)
	}
	var b strings.Builder
	b.Write(enc.Marshal())
	b.WriteString(`<encryption xmlns="urn:xmpp:eme:0" namespace="eu.siacs.conversations.axolotl" name="OMEMO"></encryption>`)
	b.WriteString(`<store xmlns="urn:xmpp:hints"></store>`)
	return b.String(), nil
}

// decryptInto decrypts an OMEMO message into msg and stores it in one
// transaction with the ratchet update. It returns false when the message
// was not OMEMO (the caller stores it as usual). A message already stored
// (same stanza-id or origin-id) is not decrypted again: its message key is
// gone and a second attempt would only fail.
//
// apply, when set, applies the message's features (XEP-0308, 0424, 0444,
// 0461) with the decrypted body, in the same transaction; it returns true
// when the message changed another one and is not stored itself.
func (c *Client) decryptInto(ctx context.Context, inner []byte, msg *store.Message, fromBare string, apply func(context.Context, *store.Message) bool) (handled, inserted bool) {
	if c.om == nil {
		return false, false
	}
	enc, err := omemo.FindEncrypted(inner)
	if err != nil {
		return false, false
	}
	if c.alreadyStored(ctx, msg) {
		if msg.StanzaID != "" {
			_, _ = c.st.AddMessage(ctx, msg) // records a missing stanza-id
		}
		return true, false
	}
	msg.Encryption = "omemo"
	release := c.holdEvents()
	err = c.st.WithTx(ctx, func(ctx context.Context) error {
		pt, err := c.om.m.Decrypt(ctx, fromBare, enc)
		if err != nil {
			return err
		}
		if pt.KeyTransport {
			msg.Body = ""
		} else {
			msg.Body = pt.Body
		}
		if pt.NewSession && fromBare != c.acct {
			c.om.kt = append(c.om.kt, pt.Sender)
		}
		if pt.NewSession {
			// The sender's key is known now (trusted or not): the UI's
			// count of devices may change. Held until the commit.
			c.emit(OMEMOEvent{Account: c.acct, JID: fromBare, Device: enc.SID, Kind: "devices"})
		}
		if pt.KeyTransport {
			return nil
		}
		if apply != nil && apply(ctx, msg) {
			return nil // an encrypted correction, retraction…: applied to the original
		}
		inserted, err = c.st.AddMessage(ctx, msg)
		if err != nil || !inserted {
			return err
		}
		if msg.ReplyTo != "" {
			if err := c.st.SetReplyTo(ctx, msg.ID, msg.ReplyTo); err != nil {
				return err
			}
		}
		msg.SenderDevice, msg.Untrusted = enc.SID, untrustedState(pt.Trust)
		return c.st.SetOMEMOSender(ctx, msg.ID, msg.SenderDevice, msg.Untrusted)
	})
	release(err == nil)
	switch {
	case errors.Is(err, omemo.ErrNotForThisDevice) && (fromBare == c.acct || enc.Payload == nil):
		// Our own message sent from this device, back from the archive,
		// or a key transport for another device: keep it out of the history.
		c.log.Info("omemo message not encrypted for this device", "from", fromBare, "sid", enc.SID)
		return true, false
	case omemo.IsReplay(err):
		// Decrypted here before (a correction or key transport, which
		// leave no row to recognise it by): nothing to store or repair.
		c.log.Info("omemo message seen again", "from", fromBare, "sid", enc.SID)
		return true, false
	case errors.Is(err, omemo.ErrNotForThisDevice):
		// The sender did not encrypt it for us (it did not know or trust
		// this device): say so rather than drop it.
		msg.Body = ""
		msg.Error = "not encrypted for this device"
		inserted, _ = c.st.AddMessage(ctx, msg)
	case err != nil:
		msg.Body = ""
		msg.Error = "could not decrypt: " + err.Error()
		inserted, _ = c.st.AddMessage(ctx, msg)
		if inserted {
			msg.SenderDevice = enc.SID
			_ = c.st.SetOMEMOSender(ctx, msg.ID, enc.SID, false)
			c.keepForRetry(ctx, msg, fromBare, enc, inner)
		}
		c.emit(OMEMOEvent{Account: c.acct, JID: fromBare, Device: enc.SID, Kind: "undecryptable", Text: msg.Error})
		c.repairSession(ctx, omemo.Address{JID: fromBare, Device: enc.SID})
	}
	if inserted {
		c.emit(MessageEvent{Account: c.acct, Message: *msg})
	}
	if err == nil {
		// A session with this device may make waiting messages readable.
		c.retryDevice(ctx, omemo.Address{JID: fromBare, Device: enc.SID})
		if c.caughtUp && len(c.om.kt) > 0 {
			c.settleNewSessions(ctx) // a live first contact
		}
	}
	if err == nil && fromBare != c.acct {
		if ids := c.om.lists[fromBare]; !slices.Contains(ids, enc.SID) {
			// A device we do not know: its owner's list changed.
			delete(c.om.lists, fromBare)
			c.withDeviceList(ctx, fromBare, func([]uint32) {})
		}
	}
	return true, inserted
}

// chatFeatures applies a decrypted 1:1 message's features (decryptInto).
func (c *Client) chatFeatures(m *inMessage) func(context.Context, *store.Message) bool {
	return func(ctx context.Context, msg *store.Message) bool { return c.applyFeatures(ctx, m, msg) }
}

// alreadyStored reports whether msg (by stanza-id or origin-id) is stored.
func (c *Client) alreadyStored(ctx context.Context, msg *store.Message) bool {
	if msg.StanzaID != "" {
		if _, err := c.st.MessageByStanzaID(ctx, c.acct, msg.StanzaBy, msg.StanzaID); err == nil {
			return true
		}
	}
	if msg.OriginID != "" {
		if old, err := c.st.MessageByOriginID(ctx, c.acct, msg.Peer, msg.OriginID); err == nil && old.Sender == msg.Sender {
			return true
		}
	}
	return false
}

// repairSession rebuilds a broken session from the bundle and sends a key
// transport, once per device per run, so the peer's next message works.
func (c *Client) repairSession(ctx context.Context, addr omemo.Address) {
	if c.om.repaired[addr] || c.conn == nil {
		return
	}
	c.om.repaired[addr] = true
	c.buildSession(ctx, addr, func(err error) {
		if err != nil {
			return
		}
		c.sendKeyTransport(ctx, []omemo.Address{addr})
		c.retryDevice(ctx, addr)
		c.emit(OMEMOEvent{Account: c.acct, JID: addr.JID, Device: addr.Device, Kind: "session-repaired",
			Text: fmt.Sprintf("rebuilt the OMEMO session with %s's device %d", addr.JID, addr.Device)})
	})
}

// sendKeyTransport sends an empty OMEMO message to addrs (after a session
// was built from a PreKeySignalMessage, or repaired).
func (c *Client) sendKeyTransport(ctx context.Context, addrs []omemo.Address) {
	byJID := map[string][]omemo.Address{}
	for _, a := range addrs {
		byJID[a.JID] = append(byJID[a.JID], a)
	}
	for to, as := range byJID {
		enc, errs := c.om.m.EncryptKeyTransport(ctx, as)
		if enc == nil {
			c.log.Info("no key transport", "to", to, "errs", errs)
			continue
		}
		out := outMessage{ID: newID(), To: to, Type: "chat", Raw: string(enc.Marshal()) + `<store xmlns="urn:xmpp:hints"></store>`}
		if err := c.send(ctx, out); err != nil {
			c.log.Info("key transport failed", "to", to, "err", err)
		}
	}
}

// afterCatchUpOMEMO runs once the archive catch-up is done: owed key
// transports go out and used prekeys are deleted (not before: a message
// still in the archive may need one) and replaced.
func (c *Client) afterCatchUpOMEMO(ctx context.Context) {
	if c.om == nil {
		return
	}
	c.retryUndecrypted(ctx, "", 0)
	c.settleNewSessions(ctx)
}

// settleNewSessions sends the key transports owed to devices that started
// a session with a PreKeySignalMessage, and replaces the prekeys those
// used (republishing the bundle). Until the catch-up is over it waits:
// the archive may still hold messages needing those prekeys.
func (c *Client) settleNewSessions(ctx context.Context) {
	republish := false
	if n, err := c.om.m.PurgeUsedPreKeys(ctx); err == nil && n > 0 {
		_, err := c.om.m.RefillPreKeys(ctx)
		republish = err == nil
	}
	kt := c.om.kt
	c.om.kt = nil
	if len(kt) > 0 {
		c.sendKeyTransport(ctx, kt)
	}
	if republish {
		c.publishBundle(ctx)
	}
}

// Encryption reports how the next message to peer will be sent.
func (c *Client) Encryption(ctx context.Context, peer string) (EncryptionState, error) {
	var st EncryptionState
	err := c.do(ctx, func() error {
		if c.om == nil {
			return nil
		}
		setting, err := c.st.ConversationEncryption(ctx, c.acct, peer)
		if err != nil {
			return err
		}
		if c.isRoom(peer) {
			return c.roomEncryption(ctx, peer, setting, &st)
		}
		c.refreshPeer(peer)
		st.Setting = setting
		st.Available = c.hasDevices(ctx, peer)
		st.Enabled, _ = c.wantEncryption(ctx, peer)
		recips, err := c.om.m.Recipients(ctx, peer, c.acct)
		if err != nil {
			return err
		}
		for _, a := range recips {
			if c.om.m.Trusted(ctx, a) {
				st.Devices++
			} else if a.JID == peer {
				if ts, err := c.om.m.TrustOf(ctx, a); err == nil && ts == omemo.Undecided {
					st.Untrusted++
				}
			}
		}
		return nil
	})
	return st, err
}

// SetEncryption sets a conversation's choice: "omemo", "plain" or "".
func (c *Client) SetEncryption(ctx context.Context, peer, setting string) error {
	return c.do(ctx, func() error {
		if setting == "omemo" && c.om == nil {
			return errors.New("OMEMO is off for this account (omemo = false in the configuration)")
		}
		if c.isRoom(peer) {
			return c.setRoomEncryption(ctx, peer, setting)
		}
		return c.st.SetConversationEncryption(ctx, c.acct, peer, store.KindChat, setting)
	})
}

// OMEMOOwn returns our device id, our fingerprint (grouped) and our
// xmpp: URI for verification by QR code.
func (c *Client) OMEMOOwn(ctx context.Context) (uint32, string, string, error) {
	var (
		id       uint32
		fp, uri  string
		errNoOME = errors.New("OMEMO is off for this account")
	)
	err := c.do(ctx, func() error {
		if c.om == nil {
			return errNoOME
		}
		id, fp, uri = c.om.m.DeviceID(), omemo.FormatFingerprint(c.om.m.Fingerprint()), c.om.m.URI()
		return nil
	})
	return id, fp, uri, err
}

// OMEMODevices lists the known devices of jid (our own with our JID).
func (c *Client) OMEMODevices(ctx context.Context, bare string) ([]omemo.DeviceInfo, error) {
	var out []omemo.DeviceInfo
	err := c.do(ctx, func() error {
		if c.om == nil {
			return errors.New("OMEMO is off for this account")
		}
		var err error
		out, err = c.om.m.Devices(ctx, bare)
		return err
	})
	return out, err
}

// OMEMOSetTrust decides about a device's key, named by its fingerprint.
func (c *Client) OMEMOSetTrust(ctx context.Context, bare, fingerprint string, state omemo.TrustState) error {
	fp := strings.ToLower(strings.Join(strings.Fields(fingerprint), ""))
	return c.do(ctx, func() error {
		if c.om == nil {
			return errors.New("OMEMO is off for this account")
		}
		devs, err := c.om.m.Devices(ctx, bare)
		if err != nil {
			return err
		}
		for _, d := range devs {
			if d.Fingerprint == fp {
				return c.om.m.SetTrust(ctx, d.Address, fp, state)
			}
		}
		return fmt.Errorf("no device of %s has the fingerprint %s", bare, omemo.FormatFingerprint(fp))
	})
}

// OMEMOVerifyURI marks the devices named in an xmpp: URI as verified.
func (c *Client) OMEMOVerifyURI(ctx context.Context, uri string) (int, error) {
	var n int
	err := c.do(ctx, func() error {
		if c.om == nil {
			return errors.New("OMEMO is off for this account")
		}
		var err error
		n, err = c.om.m.VerifyURI(ctx, uri)
		return err
	})
	return n, err
}

// OMEMORemoveDevices drops stale devices of ours from our published list.
func (c *Client) OMEMORemoveDevices(ctx context.Context, ids []uint32) error {
	return c.online(ctx, func(done func(error)) {
		if c.om == nil {
			done(errors.New("OMEMO is off for this account"))
			return
		}
		if !c.om.ownListOK {
			// Publishing a list we could not read would drop devices.
			done(errors.New("our OMEMO device list could not be read from the server yet; try again later"))
			return
		}
		cur := slices.DeleteFunc(slices.Clone(c.om.lists[c.acct]), func(id uint32) bool {
			return slices.Contains(ids, id) && id != c.om.m.DeviceID()
		})
		c.setDeviceList(ctx, c.acct, cur)
		c.iqRaw(ctx, omemo.PublishDeviceListIQ(newID(), cur, omemo.PublishOptions{}), func(_ []byte, err error) { done(err) })
	})
}
