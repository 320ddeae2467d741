package muc

import (
	"bytes"
	"encoding/xml"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// fixture returns the stanzas of testdata/name: either one stanza, or
// stanzas wrapped in <fixture>, each as the raw bytes of the file.
func fixture(t testing.TB, name string) [][]byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	d := xml.NewDecoder(bytes.NewReader(data))
	var out [][]byte
	depth := 0
	var start int64
	for {
		off := d.InputOffset()
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			if depth == 0 && tok.Name.Local == "fixture" {
				continue
			}
			if depth == 0 {
				start = off
			}
			depth++
		case xml.EndElement:
			if depth == 0 {
				continue // </fixture>
			}
			depth--
			if depth == 0 {
				out = append(out, data[start:d.InputOffset()])
			}
		}
	}
	if len(out) == 0 {
		t.Fatalf("%s: no stanzas", name)
	}
	return out
}

// feed runs every stanza of a fixture through the room and returns all
// events; errors fail the test.
func feed(t testing.TB, r *Room, name string) []Event {
	t.Helper()
	var all []Event
	for i, raw := range fixture(t, name) {
		var evs []Event
		var err error
		if bytes.HasPrefix(raw, []byte("<presence")) {
			evs, err = r.HandlePresence(raw)
		} else {
			evs, err = r.HandleMessage(raw)
		}
		if err != nil {
			t.Fatalf("%s stanza %d: %v", name, i, err)
		}
		all = append(all, evs...)
	}
	return all
}
