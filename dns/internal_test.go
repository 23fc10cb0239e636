package dns

import (
	"testing"
)

func TestNextSerial(t *testing.T) {
	cases := []struct{ old, now, want uint32 }{
		{100, 50, 101},              // the clock is behind: old+1
		{100, 100, 101},             // same second: old+1
		{100, 101, 101},             // old+1 is now
		{100, 5000, 5000},           // the clock is ahead: now
		{0xffffffff, 10, 10},        // wrapped past: 10 is after 0 in RFC 1982
		{0xffffffff, 0xfffffff0, 0}, // the clock far behind: old+1 wraps to 0
		{1, 2 + 1<<31, 2},           // exactly half way is undefined in RFC 1982: old+1
	}
	for _, c := range cases {
		if got := nextSerial(c.old, c.now); got != c.want {
			t.Errorf("nextSerial(%d, %d) = %d, want %d", c.old, c.now, got, c.want)
		}
	}
}

func TestRname(t *testing.T) {
	for email, want := range map[string]string{
		"hostmaster@example.org": "hostmaster.example.org.",
		"john.doe@Example.org.":  `john\.doe.example.org.`,
		"a.b.c@sub.example.org":  `a\.b\.c.sub.example.org.`,
		"dns+zones@example.org":  "dns+zones.example.org.",
	} {
		if got := rname(email); got != want {
			t.Errorf("rname(%q) = %q, want %q", email, got, want)
		}
	}
}

func TestParseRecordCanonical(t *testing.T) {
	for _, c := range []struct{ typ, data, want string }{
		{"A", " 192.0.2.1 ", "192.0.2.1"},
		{"AAAA", "2001:DB8:0::1", "2001:db8::1"},
		{"TXT", `"a;b"`, `"a;b"`},
		{"TXT", `"quoted \"inner\""`, `"quoted \"inner\""`},
		{"MX", "10\tmail.example.org.", "10 mail.example.org."},
		{"CAA", `0 issue "ca.example.net"`, `0 issue "ca.example.net"`},
		{"SRV", "0 5 443 host.example.org.", "0 5 443 host.example.org."},
	} {
		_, got, err := parseRecord("x.example.org.", c.typ, c.data)
		if err != nil || got != c.want {
			t.Errorf("%s %q: %q %v, want %q", c.typ, c.data, got, err, c.want)
		}
	}
}
