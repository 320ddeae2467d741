package config

import (
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"

	"mellium.im/xmpp/jid"
)

// TLSConfig returns the TLS client configuration for the account.
//
// ServerName is the JID's domain even when Server names another host:
// RFC 6120 (section 13.7.2.1) and XEP-0368 require the certificate to be
// checked against the XMPP domain, not the host an SRV record or the
// server setting points at, and the domain is what SNI must carry for the
// server to pick the right virtual host.
//
// RootCAs is the system pool plus the certificates in CAFile, if set; an
// unreadable CAFile or one without PEM certificates is an error.
//
// With PinSHA256 set, the connection is accepted if and only if the
// server's leaf certificate has a SubjectPublicKeyInfo whose SHA-256
// matches the pin. This replaces chain, expiry and host name verification
// on purpose: the pin names one exact key, which is stronger than any of
// those checks, and it is how a self-signed or private-CA certificate is
// trusted. Go's own verification is therefore disabled (InsecureSkipVerify)
// but VerifyConnection always performs the pin check, so no connection is
// ever unverified. A mismatch error shows the key's actual pin.
//
// MinVersion is TLS 1.2.
func (a Account) TLSConfig() (*tls.Config, error) {
	j, err := jid.Parse(a.JID)
	if err != nil {
		return nil, fmt.Errorf("account %q: %w", a.JID, err)
	}
	cfg := &tls.Config{
		ServerName: j.Domainpart(),
		MinVersion: tls.VersionTLS12,
	}
	if a.CAFile != "" {
		pemData, err := os.ReadFile(a.CAFile)
		if err != nil {
			return nil, fmt.Errorf("%s: ca_file: %w", a.JID, err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pemData) {
			return nil, fmt.Errorf("%s: ca_file %s: no PEM certificates found", a.JID, a.CAFile)
		}
		cfg.RootCAs = pool
	}
	if a.PinSHA256 != "" {
		pin, err := decodePin(a.PinSHA256)
		if err != nil {
			return nil, fmt.Errorf("%s: pin_sha256: %w", a.JID, err)
		}
		cfg.InsecureSkipVerify = true // replaced by the pin check below
		cfg.VerifyConnection = func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("server sent no certificate")
			}
			got := sha256.Sum256(cs.PeerCertificates[0].RawSubjectPublicKeyInfo)
			if subtle.ConstantTimeCompare(got[:], pin) != 1 {
				return fmt.Errorf("server key does not match pin_sha256: server key pin is %s, configured %s",
					base64.StdEncoding.EncodeToString(got[:]), base64.StdEncoding.EncodeToString(pin))
			}
			return nil
		}
	}
	return cfg, nil
}

// SPKIPin returns the pin_sha256 value (base64) for cert: the SHA-256 of
// its SubjectPublicKeyInfo. The same value is printed by
//
//	openssl x509 -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64
func SPKIPin(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	return base64.StdEncoding.EncodeToString(sum[:])
}

// decodePin accepts a SHA-256 digest as 64 hex digits (colons allowed, as
// openssl prints them) or base64 (standard or URL alphabet, padding
// optional), optionally prefixed with "sha256/" or "sha256//".
func decodePin(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, "sha256//")
	s = strings.TrimPrefix(s, "sha256/")
	if h := strings.ReplaceAll(s, ":", ""); len(h) == 2*sha256.Size {
		if b, err := hex.DecodeString(h); err == nil {
			return b, nil
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			if len(b) != sha256.Size {
				return nil, fmt.Errorf("must be a SHA-256 digest (32 bytes), %q decodes to %d bytes", s, len(b))
			}
			return b, nil
		}
	}
	return nil, fmt.Errorf("must be a SHA-256 digest in hex (64 digits) or base64, got %q", s)
}
