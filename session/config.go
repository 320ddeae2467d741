package session

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"time"
)

// TLSMode selects how the connection is secured. There is no plaintext mode.
type TLSMode int

// TLS modes.
const (
	StartTLS  TLSMode = iota // plain TCP, then STARTTLS (required)
	DirectTLS                // XEP-0368: TLS from the first byte
)

// Config is what a Client needs to connect one account.
type Config struct {
	JID      string // bare JID of the account
	Resource string // resource to request at bind; "" lets the server choose
	Nick     string // nick in group chats; "" means the JID's local part
	// OMEMO turns end-to-end encryption on for 1:1 chats and private
	// groups: our device and bundle are published, incoming OMEMO messages
	// are decrypted, and messages to contacts with devices (private groups
	// whose members all have devices) are encrypted by default.
	OMEMO bool
	// OMEMOManualTrust leaves contacts' new devices undecided (no key for
	// them) until the user decides; otherwise they are trusted blindly
	// until one of the contact's devices is verified (BTBV).
	OMEMOManualTrust bool
	// Password returns the password; it is called at each login so that a
	// password command can be re-run and nothing is kept longer than needed.
	Password func(ctx context.Context) (string, error)
	Server   string // optional host:port; empty means SRV lookup of the JID's domain
	// Resolver, when set, answers the SRV lookups (tests point it at a
	// loopback DNS server); nil uses the system's.
	Resolver *net.Resolver
	TLSMode  TLSMode     // StartTLS or DirectTLS
	TLS      *tls.Config // verification settings (roots, pin); ServerName is set by the client if empty
	// Trace, when set, receives a copy of the XML stream after TLS; the
	// caller must redact credentials (internal/logging does).
	TraceIn, TraceOut io.Writer

	// Timings; zero values get sensible defaults.
	ConnectTimeout time.Duration // dial + TLS + SASL + bind (default 30 s)
	PingInterval   time.Duration // idle time before an XEP-0199 ping (default 60 s)
	PingTimeout    time.Duration // how long a ping may take before the link counts as dead (default 20 s)
	MinBackoff     time.Duration // first reconnect delay (default 1 s)
	MaxBackoff     time.Duration // longest reconnect delay (default 5 min)
	// Reconnect disables automatic reconnection when false and Once is set:
	// command-line tools connect once and fail fast.
	Once bool
}

func (c *Config) defaults() {
	if c.ConnectTimeout == 0 {
		c.ConnectTimeout = 30 * time.Second
	}
	if c.PingInterval == 0 {
		c.PingInterval = 60 * time.Second
	}
	if c.PingTimeout == 0 {
		c.PingTimeout = 20 * time.Second
	}
	if c.MinBackoff == 0 {
		c.MinBackoff = time.Second
	}
	if c.MaxBackoff == 0 {
		c.MaxBackoff = 5 * time.Minute
	}
}
