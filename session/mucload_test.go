package session_test

// Group-chat load measurements (the MUC performance goals):
//
//   - TestMUCLoad: a client joins 10 rooms of 500 occupants on a local
//     Prosody; all occupant lists must be complete within 2 s of the
//     server's first answer. The same events are replayed into the UI model
//     when the UI replay is compiled in (go test -tags xchat_uiload; see
//     mucload_ui_test.go), which reports the UI time.
//   - TestMUCMemory: heap and RSS before and after joining 20 rooms of 200.
//   - BenchmarkRoomFlood: no server; the session-side cost of a 1,000
//     occupant presence flood (muc.Room plus one snapshot).
//
// The two tests are measurements, not checks for every run: they are slow
// and run only with XCHAT_LOAD=1 (CI=true alone does not run them):
//
//	XCHAT_LOAD=1 go test ./session -run 'TestMUC(Load|Memory)' -v -timeout 30m
//
// Filling the rooms is the slow part: every join makes the server send the
// newcomer the occupant list and everyone the newcomer, so a room of n
// costs it n² presences, 2.5 million for 10 rooms of 500 — about 7 to 10
// minutes of Prosody on 2 cores (2 for 20 × 200). XCHAT_LOAD_ROOMS and
// XCHAT_LOAD_OCCUPANTS scale a trial run down.
//
// The load generator: occupants are real client connections. Prosody lets
// one account be in a room several times under different nicks (one
// occupant per full JID), so a few accounts each open many resources;
// every connection joins every room once. The connections are negotiated
// with mellium, then their inbound stream is discarded unparsed, so the
// generator costs little CPU while Prosody does its real broadcast work.

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"mellium.im/sasl"
	"mellium.im/xmpp"
	"mellium.im/xmpp/jid"

	"xchat/internal/testserver"
	"xchat/muc"
	"xchat/session"
	"xchat/store"
)

// uiReplay, when set (by mucload_ui_test.go), feeds a recorded event
// stream into the real UI model and returns the time spent in Update and
// View. It lives behind a build tag so that this package's tests never
// depend on the UI package building.
var uiReplay func(tb testing.TB, acct string, rooms []string, evs []session.Event) time.Duration

// requireLoad skips the measurements unless XCHAT_LOAD=1.
func requireLoad(t *testing.T) {
	t.Helper()
	if v, _ := strconv.ParseBool(os.Getenv("XCHAT_LOAD")); !v {
		t.Skip("load measurement: set XCHAT_LOAD=1 to run it")
	}
}

// loadGen holds the occupant connections of the load generator.
type loadGen struct {
	mu       sync.Mutex
	sessions []*xmpp.Session
}

// dialOccupant opens one negotiated connection for u with a resource and
// starts discarding what the server sends on it.
func dialOccupant(ctx context.Context, srv *testserver.Server, u testserver.User, resource string) (*xmpp.Session, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", srv.C2SAddr)
	if err != nil {
		return nil, err
	}
	s, err := xmpp.NewClientSession(ctx, jid.MustParse(u.JID+"/"+resource), conn,
		xmpp.StartTLS(srv.TLSConfig()),
		xmpp.SASL("", u.Password, sasl.ScramSha1),
		xmpp.BindResource())
	if err != nil {
		conn.Close()
		return nil, err
	}
	// Client state indication (XEP-0352): an inactive client's broadcasts
	// are written in batches, which spares the server a TLS record and a
	// system call per presence. The measured client stays active.
	if err := s.Send(ctx, xml.NewDecoder(strings.NewReader(`<inactive xmlns="urn:xmpp:csi:0"/>`))); err != nil {
		conn.Close()
		return nil, err
	}
	// Nothing is read through mellium after negotiation: the broadcasts
	// are drained raw so that parsing them does not load the machine.
	go func() { _, _ = io.Copy(io.Discard, s.Conn()) }()
	return s, nil
}

