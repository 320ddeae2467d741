package session

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"

	"mellium.im/xmlstream"
	"mellium.im/xmpp"
	"mellium.im/xmpp/jid"
)

const nsBind = "urn:ietf:params:xml:ns:xmpp-bind"

// bindFeature binds a resource (RFC 6120 §7). mellium v0.22's own bind puts
// the JID instead of the requested resource into <resource/>, so a
// configured resource would never reach the server.
//
// With rq set it first tries to resume that stream (XEP-0198 §5): on
// <resumed/> the session is ready without binding; on <failed/> it binds.
func bindFeature(resource string, rq *resumeReq) xmpp.StreamFeature {
	return xmpp.StreamFeature{
		Name:       xml.Name{Space: nsBind, Local: "bind"},
		Necessary:  xmpp.Authn,
		Prohibited: xmpp.Ready,
		List: func(context.Context, xmlstream.TokenWriter, xml.StartElement) (bool, error) {
			return true, errors.New("session: bind is client-only")
		},
		Parse: func(_ context.Context, d *xml.Decoder, _ *xml.StartElement) (bool, interface{}, error) {
			return true, nil, d.Skip()
		},
		Negotiate: func(ctx context.Context, s *xmpp.Session, _ interface{}) (xmpp.SessionState, io.ReadWriter, error) {
			r := s.TokenReader()
			defer r.Close()
			d := xml.NewTokenDecoder(r)
			if rq != nil {
				ok, err := tryResume(s, d, rq)
				if err != nil {
					return 0, nil, err
				}
				if ok {
					return xmpp.Ready, nil, nil
				}
			}
			// Written raw, as mellium's STARTTLS does: during negotiation the
			// token writer does not manage namespaces for us.
			var buf bytes.Buffer
			id := newID()
			fmt.Fprintf(&buf, "<iq type='set' id='%s'><bind xmlns='%s'>", id, nsBind)
			if resource != "" {
				buf.WriteString("<resource>")
				if err := xml.EscapeText(&buf, []byte(resource)); err != nil {
					return 0, nil, err
				}
				buf.WriteString("</resource>")
			}
			buf.WriteString("</bind></iq>")
			if _, err := s.Conn().Write(buf.Bytes()); err != nil {
				return 0, nil, err
			}
			var resp struct {
				ID    string     `xml:"id,attr"`
				Type  string     `xml:"type,attr"`
				JID   string     `xml:"urn:ietf:params:xml:ns:xmpp-bind bind>jid"`
				Error *stanzaErr `xml:"error"`
			}
			for {
				tok, err := d.Token()
				if err != nil {
					return 0, nil, err
				}
				if start, ok := tok.(xml.StartElement); ok {
					if err := d.DecodeElement(&resp, &start); err != nil {
						return 0, nil, err
					}
					break
				}
			}
			switch {
			case resp.ID != id:
				return 0, nil, fmt.Errorf("bind: answer to the wrong request")
			case resp.Type == "error":
				return 0, nil, fmt.Errorf("the server refused to bind resource %q: %s", resource, resp.Error.String())
			}
			j, err := jid.Parse(resp.JID)
			if err != nil {
				return 0, nil, fmt.Errorf("bind: server gave an invalid JID %q", resp.JID)
			}
			s.UpdateAddr(j)
			return xmpp.Ready, nil, nil
		},
	}
}

// authError recognises a SASL <failure/> from mellium (its error type is in
// an internal package, so look at its shape) and returns the RFC 6120 §6.5
// condition.
func saslCondition(err error) (string, bool) {
	for e := err; e != nil; e = errors.Unwrap(e) {
		v := reflect.ValueOf(e)
		if v.Kind() == reflect.Pointer {
			v = v.Elem()
		}
		if v.Kind() != reflect.Struct || !strings.HasSuffix(v.Type().PkgPath(), "/saslerr") {
			continue
		}
		f := v.FieldByName("Condition")
		if !f.IsValid() || !f.CanInterface() {
			return "", true
		}
		if s, ok := f.Interface().(fmt.Stringer); ok {
			return s.String(), true
		}
		return "", true
	}
	return "", false
}

// tryResume sends <resume/> and reads the answer.
func tryResume(s *xmpp.Session, d *xml.Decoder, rq *resumeReq) (bool, error) {
	rq.in.armResume(rq.h)
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "<resume xmlns='%s' h='%d' previd='", nsSM, rq.h)
	if err := xml.EscapeText(&buf, []byte(rq.id)); err != nil {
		return false, err
	}
	buf.WriteString("'/>")
	if _, err := s.Conn().Write(buf.Bytes()); err != nil {
		return false, err
	}
	for {
		tok, err := d.Token()
		if err != nil {
			return false, err
		}
		start, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		var ans struct {
			H string `xml:"h,attr"`
		}
		if err := d.DecodeElement(&ans, &start); err != nil {
			return false, err
		}
		if start.Name.Space != nsSM || start.Name.Local != "resumed" {
			return false, nil // <failed/>: bind a new session
		}
		h, err := strconv.ParseUint(ans.H, 10, 32)
		if err != nil {
			return false, fmt.Errorf("resumed with a bad count %q", ans.H)
		}
		j, err := jid.Parse(rq.fullJID)
		if err != nil {
			return false, err
		}
		s.UpdateAddr(j)
		rq.resumed, rq.ackedH = true, uint32(h)
		rq.out.startAt(uint32(h))
		return true, nil
	}
}
