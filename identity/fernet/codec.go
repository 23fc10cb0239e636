package fernet

import (
	"fmt"
	"time"
)

// marshal encodes p as version v: msgpack of (version, fields...).
func (f *Formatter) marshal(v int, p Payload) ([]byte, error) {
	// Field counts per version, version included.
	counts := [...]int{5, 6, 6, 7, 8, 9, 9, 7, 6, 7, 8}
	b := appendArrayLen(make([]byte, 0, 128), counts[v])
	b = appendUint(b, uint64(v))
	b = appendID(b, p.UserID)
	b = appendUint(b, f.codec().encode(p.Methods))
	var err error
	switch v {
	case DomainScoped:
		if b, err = f.appendDomain(b, p.DomainID); err != nil {
			return nil, err
		}
	case ProjectScoped, TrustScoped, ApplicationCredentialScoped:
		b = appendID(b, p.ProjectID)
	case FederatedUnscoped:
		b = appendGroups(b, p.FederatedGroupIDs)
		b = appendStr(appendID(b, p.IdentityProviderID), p.ProtocolID)
	case FederatedProjectScoped, FederatedDomainScoped:
		scope := p.ProjectID
		if v == FederatedDomainScoped {
			scope = p.DomainID
		}
		b = appendGroups(appendID(b, scope), p.FederatedGroupIDs)
		b = appendStr(appendID(b, p.IdentityProviderID), p.ProtocolID)
	case OAuth1Scoped:
		b = appendID(appendID(b, p.ProjectID), p.AccessTokenID)
	case SystemScoped:
		b = appendStr(b, p.System)
	case OAuth2CredentialScoped:
		b = appendID(appendID(b, p.ProjectID), p.DomainID)
	}
	b = appendFloat64(b, expiryFloat(p.ExpiresAt))
	if b, err = appendAuditIDs(b, p.AuditIDs); err != nil {
		return nil, err
	}
	switch v {
	case TrustScoped:
		raw, ok := uuidBytes(p.TrustID)
		if !ok {
			return nil, fmt.Errorf("fernet: trust id %q is not a UUID", p.TrustID)
		}
		b = appendBin(b, raw)
	case ApplicationCredentialScoped:
		b = appendID(b, p.AppCredID)
	case OAuth2CredentialScoped:
		b = appendStr(appendBool(appendArrayLen(b, 2), false), p.Thumbprint)
	}
	return b, nil
}

// appendDomain: a UUID as 16 raw bytes, or the default domain id as a
// string, with no flag; Keystone refuses anything else.
func (f *Formatter) appendDomain(b []byte, id string) ([]byte, error) {
	if raw, ok := uuidBytes(id); ok {
		return appendBin(b, raw), nil
	}
	if id == f.defaultDomain() {
		return appendStr(b, id), nil
	}
	return nil, fmt.Errorf("fernet: domain id %q is neither a UUID nor the default domain id", id)
}

func appendGroups(b []byte, ids []string) []byte {
	b = appendArrayLen(b, len(ids))
	for _, id := range ids {
		b = appendID(b, id)
	}
	return b
}

// fields walks a decoded payload array, remembering the first error.
type fields struct {
	a   []any
	i   int
	err error
}

func (r *fields) next() any {
	if r.err != nil || r.i >= len(r.a) {
		r.err = errMsgpack
		return nil
	}
	r.i++
	return r.a[r.i-1]
}

func (r *fields) fail() { r.err = errMsgpack }

// id reads a (flag, value) pair as Keystone's _convert_or_decode.
func (r *fields) id() string {
	pair, ok := r.next().([]any)
	if !ok || len(pair) != 2 {
		r.fail()
		return ""
	}
	flag, ok := pair[0].(bool)
	raw, isRaw := rawBytes(pair[1])
	switch {
	case !ok || !isRaw:
		r.fail()
	case flag && len(raw) == 16:
		return hexUUID(raw)
	case flag:
		r.fail()
	default:
		return string(raw)
	}
	return ""
}

func (r *fields) uuid() string {
	raw, ok := rawBytes(r.next())
	if !ok || len(raw) != 16 {
		r.fail()
		return ""
	}
	return hexUUID(raw)
}

func (r *fields) str() string {
	raw, ok := rawBytes(r.next())
	if !ok {
		r.fail()
	}
	return string(raw)
}

func (r *fields) uint() uint64 {
	switch v := r.next().(type) {
	case int64:
		if v >= 0 {
			return uint64(v)
		}
	case uint64:
		return v
	}
	r.fail()
	return 0
}

func (r *fields) expiry() time.Time {
	var f float64
	switch v := r.next().(type) {
	case float64:
		f = v
	case int64: // Python packs an int if someone stored one
		f = float64(v)
	case uint64:
		f = float64(v)
	default:
		r.fail()
		return time.Time{}
	}
	t, ok := expiryTime(f)
	if !ok {
		r.fail()
	}
	return t
}

func (r *fields) auditIDs() []string {
	list, ok := r.next().([]any)
	if !ok {
		r.fail()
		return nil
	}
	out := make([]string, 0, len(list))
	for _, v := range list {
		raw, ok := rawBytes(v)
		if !ok {
			r.fail()
			return nil
		}
		out = append(out, encodeAuditID(raw))
	}
	return out
}

func (r *fields) groups() []string {
	list, ok := r.next().([]any)
	if !ok {
		r.fail()
		return nil
	}
	sub := fields{a: list}
	out := make([]string, 0, len(list))
	for range list {
		out = append(out, sub.id())
	}
	if sub.err != nil {
		r.fail()
	}
	return out
}

// rawBytes accepts bin, and str for tokens packed before msgpack 1.0.
func rawBytes(v any) ([]byte, bool) {
	switch x := v.(type) {
	case []byte:
		return x, true
	case mpStr:
		return x, true
	}
	return nil, false
}
