package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"mellium.im/xmpp/jid"

	"xchat/internal/config"
	"xchat/internal/sanitize"
	"xchat/internal/xdg"
	"xchat/muc"
	"xchat/session"
	"xchat/store"
)

// cmdSend implements `xchat send [--config FILE] [--account JID] TO-JID TEXT...`.
func cmdSend(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("send", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var g globalFlags
	g.register(fs)
	timeout := fs.Duration("timeout", 60*time.Second, "give up after this long")
	file := fs.String("file", "", "upload this file and send its link")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, usage)
			return 0
		}
		fmt.Fprintf(stderr, "xchat send: %v\n", err)
		return 2
	}
	if *file != "" && fs.NArg() != 1 || *file == "" && fs.NArg() < 2 {
		fmt.Fprintln(stderr, "xchat send: usage: xchat send [--config FILE] [--account JID] TO-JID TEXT... | --file PATH TO-JID")
		return 2
	}
	to, text := fs.Arg(0), strings.Join(fs.Args()[1:], " ")
	if *file != "" {
		text = ""
	}
	if err := sendOne(g, to, text, *file, *timeout); err != nil {
		fmt.Fprintf(stderr, "xchat send: %s\n", oneLine(err))
		return 1
	}
	return 0
}

// sendOne sends text, or the file at path when path is set, and returns
// once the server has the message.
func sendOne(g globalFlags, to, text, path string, timeout time.Duration) error {
	cfg, err := loadConfig(g.config)
	if err != nil {
		return err
	}
	acct, err := cfg.Account(g.account)
	if err != nil {
		return err
	}
	log, closer, err := openLog()
	if err != nil {
		return err
	}
	defer closer.Close()
	ctx, cancel := signalContext()
	defer cancel()
	ctx, cancelT := context.WithTimeout(ctx, timeout)
	defer cancelT()
	st, err := openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()

	scfg, err := sessionConfig(acct, nil)
	if err != nil {
		return err
	}
	// A resource of its own, so that a running interface on the same account
	// is not kicked off by a resource conflict.
	base := scfg.Resource
	if base == "" {
		base = "xchat"
	}
	scfg.Resource = base + "-send-" + shortID()
	scfg.Once = true
	c, err := session.New(scfg, st, log)
	if err != nil {
		return err
	}
	c.SetMediaOptions(mediaOptions(cfg.Media))
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	runErr := make(chan error, 1)
	go func() { runErr <- c.Run(runCtx) }()

	var sent store.Message
	sentID := int64(-1)
	started, room, joinedRoom := false, false, false
	fileDone := make(chan error, 1)
	// send sends the text, or starts the upload (which takes a while: the
	// loop keeps reading events meanwhile).
	send := func() error {
		if path != "" {
			go func() {
				f, err := c.SendFile(ctx, to, path, nil)
				if err == nil {
					sent = f.Message
					if len(f.Stripped) > 0 {
						log.Info("removed metadata before upload", "file", path, "removed", f.Stripped)
					}
				}
				fileDone <- err
			}()
			return nil
		}
		var err error
		if room {
			sent, err = c.SendGroupMessage(ctx, to, text)
		} else {
			sent, err = c.SendMessage(ctx, to, text)
		}
		if err != nil {
			return err
		}
		sentID = sent.ID
		return nil
	}
	states := map[int64]session.MessageStateEvent{} // states that came before the file's message id
	for {
		select {
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				if sentID < 0 {
					return fmt.Errorf("could not log in to %s within %s", serverOf(acct.JID, acct.Server), timeout)
				}
				return fmt.Errorf("timed out after %s before the server confirmed the message", timeout)
			}
			return ctx.Err()
		case err := <-runErr:
			if err == nil {
				err = errors.New("session ended before the message was confirmed")
			}
			return err
		case ev, ok := <-c.Events():
			if !ok {
				continue
			}
			switch e := ev.(type) {
			case session.StateEvent:
				if e.State != session.Online || started {
					continue
				}
				started = true
				if room, err = isRoom(ctx, c, st, acct.JID, to); err != nil {
					return err
				}
				if room {
					// A group chat: join it first (the message goes out
					// once the room has us).
					if err := c.JoinRoom(ctx, to, "", ""); err != nil && !joinedAlready(ctx, c, to) {
						return fmt.Errorf("cannot join %s: %w", to, err)
					}
					continue
				}
				if err := send(); err != nil {
					return err
				}
			case session.RoomStateEvent:
				if !room || e.Room != to || joinedRoom {
					continue
				}
				switch e.State {
				case muc.StateJoined:
					joinedRoom = true
					if err := send(); err != nil {
						return err
					}
				case muc.StateLeft:
					return fmt.Errorf("could not join %s", to)
				}
			case session.RoomEvent:
				if je, ok := e.Event.(muc.JoinError); ok && room && e.Room == to {
					return fmt.Errorf("could not join %s: %s", to, je.Message)
				}
			case session.MessageStateEvent:
				if sentID < 0 {
					states[e.ID] = e
					continue
				}
				if e.ID != sentID {
					continue
				}
				if done, err := sendState(e); done {
					stop()
					<-runErr
					return err
				}
			}
		case err := <-fileDone:
			if err != nil {
				return err
			}
			sentID = sent.ID
			if e, ok := states[sentID]; ok {
				if done, err := sendState(e); done {
					stop()
					<-runErr
					return err
				}
			}
		}
	}
}

