package fernet

import (
	"bytes"
	"encoding/hex"
	"reflect"
	"testing"
	"time"
)

const (
	uuidUser    = "6a0e1f4a1b2c4d5e8f90123456789abc"
	uuidProject = "0123456789abcdef0123456789abcdef"
	uuidDomain  = "fedcba9876543210fedcba9876543210"
	uuidTrust   = "11112222333344445555666677778888"
	auditA      = "x0tQl5zuRb-7fX-RAJ2Qnw"
	auditB      = "b2lGbsqVRDe3WhqBRMS3Vg"
)

func testFormatter(t testing.TB) *Formatter {
	k, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return &Formatter{Keys: StaticKeys{k}}
}

var exp = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// payloadCases has every payload version, with UUID and non-UUID ids.
func payloadCases() map[string]Payload {
	base := func(user string) Payload {
		return Payload{UserID: user, Methods: []string{"password"}, ExpiresAt: exp, AuditIDs: []string{auditA}}
	}
	with := func(p Payload, f func(*Payload)) Payload { f(&p); return p }
	return map[string]Payload{
		"unscoped uuid":   base(uuidUser),
		"unscoped ldap":   base("cn=alice,ou=people"),
		"domain uuid":     with(base(uuidUser), func(p *Payload) { p.DomainID = uuidDomain }),
		"domain default":  with(base("alice"), func(p *Payload) { p.DomainID = "default" }),
		"project uuid":    with(base(uuidUser), func(p *Payload) { p.ProjectID = uuidProject }),
		"project name id": with(base("alice"), func(p *Payload) { p.ProjectID = "admin-project"; p.AuditIDs = []string{auditA, auditB} }),
		"trust":           with(base(uuidUser), func(p *Payload) { p.ProjectID = uuidProject; p.TrustID = uuidTrust }),
		"federated unscoped": with(base(uuidUser), func(p *Payload) {
			p.FederatedGroupIDs = []string{uuidDomain, "admins"}
			p.IdentityProviderID = "idp1"
			p.ProtocolID = "saml2"
			p.Methods = []string{"mapped"}
		}),
		"federated project": with(base(uuidUser), func(p *Payload) {
			p.ProjectID = uuidProject
			p.FederatedGroupIDs = []string{"g"}
			p.IdentityProviderID = uuidDomain
			p.ProtocolID = "oidc"
			p.Methods = []string{"mapped"}
		}),
		"federated domain": with(base(uuidUser), func(p *Payload) {
			p.DomainID = uuidDomain
			p.FederatedGroupIDs = []string{}
			p.IdentityProviderID = "idp"
			p.ProtocolID = "oidc"
			p.Methods = []string{"token", "mapped"}
		}),
		"oauth1": with(base(uuidUser), func(p *Payload) { p.ProjectID = uuidProject; p.AccessTokenID = "at-1"; p.Methods = []string{"oauth1"} }),
		"system": with(base(uuidUser), func(p *Payload) { p.System = "all"; p.Methods = []string{"password", "token"} }),
		"application credential": with(base(uuidUser), func(p *Payload) {
			p.ProjectID = uuidProject
			p.AppCredID = "3f5e0a1b2c3d4e5f60718293a4b5c6d7"
			p.Methods = []string{"application_credential"}
		}),
		"oauth2": with(base(uuidUser), func(p *Payload) {
			p.ProjectID = uuidProject
			p.DomainID = "default"
			p.Thumbprint = "thumb"
			p.Methods = []string{"oauth2_credential"}
		}),
		"no methods":       with(base(uuidUser), func(p *Payload) { p.Methods = []string{} }),
		"subsecond expiry": with(base(uuidUser), func(p *Payload) { p.ExpiresAt = exp.Add(123456 * time.Microsecond) }),
	}
}

func TestRoundTrip(t *testing.T) {
	f := testFormatter(t)
	f.Now = func() time.Time { return exp.Add(-time.Hour) }
	for name, p := range payloadCases() {
		t.Run(name, func(t *testing.T) {
			tok, err := f.Issue(p)
			if err != nil {
				t.Fatal(err)
			}
			got, err := f.Validate(tok)
			if err != nil {
				t.Fatal(err)
			}
			want := p
			want.Version = PayloadVersion(p)
			want.IssuedAt = exp.Add(-time.Hour)
			if len(want.Methods) > 1 { // Keystone returns methods by descending bit
				want.Methods = defaultCodec.decode(defaultCodec.encode(want.Methods))
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("got  %+v\nwant %+v", got, want)
			}
		})
	}
}

