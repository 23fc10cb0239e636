package l3_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/nftables"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/gostack/gostack/network/l3"
)

// lab is a few namespaces joined to a router by veth pairs: "ext" on the
// external network 192.0.2.0/24 (the router's gateway .10, the upstream
// gateway .1), "vm1" on 10.0.0.0/24 and "vm2" on 10.0.1.0/24 (the router
// .1 on each, the VM .5).
type lab struct {
	t      *testing.T
	id     string // router id, short enough for device names
	prefix string // of the test namespaces
	ns     map[string]netns.NsHandle
}

func newLab(t *testing.T) *lab {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("network/l3 tests need root (network namespaces, nftables)")
		}
		t.Skip("needs root: network namespaces and nftables")
	}
	l := &lab{t: t, id: fmt.Sprintf("t%d", os.Getpid()%100000), prefix: fmt.Sprintf("gsl3-%d-", os.Getpid()), ns: map[string]netns.NsHandle{}}
	t.Cleanup(func() {
		l3.Delete(l.id)
		for name, h := range l.ns {
			h.Close()
			netns.DeleteNamed(l.prefix + name)
		}
	})
	for _, name := range []string{"ext", "vm1", "vm2"} {
		l.ns[name] = l.newNS(name)
	}
	l.veth("qg-"+l.id, "ext", "192.0.2.1/24", "")
	l.veth("qr1-"+l.id, "vm1", "10.0.0.5/24", "10.0.0.1")
	l.veth("qr2-"+l.id, "vm2", "10.0.1.5/24", "10.0.1.1")
	// Let the external side take gratuitous ARPs into its cache.
	l.in("ext", func() error {
		return os.WriteFile("/proc/sys/net/ipv4/conf/all/arp_accept", []byte("1"), 0o644)
	})
	return l
}

func (l *lab) newNS(name string) netns.NsHandle {
	l.t.Helper()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := netns.Get()
	if err != nil {
		l.t.Fatal(err)
	}
	defer orig.Close()
	h, err := netns.NewNamed(l.prefix + name)
	if err != nil {
		l.t.Fatal(err)
	}
	if err := netns.Set(orig); err != nil {
		l.t.Fatal(err)
	}
	return h
}

// in runs fn on a thread in the lab namespace name.
func (l *lab) in(name string, fn func() error) {
	l.t.Helper()
	err := func() error {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			return err
		}
		defer orig.Close()
		if err := netns.Set(l.ns[name]); err != nil {
			return err
		}
		ferr := fn()
		if err := netns.Set(orig); err != nil {
			return err // the thread stays locked and is retired
		}
		runtime.UnlockOSThread()
		return ferr
	}()
	if err != nil {
		l.t.Fatal(err)
	}
}

// veth makes a pair: routerEnd stays on the host for l3.Apply to take,
// the other end goes into namespace name with addr (and a default route
// via via, if set).
func (l *lab) veth(routerEnd, name, addr, via string) {
	l.t.Helper()
	peer := name + "-" + l.id
	if err := netlink.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: routerEnd}, PeerName: peer}); err != nil {
		l.t.Fatalf("veth %s: %v", routerEnd, err)
	}
	l.t.Cleanup(func() {
		if link, err := netlink.LinkByName(routerEnd); err == nil {
			netlink.LinkDel(link)
		}
	})
	p, err := netlink.LinkByName(peer)
	if err != nil {
		l.t.Fatal(err)
	}
	if err := netlink.LinkSetNsFd(p, int(l.ns[name])); err != nil {
		l.t.Fatal(err)
	}
	h, err := netlink.NewHandleAt(l.ns[name])
	if err != nil {
		l.t.Fatal(err)
	}
	defer h.Close()
	p, _ = h.LinkByName(peer)
	a, _ := netlink.ParseAddr(addr)
	for _, step := range []error{h.AddrAdd(p, a), h.LinkSetUp(p)} {
		if step != nil {
			l.t.Fatal(step)
		}
	}
	if lo, err := h.LinkByName("lo"); err == nil {
		h.LinkSetUp(lo)
	}
	if via != "" {
		if err := h.RouteAdd(&netlink.Route{Gw: net.ParseIP(via)}); err != nil {
			l.t.Fatal(err)
		}
	}
}

