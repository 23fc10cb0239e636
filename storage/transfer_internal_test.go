package storage

import "testing"

// The key's hash is Cinder's _get_crypt_hash (hmac-sha1 under the
// salt), as python3's hmac computes it for the same salt and key.
func TestTransferHash(t *testing.T) {
	if got, want := transferHash("abcd1234", "0123456789abcdef"), "16036929ce26589cab47f423c3b28dd33a286194"; got != want {
		t.Fatalf("hash %s, want %s", got, want)
	}
	k, err := randomHex(16)
	if err != nil || len(k) != 16 {
		t.Fatalf("key %q %v", k, err)
	}
}
