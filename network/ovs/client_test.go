package ovs_test

import (
	"errors"
	"maps"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/gostack/gostack/network/ovs"
	"github.com/gostack/gostack/network/ovs/ovstest"
)

// Start twice finds the same daemons; Stop stops them; Start again
// brings them back with the same database.
func TestStartReuseStop(t *testing.T) {
	o := ovstest.Start(t)
	ctx := ctxFor(t)
	srv, ok1 := o.PID("ovsdb-server")
	sw, ok2 := o.PID("ovs-vswitchd")
	if !ok1 || !ok2 {
		t.Fatalf("daemons not running after Start: ovsdb-server %d %v, ovs-vswitchd %d %v", srv, ok1, sw, ok2)
	}
	if o.DB != "unix:"+o.Dir+"/db.sock" {
		t.Errorf("DB = %q", o.DB)
	}
	vsctl(t, o, "add-br", "keep", "--", "set", "bridge", "keep", "datapath_type=netdev")

	d, err := o.Start(ctx, o.Dir)
	if err != nil {
		t.Fatal(err)
	}
	srv2, _ := d.PID("ovsdb-server")
	sw2, _ := d.PID("ovs-vswitchd")
	if srv2 != srv || sw2 != sw {
		t.Errorf("second Start: pids %d %d, want the same %d %d", srv2, sw2, srv, sw)
	}

	if err := d.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	for _, pid := range []int{srv, sw} {
		if gone := syscall.Kill(pid, 0); gone == nil && running(pid) {
			t.Errorf("pid %d still runs after Stop", pid)
		}
	}
	if _, ok := d.PID("ovs-vswitchd"); ok {
		t.Error("PID: ovs-vswitchd still reported running")
	}
	if err := d.Stop(ctx); err != nil {
		t.Errorf("second Stop: %v", err)
	}

	d, err = o.Start(ctx, o.Dir)
	if err != nil {
		t.Fatal(err)
	}
	srv3, _ := d.PID("ovsdb-server")
	if srv3 == srv {
		t.Errorf("Start after Stop kept pid %d", srv)
	}
	if got := vsctl(t, o, "br-exists", "keep"); got != "" {
		t.Errorf("br-exists: %q", got)
	}
	if got := vsctl(t, o, "get", "bridge", "keep", "datapath_type"); got != "netdev" {
		t.Errorf("bridge after restart: datapath_type %q", got)
	}
}

// running reports whether pid runs (a zombie does not).
func running(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(b)
	for i := len(s) - 1; i > 0; i-- {
		if s[i] == ')' && i+2 < len(s) {
			return s[i+2] != 'Z' && s[i+2] != 'X'
		}
	}
	return true
}

