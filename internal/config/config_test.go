package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParseGood(t *testing.T) {
	cases := []struct {
		name string
		doc  string
		want Config
	}{
		{
			name: "empty file",
			doc:  "",
			want: Config{UI: UI{Theme: "auto"}},
		},
		{
			name: "minimal account gets defaults",
			doc:  "[[account]]\njid = \"Alice@Example.ORG\"\n",
			want: Config{UI: UI{Theme: "auto"}, Accounts: []Account{{
				JID: "alice@example.org", AskPassword: true, TLS: "starttls", Resource: "xchat", Nick: "alice",
			}}},
		},
		{
			name: "all keys",
			doc: `# comment
[ui]
theme = "dark"
notify = true

[[account]]
jid = "alice@example.org"
password_command = "pass show xmpp/alice"
server = "xmpp.example.org:5223"
tls = "direct"
ca_file = "/etc/xchat/ca.pem"
pin_sha256 = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
resource = "laptop"
nick = "Ali"
`,
			want: Config{UI: UI{Theme: "dark", Notify: true}, Accounts: []Account{{
				JID: "alice@example.org", PasswordCommand: "pass show xmpp/alice",
				Server: "xmpp.example.org:5223", TLS: "direct", CAFile: "/etc/xchat/ca.pem",
				PinSHA256: "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=", Resource: "laptop", Nick: "Ali",
			}}},
		},
		{
			name: "multiple accounts, ipv6 server, relative ca_file",
			doc: `[[account]]
jid = "alice@example.org"
password = "hunter2"

[[account]]
jid = "bob@example.net"
ask_password = true
server = "[::1]:5222"
ca_file = "certs/ca.pem"
`,
			want: Config{UI: UI{Theme: "auto"}, Accounts: []Account{
				{JID: "alice@example.org", Password: "hunter2", TLS: "starttls", Resource: "xchat", Nick: "alice"},
				{JID: "bob@example.net", AskPassword: true, Server: "[::1]:5222", CAFile: "/conf/certs/ca.pem", TLS: "starttls", Resource: "xchat", Nick: "bob"},
			}},
		},
		{
			name: "inline account array",
			doc:  "account = [{ jid = \"a@example.org\" }, { jid = \"b@example.org\", tls = \"direct\" }]\n",
			want: Config{UI: UI{Theme: "auto"}, Accounts: []Account{
				{JID: "a@example.org", AskPassword: true, TLS: "starttls", Resource: "xchat", Nick: "a"},
				{JID: "b@example.org", AskPassword: true, TLS: "direct", Resource: "xchat", Nick: "b"},
			}},
		},
		{
			name: "hex pin with colons",
			doc:  "[[account]]\njid = \"a@example.org\"\npin_sha256 = \"E3:B0:C4:42:98:FC:1C:14:9A:FB:F4:C8:99:6F:B9:24:27:AE:41:E4:64:9B:93:4C:A4:95:99:1B:78:52:B8:55\"\n",
			want: Config{UI: UI{Theme: "auto"}, Accounts: []Account{{
				JID: "a@example.org", AskPassword: true, TLS: "starttls", Resource: "xchat", Nick: "a",
				PinSHA256: "E3:B0:C4:42:98:FC:1C:14:9A:FB:F4:C8:99:6F:B9:24:27:AE:41:E4:64:9B:93:4C:A4:95:99:1B:78:52:B8:55",
			}}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse("/conf/config.toml", []byte(tc.doc))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			tc.want.Path = "/conf/config.toml"
			if !reflect.DeepEqual(*c, tc.want) {
				t.Errorf("got  %+v\nwant %+v", *c, tc.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	const acct = "[[account]]\njid = \"alice@example.org\"\n" // lines 1-2
	cases := []struct {
		name string
		doc  string
		want []string // each must appear in the error message
	}{
		{
			name: "syntax: unterminated string",
			doc:  "[[account]]\njid = \"alice@example.org\n",
			want: []string{"c.toml:2:25: basic strings cannot have new lines"},
		},
		{
			name: "syntax: duplicate key",
			doc:  acct + "jid = \"bob@example.org\"\n",
			want: []string{"c.toml:3:1: ", "already defined"},
		},
		{
			name: "unknown key in second account",
			doc:  acct + "\n[[account]]\njid = \"bob@example.org\"\npasword = \"x\"\n",
			want: []string{"c.toml:6:1: account[1].pasword: unknown key"},
		},
		{
			name: "unknown key in ui",
			doc:  "[ui]\ncolour = \"red\"\n",
			want: []string{"c.toml:2:1: ui.colour: unknown key"},
		},
		{
			name: "unknown table",
			doc:  acct + "[server]\nhost = \"x\"\n",
			want: []string{"c.toml:3:", "server: unknown key"},
		},
		{
			name: "two unknown keys are both reported",
			doc:  acct + "foo = 1\nbar = 2\n",
			want: []string{"c.toml:3:1: account[0].foo: unknown key", "c.toml:4:1: account[0].bar: unknown key"},
		},
		{
			name: "wrong type",
			doc:  acct + "tls = 5\n",
			want: []string{"c.toml:3:", "account[0].tls: must be a string, got a TOML integer"},
		},
		{
			name: "wrong type bool",
			doc:  "[ui]\nnotify = \"yes\"\n",
			want: []string{"c.toml:2:", "ui.notify: must be a boolean, got a TOML string"},
		},
		{
			name: "missing jid points at the section",
			doc:  acct + "\n[[account]]\nserver = \"example.org:5222\"\n",
			want: []string{"c.toml:4: account[1].jid: missing"},
		},
		{
			name: "invalid jid",
			doc:  "[[account]]\njid = \"a b@example.org\"\n",
			want: []string{"c.toml:2: account[0].jid: invalid JID \"a b@example.org\""},
		},
		{
			name: "jid with resource",
			doc:  "[[account]]\njid = \"alice@example.org/phone\"\n",
			want: []string{"c.toml:2: account[0].jid: must be a bare JID", `resource = "phone"`},
		},
		{
			name: "jid without localpart",
			doc:  "[[account]]\njid = \"example.org\"\n",
			want: []string{"c.toml:2: account[0].jid: must include a user name"},
		},
		{
			name: "password and password_command",
			doc:  acct + "password = \"x\"\npassword_command = \"pass xmpp\"\n",
			want: []string{"c.toml:4: account[0].password_command (alice@example.org): set either password or password_command, not both"},
		},
		{
			name: "ask_password with password",
			doc:  acct + "ask_password = true\npassword = \"x\"\n",
			want: []string{"c.toml:3: account[0].ask_password (alice@example.org): cannot be combined"},
		},
		{
			name: "bad tls",
			doc:  acct + "tls = \"plain\"\n",
			want: []string{`c.toml:3: account[0].tls (alice@example.org): must be "starttls" or "direct", got "plain"`},
		},
		{
			name: "server without port",
			doc:  acct + "server = \"xmpp.example.org\"\n",
			want: []string{`c.toml:3: account[0].server (alice@example.org): must be host:port`},
		},
		{
			name: "server without host",
			doc:  acct + "server = \":5222\"\n",
			want: []string{`c.toml:3: account[0].server (alice@example.org): must be host:port`},
		},
		{
			name: "server port out of range",
			doc:  acct + "server = \"xmpp.example.org:70000\"\n",
			want: []string{`c.toml:3: account[0].server (alice@example.org): invalid port "70000"`},
		},
		{
			name: "server port zero",
			doc:  acct + "server = \"xmpp.example.org:0\"\n",
			want: []string{`account[0].server (alice@example.org): invalid port "0"`},
		},
		{
			name: "pin not base64 or hex",
			doc:  acct + "pin_sha256 = \"not a pin!\"\n",
			want: []string{`c.toml:3: account[0].pin_sha256 (alice@example.org): must be a SHA-256 digest in hex`},
		},
		{
			name: "pin of the wrong length",
			doc:  acct + "pin_sha256 = \"AAAA\"\n",
			want: []string{`c.toml:3: account[0].pin_sha256 (alice@example.org): must be a SHA-256 digest (32 bytes), "AAAA" decodes to 3 bytes`},
		},
		{
			name: "invalid resource",
			doc:  acct + "resource = \"a\\u0007b\"\n",
			want: []string{`c.toml:3: account[0].resource (alice@example.org): invalid resource`},
		},
		{
			name: "duplicate jid after normalization",
			doc:  acct + "\n[[account]]\njid = \"ALICE@example.org\"\n",
			want: []string{`c.toml:5: account[1].jid: alice@example.org is already configured as account[0]`},
		},
		{
			name: "bad theme",
			doc:  "[ui]\ntheme = \"neon\"\n",
			want: []string{`c.toml:2: ui.theme: must be one of "auto", "dark", "light", got "neon"`},
		},
		{
			name: "error inside inline account table",
			doc:  "account = [\n  { jid = \"a@example.org\" },\n  { jid = \"b@example.org\", tls = \"tcp\" },\n]\n",
			want: []string{`c.toml:3: account[1].tls (b@example.org): must be "starttls" or "direct", got "tcp"`},
		},
		{
			name: "several semantic errors at once",
			doc:  acct + "tls = \"x\"\n[[account]]\njid = \"bob@example.org\"\nserver = \"nope\"\n",
			want: []string{"c.toml:3: account[0].tls", "c.toml:6: account[1].server (bob@example.org)"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse("c.toml", []byte(tc.doc))
			if err == nil {
				t.Fatalf("Parse succeeded: %+v", c)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\n lacks %q", err, w)
				}
			}
			var ce *Error
			if !errors.As(err, &ce) || ce.Path != "c.toml" || ce.Line == 0 {
				t.Errorf("error is not a positioned *Error: %#v", err)
			}
		})
	}
}

func TestConfigAccount(t *testing.T) {
	c, err := Parse("c.toml", []byte("[[account]]\njid = \"alice@example.org\"\n[[account]]\njid = \"bob@example.net\"\nnick = \"B\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ in, want string }{
		{"", "alice@example.org"},
		{"bob@example.net", "bob@example.net"},
		{"Bob@Example.NET/anything", "bob@example.net"},
	} {
		a, err := c.Account(tc.in)
		if err != nil || a.JID != tc.want {
			t.Errorf("Account(%q) = %q, %v; want %q", tc.in, a.JID, err, tc.want)
		}
	}
	_, err = c.Account("carol@example.org")
	if err == nil || !strings.Contains(err.Error(), "alice@example.org, bob@example.net") {
		t.Errorf("unknown account error = %v", err)
	}
	empty, _ := Parse("c.toml", nil)
	if _, err := empty.Account(""); !errors.Is(err, ErrNoAccounts) {
		t.Errorf("empty config: err = %v, want ErrNoAccounts", err)
	}
}

func TestLoadPasswordWarning(t *testing.T) {
	const withPassword = "[[account]]\njid = \"alice@example.org\"\npassword = \"hunter2\"\n"
	const withCommand = "[[account]]\njid = \"alice@example.org\"\npassword_command = \"pass x\"\n"
	cases := []struct {
		doc      string
		mode     fs.FileMode
		warnings int
	}{
		{withPassword, 0o644, 1},
		{withPassword, 0o640, 1},
		{withPassword, 0o604, 1},
		{withPassword, 0o600, 0},
		{withPassword, 0o400, 0},
		{withCommand, 0o644, 0},
	}
	for _, tc := range cases {
		path := filepath.Join(t.TempDir(), "config.toml")
		if err := os.WriteFile(path, []byte(tc.doc), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, tc.mode); err != nil {
			t.Fatal(err)
		}
		c, err := Load(path)
		if err != nil {
			t.Fatal(err)
		}
		if len(c.Warnings) != tc.warnings {
			t.Errorf("mode %04o: warnings = %q, want %d", tc.mode, c.Warnings, tc.warnings)
		}
		for _, w := range c.Warnings {
			if !strings.Contains(w, "chmod 600") || !strings.Contains(w, "alice@example.org") {
				t.Errorf("warning lacks advice or account: %q", w)
			}
		}
	}
}

func TestLoadMissing(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "none.toml"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("err = %v, want fs.ErrNotExist", err)
	}
}

func TestSaveLoadRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cfg", "xchat")
	path := filepath.Join(dir, "config.toml")
	in := &Config{
		UI: UI{Theme: "light", Notify: true},
		Accounts: []Account{
			{JID: "alice@example.org", PasswordCommand: `pass show "xmpp/alice"`, Server: "xmpp.example.org:5222",
				TLS: "direct", CAFile: "/etc/ca.pem", PinSHA256: "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
				Resource: "desk", Nick: "Ali"},
			{JID: "bob@example.net", Password: "p'w\"\\ \n#x"},
			{JID: "carol@example.com", AskPassword: true},
		},
	}
	if err := Save(path, in); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]fs.FileMode{dir: 0o700, path: 0o600} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s: mode %04o, want %04o", p, fi.Mode().Perm(), want)
		}
	}
	out, err := Load(path)
	if err != nil {
		data, _ := os.ReadFile(path)
		t.Fatalf("Load: %v\n%s", err, data)
	}
	want := []Account{
		in.Accounts[0],
		{JID: "bob@example.net", Password: "p'w\"\\ \n#x", TLS: "starttls", Resource: "xchat", Nick: "bob"},
		{JID: "carol@example.com", AskPassword: true, TLS: "starttls", Resource: "xchat", Nick: "carol"},
	}
	if !reflect.DeepEqual(out.Accounts, want) || !reflect.DeepEqual(out.UI, in.UI) {
		t.Errorf("round trip:\n got %+v %+v\nwant %+v %+v", out.UI, out.Accounts, in.UI, want)
	}
	if len(out.Warnings) != 0 {
		t.Errorf("warnings for a 0600 file: %q", out.Warnings)
	}
	// Defaults are not written out.
	data, _ := os.ReadFile(path)
	for _, s := range []string{"starttls", "resource = 'xchat'", "nick = 'bob'"} {
		if strings.Contains(string(data), s) {
			t.Errorf("saved file contains default %q:\n%s", s, data)
		}
	}
}

