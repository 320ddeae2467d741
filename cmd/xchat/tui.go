package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	tea "charm.land/bubbletea/v2"
	"golang.org/x/term"

	"xchat/internal/config"
	"xchat/internal/logging"
	"xchat/internal/xdg"
	"xchat/media"
	"xchat/session"
	"xchat/ui"
)

// runTUI starts every configured account (or the one named) and the
// interface, and stops them all when the interface quits.
func runTUI(g globalFlags, stdin *os.File, stdout io.Writer) error {
	path := g.config
	if path == "" {
		path = xdg.ConfigFile()
	}
	cfg, err := config.Load(path)
	if errors.Is(err, fs.ErrNotExist) {
		if !term.IsTerminal(int(stdin.Fd())) {
			return fmt.Errorf("no configuration at %s: run xchat in a terminal to create one, or write it (see the README)", path)
		}
		fmt.Fprintf(stdout, "No configuration found at %s; let's create one.\n", path)
		cfg, err = config.FirstRun(stdin, stdout, path)
	}
	if err != nil {
		return err
	}
	accounts := cfg.Accounts
	if g.account != "" {
		a, err := cfg.Account(g.account)
		if err != nil {
			return err
		}
		accounts = []config.Account{a}
	}
	if len(accounts) == 0 {
		return fmt.Errorf("%s has no [[account]]", path)
	}

	log, closer, err := openLog()
	if err != nil {
		return err
	}
	defer closer.Close()
	for _, w := range cfg.Warnings {
		log.Warn(w)
		fmt.Fprintf(os.Stderr, "xchat: warning: %s\n", w)
	}

	var trace io.WriteCloser
	if g.trace {
		trace, err = logging.OpenTrace(xdg.LogDir())
		if err != nil {
			return err
		}
		defer trace.Close()
	}

	ctx, cancel := signalContext()
	defer cancel()
	st, err := openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()

	var clients []*session.Client
	for _, a := range accounts {
		var pw func(context.Context) (string, error)
		if a.AskPassword {
			p, err := config.ReadPassword(fmt.Sprintf("Password for %s: ", a.JID), stdin, stdout)
			if err != nil {
				return err
			}
			pw = func(context.Context) (string, error) { return p, nil }
		}
		scfg, err := sessionConfig(a, pw)
		if err != nil {
			return err
		}
		if trace != nil {
			scfg.TraceIn = logging.NewTraceWriter(trace, a.JID+" IN ")
			scfg.TraceOut = logging.NewTraceWriter(trace, a.JID+" OUT ")
		}
		c, err := session.New(scfg, st, log)
		if err != nil {
			return err
		}
		c.SetMediaOptions(mediaOptions(cfg.Media))
		clients = append(clients, c)
	}

	uiAccounts := make([]ui.Account, len(clients))
	for i, c := range clients {
		uiAccounts[i] = c
	}
	nicks := make(map[string]string, len(accounts))
	for _, a := range accounts {
		nicks[a.JID] = a.Nick
	}
	model := ui.New(ui.Options{
		Accounts: uiAccounts,
		Store:    st,
		Log:      log,
		Open:     os.Getenv("XCHAT_OPEN"),
		// [ui] notify rings the bell and, where a notifier is installed,
		// shows a desktop notification.
		Bell:          cfg.UI.Notify,
		DesktopNotify: cfg.UI.Notify,
		Theme:         uiTheme(cfg.UI.Theme, cfg.UI.Colors),
		Nicks:         nicks,
		Media: ui.MediaOptions{
			AutoDownloadMax: cfg.Media.AutoDownloadBytes(),
			Protocol:        cfg.Media.Protocol(),
			Env:             media.Environ(os.Environ()),
			Viewer:          cfg.Media.Viewer,
			DownloadDir:     cfg.Media.Downloads(),
			HTTPHosts:       cfg.Media.Hosts(),
			OpenDir:         filepath.Join(xdg.CacheDir(), "open"),
		},
	})
	defer model.RemoveTempFiles()
	p := tea.NewProgram(model, tea.WithContext(ctx))

	var wg sync.WaitGroup
	runCtx, stop := context.WithCancel(ctx)
	for _, c := range clients {
		wg.Add(2)
		go func() {
			defer wg.Done()
			if err := c.Run(runCtx); err != nil {
				log.Error("account stopped", "account", c.Account(), "err", err)
			}
		}()
		go func() {
			defer wg.Done()
			for ev := range c.Events() {
				p.Send(ev)
			}
		}()
	}
	_, err = p.Run()
	if seq := model.KittyCleanup(); seq != "" {
		_, _ = io.WriteString(os.Stdout, seq)
	}
	stop()
	wg.Wait()
	if errors.Is(err, tea.ErrProgramKilled) && ctx.Err() != nil {
		return nil
	}
	return err
}

// uiTheme maps [ui] theme and [ui.colors] to the interface's theme:
// "auto" asks the terminal for its background; colours not given keep the
// theme's defaults. Names were checked when the configuration was read.
func uiTheme(name string, colors map[string]string) ui.Theme {
	var t ui.Theme
	if name == "dark" || name == "light" {
		t.Background = name
	}
	fields := map[string]*string{
		"title": &t.Title, "title_background": &t.TitleBackground, "status": &t.Status,
		"status_background": &t.StatusBackground, "status_error": &t.StatusError,
		"online": &t.Online, "away": &t.Away, "busy": &t.Busy, "offline": &t.Offline,
		"unread": &t.Unread, "group": &t.Group, "request": &t.Request, "error": &t.Error,
		"link": &t.Link, "code": &t.Code, "quote": &t.Quote, "accent": &t.Accent,
	}
	for k, v := range colors {
		if f, ok := fields[k]; ok {
			*f = v
		}
	}
	return t
}

// Every session event reaches the program through p.Send; these are the
// group-chat ones the interface handles (checked at compile time).
var _ = []session.Event{
	session.RoomEvent{}, session.RoomStateEvent{}, session.InviteEvent{},
	session.BookmarksEvent{}, session.SyncEvent{},
}
