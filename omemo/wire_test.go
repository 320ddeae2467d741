package omemo

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func pubKey(fill byte) []byte { return append([]byte{5}, bytes.Repeat([]byte{fill}, 32)...) }

// The examples of XEP-0384 v0.3 with their BASE64ENCODED placeholders
// replaced by values of the right sizes, layout (line breaks, quoting)
// kept.
var (
	exKey1 = bytes.Repeat([]byte{0x33, 1}, 40)
	exKey2 = bytes.Repeat([]byte{0x33, 2}, 60)
	exIV   = bytes.Repeat([]byte{9}, 12)
	exBody = []byte("ciphertext")

	xepMessage = `<message to='juliet@capulet.lit' from='romeo@montague.lit' id='send1'>
  <encrypted xmlns='eu.siacs.conversations.axolotl'>
    <header sid='27183'>
      <key rid='31415'>` + b64(exKey1) + `</key>
      <key prekey="true" rid='12321'>` + b64(exKey2) + `</key>
      <!-- ... -->
      <iv>` + b64(exIV) + `</iv>
    </header>
    <payload>` + b64(exBody) + `</payload>
  </encrypted>
  <store xmlns='urn:xmpp:hints'/>
</message>`

	xepKeyTransport = `<encrypted xmlns='eu.siacs.conversations.axolotl'>
  <header sid='27183'>
    <key rid='31415'>` + b64(exKey1) + `</key>
    <key prekey="true" rid='12321'>` + b64(exKey2) + `</key>
    <!-- ... -->
    <iv>` + b64(exIV) + `</iv>
  </header>
</encrypted>`

	xepDeviceListEvent = `<message from='juliet@capulet.lit'
         to='romeo@montague.lit'
         type='headline'
         id='update_01'>
  <event xmlns='http://jabber.org/protocol/pubsub#event'>
    <items node='eu.siacs.conversations.axolotl.devicelist'>
      <item id='current'>
        <list xmlns='eu.siacs.conversations.axolotl'>
          <device id='12345' />
          <device id='4223' />
        </list>
      </item>
    </items>
  </event>
</message>`

	xepBundlePublish = `<iq from='juliet@capulet.lit' type='set' id='announce2'>
  <pubsub xmlns='http://jabber.org/protocol/pubsub'>
    <publish node='eu.siacs.conversations.axolotl.bundles:31415'>
      <item id='current'>
        <bundle xmlns='eu.siacs.conversations.axolotl'>
          <signedPreKeyPublic signedPreKeyId='1'>
            ` + b64(pubKey(1)) + `
          </signedPreKeyPublic>
          <signedPreKeySignature>
            ` + b64(bytes.Repeat([]byte{7}, 64)) + `
          </signedPreKeySignature>
          <identityKey>
            ` + b64(pubKey(2)) + `
          </identityKey>
          <prekeys>
            <preKeyPublic preKeyId='1'>
              ` + b64(pubKey(3)) + `
            </preKeyPublic>
            <preKeyPublic preKeyId='2'>
              ` + b64(pubKey(4)) + `
            </preKeyPublic>
            <preKeyPublic preKeyId='3'>
              ` + b64(pubKey(5)) + `
            </preKeyPublic>
            <!-- ... -->
          </prekeys>
        </bundle>
      </item>
    </publish>
  </pubsub>
</iq>`
)

func TestXEPMessageExample(t *testing.T) {
	var msg struct {
		Enc *Encrypted `xml:"eu.siacs.conversations.axolotl encrypted"`
	}
	if err := xml.Unmarshal([]byte(xepMessage), &msg); err != nil {
		t.Fatal(err)
	}
	want := &Encrypted{SID: 27183, IV: exIV, Payload: exBody, Keys: []Key{
		{RID: 31415, Data: exKey1}, {RID: 12321, PreKey: true, Data: exKey2}}}
	if !reflect.DeepEqual(msg.Enc, want) {
		t.Fatalf("got %+v", msg.Enc)
	}
	again, err := ParseEncrypted(want.Marshal())
	if err != nil || !reflect.DeepEqual(again, want) {
		t.Fatalf("round trip: %v %+v", err, again)
	}
	// Through encoding/xml's encoder too.
	out, err := xml.Marshal(struct {
		XMLName xml.Name `xml:"message"`
		Enc     *Encrypted
	}{Enc: want})
	if err != nil {
		t.Fatal(err)
	}
	var back struct {
		Enc *Encrypted `xml:"eu.siacs.conversations.axolotl encrypted"`
	}
	if err := xml.Unmarshal(out, &back); err != nil || !reflect.DeepEqual(back.Enc, want) {
		t.Fatalf("MarshalXML round trip: %v\n%s", err, out)
	}
}

