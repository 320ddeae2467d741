package omemo

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"strings"
	"time"

	"go.mau.fi/libsignal/ecc"
	"go.mau.fi/libsignal/keys/identity"
	"go.mau.fi/libsignal/keys/prekey"
	"go.mau.fi/libsignal/protocol"
	"go.mau.fi/libsignal/serialize"
	"go.mau.fi/libsignal/session"
	"go.mau.fi/libsignal/signalerror"
	"go.mau.fi/libsignal/state/record"
	"go.mau.fi/libsignal/util/keyhelper"
	"go.mau.fi/libsignal/util/optional"

	"xchat/store"
)

// Tunables of key management.
const (
	// PreKeyCount is how many unused one-time prekeys we publish.
	PreKeyCount = 100
	// SignedPreKeyMaxAge is when RotateSignedPreKey replaces the signed prekey.
	SignedPreKeyMaxAge = 7 * 24 * time.Hour
	// SignedPreKeyGrace is how long a replaced signed prekey is kept for
	// PreKeySignalMessages that were built on it before the rotation.
	SignedPreKeyGrace = 30 * 24 * time.Hour
)

// Errors reported by the Manager.
var (
	ErrNotForThisDevice = errors.New("omemo: message not encrypted for this device")
	ErrNoSession        = errors.New("omemo: no session with device")
	ErrUntrusted        = errors.New("omemo: device not trusted")
	ErrDecrypt          = errors.New("omemo: decryption failed")
	// ErrInternal wraps a panic of libsignal (it panics on some malformed
	// input) turned into an error.
	ErrInternal = errors.New("omemo: libsignal failed")
)

// IsReplay reports whether Decrypt failed because this device decrypted
// the message before (its message key is spent: libsignal's "old
// counter"): a copy seen again — from the archive, a carbon — not a broken
// session.
func IsReplay(err error) bool { return errors.Is(err, signalerror.ErrOldCounter) }

// Address names a device: a bare JID and a device id.
type Address struct {
	JID    string
	Device uint32
}

func (a Address) String() string { return fmt.Sprintf("%s:%d", a.JID, a.Device) }

func (a Address) signal() *protocol.SignalAddress { return protocol.NewSignalAddress(a.JID, a.Device) }

// DeviceError says why a recipient device got no key.
type DeviceError struct {
	Addr Address
	Err  error
}

func (e DeviceError) Error() string { return e.Addr.String() + ": " + e.Err.Error() }
func (e DeviceError) Unwrap() error { return e.Err }

// Plaintext is the result of Decrypt.
type Plaintext struct {
	// Body is the decrypted message body (empty for a key transport).
	Body string
	// KeyTransport is set when the element had no payload; Key then holds
	// the transported key material.
	KeyTransport bool
	Key          []byte
	// Sender is the device that sent the message.
	Sender Address
	// NewSession is set when a PreKeySignalMessage built a new session: a
	// one-time prekey was consumed, so refill and republish the bundle, and
	// after catch-up send a key transport (EncryptKeyTransport) to Sender so
	// that it stops sending PreKeySignalMessages.
	NewSession bool
	// Trust is the sender device's trust state (decryption does not depend
	// on it; show untrusted messages as such).
	Trust TrustState
}

// Manager holds the legacy OMEMO state of one account.
//
// A Manager is not safe for concurrent use: call all its methods from one
// goroutine (the account's session goroutine). The database it writes may be
// shared with other goroutines.
type Manager struct {
	st      *store.Store
	account string
	log     *slog.Logger
	s       *sigStore
	ser     *serialize.Serializer
	policy  Policy
	stmts   dbStmts
}

