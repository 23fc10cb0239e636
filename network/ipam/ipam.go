package ipam

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"slices"
	"strings"

	"github.com/gostack/gostack/kit/fault"
)

// Sentinels; every error of the package wraps one.
var (
	ErrInvalid       = errors.New("ipam: invalid input")
	ErrPool          = errors.New("ipam: invalid allocation pool")
	ErrPoolBounds    = errors.New("ipam: allocation pool out of the subnet")
	ErrPoolOverlap   = errors.New("ipam: overlapping allocation pools")
	ErrGatewayInPool = errors.New("ipam: gateway in an allocation pool")
	ErrTooMany       = errors.New("ipam: too many DNS servers or host routes")
	ErrExhausted     = errors.New("ipam: no address left")
)

// Neutron's defaults for max_dns_nameservers and max_subnet_host_routes.
const (
	MaxDNSNameservers = 5
	MaxHostRoutes     = 20
)

func neutronError(kind fault.Kind, typ string, sentinel error, format string, args ...any) error {
	return &fault.Error{Kind: kind, Type: typ, Message: fmt.Sprintf(format, args...), Err: sentinel}
}

// invalidInput is Neutron's InvalidInput.
func invalidInput(format string, args ...any) error {
	return neutronError(fault.BadRequest, "InvalidInput", ErrInvalid, "Invalid input for operation: "+format+".", args...)
}

// Range is an allocation pool: Start to End, both included.
type Range struct {
	Start netip.Addr `json:"start"`
	End   netip.Addr `json:"end"`
}

// String is netaddr's IPRange form, as Neutron's messages print it:
// "10.0.0.2-10.0.0.254".
func (r Range) String() string { return r.Start.String() + "-" + r.End.String() }

// Contains reports whether a is in r.
func (r Range) Contains(a netip.Addr) bool {
	return a.BitLen() == r.Start.BitLen() && r.Start.Compare(a) <= 0 && a.Compare(r.End) <= 0
}

func (r Range) overlaps(o Range) bool {
	return r.Start.Compare(o.End) <= 0 && o.Start.Compare(r.End) <= 0
}

// first and last are the first and last addresses of p.
func first(p netip.Prefix) netip.Addr { return p.Masked().Addr() }

