package stanzaerr

import (
	"encoding/xml"
	"strings"
)

// NS is the namespace of the defined conditions and of <text/>.
const NS = "urn:ietf:params:xml:ns:xmpp-stanzas"

// Error is an <error/> element, decoded with encoding/xml or built by a
// hand-written parser.
type Error struct {
	Type     string  `xml:"type,attr"`
	By       string  `xml:"by,attr"`
	Children []Child `xml:",any"`
}

// Child is one child element of an <error/>.
type Child struct {
	XMLName xml.Name
	Text    string `xml:",chardata"`
}

// Condition returns the defined condition (the first child in the stanzas
// namespace, or without one, that is not <text/>) and the trimmed text.
// Either may be "". A nil Error has neither.
func (e *Error) Condition() (cond, text string) {
	if e == nil {
		return "", ""
	}
	for _, c := range e.Children {
		if c.XMLName.Space != NS && c.XMLName.Space != "" {
			continue // an application-specific condition
		}
		if c.XMLName.Local == "text" {
			text = strings.TrimSpace(c.Text)
		} else if cond == "" {
			cond = c.XMLName.Local
		}
	}
	return cond, text
}

// String is "condition: text", either alone, or "unknown error".
func (e *Error) String() string {
	cond, text := e.Condition()
	switch {
	case text != "" && cond != "":
		return cond + ": " + text
	case text != "":
		return text
	case cond != "":
		return cond
	}
	return "unknown error"
}
