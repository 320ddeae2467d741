package store

import (
	"context"
	"testing"
)

func TestUploads(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	const u = "https://upload.example.org/share/abc/cat.jpg"
	if ok, err := s.IsUpload(ctx, "me@example.org", u); err != nil || ok {
		t.Fatalf("before: %v %v", ok, err)
	}
	for range 2 { // recording twice is harmless
		if err := s.AddUpload(ctx, "me@example.org", u); err != nil {
			t.Fatal(err)
		}
	}
	if ok, err := s.IsUpload(ctx, "me@example.org", u); err != nil || !ok {
		t.Fatalf("after: %v %v", ok, err)
	}
	if ok, _ := s.IsUpload(ctx, "other@example.org", u); ok {
		t.Error("another account's upload counts")
	}
	if ok, _ := s.IsUpload(ctx, "me@example.org", u+"x"); ok {
		t.Error("another URL counts")
	}
}
