// Command xchat-demo runs the demo of scripts/demo: a throwaway Prosody on
// loopback, alice and bob, bob's echo bot, and xchat logged in as alice with
// the conversation with bob open. Everything is removed when xchat exits.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"

	"xchat/internal/demo"
)

func main() {
	xchat := flag.String("xchat", "", "path to the built xchat binary")
	flag.Parse()
	if err := run(*xchat); err != nil {
		fmt.Fprintf(os.Stderr, "xchat-demo: %v\n", err)
		os.Exit(1)
	}
}

func run(bin string) error {
	if bin == "" {
		return fmt.Errorf("--xchat is required")
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	fmt.Fprintln(os.Stderr, "Starting a throwaway Prosody on 127.0.0.1 ...")
	// The bot's log goes to a file in the throwaway directory; nothing may
	// write to the terminal once xchat runs.
	logFile, err := os.CreateTemp("", "xchat-demo-*.log")
	if err != nil {
		return err
	}
	defer os.Remove(logFile.Name())
	defer logFile.Close()
	log := slog.New(slog.NewTextHandler(logFile, nil))
	w, err := demo.Setup(ctx, log)
	if err != nil {
		return err
	}
	defer w.Close()
	fmt.Fprintf(os.Stderr, "Logged in as %s; %s answers with an echo. Quit xchat with /quit or Ctrl+C.\n", w.Alice.JID, w.Bob.JID)
	cmd := exec.CommandContext(ctx, bin, "--config", w.Config)
	cmd.Env = w.Env
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err = cmd.Run()
	fmt.Fprintf(os.Stderr, "Demo over; the server and its data in %s are removed.\n", filepath.Dir(w.Home))
	return err
}
