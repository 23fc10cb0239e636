package agent

import (
	"net/netip"
	"testing"

	"github.com/gostack/gostack/network"
	"github.com/gostack/gostack/network/dhcp"
)

// Each IPv4 subnet gets a route to 169.254.169.254 through the DHCP
// port's address on it; IPv6 subnets and subnets whose host routes
// name it already are left as they are.
func TestMetadataRoutes(t *testing.T) {
	port := &network.Port{FixedIPs: []network.FixedIP{
		{SubnetID: "v4", IP: netip.MustParseAddr("10.9.0.2")},
		{SubnetID: "v4b", IP: netip.MustParseAddr("10.8.0.2")},
		{SubnetID: "v6", IP: netip.MustParseAddr("fd00::2")},
	}}
	md := netip.MustParsePrefix("169.254.169.254/32")
	v4 := dhcp.Subnet{ID: "v4", CIDR: netip.MustParsePrefix("10.9.0.0/24"),
		Routes: []dhcp.Route{{Destination: netip.MustParsePrefix("10.50.0.0/16"), NextHop: netip.MustParseAddr("10.9.0.9")}}}
	metadataRoutes(&v4, port)
	if len(v4.Routes) != 2 || v4.Routes[1] != (dhcp.Route{Destination: md, NextHop: netip.MustParseAddr("10.9.0.2")}) {
		t.Errorf("v4 routes: %v", v4.Routes)
	}
	own := dhcp.Subnet{ID: "v4b", CIDR: netip.MustParsePrefix("10.8.0.0/24"),
		Routes: []dhcp.Route{{Destination: md, NextHop: netip.MustParseAddr("10.8.0.1")}}}
	metadataRoutes(&own, port)
	if len(own.Routes) != 1 || own.Routes[0].NextHop != netip.MustParseAddr("10.8.0.1") {
		t.Errorf("a subnet's own metadata route: %v", own.Routes)
	}
	v6 := dhcp.Subnet{ID: "v6", CIDR: netip.MustParsePrefix("fd00::/64")}
	metadataRoutes(&v6, port)
	if len(v6.Routes) != 0 {
		t.Errorf("v6 routes: %v", v6.Routes)
	}
	none := dhcp.Subnet{ID: "other", CIDR: netip.MustParsePrefix("10.7.0.0/24")}
	metadataRoutes(&none, port)
	if len(none.Routes) != 0 {
		t.Errorf("a subnet the port has no address on: %v", none.Routes)
	}
}
