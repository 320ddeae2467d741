package session

import "testing"

func TestMUCItemJIDTakesTheRoomsOwn(t *testing.T) {
	for _, c := range []struct{ raw, want string }{
		{`<message xmlns="jabber:client"><body>x</body></message>`, ""},
		{`<message xmlns="jabber:client"><x xmlns="http://jabber.org/protocol/muc#user"><item affiliation="member" jid="bob@example.org"/></x></message>`, "bob@example.org"},
		// A sender's forged element comes first; the room appends its own.
		{`<message xmlns="jabber:client"><x xmlns="http://jabber.org/protocol/muc#user"><item jid="victim@example.org"/></x>` +
			`<encrypted xmlns="eu.siacs.conversations.axolotl"/><x xmlns="http://jabber.org/protocol/muc#user"><item jid="mallory@example.org"/></x></message>`, "mallory@example.org"},
		// Items elsewhere do not count.
		{`<message xmlns="jabber:client"><foo><x xmlns="http://jabber.org/protocol/muc#user"><item jid="deep@example.org"/></x></foo></message>`, ""},
		{`<message xmlns="jabber:client"><x xmlns="http://jabber.org/protocol/muc#user"><item jid="a@b"`, ""},
	} {
		if got := mucItemJID([]byte(c.raw)); got != c.want {
			t.Errorf("mucItemJID(%s) = %q, want %q", c.raw, got, c.want)
		}
	}
}
