package logging

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

const (
	streamHeader = `<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='example.org' version='1.0'>`
	sasl         = `xmlns='urn:ietf:params:xml:ns:xmpp-sasl'`
)

var redactCases = []struct {
	name    string
	in      string
	want    string
	secrets []string // must not appear in the output
}{
	{
		name:    "sasl plain auth",
		in:      `<auth ` + sasl + ` mechanism='PLAIN'>AGFsaWNlAHNlY3JldA==</auth>`,
		want:    `<auth ` + sasl + ` mechanism='PLAIN'>[redacted]</auth>`,
		secrets: []string{"AGFsaWNlAHNlY3JldA=="},
	},
	{
		name: "scram exchange in a stream",
		in: streamHeader +
			`<auth xmlns="urn:ietf:params:xml:ns:xmpp-sasl" mechanism="SCRAM-SHA-1">biwsbj1hbGljZSxyPWZ5a28=</auth>` +
			`<challenge xmlns="urn:ietf:params:xml:ns:xmpp-sasl">cj1meWtvK2QybGJiRmdPTlJ2OXF=</challenge>` +
			`<response xmlns="urn:ietf:params:xml:ns:xmpp-sasl">Yz1iaXdzLHI9ZnlrbytkMmxiYk=</response>` +
			`<success xmlns="urn:ietf:params:xml:ns:xmpp-sasl">dj1ybUY5cHFWOFM3c3VBb1pXamE0ZEpSa0ZzS1E9</success>`,
		want: streamHeader +
			`<auth xmlns="urn:ietf:params:xml:ns:xmpp-sasl" mechanism="SCRAM-SHA-1">[redacted]</auth>` +
			`<challenge xmlns="urn:ietf:params:xml:ns:xmpp-sasl">[redacted]</challenge>` +
			`<response xmlns="urn:ietf:params:xml:ns:xmpp-sasl">[redacted]</response>` +
			`<success xmlns="urn:ietf:params:xml:ns:xmpp-sasl">[redacted]</success>`,
		secrets: []string{"biwsbj1hbGljZSxyPWZ5a28=", "cj1meWtv", "Yz1iaXdz", "dj1ybUY5"},
	},
	{
		name: "empty success untouched",
		in:   `<success ` + sasl + `/><success ` + sasl + `></success>`,
		want: `<success ` + sasl + `/><success ` + sasl + `></success>`,
	},
	{
		name:    "in-band registration password",
		in:      `<iq type='set' id='reg2'><query xmlns='jabber:iq:register'><username>bill</username><password>Calliope</password><email>b@example.com</email></query></iq>`,
		want:    `<iq type='set' id='reg2'><query xmlns='jabber:iq:register'><username>bill</username><password>[redacted]</password><email>b@example.com</email></query></iq>`,
		secrets: []string{"Calliope"},
	},
	{
		name:    "muc join password",
		in:      `<presence to='room@muc.example.org/me'><x xmlns='http://jabber.org/protocol/muc'><password>cauldronburn</password></x></presence>`,
		want:    `<presence to='room@muc.example.org/me'><x xmlns='http://jabber.org/protocol/muc'><password>[redacted]</password></x></presence>`,
		secrets: []string{"cauldronburn"},
	},
	{
		name: "body mentioning credentials untouched",
		in:   streamHeader + `<message to='bob@example.org'><body>my &lt;auth&gt; response was "password"</body></message>`,
		want: streamHeader + `<message to='bob@example.org'><body>my &lt;auth&gt; response was "password"</body></message>`,
	},
	{
		name: "response in another namespace untouched",
		in:   streamHeader + `<iq type='result'><response xmlns='urn:example:poll'>yes</response></iq>`,
		want: streamHeader + `<iq type='result'><response xmlns='urn:example:poll'>yes</response></iq>`,
	},
	{
		name:    "prefixed sasl element",
		in:      `<sasl:auth xmlns:sasl='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>c2VjcmV0</sasl:auth>`,
		want:    `<sasl:auth xmlns:sasl='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>[redacted]</sasl:auth>`,
		secrets: []string{"c2VjcmV0"},
	},
	{
		name:    "unresolved namespace fails safe",
		in:      `<challenge>c2VjcmV0</challenge>`,
		want:    `<challenge>[redacted]</challenge>`,
		secrets: []string{"c2VjcmV0"},
	},
	{
		name:    "quoted > inside an attribute",
		in:      `<auth ` + sasl + ` mechanism='a>b' x="c>d">c2VjcmV0</auth>`,
		want:    `<auth ` + sasl + ` mechanism='a>b' x="c>d">[redacted]</auth>`,
		secrets: []string{"c2VjcmV0"},
	},
	{
		name:    "nested markup inside a redacted element",
		in:      `<password><b>c2VjcmV0</b><!-- c2VjcmV0 -->c2VjcmV0<x/></password><after/>`,
		want:    `<password>[redacted]</password><after/>`,
		secrets: []string{"c2VjcmV0"},
	},
	{
		name:    "cdata inside a password",
		in:      `<password><![CDATA[se<cr>et]]></password><body><![CDATA[a<b>]]></body>`,
		want:    `<password>[redacted]</password><body><![CDATA[a<b>]]></body>`,
		secrets: []string{"se<cr>et", "cr>et"},
	},
	{
		name: "comment with markup passes through",
		in:   `<!-- <auth>not really</auth> --><a/>`,
		want: `<!-- <auth>not really</auth> --><a/>`,
	},
	{
		name: "stream restart after sasl",
		in: streamHeader + `<auth ` + sasl + `>c2VjcmV0</auth><success ` + sasl + `/>` +
			streamHeader + `<iq type='set' id='b'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>xchat</resource></bind></iq>` +
			`<response xmlns='urn:example:other'>visible</response>`,
		want: streamHeader + `<auth ` + sasl + `>[redacted]</auth><success ` + sasl + `/>` +
			streamHeader + `<iq type='set' id='b'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>xchat</resource></bind></iq>` +
			`<response xmlns='urn:example:other'>visible</response>`,
		secrets: []string{"c2VjcmV0"},
	},
	{
		name:    "sasl2 initial response",
		in:      `<authenticate xmlns='urn:xmpp:sasl:2' mechanism='PLAIN'><initial-response>c2VjcmV0</initial-response><user-agent/></authenticate>`,
		want:    `<authenticate xmlns='urn:xmpp:sasl:2' mechanism='PLAIN'><initial-response>[redacted]</initial-response><user-agent/></authenticate>`,
		secrets: []string{"c2VjcmV0"},
	},
	{
		name: "whitespace keepalive",
		in:   " \n",
		want: " \n",
	},
}

