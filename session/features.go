package session

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"strings"

	"unicode/utf8"

	"mellium.im/xmpp/jid"

	"xchat/store"
)

// Message features of 1:1 chats: corrections (XEP-0308), retractions
// (XEP-0424), reactions (XEP-0444), replies (XEP-0461), chat states
// (XEP-0085) and displayed markers (XEP-0333). Each change to a stored
// message is written first, then a MessageUpdatedEvent tells the UI.
// Only the original sender may correct or retract a message.

// MessageUpdatedEvent reports that a stored message changed (corrected,
// retracted, reacted to); the UI reloads it from the store.
type MessageUpdatedEvent struct {
	Account string
	Peer    string
	ID      int64
	What    string // "corrected", "retracted", "reactions"
}

// ChatStateEvent reports a contact's typing state (XEP-0085): composing,
// paused, active, inactive or gone.
type ChatStateEvent struct {
	Account string
	JID     string // bare; the room's for a group chat
	Nick    string // in a room, the occupant's nick
	State   string
}

func (e MessageUpdatedEvent) account() string { return e.Account }
func (e ChatStateEvent) account() string      { return e.Account }

// Namespaces of the message features.
const (
	nsCorrect   = "urn:xmpp:message-correct:0"
	nsRetract   = "urn:xmpp:message-retract:1"
	nsReactions = "urn:xmpp:reactions:0"
	nsReply     = "urn:xmpp:reply:0"
	nsChatState = "http://jabber.org/protocol/chatstates"
	nsMarkers   = "urn:xmpp:chat-markers:0"
)

// applyFeatures handles the parts of an incoming (or carbon-copied) chat
// message that change other messages. It returns true when the message is
// consumed (a correction or retraction is not a new message).
func (c *Client) applyFeatures(ctx context.Context, m *inMessage, msg *store.Message) bool {
	if st := m.chatState(); st != "" && msg.Direction == store.Incoming {
		c.emit(ChatStateEvent{Account: c.acct, JID: msg.Peer, State: st})
	}
	if m.Displayed != nil && msg.Direction == store.Incoming {
		c.displayedReceived(ctx, msg.Peer, m.Displayed.ID)
	}
	if m.Displayed != nil && msg.Direction == store.Outgoing && m.Displayed.ID != "" {
		// Our other device displayed it (a sent carbon): read here too.
		if orig, err := c.st.FindRef(ctx, c.acct, msg.Peer, m.Displayed.ID); err == nil && orig.Direction == store.Incoming {
			c.readElsewhere(ctx, msg.Peer, orig)
		}
	}
	switch {
	case m.Replace != nil && m.Replace.ID != "":
		orig, err := c.st.FindRef(ctx, c.acct, msg.Peer, m.Replace.ID)
		if err != nil || orig.Sender != msg.Sender || orig.Direction != msg.Direction {
			c.log.Info("ignoring a correction of an unknown or foreign message", "from", msg.SenderFull)
			return false // keep it as a message: nothing is lost
		}
		if err := c.st.Correct(ctx, orig.ID, msg.Body); err != nil {
			c.log.Error("store: correct", "err", err)
			return true
		}
		c.emit(MessageUpdatedEvent{Account: c.acct, Peer: msg.Peer, ID: orig.ID, What: "corrected"})
		return true
	case m.Retract != nil && m.Retract.ID != "":
		orig, err := c.st.FindRef(ctx, c.acct, msg.Peer, m.Retract.ID)
		if err != nil || orig.Sender != msg.Sender || orig.Direction != msg.Direction {
			c.log.Info("ignoring a retraction of an unknown or foreign message", "from", msg.SenderFull)
			return true
		}
		if err := c.st.Retract(ctx, orig.ID); err != nil {
			c.log.Error("store: retract", "err", err)
			return true
		}
		c.emit(MessageUpdatedEvent{Account: c.acct, Peer: msg.Peer, ID: orig.ID, What: "retracted"})
		return true
	case m.Reactions != nil && m.Reactions.ID != "":
		orig, err := c.st.FindRef(ctx, c.acct, msg.Peer, m.Reactions.ID)
		if err != nil {
			return true
		}
		if err := c.st.SetReactions(ctx, orig.ID, msg.Sender, cleanReactions(m.Reactions.Reactions)); err != nil {
			c.log.Error("store: reactions", "err", err)
			return true
		}
		c.emit(MessageUpdatedEvent{Account: c.acct, Peer: msg.Peer, ID: orig.ID, What: "reactions"})
		return true
	}
	if m.Reply != nil && m.Reply.ID != "" {
		msg.ReplyTo = m.Reply.ID
		msg.Body = stripFallback(msg.Body, m.Fallbacks, nsReply)
	}
	return false
}

