package main

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"xchat/internal/demo"
	"xchat/internal/testserver"
	"xchat/internal/tmuxtest"
	"xchat/session"
	"xchat/store"
)

// The demo's conversation: bob is the OMEMO echo bot. The header says the
// next message is encrypted as soon as bob's device is known, the first
// message goes encrypted, and nothing asks "send unencrypted?".
func TestTUIOMEMOEchoBotEncryptedFromTheStart(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t, testserver.Options{NoUpload: true})
	users := srv.Users(t, 2)
	alice, bob := users[0], users[1]
	befriend(t, srv, alice, bob, "")

	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "bob.db"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := demo.ClientConfig(srv, bob, "bot")
	cfg.OMEMO = true
	bot, err := session.New(cfg, st, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { demo.EchoBot(ctx, bot); close(done) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("the bot did not stop")
		}
		st.Close()
	})

	ha := newHome(t, srv, alice, "")
	s := startTUI(t, ha, tmuxtest.Options{}, "XCHAT_OPEN="+bob.JID)
	s.WaitForText("🔒 OMEMO → 1 device")
	s.SendText("hello")
	s.SendKeys("Enter")
	s.WaitForText("me: hello 🔒")
	s.WaitForText("echo: hello 🔒")
	s.SendText("second")
	s.SendKeys("Enter")
	screen := s.WaitForText("me: second 🔒")
	if strings.Contains(screen, "send unencrypted") {
		t.Errorf("asked before an encrypted message:\n%s", tmuxtest.Frame(screen))
	}
	s.WaitForText("echo: second 🔒")
}
