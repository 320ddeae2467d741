package config

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/pelletier/go-toml/v2"
	"mellium.im/xmpp/jid"
)

// TLS modes of an account.
const (
	TLSStartTLS = "starttls" // connect in plain text and upgrade (default)
	TLSDirect   = "direct"   // TLS from the first byte (XEP-0368)
)

// DefaultResource is the resource used when an account sets none. A stable
// value keeps per-resource server state (carbons, MAM, presence) consistent
// across restarts; a second xchat instance on the same account makes the
// server replace or rename the session, which is the usual XMPP behaviour.
const DefaultResource = "xchat"

// Themes accepted by [ui] theme.
var themes = []string{"auto", "dark", "light"}

// Config is a parsed and validated configuration file.
type Config struct {
	Path     string    // file the configuration came from (for messages)
	UI       UI        // [ui] section
	Media    Media     // [media] section (media.go)
	Accounts []Account // [[account]] sections, in file order
	Warnings []string  // non-fatal problems worth showing the user
}

// UI holds the [ui] section.
type UI struct {
	Theme  string `toml:"theme"`  // auto (default), dark or light
	Notify bool   `toml:"notify"` // ring the terminal bell on new messages (default false)
	// Colors overrides single colours of the theme ([ui.colors]): names as
	// in ColorNames, values an ANSI number ("0"–"255") or "#rrggbb".
	Colors map[string]string `toml:"colors,omitempty"`
}

// ColorNames are the keys [ui.colors] accepts.
var ColorNames = []string{"title", "title_background", "status", "status_background", "status_error",
	"online", "away", "busy", "offline", "unread", "group", "request", "error", "link", "code", "quote", "accent"}

// Account is one [[account]] section. After Load or Parse, JID is the
// normalized bare JID and TLS, Resource and Nick hold their defaults when
// the file left them out. Exactly one way to get the password is set:
// Password, PasswordCommand or AskPassword (the default when the file gives
// none).
type Account struct {
	JID             string `toml:"jid"`
	Password        string `toml:"password,omitempty"`
	PasswordCommand string `toml:"password_command,omitempty"`
	AskPassword     bool   `toml:"ask_password,omitempty"` // prompt at start-up
	Server          string `toml:"server,omitempty"`       // host:port; empty = DNS SRV
	TLS             string `toml:"tls,omitempty"`          // starttls or direct
	CAFile          string `toml:"ca_file,omitempty"`      // extra trusted CA (PEM)
	PinSHA256       string `toml:"pin_sha256,omitempty"`   // SHA-256 of the server key's SPKI
	Resource        string `toml:"resource,omitempty"`
	Nick            string `toml:"nick,omitempty"`
	// OMEMO turns end-to-end encryption on (default) or off.
	OMEMO *bool `toml:"omemo,omitempty"`
	// OMEMOTrust is how new devices of contacts are trusted: "btbv" (blind
	// trust before verification, the default) or "manual" (undecided until
	// the user decides).
	OMEMOTrust string `toml:"omemo_trust,omitempty"`
}

// fileConfig mirrors the file layout for decoding and encoding.
type fileConfig struct {
	UI       UI        `toml:"ui"`
	Media    *Media    `toml:"media,omitempty"`
	Accounts []Account `toml:"account"`
}

// Error is a problem in a configuration file. Line and Column are 1-based
// and zero when unknown; Key is a path such as "account[0].tls".
type Error struct {
	Path   string
	Line   int
	Column int
	Key    string
	Msg    string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Path)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
		if e.Column > 0 {
			fmt.Fprintf(&b, ":%d", e.Column)
		}
	}
	if e.Key != "" {
		b.WriteString(": ")
		b.WriteString(e.Key)
	}
	b.WriteString(": ")
	b.WriteString(e.Msg)
	return b.String()
}

// ErrNoAccounts is returned by Config.Account when the file defines none.
var ErrNoAccounts = errors.New("no [[account]] configured")