// cleanReactions keeps reactions short and unique (they are single emoji
// per XEP-0444, but anything can arrive).
func cleanReactions(in []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, r := range in {
		r = strings.TrimSpace(r)
		if r == "" || utf8.RuneCountInString(r) > 8 || seen[r] || len(out) == 16 {
			continue
		}
		seen[r] = true
		out = append(out, r)
	}
	return out
}

// stripFallback removes the compatibility fallback (XEP-0428) of the given
// feature from a body: the ranges are in code points.
func stripFallback(body string, fbs []fallback, ns string) string {
	runes := []rune(body)
	cut := make([]bool, len(runes))
	for _, fb := range fbs {
		if fb.For != ns {
			continue
		}
		for _, b := range fb.Bodies {
			start, end := 0, len(runes)
			if b.Start != nil {
				start = *b.Start
			}
			if b.End != nil {
				end = *b.End
			}
			if start < 0 || end > len(runes) || start > end {
				continue // a bad range: show everything rather than guess
			}
			for i := start; i < end; i++ {
				cut[i] = true
			}
		}
	}
	var b strings.Builder
	for i, r := range runes {
		if !cut[i] {
			b.WriteRune(r)
		}
	}
	return strings.TrimLeft(b.String(), "\n")
}

// displayedReceived marks our messages up to the referenced one Read.
func (c *Client) displayedReceived(ctx context.Context, peer, ref string) {
	orig, err := c.st.FindRef(ctx, c.acct, peer, ref)
	if err != nil || orig.Direction != store.Outgoing {
		return
	}
	ids, err := c.st.MarkReadUpTo(ctx, orig.ID)
	if err != nil {
		c.log.Error("store: read", "err", err)
		return
	}
	for _, id := range ids {
		c.emit(MessageStateEvent{Account: c.acct, Peer: peer, ID: id, State: store.StateRead})
	}
}

// ownMessage returns our stored message id in a 1:1 conversation.
func (c *Client) ownMessage(ctx context.Context, id int64) (store.Message, error) {
	m, err := c.st.Message(ctx, id)
	if err != nil {
		return store.Message{}, err
	}
	if m.Account != c.acct || m.Direction != store.Outgoing {
		return store.Message{}, errors.New("only your own messages can be changed")
	}
	if m.Kind != store.KindChat && m.Kind != store.KindGroupchat {
		return store.Message{}, errors.New("corrections and retractions work in 1:1 chats and rooms")
	}
	return m, nil
}

// sendFeature writes a message carrying a feature element, encrypting the
// body when the conversation is encrypted. It needs a connection.
func (c *Client) sendFeature(ctx context.Context, peer, body, element string) error {
	if c.conn == nil || !c.conn.online {
		return ErrOffline
	}
	out := outMessage{ID: newID(), To: peer, Type: "chat", Raw: element + `<store xmlns="urn:xmpp:hints"></store>`}
	out.OriginID = &originID{ID: out.ID}
	if body != "" {
		out.Body = body
		if on, _ := c.wantEncryption(ctx, peer); on {
			extra, err := c.encryptedStanza(ctx, peer, body)
			if err != nil {
				return err
			}
			out.Body, out.Raw = fallbackBody, extra+element
		}
	}
	return c.send(ctx, out)
}

