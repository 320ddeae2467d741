package omemopeer_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"mellium.im/sasl"
	"mellium.im/xmlstream"
	"mellium.im/xmpp"
	"mellium.im/xmpp/jid"

	"xchat/internal/testserver"
	"xchat/omemo"
	"xchat/store"
)

const python = "/usr/bin/python3"

// stepTimeout bounds every wait for the other side.
const stepTimeout = 30 * time.Second

// requirePython skips (or fails under CI=true) when the Debian Python
// packages the peer needs are missing.
func requirePython(t *testing.T) {
	t.Helper()
	out, err := exec.Command(python, "-c", "import slixmpp, omemo, oldmemo, xeddsa").CombinedOutput()
	if err == nil {
		return
	}
	msg := fmt.Sprintf("python OMEMO peer unavailable (%v): %s", err, out)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// peer is the running peer.py.
type peer struct {
	t      *testing.T
	jid    string
	device uint32
	stdin  io.WriteCloser
	lines  chan map[string]any
	stderr *bytes.Buffer
}

func startPeer(t *testing.T, srv *testserver.Server, u testserver.User) *peer {
	t.Helper()
	cmd := exec.Command(python, "peer.py", "--jid", u.JID, "--password", u.Password,
		"--server", srv.C2SAddr, "--ca", srv.CAFile)
	cmd.Dir = "."
	p := &peer{t: t, jid: u.JID, lines: make(chan map[string]any, 100), stderr: &bytes.Buffer{}}
	var mu sync.Mutex
	cmd.Stderr = writerFunc(func(b []byte) (int, error) { mu.Lock(); defer mu.Unlock(); return p.stderr.Write(b) })
	var err error
	if p.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			var v map[string]any
			if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
				v = map[string]any{"error": "bad output line: " + sc.Text()}
			}
			p.lines <- v
		}
		close(p.lines)
	}()
	t.Cleanup(func() {
		p.stdin.Close() // peer.py quits at EOF
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			mu.Lock()
			t.Logf("peer.py stderr:\n%s", p.stderr.String())
			mu.Unlock()
		}
	})
	ready := p.expect(func(v map[string]any) bool { return v["ready"] == true })
	p.device = uint32(ready["device"].(float64))
	if !omemo.ValidDeviceID(p.device) || len(ready["fingerprint"].(string)) != 64 {
		t.Fatalf("peer ready line %v", ready)
	}
	return p
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }

// expect returns the next output line that satisfies ok; an error line
// fails the test.
func (p *peer) expect(ok func(map[string]any) bool) map[string]any {
	p.t.Helper()
	timeout := time.After(stepTimeout)
	for {
		select {
		case v, open := <-p.lines:
			if !open {
				p.t.Fatal("peer.py exited")
			}
			if _, bad := v["error"]; bad {
				p.t.Fatalf("peer.py: %v", v)
			}
			if ok(v) {
				return v
			}
		case <-timeout:
			p.t.Fatal("timed out waiting for peer.py")
		}
	}
}

// expectBody waits until the peer decrypted text from jid.
func (p *peer) expectBody(from, text string) {
	p.t.Helper()
	p.expect(func(v map[string]any) bool {
		if v["from"] == from && v["body"] != nil {
			if v["body"] != text {
				p.t.Fatalf("peer got %q, want %q", v["body"], text)
			}
			return true
		}
		return false
	})
}

func (p *peer) send(to, text string) {
	p.t.Helper()
	if _, err := fmt.Fprintf(p.stdin, "send %s %s\n", to, text); err != nil {
		p.t.Fatal(err)
	}
	p.expect(func(v map[string]any) bool { return v["sent"] == to && v["text"] == text })
}

// goClient is the Go side: a raw mellium session plus an omemo.Manager.
type goClient struct {
	t    *testing.T
	jid  string
	s    *xmpp.Session
	st   *store.Store
	m    *omemo.Manager
	msgs chan []byte
	ids  atomic.Int64
}

func newGoClient(t *testing.T, srv *testserver.Server, u testserver.User) *goClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), stepTimeout)
	defer cancel()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "xchat.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	m, err := omemo.Open(ctx, st, u.JID, nil)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", srv.C2SAddr)
	if err != nil {
		t.Fatal(err)
	}
	s, err := xmpp.NewClientSession(ctx, jid.MustParse(u.JID+"/go"), conn,
		xmpp.StartTLS(srv.TLSConfig()),
		xmpp.SASL("", u.Password, sasl.ScramSha1, sasl.Plain),
		xmpp.BindResource())
	if err != nil {
		t.Fatal(err)
	}
	c := &goClient{t: t, jid: u.JID, s: s, st: st, m: m, msgs: make(chan []byte, 200)}
	go func() {
		_ = s.Serve(xmpp.HandlerFunc(func(r xmlstream.TokenReadEncoder, start *xml.StartElement) error {
			if start.Name.Local != "message" {
				return nil
			}
			var buf bytes.Buffer
			e := xml.NewEncoder(&buf)
			e.EncodeToken(*start)
			if _, err := xmlstream.Copy(e, xmlstream.Inner(r)); err != nil {
				return err
			}
			e.EncodeToken(start.End())
			e.Flush()
			select {
			case c.msgs <- buf.Bytes():
			default:
			}
			return nil
		}))
	}()
	t.Cleanup(func() { s.Close(); conn.Close() })
	// Available presence, or the server keeps chat messages offline.
	if err := s.Send(ctx, xml.NewDecoder(strings.NewReader("<presence/>"))); err != nil {
		t.Fatal(err)
	}
	return c
}

