package identity_test

import (
	"strings"
	"testing"
	"time"

	"github.com/gostack/gostack/identity"
	"github.com/gostack/gostack/kit/fault"
)

// TestPasswordRegex: password_regex reads as Python's re.match reads it
// — from the start, lookarounds, backreferences and (?P<name>...) taken
// (Keystone's own example in its help text) — a pattern that is not an
// expression is refused at Validate, and one that backtracks without end
// refuses the password within PasswordRegexTimeout instead of hanging.
func TestPasswordRegex(t *testing.T) {
	check := func(re, pw string) error {
		t.Helper()
		c := identity.Compliance{PasswordRegex: re, PasswordRegexDescription: "rules"}
		if err := c.Validate(); err != nil {
			t.Fatalf("%q: %v", re, err)
		}
		return c.CheckPassword(pw)
	}
	for _, tc := range []struct {
		re, pw string
		ok     bool
	}{
		{`^(?=.*\d)(?=.*[a-zA-Z]).{7,}$`, "abc1234", true},
		{`^(?=.*\d)(?=.*[a-zA-Z]).{7,}$`, "abcdefg", false},
		{`^(?=.*\d)(?=.*[a-zA-Z]).{7,}$`, "1234567", false},
		{`^(?=.*\d)(?=.*[a-zA-Z]).{7,}$`, "ab1", false},
		{`(?!.*password).{4,}`, "secret", true},
		{`(?!.*password).{4,}`, "mypassword1", false},
		{`(?P<c>.)(?P=c)`, "aab", true}, // starts with a doubled character
		{`(?P<c>.)(?P=c)`, "abb", false},
		{`[a-z]+\d`, "abc1!!", true}, // re.match: not anchored at the end
		{`[a-z]+\d`, "!abc1", false},
		{`(?i)abc`, "ABC", true},
	} {
		err := check(tc.re, tc.pw)
		if tc.ok != (err == nil) {
			t.Errorf("%q on %q: %v, want ok=%v", tc.re, tc.pw, err, tc.ok)
		}
		if err != nil && (fault.KindOf(err) != fault.BadRequest || err.Error() != "The password does not match the requirements: rules.") {
			t.Errorf("%q on %q: %v", tc.re, tc.pw, err)
		}
	}

	start := time.Now()
	if err := check(`(a+)+$`, strings.Repeat("a", 64)+"!"); fault.KindOf(err) != fault.BadRequest {
		t.Errorf("runaway backtracking: %v, want the 400", err)
	}
	if d := time.Since(start); d > 100*identity.PasswordRegexTimeout {
		t.Errorf("runaway backtracking took %v", d)
	}

	for _, bad := range []string{`[`, `(?<=`, `a{2,1}`} {
		c := identity.Compliance{PasswordRegex: bad}
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "password_regex") {
			t.Errorf("%q: %v, want a password_regex error", bad, err)
		}
	}
}
