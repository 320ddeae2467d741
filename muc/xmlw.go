package muc

import (
	"bytes"
	"encoding/xml"
	"strings"
)

// xw is a tiny XML writer for the builders: every attribute and text value
// goes through escaping, so user input cannot inject markup.
type xw struct{ b bytes.Buffer }

func (w *xw) esc(s string) {
	_ = xml.EscapeText(&w.b, []byte(s)) // bytes.Buffer never fails
}

// open writes <name a1='v1' ...> (attrs as name/value pairs; empty values
// are skipped); selfClose makes it <name .../>.
func (w *xw) open(name string, selfClose bool, attrs ...string) {
	w.b.WriteByte('<')
	w.b.WriteString(name)
	for i := 0; i+1 < len(attrs); i += 2 {
		if attrs[i+1] == "" {
			continue
		}
		w.b.WriteByte(' ')
		w.b.WriteString(attrs[i])
		w.b.WriteString(`="`)
		w.esc(attrs[i+1])
		w.b.WriteByte('"')
	}
	if selfClose {
		w.b.WriteString("/>")
	} else {
		w.b.WriteByte('>')
	}
}

func (w *xw) close(name string) {
	w.b.WriteString("</")
	w.b.WriteString(name)
	w.b.WriteByte('>')
}

// elem writes <name attrs>text</name>.
func (w *xw) elem(name, text string, attrs ...string) {
	w.open(name, false, attrs...)
	w.esc(text)
	w.close(name)
}

// optElem writes elem only for a non-empty text.
func (w *xw) optElem(name, text string) {
	if text != "" {
		w.elem(name, text)
	}
}

func (w *xw) raw(b []byte) { w.b.Write(b) }

func (w *xw) bytes() []byte { return w.b.Bytes() }

// occupantJID joins a room JID and a nick.
func occupantJID(room, nick string) string {
	return bareJID(room) + "/" + nick
}

func boolStr(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

func parseBool(s string) bool {
	switch strings.TrimSpace(s) {
	case "1", "true":
		return true
	}
	return false
}
