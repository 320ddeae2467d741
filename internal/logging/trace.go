package logging

import (
	"bytes"
	"io"
	"strings"
	"sync"
)

// Namespaces whose elements carry credentials.
const (
	nsSASL    = "urn:ietf:params:xml:ns:xmpp-sasl"
	nsSASL2   = "urn:xmpp:sasl:2"
	nsStreams = "http://etherx.jabber.org/streams"
	nsXML     = "http://www.w3.org/XML/1998/namespace"
)

// Redacted replaces the content of credential-bearing elements.
const Redacted = "[redacted]"

// maxMarkup bounds how much of a single tag is buffered while waiting for its
// closing '>'. Longer markup is truncated in the trace (never in the stream).
const maxMarkup = 64 << 10

// TraceWriter is an io.Writer that copies an XML stream to an underlying
// writer with credentials redacted. It is meant to sit on one direction of
// an XMPP connection (for example via io.TeeReader or io.MultiWriter), so
// each direction needs its own TraceWriter.
//
// Redacted are the contents of the SASL elements auth, response, challenge
// and success (RFC 6120), their SASL2 counterparts, and every password
// element whatever its namespace (jabber:iq:register, jabber:iq:auth, MUC
// room passwords). Elements are matched by resolved namespace, so a body
// that merely mentions "<auth>" is not touched; an element whose namespace
// cannot be resolved is treated as SASL, failing safe.
//
// Writes may split tags anywhere: a partial tag is held back until its '>'
// arrives, and text inside a redacted element is dropped as it streams in,
// so no secret ever reaches the underlying writer.
//
// Each Write that produces output emits one record: prefix, the redacted
// bytes, then a newline. Write never fails: tracing must not break the
// connection it observes, so the first error of the underlying writer is
// remembered (see Err) and later output is discarded.
type TraceWriter struct {
	mu     sync.Mutex
	w      io.Writer
	prefix string
	r      redactor
	buf    []byte
	err    error
}

// NewTraceWriter returns a TraceWriter writing records to w, each starting
// with prefix (for example "SEND " or "RECV ").
func NewTraceWriter(w io.Writer, prefix string) *TraceWriter {
	return &TraceWriter{w: w, prefix: prefix}
}

// Write redacts p and writes the result as one record. It always returns
// len(p), nil.
func (t *TraceWriter) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf[:0], t.prefix...)
	start := len(t.buf)
	t.buf = t.r.feed(t.buf, p)
	if len(t.buf) > start && t.err == nil {
		t.buf = append(t.buf, '\n')
		_, t.err = t.w.Write(t.buf)
	}
	return len(p), nil
}

// Err returns the first error the underlying writer reported, if any.
func (t *TraceWriter) Err() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.err
}

// Redact returns a copy of the XML fragment b with credentials replaced as
// described for TraceWriter. A trailing incomplete tag is kept as is.
func Redact(b []byte) []byte {
	var r redactor
	out := r.feed(nil, b)
	if r.inMarkup && r.depth == 0 {
		out = append(out, r.pending...)
	}
	return out
}

// markupKind classifies the markup between '<' and '>'.
type markupKind uint8

const (
	kindUnknown markupKind = iota // only "<" or "<!" seen so far
	kindTag                       // start, end or empty-element tag
	kindPI                        // <? ... ?>
	kindComment                   // <!-- ... -->
	kindCDATA                     // <![CDATA[ ... ]]>
	kindDecl                      // <!DOCTYPE ...> and other <! ... >
)

// scope holds the namespace declarations of one open element.
type scope struct {
	hasDefault bool
	def        string
	prefixes   map[string]string
}

// redactor is a streaming tokenizer that copies XML, dropping the content
// of sensitive elements. It is not a validating parser: it only needs to
// find tag boundaries (respecting quotes, comments and CDATA) and track
// namespace scopes.
type redactor struct {
	inMarkup bool
	pending  []byte // the current markup from '<', up to maxMarkup bytes
	n        int    // bytes of current markup seen (may exceed len(pending))
	kind     markupKind
	quote    byte    // open quote inside a tag, 0 if none
	last     [2]byte // the two bytes before the current one

	depth  int  // >0 while inside a redacted element
	hidden bool // something was dropped in the current redacted element
	stack  []scope
}