// listen serves TCP in namespace name: each connection is answered with
// "<name> saw <remote address>".
func (l *lab) listen(name, addr string) {
	l.t.Helper()
	var ln net.Listener
	l.in(name, func() (err error) {
		ln, err = net.Listen("tcp", addr)
		return err
	})
	l.t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			host, _, _ := net.SplitHostPort(c.RemoteAddr().String())
			fmt.Fprintf(c, "%s saw %s", name, host)
			c.Close()
		}
	}()
}

// dial connects from namespace name to addr and returns the answer, or
// the error.
func (l *lab) dial(name, addr string) string {
	l.t.Helper()
	var out string
	l.in(name, func() error {
		c, err := net.DialTimeout("tcp", addr, 3*time.Second)
		if err != nil {
			out = "error: " + err.Error()
			return nil
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(3 * time.Second))
		b, err := io.ReadAll(c)
		if err != nil {
			out = "error: " + err.Error()
		} else {
			out = string(b)
		}
		return nil
	})
	return out
}

func pfx(s string) netip.Prefix { return netip.MustParsePrefix(s) }
func ip(s string) netip.Addr    { return netip.MustParseAddr(s) }

func (l *lab) router(fips ...l3.FloatingIP) l3.Router {
	return l3.Router{
		ID: l.id,
		Gateway: &l3.Gateway{Interface: l3.Interface{Device: "qg-" + l.id, Addrs: []netip.Prefix{pfx("192.0.2.10/24")}},
			Via: ip("192.0.2.1")},
		Interfaces: []l3.Interface{
			{Device: "qr1-" + l.id, Addrs: []netip.Prefix{pfx("10.0.0.1/24")}},
			{Device: "qr2-" + l.id, Addrs: []netip.Prefix{pfx("10.0.1.1/24")}},
		},
		FloatingIPs: fips,
		SNAT:        true,
	}
}

