package omemo

import (
	"context"
	"errors"
	"fmt"

	"go.mau.fi/libsignal/protocol"
	"go.mau.fi/libsignal/session"
	"go.mau.fi/libsignal/signalerror"
	"go.mau.fi/libsignal/state/record"
)

// libsignal v0.2.1 decrypts a SignalMessage by trying the session's
// current state and then its previous ones, but it tries each state in
// place: a state that does not fit the message is left with a ratchet step
// taken on the wrong key, and the damaged state is stored with the record.
// It also keeps a previous state that worked in the previous list when it
// promotes it to current. A peer that started a session at the same time
// as we did (each side builds one from the other's bundle and writes
// first) then becomes unreadable after a few messages. decryptWithRecord
// does the same search on copies and promotes cleanly.

// copyState returns an independent copy of st.
func (m *Manager) copyState(st *record.State) (*record.State, error) {
	return record.NewStateFromBytes(st.Serialize(), m.ser.State)
}

// decryptWithRecord decrypts msg with the first state of rec that fits
// (current first) and returns the plaintext and the record to store: the
// state that worked, advanced, as current; the others untouched.
func (m *Manager) decryptWithRecord(ctx context.Context, c *session.Cipher, rec *record.Session, msg *protocol.SignalMessage) ([]byte, *record.Session, error) {
	states := append([]*record.State{rec.SessionState()}, rec.PreviousSessionStates()...)
	var firstErr error
	for i, st := range states {
		// A lone state needs no copy: on failure the record is not stored
		// (and LoadSession took it out of the cache).
		cp := st
		if len(states) > 1 {
			var err error
			if cp, err = m.copyState(st); err != nil {
				return nil, nil, fmt.Errorf("omemo: copy session state: %w", err)
			}
		}
		plaintext, _, err := c.DecryptWithState(ctx, cp, msg)
		if errors.Is(err, signalerror.ErrOldCounter) {
			return nil, nil, err // a message seen before: no other state will do
		}
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		// The new record: cp current, then the others in their order,
		// without the one cp replaces.
		others := make([]*record.State, 0, len(states)-1)
		for j, o := range states {
			if j != i {
				others = append(others, o)
			}
		}
		var out *record.Session
		if len(others) == 0 {
			out = record.NewSessionFromState(cp, m.ser.Session)
		} else {
			out = record.NewSessionFromState(others[len(others)-1], m.ser.Session)
			for j := len(others) - 2; j >= 0; j-- {
				out.PromoteState(others[j])
			}
			out.PromoteState(cp)
		}
		return plaintext, out, nil
	}
	if len(states) > 1 || firstErr == nil {
		return nil, nil, signalerror.ErrNoValidSessions
	}
	return nil, nil, firstErr
}

// decryptSignal is libsignal's Cipher.Decrypt with decryptWithRecord.
func (m *Manager) decryptSignal(ctx context.Context, from Address, msg *protocol.SignalMessage) ([]byte, error) {
	addr := from.signal()
	rec, err := m.s.LoadSession(ctx, addr)
	if err != nil {
		return nil, err
	}
	plaintext, rec, err := m.decryptWithRecord(ctx, session.NewCipher(m.builder(from), addr), rec, msg)
	if err != nil {
		return nil, err
	}
	if err := m.s.SaveIdentity(ctx, addr, rec.SessionState().RemoteIdentityKey()); err != nil {
		return nil, err
	}
	if err := m.s.StoreSession(ctx, addr, rec); err != nil {
		return nil, err
	}
	return plaintext, nil
}

// decryptPreKeySignal is libsignal's Cipher.DecryptMessage with
// decryptWithRecord: the builder starts the new session (keeping the one
// we had as a previous state), then the message is decrypted.
func (m *Manager) decryptPreKeySignal(ctx context.Context, from Address, msg *protocol.PreKeySignalMessage) ([]byte, error) {
	addr := from.signal()
	rec, err := m.s.LoadSession(ctx, addr)
	if err != nil {
		return nil, err
	}
	b := m.builder(from)
	usedPreKey, err := b.Process(ctx, rec, msg)
	if err != nil {
		return nil, err
	}
	plaintext, rec, err := m.decryptWithRecord(ctx, session.NewCipher(b, addr), rec, msg.WhisperMessage())
	if err != nil {
		return nil, err
	}
	if err := m.s.StoreSession(ctx, addr, rec); err != nil {
		return nil, err
	}
	if !usedPreKey.IsEmpty {
		if err := m.s.RemovePreKey(ctx, usedPreKey.Value); err != nil {
			return nil, err
		}
	}
	return plaintext, nil
}
