package iscsi

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
)

// CHAP is the one-way CHAP credentials an initiator logs in with (tgt's
// incominguser). Its String, GoString and LogValue never show the
// password, so printing or logging an Export or a Connection leaks
// nothing.
type CHAP struct {
	Username string
	Password string
}

// Lengths of the credentials NewCHAP makes: Cinder's (a 16-character
// password is also the most Windows' initiator accepts).
const (
	usernameLen = 20
	passwordLen = 16
)

// CHAP secrets shorter than this are refused: RFC 3720 (8.2.1) asks for
// at least 96 bits when the link is not protected by IPsec.
const minPasswordLen = 12

// maxCredentialLen bounds user names and passwords.
const maxCredentialLen = 255

// NewCHAP returns random credentials: a 20-character user name and a
// 16-character password of letters and digits (about 95 bits), from
// crypto/rand.
func NewCHAP() CHAP {
	return CHAP{Username: randomString(usernameLen), Password: randomString(passwordLen)}
}

// randomString draws n letters and digits uniformly from crypto/rand
// (rejection sampling: no character is likelier than another).
func randomString(n int) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	out := make([]byte, 0, n)
	buf := make([]byte, 2*n)
	limit := 256 - 256%len(alphabet)
	for len(out) < n {
		rand.Read(buf)
		for _, b := range buf {
			if int(b) < limit && len(out) < n {
				out = append(out, alphabet[int(b)%len(alphabet)])
			}
		}
	}
	return string(out)
}

// IsZero reports whether c has neither user name nor password.
func (c CHAP) IsZero() bool { return c.Username == "" && c.Password == "" }

// String shows the user name only.
func (c CHAP) String() string {
	if c.IsZero() {
		return "CHAP{}"
	}
	return "CHAP{" + c.Username + " ***}"
}

// GoString is String, for %#v.
func (c CHAP) GoString() string { return c.String() }

// LogValue is the user name only.
func (c CHAP) LogValue() slog.Value { return slog.StringValue(c.Username) }

// validate refuses credentials tgtadm or an iscsi:// URL cannot carry:
// user names and passwords are letters, digits and "-._~" (tgtadm joins
// its arguments with commas, and the URL form puts them before an '@').
// The error never holds the password.
func (c CHAP) validate() error {
	if c.Username == "" || len(c.Username) > maxCredentialLen || !credentialChars(c.Username) {
		return fmt.Errorf("CHAP user name %q: 1 to %d letters, digits or -._~", c.Username, maxCredentialLen)
	}
	if len(c.Password) < minPasswordLen || len(c.Password) > maxCredentialLen || !credentialChars(c.Password) {
		return fmt.Errorf("CHAP password of user %s: %d to %d letters, digits or -._~", c.Username, minPasswordLen, maxCredentialLen)
	}
	return nil
}

func credentialChars(s string) bool {
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9',
			r == '-', r == '.', r == '_', r == '~':
		default:
			return false
		}
	}
	return true
}

// digest is what the state file keeps of credentials: an HMAC-SHA256
// under the file's random key, so the file can tell whether tgtd has
// the password asked for without holding it.
func (c CHAP) digest(key []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(c.Username))
	m.Write([]byte{0})
	m.Write([]byte(c.Password))
	return hex.EncodeToString(m.Sum(nil))
}
