package ui

import (
	"context"
	"os/exec"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"

	"xchat/internal/sanitize"
	"xchat/store"
)

// Notifications of incoming messages: the terminal bell and a desktop
// notification through notify-send, each switched on in Options. There is
// none for the conversation on screen while the terminal has focus (the
// terminal reports focus changes, tea.FocusMsg and tea.BlurMsg), and at
// most one per notifyGap so that a burst (or a history catch-up) does not
// ring a hundred times. The window title counts the unread messages
// whatever the settings (windowTitle).

// notifyGap is the least time between two notifications.
const notifyGap = 2 * time.Second

// notifyTimeout bounds notify-send.
const notifyTimeout = 10 * time.Second

// notifyBodyMax bounds the text shown in a desktop notification.
const notifyBodyMax = 200

// notifyDoneMsg reports a failed desktop notification.
type notifyDoneMsg struct{ err error }

// notifyCmd returns the notifications for an incoming message, nil when
// none is due.
func (m *Model) notifyCmd(i int, msg store.Message) tea.Cmd {
	if msg.Direction != store.Incoming || (!m.bell && len(m.notifier) == 0) {
		return nil
	}
	if m.termFocused && m.chat.IsOpen(i, msg.Peer) {
		return nil
	}
	if m.accts[i].convs[msg.Peer].Muted {
		return nil // /mute
	}
	now := m.now()
	if !m.lastNotify.IsZero() && now.Sub(m.lastNotify) < notifyGap {
		return nil
	}
	m.lastNotify = now
	var cmds []tea.Cmd
	if m.bell {
		cmds = append(cmds, tea.Raw("\a"))
	}
	if len(m.notifier) > 0 {
		a := m.accts[i]
		title := "xchat: " + a.labelOf(msg.Peer)
		if msg.Kind != store.KindChat {
			title += " — " + sanitize.Line(msg.Sender)
		}
		body := sanitize.Line(msg.Body)
		if msg.Encryption != "" && body == "" {
			body = "encrypted message"
		}
		if r := []rune(body); len(r) > notifyBodyMax {
			body = string(r[:notifyBodyMax]) + "…"
		}
		cmds = append(cmds, m.desktopNotifyCmd(markupEscape(title), markupEscape(body)))
	}
	return tea.Batch(cmds...)
}

// markupEscape escapes the characters notification daemons read as markup.
func markupEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// desktopNotifyCmd runs the notifier with the title and the body as its
// last arguments, without a terminal.
func (m *Model) desktopNotifyCmd(title, body string) tea.Cmd {
	argv := append(append([]string(nil), m.notifier...), "--", title, body)
	base := m.ctx
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(base, notifyTimeout)
		defer cancel()
		if err := exec.CommandContext(ctx, argv[0], argv[1:]...).Run(); err != nil {
			return notifyDoneMsg{err}
		}
		return nil
	}
}

// notifierFor returns the command line of the desktop notifier: the
// configured one, else notify-send when it is installed.
func notifierFor(opts Options) []string {
	if !opts.DesktopNotify {
		return nil
	}
	if len(opts.NotifyCommand) > 0 {
		return opts.NotifyCommand
	}
	if path, err := exec.LookPath("notify-send"); err == nil {
		return []string{path, "--app-name=xchat"}
	}
	return nil
}

// cmdMute turns the current conversation's notifications off (or on).
func (m *Model) cmdMute(muted bool) tea.Cmd {
	w := m.currentWindow()
	if w < 0 {
		m.status.Error("no window is open")
		return nil
	}
	win := m.wins.wins[w]
	a := m.accts[win.acct]
	c := a.convs[win.peer]
	c.Muted = muted
	a.convs[win.peer] = c
	if muted {
		m.status.Info("no notifications from " + a.labelOf(win.peer) + " (/unmute to undo)")
	} else {
		m.status.Info("notifications from " + a.labelOf(win.peer) + " are on")
	}
	base, st, acct, peer, kind, log := m.ctx, m.store, a.jid, win.peer, c.Kind, m.log
	if st == nil {
		return nil
	}
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(base, opTimeout)
		defer cancel()
		if err := st.SetMuted(ctx, acct, peer, kind, muted); err != nil && log != nil {
			log.Error("store: mute", "err", err)
		}
		return nil
	}
}
