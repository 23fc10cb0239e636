package fernet

import (
	"testing"
	"time"
)

func benchFormatter(b *testing.B) (*Formatter, string) {
	f := testFormatter(b)
	p := payloadCases()["project uuid"]
	p.ExpiresAt = time.Now().Add(time.Hour)
	tok, err := f.Issue(p)
	if err != nil {
		b.Fatal(err)
	}
	return f, tok
}

// BenchmarkIssue: one project-scoped token (payload, AES-CBC, HMAC, base64).
func BenchmarkIssue(b *testing.B) {
	f, _ := benchFormatter(b)
	p := payloadCases()["project uuid"]
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.Issue(p); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkValidate: decode, verify, decrypt, unpack and expiry check, with
// the primary key matching first.
func BenchmarkValidate(b *testing.B) {
	f, tok := benchFormatter(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.Validate(tok); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkValidateOldKey: the token's key is the last of three.
func BenchmarkValidateOldKey(b *testing.B) {
	f, tok := benchFormatter(b)
	k2, _ := GenerateKey()
	k3, _ := GenerateKey()
	f.Keys = StaticKeys{k2, k3, f.Keys.Keys()[0]}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.Validate(tok); err != nil {
			b.Fatal(err)
		}
	}
}
