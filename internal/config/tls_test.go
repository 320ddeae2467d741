package config

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testCert is a certificate with its key, signed by parent (or itself).
type testCert struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func newCert(t *testing.T, name string, isCA bool, parent *testCert) *testCert {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		BasicConstraintsValid: true,
		IsCA:                  isCA,
	}
	if isCA {
		tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature
	} else {
		tmpl.DNSNames = []string{name}
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	}
	signer, signerKey := tmpl, key
	if parent != nil {
		signer, signerKey = parent.cert, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signer, &key.PublicKey, signerKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &testCert{cert: cert, key: key}
}

func (c *testCert) pemFile(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ca.pem")
	data := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.cert.Raw})
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// serve runs a TLS server on loopback presenting leaf (and chain) and
// returns its address. It completes handshakes and closes connections.
func serve(t *testing.T, leaf *testCert, chain ...*testCert) string {
	t.Helper()
	tc := tls.Certificate{Certificate: [][]byte{leaf.cert.Raw}, PrivateKey: leaf.key, Leaf: leaf.cert}
	for _, c := range chain {
		tc.Certificate = append(tc.Certificate, c.cert.Raw)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{tc}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(5 * time.Second))
				c.(*tls.Conn).Handshake()
			}()
		}
	}()
	return ln.Addr().String()
}

// handshake dials addr by IP (no name resolution) with the account's TLS
// configuration.
func handshake(t *testing.T, a Account, addr string) error {
	t.Helper()
	cfg, err := a.TLSConfig()
	if err != nil {
		t.Fatalf("TLSConfig: %v", err)
	}
	raw, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return tls.Client(raw, cfg).HandshakeContext(ctx)
}

func TestTLSConfigBasics(t *testing.T) {
	a := Account{JID: "alice@example.org", Server: "xmpp.example.net:5222"}
	cfg, err := a.TLSConfig()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ServerName != "example.org" {
		t.Errorf("ServerName = %q, want the JID domain", cfg.ServerName)
	}
	if cfg.MinVersion != tls.VersionTLS12 {
		t.Errorf("MinVersion = %x", cfg.MinVersion)
	}
	if cfg.InsecureSkipVerify || cfg.VerifyConnection != nil || cfg.RootCAs != nil {
		t.Errorf("plain account has custom verification: %+v", cfg)
	}
}

func TestTLSConfigCAFile(t *testing.T) {
	ca := newCert(t, "Test CA", true, nil)
	leaf := newCert(t, "example.org", false, ca)
	addr := serve(t, leaf)
	acct := Account{JID: "alice@example.org"}

	// The system pool does not know the test CA.
	if err := handshake(t, acct, addr); err == nil {
		t.Error("handshake without ca_file succeeded")
	}

	acct.CAFile = ca.pemFile(t)
	if err := handshake(t, acct, addr); err != nil {
		t.Errorf("handshake with ca_file: %v", err)
	}

	// The right CA but the wrong domain: host name checks still apply.
	other := Account{JID: "alice@example.net", CAFile: acct.CAFile}
	if err := handshake(t, other, addr); err == nil || !strings.Contains(err.Error(), "example.net") {
		t.Errorf("handshake for another domain: %v", err)
	}

	// A different CA is not trusted.
	stranger := newCert(t, "Other CA", true, nil)
	acct.CAFile = stranger.pemFile(t)
	if err := handshake(t, acct, addr); err == nil || !strings.Contains(err.Error(), "unknown authority") {
		t.Errorf("handshake with an unrelated CA: %v", err)
	}
}

func TestTLSConfigCAFileErrors(t *testing.T) {
	missing := Account{JID: "alice@example.org", CAFile: filepath.Join(t.TempDir(), "missing.pem")}
	if _, err := missing.TLSConfig(); err == nil || !strings.Contains(err.Error(), "ca_file") {
		t.Errorf("missing ca_file: %v", err)
	}
	junk := filepath.Join(t.TempDir(), "junk.pem")
	os.WriteFile(junk, []byte("not a certificate\n"), 0o600)
	if _, err := (Account{JID: "alice@example.org", CAFile: junk}).TLSConfig(); err == nil || !strings.Contains(err.Error(), "no PEM certificates") {
		t.Errorf("junk ca_file: %v", err)
	}
}

func TestTLSConfigPin(t *testing.T) {
	// A self-signed certificate whose name matches nothing: only the pin
	// can make it acceptable.
	self := newCert(t, "self-signed.invalid", false, nil)
	addr := serve(t, self)
	sum := sha256.Sum256(self.cert.RawSubjectPublicKeyInfo)
	acct := Account{JID: "alice@example.org"}

	if err := handshake(t, acct, addr); err == nil {
		t.Fatal("unpinned handshake with a self-signed cert succeeded")
	}

	for _, pin := range []string{SPKIPin(self.cert), hex.EncodeToString(sum[:]), "sha256//" + SPKIPin(self.cert)} {
		acct.PinSHA256 = pin
		if err := handshake(t, acct, addr); err != nil {
			t.Errorf("pin %q: %v", pin, err)
		}
	}

	// Another key's pin is rejected, and the message shows the real pin.
	other := newCert(t, "self-signed.invalid", false, nil)
	acct.PinSHA256 = SPKIPin(other.cert)
	err := handshake(t, acct, addr)
	if err == nil || !strings.Contains(err.Error(), "does not match pin_sha256") || !strings.Contains(err.Error(), SPKIPin(self.cert)) {
		t.Errorf("wrong pin: %v", err)
	}

	// A pin replaces CA trust: a CA-signed cert for the right name with a
	// different key is still rejected.
	ca := newCert(t, "Test CA", true, nil)
	good := newCert(t, "example.org", false, ca)
	caAddr := serve(t, good)
	acct.CAFile = ca.pemFile(t)
	if err := handshake(t, acct, caAddr); err == nil {
		t.Error("pin mismatch accepted because the CA is trusted")
	}
	acct.PinSHA256 = SPKIPin(good.cert)
	if err := handshake(t, acct, caAddr); err != nil {
		t.Errorf("matching pin with trusted CA: %v", err)
	}
}

func TestDecodePin(t *testing.T) {
	sum := sha256.Sum256([]byte("x"))
	h := hex.EncodeToString(sum[:])
	colons := strings.ToUpper(h[:2])
	for i := 2; i < len(h); i += 2 {
		colons += ":" + strings.ToUpper(h[i:i+2])
	}
	for _, s := range []string{h, colons, "sha256/" + h} {
		b, err := decodePin(s)
		if err != nil || string(b) != string(sum[:]) {
			t.Errorf("decodePin(%q) = %x, %v", s, b, err)
		}
	}
	for _, s := range []string{"", "zz", h[:62], h + "00", "AAAA"} {
		if _, err := decodePin(s); err == nil {
			t.Errorf("decodePin(%q) succeeded", s)
		}
	}
}
