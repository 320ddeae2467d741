// Package testserver runs a real Prosody XMPP server as a child process for
// integration tests and the demo.
//
// Each Server lives in its own temporary directory with a generated config,
// data directory, log file and a freshly generated CA plus server
// certificate, and listens only on free loopback ports chosen at run time.
// Clients trust the server through the CA (CAFile or CAPool); certificate
// verification is never disabled.
//
// Tests call Start, which skips the test when Prosody is not installed, or
// fails it when the environment variable CI is true. The binaries are found
// on PATH, or through XCHAT_PROSODY and XCHAT_PROSODYCTL.
package testserver
