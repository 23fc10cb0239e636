package fernet

import (
	"fmt"
	"slices"
	"time"
)

// KeySource supplies the keys, primary (encrypting) key first. A
// *Repository is one; StaticKeys is another.
type KeySource interface {
	Keys() []Key
}

// StaticKeys is a fixed key list, primary first.
type StaticKeys []Key

// Keys returns the list.
func (s StaticKeys) Keys() []Key { return s }

// Formatter issues and parses Keystone tokens. The zero value needs only
// Keys; it is safe for concurrent use.
type Formatter struct {
	Keys KeySource
	// Methods is Keystone's [auth] methods order; nil means DefaultMethods.
	// Keystone and gostack must agree on it.
	Methods []string
	// DefaultDomainID is Keystone's [identity] default_domain_id; "" means
	// "default". It is the one non-UUID id a domain-scoped token may carry.
	DefaultDomainID string
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	cache keyCache // prepared keys; a Formatter must not be copied after use
}

// codec returns the method bitmask codec. A custom order is rebuilt per
// call (a few hundred nanoseconds); the default order is prebuilt.
func (f *Formatter) codec() methodCodec {
	if f.Methods == nil || slices.Equal(f.Methods, DefaultMethods) {
		return defaultCodec
	}
	return newMethodCodec(f.Methods)
}

var defaultCodec = newMethodCodec(DefaultMethods)

func (f *Formatter) defaultDomain() string {
	if f.DefaultDomainID == "" {
		return "default"
	}
	return f.DefaultDomainID
}

func (f *Formatter) now() time.Time {
	if f.Now != nil {
		return f.Now()
	}
	return time.Now()
}

// Issue makes a token for p with the primary key. The payload version
// follows from p's fields (PayloadVersion); p.Version and p.IssuedAt are
// ignored: the token's issue time is the clock's.
func (f *Formatter) Issue(p Payload) (string, error) {
	payload, err := f.marshal(PayloadVersion(p), p)
	if err != nil {
		return "", err
	}
	keys := f.Keys.Keys()
	if len(keys) == 0 {
		return "", ErrNoKeys
	}
	raw, err := f.cache.get(keys[0]).seal(payload, f.now())
	if err != nil {
		return "", fmt.Errorf("fernet: issue: %w", err)
	}
	return Encode(raw), nil
}

// Parse verifies token with every key and returns its payload, with
// IssuedAt from the token's timestamp. It does not check expiry. Every
// failure wraps ErrInvalidToken.
func (f *Formatter) Parse(token string) (Payload, error) {
	raw, err := Decode(token)
	if err != nil {
		return Payload{}, err
	}
	keys := f.Keys.Keys()
	plain, ts, err := open(raw, len(keys), func(i int) *prepared { return f.cache.get(keys[i]) })
	if err != nil {
		return Payload{}, err
	}
	p, err := f.unmarshal(plain)
	if err != nil {
		return Payload{}, err
	}
	p.IssuedAt = ts
	return p, nil
}

// Validate is Parse plus the expiry check against the clock: a token whose
// ExpiresAt is not after now fails with ErrExpired.
func (f *Formatter) Validate(token string) (Payload, error) {
	p, err := f.Parse(token)
	if err != nil {
		return Payload{}, err
	}
	if !f.now().Before(p.ExpiresAt) {
		return Payload{}, ErrExpired
	}
	return p, nil
}
