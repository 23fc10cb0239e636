package password

import (
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"strings"

	"github.com/gostack/gostack/kit/fault"
	"golang.org/x/crypto/bcrypt"
)

// Algorithm names, as Keystone's [identity] password_hash_algorithm.
const (
	Bcrypt       = "bcrypt"
	Scrypt       = "scrypt"
	PBKDF2SHA512 = "pbkdf2_sha512"
)

// Defaults of Keystone and passlib.
const (
	DefaultMaxLength = 4096 // [identity] max_password_length
	bcryptMaxLength  = 72
)

var (
	// ErrTooLong: the password is over the maximum length and Strict is set.
	ErrTooLong = fmt.Errorf("password: too long: %w", fault.ErrBadRequest)
	// ErrUnsupported: the stored hash is in a format Keystone does not accept.
	ErrUnsupported = errors.New("password: unsupported hash format")
	// ErrMalformed: the stored hash is damaged.
	ErrMalformed = errors.New("password: malformed hash")
)

// Hasher hashes and verifies passwords. The zero value is Keystone's
// default: bcrypt, cost 12, passwords cut at 72 bytes.
type Hasher struct {
	Algorithm string // Bcrypt (default), Scrypt or PBKDF2SHA512
	// Rounds is the cost: bcrypt's log2 rounds (default 12), PBKDF2's
	// iterations (default 25000), scrypt's log2 N (default 16).
	Rounds    int
	MaxLength int  // default DefaultMaxLength
	Strict    bool // refuse over-long passwords instead of cutting them
	SaltSize  int  // scrypt and PBKDF2 salt bytes (default 16)
	// ScryptBlockSize and ScryptParallelism are scrypt's r and p
	// (defaults 8 and 1).
	ScryptBlockSize, ScryptParallelism int
}

func (h Hasher) algorithm() string {
	if h.Algorithm == "" {
		return Bcrypt
	}
	return h.Algorithm
}

// prepare is Keystone's verify_length_and_trunc_password. The limit
// depends on the configured algorithm, also when verifying a hash of
// another kind, exactly as in Keystone.
func (h Hasher) prepare(password string) ([]byte, error) {
	limit := h.MaxLength
	if limit <= 0 {
		limit = DefaultMaxLength
	}
	if h.algorithm() == Bcrypt && limit > bcryptMaxLength {
		limit = bcryptMaxLength
	}
	b := []byte(password)
	if len(b) > limit {
		if h.Strict {
			return nil, fmt.Errorf("%w: the maximum is %d bytes", ErrTooLong, limit)
		}
		b = b[:limit]
	}
	return b, nil
}

// Hash returns the password's hash in passlib's format for the configured
// algorithm, with a fresh salt.
func (h Hasher) Hash(password string) (string, error) {
	pw, err := h.prepare(password)
	if err != nil {
		return "", err
	}
	switch h.algorithm() {
	case Bcrypt:
		cost := h.Rounds
		if cost == 0 {
			cost = 12
		}
		out, err := bcrypt.GenerateFromPassword(pw, cost)
		if err != nil {
			return "", fmt.Errorf("password: bcrypt: %w", err)
		}
		// Same algorithm; passlib writes the 2b ident.
		return "$2b$" + strings.TrimPrefix(string(out), "$2a$"), nil
	case PBKDF2SHA512:
		return h.hashPBKDF2(pw)
	case Scrypt:
		return h.hashScrypt(pw)
	}
	return "", fmt.Errorf("password: unknown algorithm %q (want bcrypt, scrypt or pbkdf2_sha512)", h.Algorithm)
}

// Verify reports whether password matches hashed. A hash in an unknown or
// damaged format is an error, never a match.
func (h Hasher) Verify(password, hashed string) (bool, error) {
	pw, err := h.prepare(password)
	if err != nil {
		return false, err
	}
	switch {
	case strings.HasPrefix(hashed, "$2a$"), strings.HasPrefix(hashed, "$2b$"),
		strings.HasPrefix(hashed, "$2y$"), strings.HasPrefix(hashed, "$2$"):
		err := bcrypt.CompareHashAndPassword([]byte(hashed), pw)
		if errors.Is(err, bcrypt.ErrMismatchedHashAndPassword) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("%w: %v", ErrMalformed, err)
		}
		return true, nil
	case strings.HasPrefix(hashed, "$pbkdf2-sha512$"):
		return verifyPBKDF2(pw, hashed)
	case strings.HasPrefix(hashed, "$scrypt$"):
		return verifyScrypt(pw, hashed)
	case strings.HasPrefix(hashed, "$6$"):
		return verifySHA512Crypt(pw, hashed)
	}
	return false, ErrUnsupported
}

func salt(n int) ([]byte, error) {
	if n <= 0 {
		n = 16
	}
	b := make([]byte, n)
	_, err := rand.Read(b)
	return b, err
}

func equal(a, b []byte) bool { return subtle.ConstantTimeCompare(a, b) == 1 }
