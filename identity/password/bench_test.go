package password

import "testing"

// BenchmarkVerifyDefault is one password check at Keystone's default
// (bcrypt, cost 12): the floor of POST /v3/auth/tokens with a password.
func BenchmarkVerifyDefault(b *testing.B) {
	var h Hasher
	hashed, err := h.Hash("secret")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if ok, _ := h.Verify("secret", hashed); !ok {
			b.Fatal("no match")
		}
	}
}
