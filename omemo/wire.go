package omemo

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Namespaces and PEP nodes of legacy OMEMO (XEP-0384 v0.3).
const (
	NS             = "eu.siacs.conversations.axolotl"
	NodeDeviceList = NS + ".devicelist"
	nodeBundles    = NS + ".bundles:"

	nsPubSub       = "http://jabber.org/protocol/pubsub"
	nsPubSubOwner  = "http://jabber.org/protocol/pubsub#owner"
	nsPubSubErrors = "http://jabber.org/protocol/pubsub#errors"
	nsDataForms    = "jabber:x:data"
)

// Limits applied when parsing, so that a hostile stanza cannot make us
// allocate or work without bound.
const (
	maxKeys        = 1000    // <key> elements in one header
	maxKeyBlob     = 1024    // bytes of one decoded <key>
	maxPayload     = 1 << 20 // bytes of the decoded <payload>
	maxDevices     = 1000    // devices in a device list
	maxPreKeys     = 1000    // prekeys in a bundle
	maxElementSize = 4 << 20 // bytes of XML handed to a Parse function
)

// ErrMalformed is wrapped by every parse error caused by the input.
var ErrMalformed = errors.New("omemo: malformed element")

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}

// BundleNode returns the PEP node holding the bundle of device id.
func BundleNode(id uint32) string { return nodeBundles + strconv.FormatUint(uint64(id), 10) }

// ValidDeviceID reports whether id is a legal device id (1..2^31−1).
func ValidDeviceID(id uint32) bool { return id >= 1 && id <= 1<<31-1 }

// Key is one <key> of an OMEMO header: the payload key encrypted through
// the session with device RID.
type Key struct {
	RID    uint32
	PreKey bool   // Data is a PreKeySignalMessage (else a SignalMessage)
	Data   []byte // serialized Signal message
}

// Encrypted is an <encrypted xmlns='eu.siacs.conversations.axolotl'>
// element. Payload is nil for a key transport element.
type Encrypted struct {
	SID     uint32
	Keys    []Key
	IV      []byte
	Payload []byte
}

// KeyTransport reports whether e carries no payload.
func (e *Encrypted) KeyTransport() bool { return e.Payload == nil }

type rawKeyElem struct {
	RID    string `xml:"rid,attr"`
	PreKey string `xml:"prekey,attr"`
	Data   string `xml:",chardata"`
}

type rawEncrypted struct {
	XMLName xml.Name `xml:"eu.siacs.conversations.axolotl encrypted"`
	Header  *struct {
		SID  string       `xml:"sid,attr"`
		Keys []rawKeyElem `xml:"eu.siacs.conversations.axolotl key"`
		IV   *string      `xml:"eu.siacs.conversations.axolotl iv"`
	} `xml:"eu.siacs.conversations.axolotl header"`
	Payload *string `xml:"eu.siacs.conversations.axolotl payload"`
}

// decodeB64 decodes base64 that may contain whitespace (line breaks as in
// the XEP's examples) and may lack padding.
func decodeB64(s string, max int) ([]byte, error) {
	s = strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '\r', '\n':
			return -1
		}
		return r
	}, s)
	if base64.StdEncoding.DecodedLen(len(s)) > max+2 {
		return nil, errors.New("too long")
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		b, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(s, "="))
	}
	if err != nil {
		return nil, err
	}
	if len(b) > max {
		return nil, errors.New("too long")
	}
	return b, nil
}

func parseDeviceID(s string) (uint32, error) {
	v, err := strconv.ParseUint(strings.TrimSpace(s), 10, 32)
	if err != nil || !ValidDeviceID(uint32(v)) {
		return 0, fmt.Errorf("invalid device id %q", s)
	}
	return uint32(v), nil
}

func parseBool(s string) (bool, error) {
	switch strings.TrimSpace(s) {
	case "", "false", "0":
		return false, nil
	case "true", "1":
		return true, nil
	}
	return false, fmt.Errorf("invalid boolean %q", s)
}

// ParseEncrypted parses an <encrypted> element.
func ParseEncrypted(data []byte) (*Encrypted, error) {
	var raw rawEncrypted
	if err := unmarshalElement(data, &raw); err != nil {
		return nil, err
	}
	return raw.convert()
}

