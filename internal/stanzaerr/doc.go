// Package stanzaerr reads RFC 6120 stanza errors (<error type='…'> with a
// defined condition and an optional <text/>), shared by the session layer
// and the MUC core so both explain a refusal the same way.
package stanzaerr
