package bench

import (
	"context"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"xchat/internal/storetest"
	"xchat/session"
	"xchat/store"
	"xchat/ui"
)

// idleAccount is an account without a network: the methods the first
// frame uses answer at once; any other would panic on the nil embedded
// interface, which the benchmark would show.
type idleAccount struct {
	uiAccount // nil: methods the first frame does not use
	jid       string
}

// uiAccount names ui.Account so that it can be embedded next to our own
// Account method.
type uiAccount = ui.Account

func (a idleAccount) Account() string { return a.jid }
func (idleAccount) Encryption(context.Context, string) (session.EncryptionState, error) {
	return session.EncryptionState{}, nil
}

// drain runs a command and everything it batches, feeding results back into
// the model, as the Bubble Tea runtime would, until nothing is left.
func drain(tb testing.TB, m tea.Model, cmd tea.Cmd) tea.Model {
	queue := []tea.Cmd{cmd}
	for steps := 0; len(queue) > 0; steps++ {
		if steps > 1000 {
			tb.Fatal("commands never settle")
		}
		c := queue[0]
		queue = queue[1:]
		if c == nil {
			continue
		}
		msg := c()
		switch msg := msg.(type) {
		case nil:
		case tea.BatchMsg:
			queue = append(queue, msg...)
		default:
			var next tea.Cmd
			m, next = m.Update(msg)
			queue = append(queue, next)
		}
	}
	return m
}

// BenchmarkFirstFrame opens a database holding 1M messages in one
// conversation and draws the first frame of the interface with that
// conversation open: store open + conversation list + latest page + render.
// Goal: ≤ 100 ms.
func BenchmarkFirstFrame(b *testing.B) {
	ctx := context.Background()
	path, err := storetest.Fixture(ctx, 1_000_000)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		st, err := store.Open(ctx, path)
		if err != nil {
			b.Fatal(err)
		}
		m := tea.Model(ui.New(ui.Options{
			Accounts: []ui.Account{idleAccount{jid: storetest.FixtureAccount}},
			Store:    st,
			Open:     storetest.FixturePeer,
			Now:      time.Now,
		}))
		m, _ = m.Update(tea.WindowSizeMsg{Width: 120, Height: 40})
		m = drain(b, m, m.Init())
		view := ansi.Strip(m.View().Content)
		if !strings.Contains(view, storetest.Body(999_999)[:20]) {
			b.Fatalf("first frame does not show the newest message %q:\n%s", storetest.Body(999_999), view)
		}
		st.Close()
	}
}