// startQuiet is start without logging: debug logs to stderr (go test -v)
// would be part of what is measured.
func startQuiet(t *testing.T, cfg session.Config) *account {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "xchat.db"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := session.New(cfg, st, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	a := &account{t: t, c: c, st: st, events: make(chan session.Event, 4096), cancel: cancel, done: make(chan error, 1)}
	go func() { a.done <- c.Run(ctx) }()
	go func() {
		for ev := range c.Events() {
			a.events <- ev
		}
		close(a.events)
	}()
	t.Cleanup(a.stop)
	return a
}

// occupants connects n occupants (accounts × resources) and joins each to
// every room. It returns once every join presence is sent.
func (g *loadGen) occupants(t *testing.T, srv *testserver.Server, users []testserver.User, n int, rooms []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	var (
		wg      sync.WaitGroup
		sem     = make(chan struct{}, 8)
		errOnce sync.Once
		first   error
	)
	for i := range n {
		u := users[i%len(users)]
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			s, err := dialOccupant(ctx, srv, u, fmt.Sprintf("load%04d", i))
			if err == nil {
				g.mu.Lock()
				g.sessions = append(g.sessions, s)
				g.mu.Unlock()
				for _, room := range rooms {
					p := muc.JoinPresence(room, fmt.Sprintf("occ%04d", i), muc.JoinOptions{})
					if err = s.Send(ctx, xml.NewDecoder(bytes.NewReader(p))); err != nil {
						break
					}
				}
			}
			if err != nil {
				errOnce.Do(func() { first = fmt.Errorf("occupant %d: %w", i, err) })
			}
		})
	}
	wg.Wait()
	if first != nil {
		t.Fatal(first)
	}
}

func (g *loadGen) close() {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, s := range g.sessions {
		s.Conn().Close()
	}
	g.sessions = nil
}

// drainUntil reads a's events until done says every room is complete; it
// returns the events read, with the time each arrived.
func drainUntil(a *account, what string, timeout time.Duration, done func(session.Event) bool) ([]session.Event, []time.Time) {
	a.t.Helper()
	var evs []session.Event
	var at []time.Time
	deadline := time.After(timeout)
	for {
		select {
		case ev, ok := <-a.events:
			if !ok {
				a.t.Fatalf("event stream closed while waiting for %s", what)
			}
			evs, at = append(evs, ev), append(at, time.Now())
			if done(ev) {
				return evs, at
			}
		case <-deadline:
			a.t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
	}
}

// fullRooms returns a predicate that is true once a joined snapshot with
// at least want occupants has arrived for every room.
func fullRooms(rooms []string, want int) func(session.Event) bool {
	pending := map[string]bool{}
	for _, r := range rooms {
		pending[r] = true
	}
	return func(ev session.Event) bool {
		if e, ok := ev.(session.RoomStateEvent); ok && pending[e.Room] && e.State == muc.StateJoined && len(e.Occupants) >= want {
			delete(pending, e.Room)
		}
		return len(pending) == 0
	}
}

// firstRoomPresence records when the first presence from a room arrives
// after it is armed (a copy of the inbound stream is written to it).
type firstRoomPresence struct {
	armed atomic.Bool
	at    atomic.Int64 // UnixNano; 0 until seen
	mucD  string
}

func (f *firstRoomPresence) Write(b []byte) (int, error) {
	if f.armed.Load() && f.at.Load() == 0 && bytes.Contains(b, []byte("<presence")) && bytes.Contains(b, []byte("@"+f.mucD+"/")) {
		f.at.CompareAndSwap(0, time.Now().UnixNano())
	}
	return len(b), nil
}

// loadSize returns the rooms and occupants per room of a measurement:
// the figures, or XCHAT_LOAD_ROOMS and XCHAT_LOAD_OCCUPANTS for a
// smaller (or larger) trial run.
func loadSize(t *testing.T, rooms, perRoom int) (int, int) {
	t.Helper()
	for _, v := range []struct {
		env string
		n   *int
	}{{"XCHAT_LOAD_ROOMS", &rooms}, {"XCHAT_LOAD_OCCUPANTS", &perRoom}} {
		if s := os.Getenv(v.env); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 2 {
				t.Fatalf("%s=%q: want a number ≥ 2", v.env, s)
			}
			*v.n = n
		}
	}
	return rooms, perRoom
}

