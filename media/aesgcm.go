package media

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
)

// GCM parameters of XEP-0454.
const (
	KeySize   = 32 // AES-256
	IVSize    = 12 // IV sent by xchat
	OldIVSize = 16 // IV of older senders, still accepted
	TagSize   = 16 // GCM tag appended to the file
)

// ErrDecrypt is a file whose GCM tag does not verify (wrong key or IV, or
// tampered or truncated data).
var ErrDecrypt = errors.New("encrypted file does not decrypt: wrong key or damaged file")

// EncryptedSize is the size of the upload for a plaintext of n bytes.
func EncryptedSize(n int64) int64 { return n + TagSize }

// EncryptFile reads r to its end and encrypts it with a fresh random key and
// IV, AES-256-GCM with the tag appended.
func EncryptFile(r io.Reader) (ciphertext []byte, key [KeySize]byte, iv [IVSize]byte, err error) {
	plain, err := io.ReadAll(r)
	if err != nil {
		return nil, key, iv, err
	}
	if _, err = rand.Read(key[:]); err != nil {
		return nil, key, iv, err
	}
	if _, err = rand.Read(iv[:]); err != nil {
		return nil, key, iv, err
	}
	aead, err := newGCM(key, IVSize)
	if err != nil {
		return nil, key, iv, err
	}
	return aead.Seal(plain[:0:0], iv[:], plain, nil), key, iv, nil
}

// DecryptFile checks the tag and decrypts a XEP-0454 file. iv is 12 or 16
// bytes long.
func DecryptFile(ciphertext []byte, key [KeySize]byte, iv []byte) ([]byte, error) {
	if len(iv) != IVSize && len(iv) != OldIVSize {
		return nil, fmt.Errorf("IV must be %d or %d bytes, not %d", IVSize, OldIVSize, len(iv))
	}
	if len(ciphertext) < TagSize {
		return nil, ErrDecrypt
	}
	aead, err := newGCM(key, len(iv))
	if err != nil {
		return nil, err
	}
	plain, err := aead.Open(nil, iv, ciphertext, nil)
	if err != nil {
		return nil, ErrDecrypt
	}
	return plain, nil
}

func newGCM(key [KeySize]byte, ivSize int) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key[:])
	if err != nil {
		return nil, err
	}
	if ivSize == 12 {
		return cipher.NewGCM(block)
	}
	return cipher.NewGCMWithNonceSize(block, ivSize)
}

// AESGCMURL is a parsed aesgcm:// URL.
type AESGCMURL struct {
	HTTPS string // the https URL to fetch, fragment removed
	IV    []byte // 12 or 16 bytes
	Key   [KeySize]byte
}

// String renders the aesgcm:// form (IV hex then key hex in the fragment).
func (u AESGCMURL) String() string {
	return "aesgcm://" + strings.TrimPrefix(u.HTTPS, "https://") + "#" + hex.EncodeToString(u.IV) + hex.EncodeToString(u.Key[:])
}

// ParseAESGCMURL parses aesgcm://host/path#<iv hex><key hex>, with a 12-byte
// IV (88 hex digits) or a 16-byte IV (96 hex digits).
func ParseAESGCMURL(s string) (AESGCMURL, error) {
	const scheme = "aesgcm://"
	if len(s) < len(scheme) || !strings.EqualFold(s[:len(scheme)], scheme) {
		return AESGCMURL{}, errors.New("not an aesgcm:// URL")
	}
	rest, frag, ok := strings.Cut(s[len(scheme):], "#")
	if !ok {
		return AESGCMURL{}, errors.New("aesgcm URL has no key")
	}
	var ivLen int
	switch len(frag) {
	case 2 * (IVSize + KeySize):
		ivLen = IVSize
	case 2 * (OldIVSize + KeySize):
		ivLen = OldIVSize
	default:
		return AESGCMURL{}, fmt.Errorf("aesgcm URL key has %d hex digits, want %d or %d", len(frag), 2*(IVSize+KeySize), 2*(OldIVSize+KeySize))
	}
	raw, err := hex.DecodeString(frag)
	if err != nil {
		return AESGCMURL{}, errors.New("aesgcm URL key is not hexadecimal")
	}
	httpsURL := "https://" + rest
	u, err := url.Parse(httpsURL)
	if err != nil {
		return AESGCMURL{}, fmt.Errorf("malformed aesgcm URL: %w", err)
	}
	if u.Host == "" || u.User != nil {
		return AESGCMURL{}, errors.New("aesgcm URL has no valid host")
	}
	out := AESGCMURL{HTTPS: httpsURL, IV: raw[:ivLen]}
	copy(out.Key[:], raw[ivLen:])
	return out, nil
}

// MakeAESGCMURL turns the https GET URL of an encrypted upload into the
// aesgcm:// URL to send. Non-https URLs are refused, as XEP-0454 demands.
func MakeAESGCMURL(getURL string, key [KeySize]byte, iv []byte) (string, error) {
	u, err := url.Parse(getURL)
	if err != nil {
		return "", err
	}
	if u.Scheme != "https" || u.Host == "" {
		return "", errors.New("only https URLs can become aesgcm URLs")
	}
	if len(iv) != IVSize && len(iv) != OldIVSize {
		return "", fmt.Errorf("IV must be %d or %d bytes", IVSize, OldIVSize)
	}
	u.Fragment, u.RawFragment = "", ""
	return AESGCMURL{HTTPS: u.String(), IV: iv, Key: key}.String(), nil
}
