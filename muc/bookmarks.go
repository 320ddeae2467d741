package muc

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"strings"
)

// Bookmark is an XEP-0402 conference bookmark.
type Bookmark struct {
	JID      string // room JID (the PEP item id)
	Name     string
	Autojoin bool
	Nick     string
	Password string
	// Extensions is the raw inner XML of <extensions/>, kept verbatim so
	// other clients' data survives our edits (XEP-0402 §2).
	Extensions []byte
}

type wConferenceBM struct {
	Name       string `xml:"name,attr"`
	Autojoin   string `xml:"autojoin,attr"`
	Nick       string `xml:"nick"`
	Password   string `xml:"password"`
	Extensions *struct {
		Inner []byte `xml:",innerxml"`
	} `xml:"extensions"`
}

type wBMItem struct {
	ID         string         `xml:"id,attr"`
	Conference *wConferenceBM `xml:"urn:xmpp:bookmarks:1 conference"`
}

func (it wBMItem) bookmark() (Bookmark, bool) {
	if it.ID == "" || it.Conference == nil {
		return Bookmark{}, false
	}
	c := it.Conference
	b := Bookmark{
		JID:      it.ID,
		Name:     c.Name,
		Autojoin: parseBool(c.Autojoin),
		Nick:     strings.TrimSpace(c.Nick),
		Password: c.Password,
	}
	if c.Extensions != nil {
		if ext := bytes.TrimSpace(c.Extensions.Inner); len(ext) > 0 {
			b.Extensions = bytes.Clone(ext)
		}
	}
	return b, true
}