func TestXEPKeyTransportExample(t *testing.T) {
	e, err := ParseEncrypted([]byte(xepKeyTransport))
	if err != nil {
		t.Fatal(err)
	}
	if !e.KeyTransport() || len(e.Keys) != 2 || !e.Keys[1].PreKey || e.Keys[0].PreKey {
		t.Fatalf("%+v", e)
	}
	if m := string(e.Marshal()); strings.Contains(m, "payload") {
		t.Fatalf("key transport marshals a payload: %s", m)
	}
	// An empty payload is a payload (empty body), not a key transport.
	e2, err := ParseEncrypted([]byte(strings.Replace(xepKeyTransport, "</header>", "</header><payload/>", 1)))
	if err != nil || e2.KeyTransport() {
		t.Fatalf("empty payload: %v %+v", err, e2)
	}
}

func TestXEPDeviceListAndBundle(t *testing.T) {
	ids, err := FindDeviceList([]byte(xepDeviceListEvent))
	if err != nil || !reflect.DeepEqual(ids, []uint32{12345, 4223}) {
		t.Fatalf("%v %v", ids, err)
	}
	if ids, err := ParseDeviceList(MarshalDeviceList([]uint32{12345, 4223, 31415})); err != nil || len(ids) != 3 || ids[2] != 31415 {
		t.Fatalf("round trip %v %v", ids, err)
	}
	// Our publish IQ carries the list at the same place.
	iq := PublishDeviceListIQ("announce1", []uint32{12345, 4223, 31415}, PublishOptions{})
	if ids, err := FindDeviceList(iq); err != nil || len(ids) != 3 {
		t.Fatalf("%v %v", ids, err)
	}
	b, err := FindBundle([]byte(xepBundlePublish))
	if err != nil {
		t.Fatal(err)
	}
	want := &Bundle{SignedPreKeyID: 1, SignedPreKey: pubKey(1), Signature: bytes.Repeat([]byte{7}, 64),
		IdentityKey: pubKey(2), PreKeys: []PreKeyPublic{{1, pubKey(3)}, {2, pubKey(4)}, {3, pubKey(5)}}}
	if !reflect.DeepEqual(b, want) {
		t.Fatalf("got %+v", b)
	}
	b2, err := FindBundle(PublishBundleIQ("announce2", 31415, want, PublishOptions{}))
	if err != nil || !reflect.DeepEqual(b2, want) {
		t.Fatalf("round trip %v %+v", err, b2)
	}
	if _, err := FindBundle([]byte(xepDeviceListEvent)); !errors.Is(err, ErrNoItem) {
		t.Fatalf("no bundle: %v", err)
	}
}

// iqShape decodes the parts of our pubsub IQs the tests look at.
type iqShape struct {
	Type   string `xml:"type,attr"`
	ID     string `xml:"id,attr"`
	To     string `xml:"to,attr"`
	PubSub struct {
		XMLName xml.Name
		Publish struct {
			Node string `xml:"node,attr"`
			Item struct {
				ID string `xml:"id,attr"`
			} `xml:"item"`
		} `xml:"publish"`
		Options struct {
			Form dataForm `xml:"jabber:x:data x"`
		} `xml:"publish-options"`
		Configure struct {
			Node string   `xml:"node,attr"`
			Form dataForm `xml:"jabber:x:data x"`
		} `xml:"configure"`
		Items *struct {
			Node string `xml:"node,attr"`
			Item []struct {
				ID string `xml:"id,attr"`
			} `xml:"item"`
		} `xml:"items"`
	} `xml:"pubsub"`
}

type dataForm struct {
	Type   string `xml:"type,attr"`
	Fields []struct {
		Var   string `xml:"var,attr"`
		Value string `xml:"value"`
	} `xml:"field"`
}

func (f dataForm) values() map[string]string {
	m := map[string]string{}
	for _, fl := range f.Fields {
		m[fl.Var] = fl.Value
	}
	return m
}