func TestBridgesAndPorts(t *testing.T) {
	o := ovstest.Start(t)
	c := connect(t, o)
	ctx := ctxFor(t)

	opts := ovs.BridgeOptions{
		DatapathType: "netdev",
		FailMode:     "secure",
		Protocols:    []string{"OpenFlow10", "OpenFlow15"},
		ExternalIDs:  map[string]string{"bridge-id": "br-int"},
	}
	if err := c.EnsureBridge(ctx, "br-int", opts); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitSwitch(ctx); err != nil {
		t.Fatal(err)
	}
	for col, want := range map[string]string{
		"datapath_type":          "netdev",
		"fail_mode":              "secure",
		"protocols":              "[OpenFlow10, OpenFlow15]",
		"external_ids:bridge-id": "br-int",
	} {
		if got := vsctl(t, o, "get", "Bridge", "br-int", col); got != want {
			t.Errorf("br-int %s = %q, want %q", col, got, want)
		}
	}
	if ifs := c.Interfaces("br-int"); len(ifs) != 1 || ifs[0].Name != "br-int" || ifs[0].Type != "internal" {
		t.Errorf("Interfaces of a new bridge: %+v", ifs)
	}

	t.Run("EnsureBridge when right sends nothing", func(t *testing.T) {
		before := nextCfg(t, o)
		if err := c.EnsureBridge(ctx, "br-int", opts); err != nil {
			t.Fatal(err)
		}
		if after := nextCfg(t, o); after != before {
			t.Errorf("next_cfg %s -> %s: a transaction was sent", before, after)
		}
	})

	t.Run("EnsureBridge updates what differs and keeps other keys", func(t *testing.T) {
		vsctl(t, o, "set", "Bridge", "br-int", "external_ids:other=kept")
		o2 := opts
		o2.FailMode = "standalone"
		o2.ExternalIDs = map[string]string{"bridge-id": "changed"}
		if err := c.EnsureBridge(ctx, "br-int", o2); err != nil {
			t.Fatal(err)
		}
		if got := vsctl(t, o, "get", "Bridge", "br-int", "fail_mode"); got != "standalone" {
			t.Errorf("fail_mode %q", got)
		}
		if got := vsctl(t, o, "get", "Bridge", "br-int", "external_ids"); got != `{bridge-id=changed, other=kept}` {
			t.Errorf("external_ids %s", got)
		}
		if err := c.EnsureBridge(ctx, "br-int", opts); err != nil {
			t.Fatal(err)
		}
	})

	netdevBridge(t, c, "br-tun")

	ports := []struct {
		bridge string
		port   ovs.Port
	}{
		{"br-int", ovs.Port{Name: "tap1", Type: "internal", Tag: 5,
			ExternalIDs: map[string]string{"iface-id": "port-1", "attached-mac": "fa:16:3e:00:00:01"},
			OtherConfig: map[string]string{"net_uuid": "n1", "segmentation_id": "100"}}},
		{"br-int", ovs.Port{Name: "patch-tun", Type: "patch", Options: map[string]string{"peer": "patch-int"}}},
		{"br-tun", ovs.Port{Name: "patch-int", Type: "patch", Options: map[string]string{"peer": "patch-tun"}}},
		{"br-tun", ovs.Port{Name: "vxlan-0a000002", Type: "vxlan", Options: map[string]string{
			"remote_ip": "10.0.0.2", "local_ip": "10.0.0.1", "in_key": "flow", "out_key": "flow", "dst_port": "4790"}}},
	}
	for _, p := range ports {
		if err := c.EnsurePort(ctx, p.bridge, p.port); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range ports {
		port, err := c.WaitOFPort(ctx, p.port.Name)
		if err != nil || port <= 0 {
			t.Errorf("WaitOFPort(%s) = %d, %v", p.port.Name, port, err)
		}
		// A patch port made before its peer carries "No usable peer" until
		// ovs-vswitchd reconfigures with both: wait for that (a CI run
		// under load once saw it last more than 5 s).
		i, ok := findIface(c.Interfaces(p.bridge), p.port.Name)
		for end := time.Now().Add(30 * time.Second); ok && i.Error != "" && time.Now().Before(end); {
			time.Sleep(50 * time.Millisecond)
			i, ok = findIface(c.Interfaces(p.bridge), p.port.Name)
		}
		switch {
		case !ok:
			t.Errorf("%s not in Interfaces(%s)", p.port.Name, p.bridge)
		case i.Bridge != p.bridge || i.Type != p.port.Type || i.Tag != p.port.Tag || i.OFPort != port || i.Error != "":
			t.Errorf("Interfaces: %+v", i)
		case !maps.Equal(i.Options, p.port.Options) || !maps.Equal(i.ExternalIDs, p.port.ExternalIDs):
			t.Errorf("Interfaces: options %v external_ids %v", i.Options, i.ExternalIDs)
		}
	}
	if i, _ := findIface(c.Interfaces(""), "tap1"); i.MAC == "" {
		t.Errorf("tap1 has no mac_in_use: %+v", i)
	}
	if got := vsctl(t, o, "get", "Port", "tap1", "other_config:segmentation_id"); got != "100" {
		t.Errorf("tap1 other_config: %q", got)
	}
	if got := vsctl(t, o, "get", "Interface", "vxlan-0a000002", "options:dst_port"); got != "4790" {
		t.Errorf("vxlan dst_port %q", got)
	}

	t.Run("EnsurePort when right sends nothing", func(t *testing.T) {
		before := nextCfg(t, o)
		for _, p := range ports {
			if err := c.EnsurePort(ctx, p.bridge, p.port); err != nil {
				t.Fatal(err)
			}
		}
		if after := nextCfg(t, o); after != before {
			t.Errorf("next_cfg %s -> %s: a transaction was sent", before, after)
		}
	})

	t.Run("EnsurePort updates options, tag and keys, keeps other keys", func(t *testing.T) {
		vsctl(t, o, "set", "Interface", "tap1", "external_ids:iface-status=active")
		p := ports[0].port
		p.Tag = 7
		p.ExternalIDs = map[string]string{"iface-id": "port-1b"}
		if err := c.EnsurePort(ctx, "br-int", p); err != nil {
			t.Fatal(err)
		}
		if got := vsctl(t, o, "get", "Interface", "tap1", "external_ids"); got != `{attached-mac="fa:16:3e:00:00:01", iface-id=port-1b, iface-status=active}` {
			t.Errorf("tap1 external_ids %s", got)
		}
		if got := vsctl(t, o, "get", "Port", "tap1", "tag"); got != "7" {
			t.Errorf("tag %s", got)
		}
		vx := ports[3].port
		vx.Options = map[string]string{"remote_ip": "10.0.0.3", "local_ip": "10.0.0.1", "key": "flow"}
		if err := c.EnsurePort(ctx, "br-tun", vx); err != nil {
			t.Fatal(err)
		}
		if got := vsctl(t, o, "get", "Interface", "vxlan-0a000002", "options"); got != `{key=flow, local_ip="10.0.0.1", remote_ip="10.0.0.3"}` {
			t.Errorf("vxlan options %s", got)
		}
	})

	t.Run("SetTag", func(t *testing.T) {
		if err := c.SetTag(ctx, "tap1", 9); err != nil {
			t.Fatal(err)
		}
		if got := vsctl(t, o, "get", "Port", "tap1", "tag"); got != "9" {
			t.Errorf("tag %s", got)
		}
		before := nextCfg(t, o)
		if err := c.SetTag(ctx, "tap1", 9); err != nil {
			t.Fatal(err)
		}
		if after := nextCfg(t, o); after != before {
			t.Error("SetTag to the same tag sent a transaction")
		}
		if err := c.SetTag(ctx, "tap1", 0); err != nil {
			t.Fatal(err)
		}
		if got := vsctl(t, o, "get", "Port", "tap1", "tag"); got != "[]" {
			t.Errorf("tag after SetTag 0: %s", got)
		}
		if err := c.SetTag(ctx, "nope", 1); !errors.Is(err, ovs.ErrNoPort) {
			t.Errorf("SetTag of a missing port: %v", err)
		}
	})

	t.Run("SetTags", func(t *testing.T) {
		before := nextCfg(t, o)
		if err := c.SetTags(ctx, map[string]int{"tap1": 7, "patch-tun": 8}); err != nil {
			t.Fatal(err)
		}
		if a, b := vsctl(t, o, "get", "Port", "tap1", "tag"), vsctl(t, o, "get", "Port", "patch-tun", "tag"); a != "7" || b != "8" {
			t.Errorf("tags %s %s", a, b)
		}
		after := nextCfg(t, o)
		if b, _ := strconv.Atoi(before); after != strconv.Itoa(b+1) {
			t.Errorf("next_cfg %s -> %s: not one transaction", before, after)
		}
		if err := c.SetTags(ctx, map[string]int{"tap1": 7, "patch-tun": 8}); err != nil || nextCfg(t, o) != after {
			t.Errorf("the same tags again sent a transaction (%v)", err)
		}
		if err := c.SetTags(ctx, map[string]int{"tap1": 1, "nope": 1}); !errors.Is(err, ovs.ErrNoPort) {
			t.Errorf("SetTags with a missing port: %v", err)
		}
		if got := vsctl(t, o, "get", "Port", "tap1", "tag"); got != "7" {
			t.Errorf("a refused SetTags changed tap1: %s", got)
		}
		if err := c.SetTags(ctx, map[string]int{"tap1": 0, "patch-tun": 0}); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("errors", func(t *testing.T) {
		if err := c.EnsurePort(ctx, "br-tun", ovs.Port{Name: "tap1", Type: "internal"}); !errors.Is(err, ovs.ErrOtherBridge) {
			t.Errorf("EnsurePort of br-int's port on br-tun: %v", err)
		}
		if err := c.EnsurePort(ctx, "br-none", ovs.Port{Name: "x"}); !errors.Is(err, ovs.ErrNoBridge) {
			t.Errorf("EnsurePort on a missing bridge: %v", err)
		}
		// A port whose device does not exist gets an error from
		// ovs-vswitchd, which WaitOFPort reports.
		if err := c.EnsurePort(ctx, "br-int", ovs.Port{Name: "nodev0"}); err != nil {
			t.Fatal(err)
		}
		if port, err := c.WaitOFPort(ctx, "nodev0"); err == nil {
			t.Errorf("WaitOFPort of a missing device: %d", port)
		}
	})

	t.Run("DeletePort and DeleteBridge", func(t *testing.T) {
		for _, name := range []string{"nodev0", "tap1"} {
			if err := c.DeletePort(ctx, "br-int", name); err != nil {
				t.Fatal(err)
			}
		}
		if _, ok := findIface(c.Interfaces("br-int"), "tap1"); ok {
			t.Error("tap1 still in Interfaces")
		}
		if got := vsctl(t, o, "list-ports", "br-int"); got != "patch-tun" {
			t.Errorf("ports of br-int: %q", got)
		}
		if err := c.DeletePort(ctx, "br-int", "tap1"); err != nil {
			t.Errorf("DeletePort of an absent port: %v", err)
		}
		if err := c.DeletePort(ctx, "br-int", "patch-int"); err != nil { // on br-tun
			t.Errorf("DeletePort of another bridge's port: %v", err)
		}
		if got := vsctl(t, o, "list-ports", "br-tun"); got != "patch-int\nvxlan-0a000002" {
			t.Errorf("ports of br-tun: %q", got)
		}
		for _, br := range []string{"br-tun", "br-tun", "br-int"} {
			if err := c.DeleteBridge(ctx, br); err != nil {
				t.Fatal(err)
			}
		}
		if got := vsctl(t, o, "list-br"); got != "" {
			t.Errorf("bridges left: %q", got)
		}
		if ifs := c.Interfaces(""); len(ifs) != 0 {
			t.Errorf("Interfaces after DeleteBridge: %+v", ifs)
		}
	})
}

// Interfaces and Changed see what others do to the database.
func TestChangedBehindTheBack(t *testing.T) {
	o := ovstest.Start(t)
	c := connect(t, o)
	netdevBridge(t, c, "br0")
	drain(c)
	vsctl(t, o, "add-port", "br0", "behind", "--", "set", "Interface", "behind", "type=internal", "external_ids:iface-id=x")
	waitChanged(t, c, "port added by ovs-vsctl", func() bool {
		i, ok := findIface(c.Interfaces("br0"), "behind")
		return ok && i.ExternalIDs["iface-id"] == "x" && i.OFPort > 0
	})
	vsctl(t, o, "set", "Port", "behind", "tag=12")
	waitChanged(t, c, "tag set by ovs-vsctl", func() bool {
		i, _ := findIface(c.Interfaces("br0"), "behind")
		return i.Tag == 12
	})
	vsctl(t, o, "del-port", "br0", "behind")
	waitChanged(t, c, "port deleted by ovs-vsctl", func() bool {
		_, ok := findIface(c.Interfaces("br0"), "behind")
		return !ok
	})
}

// A restarted ovs-vswitchd (which lost every flow and writes nothing new
// to the database) is seen through Changed; a Sync puts the flows back.
func TestSwitchRestartSeen(t *testing.T) {
	o := ovstest.Start(t)
	c := connect(t, o)
	ctx := ctxFor(t)
	netdevBridge(t, c, "br0")
	of := o.OpenFlow("br0")
	want := []ovs.Flow{{Table: 0, Priority: 1, Actions: "NORMAL"}}
	if _, err := of.Sync(ctx, want, owner|1, mask); err != nil {
		t.Fatal(err)
	}
	srv, _ := o.PID("ovsdb-server")
	sw, _ := o.PID("ovs-vswitchd")

	if err := o.StopSwitch(ctx); err != nil {
		t.Fatal(err)
	}
	drain(c)
	d, err := o.Start(ctx, o.Dir)
	if err != nil {
		t.Fatal(err)
	}
	srv2, _ := d.PID("ovsdb-server")
	sw2, _ := d.PID("ovs-vswitchd")
	if srv2 != srv || sw2 == sw || sw2 == 0 {
		t.Errorf("restart: ovsdb-server %d -> %d, ovs-vswitchd %d -> %d", srv, srv2, sw, sw2)
	}
	waitChanged(t, c, "a new ovs-vswitchd", func() bool { return true })
	if err := c.WaitSwitch(ctx); err != nil {
		t.Fatal(err)
	}
	res, err := of.Sync(ctx, want, owner|2, mask)
	if err != nil {
		t.Fatal(err)
	}
	if res.Added != 1 {
		t.Errorf("Sync after the restart: %+v, want the lost flow added", res)
	}
}

// The Client reconnects to a restarted ovsdb-server by itself: meanwhile
// it answers from the last state and refuses writes.
func TestReconnect(t *testing.T) {
	o := ovstest.Start(t)
	c := connect(t, o)
	ctx := ctxFor(t)
	netdevBridge(t, c, "br0")
	if err := c.EnsurePort(ctx, "br0", ovs.Port{Name: "p1", Type: "internal"}); err != nil {
		t.Fatal(err)
	}

	srv, _ := o.PID("ovsdb-server")
	if err := syscall.Kill(srv, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); c.Connected(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("still connected to a stopped ovsdb-server")
		}
	}
	if _, ok := findIface(c.Interfaces("br0"), "p1"); !ok {
		t.Error("Interfaces forgot p1 while disconnected")
	}
	err := c.EnsurePort(ctx, "br0", ovs.Port{Name: "p2", Type: "internal"})
	if !errors.Is(err, ovs.ErrNotConnected) {
		t.Errorf("EnsurePort while disconnected: %v", err)
	}

	drain(c)
	if _, err := o.Start(ctx, o.Dir); err != nil {
		t.Fatal(err)
	}
	waitChanged(t, c, "reconnection", c.Connected)
	if err := c.EnsurePort(ctx, "br0", ovs.Port{Name: "p2", Type: "internal"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.WaitOFPort(ctx, "p2"); err != nil {
		t.Fatal(err)
	}
	if got := vsctl(t, o, "list-ports", "br0"); got != "p1\np2" {
		t.Errorf("ports after reconnection: %q", got)
	}
}