// UnmarshalXML lets an *Encrypted be filled by encoding/xml, with the same
// validation as ParseEncrypted.
func (e *Encrypted) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	var raw rawEncrypted
	if err := d.DecodeElement(&raw, &start); err != nil {
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	v, err := raw.convert()
	if err != nil {
		return err
	}
	*e = *v
	return nil
}

func (raw *rawEncrypted) convert() (*Encrypted, error) {
	h := raw.Header
	if h == nil {
		return nil, malformed("missing header")
	}
	sid, err := parseDeviceID(h.SID)
	if err != nil {
		return nil, malformed("header sid: %v", err)
	}
	if h.IV == nil {
		return nil, malformed("missing iv")
	}
	iv, err := decodeB64(*h.IV, 16)
	if err != nil || (len(iv) != 12 && len(iv) != 16) {
		return nil, malformed("iv must be 12 or 16 bytes")
	}
	if len(h.Keys) == 0 {
		return nil, malformed("no key")
	}
	if len(h.Keys) > maxKeys {
		return nil, malformed("too many keys")
	}
	e := &Encrypted{SID: sid, IV: iv, Keys: make([]Key, 0, len(h.Keys))}
	for _, k := range h.Keys {
		rid, err := parseDeviceID(k.RID)
		if err != nil {
			return nil, malformed("key rid: %v", err)
		}
		pk, err := parseBool(k.PreKey)
		if err != nil {
			return nil, malformed("key prekey: %v", err)
		}
		blob, err := decodeB64(k.Data, maxKeyBlob)
		if err != nil || len(blob) == 0 {
			return nil, malformed("key for %d: bad content", rid)
		}
		e.Keys = append(e.Keys, Key{RID: rid, PreKey: pk, Data: blob})
	}
	if raw.Payload != nil {
		p, err := decodeB64(*raw.Payload, maxPayload)
		if err != nil {
			return nil, malformed("payload: %v", err)
		}
		if p == nil {
			p = []byte{}
		}
		e.Payload = p
	}
	return e, nil
}

// KeyFor returns the keys addressed to device rid (normally at most one).
func (e *Encrypted) KeyFor(rid uint32) []Key {
	var ks []Key
	for _, k := range e.Keys {
		if k.RID == rid {
			ks = append(ks, k)
		}
	}
	return ks
}

// Marshal returns the <encrypted> element as XML.
func (e *Encrypted) Marshal() []byte {
	var b bytes.Buffer
	b.WriteString(`<encrypted xmlns='` + NS + `'><header sid='`)
	b.WriteString(strconv.FormatUint(uint64(e.SID), 10))
	b.WriteString(`'>`)
	for _, k := range e.Keys {
		b.WriteString(`<key rid='`)
		b.WriteString(strconv.FormatUint(uint64(k.RID), 10))
		if k.PreKey {
			b.WriteString(`' prekey='true`)
		}
		b.WriteString(`'>`)
		b.WriteString(base64.StdEncoding.EncodeToString(k.Data))
		b.WriteString(`</key>`)
	}
	b.WriteString(`<iv>`)
	b.WriteString(base64.StdEncoding.EncodeToString(e.IV))
	b.WriteString(`</iv></header>`)
	if e.Payload != nil {
		b.WriteString(`<payload>`)
		b.WriteString(base64.StdEncoding.EncodeToString(e.Payload))
		b.WriteString(`</payload>`)
	}
	b.WriteString(`</encrypted>`)
	return b.Bytes()
}

// MarshalXML writes e through encoding/xml.
func (e *Encrypted) MarshalXML(enc *xml.Encoder, _ xml.StartElement) error {
	d := xml.NewDecoder(bytes.NewReader(e.Marshal()))
	for {
		t, err := d.Token()
		if err == io.EOF {
			return enc.Flush()
		}
		if err != nil {
			return err
		}
		if err := enc.EncodeToken(t); err != nil {
			return err
		}
	}
}

type rawList struct {
	XMLName xml.Name `xml:"eu.siacs.conversations.axolotl list"`
	Devices []struct {
		ID string `xml:"id,attr"`
	} `xml:"eu.siacs.conversations.axolotl device"`
}