func TestPubSubIQs(t *testing.T) {
	var iq iqShape
	if err := xml.Unmarshal(PublishBundleIQ("p1", 31415, &Bundle{}, PublishOptions{MaxItems: "1"}), &iq); err != nil {
		t.Fatal(err)
	}
	if iq.Type != "set" || iq.ID != "p1" || iq.PubSub.XMLName.Space != nsPubSub ||
		iq.PubSub.Publish.Node != "eu.siacs.conversations.axolotl.bundles:31415" || iq.PubSub.Publish.Item.ID != "current" {
		t.Fatalf("%+v", iq)
	}
	v := iq.PubSub.Options.Form.values()
	if iq.PubSub.Options.Form.Type != "submit" || v["FORM_TYPE"] != nsPubSub+"#publish-options" ||
		v["pubsub#access_model"] != "open" || v["pubsub#max_items"] != "1" {
		t.Fatalf("publish-options %v", v)
	}
	// Without MaxItems (ejabberd) the field is absent.
	iq = iqShape{}
	xml.Unmarshal(PublishDeviceListIQ("p2", []uint32{1}, PublishOptions{}), &iq)
	if v := iq.PubSub.Options.Form.values(); len(v) != 2 || v["pubsub#access_model"] != "open" {
		t.Fatalf("options %v", v)
	}
	if iq.PubSub.Publish.Node != NodeDeviceList {
		t.Fatal(iq.PubSub.Publish.Node)
	}
	iq = iqShape{}
	xml.Unmarshal(ConfigureNodeIQ("c1", NodeDeviceList, PublishOptions{AccessModel: "open", MaxItems: "max"}), &iq)
	v = iq.PubSub.Configure.Form.values()
	if iq.PubSub.XMLName.Space != nsPubSubOwner || iq.PubSub.Configure.Node != NodeDeviceList ||
		v["FORM_TYPE"] != nsPubSub+"#node_config" || v["pubsub#access_model"] != "open" || v["pubsub#max_items"] != "max" {
		t.Fatalf("configure %+v %v", iq, v)
	}
	iq = iqShape{}
	xml.Unmarshal(FetchBundleIQ("f1", "juliet@capulet.lit", 31415), &iq)
	if iq.Type != "get" || iq.To != "juliet@capulet.lit" || iq.PubSub.Items == nil ||
		iq.PubSub.Items.Node != BundleNode(31415) || len(iq.PubSub.Items.Item) != 0 {
		t.Fatalf("fetch %+v", iq)
	}
	iq = iqShape{}
	xml.Unmarshal(FetchDeviceListIQ("f2", "a'b@x"), &iq)
	if iq.To != "a'b@x" || iq.PubSub.Items.Node != NodeDeviceList {
		t.Fatalf("fetch %+v", iq)
	}
	errIQ := `<iq type='error' id='p1'><error type='cancel'><conflict xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>
		<precondition-not-met xmlns='http://jabber.org/protocol/pubsub#errors'/></error></iq>`
	if !PreconditionNotMet([]byte(errIQ)) || PreconditionNotMet([]byte(`<iq type='error'><error><forbidden/></error></iq>`)) {
		t.Fatal("PreconditionNotMet")
	}
}