// Load reads and parses the configuration file at path. A missing file
// yields an error matching fs.ErrNotExist (the cue to run FirstRun). It adds
// a warning when a plaintext password sits in a file that group or others
// can read.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	c, err := Parse(path, data)
	if err != nil {
		return nil, err
	}
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o044 != 0 {
		for i, a := range c.Accounts {
			if a.Password != "" {
				c.Warnings = append(c.Warnings, fmt.Sprintf(
					"%s: account[%d] (%s) stores a plaintext password but the file is readable by others (mode %04o); run: chmod 600 %s",
					path, i, a.JID, fi.Mode().Perm(), path))
			}
		}
	}
	return c, nil
}

// Parse decodes and validates a configuration held in data; path is used in
// messages and to resolve a relative ca_file. Unknown keys are errors. All
// semantic problems are reported together (errors.Join of *Error).
func Parse(path string, data []byte) (*Config, error) {
	fc := fileConfig{UI: UI{Theme: "auto"}}
	dec := toml.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&fc); err != nil {
		return nil, decodeError(path, data, err)
	}
	c := &Config{Path: path, UI: fc.UI, Accounts: fc.Accounts}
	if fc.Media != nil {
		c.Media = *fc.Media
	}
	if err := c.validate(newIndex(data)); err != nil {
		return nil, err
	}
	for i := range c.Accounts {
		c.Accounts[i].CAFile = resolvePath(filepath.Dir(path), c.Accounts[i].CAFile)
	}
	return c, nil
}

// Account returns the account whose bare JID matches id, or the first
// account when id is empty.
func (c *Config) Account(id string) (Account, error) {
	if len(c.Accounts) == 0 {
		return Account{}, fmt.Errorf("%s: %w", c.Path, ErrNoAccounts)
	}
	if id == "" {
		return c.Accounts[0], nil
	}
	want := id
	if j, err := jid.Parse(id); err == nil {
		want = j.Bare().String()
	}
	names := make([]string, len(c.Accounts))
	for i, a := range c.Accounts {
		if a.JID == want {
			return a, nil
		}
		names[i] = a.JID
	}
	return Account{}, fmt.Errorf("no account %q in %s (configured: %s)", id, c.Path, strings.Join(names, ", "))
}

// index maps key paths ("ui.theme", "account[1]", "account[1].tls") to
// their position in the file, so semantic errors can point at a line.
type index struct {
	pos      map[string][2]int // line, column
	accounts []int             // line of each account, in order
}

func (x index) line(key string) int {
	if p, ok := x.pos[key]; ok {
		return p[0]
	}
	// Fall back to the enclosing table: "account[1].tls" -> "account[1]".
	if i := strings.LastIndexByte(key, '.'); i > 0 {
		return x.line(key[:i])
	}
	return 0
}

// accountAt returns the index of the account whose table starts at or
// before line, or -1.
func (x index) accountAt(line int) int {
	n := -1
	for i, l := range x.accounts {
		if l <= line {
			n = i
		}
	}
	return n
}

