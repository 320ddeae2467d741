package muc

// PingResult is what a self-ping answer says about our membership.
type PingResult int

// Self-ping outcomes (XEP-0410 §3.2).
const (
	PingJoined    PingResult = iota // still an occupant
	PingNotJoined                   // out of the room: rejoin
	PingUnknown                     // no decision (unreachable); retry later
)

func (p PingResult) String() string {
	switch p {
	case PingJoined:
		return "joined"
	case PingNotJoined:
		return "not joined"
	}
	return "unknown"
}

// SelfPingIQ builds the XEP-0410 ping to our own occupant JID.
func SelfPingIQ(roomJID, nick string) []byte {
	var w xw
	w.open("iq", false, "to", occupantJID(roomJID, nick), "type", "get")
	w.open("ping", true, "xmlns", NSPing)
	w.close("iq")
	return w.bytes()
}

// SelfPingResult interprets the answer to SelfPingIQ: cond is the stanza
// error condition, "" for a result. A timeout (no answer) is PingUnknown
// and is the caller's to detect.
func SelfPingResult(cond string) PingResult {
	switch cond {
	case "":
		return PingJoined
	case "service-unavailable", "feature-not-implemented":
		return PingJoined // joined; the pinged client lacks XEP-0199
	case "item-not-found":
		return PingJoined // joined; another client of ours changed the nick
	case "remote-server-not-found", "remote-server-timeout":
		return PingUnknown
	}
	return PingNotJoined // not-acceptable (recommended), not-allowed, bad-request, ...
}
