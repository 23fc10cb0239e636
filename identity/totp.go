package identity

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base32"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gostack/gostack/identity/fernet"
	"github.com/gostack/gostack/kit/fault"
)

// CredentialTOTP is the credential type holding a user's TOTP secret:
// the blob is the base32 secret, as Keystone's totp method reads it.
const CredentialTOTP = "totp"

// ServableMethods are the authentication methods gostack implements;
// Store.AuthMethods chooses which of them are served.
var ServableMethods = []string{"password", "token", "application_credential", "totp"}

// KeystoneMethods are the [auth] methods names Keystone has plugins for:
// what Store.AuthMethods may list (those gostack does not implement keep
// their place in the tokens' method bits and are not served).
var KeystoneMethods = []string{"external", "password", "token", "oauth1", "mapped", "application_credential", "totp",
	"saml2", "openid", "x509", "kerberos"}

// ServedMethods are the methods Auth serves: those of Store.AuthMethods
// (Keystone's [auth] methods; nil: its default, fernet.DefaultMethods)
// that gostack implements.
func (s *Store) ServedMethods() []string {
	order := s.AuthMethods
	if order == nil {
		order = fernet.DefaultMethods
	}
	return slices.DeleteFunc(slices.Clone(order), func(m string) bool { return !slices.Contains(ServableMethods, m) })
}

// CheckAuthMethods checks an [auth] methods list: at least one method,
// each a Keystone method name, none twice.
func CheckAuthMethods(methods []string) error {
	if len(methods) == 0 {
		return fmt.Errorf("at least one method is needed")
	}
	for i, m := range methods {
		if !slices.Contains(KeystoneMethods, m) {
			return fmt.Errorf("%q is not an authentication method Keystone has (%s)", m, strings.Join(KeystoneMethods, ", "))
		}
		if slices.Contains(methods[:i], m) {
			return fmt.Errorf("%q is listed twice", m)
		}
	}
	return nil
}

// TOTPAuth is the "totp" method: a user and the passcode their TOTP
// device shows.
type TOTPAuth struct {
	User     UserRef
	Passcode string
}

// Keystone's TOTP: six digits, HMAC-SHA1, 30-second steps (RFC 6238).
const (
	totpDigits = 6
	totpStep   = 30 * time.Second
)

// DefaultTOTPWindows is Keystone's [totp] included_previous_windows: the
// passcode of the step before the current one is taken too.
const DefaultTOTPWindows = 1

// TOTPPasscodes are the passcodes secret (base32, padding optional, as
// Keystone pads it; at least 16 bytes once decoded) gives at t and in
// the windows steps before it, current first: Keystone's
// _generate_totp_passcodes.
func TOTPPasscodes(secret string, t time.Time, windows int) ([]string, error) {
	s := strings.ToUpper(secret)
	if n := len(s) % 8; n != 0 {
		s += strings.Repeat("=", 8-n)
	}
	key, err := base32.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("the TOTP secret is not base32: %w", err)
	}
	if len(key) < 16 {
		// The cryptography library Keystone uses refuses such a key, so
		// the credential matches no passcode there.
		return nil, fmt.Errorf("the TOTP secret is %d bytes: at least 16 are needed", len(key))
	}
	out := make([]string, 0, windows+1)
	for i := 0; i <= windows; i++ {
		out = append(out, hotp(key, uint64(t.Add(-time.Duration(i)*totpStep).Unix())/uint64(totpStep/time.Second)))
	}
	return out, nil
}

// hotp is RFC 4226's HOTP value of counter, six digits.
func hotp(key []byte, counter uint64) string {
	mac := hmac.New(sha1.New, key)
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], counter)
	mac.Write(msg[:])
	sum := mac.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	code := binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff
	return fmt.Sprintf("%0*d", totpDigits, code%1_000_000)
}

// checkTOTP is Keystone's totp method: the user (enabled, in an enabled
// domain) has a totp credential whose secret gives the passcode now or
// in the TOTPWindows steps before. Any failure is the generic 401
// Keystone answers (its "Invalid username or TOTP passcode" is shown only
// with insecure_debug).
func (s *Auth) checkTOTP(ctx context.Context, a TOTPAuth) (User, error) {
	bad := errUnauthorized
	u, err := s.lookupUser(ctx, a.User)
	if fault.KindOf(err) == fault.BadRequest {
		return User{}, err
	}
	if err != nil {
		return User{}, bad
	}
	if _, err := s.usable(ctx, u); err != nil {
		return User{}, err
	}
	if s.Credentials == nil || a.Passcode == "" {
		return User{}, bad
	}
	creds, err := s.Credentials.List(ctx, CredentialFilter{UserID: u.ID, Type: CredentialTOTP})
	if err != nil {
		return User{}, err
	}
	windows := s.TOTPWindows
	if windows < 0 {
		windows = 0
	}
	now := s.now()
	for _, c := range creds {
		codes, err := TOTPPasscodes(c.Blob, now, windows)
		if err != nil {
			continue // as Keystone: a secret that does not decode matches nothing
		}
		for _, code := range codes {
			if subtle.ConstantTimeCompare([]byte(code), []byte(a.Passcode)) == 1 {
				return u, nil
			}
		}
	}
	return User{}, bad
}
