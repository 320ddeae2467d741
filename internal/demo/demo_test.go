package demo

import (
	"bytes"
	"context"
	"image/png"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"xchat/internal/testserver"
	"xchat/session"
	"xchat/store"
)

// TestDemoWorld is what `scripts/demo` promises: a server with alice and
// bob as contacts, and bob's bot greeting alice's xchat and echoing what she
// writes, end-to-end encrypted once the devices have met.
func TestDemoWorld(t *testing.T) {
	testserver.Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	w, err := Setup(ctx, log)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()

	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "alice.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	cfg := ClientConfig(w.Server, w.Alice, "xchat-test")
	cfg.OMEMO = true
	alice, err := session.New(cfg, st, log)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { _ = alice.Run(runCtx); close(done) }()
	defer func() { stop(); <-done }()

	// Wait for an incoming message from bob whose body passes test.
	wait := func(what string, test func(store.Message) bool) store.Message {
		t.Helper()
		for {
			select {
			case ev := <-alice.Events():
				if e, ok := ev.(session.MessageEvent); ok && e.Message.Direction == store.Incoming &&
					e.Message.Peer == w.Bob.JID && test(e.Message) {
					return e.Message
				}
			case <-ctx.Done():
				t.Fatalf("no %s from bob", what)
			}
		}
	}
	wait("greeting", func(m store.Message) bool { return strings.HasPrefix(m.Body, "Hi, I am bob") })
	// Then a photo: a link alice's client can fetch and show.
	photo := wait("photo", func(m store.Message) bool {
		return strings.HasPrefix(m.Body, "aesgcm://") || strings.HasPrefix(m.Body, "https://")
	})
	f, err := alice.FetchFile(ctx, photo.Body, 0)
	if err != nil {
		t.Fatalf("fetching bob's photo: %v", err)
	}
	if _, err := png.Decode(bytes.NewReader(f.Data)); err != nil {
		t.Fatalf("bob's photo is not a PNG: %v", err)
	}

	// The first message may go out before bob's device is known; keep
	// writing until an answer comes back encrypted.
	for i := 0; ; i++ {
		body := "ping " + string(rune('a'+i))
		if _, err := alice.SendMessage(ctx, w.Bob.JID, body); err != nil {
			t.Fatal(err)
		}
		m := wait("echo", func(m store.Message) bool { return m.Body == "echo: "+body })
		if m.Encryption == "omemo" {
			break
		}
		if i == 5 {
			t.Fatalf("bob's echoes stay unencrypted: %+v", m)
		}
	}
}
