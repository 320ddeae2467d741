package session

import (
	"context"
	"strconv"
	"time"

	"mellium.im/xmpp/jid"
)

var timeZero time.Time

// sendPresence broadcasts our current availability.
func (c *Client) sendPresence(ctx context.Context) {
	p := outPresence{Show: string(c.myShow), Status: c.myStatus, Caps: ourCaps()}
	if c.myShow == ShowUnavailable {
		p = outPresence{Type: "unavailable", Status: c.myStatus}
	}
	if err := c.send(ctx, p); err != nil {
		c.log.Warn("sending presence", "err", err)
	}
}

// handlePresence processes a presence from the server.
func (c *Client) handlePresence(gen uint64, p *inPresence, raw []byte) {
	if c.conn == nil || c.conn.gen != gen {
		return
	}
	if rm := c.roomFor(p.From); rm != nil {
		c.roomPresence(rm, raw)
		return
	}
	from := c.jid
	if p.From != "" {
		j, err := jid.Parse(p.From)
		if err != nil {
			c.log.Warn("presence with invalid from", "from", p.From)
			return
		}
		from = j
	}
	bare := from.Bare().String()
	switch p.Type {
	case "subscribe":
		if ct, ok := c.roster[bare]; ok && (ct.Subscription == "from" || ct.Subscription == "both") {
			// Already approved: answer automatically (RFC 6121 §3.1.3).
			_ = c.send(context.Background(), outPresence{To: bare, Type: "subscribed"})
			return
		}
		c.emit(SubscriptionRequestEvent{Account: c.acct, From: bare})
	case "subscribed":
		c.emit(NoticeEvent{Account: c.acct, Text: bare + " accepted your subscription request"})
	case "unsubscribed":
		c.emit(NoticeEvent{Account: c.acct, Text: bare + " denied or cancelled your subscription"})
	case "unsubscribe":
		c.emit(NoticeEvent{Account: c.acct, Text: bare + " unsubscribed from your presence"})
	case "error":
		c.log.Info("presence error", "from", p.From, "err", p.Error.String())
	case "", "unavailable":
		res := from.Resourcepart()
		ev := PresenceEvent{Account: c.acct, JID: bare, Resource: res, Show: Show(p.Show), Status: p.status()}
		if prio, err := strconv.Atoi(p.Priority); err == nil {
			ev.Priority = prio
		}
		switch ev.Show {
		case ShowOnline, ShowChat, ShowAway, ShowXA, ShowDND:
		default:
			ev.Show = ShowOnline
		}
		if p.Type == "unavailable" {
			ev.Show = ShowUnavailable
			if m := c.presences[bare]; m != nil {
				delete(m, res)
				if len(m) == 0 {
					delete(c.presences, bare)
				}
			}
		} else {
			m := c.presences[bare]
			if m == nil {
				m = map[string]PresenceEvent{}
				c.presences[bare] = m
			}
			m[res] = ev
		}
		c.emit(ev)
	}
}
