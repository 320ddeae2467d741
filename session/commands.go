package session

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"mellium.im/xmpp/jid"

	"xchat/store"
)

// SendMessage stores a chat message as Pending and sends it when online. The
// returned message is the stored row; its state changes arrive as events.
func (c *Client) SendMessage(ctx context.Context, to, body string) (store.Message, error) {
	var m store.Message
	err := c.do(ctx, func() error {
		var err error
		m, err = c.sendMessage(context.WithoutCancel(ctx), to, body)
		return err
	})
	return m, err
}

// AddContact adds jid to the roster and asks for a presence subscription.
func (c *Client) AddContact(ctx context.Context, addr, name string) error {
	j, err := parseBare(addr)
	if err != nil {
		return err
	}
	return c.online(ctx, func(done func(error)) {
		item := rosterQuery{Items: []rosterItem{{JID: j, Name: name}}}
		c.iq(ctx, "set", "", item, func(_ []byte, err error) {
			if err != nil {
				done(fmt.Errorf("adding %s: %w", j, err))
				return
			}
			done(c.send(ctx, outPresence{To: j, Type: "subscribe"}))
		})
	})
}

// RemoveContact removes jid from the roster (which also cancels both
// subscriptions, RFC 6121 §2.5).
func (c *Client) RemoveContact(ctx context.Context, addr string) error {
	j, err := parseBare(addr)
	if err != nil {
		return err
	}
	return c.online(ctx, func(done func(error)) {
		item := rosterQuery{Items: []rosterItem{{JID: j, Subscription: "remove"}}}
		c.iq(ctx, "set", "", item, func(_ []byte, err error) {
			if err != nil {
				err = fmt.Errorf("removing %s: %w", j, err)
			}
			done(err)
		})
	})
}

// Approve accepts a subscription request and asks for one back if we do not
// see the contact's presence yet, which is what users expect of "accept".
func (c *Client) Approve(ctx context.Context, addr string) error {
	j, err := parseBare(addr)
	if err != nil {
		return err
	}
	return c.online(ctx, func(done func(error)) {
		if err := c.send(ctx, outPresence{To: j, Type: "subscribed"}); err != nil {
			done(err)
			return
		}
		ct, ok := c.roster[j]
		if !ok || (ct.Subscription != "to" && ct.Subscription != "both" && !ct.Ask) {
			done(c.send(ctx, outPresence{To: j, Type: "subscribe"}))
			return
		}
		done(nil)
	})
}

// Deny refuses a subscription request (or revokes an approval).
func (c *Client) Deny(ctx context.Context, addr string) error {
	j, err := parseBare(addr)
	if err != nil {
		return err
	}
	return c.online(ctx, func(done func(error)) {
		done(c.send(ctx, outPresence{To: j, Type: "unsubscribed"}))
	})
}

// SetPresence changes our availability and status message. Offline it is
// remembered and sent at the next login.
func (c *Client) SetPresence(ctx context.Context, show Show, status string) error {
	switch show {
	case ShowOnline, ShowChat, ShowAway, ShowXA, ShowDND, ShowUnavailable:
	default:
		return fmt.Errorf("unknown availability %q (use online, chat, away, xa or dnd)", show)
	}
	return c.do(ctx, func() error {
		c.myShow, c.myStatus = show, status
		if c.conn != nil && c.conn.online {
			c.sendPresence(context.WithoutCancel(ctx))
		}
		return nil
	})
}

// Roster returns the current roster.
func (c *Client) Roster(ctx context.Context) ([]store.Contact, error) {
	var out []store.Contact
	err := c.do(ctx, func() error {
		for _, k := range slices.Sorted(maps.Keys(c.roster)) {
			out = append(out, c.roster[k])
		}
		return nil
	})
	return out, err
}

// Presence returns the known resources of a contact.
func (c *Client) Presence(ctx context.Context, bare string) []PresenceEvent {
	var out []PresenceEvent
	_ = c.do(ctx, func() error {
		for _, k := range slices.Sorted(maps.Keys(c.presences[bare])) {
			out = append(out, c.presences[bare][k])
		}
		return nil
	})
	return out
}

// Flush waits until every message in the outbox has been confirmed by the
// server (state Sent or later), or ctx ends.
func (c *Client) Flush(ctx context.Context) error {
	for {
		var pending int
		err := c.do(ctx, func() error {
			out, err := c.st.Outbox(ctx, c.acct)
			pending = len(out)
			return err
		})
		if err != nil {
			return err
		}
		if pending == 0 {
			return nil
		}
		if err := c.waitEventlessTick(ctx); err != nil {
			return err
		}
	}
}

// online runs f on the owner goroutine when connected; f calls done exactly
// once, possibly later from an IQ callback.
func (c *Client) online(ctx context.Context, f func(done func(error))) error {
	res := make(chan error, 1)
	err := c.do(ctx, func() error {
		if c.conn == nil || !c.conn.online {
			return ErrOffline
		}
		f(func(err error) { res <- err })
		return nil
	})
	if err != nil {
		if errors.Is(err, ErrOffline) {
			return fmt.Errorf("%w: try again when the account is online", ErrOffline)
		}
		return err
	}
	select {
	case err := <-res:
		return err
	case <-c.stopped:
		return ErrNotRunning
	case <-ctx.Done():
		return ctx.Err()
	}
}

func parseBare(addr string) (string, error) {
	j, err := jid.Parse(addr)
	if err != nil || j.Domainpart() == "" {
		return "", fmt.Errorf("invalid address %q", addr)
	}
	return j.Bare().String(), nil
}

// waitEventlessTick sleeps a little between outbox polls.
func (c *Client) waitEventlessTick(ctx context.Context) error {
	t := time.NewTimer(50 * time.Millisecond)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
