package session

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"mellium.im/xmpp"
	"mellium.im/xmpp/jid"

	"xchat/muc"
	"xchat/store"
)

// ErrNotRunning is returned by commands when Run is not (or no longer) running.
var ErrNotRunning = errors.New("session: account is not running")

// Client is one account. Create it with New, start Run on a goroutine, and
// read Events until the channel closes.
type Client struct {
	cfg  Config
	jid  jid.JID // bare
	acct string
	st   *store.Store
	log  *slog.Logger

	cmds    chan func()
	running atomic.Bool
	stopped chan struct{} // closed when Run returns
	state   atomic.Int32

	inbox   queue[func()] // work for the owner goroutine from other goroutines
	events  queue[Event]
	eventCh chan Event
	lastIn  atomic.Int64 // unix nanos of the last byte-level stanza received

	// Owner-goroutine state: only touched by the goroutine running Run.
	conn       *connection
	roster     map[string]store.Contact
	presences  map[string]map[string]PresenceEvent // bare → resource → presence
	myShow     Show
	myStatus   string
	sentUnack  []int64 // messages written since the last barrier started
	barrierOn  bool
	reconnect  chan struct{}
	pingFailed bool

	om          *omemoState                // nil when OMEMO is off
	omQueue     map[string][]store.Message // encrypted sends waiting, per peer, in order
	omBusy      map[string]bool
	chatStates  map[string]string         // last chat state sent to each peer (XEP-0085)
	sm          smState                   // stream management (XEP-0198)
	ackWanted   bool                      // messages went out: ask for an ack after this step
	mam         map[string]*mamQueryState // archive catch-ups in progress, by query id
	rooms       map[string]*room          // group chats by bare room JID
	bookmarks   map[string]muc.Bookmark   // by room JID
	pendingBM   []muc.Bookmark            // changed while offline: published at login
	mucService  string                    // our server's MUC service, once found
	caughtUp    bool                      // the catch-up of this connection is complete
	wasCaughtUp bool                      // caughtUp when the connection was lost (kept on resume)

	held *[]Event // events waiting for a transaction's commit

	csiActive, csiKnown bool       // client state (XEP-0352) the UI last set
	media               mediaState // upload service and file transfer (upload.go)

	// loginHook replaces login in tests (an in-memory session pair).
	loginHook func(ctx context.Context) (*xmpp.Session, error)
}

// connection is one live XMPP session; gen tells stale callbacks apart.
type connection struct {
	s *xmpp.Session
	// ctx is the only context handed to mellium's send methods: it ends
	// with the connection. mellium arms a goroutine per call that sets the
	// write deadline into the past when the call's context is done; a
	// context cancelled right after a call returns can let that goroutine
	// fire during another goroutine's write and break the TLS stream.
	ctx     context.Context
	cancel  context.CancelFunc
	gen     uint64
	online  bool         // bootstrap done
	in, out *wireCounter // stanza counts for stream management; nil in tests
	resumed bool         // this stream resumed the previous one
}

var connGen atomic.Uint64

// New makes a client for one account. It does nothing until Run.
func New(cfg Config, st *store.Store, log *slog.Logger) (*Client, error) {
	cfg.defaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	j, err := jid.Parse(cfg.JID)
	if err != nil {
		return nil, &Error{Kind: ErrConfig, Err: err, Msg: fmt.Sprintf("invalid JID %q: %v", cfg.JID, err)}
	}
	if j.Localpart() == "" {
		return nil, &Error{Kind: ErrConfig, Msg: fmt.Sprintf("invalid JID %q: an account JID needs a user part (user@domain)", cfg.JID)}
	}
	if cfg.Password == nil {
		return nil, &Error{Kind: ErrConfig, Msg: "no password source configured"}
	}
	c := &Client{
		cfg:        cfg,
		jid:        j.Bare(),
		acct:       j.Bare().String(),
		st:         st,
		log:        log.With("account", j.Bare().String()),
		cmds:       make(chan func()),
		eventCh:    make(chan Event, 64),
		roster:     map[string]store.Contact{},
		presences:  map[string]map[string]PresenceEvent{},
		mam:        map[string]*mamQueryState{},
		rooms:      map[string]*room{},
		omQueue:    map[string][]store.Message{},
		chatStates: map[string]string{},
		omBusy:     map[string]bool{},
		bookmarks:  map[string]muc.Bookmark{},
		reconnect:  make(chan struct{}, 1),
		stopped:    make(chan struct{}),
	}
	c.inbox.init()
	c.events.init()
	return c, nil
}

