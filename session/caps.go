package session

import (
	"crypto/sha1" //nolint:gosec // XEP-0115 mandates SHA-1 for the caps hash
	"encoding/base64"
	"sort"
	"strings"
	"sync"
)

// capsNode identifies xchat in entity capabilities (XEP-0115).
const capsNode = "https://xchat.invalid/caps"

// caps is the <c/> element of our presence. Servers use it to know which
// PEP notifications we want: every "...+notify" feature subscribes us to a
// node (bookmarks now, OMEMO device lists later).
type caps struct {
	Hash string `xml:"hash,attr"`
	Node string `xml:"node,attr"`
	Ver  string `xml:"ver,attr"`
}

var (
	capsOnce sync.Once
	capsVer  string
)

// ourCaps returns the caps element for Features.
func ourCaps() *caps {
	capsOnce.Do(func() { capsVer = capsHash("client", "console", "", "xchat", Features) })
	return &caps{Hash: "sha-1", Node: capsNode, Ver: capsVer}
}

// capsHash computes the XEP-0115 §5.1 verification string.
func capsHash(category, typ, lang, name string, features []string) string {
	var b strings.Builder
	b.WriteString(category + "/" + typ + "/" + lang + "/" + name + "<")
	fs := append([]string(nil), features...)
	sort.Strings(fs)
	for _, f := range fs {
		b.WriteString(f + "<")
	}
	sum := sha1.Sum([]byte(b.String())) //nolint:gosec
	return base64.StdEncoding.EncodeToString(sum[:])
}
