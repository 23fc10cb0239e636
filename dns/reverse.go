package dns

import (
	"net/netip"
	"strconv"
	"strings"
)

// ReverseName is the PTR owner name of ip: "4.3.2.1.in-addr.arpa." for
// 1.2.3.4, and 32 reversed nibbles under "ip6.arpa." for IPv6. An
// IPv4-mapped IPv6 address gets its IPv4 name (as miekg/dns's ReverseAddr
// does); an IPv6 zone ("%eth0") is ignored; the zero Addr gives "".
func ReverseName(ip netip.Addr) string {
	if !ip.IsValid() {
		return ""
	}
	ip = ip.WithZone("").Unmap()
	var b strings.Builder
	if ip.Is4() {
		a := ip.As4()
		for i := 3; i >= 0; i-- {
			b.WriteString(strconv.Itoa(int(a[i])))
			b.WriteByte('.')
		}
		b.WriteString("in-addr.arpa.")
		return b.String()
	}
	const hex = "0123456789abcdef"
	a := ip.As16()
	for i := 15; i >= 0; i-- {
		b.WriteByte(hex[a[i]&0xf])
		b.WriteByte('.')
		b.WriteByte(hex[a[i]>>4])
		b.WriteByte('.')
	}
	b.WriteString("ip6.arpa.")
	return b.String()
}