// Account returns the bare JID of the account.
func (c *Client) Account() string { return c.acct }

// Events returns the event channel; it is closed after Run returns.
func (c *Client) Events() <-chan Event { return c.eventCh }

// State returns the current connection state.
func (c *Client) State() ConnState { return ConnState(c.state.Load()) }

// Run connects and keeps the account connected until ctx ends. It returns
// nil when ctx ends, or the login error when Config.Once is set and the first
// login fails, or when the error is fatal (wrong password, untrusted
// certificate) and Once is set. Without Once a fatal error leaves the account
// Offline, still answering commands, until Reconnect is called.
func (c *Client) Run(ctx context.Context) (err error) {
	if !c.running.CompareAndSwap(false, true) {
		return errors.New("session: Run called twice")
	}
	pumpDone := make(chan struct{})
	go c.pumpEvents(pumpDone)
	defer func() {
		close(c.stopped)
		c.events.close()
		<-pumpDone
	}()
	if err := c.loadState(ctx); err != nil {
		return err
	}
	if err := c.openOMEMO(ctx); err != nil {
		return err
	}

	var (
		loginDone  = make(chan loginResult, 1)
		serveDone  = make(chan serveResult, 1)
		retry      = time.NewTimer(0)
		backoff    = c.cfg.MinBackoff
		loggingIn  = false
		pingTicker = time.NewTicker(c.cfg.PingInterval / 4)
	)
	defer retry.Stop()
	defer pingTicker.Stop()
	defer func() {
		if c.conn != nil {
			c.closeConn(ctx, "shutdown")
		}
	}()

	startLogin := func() {
		loggingIn = true
		c.setState(Connecting, nil, time.Time{})
		rq := c.smResumeSnapshot()
		go func() {
			if c.loginHook != nil {
				s, err := c.loginHook(ctx)
				loginDone <- loginResult{s: s, err: err}
				return
			}
			loginDone <- c.login(ctx, rq)
		}()
	}

	for {
		select {
		case <-ctx.Done():
			c.setState(Offline, nil, time.Time{})
			return nil
		case f := <-c.cmds:
			f()
		case <-c.inbox.ready():
			for _, f := range c.inbox.take() {
				f()
			}
		case <-retry.C:
			if !loggingIn && c.conn == nil {
				startLogin()
			}
		case <-c.reconnect:
			if !loggingIn && c.conn == nil {
				retry.Stop()
				backoff = c.cfg.MinBackoff
				startLogin()
			}
		case r := <-loginDone:
			loggingIn = false
			if r.err != nil {
				if ctx.Err() != nil {
					c.setState(Offline, nil, time.Time{})
					return nil
				}
				ce := classify(c.serverName(), r.err)
				c.log.Warn("login failed", "kind", ce.Kind, "err", r.err)
				if ce.Fatal() || c.cfg.Once {
					c.setState(Offline, ce, time.Time{})
					if c.cfg.Once {
						return ce
					}
					continue
				}
				wait := jitter(backoff)
				backoff = min(backoff*2, c.cfg.MaxBackoff)
				c.setState(Reconnecting, ce, time.Now().Add(wait))
				retry.Reset(wait)
				continue
			}
			backoff = c.cfg.MinBackoff
			c.startSession(ctx, r, serveDone)
		case r := <-serveDone:
			if c.conn == nil || r.gen != c.conn.gen {
				continue
			}
			// Handle everything the stream delivered before it broke, so
			// the count we resume with covers only stored stanzas.
			for _, f := range c.inbox.take() {
				f()
			}
			if c.conn.in != nil {
				c.sm.lastIn = c.conn.in.Count()
			}
			c.conn.cancel()
			c.conn = nil
			c.connectionLost()
			if ctx.Err() != nil {
				c.setState(Offline, nil, time.Time{})
				return nil
			}
			var err error = &Error{Kind: ErrUnreachable, Msg: "connection lost"}
			if r.err != nil {
				err = classify(c.serverName(), r.err)
			}
			c.log.Warn("connection lost", "err", r.err)
			if c.cfg.Once {
				c.setState(Offline, err, time.Time{})
				return err
			}
			wait := jitter(c.cfg.MinBackoff)
			c.setState(Reconnecting, err, time.Now().Add(wait))
			retry.Reset(wait)
		case <-pingTicker.C:
			c.keepalive(ctx)
			c.selfPingRooms()
			c.omemoTick(ctx) // signed prekey rotation
		}
		if c.ackWanted {
			c.ackWanted = false
			c.smRequestAck(ctx)
		}
		c.flushRoomSnapshots()
	}
}