// ParseBookmarkItem reads one <item id=ROOM><conference/></item>.
func ParseBookmarkItem(raw []byte) (Bookmark, error) {
	var it wBMItem
	if err := xml.Unmarshal(raw, &it); err != nil {
		return Bookmark{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	b, ok := it.bookmark()
	if !ok {
		return Bookmark{}, fmt.Errorf("%w: not a conference bookmark item", ErrMalformed)
	}
	return b, nil
}

// ParseBookmarks reads the answer to FetchBookmarksIQ (the IQ or its pubsub
// items element). Items that are not conference bookmarks are skipped.
func ParseBookmarks(raw []byte) ([]Bookmark, error) {
	var items struct {
		Node  string    `xml:"node,attr"`
		Items []wBMItem `xml:"item"`
	}
	if err := unmarshalPayload(raw, NSPubSub, "items", &items); err != nil {
		return nil, err
	}
	if items.Node != NSBookmarks {
		return nil, fmt.Errorf("%w: items of node %q", ErrMalformed, items.Node)
	}
	var out []Bookmark
	for _, it := range items.Items {
		if b, ok := it.bookmark(); ok {
			out = append(out, b)
		}
	}
	return out, nil
}

// ConferenceXML builds the <conference xmlns='urn:xmpp:bookmarks:1'/>
// payload.
func (b Bookmark) ConferenceXML() []byte {
	var w xw
	b.write(&w)
	return w.bytes()
}

func (b Bookmark) write(w *xw) {
	w.open("conference", false, "xmlns", NSBookmarks, "name", b.Name, "autojoin", boolStr(b.Autojoin))
	w.optElem("nick", b.Nick)
	w.optElem("password", b.Password)
	if len(b.Extensions) > 0 {
		w.open("extensions", false)
		w.raw(b.Extensions)
		w.close("extensions")
	}
	w.close("conference")
}

// FetchBookmarksIQ asks our PEP service for all bookmarks.
func FetchBookmarksIQ() []byte {
	var w xw
	w.open("iq", false, "type", "get")
	w.open("pubsub", false, "xmlns", NSPubSub)
	w.open("items", true, "node", NSBookmarks)
	w.close("pubsub")
	w.close("iq")
	return w.bytes()
}

// BookmarkPublishOptions are the node settings XEP-0402 §3.3 requires.
var BookmarkPublishOptions = [][2]string{
	{"pubsub#persist_items", "true"},
	{"pubsub#max_items", "max"},
	{"pubsub#send_last_published_item", "never"},
	{"pubsub#access_model", "whitelist"},
}

// PublishBookmarkIQ adds or replaces a bookmark with the publish-options of
// XEP-0402 §3.3. A <conflict/> + <precondition-not-met/> answer means the
// node exists with other settings: reconfigure it, then publish again.
func PublishBookmarkIQ(b Bookmark) []byte {
	var w xw
	w.open("iq", false, "type", "set")
	w.open("pubsub", false, "xmlns", NSPubSub)
	w.open("publish", false, "node", NSBookmarks)
	w.open("item", false, "id", bareJID(b.JID))
	b.write(&w)
	w.close("item")
	w.close("publish")
	w.open("publish-options", false)
	w.open("x", false, "xmlns", NSData, "type", "submit")
	w.open("field", false, "var", "FORM_TYPE", "type", "hidden")
	w.elem("value", NSPubSub+"#publish-options")
	w.close("field")
	for _, o := range BookmarkPublishOptions {
		w.open("field", false, "var", o[0])
		w.elem("value", o[1])
		w.close("field")
	}
	w.close("x")
	w.close("publish-options")
	w.close("pubsub")
	w.close("iq")
	return w.bytes()
}

// RetractBookmarkIQ removes the bookmark of roomJID and notifies our other
// clients.
func RetractBookmarkIQ(roomJID string) []byte {
	var w xw
	w.open("iq", false, "type", "set")
	w.open("pubsub", false, "xmlns", NSPubSub)
	w.open("retract", false, "node", NSBookmarks, "notify", "true")
	w.open("item", true, "id", bareJID(roomJID))
	w.close("retract")
	w.close("pubsub")
	w.close("iq")
	return w.bytes()
}

// BookmarkEvent is a PEP notification on the bookmarks node.
type BookmarkEvent struct {
	Updated   []Bookmark
	Retracted []string // room JIDs
}

// ParseBookmarkEvent reads a pubsub#event message. ok is false when the
// message is not about the bookmarks node. The caller must check that the
// message comes from our own bare JID (or has no from): anyone else's
// "bookmarks" are a forgery.
func ParseBookmarkEvent(raw []byte) (ev BookmarkEvent, ok bool, err error) {
	var items struct {
		Node    string    `xml:"node,attr"`
		Items   []wBMItem `xml:"item"`
		Retract []struct {
			ID string `xml:"id,attr"`
		} `xml:"retract"`
	}
	if err := unmarshalPayload(raw, NSPubSubEvt, "items", &items); err != nil {
		return BookmarkEvent{}, false, err
	}
	if items.Node != NSBookmarks {
		return BookmarkEvent{}, false, nil
	}
	for _, it := range items.Items {
		if b, ok := it.bookmark(); ok {
			ev.Updated = append(ev.Updated, b)
		}
	}
	for _, r := range items.Retract {
		if r.ID != "" {
			ev.Retracted = append(ev.Retracted, r.ID)
		}
	}
	return ev, true, nil
}

// ParseLegacyBookmarks reads XEP-0048 <storage xmlns='storage:bookmarks'>
// (from private XML storage or the legacy PEP node) for migration. URL
// bookmarks are ignored.
func ParseLegacyBookmarks(raw []byte) ([]Bookmark, error) {
	var st struct {
		Conferences []struct {
			JID      string `xml:"jid,attr"`
			Name     string `xml:"name,attr"`
			Autojoin string `xml:"autojoin,attr"`
			Nick     string `xml:"nick"`
			Password string `xml:"password"`
		} `xml:"conference"`
	}
	if err := unmarshalPayload(raw, NSLegacyBM, "storage", &st); err != nil {
		return nil, err
	}
	out := make([]Bookmark, 0, len(st.Conferences))
	for _, c := range st.Conferences {
		if c.JID == "" {
			continue
		}
		out = append(out, Bookmark{
			JID:      bareJID(c.JID),
			Name:     c.Name,
			Autojoin: parseBool(c.Autojoin),
			Nick:     strings.TrimSpace(c.Nick),
			Password: c.Password,
		})
	}
	return out, nil
}

// LegacyBookmarksQuery fetches XEP-0048 bookmarks from private XML storage
// (XEP-0049).
func LegacyBookmarksQuery() []byte {
	var w xw
	w.open("iq", false, "type", "get")
	w.open("query", false, "xmlns", NSPrivate)
	w.open("storage", true, "xmlns", NSLegacyBM)
	w.close("query")
	w.close("iq")
	return w.bytes()
}
