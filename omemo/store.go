package omemo

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"go.mau.fi/libsignal/ecc"
	"go.mau.fi/libsignal/keys/identity"
	"go.mau.fi/libsignal/protocol"
	"go.mau.fi/libsignal/serialize"
	"go.mau.fi/libsignal/state/record"
	sigstore "go.mau.fi/libsignal/state/store"

	"xchat/store"
)

// sigStore implements libsignal's IdentityKey, PreKey, SignedPreKey and
// Session stores over the xchat database, scoped to one account. Every
// statement goes through st.Q(ctx), so a transaction carried by ctx (see
// store.WithTx) covers the ratchet updates of one operation.
type sigStore struct {
	st       *store.Store
	acct     int64
	deviceID uint32
	pair     *identity.KeyPair
	ser      *serialize.Serializer
	now      func() time.Time
	// initialTrust decides the trust state of an identity key seen for the
	// first time (the Manager's policy).
	initialTrust func(ctx context.Context, jid string) (TrustState, error)
	// next is a session record just loaded by the Manager, returned by the
	// next LoadSession of the same address instead of reading it again.
	next     *record.Session
	nextAddr Address
	// skipSaveIdentity makes SaveIdentity a no-op while the Manager
	// encrypts on a stored session (whose identity is saved already).
	skipSaveIdentity bool

	// Decoded session records, to spare decoding a record per device and
	// message. cache holds records equal to committed rows; pending those
	// stored during the running operation, promoted to cache when the
	// operation's own transaction commits. A record handed to libsignal
	// (which mutates it) leaves both maps: a failed or rolled back
	// operation can therefore never leave a stale record behind.
	cache    map[Address]*record.Session
	pending  map[Address]*record.Session
	depth    int  // nesting of Manager.withTx
	inCaller bool // the running operation is inside the caller's transaction
}

// maxCachedSessions bounds the session record cache.
const maxCachedSessions = 4096

// take removes and returns the decoded record of a, if held.
func (s *sigStore) take(a Address) *record.Session {
	if r, ok := s.pending[a]; ok {
		delete(s.pending, a)
		return r
	}
	if r, ok := s.cache[a]; ok {
		delete(s.cache, a)
		return r
	}
	return nil
}

// finish ends an operation: its stored records become cached if its
// transaction committed, and are forgotten otherwise.
func (s *sigStore) finish(committed bool) {
	if committed {
		if len(s.cache)+len(s.pending) > maxCachedSessions {
			clear(s.cache)
		}
		for a, r := range s.pending {
			s.cache[a] = r
		}
	}
	clear(s.pending)
}

func (s *sigStore) prefetch(a Address, r *record.Session) { s.next, s.nextAddr = r, a }

var (
	_ sigstore.IdentityKey  = (*sigStore)(nil)
	_ sigstore.PreKey       = (*sigStore)(nil)
	_ sigstore.SignedPreKey = (*sigStore)(nil)
	_ sigstore.Session      = (*sigStore)(nil)
)

// rawKey strips the 0x05 type byte of a serialized public key.
func rawKey(k *identity.Key) []byte {
	b := k.Serialize()
	if len(b) == 33 {
		return b[1:]
	}
	return b
}

// --- IdentityKey ---

func (s *sigStore) GetIdentityKeyPair() *identity.KeyPair { return s.pair }

// GetLocalRegistrationID returns our device id: legacy OMEMO puts the device
// id where Signal has the registration id.
func (s *sigStore) GetLocalRegistrationID() uint32 { return s.deviceID }

// SaveIdentity records addr's current identity key. A key not seen before
// for that device gets a trust row with the policy's initial state.
func (s *sigStore) SaveIdentity(ctx context.Context, addr *protocol.SignalAddress, key *identity.Key) error {
	if s.skipSaveIdentity {
		return nil
	}
	return s.saveIdentity(ctx, addr.Name(), addr.DeviceID(), rawKey(key))
}