// Open loads the OMEMO state of account from st, creating it on first use:
// an identity key pair, a random device id, a signed prekey and PreKeyCount
// one-time prekeys. log may be nil.
func Open(ctx context.Context, st *store.Store, account string, log *slog.Logger) (*Manager, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	acct, err := st.EnsureAccount(ctx, account)
	if err != nil {
		return nil, err
	}
	m := &Manager{st: st, account: account, log: log, ser: serialize.NewProtoBufSerializer(),
		stmts: dbStmts{db: st.DB(), stmts: map[string]*sql.Stmt{}}}
	m.s = &sigStore{st: st, acct: acct, ser: m.ser, now: time.Now, initialTrust: m.initialTrust,
		cache: map[Address]*record.Session{}, pending: map[Address]*record.Session{}}
	err = st.WithTx(ctx, func(ctx context.Context) error {
		var dev int64
		var pub, priv []byte
		err := st.Q(ctx).QueryRowContext(ctx,
			"SELECT device_id, identity_pub, identity_priv FROM omemo_own WHERE account_id = ?", acct).
			Scan(&dev, &pub, &priv)
		if errors.Is(err, sql.ErrNoRows) {
			return m.create(ctx)
		}
		if err != nil {
			return fmt.Errorf("omemo: load identity: %w", err)
		}
		if len(pub) != 32 || len(priv) != 32 || !ValidDeviceID(uint32(dev)) {
			return errors.New("omemo: stored identity is corrupt")
		}
		m.s.deviceID = uint32(dev)
		m.s.pair = identity.NewKeyPair(identity.NewKey(ecc.NewDjbECPublicKey([32]byte(pub))),
			ecc.NewDjbECPrivateKey([32]byte(priv)))
		return nil
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// randomDeviceID returns a uniformly random id in 1..2^31−1.
func randomDeviceID() uint32 {
	n, err := rand.Int(rand.Reader, big.NewInt(1<<31-1))
	if err != nil {
		panic(err) // crypto/rand does not fail
	}
	return uint32(n.Int64()) + 1
}

func (m *Manager) create(ctx context.Context) (err error) {
	defer recoverTo(&err)
	pair, err := keyhelper.GenerateIdentityKeyPair()
	if err != nil {
		return err
	}
	m.s.pair = pair
	m.s.deviceID = randomDeviceID()
	priv := pair.PrivateKey().Serialize()
	_, err = m.s.q(ctx).ExecContext(ctx, `INSERT INTO omemo_own (account_id, device_id, identity_pub, identity_priv, created, published)
		VALUES (?, ?, ?, ?, ?, 0)`, m.s.acct, m.s.deviceID, rawKey(pair.PublicKey()), priv[:], time.Now().UnixMilli())
	if err != nil {
		return fmt.Errorf("omemo: store identity: %w", err)
	}
	if err := m.newSignedPreKey(ctx); err != nil {
		return err
	}
	_, err = m.refill(ctx)
	return err
}

// recoverTo turns a panic (libsignal panics on some malformed input) into
// an error.
func recoverTo(err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("%w: %v", ErrInternal, r)
	}
}

// nextID takes the next value of one of omemo_own's id counters.
func (m *Manager) nextID(ctx context.Context, column string, n int) (uint32, error) {
	var id int64
	err := m.s.q(ctx).QueryRowContext(ctx, "UPDATE omemo_own SET "+column+" = "+column+" + ? WHERE account_id = ? RETURNING "+column,
		n, m.s.acct).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("omemo: next id: %w", err)
	}
	first := id - int64(n)
	if first < 1 || id > 1<<32-1 {
		return 0, errors.New("omemo: key ids exhausted")
	}
	return uint32(first), nil
}

func (m *Manager) newSignedPreKey(ctx context.Context) (err error) {
	defer recoverTo(&err)
	id, err := m.nextID(ctx, "legacy_next_signed_prekey_id", 1)
	if err != nil {
		return err
	}
	spk, err := keyhelper.GenerateSignedPreKey(m.s.pair, id, m.ser.SignedPreKeyRecord)
	if err != nil {
		return err
	}
	return m.s.StoreSignedPreKey(ctx, id, spk)
}

// refill generates prekeys until PreKeyCount are unused.
func (m *Manager) refill(ctx context.Context) (added int, err error) {
	defer recoverTo(&err)
	var unused int
	if err := m.s.q(ctx).QueryRowContext(ctx, "SELECT count(*) FROM omemo_legacy_prekeys WHERE account_id = ? AND used = 0",
		m.s.acct).Scan(&unused); err != nil {
		return 0, fmt.Errorf("omemo: count prekeys: %w", err)
	}
	n := PreKeyCount - unused
	if n <= 0 {
		return 0, nil
	}
	first, err := m.nextID(ctx, "legacy_next_prekey_id", n)
	if err != nil {
		return 0, err
	}
	// GeneratePreKeys' end is inclusive.
	keys, err := keyhelper.GeneratePreKeys(int(first), int(first)+n-1, m.ser.PreKeyRecord)
	if err != nil {
		return 0, err
	}
	for _, k := range keys {
		if err := m.s.StorePreKey(ctx, k.ID().Value, k); err != nil {
			return 0, err
		}
	}
	return n, nil
}

// Close releases the Manager's prepared statements. The Manager must not be
// used afterwards; the store stays open.
func (m *Manager) Close() error {
	var errs []error
	for q, st := range m.stmts.stmts {
		errs = append(errs, st.Close())
		delete(m.stmts.stmts, q)
	}
	return errors.Join(errs...)
}

// Account returns the account's bare JID.
func (m *Manager) Account() string { return m.account }

// DeviceID returns our device id.
func (m *Manager) DeviceID() uint32 { return m.s.deviceID }

// IdentityKey returns our public identity key (33 bytes, 0x05 ‖ key).
func (m *Manager) IdentityKey() []byte { return m.s.pair.PublicKey().Serialize() }

// Fingerprint returns our identity key's fingerprint: lowercase hex of the
// 32-byte key. FormatFingerprint groups it for display.
func (m *Manager) Fingerprint() string { return hex.EncodeToString(rawKey(m.s.pair.PublicKey())) }

// FingerprintOf returns the fingerprint of a public key given as 32 bytes or
// as 33 bytes with the 0x05 prefix.
func FingerprintOf(key []byte) string {
	if len(key) == 33 && key[0] == 0x05 {
		key = key[1:]
	}
	return hex.EncodeToString(key)
}

// FormatFingerprint splits a hex fingerprint into space-separated groups of
// eight characters.
func FormatFingerprint(fp string) string {
	var b strings.Builder
	for i := 0; i < len(fp); i += 8 {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(fp[i:min(i+8, len(fp))])
	}
	return b.String()
}

// SetPolicy chooses how identity keys seen for the first time are trusted
// (default PolicyBTBV).
func (m *Manager) SetPolicy(p Policy) { m.policy = p }

// Bundle returns our bundle for publishing: identity key, the newest signed
// prekey and all unused one-time prekeys.
func (m *Manager) Bundle(ctx context.Context) (b *Bundle, err error) {
	defer recoverTo(&err)
	spks, err := m.s.LoadSignedPreKeys(ctx)
	if err != nil {
		return nil, err
	}
	if len(spks) == 0 {
		return nil, errors.New("omemo: no signed prekey")
	}
	spk := spks[len(spks)-1] // ordered by id: the newest
	sig := spk.Signature()
	b = &Bundle{
		SignedPreKeyID: spk.ID(),
		SignedPreKey:   spk.KeyPair().PublicKey().Serialize(),
		Signature:      sig[:],
		IdentityKey:    m.IdentityKey(),
	}
	rows, err := m.s.q(ctx).QueryContext(ctx, "SELECT id, pub FROM omemo_legacy_prekeys WHERE account_id = ? AND used = 0 ORDER BY id",
		m.s.acct)
	if err != nil {
		return nil, fmt.Errorf("omemo: load prekeys: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var pk PreKeyPublic
		var pub []byte
		if err := rows.Scan(&pk.ID, &pub); err != nil {
			return nil, err
		}
		if len(pub) != 32 {
			return nil, errors.New("omemo: stored prekey is corrupt")
		}
		pk.Key = append([]byte{ecc.DjbType}, pub...)
		b.PreKeys = append(b.PreKeys, pk)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return b, nil
}

// RefillPreKeys tops the unused one-time prekeys up to PreKeyCount and
// reports how many it added (republish the bundle when > 0). Ids are never
// reused.
func (m *Manager) RefillPreKeys(ctx context.Context) (added int, err error) {
	err = m.withTx(ctx, func(ctx context.Context) error {
		added, err = m.refill(ctx)
		return err
	})
	return added, err
}

// PurgeUsedPreKeys deletes the private parts of consumed prekeys. Call it
// once the archive catch-up after connecting is complete.
func (m *Manager) PurgeUsedPreKeys(ctx context.Context) (int, error) {
	res, err := m.s.q(ctx).ExecContext(ctx, "DELETE FROM omemo_legacy_prekeys WHERE account_id = ? AND used <> 0", m.s.acct)
	if err != nil {
		return 0, fmt.Errorf("omemo: purge prekeys: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// RotateSignedPreKey replaces the signed prekey when it is older than
// SignedPreKeyMaxAge (republish the bundle when rotated is true), and
// deletes replaced ones once their successor is older than
// SignedPreKeyGrace.
func (m *Manager) RotateSignedPreKey(ctx context.Context, now time.Time) (rotated bool, err error) {
	err = m.withTx(ctx, func(ctx context.Context) error {
		q := m.s.q(ctx)
		var newest int64
		if err := q.QueryRowContext(ctx, "SELECT coalesce(max(created), 0) FROM omemo_legacy_signed_prekeys WHERE account_id = ?",
			m.s.acct).Scan(&newest); err != nil {
			return fmt.Errorf("omemo: signed prekeys: %w", err)
		}
		if now.Sub(time.UnixMilli(newest)) >= SignedPreKeyMaxAge {
			saved := m.s.now
			m.s.now = func() time.Time { return now }
			err := m.newSignedPreKey(ctx)
			m.s.now = saved
			if err != nil {
				return err
			}
			rotated = true
		}
		// Delete every key whose successor has existed for the grace period.
		_, err := q.ExecContext(ctx, `DELETE FROM omemo_legacy_signed_prekeys AS old WHERE account_id = ?
			AND EXISTS (SELECT 1 FROM omemo_legacy_signed_prekeys AS nw WHERE nw.account_id = old.account_id
				AND nw.id > old.id AND nw.created <= ?)`, m.s.acct, now.Add(-SignedPreKeyGrace).UnixMilli())
		return err
	})
	return rotated, err
}

// pickPreKey chooses a random prekey of b (ids 0 cannot be expressed in a
// PreKeySignalMessage by libsignal, so they are avoided).
func pickPreKey(b *Bundle) (PreKeyPublic, error) {
	var usable []PreKeyPublic
	for _, k := range b.PreKeys {
		if k.ID != 0 {
			usable = append(usable, k)
		}
	}
	if len(usable) == 0 {
		return PreKeyPublic{}, malformed("bundle has no usable prekey")
	}
	n, err := rand.Int(rand.Reader, big.NewInt(int64(len(usable))))
	if err != nil {
		return PreKeyPublic{}, err
	}
	return usable[n.Int64()], nil
}

// ProcessBundle builds a new session with device deviceID of jid from its
// bundle (replacing any existing session).
func (m *Manager) ProcessBundle(ctx context.Context, jid string, deviceID uint32, b *Bundle) error {
	if !ValidDeviceID(deviceID) {
		return fmt.Errorf("omemo: invalid device id %d", deviceID)
	}
	if b == nil || len(b.IdentityKey) != 33 || len(b.SignedPreKey) != 33 || len(b.Signature) != 64 {
		return malformed("incomplete bundle")
	}
	pk, err := pickPreKey(b)
	if err != nil {
		return err
	}
	addr := Address{jid, deviceID}
	return m.withTx(ctx, func(ctx context.Context) (err error) {
		defer recoverTo(&err)
		ik, err := ecc.DecodePoint(b.IdentityKey, 0)
		if err != nil {
			return malformed("identity key: %v", err)
		}
		spk, err := ecc.DecodePoint(b.SignedPreKey, 0)
		if err != nil {
			return malformed("signed prekey: %v", err)
		}
		otpk, err := ecc.DecodePoint(pk.Key, 0)
		if err != nil {
			return malformed("prekey: %v", err)
		}
		bundle := prekey.NewBundle(deviceID, deviceID, optional.NewOptionalUint32(pk.ID), b.SignedPreKeyID,
			otpk, spk, [64]byte(b.Signature), identity.NewKey(ik))
		if err := m.builder(addr).ProcessBundle(ctx, bundle); err != nil {
			return fmt.Errorf("omemo: process bundle of %s: %w", addr, err)
		}
		return nil
	})
}

func (m *Manager) builder(addr Address) *session.Builder {
	return session.NewBuilder(m.s, m.s, m.s, m.s, addr.signal(), m.ser)
}

// HasSession reports whether a usable session with addr exists.
func (m *Manager) HasSession(ctx context.Context, addr Address) (ok bool, err error) {
	defer recoverTo(&err)
	has, err := m.s.ContainsSession(ctx, addr.signal())
	if err != nil || !has {
		return false, err
	}
	rec, err := m.s.peekSession(ctx, addr.signal())
	if err != nil {
		return false, err
	}
	return rec.SessionState().HasSenderChain(), nil
}

// Encrypt encrypts plaintext for recipients: AES-128-GCM under a fresh key
// and 12-byte IV, whose key‖tag goes through each device's session. Devices
// without a session, untrusted or undecided ones (and our own device) get no
// key; each is reported in the returned errors. When no device got a key the
// returned *Encrypted is nil.
func (m *Manager) Encrypt(ctx context.Context, plaintext string, recipients []Address) (*Encrypted, []DeviceError) {
	var key [16]byte
	iv := make([]byte, 12)
	rand.Read(key[:])
	rand.Read(iv)
	block, _ := aes.NewCipher(key[:])
	gcm, _ := cipher.NewGCM(block)
	sealed := gcm.Seal(nil, iv, []byte(plaintext), nil)
	ct, tag := sealed[:len(sealed)-16], sealed[len(sealed)-16:]
	material := append(key[:], tag...)
	enc, errs := m.encryptKey(ctx, material, recipients)
	if enc != nil {
		enc.IV = iv
		enc.Payload = ct
	}
	return enc, errs
}

// EncryptKeyTransport returns a key transport element (no payload) for
// recipients, carrying 32 fresh random bytes; sent after a new session was
// built from a PreKeySignalMessage, it makes the peer stop sending those.
func (m *Manager) EncryptKeyTransport(ctx context.Context, recipients []Address) (*Encrypted, []DeviceError) {
	material := make([]byte, 32)
	iv := make([]byte, 12)
	rand.Read(material)
	rand.Read(iv)
	enc, errs := m.encryptKey(ctx, material, recipients)
	if enc != nil {
		enc.IV = iv
	}
	return enc, errs
}

func (m *Manager) encryptKey(ctx context.Context, material []byte, recipients []Address) (*Encrypted, []DeviceError) {
	enc := &Encrypted{SID: m.s.deviceID}
	var errs []DeviceError
	err := m.withTx(ctx, func(ctx context.Context) error {
		enc.Keys, errs = enc.Keys[:0], errs[:0]
		var jids []string
		seen := map[string]bool{}
		for _, a := range recipients {
			if !seen[a.JID] {
				seen[a.JID] = true
				jids = append(jids, a.JID)
			}
		}
		states, err := m.trustStates(ctx, jids)
		if err != nil {
			return err
		}
		var got []Address
		for _, a := range recipients {
			if a.JID == m.account && a.Device == m.s.deviceID {
				continue
			}
			if s := states[a]; s != Trusted && s != Verified {
				errs = append(errs, DeviceError{a, fmt.Errorf("%w (%s)", ErrUntrusted, s)})
				continue
			}
			k, err := m.encryptTo(ctx, a, material)
			if err != nil {
				errs = append(errs, DeviceError{a, err})
				continue
			}
			enc.Keys = append(enc.Keys, k)
			got = append(got, a)
		}
		return m.markEncryptedTo(ctx, jids, got)
	})
	if err != nil {
		errs = errs[:0]
		for _, a := range recipients {
			errs = append(errs, DeviceError{a, err})
		}
		return nil, errs
	}
	if len(enc.Keys) == 0 {
		return nil, errs
	}
	return enc, errs
}

func (m *Manager) encryptTo(ctx context.Context, a Address, material []byte) (k Key, err error) {
	defer recoverTo(&err)
	rec, err := m.s.LoadSession(ctx, a.signal())
	if err != nil {
		return Key{}, err
	}
	if !rec.SessionState().HasSenderChain() {
		return Key{}, ErrNoSession
	}
	// Hand the record just loaded to the cipher instead of decoding it
	// again, and skip the cipher's SaveIdentity: the session's identity was
	// saved in the transaction that stored the session.
	m.s.prefetch(a, rec)
	m.s.skipSaveIdentity = true
	defer func() {
		m.s.prefetch(Address{}, nil)
		m.s.skipSaveIdentity = false
	}()
	msg, err := session.NewCipher(m.builder(a), a.signal()).Encrypt(ctx, material)
	if err != nil {
		return Key{}, err
	}
	return Key{RID: a.Device, PreKey: msg.Type() == protocol.PREKEY_TYPE, Data: msg.Serialize()}, nil
}

// Decrypt decrypts an OMEMO element received from bare JID from. It finds
// the key for our device (ErrNotForThisDevice if there is none), decrypts it
// as the kind of Signal message its prekey flag says (and as the other kind
// if that fails), then the payload: IV of 12 or 16 bytes, key material of 32
// bytes (key‖tag) or 16 (tag appended to the payload).
//
// The ratchet updates are written in a transaction — nested in the one
// carried by ctx, if any, so that the caller can commit the decrypted
// message together with them. A failed decryption changes nothing.
// Decrypting the same element twice fails the second time (the message key
// is gone); deduplicate before calling.
func (m *Manager) Decrypt(ctx context.Context, from string, enc *Encrypted) (pt Plaintext, err error) {
	if enc == nil {
		return Plaintext{}, malformed("nil element")
	}
	keys := enc.KeyFor(m.s.deviceID)
	if len(keys) == 0 {
		return Plaintext{}, ErrNotForThisDevice
	}
	sender := Address{from, enc.SID}
	if from == m.account && enc.SID == m.s.deviceID {
		return Plaintext{}, fmt.Errorf("%w: element claims to come from our own device", ErrDecrypt)
	}
	err = m.withTx(ctx, func(ctx context.Context) error {
		var material []byte
		var newSession bool
		var err error
		for _, k := range keys {
			material, newSession, err = m.decryptKey(ctx, sender, k)
			if err == nil {
				break
			}
		}
		if err != nil {
			return err
		}
		pt = Plaintext{Sender: sender, NewSession: newSession}
		if enc.Payload == nil {
			pt.KeyTransport, pt.Key = true, material
		} else {
			body, err := openPayload(material, enc.IV, enc.Payload)
			if err != nil {
				return err
			}
			pt.Body = string(body)
		}
		if _, err := m.s.q(ctx).ExecContext(ctx, "UPDATE omemo_devices SET last_seen = ? WHERE account_id = ? AND jid = ? AND device_id = ?",
			time.Now().UnixMilli(), m.s.acct, from, enc.SID); err != nil {
			return fmt.Errorf("omemo: %w", err)
		}
		pt.Trust, err = m.TrustOf(ctx, sender)
		return err
	})
	if err != nil {
		return Plaintext{}, err
	}
	return pt, nil
}

// decryptKey decrypts one <key>, trying both message types, preferring the
// one the prekey flag names. Each attempt runs in a savepoint so a failed
// one leaves no trace.
func (m *Manager) decryptKey(ctx context.Context, from Address, k Key) (material []byte, newSession bool, err error) {
	try := []bool{k.PreKey, !k.PreKey}
	var errs []error
	for _, asPreKey := range try {
		err := m.withTx(ctx, func(ctx context.Context) error {
			var err error
			if asPreKey {
				material, newSession, err = m.decryptPreKeyMessage(ctx, from, k.Data)
			} else {
				material, err = m.decryptSignalMessage(ctx, from, k.Data)
			}
			return err
		})
		if err == nil {
			return material, newSession, nil
		}
		errs = append(errs, err)
	}
	return nil, false, fmt.Errorf("%w: %w", ErrDecrypt, errs[0])
}

func validPoint(b []byte) bool { return len(b) == 33 && b[0] == ecc.DjbType }

func (m *Manager) parseSignalMessage(data []byte) (msg *protocol.SignalMessage, err error) {
	defer recoverTo(&err)
	if len(data) < 1+protocol.MacLength+1 {
		return nil, malformed("signal message too short")
	}
	s, err := m.ser.SignalMessage.Deserialize(data)
	if err != nil {
		return nil, err
	}
	if !validPoint(s.RatchetKey) || len(s.CipherText) == 0 {
		return nil, malformed("signal message incomplete")
	}
	return protocol.NewSignalMessageFromStruct(s, m.ser.SignalMessage)
}

func (m *Manager) decryptSignalMessage(ctx context.Context, from Address, data []byte) (material []byte, err error) {
	defer recoverTo(&err)
	msg, err := m.parseSignalMessage(data)
	if err != nil {
		return nil, err
	}
	ok, err := m.HasSession(ctx, from)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, ErrNoSession
	}
	return m.decryptSignal(ctx, from, msg) // ratchet.go
}

func (m *Manager) decryptPreKeyMessage(ctx context.Context, from Address, data []byte) (material []byte, newSession bool, err error) {
	defer recoverTo(&err)
	if len(data) < 2 {
		return nil, false, malformed("prekey message too short")
	}
	s, err := m.ser.PreKeySignalMessage.Deserialize(data)
	if err != nil {
		return nil, false, err
	}
	if !validPoint(s.BaseKey) || !validPoint(s.IdentityKey) {
		return nil, false, malformed("prekey message incomplete")
	}
	if _, err := m.parseSignalMessage(s.Message); err != nil {
		return nil, false, err
	}
	msg, err := protocol.NewPreKeySignalMessageFromStruct(s, m.ser.PreKeySignalMessage, m.ser.SignalMessage)
	if err != nil {
		return nil, false, err
	}
	rec, err := m.s.peekSession(ctx, from.signal())
	if err != nil {
		return nil, false, err
	}
	existed := rec.HasSessionState(msg.MessageVersion(), msg.BaseKey().Serialize())
	material, err = m.decryptPreKeySignal(ctx, from, msg) // ratchet.go
	if err != nil {
		return nil, false, err
	}
	return material, !existed, nil
}

// openPayload decrypts an AES-GCM payload with 16 bytes of key material
// (tag at the end of the payload) or 32 (key‖tag).
func openPayload(material, iv, payload []byte) ([]byte, error) {
	var key, sealed []byte
	switch len(material) {
	case 32:
		key = material[:16]
		sealed = append(append(make([]byte, 0, len(payload)+16), payload...), material[16:]...)
	case 16:
		key, sealed = material, payload
	default:
		return nil, fmt.Errorf("%w: key material of %d bytes", ErrDecrypt, len(material))
	}
	if len(iv) != 12 && len(iv) != 16 {
		return nil, fmt.Errorf("%w: iv of %d bytes", ErrDecrypt, len(iv))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	gcm, err := cipher.NewGCMWithNonceSize(block, len(iv))
	if err != nil {
		return nil, err
	}
	if len(sealed) < gcm.Overhead() {
		return nil, fmt.Errorf("%w: payload too short", ErrDecrypt)
	}
	body, err := gcm.Open(nil, iv, sealed, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: payload: %v", ErrDecrypt, err)
	}
	return body, nil
}
