package fernet

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strings"
)

// Key is one Fernet key: a 16-byte HMAC-SHA256 signing key followed by a
// 16-byte AES-128 encryption key.
type Key [32]byte

// GenerateKey returns a new random key.
func GenerateKey() (Key, error) {
	var k Key
	if _, err := rand.Read(k[:]); err != nil {
		return Key{}, fmt.Errorf("fernet: generate key: %w", err)
	}
	return k, nil
}

// ParseKey reads a key in Fernet's text form: 32 bytes in URL-safe base64
// (44 characters with padding, as Python's Fernet.generate_key writes;
// surrounding white space and missing padding are accepted).
func ParseKey(s string) (Key, error) {
	s = strings.TrimRight(strings.TrimSpace(s), "=")
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) != 32 {
		return Key{}, fmt.Errorf("fernet: a key is 32 bytes of URL-safe base64")
	}
	var k Key
	copy(k[:], b)
	return k, nil
}

// String returns the key in Fernet's text form (padded URL-safe base64).
// It is the secret itself: never log it.
func (k Key) String() string { return base64.URLEncoding.EncodeToString(k[:]) }

// Equal reports whether two keys are the same, in constant time.
func (k Key) Equal(o Key) bool { return subtle.ConstantTimeCompare(k[:], o[:]) == 1 }

func (k *Key) signing() []byte    { return k[:16] }
func (k *Key) encryption() []byte { return k[16:] }
