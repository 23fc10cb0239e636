package ipam_test

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/network/ipam"
)

var (
	pfx = netip.MustParsePrefix
	ip  = netip.MustParseAddr
)

func r(a, b string) ipam.Range { return ipam.Range{Start: ip(a), End: ip(b)} }

// Pools around the gateway, as neutron.ipam.utils.generate_pools makes
// them (cases from neutron's test_utils.py).
func TestPools(t *testing.T) {
	for _, c := range []struct {
		cidr, gw string
		want     []ipam.Range
	}{
		{"10.0.0.0/24", "10.0.0.1", []ipam.Range{r("10.0.0.2", "10.0.0.254")}},
		{"10.0.0.0/24", "", []ipam.Range{r("10.0.0.1", "10.0.0.254")}},
		{"10.0.0.0/24", "10.0.0.128", []ipam.Range{r("10.0.0.1", "10.0.0.127"), r("10.0.0.129", "10.0.0.254")}},
		{"10.0.0.0/24", "10.0.0.254", []ipam.Range{r("10.0.0.1", "10.0.0.253")}},
		{"10.0.0.0/24", "192.0.2.1", []ipam.Range{r("10.0.0.1", "10.0.0.254")}}, // gateway outside the subnet
		{"10.0.0.0/30", "10.0.0.1", []ipam.Range{r("10.0.0.2", "10.0.0.2")}},
		{"10.0.0.0/31", "", []ipam.Range{r("10.0.0.0", "10.0.0.1")}}, // no network or broadcast address
		{"10.0.0.0/32", "", []ipam.Range{r("10.0.0.0", "10.0.0.0")}}, // single address
		{"10.0.0.0/31", "10.0.0.0", []ipam.Range{r("10.0.0.1", "10.0.0.1")}},
		{"2001:db8::/64", "2001:db8::1", []ipam.Range{r("2001:db8::2", "2001:db8::ffff:ffff:ffff:ffff")}},
		{"2001:db8::/126", "", []ipam.Range{r("2001:db8::1", "2001:db8::3")}}, // v6 keeps the last address
	} {
		var gw netip.Addr
		if c.gw != "" {
			gw = ip(c.gw)
		}
		if got := ipam.Pools(pfx(c.cidr), gw); fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("Pools(%s, %s) = %v, want %v", c.cidr, c.gw, got, c.want)
		}
	}
	if gw := ipam.DefaultGateway(pfx("192.0.2.0/24")); gw != ip("192.0.2.1") {
		t.Errorf("DefaultGateway = %s", gw)
	}
}