func TestParseRejectsBadElements(t *testing.T) {
	key := b64(bytes.Repeat([]byte{1}, 40))
	iv := b64(make([]byte, 12))
	enc := func(header, rest string) string {
		return `<encrypted xmlns='eu.siacs.conversations.axolotl'>` + header + rest + `</encrypted>`
	}
	good := enc(`<header sid='1'><key rid='2'>`+key+`</key><iv>`+iv+`</iv></header>`, "")
	if _, err := ParseEncrypted([]byte(good)); err != nil {
		t.Fatalf("good element rejected: %v", err)
	}
	bad := map[string]string{
		"empty":          "",
		"garbage":        "\x00\xff<<<",
		"truncated":      good[:len(good)-5],
		"wrong ns":       strings.Replace(good, NS, "urn:xmpp:omemo:2", 1),
		"no header":      enc("", "<payload>"+key+"</payload>"),
		"sid 0":          strings.Replace(good, "sid='1'", "sid='0'", 1),
		"sid too big":    strings.Replace(good, "sid='1'", "sid='2147483648'", 1),
		"sid negative":   strings.Replace(good, "sid='1'", "sid='-1'", 1),
		"sid text":       strings.Replace(good, "sid='1'", "sid='x'", 1),
		"no sid":         strings.Replace(good, "sid='1'", "", 1),
		"rid 0":          strings.Replace(good, "rid='2'", "rid='0'", 1),
		"no rid":         strings.Replace(good, "rid='2'", "", 1),
		"bad prekey":     strings.Replace(good, "rid='2'", "rid='2' prekey='yes'", 1),
		"no key":         enc(`<header sid='1'><iv>`+iv+`</iv></header>`, ""),
		"empty key":      strings.Replace(good, key, "", 1),
		"bad base64 key": strings.Replace(good, key, "!!!!", 1),
		"huge key":       strings.Replace(good, key, b64(make([]byte, maxKeyBlob+1)), 1),
		"no iv":          strings.Replace(good, "<iv>"+iv+"</iv>", "", 1),
		"iv 8 bytes":     strings.Replace(good, iv, b64(make([]byte, 8)), 1),
		"iv 13 bytes":    strings.Replace(good, iv, b64(make([]byte, 13)), 1),
		"bad payload":    enc(`<header sid='1'><key rid='2'>`+key+`</key><iv>`+iv+`</iv></header>`, "<payload>%%%</payload>"),
	}
	for name, x := range bad {
		if e, err := ParseEncrypted([]byte(x)); err == nil || !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: got %+v, %v", name, e, err)
		}
	}
	many := strings.Repeat(`<key rid='2'>`+key+`</key>`, maxKeys+1)
	if _, err := ParseEncrypted([]byte(enc(`<header sid='1'>`+many+`<iv>`+iv+`</iv></header>`, ""))); err == nil {
		t.Error("too many keys accepted")
	}

	goodBundle := (&Bundle{SignedPreKeyID: 1, SignedPreKey: pubKey(1), Signature: make([]byte, 64),
		IdentityKey: pubKey(2), PreKeys: []PreKeyPublic{{1, pubKey(3)}}}).Marshal()
	if _, err := ParseBundle(goodBundle); err != nil {
		t.Fatal(err)
	}
	gb := string(goodBundle)
	badBundles := map[string]string{
		"identity 32 bytes":   strings.Replace(gb, b64(pubKey(2)), b64(pubKey(2)[1:]), 1),
		"identity wrong type": strings.Replace(gb, b64(pubKey(2)), b64(append([]byte{6}, pubKey(2)[1:]...)), 1),
		"identity 34 bytes":   strings.Replace(gb, b64(pubKey(2)), b64(append(pubKey(2), 0)), 1),
		"short signature":     strings.Replace(gb, b64(make([]byte, 64)), b64(make([]byte, 63)), 1),
		"prekey 32 bytes":     strings.Replace(gb, b64(pubKey(3)), b64(pubKey(3)[1:]), 1),
		"spk 32 bytes":        strings.Replace(gb, b64(pubKey(1)), b64(pubKey(1)[1:]), 1),
		"no prekeys":          strings.Replace(gb, `<preKeyPublic preKeyId='1'>`+b64(pubKey(3))+`</preKeyPublic>`, "", 1),
		"bad prekey id":       strings.Replace(gb, "preKeyId='1'", "preKeyId='-4'", 1),
		"bad spk id":          strings.Replace(gb, "signedPreKeyId='1'", "signedPreKeyId=''", 1),
		"no identity":         strings.Replace(gb, `<identityKey>`+b64(pubKey(2))+`</identityKey>`, "", 1),
	}
	for name, x := range badBundles {
		if _, err := ParseBundle([]byte(x)); !errors.Is(err, ErrMalformed) {
			t.Errorf("bundle %s: %v", name, err)
		}
	}
	badLists := []string{
		`<list xmlns='eu.siacs.conversations.axolotl'><device id='0'/></list>`,
		`<list xmlns='eu.siacs.conversations.axolotl'><device id='4294967295'/></list>`,
		`<list xmlns='eu.siacs.conversations.axolotl'><device/></list>`,
		`<list xmlns='urn:other'><device id='1'/></list>`,
	}
	for _, x := range badLists {
		if ids, err := ParseDeviceList([]byte(x)); err == nil {
			t.Errorf("list %s parsed as %v", x, ids)
		}
	}
	if ids, err := ParseDeviceList([]byte(`<list xmlns='eu.siacs.conversations.axolotl'/>`)); err != nil || len(ids) != 0 {
		t.Errorf("empty list: %v %v", ids, err)
	}
	if ids, _ := ParseDeviceList(MarshalDeviceList([]uint32{5, 5, 6})); len(ids) != 2 {
		t.Errorf("duplicates kept: %v", ids)
	}
}

// FuzzParseEncrypted checks that parsing never panics and that whatever
// parses survives a marshal round trip unchanged.
func FuzzParseEncrypted(f *testing.F) {
	// More seeds are in testdata/fuzz/FuzzParseEncrypted.
	f.Add([]byte(xepKeyTransport))
	f.Add([]byte(xepMessage))
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := ParseEncrypted(data)
		if err != nil {
			return
		}
		e2, err := ParseEncrypted(e.Marshal())
		if err != nil {
			t.Fatalf("re-parse: %v", err)
		}
		if !reflect.DeepEqual(e, e2) {
			t.Fatalf("round trip changed %+v to %+v", e, e2)
		}
	})
}
