package config

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestGetPassword(t *testing.T) {
	cases := []struct {
		name    string
		acct    Account
		want    string
		wantErr []string // substrings of the error; nil means success
		notErr  string   // must not appear in the error
	}{
		{name: "stored", acct: Account{Password: "hunter2"}, want: "hunter2"},
		{name: "first line of output", acct: Account{PasswordCommand: `printf 'secret\nignored'`}, want: "secret"},
		{name: "crlf and spaces kept inside", acct: Account{PasswordCommand: `printf ' a b \r\n'`}, want: " a b "},
		{name: "no trailing newline", acct: Account{PasswordCommand: `printf 'xyz'`}, want: "xyz"},
		{
			name:    "failing command reports stderr",
			acct:    Account{JID: "a@example.org", PasswordCommand: `echo secretout; echo 'gpg: decryption failed' >&2; echo more >&2; exit 3`},
			wantErr: []string{"a@example.org", "exit status 3", "gpg: decryption failed"},
			notErr:  "secretout",
		},
		{
			name:    "failing command without stderr",
			acct:    Account{PasswordCommand: `exit 1`},
			wantErr: []string{"password_command failed", "exit status 1"},
		},
		{
			name:    "empty output",
			acct:    Account{PasswordCommand: `true`},
			wantErr: []string{"printed no password"},
		},
		{
			name:    "empty first line",
			acct:    Account{PasswordCommand: `printf '\nsecond'`},
			wantErr: []string{"printed no password"},
		},
		{
			name:    "ask password",
			acct:    Account{JID: "a@example.org", AskPassword: true},
			wantErr: []string{"entered interactively"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.acct.GetPassword(context.Background())
			if tc.wantErr == nil {
				if err != nil || got != tc.want {
					t.Fatalf("got %q, %v; want %q", got, err, tc.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("got %q, want an error", got)
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if tc.notErr != "" && strings.Contains(err.Error(), tc.notErr) {
				t.Errorf("error %q leaks stdout", err)
			}
		})
	}
	if _, err := (Account{AskPassword: true}).GetPassword(context.Background()); !errors.Is(err, ErrAskPassword) {
		t.Errorf("AskPassword: err = %v, want ErrAskPassword", err)
	}
}

func TestGetPasswordTimeout(t *testing.T) {
	// A grandchild keeping stdout open must not make GetPassword hang.
	for _, cmd := range []string{"sleep 5", "sleep 5; echo late", "(sleep 5; echo x) & wait"} {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		start := time.Now()
		_, err := Account{PasswordCommand: cmd}.GetPassword(ctx)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%q: err = %v, want DeadlineExceeded", cmd, err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("%q: returned after %v", cmd, d)
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := (Account{PasswordCommand: "echo pw"}).GetPassword(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: err = %v, want Canceled", err)
	}
}