// Real packets through a router namespace: routing between its subnets,
// SNAT outbound, a floating IP inbound and outbound, moved to another
// VM, and Apply again changing nothing.
func TestRouter(t *testing.T) {
	l := newLab(t)
	ctx := context.Background()
	for _, name := range []string{"ext", "vm1", "vm2"} {
		l.listen(name, ":8000")
	}
	fip := l3.FloatingIP{External: ip("192.0.2.50"), Fixed: ip("10.0.1.5")}
	if err := l3.Apply(ctx, l.router(fip)); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ from, to, want string }{
		{"vm1", "10.0.1.5:8000", "vm2 saw 10.0.0.5"},     // routed between subnets, not translated
		{"vm1", "192.0.2.1:8000", "ext saw 192.0.2.10"},  // SNAT to the gateway address
		{"ext", "192.0.2.50:8000", "vm2 saw 192.0.2.1"},  // floating IP inbound
		{"vm2", "192.0.2.1:8000", "ext saw 192.0.2.50"},  // and outbound
		{"vm1", "192.0.2.50:8000", "vm2 saw 192.0.2.10"}, // hairpin: an inside host through the floating IP
		{"ext", "10.0.0.5:8000", "error"},                // no route to the inside from outside
	} {
		if got := l.dial(c.from, c.to); !strings.HasPrefix(got, c.want) {
			t.Errorf("%s -> %s: %q, want %q", c.from, c.to, got, c.want)
		}
	}
	// The gratuitous ARP reached the external side.
	h, _ := netlink.NewHandleAt(l.ns["ext"])
	defer h.Close()
	neighbours, _ := h.NeighList(0, netlink.FAMILY_V4)
	announced := false
	for _, n := range neighbours {
		announced = announced || n.IP.Equal(net.ParseIP("192.0.2.50"))
	}
	if !announced {
		t.Errorf("no neighbour entry for the floating IP on the external side: %v", neighbours)
	}

	// Apply again: same addresses, same rules.
	before := l.state(t)
	if err := l3.Apply(ctx, l.router(fip)); err != nil {
		t.Fatal(err)
	}
	if after := l.state(t); after != before {
		t.Fatalf("a second Apply changed the router:\n%s\n---\n%s", before, after)
	}

	// Move the floating IP to vm1; turn SNAT off.
	r := l.router(l3.FloatingIP{External: ip("192.0.2.50"), Fixed: ip("10.0.0.5")})
	r.SNAT = false
	if err := l3.Apply(ctx, r); err != nil {
		t.Fatal(err)
	}
	if got := l.dial("ext", "192.0.2.50:8000"); !strings.HasPrefix(got, "vm1 saw 192.0.2.1") {
		t.Errorf("moved floating IP: %q", got)
	}
	if got := l.dial("vm2", "192.0.2.1:8000"); !strings.HasPrefix(got, "error") {
		t.Errorf("without SNAT, the outside cannot answer an inside address it has no route to: %q", got)
	}
	h.RouteAdd(&netlink.Route{Dst: &net.IPNet{IP: net.IP{10, 0, 0, 0}, Mask: net.CIDRMask(16, 32)}, Gw: net.ParseIP("192.0.2.10")})
	if got := l.dial("vm2", "192.0.2.1:8000"); !strings.HasPrefix(got, "ext saw 10.0.1.5") {
		t.Errorf("without SNAT, vm2 reaches the outside untranslated: %q", got)
	}

	// An interface removed from the router leaves its namespace (and its
	// subnet's route with it).
	r.Interfaces = r.Interfaces[:1]
	if err := l3.Apply(ctx, r); err != nil {
		t.Fatal(err)
	}
	if st := l.state(t); strings.Contains(st, "qr2-") || strings.Contains(st, "10.0.1.") {
		t.Fatalf("the removed interface is still there:\n%s", st)
	}
	if got := l.dial("vm1", "10.0.1.5:8000"); !strings.HasPrefix(got, "error") {
		t.Errorf("vm1 reached vm2 through a removed interface: %q", got)
	}

	if err := l3.Delete(l.id); err != nil {
		t.Fatal(err)
	}
	if _, err := netns.GetFromName(l3.Namespace(l.id)); err == nil {
		t.Fatal("namespace still there after Delete")
	}
	if err := l3.Delete(l.id); err != nil {
		t.Fatalf("second Delete: %v", err)
	}
}

// state is the router's addresses, routes and NAT rules, as text.
func (l *lab) state(t *testing.T) string {
	t.Helper()
	ns, err := netns.GetFromName(l3.Namespace(l.id))
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	h, _ := netlink.NewHandleAt(ns)
	defer h.Close()
	var b strings.Builder
	links, _ := h.LinkList()
	for _, link := range links {
		addrs, _ := h.AddrList(link, netlink.FAMILY_V4)
		for _, a := range addrs {
			fmt.Fprintf(&b, "%s %s\n", link.Attrs().Name, a.IPNet)
		}
	}
	routes, _ := h.RouteList(nil, netlink.FAMILY_V4)
	for _, r := range routes {
		fmt.Fprintf(&b, "route %v via %v\n", r.Dst, r.Gw)
	}
	c, err := nftables.New(nftables.WithNetNSFd(int(ns)))
	if err != nil {
		t.Fatal(err)
	}
	chains, _ := c.ListChains()
	for _, ch := range chains {
		rules, _ := c.GetRules(ch.Table, ch)
		fmt.Fprintf(&b, "chain %s %s: %d rules\n", ch.Table.Name, ch.Name, len(rules))
	}
	return b.String()
}
