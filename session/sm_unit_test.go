package session

import (
	"fmt"
	"strings"
	"testing"
)

func TestWireCounter(t *testing.T) {
	w := newWireCounter("enable")
	write := func(s string) {
		// Split writes at every possible point to check the state machine
		// does not depend on write boundaries.
		for i := range s {
			_, _ = w.Write([]byte(s[i : i+1]))
		}
	}
	write(`<?xml version="1.0"?><stream:stream xmlns='jabber:client'>`)
	write(`<iq type='set' id='bind'><bind xmlns='b'><resource>x</resource></bind></iq>`)
	if w.Count() != 0 {
		t.Fatalf("counted %d before <enable/>", w.Count())
	}
	write(`<enable xmlns="urn:xmpp:sm:3" resume="true"></enable>`)
	write(`<message xmlns="jabber:client" id="m1" to="b@x"><body>a &lt;b&gt; c</body></message>`)
	write(`<presence/><iq type="get" id="p"><ping xmlns="urn:xmpp:ping"/></iq>`)
	write(`<r xmlns="urn:xmpp:sm:3"/>`)
	write(`<message id='m2' type='chat'><body>x</body></message>`)
	if got := w.Count(); got != 4 {
		t.Fatalf("count = %d, want 4 (message, presence, iq, message; nonzas excluded)", got)
	}
	if seq, ok := w.seqOf("m1"); !ok || seq != 1 {
		t.Errorf("seqOf(m1) = %d, %v; want 1", seq, ok)
	}
	if seq, ok := w.seqOf("m2"); !ok || seq != 4 {
		t.Errorf("seqOf(m2) = %d, %v; want 4", seq, ok)
	}
	if r, ok := w.popR(); !ok || r != 3 {
		t.Errorf("count at <r/> = %d, %v; want 3", r, ok)
	}
	// A stream restart resets the depth.
	write(`<stream:stream xmlns='jabber:client'><message id="m3"><body/></message>`)
	if got := w.Count(); got != 5 {
		t.Fatalf("count after restart = %d, want 5", got)
	}
}

func TestWireCounterResume(t *testing.T) {
	w := newWireCounter("enabled")
	w.armResume(41)
	// <resumed/> and the next stanzas arrive in one read.
	_, _ = w.Write([]byte(`<stream:stream><resumed h='7' xmlns='urn:xmpp:sm:3'/><message from='a'><body>q</body></message><r xmlns='urn:xmpp:sm:3'/>`))
	if r, ok := w.popR(); !ok || r != 42 {
		t.Fatalf("count at <r/> after resume = %d, %v; want 42", r, ok)
	}
}

func TestAttrIn(t *testing.T) {
	for _, c := range []struct{ tag, want string }{
		{`message xmlns="jabber:client" id="abc" to="x"`, "abc"},
		{`message id='q' type='chat'`, "q"},
		{`message xml:id="no" sid="no"`, ""},
		{`message to="x"`, ""},
		{`message id=`, ""},
	} {
		if got := attrIn([]byte(c.tag), "id"); got != c.want {
			t.Errorf("attrIn(%q) = %q, want %q", c.tag, got, c.want)
		}
	}
}

func BenchmarkWireCounter(b *testing.B) {
	w := newWireCounter("enable")
	_, _ = w.Write([]byte(`<stream:stream><enable/>`))
	msg := []byte(fmt.Sprintf(`<message xmlns="jabber:client" id="01a20fbc8eebf5bd" to="bob@localhost" type="chat"><body>%s</body></message>`, strings.Repeat("hello ", 20)))
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		_, _ = w.Write(msg)
	}
}
