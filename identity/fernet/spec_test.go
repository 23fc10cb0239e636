package fernet

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gostack/gostack/kit/fault"
)

// The Fernet spec's generate.json vector, confirmed with pyca/cryptography.
func TestSpecVector(t *testing.T) {
	key, err := ParseKey("cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=")
	if err != nil {
		t.Fatal(err)
	}
	const want = "gAAAAAAdwJ6wAAECAwQFBgcICQoLDA0ODy021cpGVWKZ_eEwCGM4BLLF_5CV9dOPmrhuVUPgJobwOz7JcbmrR64jVmpU4IwqDA=="
	iv := []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}
	raw := sealIV(&key, []byte("hello"), time.Unix(499162800, 0), iv)
	if got := Encode(raw) + "=="; got != want {
		t.Fatalf("sealed %s\nwant   %s", got, want)
	}
	for _, tok := range []string{want, strings.TrimRight(want, "=")} {
		raw, err := Decode(tok)
		if err != nil {
			t.Fatal(err)
		}
		plain, ts, err := Open(raw, []Key{key})
		if err != nil || string(plain) != "hello" || ts.Unix() != 499162800 {
			t.Fatalf("Open(%q) = %q, %v, %v", tok, plain, ts, err)
		}
	}
	if key.String() != "cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=" {
		t.Fatalf("Key.String() = %s", key.String())
	}
}

// Garbled, truncated, re-padded, bit-flipped and wrong-key tokens are all
// ErrInvalidToken (a 401), never a panic.
func TestTampering(t *testing.T) {
	k1, _ := GenerateKey()
	k2, _ := GenerateKey()
	raw, err := Seal(&k1, []byte("payload"), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	good := Encode(raw)
	flip := func(i int) string {
		b := bytes.Clone(raw)
		b[i] ^= 1
		return Encode(b)
	}
	tests := map[string]string{
		"empty":            "",
		"garbage":          "not a token",
		"truncated":        good[:len(good)-10],
		"one char short":   good[:len(good)-1],
		"wrong padding":    good + "=",
		"extra padding":    good + "====",
		"line break":       good[:20] + "\n" + good[20:],
		"std base64":       strings.NewReplacer("-", "+", "_", "/").Replace(good) + "+",
		"version byte":     flip(0),
		"timestamp":        flip(3),
		"iv":               flip(12),
		"ciphertext":       flip(30),
		"hmac":             flip(len(raw) - 1),
		"too long":         strings.Repeat("A", 70000),
		"header only":      Encode(raw[:25]),
		"block misaligned": Encode(raw[:len(raw)-1]),
	}
	for name, tok := range tests {
		t.Run(name, func(t *testing.T) {
			raw, err := Decode(tok)
			if err == nil {
				_, _, err = Open(raw, []Key{k1})
			}
			if !errors.Is(err, ErrInvalidToken) || fault.KindOf(err) != fault.Unauthorized {
				t.Fatalf("err = %v, want ErrInvalidToken (401)", err)
			}
		})
	}
	if _, _, err := Open(raw, []Key{k2}); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("wrong key: %v", err)
	}
	if _, _, err := Open(raw, []Key{k2, k1}); err != nil {
		t.Fatalf("second key should open it: %v", err)
	}
}

func TestParseKey(t *testing.T) {
	k, _ := GenerateKey()
	for _, s := range []string{k.String(), k.String() + "\n", strings.TrimRight(k.String(), "=")} {
		got, err := ParseKey(s)
		if err != nil || !got.Equal(k) {
			t.Fatalf("ParseKey(%q) = %v, %v", s, got, err)
		}
	}
	for _, s := range []string{"", "short", strings.Repeat("A", 60), "!" + k.String()[1:]} {
		if _, err := ParseKey(s); err == nil {
			t.Errorf("ParseKey(%q) accepted", s)
		}
	}
}