func (c *goClient) id() string { return fmt.Sprintf("go%d", c.ids.Add(1)) }

// iq sends a raw IQ and returns the response stanza.
func (c *goClient) iq(raw []byte) []byte {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), stepTimeout)
	defer cancel()
	resp, err := c.s.SendIQ(ctx, xml.NewDecoder(bytes.NewReader(raw)))
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Close()
	var buf bytes.Buffer
	e := xml.NewEncoder(&buf)
	if _, err := xmlstream.Copy(e, resp); err != nil {
		c.t.Fatal(err)
	}
	e.Flush()
	return buf.Bytes()
}

func iqType(resp []byte) string {
	var v struct {
		Type string `xml:"type,attr"`
	}
	xml.Unmarshal(resp, &v)
	return v.Type
}

// publish publishes with publish-options, reconfiguring the node first when
// the server answers precondition-not-met.
func (c *goClient) publish(node string, build func(id string) []byte) {
	c.t.Helper()
	resp := c.iq(build(c.id()))
	if iqType(resp) == "result" {
		return
	}
	if !omemo.PreconditionNotMet(resp) {
		c.t.Fatalf("publish %s: %s", node, resp)
	}
	if resp := c.iq(omemo.ConfigureNodeIQ(c.id(), node, omemo.PublishOptions{})); iqType(resp) != "result" {
		c.t.Fatalf("configure %s: %s", node, resp)
	}
	if resp := c.iq(build(c.id())); iqType(resp) != "result" {
		c.t.Fatalf("publish %s again: %s", node, resp)
	}
}

// announce publishes our device list and bundle.
func (c *goClient) announce() {
	c.t.Helper()
	ctx := context.Background()
	b, err := c.m.Bundle(ctx)
	if err != nil {
		c.t.Fatal(err)
	}
	c.publish(omemo.BundleNode(c.m.DeviceID()), func(id string) []byte {
		return omemo.PublishBundleIQ(id, c.m.DeviceID(), b, omemo.PublishOptions{})
	})
	c.publish(omemo.NodeDeviceList, func(id string) []byte {
		return omemo.PublishDeviceListIQ(id, []uint32{c.m.DeviceID()}, omemo.PublishOptions{})
	})
	// Our own list as the server holds it.
	ids, err := omemo.FindDeviceList(c.iq(omemo.FetchDeviceListIQ(c.id(), c.jid)))
	if err != nil || len(ids) != 1 || ids[0] != c.m.DeviceID() {
		c.t.Fatalf("own device list %v %v", ids, err)
	}
}

// learn fetches the device list of who and builds sessions from the bundles.
func (c *goClient) learn(who string) []uint32 {
	c.t.Helper()
	ctx := context.Background()
	ids, err := omemo.FindDeviceList(c.iq(omemo.FetchDeviceListIQ(c.id(), who)))
	if err != nil {
		c.t.Fatal(err)
	}
	if err := c.m.SetDeviceList(ctx, who, ids); err != nil {
		c.t.Fatal(err)
	}
	for _, id := range ids {
		b, err := omemo.FindBundle(c.iq(omemo.FetchBundleIQ(c.id(), who, id)))
		if err != nil {
			c.t.Fatalf("bundle %d of %s: %v", id, who, err)
		}
		if err := c.m.ProcessBundle(ctx, who, id, b); err != nil {
			c.t.Fatal(err)
		}
	}
	return ids
}

func (c *goClient) sendEncrypted(to string, enc *omemo.Encrypted) {
	c.t.Helper()
	c.sendEncryptedWith(to, c.id(), enc, "")
}

// sendEncryptedWith sends enc with the given stanza id and extra elements
// (a correction's <replace/>, say) next to it.
func (c *goClient) sendEncryptedWith(to, id string, enc *omemo.Encrypted, extra string) {
	c.t.Helper()
	var b bytes.Buffer
	b.WriteString(`<message type='chat' to='` + to + `' id='` + id + `'>`)
	b.WriteString(extra)
	b.Write(enc.Marshal())
	b.WriteString(`<store xmlns='urn:xmpp:hints'/><body>[OMEMO encrypted message]</body></message>`)
	ctx, cancel := context.WithTimeout(context.Background(), stepTimeout)
	defer cancel()
	if err := c.s.Send(ctx, xml.NewDecoder(&b)); err != nil {
		c.t.Fatal(err)
	}
}

