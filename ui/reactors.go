package ui

import (
	"slices"
	"strings"

	"xchat/internal/sanitize"
	"xchat/store"
)

// reactorsText says who reacted to a message with what (XEP-0444), for the
// status line when the message is selected: "👍 Alice, you · 🎉 you".
// Senders are JIDs in chats and real JIDs or nicks in rooms.
func (m *Model) reactorsText(it *chatItem) string {
	if len(it.reactions) == 0 || it.msg.Retracted {
		return ""
	}
	var order []string
	who := map[string][]string{}
	for _, r := range it.reactions {
		name := "you"
		if r.Sender != m.chat.ownJID {
			name = m.reactorName(r.Sender)
		}
		for _, e := range r.Emojis {
			e = sanitize.Line(e)
			if _, ok := who[e]; !ok {
				order = append(order, e)
			}
			if !slices.Contains(who[e], name) {
				who[e] = append(who[e], name)
			}
		}
	}
	parts := make([]string, len(order))
	for k, e := range order {
		parts[k] = e + " " + strings.Join(who[e], ", ")
	}
	return strings.Join(parts, " · ")
}

// reactorName is how a reaction's sender is shown: the contact's name, the
// occupant's nick for a real JID in the open room, else as it came.
func (m *Model) reactorName(sender string) string {
	p := &m.chat
	a := m.accts[p.acct]
	if p.kind == store.KindGroupchat {
		if r := a.rooms[p.peer]; r != nil {
			for _, o := range r.occupants {
				if o.RealJID != "" && bareJIDOf(o.RealJID) == sender {
					return sanitize.Line(o.Nick)
				}
			}
		}
		if !strings.Contains(sender, "@") {
			return sanitize.Line(sender) // a nick
		}
	}
	return a.labelOf(sender)
}

// bareJIDOf drops the resource of a JID string.
func bareJIDOf(s string) string {
	b, _, _ := strings.Cut(s, "/")
	return b
}

// showReactors puts who reacted to the selected message in the status line.
func (m *Model) showReactors(it *chatItem) {
	if t := m.reactorsText(it); t != "" {
		m.status.Info("reactions: " + t)
	}
}
