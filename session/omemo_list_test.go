package session

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"xchat/omemo"
)

// Device lists that cannot be read are not empty lists: our own published
// list is left alone (and retried), a contact's devices stay.

const serverErrorXML = `<error type='wait'><internal-server-error xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>`

// listReply answers a device list fetch: an error, a list, or the empty node.
func listReply(id, mode string, ids []uint32) string {
	switch mode {
	case "error":
		return fmt.Sprintf(`<iq type='error' id='%s'>%s</iq>`, id, serverErrorXML)
	case "malformed":
		return fmt.Sprintf(`<iq type='result' id='%s'><pubsub xmlns='http://jabber.org/protocol/pubsub'><items node='%s'><item id='current'><list xmlns='%s'><device id='not-a-number'/></list></item></items></pubsub></iq>`, id, omemo.NodeDeviceList, omemo.NS)
	case "notfound":
		return fmt.Sprintf(`<iq type='error' id='%s'><error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>`, id)
	}
	return fmt.Sprintf(`<iq type='result' id='%s'><pubsub xmlns='http://jabber.org/protocol/pubsub'><items node='%s'><item id='current'>%s</item></items></pubsub></iq>`,
		id, omemo.NodeDeviceList, omemo.MarshalDeviceList(ids))
}

func isListFetch(iq inIQ, raw string) bool {
	return iq.Type == "get" && strings.Contains(raw, "items") && strings.Contains(raw, omemo.NodeDeviceList)
}

// publishedLists returns the device lists the client published.
func (fs *fakeServer) publishedLists() [][]uint32 {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	var out [][]uint32
	for _, r := range fs.received {
		if strings.Contains(r, "publish") && strings.Contains(r, omemo.NodeDeviceList) {
			ids, _ := omemo.FindDeviceList([]byte(r))
			out = append(out, ids)
		}
	}
	return out
}

func TestOMEMOOwnListUnreadableIsNotEmpty(t *testing.T) {
	for _, mode := range []string{"error", "malformed", "disconnect"} {
		t.Run(mode, func(t *testing.T) {
			old := ownListRetry
			ownListRetry = 300 * time.Millisecond
			t.Cleanup(func() { ownListRetry = old })
			c, fs, _ := pipeClient(t, Config{OMEMO: true, PingInterval: 200 * time.Millisecond})
			var mu sync.Mutex
			fetches, failing := 0, true
			others := []uint32{111, 222} // the account's other devices
			fs.answer = func(iq inIQ, raw string) string {
				if !isListFetch(iq, raw) {
					return ""
				}
				mu.Lock()
				defer mu.Unlock()
				fetches++
				if failing && mode == "disconnect" {
					// The stream breaks before the answer: the next login
					// reads the list again.
					failing = false
					return "</stream:stream>"
				}
				if failing {
					return listReply(iq.ID, mode, nil)
				}
				return listReply(iq.ID, "list", others)
			}
			runPipe(t, c)
			waitCond(t, "the own list fetch", func() bool { mu.Lock(); defer mu.Unlock(); return fetches > 0 })
			if mode == "disconnect" {
				// Read again after the next login: whatever is published
				// holds the other devices.
				var got [][]uint32
				waitCond(t, "the list published after the new login", func() bool { got = fs.publishedLists(); return len(got) > 0 })
				for _, l := range got {
					if !slices.Contains(l, 111) || !slices.Contains(l, 222) {
						t.Fatalf("published %v: the other devices are gone", l)
					}
				}
				return
			}
			time.Sleep(200 * time.Millisecond)
			if got := fs.publishedLists(); len(got) != 0 {
				t.Fatalf("published %v after our own list could not be read: the other devices would be gone", got)
			}
			if fs.sent(omemo.BundleNode(c.om.m.DeviceID())) {
				t.Errorf("bundle published before the device id could be checked against the list")
			}
			// /omemo remove must not publish from a list it could not read.
			if err := c.OMEMORemoveDevices(context.Background(), []uint32{222}); err == nil {
				t.Errorf("device removal worked without a readable list")
			}
			// The server recovers: the retry publishes the full list.
			mu.Lock()
			failing = false
			mu.Unlock()
			var got [][]uint32
			waitCond(t, "the list published after the retry", func() bool { got = fs.publishedLists(); return len(got) > 0 })
			want := append(slices.Clone(others), c.om.m.DeviceID())
			if !slices.Equal(got[0], want) {
				t.Fatalf("published %v, want %v", got[0], want)
			}
		})
	}
}

