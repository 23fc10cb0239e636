package l3

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/gostack/gostack/network/nsutil"
	"golang.org/x/sys/unix"
)

// Router is the desired state of one router on this host.
type Router struct {
	ID          string
	Gateway     *Gateway // nil: no external gateway (no SNAT, no floating IPs)
	Interfaces  []Interface
	Routes      []Route
	FloatingIPs []FloatingIP
	// SNAT translates outbound traffic of the internal networks to the
	// gateway address (Neutron's enable_snat).
	SNAT bool
}

// Interface is a router port on an internal network (qr-).
type Interface struct {
	Device string         // the device's name, like "qr-1a2b3c4d-5e"
	MAC    string         // optional: set on the device
	Addrs  []netip.Prefix // the port's addresses with the subnet's prefix length, like 10.0.0.1/24
}

// Gateway is the router's port on the external network (qg-).
type Gateway struct {
	Interface
	// Via is the external subnet's gateway: the router's default route.
	// Zero: no default route.
	Via netip.Addr
}

// Route is a static route of the router.
type Route struct {
	Destination netip.Prefix
	Nexthop     netip.Addr
}

// FloatingIP maps an external address to an internal one: inbound
// traffic to External goes to Fixed (DNAT), Fixed's outbound traffic
// leaves as External (SNAT).
type FloatingIP struct {
	External netip.Addr
	Fixed    netip.Addr
}

// Namespace is the router's network namespace name.
func Namespace(routerID string) string { return "qrouter-" + routerID }

const nsDir = "/run/netns"

// Apply makes this host's namespace for r match r.
func Apply(ctx context.Context, r Router) error {
	if err := r.validate(); err != nil {
		return err
	}
	ns, err := nsutil.Ensure(Namespace(r.ID))
	if err != nil {
		return err
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return fmt.Errorf("l3: netlink in %s: %w", Namespace(r.ID), err)
	}
	defer h.Close()
	if err := nsutil.In(ns, func() error { return writeSysctl("net/ipv4/ip_forward", "1") }); err != nil {
		return err
	}
	if lo, err := h.LinkByName("lo"); err == nil {
		h.LinkSetUp(lo)
	}
	want := slices.Clone(r.Interfaces)
	var fipAdded []netip.Addr
	if g := r.Gateway; g != nil {
		gw := g.Interface
		// Floating IPs sit on the gateway device as /32s, as Neutron
		// puts them, so the router answers ARP for them.
		for _, f := range r.FloatingIPs {
			gw.Addrs = append(gw.Addrs, netip.PrefixFrom(f.External, 32))
		}
		want = append(want, gw)
	}
	for _, itf := range want {
		added, err := plugInterface(h, ns, itf)
		if err != nil {
			return err
		}
		if r.Gateway != nil && itf.Device == r.Gateway.Device {
			fipAdded = added
		}
	}
	if err := dropUnwanted(h, want); err != nil {
		return err
	}
	if err := applyRoutes(h, r); err != nil {
		return err
	}
	if err := applyNAT(ns, r); err != nil {
		return err
	}
	for _, a := range fipAdded {
		if a.Is4() && slices.ContainsFunc(r.FloatingIPs, func(f FloatingIP) bool { return f.External == a }) {
			if err := nsutil.In(ns, func() error { return gratuitousARP(r.Gateway.Device, a) }); err != nil {
				return fmt.Errorf("l3: gratuitous ARP for %s: %w", a, err)
			}
		}
	}
	return ctx.Err()
}

func (r Router) validate() error {
	if r.ID == "" {
		return errors.New("l3: router without an id")
	}
	if len(Namespace(r.ID)) > 255 || filepath.Base(Namespace(r.ID)) != Namespace(r.ID) {
		return fmt.Errorf("l3: router id %q cannot name a namespace", r.ID)
	}
	for _, f := range r.FloatingIPs {
		if r.Gateway == nil {
			return errors.New("l3: floating IPs need a gateway")
		}
		if !f.External.Is4() || !f.Fixed.Is4() {
			return fmt.Errorf("l3: floating IP %s -> %s: IPv4 only", f.External, f.Fixed)
		}
	}
	if r.SNAT && r.Gateway != nil && !slices.ContainsFunc(r.Gateway.Addrs, func(p netip.Prefix) bool { return p.Addr().Is4() }) {
		return errors.New("l3: SNAT needs an IPv4 address on the gateway")
	}
	return nil
}

// Delete removes the router's namespace and with it its devices; a
// router that is not there is not an error.
func Delete(routerID string) error {
	err := netns.DeleteNamed(Namespace(routerID))
	if errors.Is(err, unix.EINVAL) || errors.Is(err, os.ErrNotExist) || errors.Is(err, unix.ENOENT) {
		return nil
	}
	return err
}

// dropUnwanted deletes the devices of the router's namespace that are
// not among want (an interface removed, a gateway cleared): the
// namespace is the router's alone, so anything else there is stale. A
// veth's deletion takes its peer with it.
func dropUnwanted(h *netlink.Handle, want []Interface) error {
	links, err := h.LinkList()
	if err != nil {
		return err
	}
	for _, l := range links {
		name := l.Attrs().Name
		if name == "lo" || slices.ContainsFunc(want, func(i Interface) bool { return i.Device == name }) {
			continue
		}
		if err := h.LinkDel(l); err != nil {
			return fmt.Errorf("l3: remove %s: %w", name, err)
		}
	}
	return nil
}

