package omemo

import (
	"context"
	"path/filepath"
	"testing"

	"xchat/store"
)

func TestClaimDeviceID(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "x.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	m, err := Open(ctx, st, "me@example.org", nil)
	if err != nil {
		t.Fatal(err)
	}
	old := m.DeviceID()
	if ch, err := m.ClaimDeviceID(ctx, []uint32{old + 1}); err != nil || ch {
		t.Fatalf("no clash: changed=%v err=%v", ch, err)
	}
	ch, err := m.ClaimDeviceID(ctx, []uint32{old, 7})
	if err != nil || !ch || m.DeviceID() == old || m.DeviceID() == 7 || !ValidDeviceID(m.DeviceID()) {
		t.Fatalf("clash: changed=%v err=%v id %d (was %d)", ch, err, m.DeviceID(), old)
	}
	// The new id is what a reopened Manager loads; its bundle still works.
	m2, err := Open(ctx, st, "me@example.org", nil)
	if err != nil || m2.DeviceID() != m.DeviceID() {
		t.Fatalf("reopened: id %d, %v; want %d", m2.DeviceID(), err, m.DeviceID())
	}
	if b, err := m2.Bundle(ctx); err != nil || len(b.PreKeys) != PreKeyCount {
		t.Fatalf("bundle after the change: %v", err)
	}
	// Once published the id stays, whatever a list says.
	if err := m.MarkPublished(ctx); err != nil {
		t.Fatal(err)
	}
	id := m.DeviceID()
	if ch, err := m.ClaimDeviceID(ctx, []uint32{id}); err != nil || ch || m.DeviceID() != id {
		t.Fatalf("published id changed: %v %v", ch, err)
	}
}