func TestRedact(t *testing.T) {
	for _, tc := range redactCases {
		t.Run(tc.name, func(t *testing.T) {
			got := string(Redact([]byte(tc.in)))
			if got != tc.want {
				t.Errorf("Redact:\n got %s\nwant %s", got, tc.want)
			}
		})
	}
}

// feedChunks runs input through a fresh redactor in the given chunks and
// returns the output of each call.
func feedChunks(chunks ...string) []string {
	var r redactor
	out := make([]string, len(chunks))
	for i, c := range chunks {
		out[i] = string(r.feed(nil, []byte(c)))
	}
	return out
}

// TestRedactSplitWrites cuts every case at every position (and once per
// byte) and checks that the output is the same as for a single write and
// that no secret leaks in any chunk.
func TestRedactSplitWrites(t *testing.T) {
	for _, tc := range redactCases {
		t.Run(tc.name, func(t *testing.T) {
			for cut := 1; cut < len(tc.in); cut++ {
				out := feedChunks(tc.in[:cut], tc.in[cut:])
				if got := out[0] + out[1]; got != tc.want {
					t.Fatalf("split at %d (%q | %q):\n got %s\nwant %s", cut, tc.in[:cut], tc.in[cut:], got, tc.want)
				}
				checkSecrets(t, tc.secrets, out...)
			}
			bytewise := make([]string, len(tc.in))
			for i := range tc.in {
				bytewise[i] = tc.in[i : i+1]
			}
			out := feedChunks(bytewise...)
			if got := strings.Join(out, ""); got != tc.want {
				t.Fatalf("byte-wise:\n got %s\nwant %s", got, tc.want)
			}
			checkSecrets(t, tc.secrets, strings.Join(out, ""))
		})
	}
}

