package store

import (
	"context"
	"fmt"
	"testing"
	"time"
)

func TestHistoryStateAndGaps(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	const acct, peer = "me@example.org", "bob@example.org"
	base := time.Date(2024, 5, 6, 12, 0, 0, 0, time.UTC)
	var live []*Message
	for i := range 3 {
		live = append(live, &Message{Account: acct, Peer: peer, Sender: peer, Body: fmt.Sprintf("live %d", i),
			StanzaID: fmt.Sprintf("s%d", 10+i), StanzaBy: acct, Timestamp: base.Add(time.Duration(10+i) * time.Minute)})
	}
	if _, err := s.AddMessages(ctx, live); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkRead(ctx, acct, peer); err != nil {
		t.Fatal(err)
	}
	// Older history does not count as unread; a duplicate is reported.
	older := []*Message{
		{Account: acct, Peer: peer, Sender: peer, Body: "old 0", StanzaID: "s1", StanzaBy: acct, Timestamp: base.Add(time.Minute)},
		{Account: acct, Peer: peer, Sender: peer, Body: "live 0", StanzaID: "s10", StanzaBy: acct, Timestamp: base.Add(10 * time.Minute)},
	}
	added, err := s.AddHistory(ctx, older)
	if err != nil || len(added) != 2 || !added[0] || added[1] {
		t.Fatalf("AddHistory = %v, %v", added, err)
	}
	convs, _ := s.Conversations(ctx, acct)
	if len(convs) != 1 || convs[0].Unread != 0 {
		t.Fatalf("unread after older history: %+v", convs)
	}
	if convs[0].LastBody != "live 2" {
		t.Errorf("older history became the newest: %q", convs[0].LastBody)
	}
	m, err := s.OldestArchived(ctx, acct, peer, acct, time.Time{})
	if err != nil || m.StanzaID != "s1" {
		t.Fatalf("oldest archived = %+v, %v", m, err)
	}
	m, err = s.OldestArchived(ctx, acct, peer, acct, base.Add(5*time.Minute))
	if err != nil || m.StanzaID != "s10" {
		t.Fatalf("oldest archived since 12:05 = %+v, %v", m, err)
	}
	if _, err := s.OldestArchived(ctx, acct, peer, "room@x", time.Time{}); err != ErrNotFound {
		t.Errorf("another archive: %v", err)
	}
	if ok, _ := s.HasBefore(ctx, acct, peer, base.Add(time.Minute)); ok {
		t.Error("HasBefore the oldest message")
	}
	if ok, _ := s.HasBefore(ctx, acct, peer, base.Add(10*time.Minute)); !ok {
		t.Error("not HasBefore a later message")
	}

	if start, _ := s.ArchiveStart(ctx, acct, peer); start {
		t.Error("archive start before it was set")
	}
	if err := s.SetArchiveStart(ctx, acct, peer, true); err != nil {
		t.Fatal(err)
	}
	if start, _ := s.ArchiveStart(ctx, acct, peer); !start {
		t.Error("archive start not kept")
	}

	g := base.Add(10 * time.Minute)
	if err := s.AddGap(ctx, acct, peer, g, false); err != nil {
		t.Fatal(err)
	}
	if err := s.AddGap(ctx, acct, peer, g, true); err != nil {
		t.Fatal(err)
	}
	gaps, err := s.Gaps(ctx, acct, peer)
	if err != nil || len(gaps) != 1 || !gaps[0].At.Equal(g) || !gaps[0].Lost {
		t.Fatalf("gaps = %v, %v", gaps, err)
	}
	if err := s.RemoveGap(ctx, acct, peer, g); err != nil {
		t.Fatal(err)
	}
	if gaps, _ := s.Gaps(ctx, acct, peer); len(gaps) != 0 {
		t.Fatalf("gap not removed: %v", gaps)
	}

	// Read elsewhere up to "live 1": "live 2" stays unread.
	if _, err := s.AddMessages(ctx, []*Message{{Account: acct, Peer: peer, Sender: peer, Body: "new", Timestamp: base.Add(time.Hour)}}); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkReadThrough(ctx, acct, peer, live[1].ID); err != nil {
		t.Fatal(err)
	}
	convs, _ = s.Conversations(ctx, acct)
	if convs[0].Unread != 2 {
		t.Errorf("unread after reading through live 1 = %d, want 2", convs[0].Unread)
	}

	// Occupant ids of room messages.
	if err := s.SetOccupantID(ctx, live[0].ID, "occ-1"); err != nil {
		t.Fatal(err)
	}
	if id, _ := s.OccupantID(ctx, live[0].ID); id != "occ-1" {
		t.Errorf("occupant id %q", id)
	}
	if id, _ := s.OccupantID(ctx, live[1].ID); id != "" {
		t.Errorf("occupant id of another message %q", id)
	}
}
