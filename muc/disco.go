package muc

import (
	"errors"
	"fmt"
	"strconv"
)

// RoomInfo is what a room's disco#info says (XEP-0045 §6.4).
type RoomInfo struct {
	Name              string // identity name, or muc#roomconfig_roomname
	Description       string // muc#roominfo_description
	Occupants         int    // muc#roominfo_occupants, -1 if not given
	MembersOnly       bool   // muc_membersonly
	Open              bool   // muc_open
	NonAnonymous      bool   // muc_nonanonymous
	SemiAnonymous     bool   // muc_semianonymous
	Public            bool   // muc_public
	Hidden            bool   // muc_hidden
	Persistent        bool   // muc_persistent
	Temporary         bool   // muc_temporary
	PasswordProtected bool   // muc_passwordprotected
	Moderated         bool   // muc_moderated
	MAM               bool   // urn:xmpp:mam:2
	SelfPingOptimized bool   // XEP-0410 §3.3
	OccupantID        bool   // urn:xmpp:occupant-id:0 (XEP-0421)
	Features          []string
}

type wDiscoInfo struct {
	Identities []struct {
		Category string `xml:"category,attr"`
		Type     string `xml:"type,attr"`
		Name     string `xml:"name,attr"`
	} `xml:"identity"`
	Features []struct {
		Var string `xml:"var,attr"`
	} `xml:"feature"`
	Forms []wForm `xml:"jabber:x:data x"`
}

func parseDiscoInfo(raw []byte) (*wDiscoInfo, error) {
	var q wDiscoInfo
	if err := unmarshalPayload(raw, NSDiscoInfo, "query", &q); err != nil {
		return nil, err
	}
	return &q, nil
}

// DiscoInfoIQ asks an entity for its disco#info.
func DiscoInfoIQ(to string) []byte {
	var w xw
	w.open("iq", false, "to", to, "type", "get")
	w.open("query", true, "xmlns", NSDiscoInfo)
	w.close("iq")
	return w.bytes()
}

// DiscoItemsIQ asks an entity for its disco#items.
func DiscoItemsIQ(to string) []byte {
	var w xw
	w.open("iq", false, "to", to, "type", "get")
	w.open("query", true, "xmlns", NSDiscoItems)
	w.close("iq")
	return w.bytes()
}

// ParseRoomInfo reads a room's disco#info answer (IQ or query element).
func ParseRoomInfo(raw []byte) (RoomInfo, error) {
	q, err := parseDiscoInfo(raw)
	if err != nil {
		return RoomInfo{}, err
	}
	info := RoomInfo{Occupants: -1}
	for _, id := range q.Identities {
		if id.Category == "conference" && info.Name == "" {
			info.Name = id.Name
		}
	}
	for _, f := range q.Features {
		info.Features = append(info.Features, f.Var)
		switch f.Var {
		case "muc_membersonly":
			info.MembersOnly = true
		case "muc_open":
			info.Open = true
		case "muc_nonanonymous":
			info.NonAnonymous = true
		case "muc_semianonymous":
			info.SemiAnonymous = true
		case "muc_public":
			info.Public = true
		case "muc_hidden":
			info.Hidden = true
		case "muc_persistent":
			info.Persistent = true
		case "muc_temporary":
			info.Temporary = true
		case "muc_passwordprotected":
			info.PasswordProtected = true
		case "muc_moderated":
			info.Moderated = true
		case NSMAM:
			info.MAM = true
		case NSSelfPingOp:
			info.SelfPingOptimized = true
		case NSOccupantID:
			info.OccupantID = true
		}
	}
	for i := range q.Forms {
		f := q.Forms[i].form()
		if f.FormType() != NSMUC+"#roominfo" {
			continue
		}
		if fld := f.Field("muc#roominfo_description"); fld != nil {
			info.Description = fld.Value()
		}
		if fld := f.Field("muc#roomconfig_roomname"); fld != nil && fld.Value() != "" {
			info.Name = fld.Value()
		}
		if fld := f.Field("muc#roominfo_occupants"); fld != nil {
			if n, err := strconv.Atoi(fld.Value()); err == nil {
				info.Occupants = n
			}
		}
	}
	return info, nil
}

// DiscoItem is one disco#items entry.
type DiscoItem struct {
	JID, Node, Name string
}

// ParseDiscoItems reads a disco#items answer.
func ParseDiscoItems(raw []byte) ([]DiscoItem, error) {
	var q struct {
		Items []struct {
			JID  string `xml:"jid,attr"`
			Node string `xml:"node,attr"`
			Name string `xml:"name,attr"`
		} `xml:"item"`
	}
	if err := unmarshalPayload(raw, NSDiscoItems, "query", &q); err != nil {
		return nil, err
	}
	out := make([]DiscoItem, 0, len(q.Items))
	for _, it := range q.Items {
		if it.JID != "" {
			out = append(out, DiscoItem{JID: it.JID, Node: it.Node, Name: it.Name})
		}
	}
	return out, nil
}

// IsMUCService reports whether a disco#info answer has the identity
// conference/text and the muc feature. Rooms answer the same way: apply it
// to the server's disco#items, which are services, not rooms.
func IsMUCService(raw []byte) bool {
	q, err := parseDiscoInfo(raw)
	if err != nil {
		return false
	}
	ident := false
	for _, id := range q.Identities {
		if id.Category == "conference" && id.Type == "text" {
			ident = true
		}
	}
	if !ident {
		return false
	}
	for _, f := range q.Features {
		if f.Var == NSMUC {
			return true
		}
	}
	return false
}

// ErrNoMUCService means no item of the server is a MUC service.
var ErrNoMUCService = errors.New("muc: the server offers no group chat service")

// FindMUCService returns the first of the server's disco#items that is a
// MUC service. info performs the disco#info query (the I/O stays with the
// caller); items whose query fails are skipped.
func FindMUCService(items []DiscoItem, info func(jid string) ([]byte, error)) (string, error) {
	var firstErr error
	for _, it := range items {
		if it.Node != "" {
			continue
		}
		raw, err := info(it.JID)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		if IsMUCService(raw) {
			return it.JID, nil
		}
	}
	if firstErr != nil {
		return "", fmt.Errorf("%w (a query failed: %v)", ErrNoMUCService, firstErr)
	}
	return "", ErrNoMUCService
}
