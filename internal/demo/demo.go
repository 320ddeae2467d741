package demo

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"xchat/internal/testserver"
	"xchat/session"
	"xchat/store"
)

// World is a running demo: a server, accounts and a home for xchat.
type World struct {
	Server *testserver.Server
	Alice  testserver.User
	Bob    testserver.User
	Home   string   // directory holding XDG_* dirs for alice's xchat
	Env    []string // environment for the xchat child process
	Config string   // alice's config file

	stopBot context.CancelFunc
	botDone chan struct{}
}

// Setup starts Prosody, registers alice and bob, makes them contacts of each
// other and starts bob's echo bot. Call Close when done.
func Setup(ctx context.Context, log *slog.Logger) (*World, error) {
	srv, err := testserver.StartProcess(testserver.Options{})
	if err != nil {
		return nil, err
	}
	w := &World{Server: srv}
	ok := false
	defer func() {
		if !ok {
			w.Close()
		}
	}()
	if w.Alice, err = register(srv, "alice"); err != nil {
		return nil, err
	}
	if w.Bob, err = register(srv, "bob"); err != nil {
		return nil, err
	}
	w.Home = filepath.Join(srv.Dir, "home")
	for _, d := range []string{"config", "data", "state", "cache"} {
		if err := os.MkdirAll(filepath.Join(w.Home, d), 0o700); err != nil {
			return nil, err
		}
	}
	w.Config = filepath.Join(w.Home, "config", "xchat", "config.toml")
	if err := os.MkdirAll(filepath.Dir(w.Config), 0o700); err != nil {
		return nil, err
	}
	if err := os.WriteFile(w.Config, []byte(AccountConfig(srv, w.Alice)), 0o600); err != nil {
		return nil, err
	}
	w.Env = append(os.Environ(),
		"XDG_CONFIG_HOME="+filepath.Join(w.Home, "config"),
		"XDG_DATA_HOME="+filepath.Join(w.Home, "data"),
		"XDG_STATE_HOME="+filepath.Join(w.Home, "state"),
		"XDG_CACHE_HOME="+filepath.Join(w.Home, "cache"),
		"XCHAT_OPEN="+w.Bob.JID,
	)

	// Bob's bot keeps its own store in the throwaway directory.
	botStore, err := store.Open(ctx, filepath.Join(srv.Dir, "bob.db"))
	if err != nil {
		return nil, err
	}
	// The bot speaks OMEMO, so the demo conversation is end-to-end
	// encrypted as soon as alice's xchat has seen its device.
	botCfg := ClientConfig(srv, w.Bob, "bot")
	botCfg.OMEMO = true
	bob, err := session.New(botCfg, botStore, log)
	if err != nil {
		botStore.Close()
		return nil, err
	}
	botCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	w.stopBot = stop
	w.botDone = make(chan struct{})
	go func() {
		defer close(w.botDone)
		defer botStore.Close()
		EchoBot(botCtx, bob)
	}()

	// Alice adds bob once, through a short-lived session, so the roster
	// shows a contact with presence when the interface starts.
	if err := befriend(ctx, srv, w.Alice, w.Bob, log); err != nil {
		return nil, fmt.Errorf("making alice and bob contacts: %w", err)
	}
	ok = true
	return w, nil
}

func register(srv *testserver.Server, user string) (testserver.User, error) {
	pass := "demo-" + fmt.Sprint(time.Now().UnixNano())
	j, err := srv.Register(user, pass)
	if err != nil {
		return testserver.User{}, err
	}
	return testserver.User{JID: j, Password: pass}, nil
}

// AccountConfig is an xchat config.toml for u on srv, trusting the server's
// test CA through ca_file (verification stays on).
func AccountConfig(srv *testserver.Server, u testserver.User) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Throwaway demo account on a local Prosody.\n[[account]]\n")
	fmt.Fprintf(&b, "jid = %q\npassword = %q\nserver = %q\nca_file = %q\n", u.JID, u.Password, srv.C2SAddr, srv.CAFile)
	return b.String()
}

