package store

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"
)

const (
	me   = "me@example.org"
	bob  = "bob@example.org"
	room = "room@muc.example.org"
)

var t0 = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

func add(t *testing.T, s *Store, m *Message) bool {
	t.Helper()
	ok, err := s.AddMessage(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

func count(t *testing.T, s *Store, acct, peer string) int {
	t.Helper()
	n, err := s.Count(context.Background(), acct, peer)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func conversation(t *testing.T, s *Store, acct, peer string) Conversation {
	t.Helper()
	cs, err := s.Conversations(context.Background(), acct)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		if c.Peer == peer {
			return c
		}
	}
	t.Fatalf("conversation %s not listed in %+v", peer, cs)
	return Conversation{}
}

func TestAddMessageRoundTrip(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	in := Message{Account: me, Peer: room, Kind: KindGroupchat, Direction: Incoming,
		Sender: "alice", SenderFull: room + "/alice", Body: "hi ✓", Type: "groupchat",
		OriginID: "o1", StanzaID: "s1", StanzaBy: room,
		Timestamp: time.Date(2024, 1, 2, 3, 4, 5, 678_900_000, time.FixedZone("X", 3600)),
		Received:  t0, State: StateReceived, Encryption: "omemo", Error: "no key"}
	m := in
	if !add(t, s, &m) || m.ID == 0 {
		t.Fatalf("not inserted, ID %d", m.ID)
	}
	want := in
	want.ID = m.ID
	want.Timestamp = time.Date(2024, 1, 2, 2, 4, 5, 678_000_000, time.UTC) // UTC, whole ms
	if !reflect.DeepEqual(m, want) {
		t.Errorf("normalised message\n got %+v\nwant %+v", m, want)
	}
	got, err := s.Message(ctx, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Message\n got %+v\nwant %+v", got, want)
	}
	if _, err := s.Message(ctx, m.ID+1); !errors.Is(err, ErrNotFound) {
		t.Errorf("Message(missing) = %v", err)
	}
	c := conversation(t, s, me, room)
	if c.Kind != KindGroupchat || c.LastBody != "hi ✓" || !c.LastTime.Equal(want.Timestamp) || c.Unread != 1 {
		t.Errorf("conversation %+v", c)
	}
}

func TestAddMessageTimeDefaults(t *testing.T) {
	s := openTest(t)
	before := time.Now().Truncate(time.Millisecond)
	m := &Message{Account: me, Peer: bob, Body: "now"}
	add(t, s, m)
	after := time.Now()
	if m.Received.Before(before) || m.Received.After(after) || m.Received.Location() != time.UTC {
		t.Errorf("Received = %v, want between %v and %v in UTC", m.Received, before, after)
	}
	if !m.Timestamp.Equal(m.Received) {
		t.Errorf("Timestamp %v != Received %v", m.Timestamp, m.Received)
	}
	m2 := &Message{Account: me, Peer: bob, Body: "late", Received: t0}
	add(t, s, m2)
	if !m2.Timestamp.Equal(t0) {
		t.Errorf("zero Timestamp became %v, want Received %v", m2.Timestamp, t0)
	}
	if _, err := s.AddMessage(context.Background(), &Message{Peer: bob}); err == nil {
		t.Error("message without account accepted")
	}
}

func TestRedeliveryIsIdempotent(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)

	// The same archived message twice (e.g. overlapping MAM pages).
	mk := func() *Message {
		return &Message{Account: me, Peer: bob, Sender: bob, Body: "hello", StanzaID: "S1", StanzaBy: me, Timestamp: t0}
	}
	first := mk()
	if !add(t, s, first) {
		t.Fatal("first copy not inserted")
	}
	dup := mk()
	if add(t, s, dup) {
		t.Error("second copy inserted")
	}
	if dup.ID != first.ID {
		t.Errorf("duplicate got ID %d, want %d", dup.ID, first.ID)
	}
	// The same stanza-id from another archive is another message.
	other := mk()
	other.StanzaBy = room
	if !add(t, s, other) {
		t.Error("same stanza-id by another archive treated as duplicate")
	}

	// Origin-id: unique per sender only.
	o1 := &Message{Account: me, Peer: bob, Sender: bob, Body: "o", OriginID: "O1", Timestamp: t0.Add(time.Second)}
	add(t, s, o1)
	o1again := *o1
	o1again.ID = 0
	if add(t, s, &o1again) || o1again.ID != o1.ID {
		t.Errorf("origin-id duplicate: ID %d, want %d", o1again.ID, o1.ID)
	}
	fromOther := &Message{Account: me, Peer: bob, Sender: me, Direction: Outgoing, Body: "o", OriginID: "O1", Timestamp: t0.Add(time.Second)}
	if !add(t, s, fromOther) {
		t.Error("same origin-id from another sender treated as duplicate")
	}
	if n := count(t, s, me, bob); n != 4 {
		t.Errorf("count = %d, want 4", n)
	}
	if c := conversation(t, s, me, bob); c.Unread != 3 {
		t.Errorf("unread = %d, want 3 (duplicates must not count)", c.Unread)
	}

	// Duplicates inside one batch.
	batch := []*Message{
		{Account: me, Peer: bob, Sender: bob, OriginID: "B", Body: "b"},
		{Account: me, Peer: bob, Sender: bob, OriginID: "B", Body: "b"},
		{Account: me, Peer: bob, Sender: bob, StanzaID: "S1", StanzaBy: me},
	}
	n, err := s.AddMessages(ctx, batch)
	if err != nil || n != 1 {
		t.Errorf("AddMessages = %d, %v; want 1 new", n, err)
	}
	if batch[1].ID != batch[0].ID || batch[2].ID != first.ID {
		t.Errorf("batch IDs %d %d %d; want %d %d %d", batch[0].ID, batch[1].ID, batch[2].ID, batch[0].ID, batch[0].ID, first.ID)
	}
}

func TestSentMessageReflectedGainsStanzaID(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	sent := &Message{Account: me, Peer: room, Kind: KindGroupchat, Direction: Outgoing, Sender: "me",
		Body: "hi all", Type: "groupchat", OriginID: "X1", State: StatePending, Timestamp: t0}
	add(t, s, sent)
	if err := s.SetState(ctx, sent.ID, StateSent, ""); err != nil {
		t.Fatal(err)
	}
	// The room reflects it with its own stanza-id and a server timestamp.
	refl := &Message{Account: me, Peer: room, Kind: KindGroupchat, Direction: Outgoing, Sender: "me",
		Body: "hi all", Type: "groupchat", OriginID: "X1", StanzaID: "R9", StanzaBy: room,
		Timestamp: t0.Add(2 * time.Second), State: StateReceived}
	if add(t, s, refl) {
		t.Fatal("reflection stored as a new message")
	}
	if refl.ID != sent.ID {
		t.Fatalf("reflection ID %d, want %d", refl.ID, sent.ID)
	}
	got, err := s.Message(ctx, sent.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.StanzaID != "R9" || got.StanzaBy != room {
		t.Errorf("stanza-id not recorded: %q by %q", got.StanzaID, got.StanzaBy)
	}
	if got.State != StateSent || !got.Timestamp.Equal(t0) {
		t.Errorf("reflection changed state/time: %v %v", got.State, got.Timestamp)
	}
	// Later, MAM returns it again: matched by stanza-id now.
	mam := &Message{Account: me, Peer: room, Kind: KindGroupchat, Direction: Outgoing, Sender: "me",
		Body: "hi all", StanzaID: "R9", StanzaBy: room, Timestamp: t0.Add(2 * time.Second)}
	if add(t, s, mam) || mam.ID != sent.ID {
		t.Errorf("MAM copy: ID %d, want %d", mam.ID, sent.ID)
	}
	if n := count(t, s, me, room); n != 1 {
		t.Errorf("count = %d, want 1", n)
	}
	// A copy with a different stanza-id does not overwrite the recorded one.
	again := &Message{Account: me, Peer: room, Sender: "me", Direction: Outgoing, OriginID: "X1", StanzaID: "R10", StanzaBy: room}
	if add(t, s, again) || again.ID != sent.ID {
		t.Errorf("origin duplicate with new stanza-id: ID %d", again.ID)
	}
	if got, _ := s.Message(ctx, sent.ID); got.StanzaID != "R9" {
		t.Errorf("stanza-id overwritten with %q", got.StanzaID)
	}
}

// seq adds messages to bob with the given timestamps (seconds after t0)
// and returns them in insertion order.
func seq(t *testing.T, s *Store, secs ...int) []Message {
	t.Helper()
	var out []Message
	for i, sec := range secs {
		m := &Message{Account: me, Peer: bob, Sender: bob, Body: fmt.Sprintf("m%d@%d", i, sec),
			Timestamp: t0.Add(time.Duration(sec) * time.Second)}
		add(t, s, m)
		out = append(out, *m)
	}
	return out
}

func ids(ms []Message) []int64 {
	var out []int64
	for _, m := range ms {
		out = append(out, m.ID)
	}
	return out
}

func TestPagingAcrossEqualTimestamps(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	// Out-of-order arrival and runs of equal timestamps.
	ms := seq(t, s, 5, 1, 3, 3, 3, 2, 5, 5, 4, 3, 1, 6)
	// Expected order: by (ts, id).
	order := []int{1, 10, 5, 2, 3, 4, 9, 8, 0, 6, 7, 11}
	var want []int64
	for _, i := range order {
		want = append(want, ms[i].ID)
	}

	all, err := s.Latest(ctx, me, bob, 100)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(ids(all), want) {
		t.Fatalf("Latest(100) = %v, want %v", ids(all), want)
	}
	last4, _ := s.Latest(ctx, me, bob, 4)
	if !reflect.DeepEqual(ids(last4), want[8:]) {
		t.Errorf("Latest(4) = %v, want %v", ids(last4), want[8:])
	}
	if all[0].Account != me || all[0].Peer != bob || all[0].Kind != KindChat {
		t.Errorf("Latest fills account/peer/kind badly: %+v", all[0])
	}

	// Walk backwards from the newest in pages of 3 (page edges fall inside
	// runs of equal timestamps).
	var back []int64
	page := last4[len(last4)-1:]
	back = append(back, page[0].ID)
	for {
		p, err := s.Before(ctx, me, bob, page[0].ID, 3)
		if err != nil {
			t.Fatal(err)
		}
		if len(p) == 0 {
			break
		}
		if len(p) > 3 {
			t.Fatalf("page of %d", len(p))
		}
		back = append(ids(p), back...)
		page = p
	}
	if !reflect.DeepEqual(back, want) {
		t.Errorf("Before walk = %v, want %v", back, want)
	}

	// And forwards from the oldest.
	fwd := []int64{want[0]}
	cur := want[0]
	for {
		p, err := s.After(ctx, me, bob, cur, 3)
		if err != nil {
			t.Fatal(err)
		}
		if len(p) == 0 {
			break
		}
		fwd = append(fwd, ids(p)...)
		cur = p[len(p)-1].ID
	}
	if !reflect.DeepEqual(fwd, want) {
		t.Errorf("After walk = %v, want %v", fwd, want)
	}

	// Anchors outside the conversation are errors; empty conversations are
	// empty.
	add(t, s, &Message{Account: me, Peer: room, Body: "elsewhere"})
	other, _ := s.Latest(ctx, me, room, 1)
	if _, err := s.Before(ctx, me, bob, other[0].ID, 3); !errors.Is(err, ErrNotFound) {
		t.Errorf("Before(anchor in other conversation) = %v", err)
	}
	if _, err := s.After(ctx, me, "nobody@x", 1, 3); !errors.Is(err, ErrNotFound) {
		t.Errorf("After(unknown conversation) = %v", err)
	}
	if got, err := s.Latest(ctx, me, "nobody@x", 10); err != nil || got != nil {
		t.Errorf("Latest(unknown) = %v, %v", got, err)
	}
}

func TestUnreadAndMarkRead(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	add(t, s, &Message{Account: me, Peer: bob, Sender: bob, Body: "1", Timestamp: t0})
	add(t, s, &Message{Account: me, Peer: bob, Sender: bob, Body: "2", Timestamp: t0.Add(time.Second)})
	add(t, s, &Message{Account: me, Peer: bob, Sender: me, Direction: Outgoing, Body: "mine", Timestamp: t0.Add(2 * time.Second), State: StateSent})
	if c := conversation(t, s, me, bob); c.Unread != 2 || c.LastBody != "mine" {
		t.Errorf("after 2 in + 1 out: %+v", c)
	}
	if err := s.MarkRead(ctx, me, bob); err != nil {
		t.Fatal(err)
	}
	if c := conversation(t, s, me, bob); c.Unread != 0 {
		t.Errorf("after MarkRead: unread %d", c.Unread)
	}
	// Back-filled history counts as unread but does not become the
	// conversation's last message.
	add(t, s, &Message{Account: me, Peer: bob, Sender: bob, Body: "old", Timestamp: t0.Add(-time.Hour)})
	c := conversation(t, s, me, bob)
	if c.Unread != 1 || c.LastBody != "mine" || !c.LastTime.Equal(t0.Add(2*time.Second)) {
		t.Errorf("after back-fill: %+v", c)
	}
	// Only the named conversation is affected.
	add(t, s, &Message{Account: me, Peer: room, Kind: KindGroupchat, Sender: "x", Body: "r", Timestamp: t0})
	s.MarkRead(ctx, me, bob)
	if c := conversation(t, s, me, room); c.Unread != 1 {
		t.Errorf("MarkRead leaked to another conversation: %+v", c)
	}
	if err := s.MarkRead(ctx, me, "nobody@x"); err != nil {
		t.Errorf("MarkRead(unknown) = %v", err)
	}
}

func TestConversationsListing(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	add(t, s, &Message{Account: me, Peer: "a@x", Body: "a", Timestamp: t0.Add(3 * time.Second)})
	add(t, s, &Message{Account: me, Peer: "b@x", Body: "b", Timestamp: t0.Add(1 * time.Second)})
	add(t, s, &Message{Account: me, Peer: "c@x", Body: "c", Timestamp: t0.Add(2 * time.Second)})
	add(t, s, &Message{Account: "other@x", Peer: "a@x", Body: "o", Timestamp: t0.Add(9 * time.Second)})
	peers := func() []string {
		cs, err := s.Conversations(ctx, me)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, c := range cs {
			if c.Account != me || c.Closed {
				t.Errorf("bad listing entry %+v", c)
			}
			out = append(out, c.Peer)
		}
		return out
	}
	if got := peers(); !reflect.DeepEqual(got, []string{"a@x", "c@x", "b@x"}) {
		t.Errorf("order %v", got)
	}
	if err := s.CloseConversation(ctx, me, "c@x"); err != nil {
		t.Fatal(err)
	}
	if got := peers(); !reflect.DeepEqual(got, []string{"a@x", "b@x"}) {
		t.Errorf("after close %v", got)
	}
	// A new message reopens it and moves it to the top.
	add(t, s, &Message{Account: me, Peer: "c@x", Body: "c2", Timestamp: t0.Add(4 * time.Second)})
	if got := peers(); !reflect.DeepEqual(got, []string{"c@x", "a@x", "b@x"}) {
		t.Errorf("after new message %v", got)
	}
	// OpenConversation creates an empty one and reopens closed ones.
	s.CloseConversation(ctx, me, "b@x")
	c, err := s.OpenConversation(ctx, me, "b@x", KindChat)
	if err != nil || c.Closed || c.LastBody != "b" || c.ID == 0 {
		t.Errorf("reopen: %+v, %v", c, err)
	}
	c, err = s.OpenConversation(ctx, me, "new@muc.x", KindGroupchat)
	if err != nil || c.Kind != KindGroupchat || !c.LastTime.IsZero() || c.Unread != 0 {
		t.Errorf("open new: %+v, %v", c, err)
	}
	if got := peers(); !reflect.DeepEqual(got, []string{"c@x", "a@x", "b@x", "new@muc.x"}) {
		t.Errorf("after OpenConversation %v", got)
	}
}

func TestOutboxAndSetState(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	out := func(body string, recv time.Time) *Message {
		m := &Message{Account: me, Peer: bob, Direction: Outgoing, Sender: me, Body: body,
			State: StatePending, Received: recv, OriginID: body}
		add(t, s, m)
		return m
	}
	m1 := out("first", t0)
	m3 := out("third", t0.Add(2*time.Second))
	m2 := out("second", t0.Add(time.Second))
	m2b := out("second-b", t0.Add(time.Second)) // same queue time: insertion order
	add(t, s, &Message{Account: me, Peer: bob, Sender: bob, Body: "incoming", State: StatePending})
	add(t, s, &Message{Account: "other@x", Peer: bob, Direction: Outgoing, Body: "not mine", State: StatePending})
	add(t, s, &Message{Account: me, Peer: bob, Direction: Outgoing, Body: "already sent", State: StateSent})

	queue := func() []int64 {
		q, err := s.Outbox(ctx, me)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range q {
			if m.State != StatePending || m.Account != me || m.Peer != bob {
				t.Errorf("outbox entry %+v", m)
			}
		}
		return ids(q)
	}
	if got, want := queue(), []int64{m1.ID, m2.ID, m2b.ID, m3.ID}; !reflect.DeepEqual(got, want) {
		t.Fatalf("outbox %v, want %v", got, want)
	}

	state := func(id int64) Message {
		m, err := s.Message(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	// Sending dequeues.
	if err := s.SetState(ctx, m2.ID, StateSent, ""); err != nil {
		t.Fatal(err)
	}
	if got, want := queue(), []int64{m1.ID, m2b.ID, m3.ID}; !reflect.DeepEqual(got, want) {
		t.Errorf("after sent: %v, want %v", got, want)
	}
	// States move forward only.
	s.SetState(ctx, m2.ID, StateDelivered, "")
	s.SetState(ctx, m2.ID, StateSent, "")
	if st := state(m2.ID).State; st != StateDelivered {
		t.Errorf("Delivered went back to %v", st)
	}
	s.SetState(ctx, m2.ID, StateRead, "")
	s.SetState(ctx, m2.ID, StateDelivered, "")
	if st := state(m2.ID).State; st != StateRead {
		t.Errorf("Read went back to %v", st)
	}
	// Failure, then a retry puts it at the end of the queue.
	if err := s.SetState(ctx, m1.ID, StateFailed, "service-unavailable"); err != nil {
		t.Fatal(err)
	}
	if m := state(m1.ID); m.State != StateFailed || m.Error != "service-unavailable" {
		t.Errorf("failed message %+v", m)
	}
	if got, want := queue(), []int64{m2b.ID, m3.ID}; !reflect.DeepEqual(got, want) {
		t.Errorf("after failure: %v, want %v", got, want)
	}
	if err := s.SetState(ctx, m1.ID, StatePending, ""); err != nil {
		t.Fatal(err)
	}
	if got, want := queue(), []int64{m2b.ID, m3.ID, m1.ID}; !reflect.DeepEqual(got, want) {
		t.Errorf("after retry: %v, want %v", got, want)
	}
	if m := state(m1.ID); m.State != StatePending || m.Error != "" {
		t.Errorf("retried message %+v", m)
	}
	// Pending again keeps the queue position.
	s.SetState(ctx, m2b.ID, StatePending, "")
	if got, want := queue(), []int64{m2b.ID, m3.ID, m1.ID}; !reflect.DeepEqual(got, want) {
		t.Errorf("pending→pending moved: %v, want %v", got, want)
	}
	if err := s.SetState(ctx, 99999, StateSent, ""); !errors.Is(err, ErrNotFound) {
		t.Errorf("SetState(missing) = %v", err)
	}
	// Deleting a message (e.g. history cleanup) drops its queue entry.
	if _, err := s.DB().Exec("DELETE FROM messages WHERE id = ?", m3.ID); err != nil {
		t.Fatal(err)
	}
	if got, want := queue(), []int64{m2b.ID, m1.ID}; !reflect.DeepEqual(got, want) {
		t.Errorf("after delete: %v, want %v", got, want)
	}
}

func TestMessageByOriginID(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	a := &Message{Account: me, Peer: room, Sender: "alice", OriginID: "same", Body: "from alice", Timestamp: t0}
	b := &Message{Account: me, Peer: room, Sender: "bob", OriginID: "same", Body: "from bob", Timestamp: t0.Add(time.Second)}
	c := &Message{Account: me, Peer: room, Sender: "carol", OriginID: "uniq", Body: "from carol", Timestamp: t0}
	add(t, s, b)
	add(t, s, a)
	add(t, s, c)
	got, err := s.MessageByOriginID(ctx, me, room, "uniq")
	if err != nil || got.ID != c.ID || got.Peer != room {
		t.Errorf("uniq: %+v, %v", got, err)
	}
	got, err = s.MessageByOriginID(ctx, me, room, "same")
	if err != nil || got.ID != b.ID {
		t.Errorf("shared origin-id: got %d (%v), want newest %d", got.ID, err, b.ID)
	}
	for _, tc := range [][3]string{{me, room, "nope"}, {me, bob, "uniq"}, {"x@y", room, "uniq"}, {me, room, ""}} {
		if _, err := s.MessageByOriginID(ctx, tc[0], tc[1], tc[2]); !errors.Is(err, ErrNotFound) {
			t.Errorf("%v: err = %v, want ErrNotFound", tc, err)
		}
	}
}