// Correct replaces the text of one of our messages (XEP-0308).
func (c *Client) Correct(ctx context.Context, id int64, body string) error {
	if body == "" {
		return errors.New("empty correction: use retract to remove a message")
	}
	return c.do(ctx, func() error {
		ctx := context.WithoutCancel(ctx)
		m, err := c.ownMessage(ctx, id)
		if err != nil {
			return err
		}
		el := fmt.Sprintf(`<replace xmlns="%s" id="%s"></replace>`, nsCorrect, xmlText(m.OriginID))
		send := c.sendFeature
		if m.Kind == store.KindGroupchat {
			send = c.sendRoomFeature // features_muc.go
		}
		if err := send(ctx, m.Peer, body, el); err != nil {
			return err
		}
		if err := c.st.Correct(ctx, id, body); err != nil {
			return err
		}
		c.emit(MessageUpdatedEvent{Account: c.acct, Peer: m.Peer, ID: id, What: "corrected"})
		return nil
	})
}

// Retract asks the peer to remove one of our messages (XEP-0424).
func (c *Client) Retract(ctx context.Context, id int64) error {
	return c.do(ctx, func() error {
		ctx := context.WithoutCancel(ctx)
		m, err := c.ownMessage(ctx, id)
		if err != nil {
			return err
		}
		ref, send := m.OriginID, c.sendFeature
		if m.Kind == store.KindGroupchat {
			// In rooms, by the stanza-id the room gave it (XEP-0424 §5.1).
			if ref, err = roomRef(m); err != nil {
				return err
			}
			send = c.sendRoomFeature
		}
		el := fmt.Sprintf(`<retract xmlns="%s" id="%s"></retract><fallback xmlns="urn:xmpp:fallback:0" for="%s"></fallback>`, nsRetract, xmlText(ref), nsRetract)
		if err := send(ctx, m.Peer, "This person attempted to retract a previous message, but it's unsupported by your client.", el); err != nil {
			return err
		}
		if err := c.st.Retract(ctx, id); err != nil {
			return err
		}
		c.emit(MessageUpdatedEvent{Account: c.acct, Peer: m.Peer, ID: id, What: "retracted"})
		return nil
	})
}

// React sets our reactions to a message (XEP-0444); none removes them.
// Reactions travel unencrypted in OMEMO 0.3 conversations (the XEP allows
// no encrypted form there).
func (c *Client) React(ctx context.Context, id int64, emojis []string) error {
	return c.do(ctx, func() error {
		ctx := context.WithoutCancel(ctx)
		m, err := c.st.Message(ctx, id)
		if err != nil || m.Account != c.acct {
			return fmt.Errorf("no such message")
		}
		if m.Kind != store.KindChat && m.Kind != store.KindGroupchat {
			return errors.New("reactions work in 1:1 chats and rooms")
		}
		ref := m.OriginID
		if m.Direction == store.Incoming {
			ref = strings.TrimPrefix(ref, "id:")
		}
		if m.Kind == store.KindGroupchat {
			if ref, err = roomRef(m); err != nil { // XEP-0444 §6.2
				return err
			}
		}
		var b strings.Builder
		fmt.Fprintf(&b, `<reactions xmlns="%s" id="%s">`, nsReactions, xmlText(ref))
		for _, e := range cleanReactions(emojis) {
			b.WriteString("<reaction>" + xmlText(e) + "</reaction>")
		}
		b.WriteString("</reactions>")
		if m.Kind == store.KindGroupchat {
			err = c.sendRoomFeature(ctx, m.Peer, "", b.String()+`<store xmlns="urn:xmpp:hints"></store>`)
		} else {
			err = c.send(ctx, outMessage{ID: newID(), To: m.Peer, Type: "chat", Raw: b.String() + `<store xmlns="urn:xmpp:hints"></store>`})
		}
		if err != nil {
			return err
		}
		if err := c.st.SetReactions(ctx, id, c.acct, cleanReactions(emojis)); err != nil {
			return err
		}
		c.emit(MessageUpdatedEvent{Account: c.acct, Peer: m.Peer, ID: id, What: "reactions"})
		return nil
	})
}