// isRoom tells whether to is a group chat: one we have talked in, or
// else what its disco#info says.
func isRoom(ctx context.Context, c *session.Client, st *store.Store, acct, to string) (bool, error) {
	if kind, ok, err := st.ConversationKind(ctx, acct, to); err != nil {
		return false, err
	} else if ok {
		return kind == store.KindGroupchat, nil
	}
	return c.IsRoom(ctx, to)
}

// joinedAlready tells whether the session is in room, or joining it,
// already (an autojoin bookmark may have been first).
func joinedAlready(ctx context.Context, c *session.Client, room string) bool {
	rooms, err := c.Rooms(ctx)
	if err != nil {
		return false
	}
	for _, r := range rooms {
		if r.Room == room && (r.State == muc.StateJoining || r.State == muc.StateJoined) {
			return true
		}
	}
	return false
}

// sendState tells whether a state ends `xchat send`, and how.
func sendState(e session.MessageStateEvent) (done bool, err error) {
	switch e.State {
	case store.StateSent, store.StateDelivered, store.StateRead:
		return true, nil
	case store.StateFailed:
		return true, fmt.Errorf("the server refused the message: %s", e.Error)
	}
	return false, nil
}

// mediaOptions turns [media] into the session's file-transfer options;
// downloads are cached under $XDG_CACHE_HOME/xchat/files.
func mediaOptions(m config.Media) session.MediaOptions {
	return session.MediaOptions{
		StripMetadata: m.Strip(),
		MaxDownload:   m.MaxDownloadBytes(),
		HTTPHosts:     m.Hosts(),
		CacheDir:      filepath.Join(xdg.CacheDir(), "files"),
	}
}

func shortID() string {
	return fmt.Sprintf("%04x", time.Now().UnixNano()&0xffff)
}

// cmdHistory implements `xchat history [--config FILE] [--account JID] [-n N] PEER-JID`
// and `xchat history --search WORDS [...] [PEER-JID]`.
func cmdHistory(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("history", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var g globalFlags
	g.register(fs)
	n := fs.Int("n", 20, "number of messages")
	search := fs.String("search", "", "words to look for")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, usage)
			return 0
		}
		fmt.Fprintf(stderr, "xchat history: %v\n", err)
		return 2
	}
	if *search != "" {
		if fs.NArg() > 1 || *n < 1 {
			fmt.Fprintln(stderr, "xchat history: usage: xchat history --search WORDS [--config FILE] [--account JID] [-n N] [PEER-JID]")
			return 2
		}
		if err := printSearch(g, fs.Arg(0), *search, *n, stdout); err != nil {
			fmt.Fprintf(stderr, "xchat history: %s\n", oneLine(err))
			return 1
		}
		return 0
	}
	if fs.NArg() != 1 || *n < 1 {
		fmt.Fprintln(stderr, "xchat history: usage: xchat history [--config FILE] [--account JID] [-n N] PEER-JID")
		return 2
	}
	if err := printHistory(g, fs.Arg(0), *n, stdout); err != nil {
		fmt.Fprintf(stderr, "xchat history: %s\n", oneLine(err))
		return 1
	}
	return 0
}

func printHistory(g globalFlags, peer string, n int, out io.Writer) error {
	cfg, err := loadConfig(g.config)
	if err != nil {
		return err
	}
	acct, err := cfg.Account(g.account)
	if err != nil {
		return err
	}
	ctx := context.Background()
	st, err := openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	pj, err := jid.Parse(peer)
	if err != nil {
		return fmt.Errorf("invalid JID %q: %v", peer, err)
	}
	msgs, err := st.Latest(ctx, acct.JID, pj.Bare().String(), n)
	if err != nil {
		return err
	}
	for _, m := range msgs {
		sender := m.Sender
		if m.Direction == store.Outgoing {
			sender = acct.JID
		}
		// Everything here came from the network: no control character or
		// escape sequence may reach the terminal.
		if _, err := fmt.Fprintf(out, "%s %s: %s\n", m.Timestamp.Format(time.RFC3339), sanitize.Line(sender), sanitize.Line(m.Body)); err != nil {
			return err
		}
	}
	return nil
}

// serverOf names the server an account connects to, for messages.
func serverOf(account, server string) string {
	if server != "" {
		return server
	}
	if _, domain, ok := strings.Cut(account, "@"); ok {
		return domain
	}
	return account
}