func writeSysctl(key, value string) error {
	return os.WriteFile(filepath.Join("/proc/sys", key), []byte(value), 0o644)
}

// plugInterface moves itf's device into ns if it is in the host
// namespace, sets its MAC, brings it up and makes its addresses exactly
// itf.Addrs (IPv6 link-local ones are the kernel's and stay). It returns
// the addresses it added.
func plugInterface(h *netlink.Handle, ns netns.NsHandle, itf Interface) ([]netip.Addr, error) {
	link, err := h.LinkByName(itf.Device)
	if err != nil {
		host, herr := netlink.LinkByName(itf.Device)
		if herr != nil {
			return nil, fmt.Errorf("l3: device %s is neither in the router's namespace nor on the host: %w", itf.Device, herr)
		}
		if err := netlink.LinkSetNsFd(host, int(ns)); err != nil {
			return nil, fmt.Errorf("l3: move %s into the router's namespace: %w", itf.Device, err)
		}
		if link, err = h.LinkByName(itf.Device); err != nil {
			return nil, err
		}
	}
	if itf.MAC != "" {
		mac, err := net.ParseMAC(itf.MAC)
		if err != nil {
			return nil, fmt.Errorf("l3: %s: %w", itf.Device, err)
		}
		if link.Attrs().HardwareAddr.String() != mac.String() {
			if err := h.LinkSetHardwareAddr(link, mac); err != nil {
				return nil, err
			}
		}
	}
	if err := h.LinkSetUp(link); err != nil {
		return nil, err
	}
	have, err := h.AddrList(link, netlink.FAMILY_ALL)
	if err != nil {
		return nil, err
	}
	want := map[netip.Prefix]bool{}
	for _, p := range itf.Addrs {
		want[p] = true
	}
	for _, a := range have {
		p, ok := prefixOf(a.IPNet)
		if ok && p.Addr().Is6() && p.Addr().IsLinkLocalUnicast() {
			continue
		}
		if ok && want[p] {
			delete(want, p)
			continue
		}
		if err := h.AddrDel(link, &a); err != nil {
			return nil, fmt.Errorf("l3: %s: remove %s: %w", itf.Device, a.IPNet, err)
		}
	}
	var added []netip.Addr
	for _, p := range itf.Addrs {
		if !want[p] {
			continue
		}
		if err := h.AddrAdd(link, &netlink.Addr{IPNet: ipNet(p)}); err != nil && !errors.Is(err, unix.EEXIST) {
			return nil, fmt.Errorf("l3: %s: add %s: %w", itf.Device, p, err)
		}
		added = append(added, p.Addr())
	}
	return added, nil
}

func prefixOf(n *net.IPNet) (netip.Prefix, bool) {
	if n == nil {
		return netip.Prefix{}, false
	}
	a, ok := netip.AddrFromSlice(n.IP)
	if !ok {
		return netip.Prefix{}, false
	}
	ones, _ := n.Mask.Size()
	return netip.PrefixFrom(a.Unmap(), ones), true
}

func ipNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}

// applyRoutes makes the namespace's gateway and static routes those of
// r: the default route via the gateway's Via, each static route via its
// nexthop; other routes through a nexthop are removed (connected routes
// are the kernel's).
func applyRoutes(h *netlink.Handle, r Router) error {
	want := map[netip.Prefix]netip.Addr{}
	if r.Gateway != nil && r.Gateway.Via.IsValid() {
		via := r.Gateway.Via.Unmap()
		want[netip.PrefixFrom(via, 0).Masked()] = via
	}
	for _, rt := range r.Routes {
		want[rt.Destination.Masked()] = rt.Nexthop
	}
	have, err := h.RouteList(nil, netlink.FAMILY_ALL)
	if err != nil {
		return err
	}
	for _, rt := range have {
		if rt.Gw == nil {
			continue // connected and kernel routes
		}
		dst := defaultDst(rt)
		gw, _ := netip.AddrFromSlice(rt.Gw)
		if via, ok := want[dst]; ok && via == gw.Unmap() {
			delete(want, dst)
			continue
		}
		if err := h.RouteDel(&rt); err != nil && !errors.Is(err, unix.ESRCH) {
			return fmt.Errorf("l3: remove route %s via %s: %w", dst, gw, err)
		}
	}
	for dst, via := range want {
		rt := &netlink.Route{Dst: ipNet(dst), Gw: via.AsSlice()}
		if dst.Bits() == 0 {
			rt.Dst = nil
			if via.Is6() {
				rt.Family = netlink.FAMILY_V6
			}
		}
		if err := h.RouteReplace(rt); err != nil {
			return fmt.Errorf("l3: route %s via %s: %w", dst, via, err)
		}
	}
	return nil
}

// defaultDst is a route's destination, 0.0.0.0/0 or ::/0 for a default
// route.
func defaultDst(rt netlink.Route) netip.Prefix {
	if p, ok := prefixOf(rt.Dst); ok {
		return p.Masked()
	}
	if rt.Family == netlink.FAMILY_V6 || (rt.Gw != nil && rt.Gw.To4() == nil) {
		return netip.PrefixFrom(netip.IPv6Unspecified(), 0)
	}
	return netip.PrefixFrom(netip.IPv4Unspecified(), 0)
}