// Reply sends body as a reply to message id (XEP-0461); it is stored and
// sent like any message, and remembers what it answers.
func (c *Client) Reply(ctx context.Context, id int64, body string) (store.Message, error) {
	var out store.Message
	err := c.do(ctx, func() error {
		ctx := context.WithoutCancel(ctx)
		orig, err := c.st.Message(ctx, id)
		if err == nil && orig.Account == c.acct && orig.Kind == store.KindGroupchat {
			out, err = c.replyGroup(ctx, orig, body) // features_muc.go
			return err
		}
		if err != nil || orig.Account != c.acct || orig.Kind != store.KindChat {
			return fmt.Errorf("no such 1:1 message")
		}
		ref := strings.TrimPrefix(orig.OriginID, "id:")
		out, err = c.sendMessageWith(ctx, orig.Peer, body, ref)
		return err
	})
	return out, err
}

// SendChatState tells a contact we are typing (or stopped); repeated
// states are not sent again.
func (c *Client) SendChatState(ctx context.Context, peer, state string) error {
	switch state {
	case "composing", "paused", "active", "inactive", "gone":
	default:
		return fmt.Errorf("unknown chat state %q", state)
	}
	return c.do(ctx, func() error {
		if c.conn == nil || !c.conn.online || c.chatStates[peer] == state {
			return nil
		}
		if c.rooms[peer] != nil {
			return c.sendRoomChatState(context.WithoutCancel(ctx), peer, state) // features_muc.go
		}
		if _, inRoster := c.roster[peer]; !inRoster {
			return nil // typing notices only to contacts
		}
		c.chatStates[peer] = state
		return c.send(context.WithoutCancel(ctx), outMessage{ID: newID(), To: peer, Type: "chat",
			Raw: fmt.Sprintf(`<%s xmlns="%s"></%s><no-store xmlns="urn:xmpp:hints"></no-store>`, state, nsChatState, state)})
	})
}

// MarkDisplayed tells the contact we have seen their messages up to id
// (XEP-0333), if they are a contact: markers tell when we are around.
func (c *Client) MarkDisplayed(ctx context.Context, id int64) error {
	return c.do(ctx, func() error {
		ctx := context.WithoutCancel(ctx)
		m, err := c.st.Message(ctx, id)
		if err == nil && m.Account == c.acct && m.Kind == store.KindGroupchat && m.Direction == store.Incoming {
			if c.conn == nil || !c.conn.online {
				return nil
			}
			return c.markRoomDisplayed(ctx, m) // features_muc.go
		}
		if err != nil || m.Direction != store.Incoming || m.Kind != store.KindChat {
			return nil
		}
		ct, ok := c.roster[m.Peer]
		if !ok || (ct.Subscription != "from" && ct.Subscription != "both") || c.conn == nil || !c.conn.online {
			return nil
		}
		to := m.Peer
		if j, err := jid.Parse(m.SenderFull); err == nil && j.Resourcepart() != "" {
			to = j.String()
		}
		return c.send(ctx, outMessage{ID: newID(), To: to, Type: "chat",
			Raw: fmt.Sprintf(`<displayed xmlns="%s" id="%s"></displayed><store xmlns="urn:xmpp:hints"></store>`, nsMarkers, xmlText(strings.TrimPrefix(m.OriginID, "id:")))})
	})
}

// xmlText escapes s for an attribute value or text in hand-built XML.
func xmlText(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s)) // writes to a Builder never fail
	return b.String()
}

// SetActive tells the server whether the user is looking (XEP-0352 client
// state indication): an inactive client gets fewer presence updates and
// chat states, which saves battery and bandwidth.
func (c *Client) SetActive(ctx context.Context, active bool) error {
	return c.do(ctx, func() error {
		if active == c.csiActive && c.csiKnown {
			return nil
		}
		c.csiActive, c.csiKnown = active, true
		if c.conn == nil || !c.conn.online {
			return nil
		}
		return c.sendCSI(context.WithoutCancel(ctx))
	})
}

type csiElement struct {
	XMLName xml.Name
}

func (c *Client) sendCSI(ctx context.Context) error {
	name := "inactive"
	if c.csiActive {
		name = "active"
	}
	return c.send(ctx, csiElement{XMLName: xml.Name{Space: "urn:xmpp:csi:0", Local: name}})
}
