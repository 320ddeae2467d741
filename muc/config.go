package muc

// Room configuration field names (XEP-0045 §15.5.3).
const (
	CfgRoomName     = "muc#roomconfig_roomname"
	CfgRoomDesc     = "muc#roomconfig_roomdesc"
	CfgMembersOnly  = "muc#roomconfig_membersonly"
	CfgWhois        = "muc#roomconfig_whois"
	CfgPersistent   = "muc#roomconfig_persistentroom"
	CfgPublic       = "muc#roomconfig_publicroom"
	CfgModerated    = "muc#roomconfig_moderatedroom"
	CfgAllowInvites = "muc#roomconfig_allowinvites"
	CfgPassworded   = "muc#roomconfig_passwordprotectedroom"
	CfgSecret       = "muc#roomconfig_roomsecret"

	// CfgProsodyMemberInvites is Prosody's own name for allowinvites.
	CfgProsodyMemberInvites = "{http://prosody.im/protocol/muc}roomconfig_allowmemberinvites"
)

// mamFields are the archiving switches of known services: Prosody's
// mod_muc_mam, ejabberd, and the name some others use.
var mamFields = []string{"muc#roomconfig_enablearchiving", "mam", "muc#roomconfig_mam"}

type setting struct {
	field    string
	alts     []string // other names for the same setting, tried in order
	values   []string
	optional bool // absence is not reported
}

// apply sets what the form offers and returns the required fields it could
// not set.
func apply(f *Form, settings []setting) (missing []string) {
	for _, s := range settings {
		ok := f.Set(s.field, s.values...)
		for _, alt := range s.alts {
			if ok {
				break
			}
			ok = f.Set(alt, s.values...)
		}
		if !ok && !s.optional {
			missing = append(missing, s.field)
		}
	}
	for _, v := range mamFields {
		if f.Field(v) != nil {
			f.SetBool(v, true)
		}
	}
	if f.Type == "form" {
		f.Type = "submit"
	}
	return missing
}

// PrivateGroupConfig fills a room configuration form for a private group:
// members-only, non-anonymous (whois anyone, needed for OMEMO), persistent,
// not listed, not moderated, members may invite, archived (MAM) if the
// service offers the switch. It returns the settings the form did not let
// it make (absent field, or a list without the needed option).
func PrivateGroupConfig(f *Form, name string) (missing []string) {
	s := []setting{
		{field: CfgMembersOnly, values: []string{"1"}},
		{field: CfgWhois, values: []string{"anyone"}},
		{field: CfgPersistent, values: []string{"1"}},
		{field: CfgPublic, values: []string{"0"}},
		{field: CfgModerated, values: []string{"0"}},
		{field: CfgAllowInvites, alts: []string{CfgProsodyMemberInvites}, values: []string{"1"}},
	}
	if name != "" {
		s = append(s, setting{field: CfgRoomName, values: []string{name}})
	}
	return apply(f, s)
}

// PublicChannelConfig fills a room configuration form for a public channel:
// listed, open (not members-only, no password), persistent, semi-anonymous
// (whois moderators), archived if offered. It returns what it could not set.
func PublicChannelConfig(f *Form, name string) (missing []string) {
	s := []setting{
		{field: CfgPublic, values: []string{"1"}},
		{field: CfgMembersOnly, values: []string{"0"}},
		{field: CfgPersistent, values: []string{"1"}},
		{field: CfgWhois, values: []string{"moderators"}},
		{field: CfgPassworded, values: []string{"0"}, optional: true},
	}
	if name != "" {
		s = append(s, setting{field: CfgRoomName, values: []string{name}})
	}
	return apply(f, s)
}