func (s *sigStore) saveIdentity(ctx context.Context, jid string, device uint32, key []byte) error {
	res, err := s.q(ctx).ExecContext(ctx, `INSERT INTO omemo_devices (account_id, jid, device_id, identity_key)
		VALUES (?, ?, ?, ?)
		ON CONFLICT (account_id, jid, device_id) DO UPDATE SET identity_key = excluded.identity_key
		WHERE identity_key <> excluded.identity_key`, s.acct, jid, device, key)
	if err != nil {
		return fmt.Errorf("omemo: save identity: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return err // unchanged: the trust row exists already
	}
	state, err := s.initialTrust(ctx, jid)
	if err != nil {
		return err
	}
	_, err = s.q(ctx).ExecContext(ctx, `INSERT INTO omemo_trust (account_id, jid, device_id, identity_key, state, first_seen)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`, s.acct, jid, device, key, state, s.now().UnixMilli())
	if err != nil {
		return fmt.Errorf("omemo: save trust: %w", err)
	}
	return nil
}

// IsTrustedIdentity always says yes: OMEMO trust is enforced by the Manager
// (which refuses to encrypt to untrusted devices), not by libsignal.
func (s *sigStore) IsTrustedIdentity(context.Context, *protocol.SignalAddress, *identity.Key) (bool, error) {
	return true, nil
}

// --- PreKey ---

// keyPair rebuilds a key pair from raw 32-byte keys.
func keyPair(pub, priv []byte) (*ecc.ECKeyPair, error) {
	if len(pub) != 32 || len(priv) != 32 {
		return nil, errors.New("omemo: stored key pair is corrupt")
	}
	return ecc.NewECKeyPair(ecc.NewDjbECPublicKey([32]byte(pub)), ecc.NewDjbECPrivateKey([32]byte(priv))), nil
}

// pairBytes returns the raw public and private key of p.
func pairBytes(p *ecc.ECKeyPair) (pub, priv []byte) {
	pk := p.PublicKey().PublicKey()
	sk := p.PrivateKey().Serialize()
	return pk[:], sk[:]
}

func (s *sigStore) LoadPreKey(ctx context.Context, id uint32) (*record.PreKey, error) {
	var pub, priv []byte
	err := s.q(ctx).QueryRowContext(ctx, "SELECT pub, priv FROM omemo_legacy_prekeys WHERE account_id = ? AND id = ?",
		s.acct, id).Scan(&pub, &priv)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil // libsignal reports ErrNoOneTimeKeyFound
	}
	if err != nil {
		return nil, fmt.Errorf("omemo: load prekey: %w", err)
	}
	kp, err := keyPair(pub, priv)
	if err != nil {
		return nil, err
	}
	return record.NewPreKey(id, kp, s.ser.PreKeyRecord), nil
}

func (s *sigStore) StorePreKey(ctx context.Context, id uint32, r *record.PreKey) error {
	pub, priv := pairBytes(r.KeyPair())
	_, err := s.q(ctx).ExecContext(ctx, `INSERT INTO omemo_legacy_prekeys (account_id, id, pub, priv) VALUES (?, ?, ?, ?)
		ON CONFLICT DO UPDATE SET pub = excluded.pub, priv = excluded.priv`, s.acct, id, pub, priv)
	if err != nil {
		return fmt.Errorf("omemo: store prekey: %w", err)
	}
	return nil
}

func (s *sigStore) ContainsPreKey(ctx context.Context, id uint32) (bool, error) {
	return s.exists(ctx, "SELECT 1 FROM omemo_legacy_prekeys WHERE account_id = ? AND id = ?", s.acct, id)
}

// RemovePreKey only marks the prekey used: it stays loadable, so that other
// PreKeySignalMessages built on it during a catch-up still decrypt, until
// PurgeUsedPreKeys. Used prekeys are no longer published.
func (s *sigStore) RemovePreKey(ctx context.Context, id uint32) error {
	_, err := s.q(ctx).ExecContext(ctx, "UPDATE omemo_legacy_prekeys SET used = ? WHERE account_id = ? AND id = ? AND used = 0",
		s.now().UnixMilli(), s.acct, id)
	if err != nil {
		return fmt.Errorf("omemo: mark prekey used: %w", err)
	}
	return nil
}