// loadSetup starts a server, an admin who creates the rooms (and stays in
// them as their owner) and fills each room to perRoom occupants.
func loadSetup(t *testing.T, nRooms, perRoom int) (*testserver.Server, []string, testserver.User) {
	t.Helper()
	setup := time.Now()
	srv := testserver.Start(t, testserver.Options{NoUpload: true})
	// Accounts: the admin, the measured client, and loaders that open
	// resources to make the other perRoom-1 occupants.
	const loaders = 25
	users := srv.Users(t, 2+loaders)
	registered := time.Since(setup)
	admin := startQuiet(t, config(srv, users[0], "admin"))
	admin.waitOnline()
	ctx := context.Background()
	rooms := make([]string, nRooms)
	for i := range rooms {
		r, err := admin.c.CreateRoom(ctx, session.PublicChannel, fmt.Sprintf("load room %02d", i), nil)
		if err != nil {
			t.Fatal(err)
		}
		rooms[i] = r
	}
	created := time.Since(setup)
	// The admin stays in the rooms as their owner; its events are read all
	// along (a client whose events are not read stalls), and tell when
	// the rooms are full.
	full := make(chan struct{})
	go func() {
		isFull, closed := fullRooms(rooms, perRoom), false
		for ev := range admin.events {
			if !closed && isFull(ev) {
				close(full)
				closed = true
			}
		}
	}()
	g := &loadGen{}
	t.Cleanup(g.close)
	// Cleanups run last first: the rooms are destroyed before the
	// occupants disconnect. Destruction costs the server one presence per
	// occupant, where hundreds of leaves would cost one per occupant pair
	// and keep Prosody too busy to stop in time.
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		for _, r := range rooms {
			if err := admin.c.DestroyRoom(ctx, r, ""); err != nil {
				t.Logf("destroying %s: %v", r, err)
			}
		}
	})
	g.occupants(t, srv, users[2:], perRoom-1, rooms)
	connected := time.Since(setup)
	select {
	case <-full:
	case <-time.After(10 * time.Minute):
		t.Fatal("timed out waiting for the rooms to fill")
	}
	t.Logf("setup: %d accounts registered in %v, %d rooms created by %v, %d occupant connections joined by %v, rooms full (%d occupants each) by %v",
		len(users), registered.Round(time.Millisecond), nRooms, created.Round(time.Millisecond), perRoom-1,
		connected.Round(time.Millisecond), perRoom, time.Since(setup).Round(time.Millisecond))
	return srv, rooms, users[1]
}

// joinAll has the measured client join every room and waits for complete
// occupant lists. It returns the events of the join, the wall time from
// the first JoinRoom call and from the first room presence received.
func joinAll(t *testing.T, a *account, first *firstRoomPresence, rooms []string, want int) (evs []session.Event, wall, afterAnswer time.Duration) {
	t.Helper()
	ctx := context.Background()
	first.armed.Store(true)
	cpu0 := cpuTime()
	t0 := time.Now()
	for _, r := range rooms {
		if err := a.c.JoinRoom(ctx, r, "", ""); err != nil {
			t.Fatal(err)
		}
	}
	evs, at := drainUntil(a, "complete occupant lists", 2*time.Minute, fullRooms(rooms, want))
	end := at[len(at)-1]
	wall = end.Sub(t0)
	t.Logf("CPU time of this process during the join (the measured client, mostly): %v", (cpuTime() - cpu0).Round(time.Millisecond))
	if ns := first.at.Load(); ns != 0 {
		afterAnswer = end.Sub(time.Unix(0, ns))
	} else {
		t.Error("no room presence seen on the inbound stream")
	}
	return evs, wall, afterAnswer
}