// ClientConfig is a session configuration for u on srv.
func ClientConfig(srv *testserver.Server, u testserver.User, resource string) session.Config {
	pass := u.Password
	return session.Config{
		JID:      u.JID,
		Resource: resource,
		Password: func(context.Context) (string, error) { return pass, nil },
		Server:   srv.C2SAddr,
		TLS:      srv.TLSConfig(),
	}
}

// befriend makes a and b subscribed to each other's presence; b's echo bot
// approves its side.
func befriend(ctx context.Context, srv *testserver.Server, a, b testserver.User, log *slog.Logger) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	st, err := store.Open(ctx, filepath.Join(srv.Dir, "setup.db"))
	if err != nil {
		return err
	}
	defer st.Close()
	cfg := ClientConfig(srv, a, "setup")
	cfg.Once = true
	c, err := session.New(cfg, st, log)
	if err != nil {
		return err
	}
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	done := make(chan error, 1)
	go func() { done <- c.Run(runCtx) }()
	added := false
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-done:
			return fmt.Errorf("session ended: %v", err)
		case ev := <-c.Events():
			switch e := ev.(type) {
			case session.StateEvent:
				if e.State == session.Online && !added {
					added = true
					if err := c.AddContact(ctx, b.JID, "Bob (echo bot)"); err != nil {
						return err
					}
				}
			case session.SubscriptionRequestEvent:
				if e.From == b.JID {
					if err := c.Approve(ctx, b.JID); err != nil {
						return err
					}
				}
			case session.RosterEvent:
				for _, ct := range e.Contacts {
					if ct.JID == b.JID && ct.Subscription == "both" {
						stop()
						<-done
						return nil
					}
				}
			}
		}
	}
}

// EchoBot answers every chat message with its text, approves every
// subscription request, and greets each resource of a contact that comes
// online. It returns when ctx ends.
func EchoBot(ctx context.Context, c *session.Client) {
	go func() { _ = c.Run(ctx) }()
	greeted := map[string]bool{}
	for ev := range c.Events() {
		switch e := ev.(type) {
		case session.SubscriptionRequestEvent:
			_ = c.Approve(ctx, e.From)
		case session.MessageEvent:
			m := e.Message
			if m.Direction == store.Incoming && m.Kind == store.KindChat {
				_, _ = c.SendMessage(ctx, m.Peer, "echo: "+m.Body)
			}
		case session.PresenceEvent:
			key := e.JID + "/" + e.Resource
			if e.Show == session.ShowUnavailable {
				delete(greeted, key)
				continue
			}
			if !greeted[key] && strings.HasPrefix(e.Resource, "xchat") {
				greeted[key] = true
				_, _ = c.SendMessage(ctx, e.JID, "Hi, I am bob, an echo bot on this throwaway server. Type a message and press Enter; I will send it back. And here is a photo, to show how pictures look:")
				go sendPhoto(ctx, c, e.JID)
			}
		}
	}
}

// Close stops the bot and the server and removes the throwaway directory.
func (w *World) Close() {
	if w.stopBot != nil {
		w.stopBot()
		<-w.botDone
	}
	if w.Server != nil {
		_ = w.Server.Stop()
	}
}

// sendPhoto uploads a generated picture to bob's server and sends its link:
// the demo's way to show thumbnails in the chat.
func sendPhoto(ctx context.Context, c *session.Client, to string) {
	dir, err := os.MkdirTemp("", "xchat-demo-photo")
	if err != nil {
		return
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "sunset.png")
	if err := writePicture(path); err != nil {
		return
	}
	_, _ = c.SendFile(ctx, to, path, nil)
}

// writePicture draws a small landscape: a sky from blue to orange, a sun,
// and a green hill.
func writePicture(path string) error {
	const w, h = 320, 200
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			t := float64(y) / h
			c := color.RGBA{uint8(40 + 215*t), uint8(80 + 90*t), uint8(200 - 150*t), 255}
			if dx, dy := x-220, y-120; dx*dx+dy*dy < 900 {
				c = color.RGBA{255, 220, 90, 255}
			}
			if dx := float64(x-120) / 200; float64(y) > 150-60*(1-dx*dx) {
				c = color.RGBA{50, uint8(120 + y/4), 60, 255}
			}
			img.Set(x, y, c)
		}
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
