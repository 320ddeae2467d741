package config

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"
	"mellium.im/xmpp/jid"
)

// FirstRun interactively creates a configuration with one account and
// writes it to path with Save. It asks for the JID (re-asking until it is
// valid), how to obtain the password (a command, stored in the file, or
// asked at every start), and an optional server host:port. It refuses to
// overwrite an existing file. Input is read one byte at a time, so in is
// left positioned right after the last answer and can be used again.
// When in is a terminal, a password to be stored is read without echo.
// End of input before the questions are answered is an error.
func FirstRun(in io.Reader, out io.Writer, path string) (*Config, error) {
	if Exists(path) {
		return nil, fmt.Errorf("%s already exists; edit it instead", path)
	}
	lr := lineReader{r: in}
	ask := func(prompt string) (string, error) {
		fmt.Fprint(out, prompt)
		line, err := lr.readLine()
		return strings.TrimSpace(line), err
	}

	fmt.Fprintf(out, "No configuration found; this creates %s.\n\n", path)

	var acct Account
	for {
		s, err := ask("Your XMPP address (e.g. alice@example.org): ")
		if err != nil {
			return nil, setupAborted(err)
		}
		j, err := jid.Parse(s)
		switch {
		case s == "":
			continue
		case err != nil:
			fmt.Fprintf(out, "  %q is not a valid address: %v\n", s, err)
			continue
		case j.Localpart() == "" || j.Resourcepart() != "":
			fmt.Fprintf(out, "  Enter the address as user@domain, without a /resource.\n")
			continue
		}
		acct.JID = j.String()
		break
	}

	fmt.Fprint(out, "\nHow should xchat get your password?\n"+
		"  1) run a command that prints it, e.g. pass show xmpp (recommended)\n"+
		"  2) store it in the config file (plain text on disk, file mode 0600)\n"+
		"  3) ask for it every time xchat starts\n")
choice:
	for {
		s, err := ask("Choice [1-3, default 1]: ")
		if err != nil {
			return nil, setupAborted(err)
		}
		switch s {
		case "", "1":
			for acct.PasswordCommand == "" {
				if acct.PasswordCommand, err = ask("Password command: "); err != nil {
					return nil, setupAborted(err)
				}
			}
			break choice
		case "2":
			fmt.Fprintf(out, "  The password will be readable by anyone who can read %s.\n", path)
			pw, err := askSecret(in, out, &lr)
			if err != nil {
				return nil, setupAborted(err)
			}
			acct.Password = pw
			break choice
		case "3":
			acct.AskPassword = true
			break choice
		default:
			fmt.Fprintf(out, "  Please answer 1, 2 or 3.\n")
		}
	}

	for {
		s, err := ask("\nServer host:port (empty = find it via DNS): ")
		if err != nil {
			return nil, setupAborted(err)
		}
		if s == "" {
			break
		}
		if err := checkHostPort(s); err != nil {
			fmt.Fprintf(out, "  Server %v\n", err)
			continue
		}
		acct.Server = s
		break
	}

	c := &Config{Path: path, UI: UI{Theme: "auto"}, Accounts: []Account{acct}}
	if err := Save(path, c); err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "\nSaved %s. Edit it to add accounts or change options.\n", path)
	return Load(path)
}

// askSecret reads a non-empty password: without echo and confirmed twice
// on a terminal, as a plain line otherwise.
func askSecret(in io.Reader, out io.Writer, lr *lineReader) (string, error) {
	f, isFile := in.(*os.File)
	tty := isFile && term.IsTerminal(int(f.Fd()))
	for {
		var pw string
		var err error
		if tty {
			pw, err = ReadPassword("Password: ", f, out)
		} else {
			fmt.Fprint(out, "Password: ")
			pw, err = lr.readLine()
		}
		if err != nil {
			return "", err
		}
		if pw == "" {
			continue
		}
		if !tty {
			return pw, nil
		}
		again, err := ReadPassword("Repeat password: ", f, out)
		if err != nil {
			return "", err
		}
		if again == pw {
			return pw, nil
		}
		fmt.Fprintln(out, "  The passwords differ; try again.")
	}
}

// ReadPassword prints prompt to out and reads one line from in. When in is
// a terminal, echo is turned off while typing; otherwise (a pipe or file)
// the line is read as is, one byte at a time so nothing after it is
// consumed. The trailing newline (and CR) is removed.
func ReadPassword(prompt string, in *os.File, out io.Writer) (string, error) {
	fmt.Fprint(out, prompt)
	if fd := int(in.Fd()); term.IsTerminal(fd) {
		b, err := term.ReadPassword(fd)
		fmt.Fprintln(out)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		return string(b), nil
	}
	lr := lineReader{r: in}
	return lr.readLine()
}

func setupAborted(err error) error {
	return fmt.Errorf("setup aborted: %w", err)
}

// lineReader reads lines without read-ahead, so the underlying reader can
// be handed to something else (such as a no-echo password read) afterwards.
type lineReader struct {
	r io.Reader
}

// readLine returns the next line without its "\n" or "\r\n". A final line
// without a newline is returned normally; end of input before any byte is
// io.ErrUnexpectedEOF.
func (l *lineReader) readLine() (string, error) {
	var line []byte
	var b [1]byte
	for {
		n, err := l.r.Read(b[:])
		if n == 1 {
			if b[0] == '\n' {
				break
			}
			line = append(line, b[0])
			continue
		}
		if errors.Is(err, io.EOF) {
			if len(line) == 0 {
				return "", io.ErrUnexpectedEOF
			}
			break
		}
		if err != nil {
			return "", err
		}
	}
	return strings.TrimSuffix(string(line), "\r"), nil
}