// feed processes p and appends what may be written to dst.
func (r *redactor) feed(dst, p []byte) []byte {
	for len(p) > 0 {
		if !r.inMarkup {
			i := bytes.IndexByte(p, '<')
			text := p
			if i >= 0 {
				text = p[:i]
			}
			if r.depth == 0 {
				dst = append(dst, text...)
			} else if len(text) > 0 {
				r.hidden = true
			}
			if i < 0 {
				return dst
			}
			r.startMarkup()
			p = p[i+1:]
			continue
		}
		consumed, done := r.scan(p)
		p = p[consumed:]
		if done {
			r.inMarkup = false
			dst = r.finish(dst)
		}
	}
	return dst
}

func (r *redactor) startMarkup() {
	r.inMarkup = true
	r.pending = append(r.pending[:0], '<')
	r.n = 1
	r.kind = kindUnknown
	r.quote = 0
	r.last = [2]byte{0, '<'}
}

// scan consumes bytes of the current markup from p. It reports how many
// bytes it used and whether the markup is complete.
func (r *redactor) scan(p []byte) (int, bool) {
	for i, c := range p {
		if len(r.pending) < maxMarkup {
			r.pending = append(r.pending, c)
		}
		r.n++
		prev := r.last
		r.last = [2]byte{prev[1], c}
		if r.kind == kindUnknown {
			r.classify()
		}
		switch r.kind {
		case kindTag:
			switch {
			case r.quote != 0:
				if c == r.quote {
					r.quote = 0
				}
			case c == '"' || c == '\'':
				r.quote = c
			case c == '>':
				return i + 1, true
			}
		case kindPI:
			if c == '>' && prev[1] == '?' && r.n >= 4 {
				return i + 1, true
			}
		case kindComment:
			if c == '>' && prev == [2]byte{'-', '-'} && r.n >= 7 {
				return i + 1, true
			}
		case kindCDATA:
			if c == '>' && prev == [2]byte{']', ']'} && r.n >= 12 {
				return i + 1, true
			}
		case kindDecl, kindUnknown:
			if c == '>' {
				return i + 1, true
			}
		}
	}
	return len(p), false
}

// classify decides the markup kind from its first bytes.
func (r *redactor) classify() {
	b := r.pending
	if len(b) < 2 {
		return
	}
	switch b[1] {
	case '?':
		r.kind = kindPI
		return
	case '!':
	default:
		r.kind = kindTag
		// The byte just appended may already be a quote or '>'; scan
		// handles it after classification.
		return
	}
	const comment, cdata = "<!--", "<![CDATA["
	s := string(b)
	switch {
	case strings.HasPrefix(s, comment):
		r.kind = kindComment
	case strings.HasPrefix(s, cdata):
		r.kind = kindCDATA
	case !strings.HasPrefix(comment, s) && !strings.HasPrefix(cdata, s):
		r.kind = kindDecl
	}
}