// Subnet validation: Neutron's exception types and messages.
func TestValidate(t *testing.T) {
	base := func() ipam.Subnet { return ipam.Subnet{CIDR: pfx("10.0.0.0/24"), Gateway: ip("10.0.0.1"), DHCP: true} }
	for _, c := range []struct {
		name     string
		edit     func(*ipam.Subnet)
		typ      string
		sentinel error
		kind     fault.Kind
		msg      string
	}{
		{"not masked", func(s *ipam.Subnet) { s.CIDR = pfx("10.0.0.5/24") }, "InvalidInput", ipam.ErrInvalid, fault.BadRequest,
			"Invalid input for operation: '10.0.0.5/24' isn't a recommended CIDR, '10.0.0.0/24' is recommended."},
		{"dhcp on a /31", func(s *ipam.Subnet) { s.CIDR, s.Gateway = pfx("10.0.0.0/31"), netip.Addr{} }, "InvalidInput", ipam.ErrInvalid, fault.BadRequest,
			"Invalid input for operation: Subnet has a prefix length that is incompatible with DHCP service enabled."},
		{"dhcp on loopback", func(s *ipam.Subnet) { s.CIDR, s.Gateway = pfx("127.0.0.0/24"), netip.Addr{} }, "InvalidInput", ipam.ErrInvalid, fault.BadRequest,
			"Invalid input for operation: Loopback IP subnet is not supported if enable_dhcp is True."},
		{"gateway is the network address", func(s *ipam.Subnet) { s.Gateway = ip("10.0.0.0") }, "InvalidInput", ipam.ErrInvalid, fault.BadRequest,
			"Invalid input for operation: Gateway is not valid on subnet."},
		{"gateway is the broadcast address", func(s *ipam.Subnet) { s.Gateway = ip("10.0.0.255") }, "InvalidInput", ipam.ErrInvalid, fault.BadRequest,
			"Invalid input for operation: Gateway is not valid on subnet."},
		{"gateway of the other version", func(s *ipam.Subnet) { s.Gateway = ip("2001:db8::1") }, "InvalidInput", ipam.ErrInvalid, fault.BadRequest,
			"Invalid input for operation: gateway_ip '2001:db8::1' does not match the ip_version '4'."},
		{"six nameservers", func(s *ipam.Subnet) {
			for i := range 6 {
				s.Nameservers = append(s.Nameservers, netip.AddrFrom4([4]byte{192, 0, 2, byte(i + 1)}))
			}
		}, "DNSNameServersExhausted", ipam.ErrTooMany, fault.BadRequest,
			"Unable to complete operation for new subnet. The number of DNS nameservers exceeds the limit 5."},
		{"route of the other version", func(s *ipam.Subnet) {
			s.Routes = []ipam.Route{{Destination: pfx("2001:db8::/64"), Nexthop: ip("10.0.0.9")}}
		}, "InvalidInput", ipam.ErrInvalid, fault.BadRequest,
			"Invalid input for operation: destination '2001:db8::' does not match the ip_version '4'."},
		{"pool start after end", func(s *ipam.Subnet) { s.Pools = []ipam.Range{r("10.0.0.9", "10.0.0.5")} }, "InvalidAllocationPool", ipam.ErrPool, fault.BadRequest,
			"The allocation pool 10.0.0.9-10.0.0.5 is not valid."},
		{"pool beyond the subnet", func(s *ipam.Subnet) { s.Pools = []ipam.Range{r("10.0.0.2", "10.0.1.5")} }, "OutOfBoundsAllocationPool", ipam.ErrPoolBounds, fault.BadRequest,
			"The allocation pool 10.0.0.2-10.0.1.5 spans beyond the subnet cidr 10.0.0.0/24."},
		{"pool holding the broadcast address", func(s *ipam.Subnet) { s.Pools = []ipam.Range{r("10.0.0.2", "10.0.0.255")} }, "OutOfBoundsAllocationPool", ipam.ErrPoolBounds, fault.BadRequest,
			"The allocation pool 10.0.0.2-10.0.0.255 spans beyond the subnet cidr 10.0.0.0/24."},
		{"overlapping pools", func(s *ipam.Subnet) { s.Pools = []ipam.Range{r("10.0.0.2", "10.0.0.50"), r("10.0.0.50", "10.0.0.60")} },
			"OverlappingAllocationPools", ipam.ErrPoolOverlap, fault.Conflict,
			"Found overlapping allocation pools: 10.0.0.2-10.0.0.50 10.0.0.50-10.0.0.60 for subnet 10.0.0.0/24."},
		{"gateway in a pool", func(s *ipam.Subnet) { s.Pools = []ipam.Range{r("10.0.0.1", "10.0.0.50")} },
			"GatewayConflictWithAllocationPools", ipam.ErrGatewayInPool, fault.Conflict,
			"Gateway ip 10.0.0.1 conflicts with allocation pool 10.0.0.1-10.0.0.50."},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := base()
			c.edit(&s)
			err := s.Validate()
			var fe *fault.Error
			if !errors.As(err, &fe) || fe.Type != c.typ || fe.Kind != c.kind || fe.Message != c.msg || !errors.Is(err, c.sentinel) {
				t.Fatalf("Validate() = %#v\nwant %s %s %q", err, c.kind, c.typ, c.msg)
			}
		})
	}
	good := base()
	good.Pools = []ipam.Range{r("10.0.0.10", "10.0.0.20"), r("10.0.0.30", "10.0.0.40")}
	good.Routes = []ipam.Route{{Destination: pfx("192.0.2.0/24"), Nexthop: ip("10.0.0.9")}}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	v6 := ipam.Subnet{CIDR: pfx("2001:db8::/64"), Gateway: ip("2001:db8::1"), DHCP: true}
	if err := v6.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestValidIP(t *testing.T) {
	for _, c := range []struct {
		cidr, ip string
		router   bool
		want     bool
	}{
		{"10.0.0.0/24", "10.0.0.7", false, true},
		{"10.0.0.0/24", "10.0.0.0", false, false},
		{"10.0.0.0/24", "10.0.0.255", false, false},
		{"10.0.0.0/24", "10.0.1.1", false, false},
		{"2001:db8::/64", "2001:db8::", false, false},
		{"2001:db8::/64", "2001:db8::", true, true},
		{"2001:db8::/64", "2001:db8::ffff:ffff:ffff:ffff", false, true},
	} {
		if got := ipam.ValidIP(pfx(c.cidr), ip(c.ip), c.router); got != c.want {
			t.Errorf("ValidIP(%s, %s, %v) = %v", c.cidr, c.ip, c.router, got)
		}
	}
}

