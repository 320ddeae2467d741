package omemopeer_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"go.mau.fi/libsignal/protocol"
	"go.mau.fi/libsignal/serialize"

	"xchat/internal/testserver"
	"xchat/omemo"
	"xchat/session"
	"xchat/store"
)

// retryScene is xchat (x, which tolerates undecryptable messages) and a
// Go peer (r) that has learnt x's published device: r's next messages to
// rcpt start a session.
func retryScene(t *testing.T) (x *xclient, r *goClient, rcpt []omemo.Address) {
	t.Helper()
	srv := testserver.Start(t, testserver.Options{NoUpload: true})
	users := srv.Users(t, 2)
	x = startClient(t, srv, users[0])
	x.tolerateUndecryptable = true
	r = newGoClient(t, srv, users[1])
	r.announce()
	var ids []uint32
	for deadline := time.Now().Add(stepTimeout); len(ids) == 0; time.Sleep(100 * time.Millisecond) {
		ids, _ = omemo.FindDeviceList(r.iq(omemo.FetchDeviceListIQ(r.id(), x.jid)))
		if time.Now().After(deadline) {
			t.Fatal("xchat published no device list")
		}
	}
	r.learn(x.jid)
	rcpt, err := r.m.Recipients(context.Background(), x.jid)
	if err != nil || len(rcpt) != 1 {
		t.Fatalf("recipients %v %v", rcpt, err)
	}
	return x, r, rcpt
}

// unwrapPreKey strips the PreKeySignalMessage wrapper from enc's first key:
// only the session an earlier message starts can then decrypt it.
func unwrapPreKey(t *testing.T, enc *omemo.Encrypted) {
	t.Helper()
	ser := serialize.NewProtoBufSerializer()
	pk, err := protocol.NewPreKeySignalMessageFromBytes(enc.Keys[0].Data, ser.PreKeySignalMessage, ser.SignalMessage)
	if err != nil {
		t.Fatal(err)
	}
	enc.Keys[0].Data, enc.Keys[0].PreKey = pk.WhisperMessage().Serialize(), false
}

// TestUndecryptableRetried: a SignalMessage that overtakes the
// PreKeySignalMessage starting its session cannot be decrypted when it
// arrives; xchat keeps it with the reason, and once the session exists it
// decrypts it and replaces the text in place.
func TestUndecryptableRetried(t *testing.T) {
	x, r, rcpt := retryScene(t)
	ctx := context.Background()
	first, errs := r.m.Encrypt(ctx, "first, starts the session", rcpt)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	second, errs := r.m.Encrypt(ctx, "second, overtook the first", rcpt)
	if len(errs) > 0 || !second.Keys[0].PreKey {
		t.Fatal(errs)
	}
	// The second without its PreKeySignalMessage wrapper: only the session
	// the first one builds can decrypt it.
	unwrapPreKey(t, second)

	r.sendEncrypted(x.jid, second)
	failed := x.waitFor("undecryptable message", func(ev session.Event) bool {
		e, ok := ev.(session.MessageEvent)
		return ok && e.Message.Peer == r.jid
	}).(session.MessageEvent).Message
	if failed.Body != "" || !strings.Contains(failed.Error, "could not decrypt") {
		t.Fatalf("overtaking message stored as %q, error %q", failed.Body, failed.Error)
	}

	r.sendEncrypted(x.jid, first)
	x.expectEncrypted(r.jid, "first, starts the session")
	x.waitFor("retried message", func(ev session.Event) bool {
		e, ok := ev.(session.MessageUpdatedEvent)
		return ok && e.ID == failed.ID && e.What == "decrypted"
	})
	got, err := x.st.Message(ctx, failed.ID)
	if err != nil || got.Body != "second, overtook the first" || got.Error != "" || got.SenderDevice != r.m.DeviceID() {
		t.Fatalf("after the retry: %+v, %v", got, err)
	}
	msgs, _ := x.st.Latest(ctx, x.jid, r.jid, 10)
	var bodies []string
	for _, m := range msgs {
		bodies = append(bodies, m.Body)
	}
	if len(msgs) != 2 || !slices.Contains(bodies, "second, overtook the first") || msgs[0].Direction != store.Incoming {
		t.Fatalf("history %q", bodies)
	}
}

// TestUndecryptableCorrectionRetried: a correction that overtakes the
// message starting the session cannot be decrypted when it arrives; once it
// can, it is applied to the message it corrects (not shown as a message of
// its own), and its placeholder goes away.
func TestUndecryptableCorrectionRetried(t *testing.T) {
	x, r, rcpt := retryScene(t)
	ctx := context.Background()
	first, errs := r.m.Encrypt(ctx, "meet at nine", rcpt)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	fix, errs := r.m.Encrypt(ctx, "meet at ten", rcpt)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	unwrapPreKey(t, fix)

	firstID := r.id()
	r.sendEncryptedWith(x.jid, r.id(), fix, `<replace xmlns='urn:xmpp:message-correct:0' id='`+firstID+`'/>`)
	placeholder := x.waitFor("undecryptable correction", func(ev session.Event) bool {
		e, ok := ev.(session.MessageEvent)
		return ok && e.Message.Peer == r.jid
	}).(session.MessageEvent).Message
	if placeholder.Error == "" {
		t.Fatalf("the overtaking correction was stored as %+v", placeholder)
	}
	r.sendEncryptedWith(x.jid, firstID, first, "")
	x.waitFor("placeholder removed", func(ev session.Event) bool {
		e, ok := ev.(session.MessageUpdatedEvent)
		return ok && e.ID == placeholder.ID && e.What == "removed"
	})
	msgs, err := x.st.Latest(ctx, x.jid, r.jid, 10)
	if err != nil || len(msgs) != 1 || msgs[0].Body != "meet at ten" || !msgs[0].Edited || msgs[0].Error != "" {
		t.Fatalf("history after the retry: %+v %v", msgs, err)
	}
}
