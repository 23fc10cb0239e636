package network

import (
	"net/netip"
	"strings"
	"time"

	"github.com/gostack/gostack/network/ipam"
)

// Network types (provider:network_type).
const (
	Local = "local"
	Flat  = "flat"
	VLAN  = "vlan"
	VXLAN = "vxlan"
)

// Port statuses.
const (
	Down   = "DOWN"
	Active = "ACTIVE"
	Build  = "BUILD"
)

// Network is a Neutron network with its provider attributes (one
// segment).
type Network struct {
	ID           string `json:"id"`
	ProjectID    string `json:"project_id"`
	Name         string `json:"name"`
	Description  string `json:"description"`
	AdminStateUp bool   `json:"admin_state_up"`
	Shared       bool   `json:"shared"`
	External     bool   `json:"router:external"`
	MTU          int    `json:"mtu"`
	Type         string `json:"provider:network_type"`
	Physical     string `json:"provider:physical_network,omitempty"`
	Segment      int    `json:"provider:segmentation_id,omitempty"` // VNI or VLAN id; 0 for local and flat
	// PortSecurity is the default of the network's ports (nil when
	// creating: true, Neutron's default).
	PortSecurity *bool     `json:"port_security_enabled"`
	Tags         []string  `json:"tags"` // sorted (standard-attr-tag)
	Revision     int       `json:"revision_number"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
}

// Subnet is a Neutron subnet. A zero Gateway means none.
type Subnet struct {
	ID          string       `json:"id"`
	ProjectID   string       `json:"project_id"`
	NetworkID   string       `json:"network_id"`
	Name        string       `json:"name"`
	Description string       `json:"description"`
	IPVersion   int          `json:"ip_version"`
	CIDR        netip.Prefix `json:"cidr"`
	Gateway     netip.Addr   `json:"gateway_ip"`
	Pools       []ipam.Range `json:"allocation_pools"`
	Nameservers []netip.Addr `json:"dns_nameservers"`
	Routes      []ipam.Route `json:"host_routes"`
	EnableDHCP  bool         `json:"enable_dhcp"`
	Tags        []string     `json:"tags"` // sorted (standard-attr-tag)
	Revision    int          `json:"revision_number"`
	CreatedAt   time.Time    `json:"created_at"`
	UpdatedAt   time.Time    `json:"updated_at"`
}

// FixedIP is an address a port holds on a subnet.
type FixedIP struct {
	SubnetID string     `json:"subnet_id"`
	IP       netip.Addr `json:"ip_address"`
}

// Port is a Neutron port: a MAC and addresses on one network, bound to a
// host once a device uses it.
type Port struct {
	ID           string    `json:"id"`
	ProjectID    string    `json:"project_id"`
	NetworkID    string    `json:"network_id"`
	Name         string    `json:"name"`
	Description  string    `json:"description"`
	AdminStateUp bool      `json:"admin_state_up"`
	MAC          string    `json:"mac_address"`
	FixedIPs     []FixedIP `json:"fixed_ips"`
	DeviceOwner  string    `json:"device_owner"`
	DeviceID     string    `json:"device_id"`
	HostID       string    `json:"binding:host_id"`
	Status       string    `json:"status"`
	// PortSecurity: the port's addresses are enforced and its security
	// groups applied. Nil when creating: the network's, or false for a
	// port of the network itself (device owner network:*).
	PortSecurity *bool `json:"port_security_enabled"`
	// SecurityGroups are the ids of the port's groups. Nil when creating:
	// the project's default group if port security is on; empty: none.
	SecurityGroups []string `json:"security_groups"`
	// AllowedAddressPairs are the other addresses the port may send
	// from (a VIP, a CIDR behind it).
	AllowedAddressPairs []AddressPair `json:"allowed_address_pairs"`
	Tags                []string      `json:"tags"` // sorted (standard-attr-tag); a create stores those given
	Revision            int           `json:"revision_number"`
	CreatedAt           time.Time     `json:"created_at"`
	UpdatedAt           time.Time     `json:"updated_at"`
}

// AddressPair is an allowed address pair: an address or a CIDR (kept as
// given) and a MAC (the port's when not given).
type AddressPair struct {
	IP  string `json:"ip_address"`
	MAC string `json:"mac_address"`
}

// IsTrusted reports whether the port belongs to the network itself (its
// device owner starts with "network:": DHCP, router interfaces): such
// ports get neither port security nor security groups, as in Neutron.
func (p Port) IsTrusted() bool { return strings.HasPrefix(p.DeviceOwner, "network:") }

// IsRouterPort reports whether the port belongs to a router (its device
// owner is network:router_interface, _gateway, _ha_interface or
// network:router_interface_distributed): such ports may hold an IPv6
// subnet's first address.
func (p Port) IsRouterPort() bool {
	switch p.DeviceOwner {
	case "network:router_interface", "network:router_gateway", "network:router_ha_interface",
		"network:router_interface_distributed", "network:router_centralized_snat":
		return true
	}
	return false
}