func TestSaveTightensModeAndRejectsInvalid(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.toml")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chmod(path, 0o644)
	bad := &Config{Accounts: []Account{{JID: "alice@example.org", TLS: "plain"}}}
	if err := Save(path, bad); err == nil || !strings.Contains(err.Error(), "account[0].tls") {
		t.Errorf("Save(invalid) = %v", err)
	}
	if data, _ := os.ReadFile(path); string(data) != "old" {
		t.Errorf("invalid Save modified the file: %q", data)
	}
	good := &Config{Accounts: []Account{{JID: "alice@example.org", Password: "pw"}}}
	if err := Save(path, good); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode after Save = %04o", fi.Mode().Perm())
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
}

func TestUIColors(t *testing.T) {
	good := "[ui]\ntheme = \"dark\"\n[ui.colors]\nonline = \"#00ff00\"\nunread = \"5\"\n[[account]]\njid = \"a@b.c\"\npassword_command = \"true\"\n"
	c, err := Parse("c.toml", []byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if c.UI.Colors["online"] != "#00ff00" || c.UI.Colors["unread"] != "5" {
		t.Errorf("colors = %v", c.UI.Colors)
	}
	for _, bad := range []string{"[ui.colors]\nonlin = \"1\"\n", "[ui.colors]\nonline = \"green\"\n", "[ui.colors]\nonline = \"300\"\n"} {
		_, err := Parse("c.toml", []byte(bad+"[[account]]\njid = \"a@b.c\"\npassword_command = \"true\"\n"))
		if err == nil || !strings.Contains(err.Error(), "c.toml:2") || !strings.Contains(err.Error(), "ui.colors.") {
			t.Errorf("%q: err = %v, want file:line and key", bad, err)
		}
	}
}
