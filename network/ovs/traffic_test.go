package ovs_test

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"

	"github.com/gostack/gostack/network/ovs"
	"github.com/gostack/gostack/network/ovs/ovstest"
)

// Two "VMs" (network namespaces) on one userspace bridge, each through a
// veth pair whose other end is a system port of the bridge, joined by two
// flows between their OpenFlow ports: ping and a TCP transfer.
func TestTraffic(t *testing.T) {
	o := ovstest.Start(t)
	if _, err := exec.LookPath("ethtool"); err != nil {
		t.Skip("ethtool is not installed (apt-get install ethtool)")
	}
	c := connect(t, o)
	ctx := ctxFor(t)
	netdevBridge(t, c, "br0")

	vms := map[string]netns.NsHandle{}
	ports := map[string]int{}
	for i, vm := range []string{"vm1", "vm2"} {
		ns := vmNamespace(t, fmt.Sprintf("%s-%s", o.NSName, vm))
		vms[vm] = ns
		port := "vp" + vm[2:]
		plugVeth(t, o, ns, port, vm, fmt.Sprintf("10.9.0.%d/24", i+1))
		if err := c.EnsurePort(ctx, "br0", ovs.Port{Name: port, ExternalIDs: map[string]string{"iface-id": vm}}); err != nil {
			t.Fatal(err)
		}
		n, err := c.WaitOFPort(ctx, port)
		if err != nil {
			t.Fatal(err)
		}
		ports[vm] = n
	}
	flows := []ovs.Flow{
		{Table: 0, Priority: 10, Match: fmt.Sprintf("in_port=%d", ports["vm1"]), Actions: fmt.Sprintf("output:%d", ports["vm2"])},
		{Table: 0, Priority: 10, Match: fmt.Sprintf("in_port=%d", ports["vm2"]), Actions: fmt.Sprintf("output:%d", ports["vm1"])},
	}
	if res, err := o.OpenFlow("br0").Sync(ctx, flows, owner|1, mask); err != nil || res.Added != 2 {
		t.Fatalf("Sync: %+v, %v", res, err)
	}

	t.Run("ping", func(t *testing.T) { ping(t, vms["vm1"], "10.9.0.2") })
	t.Run("tcp", func(t *testing.T) { tcpTransfer(t, vms["vm2"], vms["vm1"], "10.9.0.2:5001", 1<<20) })
}

// vmNamespace makes a named namespace with lo up, deleted at cleanup.
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

// plugVeth makes a veth pair in the OVS namespace, port (left there, up,
// for the bridge) and dev (moved into vm with addr), and turns the VM
// end's transmit offloads off: the userspace datapath reads the other end
// through a packet socket, which gets segmentation-offloaded packets with
// partial checksums.
func plugVeth(t *testing.T, o *ovstest.OVS, vm netns.NsHandle, port, dev, addr string) {
	t.Helper()
	h, err := netlink.NewHandleAt(o.NS)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if err := h.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: port, MTU: 1500}, PeerName: dev}); err != nil {
		t.Fatalf("veth %s: %v", port, err)
	}
	peer, err := h.LinkByName(dev)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.LinkSetNsFd(peer, int(vm)); err != nil {
		t.Fatal(err)
	}
	link, err := h.LinkByName(port)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.LinkSetUp(link); err != nil {
		t.Fatal(err)
	}
	vh, err := netlink.NewHandleAt(vm)
	if err != nil {
		t.Fatal(err)
	}
	defer vh.Close()
	l, err := vh.LinkByName(dev)
	if err != nil {
		t.Fatal(err)
	}
	a, err := netlink.ParseAddr(addr)
	if err != nil {
		t.Fatal(err)
	}
	for _, step := range []func() error{
		func() error { return vh.AddrAdd(l, a) },
		func() error { return vh.LinkSetUp(l) },
		func() error {
			lo, err := vh.LinkByName("lo")
			if err != nil {
				return err
			}
			return vh.LinkSetUp(lo)
		},
		func() error {
			return ovstest.In(vm, func() error {
				out, err := exec.Command("ethtool", "-K", dev, "tx", "off").CombinedOutput()
				if err != nil {
					return fmt.Errorf("ethtool -K %s tx off: %v: %s", dev, err, out)
				}
				return nil
			})
		},
	} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
}

// ping sends ICMP echo requests from namespace from to dst until one is
// answered (the first may wait for ARP), for up to ten seconds.
func ping(t *testing.T, from netns.NsHandle, dst string) {
	t.Helper()
	var conn *icmp.PacketConn
	if err := ovstest.In(from, func() (err error) {
		conn, err = icmp.ListenPacket("ip4:icmp", "0.0.0.0")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	id := os.Getpid() & 0xffff
	to := &net.IPAddr{IP: net.ParseIP(dst)}
	buf := make([]byte, 1500)
	for seq := 1; seq <= 20; seq++ {
		msg := icmp.Message{Type: ipv4.ICMPTypeEcho, Body: &icmp.Echo{ID: id, Seq: seq, Data: []byte("gostack")}}
		b, err := msg.Marshal(nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := conn.WriteTo(b, to); err != nil {
			t.Fatal(err)
		}
		conn.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		for {
			n, peer, err := conn.ReadFrom(buf)
			if err != nil {
				break // timed out: send the next one
			}
			m, err := icmp.ParseMessage(1, buf[:n])
			if err != nil || m.Type != ipv4.ICMPTypeEchoReply || peer.String() != dst {
				continue
			}
			if e, ok := m.Body.(*icmp.Echo); ok && e.ID == id && e.Seq == seq {
				return
			}
		}
	}
	t.Fatalf("no answer to ping %s", dst)
}

// tcpTransfer listens on addr in namespace server, which echoes; sends
// size bytes from namespace client and checks they come back.
func tcpTransfer(t *testing.T, server, client netns.NsHandle, addr string, size int) {
	t.Helper()
	var ln net.Listener
	if err := ovstest.In(server, func() (err error) {
		ln, err = net.Listen("tcp", addr)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(20 * time.Second))
		io.Copy(c, c)
	}()
	var conn net.Conn
	if err := ovstest.In(client, func() (err error) {
		conn, err = net.DialTimeout("tcp", addr, 10*time.Second)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	data := bytes.Repeat([]byte("0123456789abcdef"), size/16)
	errc := make(chan error, 1)
	go func() {
		_, err := conn.Write(data)
		conn.(*net.TCPConn).CloseWrite()
		errc <- err
	}()
	got, err := io.ReadAll(conn)
	if err != nil {
		t.Fatalf("read back %d of %d bytes: %v", len(got), len(data), err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("echoed %d bytes, differing from the %d sent", len(got), len(data))
	}
}
