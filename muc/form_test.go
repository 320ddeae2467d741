package muc

import (
	"reflect"
	"testing"
)

func prosodyForm(t *testing.T) *Form {
	t.Helper()
	f, err := ParseConfigForm(fixture(t, "prosody_roomconfig.xml")[0])
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestParseForm(t *testing.T) {
	f := prosodyForm(t)
	if f.Type != "form" || f.FormType() != "http://jabber.org/protocol/muc#roomconfig" || f.Title == "" || len(f.Instructions) != 1 {
		t.Fatalf("%s %+v", f, f.Instructions)
	}
	whois := f.Field(CfgWhois)
	if whois == nil || whois.Type != "list-single" || whois.Value() != "moderators" ||
		!reflect.DeepEqual(whois.Options, []Option{{"Moderators only", "moderators"}, {"Anyone", "anyone"}}) {
		t.Fatalf("whois %#v", whois)
	}
	if pb := f.Field("muc#roomconfig_presencebroadcast"); pb == nil || len(pb.Values) != 3 || len(pb.Options) != 4 {
		t.Fatalf("presencebroadcast %#v", pb)
	}
	if d := f.Field(CfgRoomDesc); d.Desc != "A brief description of the room" || d.Label != "Description" {
		t.Errorf("desc %#v", d)
	}
	if !f.Field("muc#roomconfig_enablearchiving").Bool() || f.Field(CfgPublic).Bool() {
		t.Error("bool values")
	}
	// Set refuses unknown fields and options a list does not offer.
	if f.Set("nope", "1") || f.Set(CfgWhois, "everyone") || f.Field(CfgWhois).Value() != "moderators" {
		t.Error("Set accepted a bad value")
	}
	if !f.Set(CfgWhois, "anyone") || f.Field(CfgWhois).Value() != "anyone" {
		t.Error("Set refused a good value")
	}
}

func TestRequiredFlag(t *testing.T) {
	f, err := ParseForm([]byte(`<x xmlns="jabber:x:data" type="form"><field var="a" type="text-single"><required/></field><field var="b"/></x>`))
	if err != nil || !f.Fields[0].Required || f.Fields[1].Required {
		t.Fatalf("%+v %v", f, err)
	}
}

// submitted parses a submit form back into var → values.
func submitted(t *testing.T, f *Form) map[string][]string {
	t.Helper()
	back, err := ParseForm(f.Submit())
	if err != nil {
		t.Fatal(err)
	}
	if back.Type != "submit" {
		t.Fatalf("type %q", back.Type)
	}
	m := map[string][]string{}
	for _, fld := range back.Fields {
		if fld.Var == "" {
			t.Fatalf("field without var submitted: %+v", fld)
		}
		m[fld.Var] = fld.Values
	}
	return m
}

func TestPrivateGroupConfig(t *testing.T) {
	f := prosodyForm(t)
	if missing := PrivateGroupConfig(f, "Witches & Co"); len(missing) != 0 {
		t.Fatalf("missing %v", missing)
	}
	m := submitted(t, f)
	for v, want := range map[string]string{
		CfgRoomName: "Witches & Co", CfgMembersOnly: "1", CfgWhois: "anyone", CfgPersistent: "1",
		CfgPublic: "0", CfgModerated: "0", CfgProsodyMemberInvites: "1",
		"muc#roomconfig_enablearchiving": "1", "FORM_TYPE": "http://jabber.org/protocol/muc#roomconfig",
		"muc#roomconfig_lang": "en", // untouched fields keep their values
	} {
		if got := m[v]; len(got) != 1 || got[0] != want {
			t.Errorf("%s = %v, want %q", v, got, want)
		}
	}
	if len(m["muc#roomconfig_presencebroadcast"]) != 3 {
		t.Errorf("list-multi lost values: %v", m["muc#roomconfig_presencebroadcast"])
	}
}

func TestPublicChannelConfig(t *testing.T) {
	f := prosodyForm(t)
	if missing := PublicChannelConfig(f, "Town Square"); len(missing) != 0 {
		t.Fatalf("missing %v", missing)
	}
	m := submitted(t, f)
	for v, want := range map[string]string{
		CfgRoomName: "Town Square", CfgMembersOnly: "0", CfgWhois: "moderators", CfgPersistent: "1",
		CfgPublic: "1", "muc#roomconfig_enablearchiving": "1",
	} {
		if got := m[v]; len(got) != 1 || got[0] != want {
			t.Errorf("%s = %v, want %q", v, got, want)
		}
	}
}

func TestPresetReportsMissing(t *testing.T) {
	// A sparse form: no whois "anyone" option, no members-only, no
	// invites; ejabberd-style "mam" switch.
	f, err := ParseForm([]byte(`<x xmlns="jabber:x:data" type="form">
<field var="FORM_TYPE" type="hidden"><value>http://jabber.org/protocol/muc#roomconfig</value></field>
<field var="muc#roomconfig_roomname" type="text-single"/>
<field var="muc#roomconfig_persistentroom" type="boolean"><value>0</value></field>
<field var="muc#roomconfig_publicroom" type="boolean"><value>1</value></field>
<field var="muc#roomconfig_moderatedroom" type="boolean"><value>1</value></field>
<field var="muc#roomconfig_whois" type="list-single"><option><value>moderators</value></option><value>moderators</value></field>
<field var="mam" type="boolean"><value>0</value></field>
</x>`))
	if err != nil {
		t.Fatal(err)
	}
	missing := PrivateGroupConfig(f, "")
	want := []string{CfgMembersOnly, CfgWhois, CfgAllowInvites}
	if !reflect.DeepEqual(missing, want) {
		t.Fatalf("missing %v, want %v", missing, want)
	}
	if f.Field("mam").Value() != "1" || f.Field(CfgPersistent).Value() != "1" || f.Field(CfgRoomName).Value() != "" {
		t.Errorf("offered fields not set: %+v", f.Fields)
	}
}
