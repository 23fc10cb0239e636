package agent

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strings"

	"github.com/google/uuid"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/gostack/gostack/network"
	"github.com/gostack/gostack/network/l3"
)

// routers runs the routers the controller scheduled to this host
// (network/l3: a qrouter- namespace each, its gateway and interfaces as
// veths whose other ends are VIFs on br-int, routes, SNAT and floating
// IPs), removes the ones no longer here, and reports the floating IPs
// it put in place ACTIVE.
func (a *Agent) routers(ctx context.Context, base string, l *layout) error {
	if !a.Config.L3 {
		return nil
	}
	keep := map[string]bool{}
	fips := map[string]string{}
	var errs []error
	for _, svc := range l.state.Routers {
		keep[svc.Router.ID] = true
		in, err := a.router(ctx, l, svc)
		if err != nil {
			errs = append(errs, fmt.Errorf("router %s: %w", svc.Router.ID, err))
			continue
		}
		// ACTIVE what is in place, DOWN the rest (an admin-down router's).
		for _, f := range svc.FloatingIPs {
			want := network.Down
			if slices.ContainsFunc(in.FloatingIPs, func(x l3.FloatingIP) bool { return x.External == f.Address }) {
				want = network.Active
			}
			if f.Status != want {
				fips[f.ID] = want
			}
		}
	}
	entries, err := os.ReadDir("/run/netns")
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		errs = append(errs, err)
	}
	for _, e := range entries {
		// Only a router's: router ids are UUIDs (another program's
		// namespace named qrouter-<something else> is not ours to remove).
		if id, ok := strings.CutPrefix(e.Name(), "qrouter-"); ok && !keep[id] && uuid.Validate(id) == nil {
			if err := l3.Delete(id); err != nil {
				errs = append(errs, err)
			}
		}
	}
	for _, prefix := range []string{"oqr", "oqg"} {
		if err := a.dropStaleVeths(ctx, prefix); err != nil {
			errs = append(errs, err)
		}
	}
	if len(fips) > 0 {
		if err := a.Session.Do(ctx, "PUT", base+"/internal/hosts/"+url.PathEscape(a.Config.Host)+"/floatingips",
			map[string]any{"floatingips": fips}, nil); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// router plumbs one router, and returns it as applied.
func (a *Agent) router(ctx context.Context, l *layout, svc network.RouterService) (l3.Router, error) {
	r := l3.Router{ID: svc.Router.ID}
	for _, rt := range svc.Router.Routes {
		r.Routes = append(r.Routes, l3.Route{Destination: rt.Destination, Nexthop: rt.Nexthop})
	}
	if svc.Gateway != nil && svc.Router.AdminStateUp {
		dev, err := a.routerPort(ctx, l, "qg-", svc.Gateway.Port)
		if err != nil {
			return r, err
		}
		gw := &l3.Gateway{Interface: l3.Interface{Device: dev, MAC: svc.Gateway.Port.MAC, Addrs: addrsOn(svc.Gateway)}}
		for _, s := range svc.Gateway.Subnets {
			if s.Gateway.Is4() {
				gw.Via = s.Gateway
				break
			}
		}
		r.Gateway = gw
		r.SNAT = svc.Router.Gateway != nil && svc.Router.Gateway.EnableSNAT
		for _, f := range svc.FloatingIPs {
			if f.FixedIP.IsValid() {
				r.FloatingIPs = append(r.FloatingIPs, l3.FloatingIP{External: f.Address, Fixed: f.FixedIP})
			}
		}
	}
	if svc.Router.AdminStateUp {
		for _, itf := range svc.Interfaces {
			dev, err := a.routerPort(ctx, l, "qr-", itf.Port)
			if err != nil {
				return r, err
			}
			r.Interfaces = append(r.Interfaces, l3.Interface{Device: dev, MAC: itf.Port.MAC, Addrs: addrsOn(&itf)})
		}
	}
	return r, l3.Apply(ctx, r)
}

// addrsOn are a router port's addresses with their subnets' prefix
// lengths.
func addrsOn(p *network.RouterPort) []netip.Prefix {
	var out []netip.Prefix
	for _, f := range p.Port.FixedIPs {
		for _, s := range p.Subnets {
			if s.ID == f.SubnetID {
				out = append(out, netip.PrefixFrom(f.IP, s.CIDR.Bits()))
			}
		}
	}
	return out
}

// routerPort makes a router port's veth unless it exists (in the router's
// namespace, where l3.Apply moves it, or still here), and plugs its other
// end into br-int as the port's VIF. It returns the router-side device.
func (a *Agent) routerPort(ctx context.Context, l *layout, prefix string, p network.Port) (string, error) {
	inNS, onBridge := vethNames(prefix, p.ID)
	if !linkIn(l3.Namespace(p.DeviceID), inNS) {
		// Not in the router yet: made now, or made by an agent killed
		// before l3.Apply moved it, so its settings are made (again).
		mtu := l.networks[p.NetworkID].MTU
		if _, err := netlink.LinkByName(inNS); err != nil {
			if old, err := netlink.LinkByName(onBridge); err == nil {
				netlink.LinkDel(old) // half made by a killed agent
			}
			if err := netlink.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: onBridge, MTU: mtu}, PeerName: inNS}); err != nil {
				return "", fmt.Errorf("veth %s: %w", onBridge, err)
			}
		}
		if mtu > 0 {
			for _, name := range []string{inNS, onBridge} {
				if link, err := netlink.LinkByName(name); err == nil && link.Attrs().MTU != mtu {
					if err := netlink.LinkSetMTU(link, mtu); err != nil {
						return "", fmt.Errorf("mtu of %s: %w", name, err)
					}
				}
			}
		}
		// Offloads off on the router's end, as on every veth whose
		// other end the userspace datapath reads.
		if out, err := exec.Command("ethtool", "-K", inNS, "tx", "off").CombinedOutput(); err != nil {
			return "", fmt.Errorf("ethtool %s: %v: %s", inNS, err, out)
		}
	}
	link, err := netlink.LinkByName(onBridge)
	if err != nil {
		return "", err
	}
	if link.Attrs().Flags&1 == 0 {
		if err := netlink.LinkSetUp(link); err != nil {
			return "", err
		}
	}
	if err := a.plugVIF(ctx, onBridge, p); err != nil {
		return "", err
	}
	return inNS, nil
}

// linkIn reports whether namespace ns has device dev.
func linkIn(ns, dev string) bool {
	h, err := netns.GetFromName(ns)
	if err != nil {
		return false
	}
	defer h.Close()
	nh, err := netlink.NewHandleAt(h)
	if err != nil {
		return false
	}
	defer nh.Close()
	_, err = nh.LinkByName(dev)
	return err == nil
}
