package omemo

import (
	"context"
	"errors"
	"fmt"
	"slices"
)

// Device id collisions: ids are random in 1..2^31−1, but a new device must
// still not take an id another device of the account has published. Before
// our id is first published the session compares it with our published
// device list and, on a clash, picks another (ClaimDeviceID).

// Published reports whether our device id has been published (after that
// it never changes).
func (m *Manager) Published(ctx context.Context) (bool, error) {
	var p bool
	err := m.s.q(ctx).QueryRowContext(ctx, "SELECT published FROM omemo_own WHERE account_id = ?", m.s.acct).Scan(&p)
	if err != nil {
		return false, fmt.Errorf("omemo: %w", err)
	}
	return p, nil
}

// ClaimDeviceID checks our device id against the ids the account's
// published list holds (taken) and, while our id is not published yet,
// takes another one if it is among them. It reports whether the id
// changed; the bundle must then be published under the new id.
func (m *Manager) ClaimDeviceID(ctx context.Context, taken []uint32) (changed bool, err error) {
	published, err := m.Published(ctx)
	if err != nil || published || !slices.Contains(taken, m.s.deviceID) {
		return false, err
	}
	id := randomDeviceID()
	for tries := 0; slices.Contains(taken, id); tries++ {
		if tries > 100 {
			return false, errors.New("omemo: no free device id")
		}
		id = randomDeviceID()
	}
	if _, err := m.s.q(ctx).ExecContext(ctx, "UPDATE omemo_own SET device_id = ? WHERE account_id = ?", id, m.s.acct); err != nil {
		return false, fmt.Errorf("omemo: change device id: %w", err)
	}
	m.log.Info("omemo: device id taken by another device of the account; changed", "old", m.s.deviceID, "new", id)
	m.s.deviceID = id
	return true, nil
}

// MarkPublished records that our device id is ours for good: call it once
// ClaimDeviceID is done, before publishing, so that our own list (even a
// publication still in flight) is never taken for a collision.
func (m *Manager) MarkPublished(ctx context.Context) error {
	_, err := m.s.q(ctx).ExecContext(ctx, "UPDATE omemo_own SET published = 1 WHERE account_id = ? AND published = 0", m.s.acct)
	if err != nil {
		return fmt.Errorf("omemo: %w", err)
	}
	return nil
}