// validate checks c, fills in defaults and returns all problems found.
func (c *Config) validate(x index) error {
	var errs []error
	// fail records a problem with key; jidCtx, when known, names the
	// account so the message makes sense without counting sections.
	fail := func(key, jidCtx, format string, args ...any) {
		e := &Error{Path: c.Path, Line: x.line(key), Key: key, Msg: fmt.Sprintf(format, args...)}
		if jidCtx != "" {
			e.Key += " (" + jidCtx + ")"
		}
		errs = append(errs, e)
	}

	if c.UI.Theme == "" {
		c.UI.Theme = "auto"
	}
	if !slices.Contains(themes, c.UI.Theme) {
		fail("ui.theme", "", "must be one of %s, got %q", quoteList(themes), c.UI.Theme)
	}
	for _, name := range slices.Sorted(maps.Keys(c.UI.Colors)) {
		key := "ui.colors." + name
		if !slices.Contains(ColorNames, name) {
			fail(key, "", "unknown colour name; known: %s", strings.Join(ColorNames, ", "))
		} else if !validColor(c.UI.Colors[name]) {
			fail(key, "", "must be an ANSI colour number (0-255) or #rrggbb, got %q", c.UI.Colors[name])
		}
	}

	c.Media.validate(fail)

	seen := make(map[string]int)
	for i := range c.Accounts {
		a := &c.Accounts[i]
		key := func(k string) string { return fmt.Sprintf("account[%d].%s", i, k) }

		// JID first: the other messages quote it for context.
		ctx := ""
		switch j, err := jid.Parse(a.JID); {
		case a.JID == "":
			fail(key("jid"), "", "missing; every account needs its address, e.g. jid = \"alice@example.org\"")
		case err != nil:
			fail(key("jid"), "", "invalid JID %q: %v", a.JID, err)
		case j.Resourcepart() != "":
			fail(key("jid"), "", "must be a bare JID without /resource, got %q (set resource = %q instead)", a.JID, j.Resourcepart())
		case j.Localpart() == "":
			fail(key("jid"), "", "must include a user name (user@domain), got %q", a.JID)
		default:
			a.JID = j.String()
			ctx = a.JID
			if prev, dup := seen[a.JID]; dup {
				fail(key("jid"), "", "%s is already configured as account[%d]", a.JID, prev)
			} else {
				seen[a.JID] = i
			}
			if a.Nick == "" {
				a.Nick = j.Localpart()
			}
			if a.Resource == "" {
				a.Resource = DefaultResource
			}
			if _, err := j.WithResource(a.Resource); err != nil {
				fail(key("resource"), ctx, "invalid resource %q: %v", a.Resource, err)
			}
		}

		switch {
		case a.Password != "" && a.PasswordCommand != "":
			fail(key("password_command"), ctx, "set either password or password_command, not both")
		case a.AskPassword && (a.Password != "" || a.PasswordCommand != ""):
			fail(key("ask_password"), ctx, "cannot be combined with password or password_command")
		case a.Password == "" && a.PasswordCommand == "":
			a.AskPassword = true
		}

		if a.TLS == "" {
			a.TLS = TLSStartTLS
		}
		if a.TLS != TLSStartTLS && a.TLS != TLSDirect {
			fail(key("tls"), ctx, "must be %q or %q, got %q", TLSStartTLS, TLSDirect, a.TLS)
		}
		if a.Server != "" {
			if err := checkHostPort(a.Server); err != nil {
				fail(key("server"), ctx, "%v", err)
			}
		}
		if a.PinSHA256 != "" {
			if _, err := decodePin(a.PinSHA256); err != nil {
				fail(key("pin_sha256"), ctx, "%v", err)
			}
		}
		if a.OMEMOTrust != "" && a.OMEMOTrust != "btbv" && a.OMEMOTrust != "manual" {
			fail(key("omemo_trust"), ctx, `must be "btbv" or "manual", got %q`, a.OMEMOTrust)
		}
	}
	return errors.Join(errs...)
}

// checkHostPort validates a host:port server address.
func checkHostPort(s string) error {
	host, port, err := net.SplitHostPort(s)
	if err != nil || host == "" {
		return fmt.Errorf("must be host:port (e.g. \"xmpp.example.org:5222\"), got %q", s)
	}
	n, err := strconv.ParseUint(port, 10, 16)
	if err != nil || n == 0 {
		return fmt.Errorf("invalid port %q in %q", port, s)
	}
	return nil
}

// resolvePath expands a leading "~/" and makes a relative path relative to
// the directory of the configuration file.
func resolvePath(dir, p string) string {
	if p == "" {
		return ""
	}
	if rest, ok := strings.CutPrefix(p, "~/"); ok {
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, rest)
		}
	}
	if !filepath.IsAbs(p) {
		return filepath.Join(dir, p)
	}
	return p
}

// typeMismatch matches go-toml's "cannot decode TOML x into struct field
// T.F of type y" to restate it without Go type names.
var typeMismatch = regexp.MustCompile(`^cannot decode TOML (\S+) into .* of type (.+)$`)