// ParseDeviceList parses a <list xmlns='eu.siacs.conversations.axolotl'>
// element. Duplicates are dropped; an empty list is valid.
func ParseDeviceList(data []byte) ([]uint32, error) {
	var raw rawList
	if err := unmarshalElement(data, &raw); err != nil {
		return nil, err
	}
	return raw.convert()
}

func (raw *rawList) convert() ([]uint32, error) {
	if len(raw.Devices) > maxDevices {
		return nil, malformed("too many devices")
	}
	ids := make([]uint32, 0, len(raw.Devices))
	seen := make(map[uint32]bool, len(raw.Devices))
	for _, d := range raw.Devices {
		id, err := parseDeviceID(d.ID)
		if err != nil {
			return nil, malformed("device: %v", err)
		}
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	return ids, nil
}

// MarshalDeviceList returns the <list> element for ids.
func MarshalDeviceList(ids []uint32) []byte {
	var b bytes.Buffer
	b.WriteString(`<list xmlns='` + NS + `'>`)
	for _, id := range ids {
		b.WriteString(`<device id='`)
		b.WriteString(strconv.FormatUint(uint64(id), 10))
		b.WriteString(`'/>`)
	}
	b.WriteString(`</list>`)
	return b.Bytes()
}

// PreKeyPublic is one published one-time prekey.
type PreKeyPublic struct {
	ID  uint32
	Key []byte // 33 bytes: 0x05 ‖ Curve25519 public key
}

// Bundle is a device's published key material. Public keys are 33 bytes
// (0x05 ‖ key), the signature 64.
type Bundle struct {
	SignedPreKeyID uint32
	SignedPreKey   []byte
	Signature      []byte
	IdentityKey    []byte
	PreKeys        []PreKeyPublic
}

type rawBundle struct {
	XMLName      xml.Name `xml:"eu.siacs.conversations.axolotl bundle"`
	SignedPreKey *struct {
		ID   string `xml:"signedPreKeyId,attr"`
		Data string `xml:",chardata"`
	} `xml:"eu.siacs.conversations.axolotl signedPreKeyPublic"`
	Signature   *string `xml:"eu.siacs.conversations.axolotl signedPreKeySignature"`
	IdentityKey *string `xml:"eu.siacs.conversations.axolotl identityKey"`
	PreKeys     *struct {
		Keys []struct {
			ID   string `xml:"preKeyId,attr"`
			Data string `xml:",chardata"`
		} `xml:"eu.siacs.conversations.axolotl preKeyPublic"`
	} `xml:"eu.siacs.conversations.axolotl prekeys"`
}

// publicKey decodes a 33-byte 0x05-prefixed public key.
func publicKey(s string) ([]byte, error) {
	b, err := decodeB64(s, 64)
	if err != nil {
		return nil, err
	}
	if len(b) != 33 || b[0] != 0x05 {
		return nil, fmt.Errorf("public key must be 33 bytes starting 0x05, got %d bytes", len(b))
	}
	return b, nil
}

func parseKeyID(s string) (uint32, error) {
	v, err := strconv.ParseUint(strings.TrimSpace(s), 10, 32)
	if err != nil {
		return 0, fmt.Errorf("invalid key id %q", s)
	}
	return uint32(v), nil
}

// ParseBundle parses a <bundle xmlns='eu.siacs.conversations.axolotl'>.
func ParseBundle(data []byte) (*Bundle, error) {
	var raw rawBundle
	if err := unmarshalElement(data, &raw); err != nil {
		return nil, err
	}
	return raw.convert()
}

func (raw *rawBundle) convert() (*Bundle, error) {
	if raw.SignedPreKey == nil || raw.Signature == nil || raw.IdentityKey == nil || raw.PreKeys == nil {
		return nil, malformed("bundle lacks a required element")
	}
	var b Bundle
	var err error
	if b.SignedPreKeyID, err = parseKeyID(raw.SignedPreKey.ID); err != nil {
		return nil, malformed("signedPreKeyId: %v", err)
	}
	if b.SignedPreKey, err = publicKey(raw.SignedPreKey.Data); err != nil {
		return nil, malformed("signedPreKeyPublic: %v", err)
	}
	if b.Signature, err = decodeB64(*raw.Signature, 64); err != nil || len(b.Signature) != 64 {
		return nil, malformed("signedPreKeySignature must be 64 bytes")
	}
	if b.IdentityKey, err = publicKey(*raw.IdentityKey); err != nil {
		return nil, malformed("identityKey: %v", err)
	}
	if len(raw.PreKeys.Keys) == 0 {
		return nil, malformed("no prekeys")
	}
	if len(raw.PreKeys.Keys) > maxPreKeys {
		return nil, malformed("too many prekeys")
	}
	for _, k := range raw.PreKeys.Keys {
		id, err := parseKeyID(k.ID)
		if err != nil {
			return nil, malformed("preKeyId: %v", err)
		}
		key, err := publicKey(k.Data)
		if err != nil {
			return nil, malformed("preKeyPublic %d: %v", id, err)
		}
		b.PreKeys = append(b.PreKeys, PreKeyPublic{ID: id, Key: key})
	}
	return &b, nil
}

// Marshal returns the <bundle> element as XML.
func (b *Bundle) Marshal() []byte {
	var w bytes.Buffer
	enc := base64.StdEncoding.EncodeToString
	w.WriteString(`<bundle xmlns='` + NS + `'><signedPreKeyPublic signedPreKeyId='`)
	w.WriteString(strconv.FormatUint(uint64(b.SignedPreKeyID), 10))
	w.WriteString(`'>` + enc(b.SignedPreKey) + `</signedPreKeyPublic>`)
	w.WriteString(`<signedPreKeySignature>` + enc(b.Signature) + `</signedPreKeySignature>`)
	w.WriteString(`<identityKey>` + enc(b.IdentityKey) + `</identityKey><prekeys>`)
	for _, k := range b.PreKeys {
		w.WriteString(`<preKeyPublic preKeyId='`)
		w.WriteString(strconv.FormatUint(uint64(k.ID), 10))
		w.WriteString(`'>` + enc(k.Key) + `</preKeyPublic>`)
	}
	w.WriteString(`</prekeys></bundle>`)
	return w.Bytes()
}

// unmarshalElement decodes the single root element in data into v.
func unmarshalElement(data []byte, v any) (err error) {
	if len(data) > maxElementSize {
		return malformed("element too large")
	}
	defer func() {
		if r := recover(); r != nil {
			err = malformed("decoder panic: %v", r)
		}
	}()
	if err := xml.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return nil
}

// findElement scans stanza for the first element named space/local and
// decodes it into v. It reports whether one was found.
func findElement(stanza []byte, space, local string, v any) (bool, error) {
	if len(stanza) > maxElementSize {
		return false, malformed("stanza too large")
	}
	d := xml.NewDecoder(bytes.NewReader(stanza))
	for {
		t, err := d.Token()
		if err == io.EOF {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("%w: %v", ErrMalformed, err)
		}
		if se, ok := t.(xml.StartElement); ok && se.Name.Space == space && se.Name.Local == local {
			if err := d.DecodeElement(v, &se); err != nil {
				return true, fmt.Errorf("%w: %v", ErrMalformed, err)
			}
			return true, nil
		}
	}
}

// ErrNoItem is returned by the Find functions when the stanza holds no such
// element (for example an empty node).
var ErrNoItem = errors.New("omemo: no item")

// FindDeviceList extracts the device list from a stanza that contains one
// anywhere: a PEP event <message> or the result of FetchDeviceListIQ.
func FindDeviceList(stanza []byte) ([]uint32, error) {
	var raw rawList
	ok, err := findElement(stanza, NS, "list", &raw)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, ErrNoItem
	}
	return raw.convert()
}

