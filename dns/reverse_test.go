package dns_test

import (
	"net/netip"
	"testing"

	mdns "github.com/miekg/dns"

	"github.com/gostack/gostack/dns"
)

func TestReverseName(t *testing.T) {
	cases := []struct {
		ip   string
		want string
	}{
		{"192.0.2.10", "10.2.0.192.in-addr.arpa."},
		{"10.0.0.1", "1.0.0.10.in-addr.arpa."},
		{"0.0.0.0", "0.0.0.0.in-addr.arpa."},
		{"::ffff:192.0.2.10", "10.2.0.192.in-addr.arpa."},
		{"2001:db8::567:89ab", "b.a.9.8.7.6.5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa."},
		{"fe80::1%eth0", "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.e.f.ip6.arpa."},
	}
	for _, c := range cases {
		ip := netip.MustParseAddr(c.ip)
		got := dns.ReverseName(ip)
		if got != c.want {
			t.Errorf("ReverseName(%s) = %q, want %q", c.ip, got, c.want)
		}
		// The same as miekg/dns, which the DNS server uses.
		if ref, err := mdns.ReverseAddr(ip.WithZone("").String()); err != nil || ref != got {
			t.Errorf("miekg/dns says %q (%v) for %s", ref, err, c.ip)
		}
	}
	if got := dns.ReverseName(netip.Addr{}); got != "" {
		t.Errorf("zero Addr: %q", got)
	}
}
