package store

import (
	"context"
	"reflect"
	"testing"
)

func TestRoster(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	if v, err := s.RosterVersion(ctx, me); err != nil || v != "" {
		t.Errorf("version of unknown account = %q, %v", v, err)
	}
	full := []Contact{
		{JID: "zed@x", Name: "Zed", Subscription: "both", Groups: []string{"Friends", "Work"}},
		{JID: "amy@x", Subscription: "to", Ask: true},
		{JID: "kim@x", Name: "Kim", Subscription: "from", Groups: []string{"Work"}},
	}
	if err := s.ReplaceRoster(ctx, me, "v1", full); err != nil {
		t.Fatal(err)
	}
	get := func() []Contact {
		t.Helper()
		cs, err := s.Contacts(ctx, me)
		if err != nil {
			t.Fatal(err)
		}
		return cs
	}
	want := []Contact{
		{Account: me, JID: "amy@x", Subscription: "to", Ask: true},
		{Account: me, JID: "kim@x", Name: "Kim", Subscription: "from", Groups: []string{"Work"}},
		{Account: me, JID: "zed@x", Name: "Zed", Subscription: "both", Groups: []string{"Friends", "Work"}},
	}
	if got := get(); !reflect.DeepEqual(got, want) {
		t.Errorf("Contacts\n got %+v\nwant %+v", got, want)
	}
	if v, _ := s.RosterVersion(ctx, me); v != "v1" {
		t.Errorf("version %q, want v1", v)
	}

	// Push: update one, with a version.
	if err := s.PutContact(ctx, me, "v2", Contact{JID: "amy@x", Name: "Amy", Subscription: "both"}); err != nil {
		t.Fatal(err)
	}
	want[0] = Contact{Account: me, JID: "amy@x", Name: "Amy", Subscription: "both"}
	if got := get(); !reflect.DeepEqual(got, want) {
		t.Errorf("after push\n got %+v\nwant %+v", got, want)
	}
	// Push without a version keeps the stored one; defaults apply.
	if err := s.PutContact(ctx, me, "", Contact{JID: "new@x"}); err != nil {
		t.Fatal(err)
	}
	if v, _ := s.RosterVersion(ctx, me); v != "v2" {
		t.Errorf("version %q, want v2", v)
	}
	if got := get(); len(got) != 4 || got[2].JID != "new@x" || got[2].Subscription != "none" {
		t.Errorf("after unversioned push: %+v", got)
	}
	// Removal.
	if err := s.DeleteContact(ctx, me, "v3", "new@x"); err != nil {
		t.Fatal(err)
	}
	if got := get(); !reflect.DeepEqual(got, want) {
		t.Errorf("after remove\n got %+v\nwant %+v", got, want)
	}
	if v, _ := s.RosterVersion(ctx, me); v != "v3" {
		t.Errorf("version %q, want v3", v)
	}
	// Another account's roster is separate.
	if err := s.ReplaceRoster(ctx, "other@x", "o1", []Contact{{JID: "amy@x"}}); err != nil {
		t.Fatal(err)
	}
	// A full result replaces everything.
	if err := s.ReplaceRoster(ctx, me, "v4", []Contact{{JID: "kim@x", Subscription: "both"}}); err != nil {
		t.Fatal(err)
	}
	if got := get(); !reflect.DeepEqual(got, []Contact{{Account: me, JID: "kim@x", Subscription: "both"}}) {
		t.Errorf("after replace: %+v", got)
	}
	if cs, _ := s.Contacts(ctx, "other@x"); len(cs) != 1 {
		t.Errorf("other account's roster: %+v", cs)
	}
	if err := s.PutContact(ctx, me, "", Contact{}); err == nil {
		t.Error("contact without JID accepted")
	}
	accts, err := s.Accounts(ctx)
	if err != nil || !reflect.DeepEqual(accts, []string{me, "other@x"}) {
		t.Errorf("Accounts = %v, %v", accts, err)
	}
}

func TestEnsureAccount(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	id1, err := s.EnsureAccount(ctx, me)
	if err != nil || id1 == 0 {
		t.Fatal(id1, err)
	}
	id2, _ := s.EnsureAccount(ctx, "b@x")
	again, _ := s.EnsureAccount(ctx, me)
	if again != id1 || id2 == id1 {
		t.Errorf("ids %d %d %d", id1, id2, again)
	}
	if _, err := s.EnsureAccount(ctx, ""); err == nil {
		t.Error("empty account accepted")
	}
}

func TestFeatures(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	if f, err := s.Features(ctx, me, "example.org"); err != nil || f != nil {
		t.Errorf("uncached = %v, %v", f, err)
	}
	if err := s.SetFeatures(ctx, me, "example.org", []string{"urn:xmpp:mam:2", "http://jabber.org/protocol/disco#info", "urn:xmpp:mam:2"}); err != nil {
		t.Fatal(err)
	}
	s.SetFeatures(ctx, me, "room@muc.x", []string{"muc_membersonly"})
	s.SetFeatures(ctx, "other@x", "example.org", []string{"other"})
	want := []string{"http://jabber.org/protocol/disco#info", "urn:xmpp:mam:2"}
	if f, _ := s.Features(ctx, me, "example.org"); !reflect.DeepEqual(f, want) {
		t.Errorf("Features = %v, want %v", f, want)
	}
	s.SetFeatures(ctx, me, "example.org", []string{"urn:xmpp:carbons:2"})
	if f, _ := s.Features(ctx, me, "example.org"); !reflect.DeepEqual(f, []string{"urn:xmpp:carbons:2"}) {
		t.Errorf("after replace: %v", f)
	}
	if f, _ := s.Features(ctx, me, "room@muc.x"); !reflect.DeepEqual(f, []string{"muc_membersonly"}) {
		t.Errorf("other entity: %v", f)
	}
}
