package password

import (
	"crypto/sha512"
	"strconv"
	"strings"
)

// SHA-crypt with SHA-512 ("$6$"), as specified by Ulrich Drepper and
// implemented by glibc and passlib: verification only, for users whose
// hashes come from older Keystone releases.

const (
	shaCryptDefaultRounds = 5000
	shaCryptMinRounds     = 1000
	shaCryptMaxRounds     = 999999999
	cryptAlphabet         = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
)

func verifySHA512Crypt(pw []byte, hashed string) (bool, error) {
	rest := strings.TrimPrefix(hashed, "$6$")
	rounds := shaCryptDefaultRounds
	if r, ok := strings.CutPrefix(rest, "rounds="); ok {
		num, tail, found := strings.Cut(r, "$")
		n, err := strconv.Atoi(num)
		if !found || err != nil || n < 0 {
			return false, ErrMalformed
		}
		rounds, rest = min(max(n, shaCryptMinRounds), shaCryptMaxRounds), tail
	}
	salt, sum, found := strings.Cut(rest, "$")
	if !found || len(sum) != 86 || strings.Contains(sum, "$") {
		return false, ErrMalformed
	}
	if len(salt) > 16 {
		salt = salt[:16]
	}
	return equal([]byte(sha512Crypt(pw, []byte(salt), rounds)), []byte(sum)), nil
}

// sha512Crypt returns the 86-character checksum.
func sha512Crypt(p, s []byte, rounds int) string {
	b := sha512.Sum512(cat(p, s, p))
	a := sha512.New()
	a.Write(p)
	a.Write(s)
	a.Write(repeat(b[:], len(p)))
	for n := len(p); n > 0; n >>= 1 {
		if n&1 == 1 {
			a.Write(b[:])
		} else {
			a.Write(p)
		}
	}
	sum := a.Sum(nil)
	dp := sha512.Sum512(repeat(p, len(p)*len(p)))
	pBytes := repeat(dp[:], len(p))
	ds := sha512.Sum512(repeat(s, len(s)*(16+int(sum[0]))))
	sBytes := repeat(ds[:], len(s))
	for i := 0; i < rounds; i++ {
		c := sha512.New()
		if i&1 == 1 {
			c.Write(pBytes)
		} else {
			c.Write(sum)
		}
		if i%3 != 0 {
			c.Write(sBytes)
		}
		if i%7 != 0 {
			c.Write(pBytes)
		}
		if i&1 == 1 {
			c.Write(sum)
		} else {
			c.Write(pBytes)
		}
		sum = c.Sum(sum[:0])
	}
	return encodeSHA512(sum)
}

// encodeSHA512 is the crypt-specific base64 of the digest, in SHA-crypt's
// byte order.
func encodeSHA512(d []byte) string {
	order := [...][3]int{
		{0, 21, 42}, {22, 43, 1}, {44, 2, 23}, {3, 24, 45}, {25, 46, 4}, {47, 5, 26}, {6, 27, 48},
		{28, 49, 7}, {50, 8, 29}, {9, 30, 51}, {31, 52, 10}, {53, 11, 32}, {12, 33, 54}, {34, 55, 13},
		{56, 14, 35}, {15, 36, 57}, {37, 58, 16}, {59, 17, 38}, {18, 39, 60}, {40, 61, 19}, {62, 20, 41},
	}
	var out strings.Builder
	put := func(w uint32, n int) {
		for ; n > 0; n-- {
			out.WriteByte(cryptAlphabet[w&0x3f])
			w >>= 6
		}
	}
	for _, o := range order {
		put(uint32(d[o[0]])<<16|uint32(d[o[1]])<<8|uint32(d[o[2]]), 4)
	}
	put(uint32(d[63]), 2)
	return out.String()
}

func cat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// repeat returns n bytes of b repeated.
func repeat(b []byte, n int) []byte {
	out := make([]byte, 0, n)
	for len(out) < n && len(b) > 0 {
		out = append(out, b[:min(len(b), n-len(out))]...)
	}
	return out
}