// snapshotStats counts the snapshots of a join (how the floods were
// batched).
func snapshotStats(evs []session.Event) (snapshots, roomEvents int) {
	for _, ev := range evs {
		switch ev.(type) {
		case session.RoomStateEvent:
			snapshots++
		case session.RoomEvent:
			roomEvents++
		}
	}
	return
}

func TestMUCLoad(t *testing.T) {
	requireLoad(t)
	nRooms, perRoom := loadSize(t, 10, 500)
	srv, rooms, me := loadSetup(t, nRooms, perRoom)

	first := &firstRoomPresence{mucD: srv.MUCDomain}
	cfg := config(srv, me, "measured")
	if cfg.TraceIn != nil {
		cfg.TraceIn = io.MultiWriter(cfg.TraceIn, first)
	} else {
		cfg.TraceIn = first
	}
	a := startQuiet(t, cfg)
	a.waitOnline()

	evs, wall, afterAnswer := joinAll(t, a, first, rooms, perRoom+1)
	snaps, roomEvs := snapshotStats(evs)
	t.Logf("joined %d rooms of %d occupants (+ us): %v from the join requests, %v from the server's first room presence; %d snapshots, %d room events",
		nRooms, perRoom, wall.Round(time.Millisecond), afterAnswer.Round(time.Millisecond), snaps, roomEvs)
	if snaps >= perRoom*nRooms/2 {
		t.Errorf("%d snapshots for %d presences: floods are not batched", snaps, perRoom*nRooms)
	}
	st, err := a.c.Rooms(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(st) != nRooms {
		t.Errorf("the client has %d rooms, want %d", len(st), nRooms)
	}
	for _, s := range st {
		if len(s.Occupants) != perRoom+1 {
			t.Errorf("%s: %d occupants, want %d", s.Room, len(s.Occupants), perRoom+1)
		}
	}

	var uiTime time.Duration
	if uiReplay != nil {
		uiTime = uiReplay(t, me.JID, rooms, evs)
		t.Logf("UI: %v for the %d events of the join (Update of each, View after each snapshot): %v per %d-occupant room",
			uiTime.Round(time.Microsecond), len(evs), (uiTime / time.Duration(nRooms)).Round(time.Microsecond), perRoom)
	} else {
		t.Log("UI replay not compiled in: add -tags xchat_uiload to measure the UI time")
	}
	if total := afterAnswer + uiTime; total > 2*time.Second {
		t.Errorf("joining %d rooms of %d took %v after the server's first answer (+ %v UI time); the goal is 2 s", nRooms, perRoom, afterAnswer, uiTime)
	}
}

// rssKB reads the process's resident set size from /proc/self/status.
func rssKB(t *testing.T) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skipf("no /proc/self/status: %v", err)
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				t.Fatalf("VmRSS %q: %v", v, err)
			}
			return n
		}
	}
	t.Fatal("no VmRSS in /proc/self/status")
	return 0
}

// heapInuse returns the heap in use after a collection.
func heapInuse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