// The reference's worked example: a UUID project token is 71 bytes of
// msgpack and 183 characters of token.
func TestProjectTokenLayout(t *testing.T) {
	f := testFormatter(t)
	p := payloadCases()["project uuid"]
	b, err := f.marshal(ProjectScoped, p)
	if err != nil {
		t.Fatal(err)
	}
	user, _ := hex.DecodeString(uuidUser)
	proj, _ := hex.DecodeString(uuidProject)
	var want []byte
	want = append(want, 0x96, 0x02, 0x92, 0xc3, 0xc4, 0x10)
	want = append(want, user...)
	want = append(want, 0x02, 0x92, 0xc3, 0xc4, 0x10)
	want = append(want, proj...)
	want = appendFloat64(want, float64(exp.Unix()))
	want = append(want, 0x91, 0xc4, 0x10)
	audit, _ := decodeAudit(auditA)
	want = append(want, audit...)
	if !bytes.Equal(b, want) || len(b) != 71 {
		t.Fatalf("payload (%d bytes)\n% x\nwant (%d bytes)\n% x", len(b), b, len(want), want)
	}
	tok, _ := f.Issue(p)
	if len(tok) != 183 {
		t.Fatalf("token is %d characters, want 183", len(tok))
	}
}

func decodeAudit(s string) ([]byte, error) {
	b := appendAuditIDsMust(s)
	return b[3:], nil // strip the array and bin8 headers
}

func appendAuditIDsMust(s string) []byte {
	b, err := appendAuditIDs(nil, []string{s})
	if err != nil {
		panic(err)
	}
	return b
}

// Keystone's method decoding, including its refusal of bits whose
// quotient is not exactly 1, and the pseudo-method bits.
func TestMethods(t *testing.T) {
	c := defaultCodec
	tests := []struct {
		in   []string
		code uint64
		out  []string
	}{
		{[]string{"password"}, 2, []string{"password"}},
		{[]string{"password", "token"}, 6, []string{"token", "password"}},
		{[]string{"application_credential"}, 32, []string{"application_credential"}},
		{[]string{"ec2credential"}, 1 << 32, []string{"ec2credential"}},
		{[]string{"oauth2_credential", "external"}, 1<<33 | 1, []string{"oauth2_credential", "external"}},
		{[]string{"nonsense"}, 0, []string{}},
		{[]string{"password", "password"}, 4, []string{"token"}}, // Python sums duplicates too
	}
	for _, tt := range tests {
		if got := c.encode(tt.in); got != tt.code {
			t.Errorf("encode(%v) = %d, want %d", tt.in, got, tt.code)
		}
		if got := c.decode(tt.code); !reflect.DeepEqual(got, tt.out) {
			t.Errorf("decode(%d) = %v, want %v", tt.code, got, tt.out)
		}
	}
	// An unknown bit (64) makes every lower quotient > 1: Keystone drops them.
	if got := c.decode(64 | 32 | 2); len(got) != 0 {
		t.Errorf("decode(98) = %v, want [] as Keystone", got)
	}
	custom := newMethodCodec([]string{"password", "token"})
	if got := custom.encode([]string{"token"}); got != 2 {
		t.Errorf("custom order: token = %d, want 2", got)
	}
}

func TestIssueErrors(t *testing.T) {
	f := testFormatter(t)
	bad := []Payload{
		{UserID: "u", ExpiresAt: exp, DomainID: "not-a-uuid"},
		{UserID: "u", ExpiresAt: exp, ProjectID: "p", TrustID: "not-a-uuid"},
		{UserID: "u", ExpiresAt: exp, AuditIDs: []string{"!!"}},
	}
	for _, p := range bad {
		if _, err := f.Issue(p); err == nil {
			t.Errorf("Issue(%+v) succeeded", p)
		}
	}
	if _, err := (&Formatter{Keys: StaticKeys{}}).Issue(Payload{UserID: "u", ExpiresAt: exp}); err != ErrNoKeys {
		t.Errorf("no keys: %v", err)
	}
}

func TestExpiry(t *testing.T) {
	f := testFormatter(t)
	now := exp
	f.Now = func() time.Time { return now }
	tok, err := f.Issue(Payload{UserID: uuidUser, ExpiresAt: exp.Add(time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Validate(tok); err != nil {
		t.Fatal(err)
	}
	now = exp.Add(time.Second)
	if _, err := f.Validate(tok); err != ErrExpired {
		t.Fatalf("at expiry: %v, want ErrExpired", err)
	}
	if _, err := f.Parse(tok); err != nil {
		t.Fatalf("Parse ignores expiry: %v", err)
	}
}
