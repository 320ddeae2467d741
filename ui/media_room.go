package ui

import (
	"strings"

	"xchat/store"
)

// rosterOccupant reports whether a room message comes from an occupant
// whose real JID is a contact in our roster: their images are fetched
// without asking, as in a 1:1 chat. The real JID is the one the room
// announces in the occupant's presence (rooms that show real JIDs); an
// anonymous occupant, one who left, or a message whose recorded sender
// disagrees with the occupant now using the nick never counts.
func (a *accountState) rosterOccupant(msg store.Message) bool {
	r := a.rooms[msg.Peer]
	if r == nil {
		return false
	}
	o, ok := r.occupant(msg.Sender)
	if !ok || o.RealJID == "" {
		return false
	}
	real, err := parseJID(o.RealJID)
	if err != nil || strings.EqualFold(real, msg.Peer) {
		return false
	}
	if msg.SenderFull != "" {
		rec, err := parseJID(msg.SenderFull)
		if err != nil || !strings.EqualFold(rec, real) {
			return false
		}
	}
	_, in := a.contacts[real]
	return in
}
