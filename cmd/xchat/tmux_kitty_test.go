package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"xchat/internal/demo"
	"xchat/internal/testserver"
	"xchat/internal/tmuxtest"
	"xchat/media"
)

// placeholderRows counts the screen rows holding n or more kitty
// placeholder cells.
func placeholderRows(screen string, n int) int {
	rows := 0
	for _, l := range strings.Split(screen, "\n") {
		if strings.Count(l, string(media.KittyPlaceholderRune)) >= n {
			rows++
		}
	}
	return rows
}

// With image_protocol = "kitty" configured inside tmux, the thumbnail is
// placeholder text: tmux keeps the cells (character, row and column marks,
// the id's colour) like any text, so the image follows the pane.
func TestTUIKittyPlaceholdersInTmux(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t, testserver.Options{})
	users := srv.Users(t, 2)
	alice, bob := users[0], users[1]
	befriend(t, srv, alice, bob, "")
	ha := newHome(t, srv, alice, "")
	ha.writeConfig(t, demo.AccountConfig(srv, alice)+"\n[media]\nimage_protocol = \"kitty\"\n")
	sa := startTUI(t, ha, tmuxtest.Options{}, "XCHAT_OPEN="+bob.JID)
	sa.WaitFor("the conversation with bob", func(s string) bool { return strings.Contains(s, "│ "+bob.JID+" · ") })

	photo := filepath.Join(t.TempDir(), "sunset.png")
	writePNG(t, photo, 160, 64)
	bc := startClient(t, srv, bob, "phone", false)
	bc.waitOnline()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := bc.c.SendFile(ctx, alice.JID, photo, nil); err != nil {
		t.Fatal(err)
	}
	// 160×64 pixels into 40×8 cells: 40 columns, 8 rows.
	screen := sa.WaitFor("a placeholder thumbnail", func(s string) bool { return placeholderRows(s, 40) == 8 })
	if halfBlockRows(screen, 30) != 0 {
		t.Errorf("half blocks with kitty configured:\n%s", tmuxtest.Frame(screen))
	}
	// Row r starts with the placeholder, mark r (row), mark 0 (column);
	// the id's low byte is the 256-colour foreground.
	esc := sa.CaptureEscapes()
	marks := []string{"\u0305", "\u030D", "\u030E", "\u0310", "\u0312", "\u033D", "\u033E", "\u033F"}
	for r, mark := range marks {
		if !strings.Contains(esc, string(media.KittyPlaceholderRune)+mark+"\u0305") {
			t.Errorf("row %d's first cell is missing", r)
		}
	}
	if !strings.Contains(esc, "\x1b[38;5;") {
		t.Errorf("no 256-colour id on the cells:\n%q", esc)
	}
	// The full view is placeholder text too; closing it brings the
	// thumbnail back.
	sa.SendKeys("Escape")
	sa.WaitForText("selection: j/k move")
	sa.SendText("v")
	sa.WaitFor("the full view", func(s string) bool { return strings.Contains(s, "any key closes") && placeholderRows(s, 50) >= 10 })
	sa.SendText("q")
	sa.WaitFor("the thumbnail again", func(s string) bool {
		return !strings.Contains(s, "any key closes") && placeholderRows(s, 40) == 8 && placeholderRows(s, 50) == 0
	})
}
