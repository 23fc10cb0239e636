package password

import (
	"crypto/pbkdf2"
	"crypto/sha512"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/scrypt"
)

// ab64 is passlib's "adapted base64": the standard alphabet with '.' for
// '+', no padding.
var ab64 = base64.NewEncoding("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789./").WithPadding(base64.NoPadding)

func ab64Decode(s string) ([]byte, error) { return ab64.DecodeString(strings.TrimRight(s, "=")) }

// $pbkdf2-sha512$ROUNDS$SALT$CHECKSUM, a 64-byte checksum.
func (h Hasher) hashPBKDF2(pw []byte) (string, error) {
	rounds := h.Rounds
	if rounds == 0 {
		rounds = 25000
	}
	s, err := salt(h.SaltSize)
	if err != nil {
		return "", err
	}
	sum, err := pbkdf2.Key(sha512.New, string(pw), s, rounds, 64)
	if err != nil {
		return "", fmt.Errorf("password: pbkdf2: %w", err)
	}
	return fmt.Sprintf("$pbkdf2-sha512$%d$%s$%s", rounds, ab64.EncodeToString(s), ab64.EncodeToString(sum)), nil
}

func verifyPBKDF2(pw []byte, hashed string) (bool, error) {
	f := strings.Split(hashed, "$") // "", "pbkdf2-sha512", rounds, salt, sum
	if len(f) != 5 {
		return false, ErrMalformed
	}
	rounds, err := strconv.Atoi(f[2])
	s, err2 := ab64Decode(f[3])
	want, err3 := ab64Decode(f[4])
	if err != nil || err2 != nil || err3 != nil || rounds < 1 || len(want) != 64 {
		return false, ErrMalformed
	}
	got, err := pbkdf2.Key(sha512.New, string(pw), s, rounds, 64)
	if err != nil {
		return false, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return equal(got, want), nil
}

// b64s is what passlib's scrypt uses: standard base64, no padding.
var b64s = base64.RawStdEncoding

// $scrypt$ln=LOG2N,r=R,p=P$SALT$CHECKSUM, a 32-byte checksum, in b64s.
func (h Hasher) hashScrypt(pw []byte) (string, error) {
	ln, r, p := h.Rounds, h.ScryptBlockSize, h.ScryptParallelism
	if ln == 0 {
		ln = 16
	}
	if r == 0 {
		r = 8
	}
	if p == 0 {
		p = 1
	}
	s, err := salt(h.SaltSize)
	if err != nil {
		return "", err
	}
	sum, err := scrypt.Key(pw, s, 1<<ln, r, p, 32)
	if err != nil {
		return "", fmt.Errorf("password: scrypt: %w", err)
	}
	return fmt.Sprintf("$scrypt$ln=%d,r=%d,p=%d$%s$%s", ln, r, p, b64s.EncodeToString(s), b64s.EncodeToString(sum)), nil
}

func verifyScrypt(pw []byte, hashed string) (bool, error) {
	f := strings.Split(hashed, "$") // "", "scrypt", params, salt, sum
	if len(f) != 5 {
		return false, ErrMalformed
	}
	var ln, r, p int
	if n, err := fmt.Sscanf(f[2], "ln=%d,r=%d,p=%d", &ln, &r, &p); err != nil || n != 3 || ln < 1 || ln > 30 || r < 1 || p < 1 {
		return false, ErrMalformed
	}
	s, err := b64s.DecodeString(strings.TrimRight(f[3], "="))
	want, err2 := b64s.DecodeString(strings.TrimRight(f[4], "="))
	if err != nil || err2 != nil || len(want) == 0 {
		return false, ErrMalformed
	}
	got, err := scrypt.Key(pw, s, 1<<ln, r, p, len(want))
	if err != nil {
		return false, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return equal(got, want), nil
}
