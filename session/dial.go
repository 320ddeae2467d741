package session

import (
	"context"
	"crypto/tls"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"

	"mellium.im/sasl"
	"mellium.im/xmpp"
	"mellium.im/xmpp/dial"
)

var errNoTLS = errors.New("xmpp: stream is not encrypted")

// mechanisms in order of preference. PLAIN is last and mellium's SASL feature
// is only negotiated once the stream is secure, so PLAIN never goes out in
// the clear.
var (
	allMechanisms    = []sasl.Mechanism{sasl.ScramSha256Plus, sasl.ScramSha256, sasl.ScramSha1Plus, sasl.ScramSha1, sasl.Plain}
	noPlusMechanisms = []sasl.Mechanism{sasl.ScramSha256, sasl.ScramSha1, sasl.Plain}
)

// login dials, secures, authenticates and binds. It retries once without the
// -PLUS mechanisms when a channel-binding mechanism was chosen and failed
// (ejabberd 23 only knows tls-unique; mellium sends tls-exporter).
func (c *Client) login(ctx context.Context, rq *resumeReq) loginResult {
	s, in, out, err := c.loginOnce(ctx, rq)
	return loginResult{s: s, in: in, out: out, rq: rq, err: err}
}

func (c *Client) loginOnce(ctx context.Context, rq *resumeReq) (*xmpp.Session, *wireCounter, *wireCounter, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.ConnectTimeout)
	defer cancel()
	password, err := c.cfg.Password(ctx)
	if err != nil {
		return nil, nil, nil, &Error{Kind: ErrConfig, Err: err, Msg: fmt.Sprintf("cannot get the password: %v", err)}
	}
	s, in, out, offered, err := c.loginWith(ctx, password, allMechanisms, rq)
	if err != nil && usedPlus(offered) && !errors.Is(err, context.Canceled) {
		var ce *Error
		if !errors.As(err, &ce) || ce.Kind == ErrAuth || ce.Kind == ErrOther {
			c.log.Info("login with channel binding failed; retrying without -PLUS", "err", err)
			s, in, out, _, err = c.loginWith(ctx, password, noPlusMechanisms, rq)
		}
	}
	return s, in, out, err
}

// usedPlus reports whether the server offered a -PLUS mechanism we prefer.
func usedPlus(offered []string) bool {
	for _, m := range offered {
		if strings.HasSuffix(m, "-PLUS") {
			return true
		}
	}
	return false
}

func (c *Client) loginWith(ctx context.Context, password string, mechs []sasl.Mechanism, rq *resumeReq) (*xmpp.Session, *wireCounter, *wireCounter, []string, error) {
	conn, err := c.dialConn(ctx)
	if err != nil {
		return nil, nil, nil, nil, classify(c.serverName(), err)
	}
	// Stanza counters for stream management see the plaintext stream
	// through mellium's tee, in wire order.
	in, out := newWireCounter("enabled"), newWireCounter("enable")
	if rq != nil {
		rq.in, rq.out, rq.resumed = in, out, false
	}
	teeIn, teeOut := io.Writer(in), io.Writer(out)
	if c.cfg.TraceIn != nil {
		teeIn = io.MultiWriter(in, c.cfg.TraceIn)
	}
	if c.cfg.TraceOut != nil {
		teeOut = io.MultiWriter(out, c.cfg.TraceOut)
	}
	origin := c.jid
	// Wrap the SASL feature to learn which mechanisms the server offered.
	var (
		mu      sync.Mutex
		offered []string
	)
	saslFeature := xmpp.SASL("", password, mechs...)
	parse := saslFeature.Parse
	saslFeature.Parse = func(ctx context.Context, d *xml.Decoder, start *xml.StartElement) (bool, interface{}, error) {
		req, data, err := parse(ctx, d, start)
		if list, ok := data.([]string); ok {
			mu.Lock()
			offered = list
			mu.Unlock()
		}
		return req, data, err
	}
	bind := bindFeature(c.cfg.Resource, rq)
	negotiateSASL := saslFeature.Negotiate
	saslFeature.Negotiate = func(ctx context.Context, s *xmpp.Session, data interface{}) (xmpp.SessionState, io.ReadWriter, error) {
		st, rw, err := negotiateSASL(ctx, s, data)
		if cond, ok := saslCondition(err); ok {
			err = &Error{Kind: ErrAuth, Err: err, Msg: authMessage(cond, err)}
		}
		return st, rw, err
	}
	features := []xmpp.StreamFeature{saslFeature, bind}
	if c.cfg.TLSMode == StartTLS {
		features = append([]xmpp.StreamFeature{xmpp.StartTLS(c.tlsConfig())}, features...)
	}
	// mellium gets a context that is never cancelled (see connection.ctx);
	// the login timeout closes the connection instead.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	s, err := xmpp.NewSession(context.WithoutCancel(ctx), origin.Domain(), origin, conn, 0, xmpp.NewNegotiator(func(*xmpp.Session, *xmpp.StreamConfig) xmpp.StreamConfig {
		return xmpp.StreamConfig{Features: features, TeeIn: teeIn, TeeOut: teeOut}
	}))
	stop()
	mu.Lock()
	defer mu.Unlock()
	if err != nil {
		conn.Close()
		if ctx.Err() != nil && !errors.Is(err, context.Canceled) {
			err = fmt.Errorf("%w (%v)", ctx.Err(), err)
		}
		return nil, nil, nil, offered, classify(c.serverName(), err)
	}
	if !s.ConnectionState().HandshakeComplete {
		s.Close()
		conn.Close()
		return nil, nil, nil, offered, classify(c.serverName(), errNoTLS)
	}
	return s, in, out, offered, nil
}

