package fernet

import (
	"errors"
	"fmt"

	"github.com/gostack/gostack/kit/fault"
)

var (
	// ErrInvalidToken: the token is garbled, truncated, made with a key we
	// do not hold, or carries a payload we cannot read. It is a 401.
	ErrInvalidToken = fmt.Errorf("fernet: invalid token: %w", fault.ErrUnauthorized)
	// ErrExpired: the token's expiry has passed. It is a 401.
	ErrExpired = fmt.Errorf("fernet: token expired: %w", fault.ErrUnauthorized)
	// ErrNoKeys: the key repository holds no usable key.
	ErrNoKeys = errors.New("fernet: no keys in the key repository")
)

// invalid wraps a reason into ErrInvalidToken. The reason is for logs; the
// API answers every invalid token the same way.
func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidToken, fmt.Sprintf(format, args...))
}
