// Command xchat is a terminal XMPP chat client.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"

	"xchat/internal/config"
	"xchat/internal/logging"
	"xchat/internal/sanitize"
	"xchat/internal/xdg"
	"xchat/omemo"
	"xchat/session"
	"xchat/store"
)

// version is set at build time with -ldflags "-X main.version=..."; else it
// comes from the module build information.
var version = ""

const usage = `xchat — a terminal XMPP chat client

Usage:
  xchat [--config FILE] [--account JID] [--trace]    start the chat interface
  xchat send [--config FILE] [--account JID] TO-JID TEXT...
                                                     send one message and exit 0 once the server has it
  xchat send --file PATH [--config FILE] [--account JID] TO-JID
                                                     upload PATH to your server (XEP-0363) and send its link
                                                     (encrypted, XEP-0454, when the chat uses OMEMO); fails
                                                     before sending anything if the server offers no upload
                                                     or the file is over its limit
  xchat history [--config FILE] [--account JID] [-n N] PEER-JID
                                                     print the last N (default 20) stored messages with PEER-JID,
                                                     oldest first, as "TIMESTAMP SENDER: TEXT" (RFC 3339)
  xchat history --search WORDS [--config FILE] [--account JID] [-n N] [PEER-JID]
                                                     print the N (default 20) newest messages containing WORDS
                                                     (with PEER-JID, else in every conversation), oldest first,
                                                     as "TIMESTAMP PEER SENDER: TEXT"; case and accents are
                                                     ignored, the last word may be the start of a longer one
  xchat export [--config FILE] [--account JID] [--format txt|json] PEER-JID
                                                     write the whole conversation with PEER-JID, oldest first:
                                                     txt (default) as history prints it; json as JSON Lines, one
                                                     object per message with the fields time (RFC 3339 UTC),
                                                     direction ("in"/"out"), sender, body, origin_id, stanza_id,
                                                     state (received, pending, sent, delivered, read, failed)
                                                     and encryption ("" or "omemo")
  xchat --version                                    print the version
  xchat --help                                       this text

Options:
  --config FILE   configuration file (default $XDG_CONFIG_HOME/xchat/config.toml)
  --account JID   which [[account]] of the configuration to use (default: all in the
                  interface, the first for send/history/export)
  --trace         also write the raw XML stream, credentials redacted, to
                  $XDG_STATE_HOME/xchat/xml-trace.log

Files:
  history   $XDG_DATA_HOME/xchat/xchat.db (SQLite, mode 0600)
  log       $XDG_STATE_HOME/xchat/xchat.log

Exit status: 0 on success, 1 on an error (a one-line reason on stderr), 2 on bad usage.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func versionString() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// globalFlags are accepted by every form.
type globalFlags struct {
	config  string
	account string
	trace   bool
}

func (g *globalFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&g.config, "config", "", "configuration file")
	fs.StringVar(&g.account, "account", "", "account JID")
}

func run(args []string, stdin *os.File, stdout, stderr io.Writer) int {
	session.Version = versionString()
	if len(args) > 0 {
		switch args[0] {
		case "send":
			return cmdSend(args[1:], stdout, stderr)
		case "history":
			return cmdHistory(args[1:], stdout, stderr)
		case "export":
			return cmdExport(args[1:], stdout, stderr)
		case "help":
			fmt.Fprint(stdout, usage)
			return 0
		}
	}
	fs := flag.NewFlagSet("xchat", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var g globalFlags
	g.register(fs)
	fs.BoolVar(&g.trace, "trace", false, "write an XML trace")
	showVersion := fs.Bool("version", false, "print the version")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, usage)
			return 0
		}
		fmt.Fprintf(stderr, "xchat: %v\n\n%s", err, usage)
		return 2
	}
	if *showVersion {
		fmt.Fprintf(stdout, "xchat %s\n", versionString())
		return 0
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "xchat: unknown command %q\n\n%s", fs.Arg(0), usage)
		return 2
	}
	if err := runTUI(g, stdin, stdout); err != nil {
		fmt.Fprintf(stderr, "xchat: %v\n", oneLine(err))
		return 1
	}
	return 0
}

// oneLine keeps error output to a single line, safe for the terminal:
// errors can quote the server or a room (refusals, join errors).
func oneLine(err error) string {
	return sanitize.Line(strings.Join(strings.Fields(err.Error()), " "))
}

// loadConfig reads the configuration; warnings go to the log.
func loadConfig(path string) (*config.Config, error) {
	if path == "" {
		path = xdg.ConfigFile()
	}
	return config.Load(path)
}

// openLog opens the log file under the XDG state directory, and sends
// libsignal's logging there too (it writes to stdout by default).
func openLog() (*slog.Logger, io.Closer, error) {
	log, closer, err := logging.Open(xdg.LogDir(), slog.LevelInfo)
	if err == nil {
		omemo.SetLogger(log)
	}
	return log, closer, err
}

// openStore opens the history database under the XDG data directory.
func openStore(ctx context.Context) (*store.Store, error) {
	path := xdg.DatabaseFile()
	if p := os.Getenv("XCHAT_DB"); p != "" {
		path = p
	}
	st, err := store.Open(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("opening the history database %s: %w", path, err)
	}
	return st, nil
}

// sessionConfig turns a configured account into a session configuration.
func sessionConfig(a config.Account, password func(context.Context) (string, error)) (session.Config, error) {
	tlsCfg, err := a.TLSConfig()
	if err != nil {
		return session.Config{}, fmt.Errorf("account %s: %w", a.JID, err)
	}
	mode := session.StartTLS
	if a.TLS == "direct" {
		mode = session.DirectTLS
	}
	if password == nil {
		password = a.GetPassword
	}
	return session.Config{
		JID:      a.JID,
		Resource: a.Resource,
		Nick:     a.Nick,
		OMEMO:    a.OMEMOEnabled(),
		// New devices undecided until the user decides (no blind trust).
		OMEMOManualTrust: a.OMEMOTrust == "manual",
		Password:         password,
		Server:           a.Server,
		TLSMode:          mode,
		TLS:              tlsCfg,
	}, nil
}

// signalContext ends on SIGINT/SIGTERM/SIGHUP.
func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
}
