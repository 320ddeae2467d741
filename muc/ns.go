package muc

// XML namespaces used by the package.
const (
	NSMUC        = "http://jabber.org/protocol/muc"
	NSMUCUser    = "http://jabber.org/protocol/muc#user"
	NSMUCAdmin   = "http://jabber.org/protocol/muc#admin"
	NSMUCOwner   = "http://jabber.org/protocol/muc#owner"
	NSConference = "jabber:x:conference" // XEP-0249 direct invitations
	NSData       = "jabber:x:data"
	NSStanzas    = "urn:ietf:params:xml:ns:xmpp-stanzas"
	NSDelay      = "urn:xmpp:delay"
	NSSID        = "urn:xmpp:sid:0"
	NSPing       = "urn:xmpp:ping"
	NSDiscoInfo  = "http://jabber.org/protocol/disco#info"
	NSDiscoItems = "http://jabber.org/protocol/disco#items"
	NSMAM        = "urn:xmpp:mam:2"
	NSOccupantID = "urn:xmpp:occupant-id:0" // XEP-0421
	NSPubSub     = "http://jabber.org/protocol/pubsub"
	NSPubSubEvt  = "http://jabber.org/protocol/pubsub#event"
	NSBookmarks  = "urn:xmpp:bookmarks:1"            // XEP-0402
	NSLegacyBM   = "storage:bookmarks"               // XEP-0048
	NSPrivate    = "jabber:iq:private"               // XEP-0049, carrier of XEP-0048
	NSSelfPingOp = NSMUC + "#self-ping-optimization" // XEP-0410 §3.3
)
