package store_test

import (
	"context"
	"testing"
	"time"

	"xchat/internal/storetest"
)

// BenchmarkSearchFTS1M runs full-text queries over a conversation of 1M
// messages, newest 50 hits, in one conversation and across all of them.
// The fixture's vocabulary is tiny, so "cosy lunch" matches a large share
// of the messages: a worst case for the sort by time.
func BenchmarkSearchFTS1M(b *testing.B) {
	ctx := context.Background()
	s := openBench(b, millionDB(b))
	start := time.Now()
	if err := s.FlushIndex(ctx); err != nil {
		b.Fatal(err)
	}
	b.Logf("indexed the fixture in %v", time.Since(start).Round(time.Millisecond))
	for _, tc := range []struct{ name, peer, text string }{
		{"two-words", storetest.FixturePeer, "cosy lunch"},
		{"two-words-all-peers", "", "cosy lunch"},
		{"prefix", storetest.FixturePeer, "xmpp serv"},
		{"rare", storetest.FixturePeer, "tomorrow stanzas relay"},
		{"no-match", storetest.FixturePeer, "nothing matches this"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			n := 0
			for i := 0; i < b.N; i++ {
				ms, err := s.Search(ctx, storetest.FixtureAccount, tc.peer, tc.text, 50)
				if err != nil {
					b.Fatal(err)
				}
				n = len(ms)
			}
			b.ReportMetric(float64(n), "hits")
		})
	}
}
