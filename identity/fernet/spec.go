package fernet

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"strings"
	"time"
)

const (
	version    = 0x80
	headerLen  = 1 + 8 + aes.BlockSize // version, timestamp, IV
	macLen     = sha256.Size
	minRawLen  = headerLen + aes.BlockSize + macLen
	maxTextLen = 64 << 10 // longest token text Open accepts (Keystone's are ~180-250)
)

// Seal encrypts and signs plaintext with key at time t, using a random IV,
// and returns the raw token (not yet base64-encoded).
func Seal(key *Key, plaintext []byte, t time.Time) ([]byte, error) {
	return prepare(*key).seal(plaintext, t)
}

func (p *prepared) seal(plaintext []byte, t time.Time) ([]byte, error) {
	var iv [aes.BlockSize]byte
	if _, err := rand.Read(iv[:]); err != nil {
		return nil, err
	}
	return p.sealIV(plaintext, t, iv[:]), nil
}

// sealIV is Seal with a given IV (for the spec's test vectors).
func sealIV(key *Key, plaintext []byte, t time.Time, iv []byte) []byte {
	return prepare(*key).sealIV(plaintext, t, iv)
}

func (p *prepared) sealIV(plaintext []byte, t time.Time, iv []byte) []byte {
	pad := aes.BlockSize - len(plaintext)%aes.BlockSize
	out := make([]byte, headerLen, headerLen+len(plaintext)+pad+macLen)
	out[0] = version
	binary.BigEndian.PutUint64(out[1:9], uint64(t.Unix()))
	copy(out[9:headerLen], iv)
	body := append(out[headerLen:], plaintext...)
	for i := 0; i < pad; i++ {
		body = append(body, byte(pad))
	}
	cipher.NewCBCEncrypter(p.block, iv).CryptBlocks(body, body)
	out = out[:headerLen+len(body)]
	mac := p.getMAC()
	mac.Write(out)
	out = mac.Sum(out)
	p.putMAC(mac)
	return out
}

// Open verifies raw, a raw token, against each key in turn and returns the
// plaintext and the token's timestamp. It checks, in the spec's order, the
// version byte, the HMAC (in constant time) and the padding; it does not
// check a TTL (Keystone keeps the expiry in the payload).
func Open(raw []byte, keys []Key) ([]byte, time.Time, error) {
	return open(raw, len(keys), func(i int) *prepared { return prepare(keys[i]) })
}

func open(raw []byte, n int, key func(int) *prepared) ([]byte, time.Time, error) {
	if len(raw) < minRawLen || raw[0] != version || (len(raw)-headerLen-macLen)%aes.BlockSize != 0 {
		return nil, time.Time{}, invalid("malformed")
	}
	signed, sum := raw[:len(raw)-macLen], raw[len(raw)-macLen:]
	var buf [macLen]byte
	for i := 0; i < n; i++ {
		p := key(i)
		mac := p.getMAC()
		mac.Write(signed)
		ok := hmac.Equal(mac.Sum(buf[:0]), sum)
		p.putMAC(mac)
		if !ok {
			continue
		}
		plain, ok := p.decrypt(signed)
		if !ok {
			return nil, time.Time{}, invalid("bad padding")
		}
		ts := int64(binary.BigEndian.Uint64(raw[1:9]))
		return plain, time.Unix(ts, 0).UTC(), nil
	}
	return nil, time.Time{}, invalid("no key matches")
}

func (p *prepared) decrypt(signed []byte) ([]byte, bool) {
	iv := signed[9:headerLen]
	body := make([]byte, len(signed)-headerLen)
	cipher.NewCBCDecrypter(p.block, iv).CryptBlocks(body, signed[headerLen:])
	pad := int(body[len(body)-1])
	if pad == 0 || pad > aes.BlockSize {
		return nil, false
	}
	for _, b := range body[len(body)-pad:] {
		if int(b) != pad {
			return nil, false
		}
	}
	return body[:len(body)-pad], true
}

// Encode renders a raw token as Keystone does: URL-safe base64 with the
// '=' padding stripped.
func Encode(raw []byte) string { return base64.RawURLEncoding.EncodeToString(raw) }

// Decode reads a token without its '=' padding (as Keystone hands them
// out) or with exactly the right padding. Anything else — wrong padding,
// characters outside URL-safe base64, line breaks — is invalid.
func Decode(s string) ([]byte, error) {
	if len(s) > maxTextLen {
		return nil, invalid("too long")
	}
	if strings.ContainsAny(s, "\r\n") {
		return nil, invalid("not URL-safe base64")
	}
	enc := base64.RawURLEncoding
	if strings.HasSuffix(s, "=") {
		enc = base64.URLEncoding
	}
	b, err := enc.Strict().DecodeString(s)
	if err != nil {
		return nil, invalid("not URL-safe base64")
	}
	return b, nil
}

// Timestamp returns the creation time stored in a token (Keystone's
// issued_at) without verifying it.
func Timestamp(raw []byte) (time.Time, bool) {
	if len(raw) < 9 {
		return time.Time{}, false
	}
	return time.Unix(int64(binary.BigEndian.Uint64(raw[1:9])), 0).UTC(), true
}