func TestMUCMemory(t *testing.T) {
	requireLoad(t)
	nRooms, perRoom := loadSize(t, 20, 200)
	srv, rooms, me := loadSetup(t, nRooms, perRoom)
	first := &firstRoomPresence{mucD: srv.MUCDomain}
	cfg := config(srv, me, "measured")
	cfg.TraceIn = first
	a := startQuiet(t, cfg)
	a.waitOnline()

	heap0, rss0 := heapInuse(), rssKB(t)
	_, wall, _ := joinAll(t, a, first, rooms, perRoom+1)
	// What stays: the session's rooms, not the join's garbage. The
	// recorded events are dropped before measuring.
	heap1, rss1 := heapInuse(), rssKB(t)
	t.Logf("joined %d rooms × %d occupants in %v", nRooms, perRoom, wall.Round(time.Millisecond))
	t.Logf("Go heap in use: %.1f MiB before, %.1f MiB after (%+.1f MiB, %.0f bytes per occupant)",
		mib(heap0), mib(heap1), mib(heap1)-mib(heap0), (float64(heap1)-float64(heap0))/float64(nRooms*perRoom))
	t.Logf("process RSS (includes the test's load generator and admin client): %.1f MiB before, %.1f MiB after (%+.1f MiB)",
		float64(rss0)/1024, float64(rss1)/1024, float64(rss1-rss0)/1024)
	st, err := a.c.Rooms(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, s := range st {
		n += len(s.Occupants)
	}
	if n != nRooms*(perRoom+1) {
		t.Errorf("the client holds %d occupants, want %d", n, nRooms*(perRoom+1))
	}
}

// cpuTime is the user and system CPU time of this process, read from
// /proc/self/stat (in clock ticks of 10 ms); 0 where there is no /proc.
func cpuTime() time.Duration {
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return 0
	}
	_, rest, ok := bytes.Cut(b, []byte(") "))
	f := strings.Fields(string(rest))
	if !ok || len(f) < 13 {
		return 0
	}
	// After the command come state (field 3), ..., utime (14), stime (15).
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0
	}
	return time.Duration(ut+st) * 10 * time.Millisecond
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }

// floodPresences builds the join of a Prosody channel with n other
// occupants as Prosody 0.12 sends it (see muc/testdata/prosody_*.xml):
// n occupant presences, then our self-presence with status 110.
func floodPresences(n int) [][]byte {
	const room = "big@conference.localhost"
	const to = "me@localhost/xchat"
	out := make([][]byte, 0, n+1)
	for i := range n {
		role, aff := "participant", "none"
		if i == 0 {
			role, aff = "moderator", "owner"
		}
		out = append(out, fmt.Appendf(nil, `<presence xmlns="jabber:client" id="%016x" to="%s" from="%s/occupant%04d" xml:lang="en">`+
			`<occupant-id xmlns="urn:xmpp:occupant-id:0" id="Pn/Z0sN66w2CTLPrjnBviWT6kFmiOxLlIV08d%07d="></occupant-id>`+
			`<x xmlns="http://jabber.org/protocol/muc#user"><item xmlns="http://jabber.org/protocol/muc#user" affiliation="%s" role="%s"></item></x></presence>`,
			i*7919+1, to, room, i, i, aff, role))
	}
	out = append(out, fmt.Appendf(nil, `<presence xmlns="jabber:client" id="self" to="%s" from="%s/me" xml:lang="en">`+
		`<occupant-id xmlns="urn:xmpp:occupant-id:0" id="fAUh9NP46fXMh2NlEdtaRi1Lh2tnHQ0VrcrinQUGTZY="></occupant-id>`+
		`<x xmlns="http://jabber.org/protocol/muc#user"><item xmlns="http://jabber.org/protocol/muc#user" affiliation="none" role="participant" jid="%s"></item>`+
		`<status xmlns="http://jabber.org/protocol/muc#user" code="110"></status></x></presence>`, to, room, to))
	return out
}

// BenchmarkRoomFlood is the session's work for a 1,000-occupant room's
// join: every presence through the room state machine, then the snapshot
// the session emits for the batch (the session's own path is unexported;
// this is what it does per presence and per batch).
func BenchmarkRoomFlood(b *testing.B) {
	const n = 1000
	stanzas := floodPresences(n)
	b.ReportAllocs()
	for b.Loop() {
		r := muc.NewRoom("big@conference.localhost", "me")
		r.SetOwnJID("me@localhost")
		for _, raw := range stanzas {
			if _, err := r.HandlePresence(raw); err != nil {
				b.Fatal(err)
			}
		}
		snap := session.RoomStateEvent{Room: r.JID(), State: r.State(), Nick: r.Nick(), Occupants: r.Occupants()}
		if len(snap.Occupants) != n+1 || snap.State != muc.StateJoined {
			b.Fatalf("snapshot: %d occupants, state %v", len(snap.Occupants), snap.State)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e6, "ms/1000presences")
}
