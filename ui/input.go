package ui

import (
	"strings"

	"charm.land/bubbles/v2/textarea"
	tea "charm.land/bubbletea/v2"
)

const (
	inputMaxRows  = 5     // the input grows up to this many rows, then scrolls
	inputMaxChars = 10000 // well under the stanza size servers accept
)

// inputLine is the text entry at the bottom. It wraps a bubbles textarea
// that grows with its content, uses the terminal's own cursor (no blink
// timer), and leaves Enter to the model: Enter sends, Shift+Enter, Alt+Enter
// or Ctrl+J insert a newline.
type inputLine struct {
	ta textarea.Model

	// The textarea redraws itself from scratch on every View; the input
	// keeps its last drawing until something changes it.
	view   string
	cursor *tea.Cursor
	drawn  bool
}

func newInput(st *styles) inputLine {
	ta := textarea.New()
	ta.ShowLineNumbers = false
	ta.SetPromptFunc(2, func(pi textarea.PromptInfo) string {
		if pi.LineNumber == 0 {
			return "> "
		}
		return "  "
	})
	ta.Placeholder = "message, or /help"
	ta.CharLimit = inputMaxChars
	ta.DynamicHeight = true
	ta.MinHeight = 1
	ta.MaxHeight = inputMaxRows
	ta.MaxContentHeight = 1000
	ta.EndOfBufferCharacter = ' '
	ta.KeyMap.InsertNewline.SetKeys("shift+enter", "alt+enter", "ctrl+j")
	// Page keys scroll the conversation, not the input.
	ta.KeyMap.PageUp.SetEnabled(false)
	ta.KeyMap.PageDown.SetEnabled(false)

	ta.SetStyles(st.textarea())
	ta.SetVirtualCursor(false)
	ta.SetHeight(1)
	ta.Focus()
	return inputLine{ta: ta}
}

// SetWidth sets the width in cells, prompt included.
func (in *inputLine) SetWidth(w int) {
	in.ta.SetWidth(max(w, 3))
	in.drawn = false
}

// Height is the number of rows the input takes now.
func (in *inputLine) Height() int { return in.ta.Height() }

// Value returns the text typed so far.
func (in *inputLine) Value() string { return in.ta.Value() }

// SetValue replaces the text and puts the cursor at its end.
func (in *inputLine) SetValue(s string) {
	in.ta.SetValue(s)
	in.drawn = false
}

// Reset empties the input.
func (in *inputLine) Reset() {
	in.ta.Reset()
	in.ta.SetHeight(1)
	in.drawn = false
}

// Focus gives the input the keyboard; Blur takes it away.
func (in *inputLine) Focus() {
	in.ta.Focus()
	in.drawn = false
}

func (in *inputLine) Blur() {
	in.ta.Blur()
	in.drawn = false
}

// Handle passes a key or paste to the textarea.
func (in *inputLine) Handle(msg tea.Msg) tea.Cmd {
	var cmd tea.Cmd
	in.ta, cmd = in.ta.Update(msg)
	in.drawn = false
	return cmd
}

func (in *inputLine) draw() {
	if !in.drawn {
		in.view = strings.TrimRight(in.ta.View(), "\n")
		in.cursor = in.ta.Cursor()
		in.drawn = true
	}
}

// Render returns the rows of the input.
func (in *inputLine) Render() string {
	in.draw()
	return in.view
}

// Cursor returns the real cursor relative to the input's top-left corner,
// nil when the input does not have focus. The caller may change the copy.
func (in *inputLine) Cursor() *tea.Cursor {
	in.draw()
	if in.cursor == nil {
		return nil
	}
	c := *in.cursor
	return &c
}

// HasTextAfterCursor reports whether the cursor's line goes on after it.
func (in *inputLine) HasTextAfterCursor() bool {
	lines := strings.Split(in.ta.Value(), "\n")
	row := in.ta.Line()
	return row < len(lines) && in.ta.Column() < len([]rune(lines[row]))
}

// SetStyles restyles the input.
func (in *inputLine) SetStyles(st *styles) {
	in.ta.SetStyles(st.textarea())
	in.drawn = false
}
