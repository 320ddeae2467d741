package media

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const python = "/usr/bin/python3"

// requirePyCrypto skips without Debian's python3-cryptography, except in CI
// where its absence is a failure.
func requirePyCrypto(t *testing.T) {
	t.Helper()
	if err := exec.Command(python, "-c", "from cryptography.hazmat.primitives.ciphers.aead import AESGCM").Run(); err != nil {
		if ci, _ := strconv.ParseBool(os.Getenv("CI")); ci {
			t.Fatalf("python3-cryptography is required in CI: %v", err)
		}
		t.Skipf("python3-cryptography not available: %v", err)
	}
}

// Python decrypts what EncryptFile produced.
func TestInteropPythonDecryptsGo(t *testing.T) {
	requirePyCrypto(t)
	plain := make([]byte, 100_003)
	rand.Read(plain)
	ct, key, iv, err := EncryptFile(bytes.NewReader(plain))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "file.enc")
	os.WriteFile(path, ct, 0o600)
	script := `
import sys, hashlib
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
key, iv, path = bytes.fromhex(sys.argv[1]), bytes.fromhex(sys.argv[2]), sys.argv[3]
data = open(path, "rb").read()
print(hashlib.sha256(AESGCM(key).decrypt(iv, data, None)).hexdigest())
`
	out, err := exec.Command(python, "-c", script, hex.EncodeToString(key[:]), hex.EncodeToString(iv[:]), path).CombinedOutput()
	if err != nil {
		t.Fatalf("python: %v\n%s", err, out)
	}
	sum := sha256.Sum256(plain)
	if strings.TrimSpace(string(out)) != hex.EncodeToString(sum[:]) {
		t.Fatalf("python decrypted to sha256 %s, want %x", out, sum)
	}
}

// Go decrypts what Python encrypted, with 12- and 16-byte IVs, given as an
// aesgcm:// URL fragment.
func TestInteropGoDecryptsPython(t *testing.T) {
	requirePyCrypto(t)
	for _, ivLen := range []int{12, 16} {
		dir := t.TempDir()
		script := `
import sys, os
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
ivlen, d = int(sys.argv[1]), sys.argv[2]
key, iv = AESGCM.generate_key(bit_length=256), os.urandom(ivlen)
plain = os.urandom(54321)
open(d + "/plain", "wb").write(plain)
open(d + "/enc", "wb").write(AESGCM(key).encrypt(iv, plain, None))
print(iv.hex() + key.hex())
`
		out, err := exec.Command(python, "-c", script, strconv.Itoa(ivLen), dir).CombinedOutput()
		if err != nil {
			t.Fatalf("python: %v\n%s", err, out)
		}
		u, err := ParseAESGCMURL("aesgcm://h.example/x.bin#" + strings.TrimSpace(string(out)))
		if err != nil {
			t.Fatal(err)
		}
		if len(u.IV) != ivLen {
			t.Fatalf("IV %d bytes, want %d", len(u.IV), ivLen)
		}
		ct, _ := os.ReadFile(filepath.Join(dir, "enc"))
		want, _ := os.ReadFile(filepath.Join(dir, "plain"))
		got, err := DecryptFile(ct, u.Key, u.IV)
		if err != nil {
			t.Fatalf("iv %d: %v", ivLen, err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("iv %d: plaintext differs", ivLen)
		}
	}
}
