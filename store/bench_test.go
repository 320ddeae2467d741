package store_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"xchat/internal/storetest"
	"xchat/store"
)

const million = 1_000_000

// benchDir is removed when the test binary exits.
var benchDir string

func tempDir() (string, error) {
	var err error
	if benchDir == "" {
		benchDir, err = os.MkdirTemp("", "xchat-store-bench")
	}
	return benchDir, err
}

func TestMain(m *testing.M) {
	code := m.Run()
	if benchDir != "" {
		os.RemoveAll(benchDir)
	}
	os.Exit(code)
}

// fixture holds one private copy of the 1M-message fixture per process,
// shared by the benchmarks below (they only read it).
var fixture struct {
	once sync.Once
	path string
	err  error
}

func millionDB(b *testing.B) string {
	b.Helper()
	fixture.once.Do(func() {
		start := time.Now()
		dir, err := tempDir()
		if err != nil {
			fixture.err = err
			return
		}
		fixture.path, fixture.err = storetest.CopyFixture(context.Background(), dir, million)
		b.Logf("1M-message fixture ready in %v", time.Since(start).Round(time.Millisecond))
	})
	if fixture.err != nil {
		b.Fatal(fixture.err)
	}
	return fixture.path
}

func openBench(b *testing.B, path string) *store.Store {
	b.Helper()
	s, err := store.Open(context.Background(), path)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

// BenchmarkAddMessages inserts 100k messages over 20 conversations in
// batches, as a MAM catch-up would, and reports the rate. ids=random uses
// random origin- and stanza-ids like most clients and servers generate, so
// the unique indexes take scattered insertions; ids=ordered uses
// time-ordered ones (UUIDv7-like, as some servers generate), which append.
func BenchmarkAddMessages(b *testing.B) {
	for _, ordered := range []bool{false, true} {
		for _, batch := range []int{100, 1000} {
			name := fmt.Sprintf("ids=random/batch=%d", batch)
			if ordered {
				name = fmt.Sprintf("ids=ordered/batch=%d", batch)
			}
			b.Run(name, func(b *testing.B) { benchAdd(b, batch, ordered) })
		}
	}
}

func benchAdd(b *testing.B, batch int, ordered bool) {
	const total = 100_000
	ctx := context.Background()
	var elapsed time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		s, err := store.Open(ctx, filepath.Join(b.TempDir(), fmt.Sprintf("add%d.db", i)))
		if err != nil {
			b.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(1, uint64(i)))
		ms := make([]*store.Message, total)
		for j := range ms {
			peer := fmt.Sprintf("peer%d@example.org", j%20)
			m := &store.Message{Account: "me@example.org", Peer: peer, Sender: peer,
				Body: storetest.Body(j), Type: "chat", StanzaBy: "me@example.org",
				Timestamp: storetest.Epoch.Add(time.Duration(j) * time.Second)}
			if ordered {
				m.OriginID = fmt.Sprintf("%016x-%016x", j, rng.Uint64())
				m.StanzaID = fmt.Sprintf("%016x", j)
			} else {
				m.OriginID = fmt.Sprintf("%016x-%016x", rng.Uint64(), rng.Uint64())
				m.StanzaID = fmt.Sprintf("%016x", rng.Uint64())
			}
			ms[j] = m
		}
		b.StartTimer()
		start := time.Now()
		for j := 0; j < total; j += batch {
			n, err := s.AddMessages(ctx, ms[j:min(j+batch, total)])
			if err != nil || n != min(batch, total-j) {
				b.Fatal(n, err)
			}
		}
		elapsed += time.Since(start)
		b.StopTimer()
		s.Close()
	}
	b.ReportMetric(float64(total*b.N)/elapsed.Seconds(), "msgs/s")
}

// BenchmarkAddMessage is the cost of storing one live message.
func BenchmarkAddMessage(b *testing.B) {
	ctx := context.Background()
	s := openBench(b, filepath.Join(b.TempDir(), "one.db"))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m := &store.Message{Account: "me@example.org", Peer: "bob@example.org", Sender: "bob@example.org",
			Body: "hello there", OriginID: fmt.Sprintf("o-%d", i)}
		if _, err := s.AddMessage(ctx, m); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLatest100 reads the newest 100 messages of a conversation
// holding 1M.
func BenchmarkLatest100(b *testing.B) {
	ctx := context.Background()
	s := openBench(b, millionDB(b))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ms, err := s.Latest(ctx, storetest.FixtureAccount, storetest.FixturePeer, 100)
		if err != nil || len(ms) != 100 {
			b.Fatal(len(ms), err)
		}
	}
}

// BenchmarkBefore100 pages back from the middle of a 1M conversation.
func BenchmarkBefore100(b *testing.B) {
	ctx := context.Background()
	s := openBench(b, millionDB(b))
	var anchor int64
	s.DB().QueryRow("SELECT id FROM messages ORDER BY id LIMIT 1 OFFSET 500000").Scan(&anchor)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ms, err := s.Before(ctx, storetest.FixtureAccount, storetest.FixturePeer, anchor, 100)
		if err != nil || len(ms) != 100 {
			b.Fatal(len(ms), err)
		}
	}
}

// BenchmarkOpenFirstFrame is the store's part of starting xchat on a
// database with 1M messages: open it, list the conversations, load the
// newest 100 messages of the first.
func BenchmarkOpenFirstFrame(b *testing.B) {
	ctx := context.Background()
	path := millionDB(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s, err := store.Open(ctx, path)
		if err != nil {
			b.Fatal(err)
		}
		cs, err := s.Conversations(ctx, storetest.FixtureAccount)
		if err != nil || len(cs) == 0 {
			b.Fatal(cs, err)
		}
		ms, err := s.Latest(ctx, cs[0].Account, cs[0].Peer, 100)
		if err != nil || len(ms) != 100 {
			b.Fatal(len(ms), err)
		}
		s.Close()
	}
}

// BenchmarkSearch1M measures the LIKE scan over 1M messages, the baseline
// an FTS5 index would improve on.
func BenchmarkSearch1M(b *testing.B) {
	ctx := context.Background()
	s := openBench(b, millionDB(b))
	for _, text := range []string{"cosy lunch", "nothing matches this"} {
		b.Run(text, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if _, err := s.Search(ctx, storetest.FixtureAccount, storetest.FixturePeer, text, 50); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
