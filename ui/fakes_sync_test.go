package ui

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"xchat/session"
	"xchat/store"
)

// A fake server archive for fakeAccount.FetchOlder: per account and peer,
// the messages the server holds that the fake store does not (yet), oldest
// first. FetchOlder moves the newest archivePage of them into the store,
// like session.Client stores an archive page.

const archivePage = 50

type fakeArchive struct {
	msgs  []store.Message
	gaps  map[time.Time][]store.Message // a gap's missing messages, by the gap's time
	err   error
	block chan struct{} // when set, FetchOlder waits for it
}

var (
	fakeArchivesMu sync.Mutex
	fakeArchives   = map[*fakeAccount]map[string]*fakeArchive{}
	fakeGaps       = map[*fakeStore]map[string][]store.Gap{}
	archiveStores  = map[*fakeAccount]*fakeStore{}
)

// seedArchive gives peer's conversation total messages "m 000"…, one a
// minute up to testNow: the store holds the newest held, the fake server
// the rest. Ids follow the order, as the real store's keyset order does.
func seedArchive(st *fakeStore, f *fakeAccount, peer string, total, held int) *fakeArchive {
	fakeArchivesMu.Lock()
	defer fakeArchivesMu.Unlock()
	st.mu.Lock()
	defer st.mu.Unlock()
	arch := &fakeArchive{}
	k := f.jid + " " + peer
	for i := range total {
		m := store.Message{
			ID: int64(i + 1), Account: f.jid, Peer: peer, Kind: store.KindChat, Direction: store.Incoming,
			Sender: peer, Body: fmt.Sprintf("m%03d", i), Type: "chat",
			Timestamp: testNow.Add(time.Duration(i-total) * time.Minute), State: store.StateReceived,
		}
		if i < total-held {
			arch.msgs = append(arch.msgs, m)
		} else {
			st.msgs[k] = append(st.msgs[k], m)
		}
	}
	st.nextID = max(st.nextID, int64(total+1))
	if fakeArchives[f] == nil {
		fakeArchives[f] = map[string]*fakeArchive{}
	}
	fakeArchives[f][peer] = arch
	archiveStores[f] = st
	return arch
}

// cutGap removes messages from..to (indexes of the seeded conversation)
// from the store and records a gap before the first one after them, which
// FetchOlder with that gap restores.
func cutGap(st *fakeStore, f *fakeAccount, peer string, from, to int) time.Time {
	fakeArchivesMu.Lock()
	defer fakeArchivesMu.Unlock()
	st.mu.Lock()
	defer st.mu.Unlock()
	k := f.jid + " " + peer
	all := st.msgs[k]
	var cut, kept []store.Message
	var at time.Time
	for _, m := range all {
		switch n := m.ID - 1; {
		case n >= int64(from) && n <= int64(to):
			cut = append(cut, m)
		default:
			if n == int64(to+1) {
				at = m.Timestamp
			}
			kept = append(kept, m)
		}
	}
	st.msgs[k] = kept
	arch := fakeArchives[f][peer]
	if arch.gaps == nil {
		arch.gaps = map[time.Time][]store.Message{}
	}
	arch.gaps[at] = cut
	if fakeGaps[st] == nil {
		fakeGaps[st] = map[string][]store.Gap{}
	}
	fakeGaps[st][k] = append(fakeGaps[st][k], store.Gap{At: at})
	return at
}

func (f *fakeAccount) FetchOlder(ctx context.Context, peer string, gap time.Time) (session.HistoryResult, error) {
	fakeArchivesMu.Lock()
	arch := fakeArchives[f][peer]
	st := archiveStores[f]
	fakeArchivesMu.Unlock()
	if arch == nil {
		// No archive seeded: nothing older (not recorded, so tests that
		// list calls are not concerned).
		return session.HistoryResult{Start: true}, nil
	}
	f.record("FetchOlder", peer, gap.Format(time.RFC3339))
	if arch.block != nil {
		select {
		case <-arch.block:
		case <-ctx.Done():
			return session.HistoryResult{}, ctx.Err()
		}
	}
	if arch.err != nil {
		return session.HistoryResult{}, arch.err
	}
	fakeArchivesMu.Lock()
	defer fakeArchivesMu.Unlock()
	st.mu.Lock()
	defer st.mu.Unlock()
	k := f.jid + " " + peer
	insert := func(ms []store.Message) {
		all := append(slices.Clone(ms), st.msgs[k]...)
		slices.SortFunc(all, func(a, b store.Message) int { return int(a.ID - b.ID) })
		st.msgs[k] = all
	}
	if !gap.IsZero() {
		cut, ok := arch.gaps[gap]
		if !ok {
			return session.HistoryResult{}, errors.New("no such gap")
		}
		delete(arch.gaps, gap)
		fakeGaps[st][k] = slices.DeleteFunc(fakeGaps[st][k], func(g store.Gap) bool { return g.At.Equal(gap) })
		insert(cut)
		return session.HistoryResult{Added: len(cut), GapClosed: true}, nil
	}
	n := min(archivePage, len(arch.msgs))
	page := arch.msgs[len(arch.msgs)-n:]
	arch.msgs = arch.msgs[:len(arch.msgs)-n]
	insert(page)
	return session.HistoryResult{Added: n, Start: len(arch.msgs) == 0}, nil
}

// Gaps makes fakeStore a HistoryStore.
func (s *fakeStore) Gaps(_ context.Context, acct, peer string) ([]store.Gap, error) {
	fakeArchivesMu.Lock()
	defer fakeArchivesMu.Unlock()
	return slices.Clone(fakeGaps[s][acct+" "+peer]), nil
}