func checkSecrets(t *testing.T, secrets []string, outs ...string) {
	t.Helper()
	for _, o := range outs {
		for _, s := range secrets {
			if strings.Contains(o, s) {
				t.Fatalf("secret %q leaked in %q", s, o)
			}
		}
	}
}

func TestTraceWriterRecords(t *testing.T) {
	var buf bytes.Buffer
	w := NewTraceWriter(&buf, "RECV ")
	writes := []string{
		`<challenge ` + sasl + `>c2Vj`,
		`cmV0</chall`,
		`enge><mess`,
		`age/>`,
	}
	for _, s := range writes {
		n, err := w.Write([]byte(s))
		if n != len(s) || err != nil {
			t.Fatalf("Write(%q) = %d, %v", s, n, err)
		}
	}
	// The second write produces nothing (secret dropped, partial end tag
	// held back), so it yields no record.
	want := "RECV <challenge " + sasl + ">\n" +
		"RECV [redacted]</challenge>\n" +
		"RECV <message/>\n"
	if buf.String() != want {
		t.Errorf("trace:\n got %q\nwant %q", buf.String(), want)
	}
}

type failWriter struct{ calls int }

func (f *failWriter) Write(p []byte) (int, error) {
	f.calls++
	return 0, errors.New("disk full")
}

func TestTraceWriterSwallowsErrors(t *testing.T) {
	fw := &failWriter{}
	w := NewTraceWriter(fw, "")
	for range 3 {
		if n, err := w.Write([]byte("<a/>")); n != 4 || err != nil {
			t.Fatalf("Write = %d, %v; want 4, nil", n, err)
		}
	}
	if w.Err() == nil || w.Err().Error() != "disk full" {
		t.Errorf("Err() = %v, want disk full", w.Err())
	}
	if fw.calls != 1 {
		t.Errorf("underlying writer called %d times after failing, want 1", fw.calls)
	}
}

func TestRedactHugeTag(t *testing.T) {
	huge := `<auth ` + sasl + ` pad='` + strings.Repeat("p", maxMarkup) + `'>c2VjcmV0</auth><ok/>`
	var r redactor
	var out []byte
	for i := 0; i < len(huge); i += 1000 {
		out = r.feed(out, []byte(huge[i:min(i+1000, len(huge))]))
	}
	s := string(out)
	if strings.Contains(s, "c2VjcmV0") {
		t.Error("secret leaked after an oversized tag")
	}
	if !strings.HasSuffix(s, "[truncated]>[redacted]</auth><ok/>") {
		t.Errorf("unexpected tail %q", s[max(0, len(s)-60):])
	}
	if len(r.pending) > maxMarkup {
		t.Errorf("buffered %d bytes, limit %d", len(r.pending), maxMarkup)
	}
}

func BenchmarkTraceWriter(b *testing.B) {
	msg := []byte(`<message to='bob@example.org' from='alice@example.org/xchat' type='chat' id='5f1c'><body>Hello there, this is a fairly ordinary chat message.</body><active xmlns='http://jabber.org/protocol/chatstates'/></message>`)
	w := NewTraceWriter(discard{}, "SEND ")
	w.Write([]byte(streamHeader))
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		w.Write(msg)
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
