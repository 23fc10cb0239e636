package secgroup_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os/exec"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/gostack/gostack/internal/testenv"
	"github.com/gostack/gostack/network/ovs"
	"github.com/gostack/gostack/network/ovs/ovstest"
	"github.com/gostack/gostack/network/secgroup"
)

// lab is an integration bridge on a private Open vSwitch (userspace
// datapath, in ovstest's namespace) and "VMs": namespaces on veth pairs
// whose other ends are access ports of the bridge on local VLAN 1. Table
// 0 sends everything to the firewall, as the agent's does.
type lab struct {
	t   *testing.T
	o   *ovstest.OVS
	of  *ovs.OpenFlow
	vms map[string]*vm
	gen uint64
}

// vm is a "VM": a namespace with eth0 (its MAC and addresses fixed)
// plugged into br-int.
type vm struct {
	name    string
	ns      netns.NsHandle
	ifindex int // of eth0, in ns
	ofport  int
	mac     string
	ip4     netip.Addr // 10.0.0.N/24
	ip6     netip.Addr // fd00::N/64
}

const (
	vlan          = 1
	owner, mask   = 0x5347 << 48, 0xffff << 48 // "SG"
	allowedWithin = 8 * time.Second            // an allowed connection may wait for ARP/ND and a flow change
	deniedAfter   = 1500 * time.Millisecond    // a denied one is given this long
)

func newLab(t *testing.T, names ...string) *lab {
	t.Helper()
	o := ovstest.Start(t)
	testenv.LookPath(t, "ethtool", "ethtool")
	testenv.LookPath(t, "ping", "iputils-ping")
	ctx := ctxFor(t)
	c, err := ovs.Connect(ctx, o.DB)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	if err := c.EnsureBridge(ctx, "br-int", ovs.BridgeOptions{
		DatapathType: "netdev", FailMode: "secure", Protocols: []string{"OpenFlow10", "OpenFlow15"},
	}); err != nil {
		t.Fatal(err)
	}
	l := &lab{t: t, o: o, of: o.OpenFlow("br-int"), vms: map[string]*vm{}}
	for i, name := range names {
		n := i + 1
		v := &vm{
			name: name,
			mac:  fmt.Sprintf("fa:16:3e:00:00:%02x", n),
			ip4:  netip.AddrFrom4([4]byte{10, 0, 0, byte(n)}),
			ip6:  netip.MustParseAddr(fmt.Sprintf("fd00::%d", n)),
		}
		v.ns = vmNamespace(t, fmt.Sprintf("%s-%s", o.NSName, name))
		port := fmt.Sprintf("sgp%d", n)
		l.plug(v, port)
		if err := c.EnsurePort(ctx, "br-int", ovs.Port{Name: port, Tag: vlan}); err != nil {
			t.Fatal(err)
		}
		if v.ofport, err = c.WaitOFPort(ctx, port); err != nil {
			t.Fatal(err)
		}
		for _, p := range []int{8080, 8081, 9000, 9001} {
			v.serve(t, p)
		}
		l.vms[name] = v
	}
	if err := c.WaitSwitch(ctx); err != nil {
		t.Fatal(err)
	}
	return l
}

func ctxFor(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func vmNamespace(t *testing.T, name string) netns.NsHandle {
	t.Helper()
	ns, err := ovstest.NewNS(name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ns.Close()
		netns.DeleteNamed(name)
	})
	return ns
}

