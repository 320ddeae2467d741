package xmpptest

import (
	"strings"
	"testing"

	"xchat/internal/testserver"
)

// Two raw clients: an IQ round trip and a message delivered to the queue.
func TestDialIQAndReceive(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	users := srv.Users(t, 2)
	a, b := Dial(t, srv, users[0]), Dial(t, srv, users[1])
	resp := a.IQ(t, []byte(`<iq type="get" to="`+srv.Domain+`"><ping xmlns="urn:xmpp:ping"/></iq>`))
	if !strings.Contains(string(resp), `type="result"`) {
		t.Fatalf("ping answered %s", resp)
	}
	a.Send(t, []byte(`<message type="chat" to="`+b.JID+`"><body>hi &amp; bye</body></message>`))
	got := b.WaitRaw(t, func(raw []byte) bool { return strings.Contains(string(raw), "<body") })
	if !strings.Contains(string(got), "hi &amp; bye") {
		t.Fatalf("received %s", got)
	}
}
