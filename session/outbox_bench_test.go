package session

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"mellium.im/xmpp"
	"mellium.im/xmpp/jid"

	"xchat/store"
)

// benchPipeClient is pipeClient for benchmarks (pipeClient takes a
// *testing.T): a Client whose logins are served by a fakeServer over a
// loopback socket pair, and its store.
func benchPipeClient(b *testing.B) (*Client, *fakeServer, *store.Store) {
	b.Helper()
	const account = "alice@example.org"
	st, err := store.Open(context.Background(), filepath.Join(b.TempDir(), "x.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	c, err := New(Config{JID: account, MinBackoff: 20 * time.Millisecond,
		Password: func(context.Context) (string, error) { return "x", nil }}, st, nil)
	if err != nil {
		b.Fatal(err)
	}
	fs := &fakeServer{sessions: make(chan *xmpp.Session, 8)}
	c.loginHook = func(ctx context.Context) (*xmpp.Session, error) {
		a, z, err := tcpPair()
		if err != nil {
			return nil, err
		}
		local := jid.MustParse(account + "/pipe")
		domain := local.Domain()
		cs, err := xmpp.NewSession(ctx, domain, local, a, 0, pipeNegotiator)
		if err != nil {
			return nil, err
		}
		ss, err := xmpp.NewSession(ctx, local, domain, z, xmpp.Received, pipeNegotiator)
		if err != nil {
			return nil, err
		}
		fs.mu.Lock()
		fs.s = ss
		fs.mu.Unlock()
		go func() { _ = ss.Serve(fs) }()
		fs.sessions <- ss
		return cs, nil
	}
	return c, fs, st
}

// BenchmarkOutboxFlush queues 1,000 messages while offline, logs in over
// the loopback fake server, and times from Online until all 1,000 are
// Sent: written in order and confirmed by ping barriers (stream
// management is not active on the fake server). ns/op is that time.
func BenchmarkOutboxFlush(b *testing.B) {
	const queued = 1000
	ctx := context.Background()
	var total time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		c, _, st := benchPipeClient(b)
		msgs := make([]*store.Message, queued)
		for j := range msgs {
			peer := fmt.Sprintf("friend%d@example.net", j%10)
			msgs[j] = &store.Message{Account: c.acct, Peer: peer, Direction: store.Outgoing,
				Sender: c.acct, Body: fmt.Sprintf("queued while offline, number %d", j), Type: "chat",
				OriginID: fmt.Sprintf("out-%d-%d", i, j), State: store.StatePending}
		}
		if _, err := st.AddMessages(ctx, msgs); err != nil {
			b.Fatal(err)
		}
		want := make(map[int64]bool, queued)
		for _, m := range msgs {
			want[m.ID] = true
		}

		runCtx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { _ = c.Run(runCtx); close(done) }()
		var start time.Time
		timeout := time.After(60 * time.Second)
		for len(want) > 0 {
			select {
			case ev := <-c.Events():
				switch e := ev.(type) {
				case StateEvent:
					if e.State == Online && start.IsZero() {
						start = time.Now()
						b.StartTimer()
					}
				case MessageStateEvent:
					if e.State == store.StateSent {
						delete(want, e.ID)
					}
				}
			case <-timeout:
				b.Fatalf("%d messages not sent after 60s", len(want))
			}
		}
		b.StopTimer()
		total += time.Since(start)
		cancel()
		<-done
		if n, err := st.Outbox(ctx, c.acct); err != nil || len(n) != 0 {
			b.Fatalf("outbox holds %d messages (%v) after the flush", len(n), err)
		}
	}
	b.ReportMetric(float64(queued*b.N)/total.Seconds(), "msgs/s")
}
