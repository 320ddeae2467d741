package session

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"xchat/store"
)

// mamBenchBody is a realistic chat line (~80 bytes, with XML escaping).
const mamBenchBody = "ok &amp; see you at the station at %d, I&apos;ll bring the tickets — don&apos;t be late"

// mamResultXML returns archived message number i as the server sends it:
// a MAM result (XEP-0313) wrapping a forwarded chat message with its
// archive stamp and origin-id. Messages alternate between two peers and
// every fourth is one we sent from another device.
func mamResultXML(queryID string, i int) []byte {
	peer := []string{"bob@example.net", "carol@example.com"}[i%2]
	from, to := peer+"/phone", "alice@example.org"
	if i%4 == 3 {
		from, to = "alice@example.org/laptop", peer
	}
	stamp := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Second).Format(time.RFC3339)
	return fmt.Appendf(nil, `<message xmlns='jabber:client' to='alice@example.org/pipe'>`+
		`<result xmlns='urn:xmpp:mam:2' queryid='%s' id='arch-%08d'>`+
		`<forwarded xmlns='urn:xmpp:forward:0'><delay xmlns='urn:xmpp:delay' stamp='%s'/>`+
		`<message xmlns='jabber:client' from='%s' to='%s' type='chat' id='m-%08d'>`+
		`<body>`+mamBenchBody+`</body>`+
		`<origin-id xmlns='urn:xmpp:sid:0' id='origin-%08d'/>`+
		`<request xmlns='urn:xmpp:receipts'/><active xmlns='http://jabber.org/protocol/chatstates'/>`+
		`</message></forwarded></result></message>`, queryID, i, stamp, from, to, i, i, i)
}

// decodeStanza is what the connection handler does with a top-level
// element: the stream's decoder tokenizes it once (here from bytes) and
// decodeMessage reads those tokens into the struct and the raw bytes.
func decodeStanza(b []byte) (*inMessage, error) {
	d := xml.NewDecoder(bytes.NewReader(b))
	tok, err := d.Token()
	if err != nil {
		return nil, err
	}
	start, ok := tok.(xml.StartElement)
	if !ok {
		return nil, fmt.Errorf("not an element: %T", tok)
	}
	m, _, err := decodeMessage(&start, d)
	return m, err
}

// BenchmarkMAMIngest replays archive pages through the client's MAM path:
// decode each result, turn it into a row (mamResult → toStore), and store
// the page in one transaction (flushMAMPage → AddMessagesReport), which
// also records the archive position. Pages overlap by half, as on a
// catch-up that restarts from an older position, so half of every page is
// recognised as already stored.
func BenchmarkMAMIngest(b *testing.B) {
	const page = mamPageSize
	const overlap = page / 2
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(b.TempDir(), "mam.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	c, err := New(Config{JID: "alice@example.org", Password: func(context.Context) (string, error) { return "x", nil }}, st, nil)
	if err != nil {
		b.Fatal(err)
	}
	const queryID = "bench-query"
	// The recorded stanzas: page i is elements [i*overlap, i*overlap+page).
	total := (b.N-1)*overlap + page
	elems := make([][]byte, total)
	for i := range elems {
		elems[i] = mamResultXML(queryID, i)
	}
	ingest := func(from int) (added int) {
		q := &mamQueryState{queryID: queryID, archive: c.acct}
		c.mam = map[string]*mamQueryState{queryID: q}
		for _, e := range elems[from : from+page] {
			m, err := decodeStanza(e)
			if err != nil || m.MAMResult == nil {
				b.Fatalf("decode: %v", err)
			}
			c.mamResult(m.From, m.MAMResult)
		}
		if len(q.page) != page {
			b.Fatalf("page holds %d messages, want %d", len(q.page), page)
		}
		c.flushMAMPage(ctx, q, q.page[page-1].StanzaID)
		c.events.take() // nobody reads events here
		return q.added
	}
	// The first half of the first page is stored already.
	q := &mamQueryState{queryID: queryID, archive: c.acct}
	c.mam = map[string]*mamQueryState{queryID: q}
	for _, e := range elems[:overlap] {
		m, err := decodeStanza(e)
		if err != nil {
			b.Fatal(err)
		}
		c.mamResult(m.From, m.MAMResult)
	}
	c.flushMAMPage(ctx, q, "")
	c.events.take()

	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if added := ingest(i * overlap); added != page-overlap {
			b.Fatalf("page %d: %d new messages, want %d", i, added, page-overlap)
		}
	}
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N*page)/elapsed.Seconds(), "msgs/s")
	b.ReportMetric(float64(b.N*(page-overlap))/elapsed.Seconds(), "new-msgs/s")

	// The archive position and the stored history are what the pages said.
	n, err := st.Count(ctx, c.acct, "bob@example.net")
	if err != nil || n != (total+1)/2 {
		b.Fatalf("stored %d messages with bob (%v), want %d", n, err, (total+1)/2)
	}
	last, _, err := st.ArchiveSync(ctx, c.acct, c.acct)
	if want := fmt.Sprintf("arch-%08d", total-1); err != nil || last != want {
		b.Fatalf("archive position %q (%v), want %q", last, err, want)
	}
}

// BenchmarkMAMDecode is the decoding part of BenchmarkMAMIngest alone: a
// page of results decoded and turned into rows (mamResult → toStore),
// without storing them.
func BenchmarkMAMDecode(b *testing.B) {
	const page = mamPageSize
	c, err := New(Config{JID: "alice@example.org", Password: func(context.Context) (string, error) { return "x", nil }}, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	const queryID = "bench-query"
	elems := make([][]byte, page)
	for i := range elems {
		elems[i] = mamResultXML(queryID, i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		q := &mamQueryState{queryID: queryID, archive: c.acct}
		c.mam = map[string]*mamQueryState{queryID: q}
		for _, e := range elems {
			m, err := decodeStanza(e)
			if err != nil || m.MAMResult == nil {
				b.Fatalf("decode: %v", err)
			}
			c.mamResult(m.From, m.MAMResult)
		}
		if len(q.page) != page || q.page[page-1].Body == "" {
			b.Fatalf("page holds %d messages", len(q.page))
		}
	}
	b.ReportMetric(float64(b.N*page)/b.Elapsed().Seconds(), "msgs/s")
}
