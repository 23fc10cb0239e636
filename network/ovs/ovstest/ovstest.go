// Package ovstest starts a private Open vSwitch for a test, in a network
// namespace of its own, and removes it when the test ends.
//
// The namespace is not decoration: ovs-vswitchd's userspace datapath
// makes a tap device named ovs-netdev, and its bridges' internal ports
// are tap devices named after them, in the namespace it runs in. A second
// instance in the same namespace (another test package running at the
// same time, or the host's own Open vSwitch with a netdev bridge) fails
// to open its datapath ("ovs-netdev: creating tap device failed: Device
// or resource busy"). In a namespace of its own every test has its own
// datapath, and deleting the namespace removes every device it made.
//
// Ports of type "" (system) must be devices in that namespace: create a
// veth pair there (netlink.NewHandleAt(NS)) and move one end out.
package ovstest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/gostack/gostack/network/ovs"
)

// OVS is a private Open vSwitch running in its own network namespace.
type OVS struct {
	*ovs.Daemons
	NS     netns.NsHandle // where ovs-vswitchd and its devices live
	NSName string         // its name: ip netns exec NSName ...
}

// Programs is what a test needs installed (Debian: openvswitch-switch).
var Programs = []string{"ovsdb-tool", "ovsdb-server", "ovs-vswitchd", "ovs-vsctl", "ovs-ofctl", "ovs-appctl"}

// Require skips the test when Open vSwitch is not installed or the test
// does not run as root (network namespaces and tap devices need it),
// and fails it instead in CI (CI=true), where both are expected.
func Require(t testing.TB) {
	t.Helper()
	skip := t.Skipf
	if os.Getenv("CI") == "true" {
		skip = t.Fatalf
	}
	for _, p := range Programs {
		if _, err := exec.LookPath(p); err != nil {
			skip("Open vSwitch is not installed (%s: %v): apt-get install openvswitch-switch", p, err)
		}
	}
	if os.Geteuid() != 0 {
		skip("needs root: network namespaces and tap devices")
	}
}

var seq atomic.Int32

// Start starts ovsdb-server and ovs-vswitchd (userspace datapath) in a
// new network namespace with a run directory under /tmp (short enough
// for unix socket paths). At the end of the test both are stopped and
// the namespace and the directory removed.
func Start(t testing.TB) *OVS {
	t.Helper()
	Require(t)
	dir, err := os.MkdirTemp("/tmp", "ovs")
	if err != nil {
		t.Fatal(err)
	}
	o := &OVS{NSName: fmt.Sprintf("ovst-%d-%d", os.Getpid(), seq.Add(1))}
	t.Cleanup(func() { os.RemoveAll(dir) })
	o.NS, err = NewNS(o.NSName)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		o.NS.Close()
		netns.DeleteNamed(o.NSName)
	})
	if err := o.In(func() error {
		lo, err := netlink.LinkByName("lo")
		if err != nil {
			return err
		}
		return netlink.LinkSetUp(lo)
	}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	d, err := o.Start(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	o.Daemons = d
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := d.Stop(ctx); err != nil {
			t.Errorf("stop Open vSwitch: %v", err)
		}
	})
	return o
}

// Start runs ovs.Start(ctx, dir) in the namespace, so that a daemon it
// (re)starts runs there.
func (o *OVS) Start(ctx context.Context, dir string) (*ovs.Daemons, error) {
	var d *ovs.Daemons
	err := o.In(func() (err error) {
		d, err = ovs.Start(ctx, dir)
		return err
	})
	return d, err
}

// In runs fn on an OS thread in the namespace (programs it starts run
// there too; sockets it opens stay there).
func (o *OVS) In(fn func() error) error { return In(o.NS, fn) }

// In runs fn on an OS thread in the namespace ns.
func In(ns netns.NsHandle, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // not unlocked on failure: the thread then dies with us
		orig, err := netns.Get()
		if err != nil {
			errc <- err
			return
		}
		defer orig.Close()
		if err := netns.Set(ns); err != nil {
			errc <- err
			return
		}
		ferr := fn()
		if err := netns.Set(orig); err != nil {
			errc <- err
			return
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}

// NewNS creates the named network namespace name (under /run/netns) and
// returns a handle to it, leaving the caller's namespace as it was. The
// caller deletes it (netns.DeleteNamed) and closes the handle.
func NewNS(name string) (netns.NsHandle, error) {
	type result struct {
		h   netns.NsHandle
		err error
	}
	c := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			c <- result{err: err}
			return
		}
		defer orig.Close()
		h, err := netns.NewNamed(name) // moves this thread into it
		if err != nil {
			c <- result{err: fmt.Errorf("new netns %s: %w", name, err)}
			return
		}
		if err := netns.Set(orig); err != nil {
			c <- result{h: h, err: err}
			return
		}
		runtime.UnlockOSThread()
		c <- result{h: h}
	}()
	r := <-c
	return r.h, r.err
}
