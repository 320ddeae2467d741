package store

import (
	"context"
	"path/filepath"
	"testing"
	"time"
)

func TestArchiveSyncAndArchiveTime(t *testing.T) {
	ctx := context.Background()
	st, err := Open(ctx, filepath.Join(t.TempDir(), "x.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if id, ts, err := st.ArchiveSync(ctx, "me@x", "me@x"); err != nil || id != "" || !ts.IsZero() {
		t.Fatalf("empty archive position = %q %v %v", id, ts, err)
	}
	t0 := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	if err := st.SetArchiveSync(ctx, "me@x", "me@x", "s-9", t0); err != nil {
		t.Fatal(err)
	}
	if id, ts, err := st.ArchiveSync(ctx, "me@x", "me@x"); err != nil || id != "s-9" || !ts.Equal(t0) {
		t.Fatalf("archive position = %q %v %v", id, ts, err)
	}
	// An offline copy with a late stamp, then the archive's copy: the
	// archive's time wins; a non-archive duplicate changes nothing.
	late := Message{Account: "me@x", Peer: "p@x", Sender: "p@x", Body: "b", OriginID: "o1", StanzaID: "s1", StanzaBy: "me@x", Timestamp: t0.Add(time.Minute)}
	if _, err := st.AddMessage(ctx, &late); err != nil {
		t.Fatal(err)
	}
	again := late
	again.Timestamp = t0.Add(2 * time.Minute)
	if ins, err := st.AddMessage(ctx, &again); err != nil || ins {
		t.Fatalf("duplicate inserted=%v err=%v", ins, err)
	}
	arch := late
	arch.Timestamp, arch.ArchiveTime = t0, true
	added, err := st.AddMessagesReport(ctx, []*Message{&arch})
	if err != nil || added[0] {
		t.Fatalf("archive duplicate added=%v err=%v", added, err)
	}
	got, err := st.Message(ctx, late.ID)
	if err != nil || !got.Timestamp.Equal(t0) {
		t.Fatalf("timestamp after archive copy = %v (%v), want %v", got.Timestamp, err, t0)
	}
}

func TestMuteConversation(t *testing.T) {
	ctx := context.Background()
	st, err := Open(ctx, filepath.Join(t.TempDir(), "x.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	m := Message{Account: "me@x", Peer: "p@x", Sender: "p@x", Body: "hi"}
	if _, err := st.AddMessage(ctx, &m); err != nil {
		t.Fatal(err)
	}
	for _, want := range []bool{true, false} {
		if err := st.SetMuted(ctx, "me@x", "p@x", KindChat, want); err != nil {
			t.Fatal(err)
		}
		cs, err := st.Conversations(ctx, "me@x")
		if err != nil || len(cs) != 1 || cs[0].Muted != want {
			t.Fatalf("after SetMuted(%v): %+v, %v", want, cs, err)
		}
	}
}
