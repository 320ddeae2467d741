// Package xmpptest has a bare XMPP client for tests: a mellium session on
// the Prosody test harness that sends hand-written stanzas (forgeries,
// malformed input, protocol steps) and queues what it receives as raw XML.
package xmpptest
