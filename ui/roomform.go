package ui

import (
	"context"
	"strings"

	tea "charm.land/bubbletea/v2"

	"xchat/internal/sanitize"
	"xchat/muc"
)

// configForm is the /config overlay: the room's configuration form as a
// list of fields. Enter toggles a boolean, cycles a list through its
// options, or edits a text value in place (Enter keeps it, Esc drops it);
// Ctrl+S submits the form, Esc closes it unchanged.
type configForm struct {
	open    bool
	acct    int
	room    string
	title   string // sanitized
	form    *muc.Form
	fields  []int // indexes of the shown fields (not hidden)
	cursor  int   // index into fields
	top     int
	editing bool
	buf     []rune // the value being edited
}

// configFormMsg carries a room's configuration form.
type configFormMsg struct {
	acct int
	room string
	form *muc.Form
	err  error
}

func (m *Model) cmdConfig(string) tea.Cmd {
	i, r, ok := m.curRoom("config")
	if !ok {
		return nil
	}
	room := r.jid
	base := m.ctx
	client := m.accts[i].client
	m.status.Info("asking " + r.label() + " for its configuration…")
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(base, opTimeout)
		defer cancel()
		f, err := client.RoomConfigForm(ctx, room)
		return configFormMsg{acct: i, room: room, form: f, err: err}
	}
}

func (m *Model) onConfigForm(msg configFormMsg) {
	if msg.err != nil || msg.form == nil {
		text := "the room sent no form"
		if msg.err != nil {
			text = sanitize.Line(msg.err.Error())
		}
		m.status.Error("could not read the configuration: " + text)
		return
	}
	f := configForm{open: true, acct: msg.acct, room: msg.room, form: msg.form, title: sanitize.Line(msg.room)}
	for k, fl := range msg.form.Fields {
		if fl.Type != "hidden" {
			f.fields = append(f.fields, k)
		}
	}
	m.form = f
	m.help.open = false
	m.status.Info("Enter changes a field · Ctrl+S saves · Esc closes without saving")
}

// field returns the field under the cursor.
func (f *configForm) field() *muc.Field {
	if f.cursor < 0 || f.cursor >= len(f.fields) {
		return nil
	}
	return &f.form.Fields[f.fields[f.cursor]]
}

// Move moves the cursor.
func (f *configForm) Move(d int) {
	f.cursor = max(0, min(len(f.fields)-1, f.cursor+d))
}

// Activate changes the field under the cursor, or starts editing it.
func (f *configForm) Activate() {
	fl := f.field()
	if fl == nil {
		return
	}
	switch fl.Type {
	case "fixed":
	case "boolean":
		v := "1"
		if fl.Bool() {
			v = "0"
		}
		fl.Values = []string{v}
	case "list-single":
		if len(fl.Options) == 0 {
			break
		}
		next := 0
		for k, o := range fl.Options {
			if o.Value == fl.Value() {
				next = (k + 1) % len(fl.Options)
			}
		}
		fl.Values = []string{fl.Options[next].Value}
	default:
		f.editing = true
		f.buf = []rune(strings.Join(fl.Values, "\n"))
	}
}

// editKey handles a key while a value is edited.
func (f *configForm) editKey(k tea.KeyPressMsg) {
	switch k.String() {
	case "enter":
		fl := f.field()
		var vals []string
		if s := string(f.buf); s != "" {
			vals = strings.Split(s, "\n")
		}
		if fl.Type != "text-multi" && fl.Type != "jid-multi" && fl.Type != "list-multi" && len(vals) > 1 {
			vals = vals[:1]
		}
		fl.Values = vals
		f.editing = false
	case "esc":
		f.editing = false
	case "backspace":
		if len(f.buf) > 0 {
			f.buf = f.buf[:len(f.buf)-1]
		}
	case "ctrl+u":
		f.buf = f.buf[:0]
	default:
		if k.Text != "" {
			f.buf = append(f.buf, []rune(k.Text)...)
		}
	}
}

// formKey is the key handler of the overlay (a modal scope).
func (m *Model) formKey(k tea.KeyPressMsg) tea.Cmd {
	f := &m.form
	if f.editing {
		f.editKey(k)
		return nil
	}
	switch k.String() {
	case "up", "k":
		f.Move(-1)
	case "down", "j":
		f.Move(1)
	case "pgup":
		f.Move(-10)
	case "pgdown":
		f.Move(10)
	case "enter", "space":
		f.Activate()
	case "ctrl+s":
		return m.submitForm()
	case "esc", "q":
		m.form = configForm{}
		m.status.Info("configuration unchanged")
	}
	return nil
}

// submitForm sends the edited form.
func (m *Model) submitForm() tea.Cmd {
	f := m.form
	m.form = configForm{}
	for _, k := range f.fields {
		if fl := f.form.Fields[k]; fl.Required && len(fl.Values) == 0 {
			m.form = f
			m.status.Error(sanitize.Line(fieldLabel(&fl)) + " needs a value")
			return nil
		}
	}
	room, form := f.room, f.form
	return m.roomOp(f.acct, room, "save the configuration", "configuration saved", func(ctx context.Context, a Account) error {
		return a.SubmitRoomConfig(ctx, room, form)
	})
}

func fieldLabel(fl *muc.Field) string {
	if fl.Label != "" {
		return fl.Label
	}
	return fl.Var
}

// fieldValue is how a field's value is shown.
func fieldValue(fl *muc.Field) string {
	switch fl.Type {
	case "boolean":
		if fl.Bool() {
			return "[x]"
		}
		return "[ ]"
	case "list-single":
		for _, o := range fl.Options {
			if o.Value == fl.Value() && o.Label != "" {
				return "‹" + o.Label + "›"
			}
		}
		return "‹" + fl.Value() + "›"
	}
	return strings.Join(fl.Values, ", ")
}

// Render draws the form in h rows of w cells.
func (f *configForm) Render(st *styles, w, h int) []string {
	out := make([]string, 0, h)
	if f.cursor < f.top {
		f.top = f.cursor
	}
	if f.cursor >= f.top+h {
		f.top = f.cursor - h + 1
	}
	lw := min(32, max(10, w/2-2))
	for y := 0; y < h; y++ {
		k := f.top + y
		if k >= len(f.fields) {
			out = append(out, spaces(w))
			continue
		}
		fl := &f.form.Fields[f.fields[k]]
		label := sanitize.Line(fieldLabel(fl))
		if fl.Required {
			label += " *"
		}
		value := sanitize.Line(fieldValue(fl))
		if k == f.cursor && f.editing {
			value = sanitize.Line(strings.ReplaceAll(string(f.buf), "\n", "⏎")) + "▏"
		}
		label = truncate(label, lw)
		line := " " + label + spaces(lw-lenCells(label)) + " " + truncate(value, max(1, w-lw-2))
		line = fit(line, w)
		if k == f.cursor {
			line = st.selected.Render(line)
		}
		out = append(out, line)
	}
	return out
}