type loginResult struct {
	s       *xmpp.Session
	in, out *wireCounter
	rq      *resumeReq
	err     error
}

type serveResult struct {
	gen uint64
	err error
}

// jitter spreads reconnects: a random delay between 50% and 100% of d.
func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return d/2 + time.Duration(mrand.Int64N(int64(d/2)+1))
}

// Reconnect asks an Offline or Reconnecting account to try now.
func (c *Client) Reconnect() {
	select {
	case c.reconnect <- struct{}{}:
	default:
	}
}

// do runs f on the owner goroutine and waits for it. Before Run starts it
// waits; after Run returns it fails with ErrNotRunning.
func (c *Client) do(ctx context.Context, f func() error) error {
	done := make(chan error, 1)
	select {
	case c.cmds <- func() { done <- f() }:
	case <-c.stopped:
		return ErrNotRunning
	case <-ctx.Done():
		return ctx.Err()
	}
	// Once queued, f runs to the end (it only touches local state and the
	// store), and its results are only read after it did: waiting for ctx
	// here would return while f still writes the caller's variables.
	return <-done
}

// post queues f for the owner goroutine; safe from any goroutine, never blocks.
func (c *Client) post(f func()) { c.inbox.push(f) }

// emit queues an event for the UI; never blocks the owner. Inside a store
// transaction (holdEvents), events wait for the commit: persist, then notify.
func (c *Client) emit(e Event) {
	if c.held != nil {
		*c.held = append(*c.held, e)
		return
	}
	c.events.push(e)
}

// holdEvents keeps the events emitted from now on until release: emitted
// when the transaction committed, dropped when it did not.
func (c *Client) holdEvents() (release func(committed bool)) {
	var held []Event
	prev := c.held
	c.held = &held
	return func(committed bool) {
		c.held = prev
		if committed {
			for _, e := range held {
				c.emit(e)
			}
		}
	}
}

func (c *Client) pumpEvents(done chan struct{}) {
	defer close(done)
	defer close(c.eventCh)
	for {
		select {
		case <-c.events.ready():
			for _, e := range c.events.take() {
				c.eventCh <- e
			}
		case <-c.events.closed:
			// Deliver what is left, but do not let a reader that stopped
			// reading keep Run from returning.
			give := time.NewTimer(time.Second)
			defer give.Stop()
			for _, e := range c.events.take() {
				select {
				case c.eventCh <- e:
				case <-give.C:
					return
				}
			}
			return
		}
	}
}

func (c *Client) setState(s ConnState, err error, retry time.Time) {
	c.state.Store(int32(s))
	c.emit(StateEvent{Account: c.acct, State: s, Err: err, Retry: retry})
}

// loadState reads what the store knows about the account (roster).
func (c *Client) loadState(ctx context.Context) error {
	if _, err := c.st.EnsureAccount(ctx, c.acct); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	contacts, err := c.st.Contacts(ctx, c.acct)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	for _, ct := range contacts {
		c.roster[ct.JID] = ct
	}
	c.emit(RosterEvent{Account: c.acct, Contacts: contacts})
	return nil
}

// newID returns a stanza/origin id: 48 bits of milliseconds then 80 random
// bits, like UUIDv7, so our own ids sort by time and append to the store's
// origin-id index instead of scattering over it.
func newID() string {
	var b [16]byte
	ms := uint64(time.Now().UnixMilli())
	for i := 5; i >= 0; i-- {
		b[i] = byte(ms)
		ms >>= 8
	}
	if _, err := rand.Read(b[6:]); err != nil {
		panic("session: no randomness: " + err.Error()) // crypto/rand never fails on Linux
	}
	return hex.EncodeToString(b[:])
}

// queue is an unbounded FIFO with a readiness channel: producers never block,
// so a Serve handler that enqueues can never deadlock with a busy owner.
type queue[T any] struct {
	mu     sync.Mutex
	items  []T
	sig    chan struct{}
	closed chan struct{}
	once   sync.Once
}

func (q *queue[T]) init() {
	q.sig = make(chan struct{}, 1)
	q.closed = make(chan struct{})
}

func (q *queue[T]) push(v T) {
	q.mu.Lock()
	q.items = append(q.items, v)
	q.mu.Unlock()
	select {
	case q.sig <- struct{}{}:
	default:
	}
}

func (q *queue[T]) ready() <-chan struct{} { return q.sig }

func (q *queue[T]) take() []T {
	q.mu.Lock()
	items := q.items
	q.items = nil
	q.mu.Unlock()
	return items
}

func (q *queue[T]) close() { q.once.Do(func() { close(q.closed) }) }
