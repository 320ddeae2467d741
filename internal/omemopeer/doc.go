// Package omemopeer holds peer.py, a legacy OMEMO client built on an
// independent implementation (python-omemo and python-oldmemo over
// slixmpp), and the test that checks xchat's omemo package against it
// through the Prosody test harness. The package has no Go API.
package omemopeer