func TestOMEMOOwnListAbsentIsEmpty(t *testing.T) {
	c, fs, _ := pipeClient(t, Config{OMEMO: true})
	fs.answer = func(iq inIQ, raw string) string {
		if isListFetch(iq, raw) {
			return listReply(iq.ID, "notfound", nil)
		}
		return ""
	}
	runPipe(t, c)
	var got [][]uint32
	waitCond(t, "our first list", func() bool { got = fs.publishedLists(); return len(got) > 0 })
	if !slices.Equal(got[0], []uint32{c.om.m.DeviceID()}) {
		t.Fatalf("published %v, want only this device", got[0])
	}
}

func TestOMEMOContactListUnreadableKeepsDevices(t *testing.T) {
	c, fs, _ := pipeClient(t, Config{OMEMO: true})
	const bob = "bob@example.net"
	var mu sync.Mutex
	failing := false
	fs.answer = func(iq inIQ, raw string) string {
		if !isListFetch(iq, raw) || iq.To != bob {
			return ""
		}
		mu.Lock()
		defer mu.Unlock()
		if failing {
			return listReply(iq.ID, "error", nil)
		}
		return listReply(iq.ID, "list", []uint32{5, 6})
	}
	runPipe(t, c)
	ctx := context.Background()
	fetch := func() []uint32 {
		t.Helper()
		ch := make(chan []uint32, 1)
		if err := c.do(ctx, func() error {
			c.fetchDeviceList(ctx, bob, func(ids []uint32) { ch <- ids })
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		select {
		case ids := <-ch:
			return ids
		case <-time.After(5 * time.Second):
			t.Fatal("no answer to the list fetch")
			return nil
		}
	}
	active := func() []uint32 {
		t.Helper()
		devs, err := c.OMEMODevices(ctx, bob)
		if err != nil {
			t.Fatal(err)
		}
		var out []uint32
		for _, d := range devs {
			if d.Active {
				out = append(out, d.Device)
			}
		}
		return out
	}
	if ids := fetch(); !slices.Equal(ids, []uint32{5, 6}) {
		t.Fatalf("first fetch = %v", ids)
	}
	mu.Lock()
	failing = true
	mu.Unlock()
	// Known this run, and (memory cleared, as after a restart) from the store.
	for _, forget := range []bool{false, true} {
		if forget {
			_ = c.do(ctx, func() error { delete(c.om.lists, bob); return nil })
		}
		if ids := fetch(); !slices.Equal(ids, []uint32{5, 6}) {
			t.Errorf("forget=%v: a failed fetch gave %v, want the known [5 6]", forget, ids)
		}
		if got := active(); !slices.Equal(got, []uint32{5, 6}) {
			t.Errorf("forget=%v: active devices after a failed fetch = %v, want [5 6]", forget, got)
		}
		var on bool
		_ = c.do(ctx, func() error { on, _ = c.wantEncryption(ctx, bob); return nil })
		if !on {
			t.Errorf("forget=%v: a failed fetch turned encryption off", forget)
		}
	}
	// "The node does not exist" is the contact's word: their list is empty.
	fs.mu.Lock()
	fs.answer = func(iq inIQ, raw string) string {
		if isListFetch(iq, raw) && iq.To == bob {
			return listReply(iq.ID, "notfound", nil)
		}
		return ""
	}
	fs.mu.Unlock()
	if ids := fetch(); len(ids) != 0 || len(active()) != 0 {
		t.Errorf("item-not-found: ids %v, active %v, want none", ids, active())
	}
}

func waitCond(t *testing.T, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Before this run has read a contact's list (just started, offline), the
// devices stored by an earlier run decide: the header says encrypted.
func TestOMEMOStoredDevicesCountBeforeTheList(t *testing.T) {
	c, fs, _ := pipeClient(t, Config{OMEMO: true})
	const bob = "bob@example.net"
	runPipe(t, c)
	fs.inject(fmt.Sprintf(`<message from='%s' type='headline'><event xmlns='http://jabber.org/protocol/pubsub#event'><items node='%s'><item id='current'>%s</item></items></event></message>`,
		bob, omemo.NodeDeviceList, omemo.MarshalDeviceList([]uint32{5, 6})))
	ctx := context.Background()
	waitCond(t, "bob's pushed list", func() bool {
		devs, _ := c.OMEMODevices(ctx, bob)
		return len(devs) == 2
	})
	var on bool
	_ = c.do(ctx, func() error {
		delete(c.om.lists, bob) // as after a restart
		on, _ = c.wantEncryption(ctx, bob)
		return nil
	})
	if !on {
		t.Error("bob's stored devices did not count before his list was read again")
	}
}
