package session

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strings"

	"mellium.im/xmpp/stream"
)

// ErrorKind classifies why a login or a connection failed, so that the UI
// can say something human and the client knows whether to retry.
type ErrorKind int

// Error kinds.
const (
	ErrOther       ErrorKind = iota
	ErrAuth                  // wrong password or account disabled: never retried
	ErrCertificate           // the server's certificate was not trusted: never retried
	ErrUnreachable           // DNS, refused, timeout: retried
	ErrStream                // the server closed the stream with an error: retried
	ErrTLSRequired           // the server offers no TLS: never retried
	ErrConfig                // bad JID, password command failed: never retried
)

// Error is a connection error with a kind and a human sentence.
type Error struct {
	Kind ErrorKind
	Msg  string
	Err  error
}

func (e *Error) Error() string {
	if e.Err != nil && e.Msg == "" {
		return e.Err.Error()
	}
	return e.Msg
}

func (e *Error) Unwrap() error { return e.Err }

// Fatal reports whether retrying cannot help without the user changing
// something (password, certificate, configuration).
func (e *Error) Fatal() bool {
	switch e.Kind {
	case ErrAuth, ErrCertificate, ErrTLSRequired, ErrConfig:
		return true
	}
	return false
}

// IsFatal reports whether err is a connection error that retrying cannot fix.
func IsFatal(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Fatal()
}

// KindOf returns the kind of a connection error, ErrOther if it is not one.
func KindOf(err error) ErrorKind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return ErrOther
}

// saslConditions are the RFC 6120 §6.5 failure conditions that mean the
// credentials or the account are at fault.
var saslConditions = []string{"not-authorized", "account-disabled", "credentials-expired", "invalid-authzid"}

// classify turns an error from dialing or negotiating into an *Error.
func classify(server string, err error) *Error {
	var ce *Error
	if errors.As(err, &ce) {
		return ce
	}
	var (
		unknownAuth x509.UnknownAuthorityError
		hostErr     x509.HostnameError
		certInv     x509.CertificateInvalidError
		verifyErr   *tls.CertificateVerificationError
		recErr      tls.RecordHeaderError
		streamErr   stream.Error
		dnsErr      *net.DNSError
		opErr       *net.OpError
	)
	switch {
	case errors.As(err, &verifyErr), errors.As(err, &unknownAuth), errors.As(err, &hostErr), errors.As(err, &certInv):
		return &Error{Kind: ErrCertificate, Err: err, Msg: fmt.Sprintf("the certificate of %s is not trusted: %v (set ca_file or pin_sha256 in the config if it is your own server)", server, err)}
	case strings.Contains(err.Error(), "pin"):
		return &Error{Kind: ErrCertificate, Err: err, Msg: fmt.Sprintf("the certificate of %s does not match the pinned key: %v", server, err)}
	case errors.As(err, &recErr):
		return &Error{Kind: ErrTLSRequired, Err: err, Msg: fmt.Sprintf("%s does not speak TLS on that port (is tls = \"direct\" right?)", server)}
	case errors.As(err, &streamErr):
		return &Error{Kind: ErrStream, Err: err, Msg: fmt.Sprintf("the server closed the stream: %s", streamErr.Error())}
	case errors.As(err, &dnsErr):
		return &Error{Kind: ErrUnreachable, Err: err, Msg: fmt.Sprintf("cannot find the server for %s: %v", server, dnsErr)}
	case errors.As(err, &opErr) && opErr.Op == "dial":
		return &Error{Kind: ErrUnreachable, Err: err, Msg: fmt.Sprintf("cannot reach %s: %v", server, opErr.Err)}
	case errors.Is(err, errNoTLS):
		return &Error{Kind: ErrTLSRequired, Err: err, Msg: fmt.Sprintf("%s does not offer TLS; xchat never logs in without it", server)}
	}
	msg := err.Error()
	for _, c := range saslConditions {
		if strings.Contains(msg, c) {
			return &Error{Kind: ErrAuth, Err: err, Msg: fmt.Sprintf("login refused by the server (%s): check the JID and password", c)}
		}
	}
	if strings.Contains(msg, "no matching SASL mechanisms") {
		return &Error{Kind: ErrAuth, Err: err, Msg: "the server offers no login method xchat accepts (SCRAM, or PLAIN over TLS)"}
	}
	if errors.Is(err, net.ErrClosed) || strings.Contains(msg, "EOF") || strings.Contains(msg, "connection reset") || strings.Contains(msg, "timeout") || strings.Contains(msg, "deadline") {
		return &Error{Kind: ErrUnreachable, Err: err, Msg: fmt.Sprintf("connection to %s lost: %v", server, err)}
	}
	return &Error{Kind: ErrOther, Err: err, Msg: fmt.Sprintf("connection to %s failed: %v", server, err)}
}