// decodeError turns go-toml's errors into *Error values naming the file,
// position and key.
func decodeError(path string, data []byte, err error) error {
	var strict *toml.StrictMissingError
	if errors.As(err, &strict) {
		x := newIndex(data)
		errs := make([]error, len(strict.Errors))
		for i := range strict.Errors {
			e := &strict.Errors[i]
			line, col := e.Position()
			errs[i] = &Error{Path: path, Line: line, Column: col, Key: keyPath(x, e.Key(), line), Msg: "unknown key"}
		}
		return errors.Join(errs...)
	}
	var de *toml.DecodeError
	if errors.As(err, &de) {
		line, col := de.Position()
		msg := strings.TrimPrefix(de.Error(), "toml: ")
		if m := typeMismatch.FindStringSubmatch(msg); m != nil {
			want := m[2]
			switch want {
			case "bool":
				want = "boolean"
			case "string":
			default:
				if strings.HasPrefix(want, "struct") || strings.HasPrefix(want, "config.") {
					want = "table"
				} else if strings.HasPrefix(want, "[]") {
					want = "array of tables"
				}
			}
			msg = fmt.Sprintf("must be %s, got %s", article(want), article("TOML "+m[1]))
		}
		// A syntax error stops the parser before it can index the file,
		// so only use the index for otherwise valid documents.
		return &Error{Path: path, Line: line, Column: col, Key: keyPath(newIndex(data), de.Key(), line), Msg: msg}
	}
	return &Error{Path: path, Msg: err.Error()}
}

// keyPath renders a go-toml key, adding the account index go-toml omits.
func keyPath(x index, k toml.Key, line int) string {
	if len(k) > 0 && k[0] == "account" {
		if n := x.accountAt(line); n >= 0 {
			return strings.Join(append([]string{fmt.Sprintf("account[%d]", n)}, k[1:]...), ".")
		}
	}
	return strings.Join(k, ".")
}

// Save validates c and writes it to path with mode 0600, creating the
// directory with mode 0700. The file is replaced atomically. Defaults
// (tls = "starttls", resource = "xchat", nick = localpart) are left out.
func Save(path string, c *Config) error {
	check := &Config{Path: path, UI: c.UI, Media: c.Media, Accounts: append([]Account(nil), c.Accounts...)}
	if err := check.validate(index{}); err != nil {
		return err
	}
	fc := fileConfig{UI: check.UI, Media: c.Media.orNil(), Accounts: make([]Account, len(check.Accounts))}
	for i, a := range check.Accounts {
		if a.TLS == TLSStartTLS {
			a.TLS = ""
		}
		if a.Resource == DefaultResource {
			a.Resource = ""
		}
		if j, err := jid.Parse(a.JID); err == nil && a.Nick == j.Localpart() {
			a.Nick = ""
		}
		fc.Accounts[i] = a
	}
	body, err := toml.Marshal(fc)
	if err != nil {
		return fmt.Errorf("encode config: %w", err)
	}
	data := append([]byte("# xchat configuration (written by the first-run setup).\n\n"), body...)
	return writeFileAtomic(path, data)
}

// writeFileAtomic writes data to a temporary file next to path (mode 0600)
// and renames it into place, so a crash never leaves a half-written file.
func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create config directory: %w", err)
	}
	f, err := os.CreateTemp(dir, ".config-*.toml")
	if err != nil {
		return fmt.Errorf("write config: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after a successful rename
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return fmt.Errorf("write config: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write config: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("write config: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write config: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write config: %w", err)
	}
	return nil
}

// Exists reports whether a configuration file is present at path.
func Exists(path string) bool {
	_, err := os.Stat(path)
	return !errors.Is(err, fs.ErrNotExist)
}

// article prefixes s with "a" or "an".
func article(s string) string {
	if s != "" && strings.ContainsRune("aeiouAEIOU", rune(s[0])) {
		return "an " + s
	}
	return "a " + s
}

func quoteList(list []string) string {
	q := make([]string, len(list))
	for i, s := range list {
		q[i] = strconv.Quote(s)
	}
	return strings.Join(q, ", ")
}

// OMEMOEnabled reports whether OMEMO is on for the account (the default).
func (a Account) OMEMOEnabled() bool { return a.OMEMO == nil || *a.OMEMO }

// validColor accepts "0"–"255" and "#rrggbb".
func validColor(v string) bool {
	if n, err := strconv.Atoi(v); err == nil {
		return n >= 0 && n <= 255
	}
	if len(v) != 7 || v[0] != '#' {
		return false
	}
	_, err := strconv.ParseUint(v[1:], 16, 32)
	return err == nil
}