// plug makes a veth pair in the OVS namespace: port stays there for the
// bridge, eth0 goes into the VM with its MAC and addresses, transmit
// offloads off (the userspace datapath reads the port with a packet
// socket; with offloads, TCP fails).
func (l *lab) plug(v *vm, port string) {
	t := l.t
	t.Helper()
	h, err := netlink.NewHandleAt(l.o.NS)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	peer := port + "v"
	if err := h.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: port, MTU: 1500}, PeerName: peer}); err != nil {
		t.Fatalf("veth %s: %v", port, err)
	}
	pl, err := h.LinkByName(peer)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.LinkSetNsFd(pl, int(v.ns)); err != nil {
		t.Fatal(err)
	}
	link, err := h.LinkByName(port)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.LinkSetUp(link); err != nil {
		t.Fatal(err)
	}
	vh, err := netlink.NewHandleAt(v.ns)
	if err != nil {
		t.Fatal(err)
	}
	defer vh.Close()
	dev, err := vh.LinkByName(peer)
	if err != nil {
		t.Fatal(err)
	}
	hw, _ := net.ParseMAC(v.mac)
	a4, _ := netlink.ParseAddr(v.ip4.String() + "/24")
	a6, _ := netlink.ParseAddr(v.ip6.String() + "/64")
	a6.Flags = unix.IFA_F_NODAD
	for _, step := range []func() error{
		func() error { return vh.LinkSetName(dev, "eth0") },
		func() error { return vh.LinkSetHardwareAddr(dev, hw) },
		func() error { return vh.AddrAdd(dev, a4) },
		func() error { return vh.AddrAdd(dev, a6) },
		func() error { return vh.LinkSetUp(dev) },
		func() error {
			lo, err := vh.LinkByName("lo")
			if err != nil {
				return err
			}
			return vh.LinkSetUp(lo)
		},
		func() error {
			return ovstest.In(v.ns, func() error {
				if out, err := exec.Command("ethtool", "-K", "eth0", "tx", "off").CombinedOutput(); err != nil {
					return fmt.Errorf("ethtool -K eth0 tx off: %v: %s", err, out)
				}
				return nil
			})
		},
	} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	v.ifindex = dev.Attrs().Index
}

// port is v as the firewall sees it, in groups, with port security.
func (v *vm) port(groups ...string) secgroup.Port {
	return secgroup.Port{ID: v.name, OFPort: v.ofport, VLAN: vlan, MAC: v.mac,
		IPs: []netip.Addr{v.ip4, v.ip6}, Groups: groups, PortSecurity: true}
}

// apply installs the firewall for ports with Sync, and table 0, then
// waits for the datapath to have dropped flows the change made stale.
func (l *lab) apply(ports []secgroup.Port, groups map[string]secgroup.Group, members secgroup.Members) {
	t := l.t
	t.Helper()
	flows := append([]ovs.Flow{{Table: 0, Priority: 0, Actions: "resubmit(,60)"}}, secgroup.Flows(ports, groups, members)...)
	l.gen++
	ctx := ctxFor(t)
	if _, err := l.of.Sync(ctx, flows, owner|l.gen, mask); err != nil {
		t.Fatal(err)
	}
	if _, err := l.o.Runner()(ctx, nil, "ovs-appctl", "revalidator/wait"); err != nil {
		t.Fatal(err)
	}
}

// serve answers TCP connections on port (IPv4 and IPv6) by echoing.
func (v *vm) serve(t *testing.T, port int) {
	var ln net.Listener
	if err := ovstest.In(v.ns, func() (err error) {
		ln, err = net.Listen("tcp", fmt.Sprintf(":%d", port))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				io.Copy(c, c)
			}()
		}
	}()
}