// Free against a brute-force search over random pools and random taken
// sets.
func TestFree(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for n := range 2000 {
		var pools []ipam.Range
		start := 1 + rng.IntN(10)
		for range 1 + rng.IntN(3) {
			end := start + rng.IntN(6)
			pools = append(pools, r(fmt.Sprintf("10.0.0.%d", start), fmt.Sprintf("10.0.0.%d", end)))
			start = end + 2 + rng.IntN(4)
		}
		var used []netip.Addr
		taken := map[netip.Addr]bool{}
		for range rng.IntN(30) {
			a := netip.AddrFrom4([4]byte{10, 0, 0, byte(rng.IntN(45))})
			used, taken[a] = append(used, a), true
		}
		var want netip.Addr
	search:
		for _, p := range pools {
			for a := p.Start; a.Compare(p.End) <= 0; a = a.Next() {
				if !taken[a] {
					want = a
					break search
				}
			}
		}
		got, ok := ipam.Free(pools, used)
		if got != want || ok != want.IsValid() {
			t.Fatalf("case %d: Free(%v, %v) = %v %v, want %v", n, pools, used, got, ok, want)
		}
	}
}

func TestMAC(t *testing.T) {
	m, err := ipam.RandomMAC(ipam.DefaultBaseMAC, bytes.NewReader([]byte{1, 2, 3}))
	if err != nil || m.String() != "fa:16:3e:01:02:03" {
		t.Fatalf("RandomMAC = %s, %v", m, err)
	}
	m, _ = ipam.RandomMAC([]byte{0xfa, 0x16, 0x3e, 0xaa, 0, 0}, bytes.NewReader([]byte{1, 2, 3}))
	if m.String() != "fa:16:3e:aa:02:03" {
		t.Fatalf("RandomMAC with a fourth octet = %s", m)
	}
	if m, err := ipam.RandomMAC(ipam.DefaultBaseMAC, nil); err != nil || m[0] != 0xfa {
		t.Fatalf("RandomMAC(crypto/rand) = %s, %v", m, err)
	}
	for in, want := range map[string]string{"FA:16:3E:00:00:01": "fa:16:3e:00:00:01", "fa-16-3e-00-00-02": "fa:16:3e:00:00:02", "01:00:5e:00:00:01": "01:00:5e:00:00:01"} {
		if got, err := ipam.ParseMAC(in); err != nil || got != want {
			t.Errorf("ParseMAC(%q) = %q, %v", in, got, err)
		}
	}
	for _, bad := range []string{"00:00:00:00:00:00", "ff:ff:ff:ff:ff:ff", "fa:16:3e", "nope", "00:00:00:00:fe:80:00:00"} {
		if _, err := ipam.ParseMAC(bad); !errors.Is(err, ipam.ErrInvalid) {
			t.Errorf("ParseMAC(%q) = %v", bad, err)
		}
	}
}