// send encrypts text to the active devices of to and sends it; it returns
// whether each key was a prekey message.
func (c *goClient) send(to, text string) (prekey bool) {
	c.t.Helper()
	rcpt, err := c.m.Recipients(context.Background(), to)
	if err != nil || len(rcpt) == 0 {
		c.t.Fatalf("recipients %v %v", rcpt, err)
	}
	enc, errs := c.m.Encrypt(context.Background(), text, rcpt)
	if len(errs) > 0 {
		c.t.Fatal(errs)
	}
	c.sendEncrypted(to, enc)
	return enc.Keys[0].PreKey
}

// recv decrypts incoming messages until one with a body arrives; key
// transports (and the peer's automatic empty messages) are counted.
func (c *goClient) recv() (pt omemo.Plaintext, keyTransports int) {
	c.t.Helper()
	timeout := time.After(stepTimeout)
	for {
		select {
		case raw := <-c.msgs:
			enc, err := omemo.FindEncrypted(raw)
			if errors.Is(err, omemo.ErrNoItem) {
				continue // PEP notifications and the like
			}
			if err != nil {
				c.t.Fatalf("bad OMEMO element: %v\n%s", err, raw)
			}
			from := bareFrom(raw)
			pt, err := c.m.Decrypt(context.Background(), from, enc)
			if err != nil {
				c.t.Fatalf("decrypt from %s: %v\n%s", from, err, raw)
			}
			if pt.KeyTransport {
				keyTransports++
				continue
			}
			return pt, keyTransports
		case <-timeout:
			c.t.Fatal("timed out waiting for a message")
		}
	}
}

func bareFrom(stanza []byte) string {
	var v struct {
		From string `xml:"from,attr"`
	}
	xml.Unmarshal(stanza, &v)
	j, err := jid.Parse(v.From)
	if err != nil {
		return v.From
	}
	return j.Bare().String()
}

// TestInteropPython exchanges legacy OMEMO messages with python-omemo:
// first contact in each direction, then 20 messages each way.
func TestInteropPython(t *testing.T) {
	requirePython(t)
	srv := testserver.Start(t, testserver.Options{NoUpload: true})
	users := srv.Users(t, 3)
	py := startPeer(t, srv, users[0])

	t.Run("PeerInitiates", func(t *testing.T) {
		py.t = t
		alice := newGoClient(t, srv, users[1])
		alice.announce()
		py.send(alice.jid, "hello from python")
		pt, _ := alice.recv()
		if pt.Body != "hello from python" || !pt.NewSession || pt.Sender != (omemo.Address{JID: py.jid, Device: py.device}) {
			t.Fatalf("alice got %+v", pt)
		}
		// Complete the handshake as the XEP asks after a new session.
		kt, errs := alice.m.EncryptKeyTransport(context.Background(), []omemo.Address{pt.Sender})
		if len(errs) > 0 {
			t.Fatal(errs)
		}
		alice.sendEncrypted(py.jid, kt)
		py.expect(func(v map[string]any) bool { return v["keytransport"] == true && v["from"] == alice.jid })
		if err := alice.m.SetDeviceList(context.Background(), py.jid, []uint32{py.device}); err != nil {
			t.Fatal(err)
		}
		exchange(t, alice, py, false)
	})

	t.Run("GoInitiates", func(t *testing.T) {
		py.t = t
		carol := newGoClient(t, srv, users[2])
		carol.announce()
		if ids := carol.learn(py.jid); len(ids) != 1 || ids[0] != py.device {
			t.Fatalf("peer's device list %v, want [%d]", ids, py.device)
		}
		if !carol.send(py.jid, "hello from go") {
			t.Fatal("first message is not a prekey message")
		}
		py.expectBody(carol.jid, "hello from go")
		exchange(t, carol, py, true)
	})
}

// exchange sends 20 messages each way, alternating.
func exchange(t *testing.T, c *goClient, py *peer, goStarted bool) {
	t.Helper()
	for i := range 20 {
		text := "go to python " + strconv.Itoa(i) + " ✓"
		// Once the peer has answered, the session is acknowledged and no
		// more PreKeySignalMessages go out.
		if prekey := c.send(py.jid, text); prekey && (!goStarted || i > 0) {
			t.Fatalf("message %d is still a prekey message", i)
		}
		py.expectBody(c.jid, text)
		text = "python to go " + strconv.Itoa(i) + " ✓"
		py.send(c.jid, text)
		pt, _ := c.recv()
		if pt.Body != text || pt.Sender.Device != py.device {
			t.Fatalf("got %+v, want %q", pt, text)
		}
		if strings.Contains(pt.Body, "\x00") {
			t.Fatal("NUL in body")
		}
	}
}
