package ui

import (
	"context"
	"errors"

	"xchat/internal/sanitize"
	"xchat/omemo"
)

// /omemo fingerprint ROOM: in a private group every message is encrypted to
// each member's devices, so the listing shows them all, member by member.

// roomMemberLister lists the members of a private group a message is
// encrypted to (besides our own devices); *session.Client provides it.
type roomMemberLister interface {
	RoomMembers(ctx context.Context, roomJID string) ([]string, error)
}

// memberDevices is one member of a room and its devices.
type memberDevices struct {
	jid     string
	devices []omemo.DeviceInfo
	err     error
}

// roomMemberDevices asks for the members of room and each one's devices.
func roomMemberDevices(ctx context.Context, l roomMemberLister, o OMEMO, room string) ([]memberDevices, error) {
	if l == nil {
		return nil, errNoMemberList
	}
	jids, err := l.RoomMembers(ctx, room)
	if err != nil {
		return nil, err
	}
	out := make([]memberDevices, 0, len(jids))
	for _, j := range jids {
		md := memberDevices{jid: j}
		md.devices, md.err = o.OMEMODevices(ctx, j)
		out = append(out, md)
	}
	return out, nil
}

var errNoMemberList = errors.New("this account cannot list the group's members")

// roomFingerprintLines is the listing of a room: our device, then each
// member's devices, or why they cannot be listed and what to type instead.
func roomFingerprintLines(m *Model, a *accountState, msg omemoListMsg) []string {
	lines := ownHeader(a, msg)
	room := sanitize.Line(msg.jid)
	perMember := "/omemo fingerprint JID lists one member's devices."
	if msg.membersErr != nil {
		return append(lines,
			"The members of "+room+" could not be listed: "+sanitize.Line(msg.membersErr.Error()),
			perMember, "Esc closes.")
	}
	if len(msg.members) == 0 {
		return append(lines, room+" has no other member: messages here are encrypted to your other devices only.", "Esc closes.")
	}
	lines = append(lines, "Members of "+room+" — each message here is encrypted to every trusted device below:")
	for _, md := range msg.members {
		who := sanitize.Line(md.jid)
		switch {
		case md.err != nil:
			lines = append(lines, "", who+": "+sanitize.Line(md.err.Error())+" — "+perMember)
		case len(md.devices) == 0:
			lines = append(lines, "", who+" has no known OMEMO device: nothing encrypted reaches them.")
		default:
			lines = append(lines, "", who+":")
			lines = append(lines, m.deviceLines(who, md.devices)...)
		}
	}
	return append(lines, "", "/omemo trust|untrust JID FINGERPRINT decides for a member's device; "+perMember+" Esc closes.")
}