// tlsConfig returns the configured TLS settings with the server name set to
// the JID's domain (RFC 6120 §13.7.2.1: the certificate is checked against
// the domain we want, not the host we dialed).
func (c *Client) tlsConfig() *tls.Config {
	var cfg *tls.Config
	if c.cfg.TLS != nil {
		cfg = c.cfg.TLS.Clone()
	} else {
		cfg = &tls.Config{}
	}
	if cfg.ServerName == "" {
		cfg.ServerName = c.jid.Domainpart()
	}
	if cfg.MinVersion < tls.VersionTLS12 {
		cfg.MinVersion = tls.VersionTLS12
	}
	if c.cfg.TLSMode == DirectTLS && len(cfg.NextProtos) == 0 {
		cfg.NextProtos = []string{"xmpp-client"}
	}
	return cfg
}

func (c *Client) serverName() string {
	if c.cfg.Server != "" {
		return c.cfg.Server
	}
	return c.jid.Domainpart()
}

// dialConn opens the transport: the configured host:port, or SRV records of
// the JID's domain (XEP-0368 direct TLS first) when none is configured.
func (c *Client) dialConn(ctx context.Context) (net.Conn, error) {
	if c.cfg.Server != "" {
		var d net.Dialer
		if c.cfg.TLSMode == DirectTLS {
			td := tls.Dialer{NetDialer: &d, Config: c.tlsConfig()}
			return td.DialContext(ctx, "tcp", c.cfg.Server)
		}
		return d.DialContext(ctx, "tcp", c.cfg.Server)
	}
	d := dial.Dialer{NoTLS: false, TLSConfig: c.tlsConfig()}
	d.Resolver = c.cfg.Resolver
	if c.cfg.TLSMode == DirectTLS {
		// Only direct TLS: dial.Dialer tries xmpps-client records first and
		// falls back to xmpp-client, which STARTTLS then secures; with
		// DirectTLS there is no STARTTLS feature, so that fallback fails
		// before anything is sent in the clear.
		d.TLSConfig.NextProtos = []string{"xmpp-client"}
	}
	conn, err := d.Dial(ctx, "tcp", c.jid)
	if err != nil {
		return nil, err
	}
	return conn, nil
}

// authMessage is the sentence shown for a refused login.
func authMessage(cond string, err error) string {
	switch cond {
	case "not-authorized", "":
		return "login refused: wrong JID or password (" + err.Error() + ")"
	case "account-disabled":
		return "login refused: the account is disabled"
	case "credentials-expired":
		return "login refused: the password has expired; change it with another client or the server's web page"
	}
	return "login refused by the server: " + cond
}
