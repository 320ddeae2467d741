package storetest

import (
	"context"
	"path/filepath"
	"testing"

	"xchat/store"
)

func TestFill(t *testing.T) {
	ctx := context.Background()
	s, err := store.Open(ctx, filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := Fill(ctx, s, FixtureAccount, FixturePeer, 1000); err != nil {
		t.Fatal(err)
	}
	// A second fill continues after the first.
	if err := Fill(ctx, s, FixtureAccount, FixturePeer, 500); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.Count(ctx, FixtureAccount, FixturePeer); n != 1500 {
		t.Fatalf("count = %d, want 1500", n)
	}
	ms, err := s.Latest(ctx, FixtureAccount, FixturePeer, 1500)
	if err != nil {
		t.Fatal(err)
	}
	if !ms[0].Timestamp.Equal(Epoch) {
		t.Errorf("first message at %v, want %v", ms[0].Timestamp, Epoch)
	}
	ties, dirs := 0, map[store.Direction]int{}
	for i, m := range ms {
		dirs[m.Direction]++
		if i == 0 {
			continue
		}
		if m.Timestamp.Before(ms[i-1].Timestamp) {
			t.Fatalf("message %d older than its predecessor", i)
		}
		if m.Timestamp.Equal(ms[i-1].Timestamp) {
			ties++
		}
	}
	if ties == 0 || dirs[store.Incoming] == 0 || dirs[store.Outgoing] == 0 {
		t.Errorf("fixture lacks variety: %d ties, directions %v", ties, dirs)
	}
	cs, _ := s.Conversations(ctx, FixtureAccount)
	if len(cs) != 1 || !cs[0].LastTime.Equal(ms[len(ms)-1].Timestamp) || cs[0].LastBody != ms[len(ms)-1].Body {
		t.Errorf("conversation row not updated: %+v", cs)
	}
	// The origin-ids are real: the store finds messages by them.
	got, err := s.MessageByOriginID(ctx, FixtureAccount, FixturePeer, ms[700].OriginID)
	if err != nil || got.ID != ms[700].ID {
		t.Errorf("MessageByOriginID: %v, %v", got.ID, err)
	}
}

func TestFixtureRebuildsInvalidCache(t *testing.T) {
	ctx := context.Background()
	t.Setenv("TMPDIR", t.TempDir())
	path, err := Fixture(ctx, 300)
	if err != nil {
		t.Fatal(err)
	}
	if path != FixturePath(300) {
		t.Errorf("path %s, want %s", path, FixturePath(300))
	}
	// Damage the cached copy: it must be noticed and rebuilt.
	s, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.DB().Exec("DELETE FROM messages WHERE id % 2 = 0"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	dir := t.TempDir()
	cp, err := CopyFixture(ctx, dir, 300)
	if err != nil {
		t.Fatal(err)
	}
	s, err = store.Open(ctx, cp)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if n, _ := s.Count(ctx, FixtureAccount, FixturePeer); n != 300 {
		t.Errorf("copied fixture holds %d messages, want 300", n)
	}
}
