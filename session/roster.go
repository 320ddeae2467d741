package session

import (
	"context"
	"encoding/xml"
	"sort"

	"mellium.im/xmpp/jid"

	"xchat/store"
)

// bootstrap runs after bind: roster (versioned), server disco#info, initial
// presence, then the outbox. Each step is an async IQ; the account is Online
// once the roster is in, so the user sees contacts before anything else.
func (c *Client) bootstrap(ctx context.Context, conn *connection) {
	ver, err := c.st.RosterVersion(ctx, c.acct)
	if err != nil {
		c.log.Warn("store: roster version", "err", err)
	}
	// Always send ver (empty the first time): RFC 6121 §2.6 allows it, and a
	// server without versioning ignores it.
	q := rosterQuery{Ver: &ver}
	c.iq(ctx, "get", "", q, func(resp []byte, err error) {
		if err != nil {
			c.log.Warn("roster fetch failed", "err", err)
			c.emit(NoticeEvent{Account: c.acct, Text: "could not fetch the roster", Err: err})
		} else {
			c.applyRosterResult(ctx, resp)
		}
		if c.conn != conn {
			return
		}
		conn.online = true
		c.sendPresence(ctx)
		if c.csiKnown {
			_ = c.sendCSI(ctx)
		}
		c.setState(Online, nil, timeZero)
		c.flushOutbox(ctx)
		c.discoverServer(ctx)
		c.discoverUpload(ctx)
		c.afterLogin(ctx)
		c.fetchBookmarks(ctx)
		c.rejoinRooms()
		c.publishOMEMO(ctx)
	})
}

// applyRosterResult stores a roster result; an empty result means "your
// version is current" (RFC 6121 §2.6.3) and keeps what we have.
func (c *Client) applyRosterResult(ctx context.Context, resp []byte) {
	if len(resp) == 0 {
		c.log.Info("roster unchanged since stored version")
		c.emitRoster()
		return
	}
	var q rosterQuery
	if err := xml.Unmarshal(resp, &q); err != nil {
		c.log.Warn("malformed roster result", "err", err)
		return
	}
	ver := ""
	if q.Ver != nil {
		ver = *q.Ver
	}
	contacts := make([]store.Contact, 0, len(q.Items))
	for _, it := range q.Items {
		ct, ok := c.contactFromItem(it)
		if !ok || it.Subscription == "remove" {
			continue
		}
		contacts = append(contacts, ct)
	}
	if err := c.st.ReplaceRoster(ctx, c.acct, ver, contacts); err != nil {
		c.log.Error("store: replace roster", "err", err)
	}
	c.roster = map[string]store.Contact{}
	for _, ct := range contacts {
		c.roster[ct.JID] = ct
	}
	c.emitRoster()
}

// contactFromItem validates a roster item; items with unparsable JIDs are
// dropped (and logged) rather than stored.
func (c *Client) contactFromItem(it rosterItem) (store.Contact, bool) {
	j, err := jid.Parse(it.JID)
	if err != nil {
		c.log.Warn("roster item with invalid JID", "jid", it.JID, "err", err)
		return store.Contact{}, false
	}
	sub := it.Subscription
	switch sub {
	case "none", "to", "from", "both", "remove":
	case "":
		sub = "none"
	default:
		sub = "none"
	}
	return store.Contact{
		Account:      c.acct,
		JID:          j.String(),
		Name:         it.Name,
		Subscription: sub,
		Ask:          it.Ask == "subscribe",
		Groups:       it.Groups,
	}, true
}

// applyRosterPush applies one pushed item (already checked for its sender).
func (c *Client) applyRosterPush(gen uint64, q rosterQuery) {
	if c.conn == nil || c.conn.gen != gen {
		return
	}
	ctx := context.Background()
	ver := ""
	if q.Ver != nil {
		ver = *q.Ver
	}
	ct, ok := c.contactFromItem(q.Items[0])
	if !ok {
		return
	}
	if ct.Subscription == "remove" {
		if err := c.st.DeleteContact(ctx, c.acct, ver, ct.JID); err != nil {
			c.log.Error("store: delete contact", "err", err)
		}
		delete(c.roster, ct.JID)
	} else {
		if err := c.st.PutContact(ctx, c.acct, ver, ct); err != nil {
			c.log.Error("store: put contact", "err", err)
		}
		c.roster[ct.JID] = ct
	}
	c.emitRoster()
}

func (c *Client) emitRoster() {
	contacts := make([]store.Contact, 0, len(c.roster))
	for _, ct := range c.roster {
		contacts = append(contacts, ct)
	}
	sort.Slice(contacts, func(i, j int) bool { return contacts[i].JID < contacts[j].JID })
	c.emit(RosterEvent{Account: c.acct, Contacts: contacts})
}

// discoverServer caches the server's disco#info features in the store; later
// layers (carbons, MAM, upload) decide from them what to enable.
func (c *Client) discoverServer(ctx context.Context) {
	domain := c.jid.Domainpart()
	c.iq(ctx, "get", domain, discoInfoRequest{}, func(resp []byte, err error) {
		if err != nil {
			c.log.Info("server disco#info failed", "err", err)
			return
		}
		var q struct {
			Features []discoFeature `xml:"feature"`
		}
		if err := xml.Unmarshal(resp, &q); err != nil {
			return
		}
		feats := make([]string, 0, len(q.Features))
		for _, f := range q.Features {
			feats = append(feats, f.Var)
		}
		if err := c.st.SetFeatures(ctx, c.acct, domain, feats); err != nil {
			c.log.Warn("store: features", "err", err)
		}
	})
}