// finish handles one complete piece of markup.
func (r *redactor) finish(dst []byte) []byte {
	truncated := r.n > len(r.pending)
	if r.kind != kindTag {
		if r.depth > 0 {
			r.hidden = true
			return dst
		}
		dst = append(dst, r.pending...)
		if truncated {
			dst = append(dst, "[truncated]"...)
		}
		return dst
	}

	end := len(r.pending) > 1 && r.pending[1] == '/'
	empty := !end && r.last == [2]byte{'/', '>'}
	name, attrs := parseTag(r.pending)

	if end {
		if len(r.stack) > 0 {
			r.stack = r.stack[:len(r.stack)-1]
		}
		if r.depth > 0 {
			r.depth--
			if r.depth > 0 {
				return dst
			}
			if r.hidden {
				dst = append(dst, Redacted...)
			}
			r.hidden = false
		}
		return r.emitTag(dst, truncated)
	}

	var sc scope
	for _, a := range attrs {
		switch {
		case a.name == "xmlns":
			sc.hasDefault, sc.def = true, a.value
		case strings.HasPrefix(a.name, "xmlns:"):
			if sc.prefixes == nil {
				sc.prefixes = make(map[string]string)
			}
			sc.prefixes[a.name[len("xmlns:"):]] = a.value
		}
	}
	prefix, local := "", name
	if i := strings.IndexByte(name, ':'); i >= 0 {
		prefix, local = name[:i], name[i+1:]
	}
	r.stack = append(r.stack, sc)
	ns := r.resolve(prefix)
	if local == "stream" && ns == nsStreams && r.depth == 0 {
		// A stream header (initial or after STARTTLS/SASL restart) starts
		// a fresh document: forget the scopes of the previous one.
		r.stack = append(r.stack[:0], sc)
	}
	if empty {
		r.stack = r.stack[:len(r.stack)-1]
	}

	if r.depth > 0 {
		r.hidden = true
		if !empty {
			r.depth++
		}
		return dst
	}
	dst = r.emitTag(dst, truncated)
	if !empty && sensitive(ns, local) {
		r.depth = 1
		r.hidden = false
	}
	return dst
}

func (r *redactor) emitTag(dst []byte, truncated bool) []byte {
	dst = append(dst, r.pending...)
	if truncated {
		dst = append(dst, "[truncated]>"...)
	}
	return dst
}

// resolve returns the namespace bound to prefix ("" for the default
// namespace) in the current scope, or "" if it is not declared.
func (r *redactor) resolve(prefix string) string {
	if prefix == "xml" {
		return nsXML
	}
	for i := len(r.stack) - 1; i >= 0; i-- {
		sc := r.stack[i]
		if prefix == "" {
			if sc.hasDefault {
				return sc.def
			}
			continue
		}
		if v, ok := sc.prefixes[prefix]; ok {
			return v
		}
	}
	return ""
}

// sensitive reports whether the content of element {ns}local must be
// redacted. An unresolved namespace ("") is treated like SASL.
func sensitive(ns, local string) bool {
	if local == "password" {
		return true
	}
	switch ns {
	case nsSASL:
		return saslElement(local)
	case nsSASL2:
		return sasl2Element(local)
	case "":
		return saslElement(local) || sasl2Element(local)
	}
	return false
}

func saslElement(local string) bool {
	switch local {
	case "auth", "response", "challenge", "success":
		return true
	}
	return false
}

func sasl2Element(local string) bool {
	switch local {
	case "initial-response", "response", "challenge", "additional-data":
		return true
	}
	return false
}

type attr struct{ name, value string }

// parseTag extracts the element name and attributes of a start or end tag
// b, which begins with '<'. It is lenient: malformed attributes end the
// scan rather than fail, since the goal is only to find namespace
// declarations.
func parseTag(b []byte) (string, []attr) {
	i := 1
	if i < len(b) && b[i] == '/' {
		i++
	}
	start := i
	for i < len(b) && !isSpace(b[i]) && b[i] != '/' && b[i] != '>' {
		i++
	}
	name := string(b[start:i])
	var attrs []attr
	for {
		for i < len(b) && isSpace(b[i]) {
			i++
		}
		start = i
		for i < len(b) && !isSpace(b[i]) && b[i] != '=' && b[i] != '/' && b[i] != '>' {
			i++
		}
		if i == start {
			return name, attrs
		}
		an := string(b[start:i])
		for i < len(b) && isSpace(b[i]) {
			i++
		}
		if i >= len(b) || b[i] != '=' {
			return name, attrs
		}
		i++
		for i < len(b) && isSpace(b[i]) {
			i++
		}
		if i >= len(b) || (b[i] != '"' && b[i] != '\'') {
			return name, attrs
		}
		q := b[i]
		i++
		start = i
		for i < len(b) && b[i] != q {
			i++
		}
		if i >= len(b) {
			return name, attrs
		}
		attrs = append(attrs, attr{an, string(b[start:i])})
		i++
	}
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r'
}
