package pyrepr_test

import (
	"math"
	"testing"

	"github.com/gostack/gostack/kit/pyrepr"
)

// Expected values are what CPython 3.11 prints.
func TestFloat(t *testing.T) {
	for f, want := range map[float64]string{
		1: "1.0", 0.5: "0.5", 0.0001: "0.0001", 0.00001: "1e-05", 1e16: "1e+16", 123456789012345.0: "123456789012345.0",
		1.5e300: "1.5e+300", -2.25: "-2.25", math.Inf(1): "inf", math.Inf(-1): "-inf",
	} {
		if got := pyrepr.Float(f); got != want {
			t.Errorf("Float(%v) = %q, want %q", f, got, want)
		}
	}
}

func TestString(t *testing.T) {
	for s, want := range map[string]string{
		"abc": `'abc'`, "it's": `"it's"`, `both ' and "`: `'both \' and "'`, "a\\b": `'a\\b'`,
		"tab\there\n": `'tab\there\n'`, "\x01": `'\x01'`, "\u00e9": `'é'`, "\u0085": `'\x85'`, "\u200b": `'\u200b'`,
	} {
		if got := pyrepr.String(s); got != want {
			t.Errorf("String(%q) = %s, want %s", s, got, want)
		}
	}
}
