package config

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"
)

// PasswordCommandTimeout bounds how long a password_command may run.
const PasswordCommandTimeout = 30 * time.Second

// ErrAskPassword is returned by GetPassword for accounts whose password
// must be typed in at start-up (AskPassword).
var ErrAskPassword = errors.New("password must be entered interactively")

// GetPassword returns the account's password: Password as is, or the first
// line of the standard output of PasswordCommand run through "sh -c". The
// command gets no standard input (tools such as pass reach gpg-agent's
// pinentry on their own), must exit with status 0 within
// PasswordCommandTimeout and must print a non-empty first line. Error
// messages include the first line of the command's standard error but never
// its standard output.
func (a Account) GetPassword(ctx context.Context) (string, error) {
	switch {
	case a.Password != "":
		return a.Password, nil
	case a.PasswordCommand == "":
		return "", fmt.Errorf("%s: %w", a.JID, ErrAskPassword)
	}

	ctx, cancel := context.WithTimeout(ctx, PasswordCommandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", "-c", a.PasswordCommand)
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	// Killing sh does not kill its children; if one keeps the output pipes
	// open, stop waiting for it shortly after the deadline.
	cmd.WaitDelay = time.Second

	err := cmd.Run()
	if ctxErr := ctx.Err(); ctxErr != nil {
		if errors.Is(ctxErr, context.DeadlineExceeded) {
			return "", fmt.Errorf("%s: password_command did not finish in time: %w", a.JID, ctxErr)
		}
		return "", fmt.Errorf("%s: password_command: %w", a.JID, ctxErr)
	}
	if err != nil {
		msg := firstLine(stderr.String())
		if msg != "" {
			return "", fmt.Errorf("%s: password_command failed (%v): %s", a.JID, err, msg)
		}
		return "", fmt.Errorf("%s: password_command failed: %w", a.JID, err)
	}
	pw := firstLine(stdout.String())
	if pw == "" {
		return "", fmt.Errorf("%s: password_command printed no password", a.JID)
	}
	return pw, nil
}

// firstLine returns s up to its first newline, without a trailing CR.
func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return strings.TrimSuffix(line, "\r")
}