// FindBundle extracts the first bundle from a stanza (the result of
// FetchBundleIQ). Publishers use item id "current" or "1": any item does.
func FindBundle(stanza []byte) (*Bundle, error) {
	var raw rawBundle
	ok, err := findElement(stanza, NS, "bundle", &raw)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, ErrNoItem
	}
	return raw.convert()
}

// FindEncrypted extracts the OMEMO element from a <message> stanza
// (ErrNoItem when it has none).
func FindEncrypted(stanza []byte) (*Encrypted, error) {
	var raw rawEncrypted
	ok, err := findElement(stanza, NS, "encrypted", &raw)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, ErrNoItem
	}
	return raw.convert()
}

// PreconditionNotMet reports whether an IQ error stanza is the answer to a
// publish whose publish-options did not match the node's configuration
// (XEP-0060 §7.1.5): reconfigure the node with ConfigureNodeIQ, then publish
// again.
func PreconditionNotMet(stanza []byte) bool {
	var v struct{}
	ok, err := findElement(stanza, nsPubSubErrors, "precondition-not-met", &v)
	return ok && err == nil
}

// PublishOptions are the node settings sent with a publish (XEP-0060 §7.1.5)
// and used by ConfigureNodeIQ.
type PublishOptions struct {
	// AccessModel is pubsub#access_model; "" means "open", which OMEMO needs
	// so that contacts without a presence subscription can fetch bundles.
	AccessModel string
	// MaxItems is pubsub#max_items ("" leaves it out). Prosody accepts it as
	// a publish option; ejabberd rejects the publish ("Unknown field"), so
	// against ejabberd leave it empty and set it with ConfigureNodeIQ.
	MaxItems string
}

