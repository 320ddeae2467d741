package session

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"xchat/internal/testserver"
	"xchat/media"
	"xchat/store"
)

// The service's own refusal reaches the caller with its details: with the
// locally known limit forgotten, Prosody refuses an over-size slot with
// <file-too-large/> and its limit, and nothing is sent.
func TestSlotRefusalKeepsServerDetails(t *testing.T) {
	const limit = 32 << 10
	srv := testserver.Start(t, testserver.Options{UploadSizeLimit: limit})
	u := srv.Users(t, 1)[0]
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "x.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	pass := u.Password
	c, err := New(Config{JID: u.JID, Resource: "r", Server: srv.C2SAddr, TLS: srv.TLSConfig(),
		Password: func(context.Context) (string, error) { return pass, nil }}, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = c.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	go func() {
		for range c.Events() {
		}
	}()
	deadline := time.Now().Add(20 * time.Second)
	for {
		svc, err := c.UploadService(ctx)
		if err == nil {
			if svc.MaxSize != limit {
				t.Fatalf("service %+v", svc)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no upload service: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := c.do(ctx, func() error { c.media.svc.MaxSize = 0; return nil }); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "big.bin")
	if err := os.WriteFile(p, make([]byte, limit+1), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = c.SendFile(ctx, "someone@"+srv.Domain, p, nil)
	var se *media.SlotError
	if !errors.As(err, &se) || !errors.Is(err, media.ErrFileTooLarge) || se.MaxFileSize != limit {
		t.Fatalf("slot refusal: %#v", err)
	}
	if err.Error() != "file too large: the server accepts at most 32 KiB" {
		t.Errorf("message %q", err)
	}
	if ms, _ := st.Latest(ctx, u.JID, "someone@"+srv.Domain, 5); len(ms) != 0 {
		t.Errorf("%d messages stored", len(ms))
	}
}
