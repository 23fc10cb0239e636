package fernet

import (
	"encoding/base64"
	"encoding/hex"
)

// unmarshal decodes a payload of any version 0-10.
func (f *Formatter) unmarshal(b []byte) (Payload, error) {
	v, err := unpack(b)
	if err != nil {
		return Payload{}, invalid("payload: %v", err)
	}
	arr, ok := v.([]any)
	if !ok || len(arr) == 0 {
		return Payload{}, invalid("payload is not an array")
	}
	r := &fields{a: arr}
	ver := r.uint()
	if r.err != nil || ver > OAuth2CredentialScoped {
		return Payload{}, invalid("unknown payload version")
	}
	p := Payload{Version: int(ver)}
	p.UserID = r.id()
	p.Methods = f.codec().decode(r.uint())
	f.scope(r, &p)
	p.ExpiresAt = r.expiry()
	p.AuditIDs = r.auditIDs()
	switch p.Version {
	case TrustScoped:
		p.TrustID = r.uuid()
	case ApplicationCredentialScoped:
		p.AppCredID = r.id()
	case OAuth2CredentialScoped:
		p.Thumbprint = r.id()
	}
	if r.err == nil && r.i != len(arr) {
		r.fail() // trailing fields
	}
	if r.err != nil {
		return Payload{}, invalid("payload version %d: malformed", p.Version)
	}
	return p, nil
}

// scope reads the version-specific fields between methods and expiry.
func (f *Formatter) scope(r *fields, p *Payload) {
	switch p.Version {
	case DomainScoped:
		switch raw, _ := rawBytes(r.next()); {
		case len(raw) == 16:
			p.DomainID = hexUUID(raw)
		case string(raw) == f.defaultDomain():
			p.DomainID = string(raw)
		default:
			r.fail()
		}
	case ProjectScoped, TrustScoped, ApplicationCredentialScoped:
		p.ProjectID = r.id()
	case FederatedUnscoped:
		p.FederatedGroupIDs = r.groups()
		p.IdentityProviderID = r.id()
		p.ProtocolID = r.str()
	case FederatedProjectScoped, FederatedDomainScoped:
		scope := r.id()
		if p.Version == FederatedProjectScoped {
			p.ProjectID = scope
		} else {
			p.DomainID = scope
		}
		p.FederatedGroupIDs = r.groups()
		p.IdentityProviderID = r.id()
		p.ProtocolID = r.str()
	case OAuth1Scoped:
		p.ProjectID = r.id()
		p.AccessTokenID = r.id()
	case SystemScoped:
		p.System = r.str()
	case OAuth2CredentialScoped:
		p.ProjectID = r.id()
		p.DomainID = r.id()
	}
}

func hexUUID(b []byte) string { return hex.EncodeToString(b) }

func encodeAuditID(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
