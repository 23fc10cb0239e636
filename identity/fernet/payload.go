package fernet

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// Payload versions, as Keystone numbers them.
const (
	Unscoped                    = 0
	DomainScoped                = 1
	ProjectScoped               = 2
	TrustScoped                 = 3
	FederatedUnscoped           = 4
	FederatedProjectScoped      = 5
	FederatedDomainScoped       = 6
	OAuth1Scoped                = 7
	SystemScoped                = 8
	ApplicationCredentialScoped = 9
	OAuth2CredentialScoped      = 10
)

// Payload is what a Keystone token says. Which fields a token carries
// depends on its version; PayloadVersion picks the version from the fields
// the way Keystone does.
type Payload struct {
	Version   int       // set by Parse; Issue derives it with PayloadVersion
	UserID    string    // every version
	Methods   []string  // auth methods, e.g. ["password"]
	ExpiresAt time.Time // microsecond precision, as Keystone's float
	IssuedAt  time.Time // from the Fernet timestamp (second precision); set by Parse
	AuditIDs  []string  // [audit_id] or [audit_id, parent_audit_id]

	ProjectID          string   // 2, 3, 5, 7, 9, 10
	DomainID           string   // 1, 6, 10
	System             string   // 8: "all"
	TrustID            string   // 3: a UUID
	FederatedGroupIDs  []string // 4, 5, 6
	IdentityProviderID string   // 4, 5, 6
	ProtocolID         string   // 4, 5, 6
	AccessTokenID      string   // 7: OAuth1 access token
	AppCredID          string   // 9: application credential
	Thumbprint         string   // 10: OAuth2 mTLS certificate thumbprint
}

// PayloadVersion is Keystone's choice of payload class
// (keystone/token/providers/fernet/core.py): OAuth1, then trust, then
// federation, then application credential, then OAuth2, then project,
// domain, system, and unscoped last.
func PayloadVersion(p Payload) int {
	federated := p.IdentityProviderID != "" || p.ProtocolID != "" || len(p.FederatedGroupIDs) > 0
	switch {
	case p.AccessTokenID != "":
		return OAuth1Scoped
	case p.TrustID != "":
		return TrustScoped
	case federated && p.ProjectID != "":
		return FederatedProjectScoped
	case federated && p.DomainID != "":
		return FederatedDomainScoped
	case federated:
		return FederatedUnscoped
	case p.AppCredID != "":
		return ApplicationCredentialScoped
	case p.Thumbprint != "":
		return OAuth2CredentialScoped
	case p.ProjectID != "":
		return ProjectScoped
	case p.DomainID != "":
		return DomainScoped
	case p.System != "":
		return SystemScoped
	}
	return Unscoped
}

// DefaultMethods is Keystone's default [auth] methods order: the bitmask
// of a token's methods is the sum of 2**index over this list.
var DefaultMethods = []string{"external", "password", "token", "oauth1", "mapped", "application_credential"}

// pseudoMethods are Keystone's fixed high bits for methods that are not
// auth plugins (keystone/auth/plugins/core.py _PSEUDO_METHOD_BITS).
var pseudoMethods = map[uint64]string{1 << 32: "ec2credential", 1 << 33: "oauth2_credential"}

// methodCodec maps method names to bits for one method order.
type methodCodec struct {
	bits []uint64 // descending
	name map[uint64]string
}

func newMethodCodec(order []string) methodCodec {
	c := methodCodec{name: map[uint64]string{}}
	bit := uint64(1)
	for _, m := range order {
		c.name[bit] = m
		bit *= 2
	}
	for b, m := range pseudoMethods {
		c.name[b] = m
	}
	for b := range c.name {
		c.bits = append(c.bits, b)
	}
	slices.Sort(c.bits)
	slices.Reverse(c.bits)
	return c
}

// encode sums the bits of the known methods; unknown ones add nothing, as
// in Keystone.
func (c methodCodec) encode(methods []string) uint64 {
	var sum uint64
	for _, m := range methods {
		for b, n := range c.name {
			if n == m {
				sum += b
			}
		}
	}
	return sum
}

// decode is Keystone's convert_integer_to_method_list: from the highest
// bit down, take a bit when the remainder divided by it is exactly 1.
func (c methodCodec) decode(v uint64) []string {
	out := []string{}
	for _, b := range c.bits {
		if v/b == 1 {
			out = append(out, c.name[b])
			v -= b
		}
	}
	return out
}

// uuidBytes is Python's uuid.UUID(s).bytes: "urn:" and "uuid:" dropped,
// braces stripped, hyphens removed, then exactly 32 hex digits.
func uuidBytes(s string) ([]byte, bool) {
	s = strings.ReplaceAll(strings.ReplaceAll(s, "urn:", ""), "uuid:", "")
	s = strings.ReplaceAll(strings.Trim(s, "{}"), "-", "")
	if len(s) != 32 {
		return nil, false
	}
	b, err := hex.DecodeString(s)
	return b, err == nil
}

// appendID packs an ID as Keystone's attempt_convert_uuid_hex_to_bytes:
// (True, 16 bytes) for a UUID, else (False, the string).
func appendID(b []byte, id string) []byte {
	b = appendArrayLen(b, 2)
	if raw, ok := uuidBytes(id); ok {
		return appendBin(appendBool(b, true), raw)
	}
	return appendStr(appendBool(b, false), id)
}

func appendAuditIDs(b []byte, ids []string) ([]byte, error) {
	b = appendArrayLen(b, len(ids))
	for _, id := range ids {
		raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(id, "="))
		if err != nil {
			return nil, fmt.Errorf("fernet: audit id %q is not URL-safe base64", id)
		}
		b = appendBin(b, raw)
	}
	return b, nil
}

// expiryFloat is Keystone's seconds-since-epoch float with microseconds.
func expiryFloat(t time.Time) float64 { return float64(t.UnixMicro()) / 1e6 }

// expiryTime is Python's datetime.utcfromtimestamp: microseconds rounded
// half to even, years 1 to 9999 (outside them Python raises).
func expiryTime(f float64) (time.Time, bool) {
	if math.IsNaN(f) || f < -62135596800 || f >= 253402300800 {
		return time.Time{}, false
	}
	sec, frac := math.Modf(f)
	us := math.RoundToEven(frac * 1e6)
	return time.Unix(int64(sec), int64(us)*1000).UTC(), true
}
