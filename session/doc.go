// Package session speaks XMPP for one account.
//
// A Client owns everything about its account (connection, roster, presence)
// on one goroutine, the one running Run. The UI and the command line talk to
// it through methods that post a command and wait for the reply, and listen
// to typed Events. mellium's Serve handler never sends on the session (Serve
// holds the stream lock while it runs): it only decodes a stanza, writes the
// immediate IQ answer on the handler's own encoder, and enqueues the rest.
//
// Persist, then notify: every message is written to the store before an
// event about it is emitted; the store is the truth and events can be
// coalesced or missed without loss.
package session
