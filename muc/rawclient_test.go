package muc

import (
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"xchat/internal/testserver"
	"xchat/internal/xmpptest"
)

// rawClient is the shared bare test client with the room helpers below.
type rawClient struct{ *xmpptest.Client }

func dialRaw(t *testing.T, srv *testserver.Server, u testserver.User) *rawClient {
	t.Helper()
	return &rawClient{xmpptest.Dial(t, srv, u)}
}

// IQOK sends an IQ and fails the test on an error answer.
func (c *rawClient) IQOK(t *testing.T, raw []byte) []byte {
	t.Helper()
	resp := c.IQ(t, raw)
	if cond, text, err := IQError(resp); err != nil || cond != "" {
		t.Fatalf("IQ %s\nanswered %s %s %v", raw, cond, text, err)
	}
	return resp
}

// until feeds the room every queued stanza from it and returns the events
// up to and including the first one match accepts.
func (c *rawClient) until(t *testing.T, r *Room, match func(Event) bool) []Event {
	t.Helper()
	var seen []Event
	deadline := time.After(10 * time.Second)
	for {
		select {
		case raw := <-c.Stanzas:
			var from struct {
				From string `xml:"from,attr"`
			}
			if xml.Unmarshal(raw, &from) != nil || !sameBare(bareJID(from.From), r.JID()) {
				continue
			}
			c.dump(t, r, raw)
			var evs []Event
			var err error
			if strings.HasPrefix(string(raw), "<presence") {
				evs, err = r.HandlePresence(raw)
			} else {
				evs, err = r.HandleMessage(raw)
			}
			if err != nil {
				t.Fatalf("%s: %v", raw, err)
			}
			for _, ev := range evs {
				seen = append(seen, ev)
				if match(ev) {
					return seen
				}
			}
		case <-deadline:
			t.Fatalf("room %s: timed out; events so far: %#v", r.JID(), seen)
		}
	}
}

// dump appends raw to $XCHAT_MUC_DUMP_DIR/<user>-<room>.xml when that
// variable is set: this is how the prosody_*.xml fixtures were captured.
func (c *rawClient) dump(t *testing.T, r *Room, raw []byte) {
	dir := os.Getenv("XCHAT_MUC_DUMP_DIR")
	if dir == "" {
		return
	}
	name := strings.SplitN(c.Bare, "@", 2)[0] + "-" + strings.SplitN(r.JID(), "@", 2)[0] + ".xml"
	f, err := os.OpenFile(filepath.Join(dir, name), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	_, _ = f.Write(append(raw, '\n'))
}

// waitRaw returns the next queued stanza accepted by match.
func (c *rawClient) waitRaw(t *testing.T, match func([]byte) bool) []byte {
	t.Helper()
	return c.WaitRaw(t, match)
}