// --- SignedPreKey ---

const signedCols = "id, pub, priv, signature, created"

func (s *sigStore) scanSigned(r interface{ Scan(...any) error }) (*record.SignedPreKey, error) {
	var id uint32
	var pub, priv, sig []byte
	var created int64
	if err := r.Scan(&id, &pub, &priv, &sig, &created); err != nil {
		return nil, err
	}
	kp, err := keyPair(pub, priv)
	if err != nil {
		return nil, err
	}
	if len(sig) != 64 {
		return nil, errors.New("omemo: stored signature is corrupt")
	}
	return record.NewSignedPreKey(id, created/1000, kp, [64]byte(sig), s.ser.SignedPreKeyRecord), nil
}

func (s *sigStore) LoadSignedPreKey(ctx context.Context, id uint32) (*record.SignedPreKey, error) {
	r, err := s.scanSigned(s.q(ctx).QueryRowContext(ctx,
		"SELECT "+signedCols+" FROM omemo_legacy_signed_prekeys WHERE account_id = ? AND id = ?", s.acct, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil // libsignal reports ErrNoSignedPreKey
	}
	if err != nil {
		return nil, fmt.Errorf("omemo: load signed prekey: %w", err)
	}
	return r, nil
}

func (s *sigStore) LoadSignedPreKeys(ctx context.Context) ([]*record.SignedPreKey, error) {
	rows, err := s.q(ctx).QueryContext(ctx,
		"SELECT "+signedCols+" FROM omemo_legacy_signed_prekeys WHERE account_id = ? ORDER BY id", s.acct)
	if err != nil {
		return nil, fmt.Errorf("omemo: load signed prekeys: %w", err)
	}
	defer rows.Close()
	var out []*record.SignedPreKey
	for rows.Next() {
		r, err := s.scanSigned(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func (s *sigStore) StoreSignedPreKey(ctx context.Context, id uint32, r *record.SignedPreKey) error {
	pub, priv := pairBytes(r.KeyPair())
	sig := r.Signature()
	_, err := s.q(ctx).ExecContext(ctx, `INSERT INTO omemo_legacy_signed_prekeys (account_id, id, pub, priv, signature, created)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET pub = excluded.pub, priv = excluded.priv, signature = excluded.signature`,
		s.acct, id, pub, priv, sig[:], s.now().UnixMilli())
	if err != nil {
		return fmt.Errorf("omemo: store signed prekey: %w", err)
	}
	return nil
}

func (s *sigStore) ContainsSignedPreKey(ctx context.Context, id uint32) (bool, error) {
	return s.exists(ctx, "SELECT 1 FROM omemo_legacy_signed_prekeys WHERE account_id = ? AND id = ?", s.acct, id)
}

func (s *sigStore) RemoveSignedPreKey(ctx context.Context, id uint32) error {
	_, err := s.q(ctx).ExecContext(ctx, "DELETE FROM omemo_legacy_signed_prekeys WHERE account_id = ? AND id = ?", s.acct, id)
	if err != nil {
		return fmt.Errorf("omemo: remove signed prekey: %w", err)
	}
	return nil
}

// --- Session ---

// LoadSession returns addr's session record, or a new empty one (never nil)
// when there is none.
func (s *sigStore) LoadSession(ctx context.Context, addr *protocol.SignalAddress) (*record.Session, error) {
	a := Address{addr.Name(), addr.DeviceID()}
	if r := s.next; r != nil {
		s.next = nil
		if s.nextAddr == a {
			return r, nil
		}
	}
	if r := s.take(a); r != nil {
		return r, nil
	}
	return s.decodeSession(ctx, addr)
}

// peekSession returns addr's record for reading only: a cached one stays
// cached.
func (s *sigStore) peekSession(ctx context.Context, addr *protocol.SignalAddress) (*record.Session, error) {
	a := Address{addr.Name(), addr.DeviceID()}
	if r, ok := s.pending[a]; ok {
		return r, nil
	}
	if r, ok := s.cache[a]; ok {
		return r, nil
	}
	return s.decodeSession(ctx, addr)
}

func (s *sigStore) decodeSession(ctx context.Context, addr *protocol.SignalAddress) (*record.Session, error) {
	var b []byte
	err := s.q(ctx).QueryRowContext(ctx, "SELECT record FROM omemo_legacy_sessions WHERE account_id = ? AND jid = ? AND device_id = ?",
		s.acct, addr.Name(), addr.DeviceID()).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return record.NewSession(s.ser.Session, s.ser.State), nil
	}
	if err != nil {
		return nil, fmt.Errorf("omemo: load session: %w", err)
	}
	r, err := record.NewSessionFromBytes(b, s.ser.Session, s.ser.State)
	if err != nil {
		return nil, fmt.Errorf("omemo: decode session: %w", err)
	}
	return r, nil
}

func (s *sigStore) GetSubDeviceSessions(ctx context.Context, name string) ([]uint32, error) {
	rows, err := s.q(ctx).QueryContext(ctx, "SELECT device_id FROM omemo_legacy_sessions WHERE account_id = ? AND jid = ? ORDER BY device_id",
		s.acct, name)
	if err != nil {
		return nil, fmt.Errorf("omemo: list sessions: %w", err)
	}
	defer rows.Close()
	var ids []uint32
	for rows.Next() {
		var id uint32
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

func (s *sigStore) StoreSession(ctx context.Context, addr *protocol.SignalAddress, r *record.Session) error {
	a := Address{addr.Name(), addr.DeviceID()}
	s.take(a)
	b := r.Serialize()
	_, err := s.q(ctx).ExecContext(ctx, `INSERT INTO omemo_legacy_sessions (account_id, jid, device_id, record)
		VALUES (?, ?, ?, ?) ON CONFLICT DO UPDATE SET record = excluded.record`,
		s.acct, addr.Name(), addr.DeviceID(), b)
	if err != nil {
		return fmt.Errorf("omemo: store session: %w", err)
	}
	if r.IsFresh() {
		// A stored record is no longer "fresh", and libsignal archives a
		// non-fresh record's state when a PreKeySignalMessage starts
		// another session. Kept in memory as fresh, our own new session
		// would be overwritten instead: both sides writing first at once
		// would then lose each other's messages. Keep what a load returns.
		if again, err := record.NewSessionFromBytes(b, s.ser.Session, s.ser.State); err == nil {
			r = again
		}
	}
	if s.depth > 0 {
		s.pending[a] = r
	}
	return nil
}

func (s *sigStore) ContainsSession(ctx context.Context, addr *protocol.SignalAddress) (bool, error) {
	a := Address{addr.Name(), addr.DeviceID()}
	if s.pending[a] != nil || s.cache[a] != nil || (s.next != nil && s.nextAddr == a) {
		return true, nil
	}
	return s.exists(ctx, "SELECT 1 FROM omemo_legacy_sessions WHERE account_id = ? AND jid = ? AND device_id = ?",
		s.acct, addr.Name(), addr.DeviceID())
}

func (s *sigStore) DeleteSession(ctx context.Context, addr *protocol.SignalAddress) error {
	s.take(Address{addr.Name(), addr.DeviceID()})
	_, err := s.q(ctx).ExecContext(ctx, "DELETE FROM omemo_legacy_sessions WHERE account_id = ? AND jid = ? AND device_id = ?",
		s.acct, addr.Name(), addr.DeviceID())
	if err != nil {
		return fmt.Errorf("omemo: delete session: %w", err)
	}
	return nil
}

func (s *sigStore) DeleteAllSessions(ctx context.Context) error {
	clear(s.cache)
	clear(s.pending)
	_, err := s.q(ctx).ExecContext(ctx, "DELETE FROM omemo_legacy_sessions WHERE account_id = ?", s.acct)
	if err != nil {
		return fmt.Errorf("omemo: delete sessions: %w", err)
	}
	return nil
}

func (s *sigStore) exists(ctx context.Context, query string, args ...any) (bool, error) {
	var one int
	err := s.q(ctx).QueryRowContext(ctx, query, args...).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("omemo: %w", err)
	}
	return true, nil
}
