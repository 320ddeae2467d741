package media

import (
	"bytes"
	"encoding/xml"
	"io"
	"net/url"
	"path"
	"strings"
	"unicode"
	"unicode/utf8"
)

// NSOOB is XEP-0066 out-of-band data in messages.
const NSOOB = "jabber:x:oob"

// Kind classifies a link.
type Kind int

// Link kinds.
const (
	KindFile Kind = iota
	KindImage
)

func (k Kind) String() string {
	if k == KindImage {
		return "image"
	}
	return "file"
}

// Link is a downloadable URL found in a message.
type Link struct {
	URL       string
	Kind      Kind
	Encrypted bool // aesgcm://
	OOB       bool // announced in jabber:x:oob, i.e. meant as an attachment
}

var imageExts = map[string]bool{".jpg": true, ".jpeg": true, ".png": true, ".gif": true, ".webp": true}

// Classify tells images from other files by the extension of the URL path.
func Classify(rawURL string) Kind {
	u, err := url.Parse(rawURL)
	if err != nil {
		return KindFile
	}
	if imageExts[strings.ToLower(path.Ext(u.Path))] {
		return KindImage
	}
	return KindFile
}

// FindURLs returns the https:// and aesgcm:// URLs in text, in order, with
// trailing punctuation (and unbalanced closing brackets) removed.
func FindURLs(text string) []string {
	var out []string
	lower := strings.ToLower(text)
	for i := 0; i < len(text); {
		j := nextScheme(lower, i)
		if j < 0 {
			break
		}
		end := j
		for end < len(text) {
			r, n := utf8.DecodeRuneInString(text[end:])
			if unicode.IsSpace(r) || r == '<' || r == '>' || r == '"' || r == utf8.RuneError || unicode.IsControl(r) {
				break
			}
			end += n
		}
		u := trimURL(text[j:end])
		if _, rest, _ := strings.Cut(u, "://"); len(rest) > 0 && rest[0] != '/' {
			out = append(out, u)
		}
		i = max(end, j+1)
	}
	return out
}

func nextScheme(lower string, from int) int {
	best := -1
	for _, s := range []string{"https://", "aesgcm://"} {
		if k := strings.Index(lower[from:], s); k >= 0 && (best < 0 || from+k < best) {
			best = from + k
		}
	}
	return best
}

func trimURL(u string) string {
	for len(u) > 0 {
		last := u[len(u)-1]
		switch last {
		case '.', ',', ';', ':', '!', '?', '\'', '*':
			u = u[:len(u)-1]
			continue
		case ')', ']', '}':
			open := map[byte]byte{')': '(', ']': '[', '}': '{'}[last]
			if strings.Count(u, string(open)) < strings.Count(u, string(last)) {
				u = u[:len(u)-1]
				continue
			}
		}
		break
	}
	return u
}

// ParseOOB returns the URLs of the jabber:x:oob <x/> elements in a message
// (raw XML of the stanza or of its children).
func ParseOOB(raw []byte) ([]string, error) {
	d := xml.NewDecoder(bytes.NewReader(raw))
	var urls []string
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return urls, nil
		}
		if err != nil {
			return urls, err
		}
		se, ok := tok.(xml.StartElement)
		if !ok || se.Name.Space != NSOOB || se.Name.Local != "x" {
			continue
		}
		var x struct {
			URL string `xml:"url"`
		}
		if err := d.DecodeElement(&x, &se); err != nil {
			return urls, err
		}
		if u := strings.TrimSpace(x.URL); u != "" {
			urls = append(urls, u)
		}
	}
}

// MessageLinks merges the links of a body and its OOB URLs, without
// duplicates. OOB URLs count only if they are https (or aesgcm).
func MessageLinks(body string, oob []string) []Link {
	var out []Link
	seen := map[string]int{}
	add := func(u string, isOOB bool) {
		if i, ok := seen[u]; ok {
			out[i].OOB = out[i].OOB || isOOB
			return
		}
		l := strings.ToLower(u)
		enc := strings.HasPrefix(l, "aesgcm://")
		if !enc && !strings.HasPrefix(l, "https://") {
			return
		}
		seen[u] = len(out)
		out = append(out, Link{URL: u, Kind: Classify(u), Encrypted: enc, OOB: isOOB})
	}
	for _, u := range oob {
		add(u, true)
	}
	for _, u := range FindURLs(body) {
		add(u, false)
	}
	return out
}
