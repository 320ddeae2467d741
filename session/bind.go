package session

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"

	"mellium.im/xmlstream"
	"mellium.im/xmpp"
	"mellium.im/xmpp/jid"
)

const nsBind = "urn:ietf:params:xml:ns:xmpp-bind"

// bindFeature binds a resource (RFC 6120 §7). mellium v0.22's own bind puts
// the JID instead of the requested resource into <resource/>, so a
// configured resource would never reach the server.
func bindFeature(resource string) xmpp.StreamFeature {
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
			d := xml.NewTokenDecoder(r)
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
