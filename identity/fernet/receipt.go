package fernet

import (
	"fmt"
	"time"
)

// Receipt is the payload of a Keystone auth receipt
// (keystone/receipt/receipt_formatters.py): what a user authenticated
// with so far when their multi-factor rules asked for more. Keystone
// packs it as msgpack (user id, methods, expiry) in a Fernet token
// under the token keys ([fernet_receipts] key_repository defaults to the
// token repository).
type Receipt struct {
	UserID    string
	Methods   []string
	ExpiresAt time.Time
	// IssuedAt is the receipt's Fernet timestamp, set by ParseReceipt.
	IssuedAt time.Time
}

// IssueReceipt makes a receipt for r with the primary key; r.IssuedAt is
// ignored (the receipt's time is the clock's).
func (f *Formatter) IssueReceipt(r Receipt) (string, error) {
	b := appendArrayLen(make([]byte, 0, 48), 3)
	b = appendID(b, r.UserID)
	b = appendUint(b, f.codec().encode(r.Methods))
	b = appendFloat64(b, expiryFloat(r.ExpiresAt))
	keys := f.Keys.Keys()
	if len(keys) == 0 {
		return "", ErrNoKeys
	}
	raw, err := f.cache.get(keys[0]).seal(b, f.now())
	if err != nil {
		return "", fmt.Errorf("fernet: issue receipt: %w", err)
	}
	return Encode(raw), nil
}

// ParseReceipt verifies a receipt with every key and returns its
// payload, IssuedAt from its timestamp. It does not check expiry. A
// token is not a receipt (nor a receipt a token): every failure wraps
// ErrInvalidToken.
func (f *Formatter) ParseReceipt(s string) (Receipt, error) {
	raw, err := Decode(s)
	if err != nil {
		return Receipt{}, err
	}
	keys := f.Keys.Keys()
	plain, ts, err := open(raw, len(keys), func(i int) *prepared { return f.cache.get(keys[i]) })
	if err != nil {
		return Receipt{}, err
	}
	v, err := unpack(plain)
	if err != nil {
		return Receipt{}, invalid("receipt: %v", err)
	}
	arr, ok := v.([]any)
	if !ok || len(arr) != 3 {
		return Receipt{}, invalid("receipt is not an array of 3")
	}
	r := &fields{a: arr}
	out := Receipt{UserID: r.id(), Methods: f.codec().decode(r.uint()), ExpiresAt: r.expiry(), IssuedAt: ts}
	if r.err != nil {
		return Receipt{}, invalid("receipt: malformed")
	}
	return out, nil
}
