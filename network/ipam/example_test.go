package ipam_test

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/network/ipam"
)

// A subnet as Neutron creates it without a gateway or pools, then the
// next address for a port once two are taken.
func Example() {
	cidr := netip.MustParsePrefix("192.0.2.0/24")
	gw := ipam.DefaultGateway(cidr)
	s := ipam.Subnet{CIDR: cidr, Gateway: gw, Pools: ipam.Pools(cidr, gw), DHCP: true}
	if err := s.Validate(); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("gateway", gw, "pools", s.Pools)
	next, _ := ipam.Free(s.Pools, []netip.Addr{netip.MustParseAddr("192.0.2.2"), netip.MustParseAddr("192.0.2.3")})
	fmt.Println("next", next)

	bad := ipam.Subnet{CIDR: cidr, Gateway: gw, Pools: []ipam.Range{{Start: gw, End: netip.MustParseAddr("192.0.2.9")}}}
	err := bad.Validate()
	fmt.Println(errors.Is(err, ipam.ErrGatewayInPool), fault.KindOf(err) == fault.Conflict)
	// Output:
	// gateway 192.0.2.1 pools [192.0.2.2-192.0.2.254]
	// next 192.0.2.4
	// true true
}
