package session

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"xchat/store"
)

// Replies (XEP-0461) go out with a quote of the message they answer in
// front of the body, marked as a fallback (XEP-0428), so that clients
// without replies still show what is answered and clients with them strip
// it. In an OMEMO chat the quote is encrypted with the body; the <reply/>
// and <fallback/> elements stay outside, as legacy OMEMO encrypts only
// the body.

const (
	quoteLines    = 3   // lines of the original quoted at most
	quoteLineRune = 100 // and runes per line
)

// replyWire is how a reply goes on the wire: the body with its quote, the
// fallback element marking the quote, and the author for <reply to=”/>.
// For a message that is not a reply, body is m.Body and the rest empty.
type replyWire struct {
	body     string
	fallback string
	to       string
}

func (c *Client) replyWire(ctx context.Context, m store.Message) replyWire {
	w := replyWire{body: m.Body}
	if m.ReplyTo == "" {
		return w
	}
	if m.Kind == store.KindChat {
		w.to = m.Peer // in a room: the author's occupant JID, below
	}
	orig, err := c.st.FindRef(ctx, c.acct, m.Peer, m.ReplyTo)
	if err != nil || orig.Retracted || orig.Body == "" {
		return w // nothing to quote: the reply element alone
	}
	if m.Kind == store.KindGroupchat && orig.Sender != "" {
		w.to = m.Peer + "/" + orig.Sender
	}
	quote := quoteOf(orig.Sender, orig.Body)
	w.body = quote + m.Body
	w.fallback = fmt.Sprintf(`<fallback xmlns="urn:xmpp:fallback:0" for="%s"><body start="0" end="%d"></body></fallback>`,
		nsReply, utf8.RuneCountInString(quote))
	return w
}

// quoteOf is the fallback quote of a message: "> author wrote:" and its
// first lines, each line shortened, ending in a newline.
func quoteOf(author, body string) string {
	var b strings.Builder
	if author != "" {
		fmt.Fprintf(&b, "> %s wrote:\n", oneLine(author))
	}
	lines := strings.Split(strings.TrimSpace(body), "\n")
	for i, l := range lines {
		if i == quoteLines {
			b.WriteString("> …\n")
			break
		}
		l = strings.TrimRight(l, "\r")
		if utf8.RuneCountInString(l) > quoteLineRune {
			l = string([]rune(l)[:quoteLineRune-1]) + "…"
		}
		b.WriteString("> " + l + "\n")
	}
	return b.String()
}

func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' {
			return ' '
		}
		return r
	}, s)
}
