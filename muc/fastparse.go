package muc

import (
	"bytes"
	"encoding/xml"
	"io"
)

// parsePresence decodes a presence into wPresence like xml.Unmarshal would,
// but walks RawToken with its own namespace tracking instead of reflection:
// presence floods (large rooms) are the hot path, and this halves the cost.
// unmarshalPresence is the reference; a test holds them equal.
func parsePresence(raw []byte) (*wPresence, error) {
	d := xml.NewDecoder(bytes.NewReader(raw))
	var (
		p     wPresence
		ns    nsStack
		depth int
		// The open elements we care about, by depth; "" = ignored.
		l1, l2, l3 string
		text       []byte
		item       *wItem
		destroy    *wDestroy
		sawRoot    bool
	)
	for {
		tok, err := d.RawToken()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			space := ns.push(t)
			depth++
			text = text[:0]
			switch depth {
			case 1:
				if t.Name.Local != "presence" || sawRoot {
					return nil, errNotPresence
				}
				sawRoot = true
				p.XMLName = xml.Name{Space: space, Local: "presence"}
				for _, a := range t.Attr {
					if a.Name.Space != "" {
						continue
					}
					switch a.Name.Local {
					case "from":
						p.From = a.Value
					case "to":
						p.To = a.Value
					case "id":
						p.ID = a.Value
					case "type":
						p.Type = a.Value
					}
				}
			case 2:
				l1 = ""
				switch {
				case t.Name.Local == "show" || t.Name.Local == "status":
					l1 = t.Name.Local
				case t.Name.Local == "x" && space == NSMUCUser:
					if p.User == nil { // a second one (forbidden by §7.2.3) is ignored
						p.User = &wMUCUser{}
						l1 = "x"
					}
				case t.Name.Local == "occupant-id" && space == NSOccupantID:
					if p.OccID == nil {
						p.OccID = &wStanzaID{}
					}
					for _, a := range t.Attr {
						if a.Name.Space == "" && a.Name.Local == "id" {
							p.OccID.ID = a.Value
						} else if a.Name.Space == "" && a.Name.Local == "by" {
							p.OccID.By = a.Value
						}
					}
				case t.Name.Local == "error":
					if p.Error == nil {
						p.Error = &wError{}
						l1 = "error"
						for _, a := range t.Attr {
							if a.Name.Space == "" && a.Name.Local == "type" {
								p.Error.Type = a.Value
							} else if a.Name.Space == "" && a.Name.Local == "by" {
								p.Error.By = a.Value
							}
						}
					}
				}
			case 3:
				l2 = ""
				switch l1 {
				case "x":
					switch t.Name.Local {
					case "item":
						p.User.Items = append(p.User.Items, wItem{})
						item = &p.User.Items[len(p.User.Items)-1]
						l2 = "item"
						for _, a := range t.Attr {
							if a.Name.Space != "" {
								continue
							}
							switch a.Name.Local {
							case "affiliation":
								item.Affiliation = a.Value
							case "role":
								item.Role = a.Value
							case "jid":
								item.JID = a.Value
							case "nick":
								item.Nick = a.Value
							}
						}
					case "status":
						s := wStatus{}
						for _, a := range t.Attr {
							if a.Name.Space == "" && a.Name.Local == "code" {
								s.Code = a.Value
							}
						}
						p.User.Status = append(p.User.Status, s)
					case "destroy":
						if p.User.Destroy == nil {
							destroy = &wDestroy{}
							p.User.Destroy = destroy
							l2 = "destroy"
							for _, a := range t.Attr {
								if a.Name.Space == "" && a.Name.Local == "jid" {
									destroy.JID = a.Value
								}
							}
						}
					}
				case "error":
					p.Error.Children = append(p.Error.Children, wAny{XMLName: xml.Name{Space: space, Local: t.Name.Local}})
					l2 = "cond"
				}
			case 4:
				l3 = ""
				switch l2 {
				case "item":
					switch t.Name.Local {
					case "actor":
						a := &wActor{}
						for _, at := range t.Attr {
							if at.Name.Space != "" {
								continue
							}
							if at.Name.Local == "nick" {
								a.Nick = at.Value
							} else if at.Name.Local == "jid" {
								a.JID = at.Value
							}
						}
						item.Actor = a
					case "reason":
						l3 = "reason"
					}
				case "destroy":
					if t.Name.Local == "reason" || t.Name.Local == "password" {
						l3 = t.Name.Local
					}
				}
			}
		case xml.CharData:
			text = append(text, t...)
		case xml.EndElement:
			switch depth {
			case 2:
				switch l1 {
				case "show":
					p.Show = string(text)
				case "status":
					p.Status = string(text)
				}
				l1 = ""
			case 3:
				if l2 == "cond" {
					p.Error.Children[len(p.Error.Children)-1].Text = string(text)
				}
				l2 = ""
			case 4:
				switch {
				case l3 == "reason" && l2 == "item":
					item.Reason = string(text)
				case l3 == "reason" && l2 == "destroy":
					destroy.Reason = string(text)
				case l3 == "password" && l2 == "destroy":
					destroy.Password = string(text)
				}
				l3 = ""
			}
			text = text[:0]
			ns.pop()
			depth--
			if depth < 0 {
				return nil, errNotPresence
			}
		}
	}
	if !sawRoot || depth != 0 {
		return nil, errNotPresence
	}
	return &p, nil
}

var errNotPresence = xml.UnmarshalError("expected one complete <presence> element")

// unmarshalPresence is the reflection-based reference decoder.
func unmarshalPresence(raw []byte) (*wPresence, error) {
	var p wPresence
	if err := xml.Unmarshal(raw, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// nsStack resolves element namespaces for RawToken.
type nsStack struct {
	frames []nsFrame
}

type nsFrame struct {
	def      string
	prefixes []xml.Attr // Name.Local = prefix, Value = namespace
}

// push records the declarations of a start element and returns its
// namespace.
func (s *nsStack) push(t xml.StartElement) string {
	f := nsFrame{}
	if n := len(s.frames); n > 0 {
		f.def = s.frames[n-1].def
	}
	for _, a := range t.Attr {
		switch {
		case a.Name.Space == "" && a.Name.Local == "xmlns":
			f.def = a.Value
		case a.Name.Space == "xmlns":
			f.prefixes = append(f.prefixes, a)
		}
	}
	s.frames = append(s.frames, f)
	if t.Name.Space == "" {
		return f.def
	}
	for i := len(s.frames) - 1; i >= 0; i-- {
		for _, a := range s.frames[i].prefixes {
			if a.Name.Local == t.Name.Space {
				return a.Value
			}
		}
	}
	return t.Name.Space // undeclared prefix: keep it, as Token does
}

func (s *nsStack) pop() {
	if n := len(s.frames); n > 0 {
		s.frames = s.frames[:n-1]
	}
}