func last(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// DefaultGateway is the gateway Neutron gives a subnet created without
// one: the address after the network address.
func DefaultGateway(cidr netip.Prefix) netip.Addr { return first(cidr).Next() }

// usable is the part of cidr pools may cover: IPv4 networks of /30 or
// larger lose the network and broadcast addresses, IPv6 ones the first
// (the subnet-router anycast address).
func usable(cidr netip.Prefix) (lo, hi netip.Addr) {
	lo, hi = first(cidr), last(cidr)
	switch {
	case cidr.Addr().Is4() && cidr.Bits() <= 30:
		return lo.Next(), hi.Prev()
	case cidr.Addr().Is6():
		return lo.Next(), hi
	}
	return lo, hi
}

// Pools are the allocation pools Neutron generates for a subnet created
// without any (ipam.utils.generate_pools): the usable addresses, with the
// gateway (if valid) cut out.
func Pools(cidr netip.Prefix, gateway netip.Addr) []Range {
	cidr = cidr.Masked()
	if cidr.IsSingleIP() {
		return []Range{{cidr.Addr(), cidr.Addr()}}
	}
	lo, hi := usable(cidr)
	if lo.Compare(hi) > 0 {
		return nil
	}
	pool := Range{lo, hi}
	if !gateway.IsValid() || !pool.Contains(gateway) {
		return []Range{pool}
	}
	var out []Range
	if gateway != lo {
		out = append(out, Range{lo, gateway.Prev()})
	}
	if gateway != hi {
		out = append(out, Range{gateway.Next(), hi})
	}
	return out
}

// Route is a subnet's host route.
type Route struct {
	Destination netip.Prefix `json:"destination"`
	Nexthop     netip.Addr   `json:"nexthop"`
}

// Subnet is what Validate checks: the settings of a subnet create or
// update. A zero Gateway means none; nil Pools means Pools(CIDR,
// Gateway).
type Subnet struct {
	ID          string // in messages; "" for a new subnet
	CIDR        netip.Prefix
	Gateway     netip.Addr
	Pools       []Range
	Nameservers []netip.Addr
	Routes      []Route
	DHCP        bool
}

// Validate applies Neutron's checks of a subnet create (the subnet part of
// _validate_subnet, validate_allocation_pools and
// validate_gw_out_of_pools), in Neutron's order, returning the first
// failure.
func (s Subnet) Validate() error {
	cidr := s.CIDR
	if !cidr.IsValid() {
		return invalidInput("'%s' is not a valid IP subnet", cidr)
	}
	if cidr.Masked() != cidr {
		return invalidInput("'%s' isn't a recommended CIDR, '%s' is recommended", cidr, cidr.Masked())
	}
	v := version(cidr.Addr())
	if s.DHCP {
		if (v == 4 && cidr.Bits() > 30) || (v == 6 && cidr.Bits() > 126) {
			return invalidInput("Subnet has a prefix length that is incompatible with DHCP service enabled")
		}
		switch {
		case cidr.Addr().IsMulticast():
			return invalidInput("Multicast IP subnet is not supported if enable_dhcp is True")
		case cidr.Addr().IsLoopback():
			return invalidInput("Loopback IP subnet is not supported if enable_dhcp is True")
		case v == 4 && cidr.Addr() == netip.IPv4Unspecified():
			return invalidInput("First IP '0.0.0.0' of network is not supported if enable_dhcp is True.")
		}
	}
	if s.Gateway.IsValid() {
		if err := sameVersion(v, s.Gateway, "gateway_ip"); err != nil {
			return err
		}
		if v == 4 && cidr.Contains(s.Gateway) && (s.Gateway == first(cidr) || s.Gateway == last(cidr)) {
			return invalidInput("Gateway is not valid on subnet")
		}
	}
	if len(s.Nameservers) > MaxDNSNameservers {
		return neutronError(fault.BadRequest, "DNSNameServersExhausted", ErrTooMany,
			"Unable to complete operation for %s. The number of DNS nameservers exceeds the limit %d.", s.idOrNew(), MaxDNSNameservers)
	}
	for _, ns := range s.Nameservers {
		if err := sameVersion(v, ns, "dns_nameserver"); err != nil {
			return err
		}
	}
	if len(s.Routes) > MaxHostRoutes {
		return neutronError(fault.BadRequest, "HostRoutesExhausted", ErrTooMany,
			"Unable to complete operation for %s. The number of host routes exceeds the limit %d.", s.idOrNew(), MaxHostRoutes)
	}
	for _, r := range s.Routes {
		if err := sameVersion(v, r.Nexthop, "nexthop"); err != nil {
			return err
		}
		if err := sameVersion(v, r.Destination.Addr(), "destination"); err != nil {
			return err
		}
	}
	pools := s.Pools
	if pools == nil {
		return nil // generated around the gateway: valid by construction
	}
	if err := ValidatePools(cidr, pools); err != nil {
		return err
	}
	if s.Gateway.IsValid() {
		for _, p := range pools {
			if p.Contains(s.Gateway) {
				return neutronError(fault.Conflict, "GatewayConflictWithAllocationPools", ErrGatewayInPool,
					"Gateway ip %s conflicts with allocation pool %s.", s.Gateway, p)
			}
		}
	}
	return nil
}

func (s Subnet) idOrNew() string {
	if s.ID == "" {
		return "new subnet"
	}
	return s.ID
}

func version(a netip.Addr) int {
	if a.Is4() {
		return 4
	}
	return 6
}

func sameVersion(v int, a netip.Addr, name string) error {
	if !a.IsValid() || version(a) != v {
		return invalidInput("%s '%s' does not match the ip_version '%d'", name, a, v)
	}
	return nil
}

// ValidatePools is Neutron's validate_allocation_pools: each pool's start
// and end are of the subnet's version and in order, within the usable
// part of cidr, and no two pools overlap.
func ValidatePools(cidr netip.Prefix, pools []Range) error {
	lo, hi := usable(cidr.Masked())
	for _, p := range pools {
		if !p.Start.IsValid() || !p.End.IsValid() || p.Start.BitLen() != lo.BitLen() || p.End.BitLen() != lo.BitLen() ||
			p.Start.Compare(p.End) > 0 {
			return neutronError(fault.BadRequest, "InvalidAllocationPool", ErrPool, "The allocation pool %s is not valid.", p)
		}
		if p.Start.Compare(lo) < 0 || p.End.Compare(hi) > 0 {
			return neutronError(fault.BadRequest, "OutOfBoundsAllocationPool", ErrPoolBounds,
				"The allocation pool %s spans beyond the subnet cidr %s.", p, cidr)
		}
	}
	for i := range pools {
		for j := i + 1; j < len(pools); j++ {
			if pools[i].overlaps(pools[j]) {
				return neutronError(fault.Conflict, "OverlappingAllocationPools", ErrPoolOverlap,
					"Found overlapping allocation pools: %s %s for subnet %s.", pools[i], pools[j], cidr)
			}
		}
	}
	return nil
}

// ValidIP is Neutron's check_subnet_ip: whether a port may hold ip on
// cidr. IPv4: in the subnet, not its network or broadcast address. IPv6:
// in the subnet, and not the subnet-router anycast address unless the
// port is a router's (routerPort) or its owner is unknown.
func ValidIP(cidr netip.Prefix, ip netip.Addr, routerPort bool) bool {
	cidr = cidr.Masked()
	if !cidr.Contains(ip) {
		return false
	}
	if ip.Is4() {
		return ip != first(cidr) && ip != last(cidr)
	}
	return routerPort || ip != first(cidr)
}

// Free is the first address of pools, in pool order, that used does not
// hold; used need not be sorted. ok is false when every address is taken.
func Free(pools []Range, used []netip.Addr) (addr netip.Addr, ok bool) {
	taken := slices.Clone(used)
	slices.SortFunc(taken, netip.Addr.Compare)
pools:
	for _, p := range pools {
		a := p.Start
		// i: the first taken address not below a.
		i, _ := slices.BinarySearchFunc(taken, a, netip.Addr.Compare)
		for i < len(taken) && taken[i] == a {
			if a == p.End {
				continue pools
			}
			a = a.Next()
			for i < len(taken) && taken[i].Compare(a) < 0 {
				i++
			}
		}
		return a, true
	}
	return netip.Addr{}, false
}

// Exhausted is Neutron's IpAddressGenerationFailure for a subnet.
func Exhausted(subnetID string) error {
	return neutronError(fault.Conflict, "IpAddressGenerationFailure", ErrExhausted,
		"No more IP addresses available for subnet %s.", subnetID)
}

// DefaultBaseMAC is Neutron's base_mac.
var DefaultBaseMAC = net.HardwareAddr{0xfa, 0x16, 0x3e, 0, 0, 0}

// RandomMAC is Neutron's get_random_mac: the first three octets of base,
// the fourth too if it is not zero, the rest random (from rnd, or
// crypto/rand when nil).
func RandomMAC(base net.HardwareAddr, rnd io.Reader) (net.HardwareAddr, error) {
	if len(base) != 6 {
		return nil, fmt.Errorf("ipam: base MAC %s: want 6 octets", base)
	}
	if rnd == nil {
		rnd = rand.Reader
	}
	mac := slices.Clone(base)
	if _, err := io.ReadFull(rnd, mac[3:]); err != nil {
		return nil, err
	}
	if base[3] != 0 {
		mac[3] = base[3]
	}
	return mac, nil
}

// ParseMAC reads a port's mac_address as Neutron accepts it (any form
// net.ParseMAC reads, 6 octets) and returns its canonical lower-case
// colon form; the all-zero and broadcast addresses are refused, as in
// Neutron's INVALID_MAC_ADDRESSES.
func ParseMAC(s string) (string, error) {
	m, err := net.ParseMAC(s)
	if err != nil || len(m) != 6 || m.String() == "00:00:00:00:00:00" || m.String() == "ff:ff:ff:ff:ff:ff" {
		return "", invalidInput("'%s' is not a valid MAC address", s)
	}
	return strings.ToLower(m.String()), nil
}
