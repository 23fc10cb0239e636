package fernet

import (
	"errors"
	"testing"
)

// FuzzParse: any token text is either a valid token or ErrInvalidToken;
// nothing panics.
func FuzzParse(f *testing.F) {
	key, _ := ParseKey("cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=")
	fm := &Formatter{Keys: StaticKeys{key}}
	for _, p := range payloadCases() {
		tok, err := fm.Issue(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(tok)
	}
	f.Add("")
	f.Add("gAAAAA")
	f.Fuzz(func(t *testing.T, tok string) {
		p, err := fm.Parse(tok)
		if err != nil {
			if !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("error %v is not ErrInvalidToken", err)
			}
			return
		}
		if p.Version < 0 || p.Version > OAuth2CredentialScoped {
			t.Fatalf("version %d", p.Version)
		}
	})
}

// FuzzPayload: any plaintext behind a valid MAC (the attacker holds no
// key, but a bug elsewhere must not turn into a panic here) is handled.
func FuzzPayload(f *testing.F) {
	fm := &Formatter{}
	f.Add([]byte{0x96, 0x02, 0x92, 0xc3, 0xc4, 0x10})
	f.Add([]byte{0x95, 0x00, 0x92, 0xc2, 0xa1, 'u', 0x02, 0xcb, 0, 0, 0, 0, 0, 0, 0, 0, 0x90})
	f.Add([]byte{0xdd, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := fm.unmarshal(b)
		if err == nil && p.ExpiresAt.Year() > 9999 {
			t.Fatalf("expiry beyond Python's datetime accepted: %v", p.ExpiresAt)
		}
	})
}
