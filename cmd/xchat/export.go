package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"time"

	"mellium.im/xmpp/jid"

	"xchat/internal/config"
	"xchat/internal/sanitize"
	"xchat/store"
)

// exportPage is how many messages export holds in memory at a time.
const exportPage = 500

// exportRecord is one line of `xchat export --format json` (JSON Lines).
type exportRecord struct {
	Time       string `json:"time"`      // RFC 3339, UTC, milliseconds
	Direction  string `json:"direction"` // "in" or "out"
	Sender     string `json:"sender"`    // bare JID (our account's for "out"), or a room nick
	Body       string `json:"body"`
	OriginID   string `json:"origin_id"`
	StanzaID   string `json:"stanza_id"`
	State      string `json:"state"`      // received, pending, sent, delivered, read, failed
	Encryption string `json:"encryption"` // "" plaintext, "omemo"
}

// exportTime is the time format of export records.
const exportTime = "2006-01-02T15:04:05.000Z07:00"

// cmdExport implements `xchat export [--config FILE] [--account JID]
// [--format json|txt] PEER-JID`.
func cmdExport(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("export", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var g globalFlags
	g.register(fs)
	format := fs.String("format", "txt", "json or txt")
	const use = "xchat export: usage: xchat export [--config FILE] [--account JID] [--format json|txt] PEER-JID"
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, usage)
			return 0
		}
		fmt.Fprintf(stderr, "xchat export: %v\n", err)
		return 2
	}
	if fs.NArg() != 1 || (*format != "json" && *format != "txt") {
		fmt.Fprintln(stderr, use)
		return 2
	}
	if err := export(g, fs.Arg(0), *format, stdout); err != nil {
		fmt.Fprintf(stderr, "xchat export: %s\n", oneLine(err))
		return 1
	}
	return 0
}

// openAccountStore loads the configuration and opens the history database
// for a command that reads history.
func openAccountStore(ctx context.Context, g globalFlags) (config.Account, *store.Store, error) {
	cfg, err := loadConfig(g.config)
	if err != nil {
		return config.Account{}, nil, err
	}
	acct, err := cfg.Account(g.account)
	if err != nil {
		return config.Account{}, nil, err
	}
	st, err := openStore(ctx)
	if err != nil {
		return config.Account{}, nil, err
	}
	return acct, st, nil
}

// bareJID parses a JID given on the command line into the bare JID the
// store keys conversations by.
func bareJID(s string) (string, error) {
	j, err := jid.Parse(s)
	if err != nil {
		return "", fmt.Errorf("invalid JID %q: %v", s, err)
	}
	return j.Bare().String(), nil
}

// export writes the whole conversation with peer to out, oldest first,
// reading it from the store page by page.
func export(g globalFlags, peer, format string, out io.Writer) error {
	ctx := context.Background()
	acct, st, err := openAccountStore(ctx, g)
	if err != nil {
		return err
	}
	defer st.Close()
	peer, err = bareJID(peer)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(out)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	page, err := st.Oldest(ctx, acct.JID, peer, exportPage)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("no conversation with %s", peer)
	}
	for err == nil && len(page) > 0 {
		for _, m := range page {
			if format == "json" {
				err = enc.Encode(record(acct.JID, m))
			} else {
				err = writeLine(w, acct.JID, m, false)
			}
			if err != nil {
				return err
			}
		}
		page, err = st.After(ctx, acct.JID, peer, page[len(page)-1].ID, exportPage)
	}
	if err != nil {
		return err
	}
	return w.Flush()
}

// record turns a message into its export record. Bodies are exact: JSON
// escapes control characters, and a reader decides what to display.
func record(acct string, m store.Message) exportRecord {
	r := exportRecord{
		Time:       m.Timestamp.UTC().Format(exportTime),
		Direction:  "in",
		Sender:     m.Sender,
		Body:       m.Body,
		OriginID:   m.OriginID,
		StanzaID:   m.StanzaID,
		State:      m.State.String(),
		Encryption: m.Encryption,
	}
	if m.Direction == store.Outgoing {
		r.Direction, r.Sender = "out", acct
	}
	return r
}

// writeLine writes m as "TIMESTAMP [PEER] SENDER: TEXT". Everything here
// came from the network: no control character or escape sequence may reach
// the terminal.
func writeLine(w io.Writer, acct string, m store.Message, withPeer bool) error {
	sender := m.Sender
	if m.Direction == store.Outgoing {
		sender = acct
	}
	ts := m.Timestamp.Format(time.RFC3339)
	var err error
	if withPeer {
		_, err = fmt.Fprintf(w, "%s %s %s: %s\n", ts, sanitize.Line(m.Peer), sanitize.Line(sender), sanitize.Line(m.Body))
	} else {
		_, err = fmt.Fprintf(w, "%s %s: %s\n", ts, sanitize.Line(sender), sanitize.Line(m.Body))
	}
	return err
}

// printSearch prints the n newest messages matching words, with peer or
// (peer "") in every conversation of the account, oldest first.
func printSearch(g globalFlags, peer, words string, n int, out io.Writer) error {
	ctx := context.Background()
	acct, st, err := openAccountStore(ctx, g)
	if err != nil {
		return err
	}
	defer st.Close()
	if peer != "" {
		if peer, err = bareJID(peer); err != nil {
			return err
		}
	}
	msgs, err := st.Search(ctx, acct.JID, peer, words, n)
	if err != nil {
		return err
	}
	slices.Reverse(msgs)
	w := bufio.NewWriter(out)
	for _, m := range msgs {
		if err := writeLine(w, acct.JID, m, true); err != nil {
			return err
		}
	}
	return w.Flush()
}
