package store

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

func BenchmarkScratchInsert(b *testing.B) {
	for _, v := range []struct{ name, suffix, pre string }{
		{"conflict", " ON CONFLICT DO NOTHING", ""},
		{"plain", "", ""},
		{"conflict-nofk", " ON CONFLICT DO NOTHING", "PRAGMA foreign_keys=off"},
		{"plain-nofk", "", "PRAGMA foreign_keys=off"},
	} {
		b.Run(v.name, func(b *testing.B) {
			ctx := context.Background()
			var el time.Duration
			for i := 0; i < b.N; i++ {
				s, _ := Open(ctx, filepath.Join(b.TempDir(), "x.db"))
				s.DB().SetMaxOpenConns(1)
				if v.pre != "" {
					s.DB().Exec(v.pre)
				}
				c, _ := s.OpenConversation(ctx, "me", "peer", 0)
				start := time.Now()
				for k := 0; k < 100; k++ {
					tx, _ := s.DB().Begin()
					st, err := tx.Prepare(`INSERT INTO messages (account_id, conversation_id, direction, sender,
	sender_full, body, type, origin_id, stanza_id, stanza_by, ts, received, state, encryption, error)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)` + v.suffix)
					if err != nil {
						b.Fatal(err)
					}
					for j := 0; j < 1000; j++ {
						n := k*1000 + j
						if _, err := st.Exec(1, c.ID, 0, "peer", "", "some body text here", "chat", fmt.Sprintf("o-%d", n), fmt.Sprintf("s-%d", n), "me", n, n, 0, "", ""); err != nil {
							b.Fatal(err)
						}
					}
					st.Close()
					tx.Commit()
				}
				el += time.Since(start)
				s.Close()
			}
			b.ReportMetric(float64(100000*b.N)/el.Seconds(), "msgs/s")
		})
	}
}
