package config

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFirstRun(t *testing.T) {
	cases := []struct {
		name    string
		input   string
		want    Account
		output  []string // substrings of what the wizard printed
		inFile  []string // substrings of the written file
		outFile []string // must not be in the file
	}{
		{
			name:   "password command, re-asks on bad input",
			input:  "\nnot a jid@@\nalice@example.org/phone\nexample.org\nAlice@Example.org\n7\n1\n\npass show xmpp\nxmpp.example.org\nxmpp.example.org:5222\nEXTRA",
			want:   Account{JID: "alice@example.org", PasswordCommand: "pass show xmpp", Server: "xmpp.example.org:5222", TLS: "starttls", Resource: "xchat", Nick: "alice"},
			output: []string{`"not a jid@@" is not a valid address`, "without a /resource", "Please answer 1, 2 or 3", "must be host:port", "Saved "},
			inFile: []string{"password_command = 'pass show xmpp'", "server = 'xmpp.example.org:5222'"},
		},
		{
			name:    "default choice is the command",
			input:   "bob@example.net\n\ngopass show -o xmpp\n\n",
			want:    Account{JID: "bob@example.net", PasswordCommand: "gopass show -o xmpp", TLS: "starttls", Resource: "xchat", Nick: "bob"},
			outFile: []string{"server"},
		},
		{
			name:   "password stored in the file",
			input:  "alice@example.org\n2\n\n s3cret pw\r\n\n",
			want:   Account{JID: "alice@example.org", Password: " s3cret pw", TLS: "starttls", Resource: "xchat", Nick: "alice"},
			output: []string{"readable by anyone who can read"},
			inFile: []string{"password = ' s3cret pw'"},
		},
		{
			name:    "ask every time",
			input:   "alice@example.org\n3\n\n",
			want:    Account{JID: "alice@example.org", AskPassword: true, TLS: "starttls", Resource: "xchat", Nick: "alice"},
			inFile:  []string{"ask_password = true"},
			outFile: []string{"\npassword =", "password_command"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "new", "config.toml")
			in := strings.NewReader(tc.input)
			var out bytes.Buffer
			c, err := FirstRun(in, &out, path)
			if err != nil {
				t.Fatalf("FirstRun: %v\noutput:\n%s", err, out.String())
			}
			if len(c.Accounts) != 1 || c.Accounts[0] != tc.want {
				t.Errorf("accounts = %+v, want %+v", c.Accounts, tc.want)
			}
			for _, s := range tc.output {
				if !strings.Contains(out.String(), s) {
					t.Errorf("output lacks %q:\n%s", s, out.String())
				}
			}
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != 0o600 {
				t.Errorf("file mode %04o", fi.Mode().Perm())
			}
			if di, _ := os.Stat(filepath.Dir(path)); di.Mode().Perm() != 0o700 {
				t.Errorf("dir mode %04o", di.Mode().Perm())
			}
			data, _ := os.ReadFile(path)
			for _, s := range tc.inFile {
				if !strings.Contains(string(data), s) {
					t.Errorf("file lacks %q:\n%s", s, data)
				}
			}
			for _, s := range tc.outFile {
				if strings.Contains(string(data), s) {
					t.Errorf("file contains %q:\n%s", s, data)
				}
			}
			// The file loads to the same configuration.
			loaded, err := Load(path)
			if err != nil || loaded.Accounts[0] != tc.want || len(loaded.Warnings) != 0 {
				t.Errorf("Load = %+v, %v", loaded, err)
			}
			// Nothing beyond the answers was consumed.
			rest, _ := io.ReadAll(in)
			if want := tc.input[strings.LastIndexByte(tc.input, '\n')+1:]; string(rest) != want {
				t.Errorf("left unread %q, want %q", rest, want)
			}
		})
	}
}

func TestFirstRunEOF(t *testing.T) {
	for _, input := range []string{"", "alice@example.org\n", "alice@example.org\n1\n", "alice@example.org\n2\n", "bad jid@@\n"} {
		path := filepath.Join(t.TempDir(), "config.toml")
		_, err := FirstRun(strings.NewReader(input), io.Discard, path)
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("input %q: err = %v, want unexpected EOF", input, err)
		}
		if _, err := os.Stat(path); err == nil {
			t.Errorf("input %q: file written despite EOF", input)
		}
	}
}

func TestFirstRunRefusesExistingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.toml")
	os.WriteFile(path, []byte("# mine\n"), 0o600)
	_, err := FirstRun(strings.NewReader("alice@example.org\n3\n\n"), io.Discard, path)
	if err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("err = %v", err)
	}
	if data, _ := os.ReadFile(path); string(data) != "# mine\n" {
		t.Errorf("file overwritten: %q", data)
	}
}

func TestReadPasswordPipe(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	go func() {
		w.Write([]byte("pa ss\r\nnext line\n"))
		w.Close()
	}()
	var out bytes.Buffer
	pw, err := ReadPassword("Password: ", r, &out)
	if err != nil || pw != "pa ss" {
		t.Fatalf("ReadPassword = %q, %v", pw, err)
	}
	if out.String() != "Password: " {
		t.Errorf("prompt = %q", out.String())
	}
	rest, _ := io.ReadAll(r)
	if string(rest) != "next line\n" {
		t.Errorf("rest = %q", rest)
	}
	if _, err := ReadPassword("", r, io.Discard); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("at EOF: %v", err)
	}
}
