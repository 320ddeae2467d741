package media

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

const (
	specIV  = "8c3d050e9386ec173861778f"
	specKey = "68e9af38a97aaf82faa4063b4d0878a61261534410c8a84331eaac851759f587"
)

func TestParseAESGCMURL(t *testing.T) {
	iv16 := "00112233445566778899aabbccddeeff"
	tests := []struct {
		name, in  string
		wantHTTPS string
		wantIV    string
		wantErr   string
	}{
		{"spec example 12-byte IV",
			"aesgcm://download.montague.tld/4a771ac1-f0b2-4a4a-9700-f2a26fa2bb67/tr%C3%A8s%20cool.jpg#" + specIV + specKey,
			"https://download.montague.tld/4a771ac1-f0b2-4a4a-9700-f2a26fa2bb67/tr%C3%A8s%20cool.jpg", specIV, ""},
		{"16-byte IV", "aesgcm://h.example/f.png#" + iv16 + specKey, "https://h.example/f.png", iv16, ""},
		{"upper-case scheme and hex", "AESGCM://h.example:8443/a#" + strings.ToUpper(specIV+specKey), "https://h.example:8443/a", specIV, ""},
		{"no fragment", "aesgcm://h.example/f.png", "", "", "no key"},
		{"empty fragment", "aesgcm://h.example/f.png#", "", "", "hex digits"},
		{"bad hex", "aesgcm://h.example/f.png#" + "zz" + specIV[2:] + specKey, "", "", "not hexadecimal"},
		{"too short", "aesgcm://h.example/f.png#" + specIV + specKey[:62], "", "", "hex digits"},
		{"too long", "aesgcm://h.example/f.png#" + specIV + specKey + "00", "", "", "hex digits"},
		{"between lengths", "aesgcm://h.example/f.png#" + iv16[:28] + specKey, "", "", "hex digits"},
		{"https scheme", "https://h.example/f.png#" + specIV + specKey, "", "", "not an aesgcm"},
		{"other scheme", "aesgcmx://h.example/f.png#" + specIV + specKey, "", "", "not an aesgcm"},
		{"no host", "aesgcm:///f.png#" + specIV + specKey, "", "", "host"},
		{"userinfo", "aesgcm://user@h.example/f.png#" + specIV + specKey, "", "", "host"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u, err := ParseAESGCMURL(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if u.HTTPS != tc.wantHTTPS {
				t.Errorf("HTTPS = %q, want %q", u.HTTPS, tc.wantHTTPS)
			}
			if hex.EncodeToString(u.IV) != tc.wantIV {
				t.Errorf("IV = %x, want %s", u.IV, tc.wantIV)
			}
			if hex.EncodeToString(u.Key[:]) != specKey {
				t.Errorf("key = %x", u.Key)
			}
		})
	}
}

func TestMakeAESGCMURL(t *testing.T) {
	var key [KeySize]byte
	k, _ := hex.DecodeString(specKey)
	copy(key[:], k)
	iv, _ := hex.DecodeString(specIV)
	get := "https://download.montague.tld/4a771ac1-f0b2-4a4a-9700-f2a26fa2bb67/tr%C3%A8s%20cool.jpg"
	got, err := MakeAESGCMURL(get, key, iv)
	if err != nil {
		t.Fatal(err)
	}
	want := "aesgcm://download.montague.tld/4a771ac1-f0b2-4a4a-9700-f2a26fa2bb67/tr%C3%A8s%20cool.jpg#" + specIV + specKey
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	back, err := ParseAESGCMURL(got)
	if err != nil || back.HTTPS != get {
		t.Fatalf("round trip: %+v %v", back, err)
	}
	if _, err := MakeAESGCMURL("http://h.example/x", key, iv); err == nil {
		t.Error("http URL accepted")
	}
	if _, err := MakeAESGCMURL(get, key, iv[:8]); err == nil {
		t.Error("8-byte IV accepted")
	}
}

func TestEncryptDecryptRoundTrip(t *testing.T) {
	for _, n := range []int{0, 1, 15, 16, 17, 4096, 1<<20 + 3} {
		plain := make([]byte, n)
		rand.Read(plain)
		ct, key, iv, err := EncryptFile(bytes.NewReader(plain))
		if err != nil {
			t.Fatal(err)
		}
		if int64(len(ct)) != EncryptedSize(int64(n)) {
			t.Fatalf("n=%d: ciphertext %d bytes, want %d", n, len(ct), EncryptedSize(int64(n)))
		}
		if n > 32 && bytes.Contains(ct, plain[:32]) {
			t.Fatal("ciphertext contains plaintext")
		}
		got, err := DecryptFile(ct, key, iv[:])
		if err != nil {
			t.Fatalf("n=%d: %v", n, err)
		}
		if !bytes.Equal(got, plain) {
			t.Fatalf("n=%d: round trip differs", n)
		}
	}
}

func TestEncryptUsesFreshKeys(t *testing.T) {
	_, k1, iv1, _ := EncryptFile(strings.NewReader("x"))
	_, k2, iv2, _ := EncryptFile(strings.NewReader("x"))
	if k1 == k2 || iv1 == iv2 {
		t.Fatal("key or IV reused")
	}
}

func TestDecryptRejects(t *testing.T) {
	plain := []byte("the quick brown fox jumps over the lazy dog")
	ct, key, iv, err := EncryptFile(bytes.NewReader(plain))
	if err != nil {
		t.Fatal(err)
	}
	wrongKey := key
	wrongKey[0] ^= 1
	wrongIV := iv
	wrongIV[11] ^= 0x80
	flipped := bytes.Clone(ct)
	flipped[3] ^= 1
	badTag := bytes.Clone(ct)
	badTag[len(badTag)-1] ^= 1
	cases := map[string]struct {
		ct  []byte
		key [KeySize]byte
		iv  []byte
	}{
		"wrong key":        {ct, wrongKey, iv[:]},
		"wrong IV":         {ct, key, wrongIV[:]},
		"flipped data":     {flipped, key, iv[:]},
		"bad tag":          {badTag, key, iv[:]},
		"tag cut off":      {ct[:len(ct)-TagSize], key, iv[:]},
		"truncated":        {ct[:len(ct)-1], key, iv[:]},
		"shorter than tag": {ct[:5], key, iv[:]},
	}
	for name, c := range cases {
		if _, err := DecryptFile(c.ct, c.key, c.iv); !errors.Is(err, ErrDecrypt) {
			t.Errorf("%s: err = %v, want ErrDecrypt", name, err)
		}
	}
	if _, err := DecryptFile(ct, key, iv[:8]); err == nil {
		t.Error("8-byte IV accepted")
	}
}

func TestDecrypt16ByteIV(t *testing.T) {
	// A 16-byte-IV file as older senders produce it: encrypt with
	// NewGCMWithNonceSize via the same helper, then decrypt.
	var key [KeySize]byte
	rand.Read(key[:])
	iv := make([]byte, OldIVSize)
	rand.Read(iv)
	aead, err := newGCM(key, OldIVSize)
	if err != nil {
		t.Fatal(err)
	}
	ct := aead.Seal(nil, iv, []byte("old sender"), nil)
	got, err := DecryptFile(ct, key, iv)
	if err != nil || string(got) != "old sender" {
		t.Fatalf("got %q, %v", got, err)
	}
	// The same bytes with the IV cut to 12 must not decrypt.
	if _, err := DecryptFile(ct, key, iv[:IVSize]); err == nil {
		t.Fatal("16-byte-IV file decrypted with a 12-byte IV")
	}
}
