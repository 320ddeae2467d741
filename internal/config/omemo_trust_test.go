package config

import (
	"strings"
	"testing"
)

func TestOMEMOTrustOption(t *testing.T) {
	good := "[[account]]\njid = \"a@example.org\"\npassword = \"x\"\nomemo_trust = \"manual\"\n"
	c, err := Parse("x.toml", []byte(good))
	if err != nil || c.Accounts[0].OMEMOTrust != "manual" {
		t.Fatalf("manual: %+v, %v", c, err)
	}
	bad := strings.Replace(good, `"manual"`, `"blind"`, 1)
	_, err = Parse("x.toml", []byte(bad))
	if err == nil || !strings.Contains(err.Error(), "omemo_trust") || !strings.Contains(err.Error(), ":4") {
		t.Fatalf("invalid value: %v", err)
	}
}
