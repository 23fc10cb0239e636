package password

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/gostack/gostack/internal/testenv"
)

// Drepper's published SHA-crypt test vectors, and fixed Keystone hashes.
func TestVectors(t *testing.T) {
	vectors := []struct{ hash, pw string }{
		{"$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1", "Hello world!"},
		{"$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v.", "Hello world!"},
	}
	var h Hasher
	// A hash made by Keystone 22 (passlib 1.7.4) whose checksum has a '+':
	// passlib's scrypt uses the standard base64 alphabet.
	vectors = append(vectors, struct{ hash, pw string }{
		"$scrypt$ln=4,r=8,p=1$lLJWqrXWmjOm9P5fC4GQkg$UGuzuUKfxu9QWP+ZTImlSWfuUxPuLZrqh9ZqL0QtC7E", "secret"})
	for _, v := range vectors {
		if ok, err := h.Verify(v.pw, v.hash); !ok || err != nil {
			t.Errorf("Verify(%q) = %v, %v", v.hash, ok, err)
		}
		if ok, _ := h.Verify("hello world!", v.hash); ok {
			t.Errorf("wrong password matched %q", v.hash)
		}
	}
}

var fast = map[string]Hasher{
	Bcrypt:       {Rounds: 4},
	PBKDF2SHA512: {Algorithm: PBKDF2SHA512, Rounds: 1000},
	Scrypt:       {Algorithm: Scrypt, Rounds: 4},
}

func TestRoundTrip(t *testing.T) {
	prefixes := map[string]string{Bcrypt: "$2b$04$", PBKDF2SHA512: "$pbkdf2-sha512$1000$", Scrypt: "$scrypt$ln=4,r=8,p=1$"}
	for name, h := range fast {
		t.Run(name, func(t *testing.T) {
			for _, pw := range []string{"secret", "", "päss wörd ☃", strings.Repeat("x", 100)} {
				hashed, err := h.Hash(pw)
				if err != nil {
					t.Fatal(err)
				}
				if !strings.HasPrefix(hashed, prefixes[name]) {
					t.Fatalf("hash %q lacks prefix %q", hashed, prefixes[name])
				}
				if ok, err := h.Verify(pw, hashed); !ok || err != nil {
					t.Fatalf("Verify(%q) = %v, %v", pw, ok, err)
				}
				if ok, _ := h.Verify(pw+"!", hashed); ok && len(pw) < 72 {
					t.Fatalf("wrong password matched")
				}
			}
		})
	}
}

// Keystone's length rule: with bcrypt configured, passwords are cut at 72
// bytes — also when checking a hash of another kind; Strict refuses.
func TestLength(t *testing.T) {
	long := strings.Repeat("a", 72)
	h := Hasher{Rounds: 4}
	hashed, _ := h.Hash(long + "tail one")
	if ok, _ := h.Verify(long+"tail two", hashed); !ok {
		t.Fatal("bcrypt: bytes past 72 must not matter")
	}
	p := Hasher{Algorithm: PBKDF2SHA512, Rounds: 1000}
	ph, _ := p.Hash(long + "tail one")
	if ok, _ := p.Verify(long+"tail two", ph); ok {
		t.Fatal("pbkdf2 configured: bytes past 72 must matter")
	}
	// Keystone's rule follows the configured algorithm, not the stored
	// hash: with bcrypt configured, a pbkdf2 hash of the 72-byte prefix
	// matches any password that starts with it.
	prefixHash, _ := p.Hash(long)
	if ok, _ := h.Verify(long+"tail two", prefixHash); !ok {
		t.Fatal("bcrypt configured: the password must be cut before checking a pbkdf2 hash")
	}
	strict := Hasher{Rounds: 4, Strict: true}
	if _, err := strict.Hash(long + "x"); !errors.Is(err, ErrTooLong) {
		t.Fatalf("strict: %v", err)
	}
}

func TestBadHashes(t *testing.T) {
	var h Hasher
	for _, bad := range []string{"", "plain", "$1$md5$x", "$pbkdf2-sha512$x$y$z", "$scrypt$ln=99,r=8,p=1$AA$AA",
		"$6$salt$short", "$2b$04$short", "$pbkdf2-sha512$1000$!!$AA"} {
		ok, err := h.Verify("pw", bad)
		if ok || err == nil {
			t.Errorf("Verify(%q) = %v, %v; want an error", bad, ok, err)
		}
	}
	if _, err := (Hasher{Algorithm: "md5"}).Hash("x"); err == nil {
		t.Error("unknown algorithm accepted")
	}
}

// Interop with Keystone's own password_hashing, both ways.
func TestKeystoneInterop(t *testing.T) {
	testenv.RequirePython(t, "keystone.common.password_hashing", "python3-keystone")
	passwords := []string{"secret", "päss wörd ☃", strings.Repeat("z", 80)}
	algs := []string{Bcrypt, PBKDF2SHA512, Scrypt}
	type op map[string]any
	var ops []op
	var goHashes []string
	for _, alg := range algs {
		h := fast[alg]
		for _, pw := range passwords {
			ops = append(ops, op{"op": "hash", "algorithm": alg, "rounds": h.Rounds, "password": pw})
			gh, err := h.Hash(pw)
			if err != nil {
				t.Fatal(err)
			}
			goHashes = append(goHashes, gh)
			ops = append(ops,
				op{"op": "check", "algorithm": alg, "password": pw, "hashed": gh},
				op{"op": "check", "algorithm": alg, "password": pw + "?", "hashed": gh})
		}
	}
	res := runKeystone(t, ops)
	i := 0
	for _, alg := range algs {
		h := fast[alg]
		for _, pw := range passwords {
			var ksHash string
			if err := json.Unmarshal(res[i], &ksHash); err != nil {
				t.Fatalf("%s: keystone hash: %s", alg, res[i])
			}
			if ok, err := h.Verify(pw, ksHash); !ok || err != nil {
				t.Errorf("%s: Go rejects Keystone's hash of %q: %v", alg, pw, err)
			}
			if string(res[i+1]) != "true" {
				t.Errorf("%s: Keystone rejects Go's hash of %q: %s", alg, pw, res[i+1])
			}
			cut := alg == Bcrypt && len(pw) >= 72 // the extra "?" is past byte 72
			if want := map[bool]string{true: "true", false: "false"}[cut]; string(res[i+2]) != want {
				t.Errorf("%s: Keystone says %s for a wrong password, want %s", alg, res[i+2], want)
			}
			i += 3
		}
	}
}

func runKeystone(t *testing.T, ops any) []json.RawMessage {
	return testenv.PythonJSON(t, "testdata/keystone_password.py", map[string]any{"ops": ops})
}