func (o PublishOptions) fields() [][2]string {
	am := o.AccessModel
	if am == "" {
		am = "open"
	}
	f := [][2]string{{"pubsub#access_model", am}}
	if o.MaxItems != "" {
		f = append(f, [2]string{"pubsub#max_items", o.MaxItems})
	}
	return f
}

func escape(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s)) // also escapes ' and "
	return b.String()
}

func form(formType string, fields [][2]string, typ string) string {
	var b strings.Builder
	b.WriteString(`<x xmlns='` + nsDataForms + `' type='` + typ + `'>`)
	b.WriteString(`<field var='FORM_TYPE' type='hidden'><value>` + formType + `</value></field>`)
	for _, f := range fields {
		b.WriteString(`<field var='` + escape(f[0]) + `'><value>` + escape(f[1]) + `</value></field>`)
	}
	b.WriteString(`</x>`)
	return b.String()
}

func publishIQ(id, node, itemID string, payload []byte, opt PublishOptions) []byte {
	var b bytes.Buffer
	b.WriteString(`<iq type='set' id='` + escape(id) + `'><pubsub xmlns='` + nsPubSub + `'>`)
	b.WriteString(`<publish node='` + escape(node) + `'><item id='` + escape(itemID) + `'>`)
	b.Write(payload)
	b.WriteString(`</item></publish><publish-options>`)
	b.WriteString(form(nsPubSub+"#publish-options", opt.fields(), "submit"))
	b.WriteString(`</publish-options></pubsub></iq>`)
	return b.Bytes()
}

// PublishDeviceListIQ returns the IQ publishing ids as our device list
// (item "current").
func PublishDeviceListIQ(id string, ids []uint32, opt PublishOptions) []byte {
	return publishIQ(id, NodeDeviceList, "current", MarshalDeviceList(ids), opt)
}

// PublishBundleIQ returns the IQ publishing b as the bundle of device
// (item "current").
func PublishBundleIQ(id string, device uint32, b *Bundle, opt PublishOptions) []byte {
	return publishIQ(id, BundleNode(device), "current", b.Marshal(), opt)
}

// ConfigureNodeIQ returns the owner IQ that sets node's configuration to
// opt, for use after a publish failed with precondition-not-met.
func ConfigureNodeIQ(id, node string, opt PublishOptions) []byte {
	var b bytes.Buffer
	b.WriteString(`<iq type='set' id='` + escape(id) + `'><pubsub xmlns='` + nsPubSubOwner + `'>`)
	b.WriteString(`<configure node='` + escape(node) + `'>`)
	b.WriteString(form(nsPubSub+"#node_config", opt.fields(), "submit"))
	b.WriteString(`</configure></pubsub></iq>`)
	return b.Bytes()
}

func fetchIQ(id, to, node string) []byte {
	return []byte(`<iq type='get' id='` + escape(id) + `' to='` + escape(to) + `'><pubsub xmlns='` +
		nsPubSub + `'><items node='` + escape(node) + `'/></pubsub></iq>`)
}

// FetchDeviceListIQ returns the IQ fetching the device list of bare JID to.
func FetchDeviceListIQ(id, to string) []byte { return fetchIQ(id, to, NodeDeviceList) }

// FetchBundleIQ returns the IQ fetching the whole bundle node of device
// (no item id: publishers differ in the id they use).
func FetchBundleIQ(id, to string, device uint32) []byte {
	return fetchIQ(id, to, BundleNode(device))
}