// dial connects from v (from local, if valid) to addr and checks one
// echo, within timeout.
func (v *vm) dial(local netip.Addr, addr netip.AddrPort, timeout time.Duration) (net.Conn, error) {
	var c net.Conn
	err := ovstest.In(v.ns, func() (err error) {
		d := net.Dialer{Timeout: timeout}
		if local.IsValid() {
			d.LocalAddr = &net.TCPAddr{IP: local.AsSlice()}
		}
		c, err = d.Dial("tcp", addr.String())
		return err
	})
	if err != nil {
		return nil, err
	}
	if err := echo(c, "hello", timeout); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// echo sends msg on c and reads it back within timeout.
func echo(c net.Conn, msg string, timeout time.Duration) error {
	c.SetDeadline(time.Now().Add(timeout))
	if _, err := io.WriteString(c, msg); err != nil {
		return err
	}
	buf := make([]byte, len(msg))
	if _, err := io.ReadFull(c, buf); err != nil {
		return err
	}
	if string(buf) != msg {
		return fmt.Errorf("echoed %q, sent %q", buf, msg)
	}
	return nil
}

// tcp checks that a connection from v (from local, if valid) to addr
// works (retried for a while: the first may wait for ARP) or does not.
func (l *lab) tcp(v *vm, local netip.Addr, addr netip.AddrPort, want bool) {
	t := l.t
	t.Helper()
	if !want {
		if c, err := v.dial(local, addr, deniedAfter); err == nil {
			c.Close()
			t.Errorf("%s → %s: connected, want denied", v.name, addr)
		}
		return
	}
	c, err := l.open(v, local, addr)
	if err != nil {
		t.Errorf("%s → %s: %v, want connected", v.name, addr, err)
		return
	}
	c.Close()
}

// open is an allowed connection from v to addr, retried for a while.
func (l *lab) open(v *vm, local netip.Addr, addr netip.AddrPort) (net.Conn, error) {
	deadline := time.Now().Add(allowedWithin)
	for {
		c, err := v.dial(local, addr, 2*time.Second)
		if err == nil || time.Now().After(deadline) {
			return c, err
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// ping checks that v gets an answer to an ICMP echo (IPv4 or IPv6) or
// does not.
func (l *lab) ping(v *vm, dst netip.Addr, want bool) {
	t := l.t
	t.Helper()
	tries := 1
	if want {
		tries = int(allowedWithin / time.Second)
	}
	var out []byte
	var err error
	for range tries {
		err = ovstest.In(v.ns, func() error {
			out, err = exec.Command("ping", "-n", "-c", "1", "-W", "1", dst.String()).CombinedOutput()
			return err
		})
		if err == nil {
			break
		}
	}
	switch {
	case want && err != nil:
		t.Errorf("ping %s → %s: %v: %s", v.name, dst, err, out)
	case !want && err == nil:
		t.Errorf("ping %s → %s answered, want denied", v.name, dst)
	}
}

// Raw frames: what a VM that does not play by the rules sends.

// rawSocket is a packet socket on v's eth0, closed with the test.
func (v *vm) rawSocket(t *testing.T) int {
	t.Helper()
	var fd int
	if err := ovstest.In(v.ns, func() (err error) {
		fd, err = unix.Socket(unix.AF_PACKET, unix.SOCK_RAW, int(htons(unix.ETH_P_ALL)))
		if err != nil {
			return err
		}
		return unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: v.ifindex})
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	tv := unix.Timeval{Usec: 100_000}
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		t.Fatal(err)
	}
	return fd
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// inject sends frame from v three times.
func (v *vm) inject(t *testing.T, frame []byte) {
	t.Helper()
	fd := v.rawSocket(t)
	for range 3 {
		if _, err := unix.Write(fd, frame); err != nil {
			t.Fatalf("inject from %s: %v", v.name, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// receives reports whether to receives a frame for which match holds
// while from sends frame.
func (l *lab) receives(from, to *vm, frame []byte, match func([]byte) bool) bool {
	t := l.t
	t.Helper()
	fd := to.rawSocket(t)
	from.inject(t, frame)
	deadline := time.Now().Add(time.Second)
	buf := make([]byte, 2048)
	for time.Now().Before(deadline) {
		n, sa, err := unix.Recvfrom(fd, buf, 0)
		if err != nil {
			if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
				continue
			}
			t.Fatal(err)
		}
		if ll, ok := sa.(*unix.SockaddrLinklayer); ok && ll.Pkttype == unix.PACKET_OUTGOING {
			continue
		}
		if match(buf[:n]) {
			return true
		}
	}
	return false
}

// contains matches frames carrying marker.
func contains(marker string) func([]byte) bool {
	return func(b []byte) bool { return bytes.Contains(b, []byte(marker)) }
}

func mac(s string) []byte {
	hw, err := net.ParseMAC(s)
	if err != nil {
		panic(err)
	}
	return hw
}

var broadcast = "ff:ff:ff:ff:ff:ff"

// udp4 is an Ethernet frame with an IPv4 UDP datagram carrying payload
// (no UDP checksum, which IPv4 allows).
func udp4(srcMAC, dstMAC string, src, dst netip.Addr, sport, dport int, payload string) []byte {
	udp := make([]byte, 8, 8+len(payload))
	binary.BigEndian.PutUint16(udp[0:], uint16(sport))
	binary.BigEndian.PutUint16(udp[2:], uint16(dport))
	binary.BigEndian.PutUint16(udp[4:], uint16(8+len(payload)))
	udp = append(udp, payload...)
	ip := make([]byte, 20)
	ip[0], ip[8], ip[9] = 0x45, 64, 17
	binary.BigEndian.PutUint16(ip[2:], uint16(20+len(udp)))
	s, d := src.As4(), dst.As4()
	copy(ip[12:], s[:])
	copy(ip[16:], d[:])
	binary.BigEndian.PutUint16(ip[10:], checksum(ip))
	return append(ether(srcMAC, dstMAC, 0x0800), append(ip, udp...)...)
}

// icmp6 is an Ethernet frame with an ICMPv6 message of type typ and body
// (checksum left zero: the receiving packet socket sees it anyway).
func icmp6(srcMAC, dstMAC string, src, dst netip.Addr, typ byte, body string) []byte {
	msg := append([]byte{typ, 0, 0, 0}, body...)
	ip := make([]byte, 40)
	ip[0], ip[6], ip[7] = 0x60, 58, 255
	binary.BigEndian.PutUint16(ip[4:], uint16(len(msg)))
	s, d := src.As16(), dst.As16()
	copy(ip[8:], s[:])
	copy(ip[24:], d[:])
	return append(ether(srcMAC, dstMAC, 0x86dd), append(ip, msg...)...)
}

// garp is a gratuitous ARP: sender claims ip for mac.
func garp(srcMAC, sha string, ip netip.Addr) []byte {
	a := []byte{0, 1, 8, 0, 6, 4, 0, 1}
	a = append(a, mac(sha)...)
	b := ip.As4()
	a = append(a, b[:]...)
	a = append(a, 0, 0, 0, 0, 0, 0)
	a = append(a, b[:]...)
	return append(ether(srcMAC, broadcast, 0x0806), a...)
}

// isARP matches an ARP packet whose sender is (sha, spa).
func isARP(sha string, spa netip.Addr) func([]byte) bool {
	want := append(mac(sha), spa.AsSlice()...)
	return func(b []byte) bool {
		return len(b) >= 42 && b[12] == 0x08 && b[13] == 0x06 && bytes.Equal(b[22:32], want)
	}
}

func ether(src, dst string, typ uint16) []byte {
	e := append(mac(dst), mac(src)...)
	return binary.BigEndian.AppendUint16(e, typ)
}

func checksum(b []byte) uint16 {
	var sum uint32
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(binary.BigEndian.Uint16(b[i:]))
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

// addPair gives v's eth0 the extra address a (an allowed address pair).
func addPair(t *testing.T, v *vm, a netip.Addr) {
	t.Helper()
	h, err := netlink.NewHandleAt(v.ns)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	link, err := h.LinkByName("eth0")
	if err != nil {
		t.Fatal(err)
	}
	addr, err := netlink.ParseAddr(a.String() + "/24")
	if err != nil {
		t.Fatal(err)
	}
	if err := h.AddrAdd(link, addr); err != nil {
		t.Fatal(err)
	}
}
