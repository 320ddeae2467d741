package session

import (
	"context"
	"encoding/xml"
	"errors"

	"xchat/omemo"
	"xchat/store"
)

// Messages that could not be decrypted keep their stanza (store
// omemo_retry) and are tried again when that can help: after a message
// from the same device built a new session (a SignalMessage that overtook
// the PreKeySignalMessage starting its session), and after the archive
// catch-up. A success replaces the error in place and tells the UI with a
// MessageUpdatedEvent.

// retryMaxAttempts bounds the attempts per message.
const retryMaxAttempts = 5

// untrustedState reports whether messages from a device in state s are
// shown marked.
func untrustedState(s omemo.TrustState) bool { return s != omemo.Trusted && s != omemo.Verified }

// loadRetries notes which devices have messages waiting (at login).
func (c *Client) loadRetries(ctx context.Context) {
	rs, err := c.st.OMEMORetries(ctx, c.acct, "", 0)
	if err != nil {
		c.log.Error("omemo retries", "err", err)
		return
	}
	for _, r := range rs {
		c.om.retry[omemo.Address{JID: r.JID, Device: r.Device}] = true
	}
}

// keepForRetry stores the stanza of an undecryptable message.
func (c *Client) keepForRetry(ctx context.Context, msg *store.Message, from string, enc *omemo.Encrypted, stanza []byte) {
	if msg.ID == 0 || enc.Payload == nil {
		return // a key transport carries nothing to show
	}
	r := store.OMEMORetry{MessageID: msg.ID, JID: from, Device: enc.SID, Stanza: stanza}
	if err := c.st.AddOMEMORetry(ctx, c.acct, r); err != nil {
		c.log.Error("omemo retry", "err", err)
		return
	}
	c.om.retry[omemo.Address{JID: from, Device: enc.SID}] = true
}

// retryDevice retries the waiting messages of one device, if any.
func (c *Client) retryDevice(ctx context.Context, addr omemo.Address) {
	if !c.om.retry[addr] {
		return
	}
	delete(c.om.retry, addr)
	c.retryUndecrypted(ctx, addr.JID, addr.Device)
}

// retryUndecrypted retries the waiting messages from jid's device (0: all
// of its devices; jid "": everyone's).
func (c *Client) retryUndecrypted(ctx context.Context, jid string, device uint32) {
	rs, err := c.st.OMEMORetries(ctx, c.acct, jid, device)
	if err != nil {
		c.log.Error("omemo retries", "err", err)
		return
	}
	for _, r := range rs {
		c.retryOne(ctx, r)
	}
}

func (c *Client) retryOne(ctx context.Context, r store.OMEMORetry) {
	enc, err := omemo.FindEncrypted(r.Stanza)
	if err != nil {
		_ = c.st.OMEMORetryFailed(ctx, r.MessageID, 0) // unreadable: drop it
		return
	}
	var pt omemo.Plaintext
	var dropped store.Message // the placeholder, when it was a change to another message
	release := c.holdEvents()
	err = c.st.WithTx(ctx, func(ctx context.Context) error {
		var err error
		if pt, err = c.om.m.Decrypt(ctx, r.JID, enc); err != nil {
			return err
		}
		if dropped, err = c.retryAsChange(ctx, r, pt); err != nil || dropped.ID != 0 {
			return err
		}
		return c.st.ResolveOMEMORetry(ctx, r.MessageID, pt.Body, enc.SID, untrustedState(pt.Trust))
	})
	release(err == nil)
	if err != nil {
		if !errors.Is(err, omemo.ErrDecrypt) && !errors.Is(err, omemo.ErrNoSession) {
			c.log.Info("omemo retry failed", "jid", r.JID, "device", r.Device, "err", err)
		}
		if err := c.st.OMEMORetryFailed(ctx, r.MessageID, retryMaxAttempts); err != nil {
			c.log.Error("omemo retry", "err", err)
		}
		c.om.retry[omemo.Address{JID: r.JID, Device: r.Device}] = true
		return
	}
	if pt.NewSession && r.JID != c.acct {
		c.om.kt = append(c.om.kt, pt.Sender)
	}
	if dropped.ID != 0 {
		c.emit(MessageUpdatedEvent{Account: c.acct, Peer: dropped.Peer, ID: dropped.ID, What: "removed"})
		return
	}
	if m, err := c.st.Message(ctx, r.MessageID); err == nil {
		c.emit(MessageUpdatedEvent{Account: c.acct, Peer: m.Peer, ID: m.ID, What: "decrypted"})
	}
}

// retryAsChange applies a retried 1:1 message that turns out to be a
// correction, retraction or reactions (their elements sit outside the
// encrypted payload) to the message it refers to, as on first arrival,
// and deletes its placeholder, which it returns. Nothing happens (zero
// Message) for an ordinary message.
func (c *Client) retryAsChange(ctx context.Context, r store.OMEMORetry, pt omemo.Plaintext) (store.Message, error) {
	var m inMessage
	if xml.Unmarshal(r.Stanza, &m) != nil || m.Replace == nil && m.Retract == nil && m.Reactions == nil {
		return store.Message{}, nil
	}
	placeholder, err := c.st.Message(ctx, r.MessageID)
	if err != nil || placeholder.Kind != store.KindChat {
		return store.Message{}, err
	}
	msg := placeholder
	msg.Body, msg.Error = pt.Body, ""
	if !c.applyFeatures(ctx, &m, &msg) {
		return store.Message{}, nil // it refers to nothing we hold: shown as a message
	}
	return placeholder, c.st.DropOMEMORetry(ctx, r.MessageID)
}
