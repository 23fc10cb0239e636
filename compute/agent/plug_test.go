package agent_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/vishvananda/netlink"

	"github.com/gostack/gostack/compute"
	"github.com/gostack/gostack/compute/agent"
	"github.com/gostack/gostack/network/ovs"
	"github.com/gostack/gostack/network/ovs/ovstest"
)

// A port is plugged as Nova's os-vif plugs it — the tap on br-int with
// external_ids iface-id, attached-mac, iface-status and vm-uuid — and
// the guest starts only once the network service says the port is
// ACTIVE (Nova's vif-plugged wait); a port that never becomes ACTIVE
// fails the build after VIFTimeout and leaves no guest, tap or switch
// port. The switch is a private Open vSwitch (the taps are in the
// test's namespace, not the switch's, so it cannot attach them: only
// its database is checked); the port statuses are the test's.
func TestPortPlugged(t *testing.T) {
	o := ovstest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	sw, err := ovs.Connect(ctx, o.DB)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sw.Close)
	if err := sw.EnsureBridge(ctx, "br-int", ovs.BridgeOptions{DatapathType: "netdev", FailMode: "secure"}); err != nil {
		t.Fatal(err)
	}
	c := newController(t)
	vifTimeout := 4 * time.Second
	h := c.newHost("cmp1", func(a *agent.Agent) {
		a.Switch = sw
		a.Config.VIFTimeout = vifTimeout
	})
	h.start()
	image := c.guestImage()

	t.Run("never ACTIVE", func(t *testing.T) {
		p := testPort()
		i := c.place(h.name, image, []compute.InstancePort{p}, nil)
		got := c.waitFor(i.UUID, "in error", time.Minute, func(i compute.Instance, err error) bool {
			return err == nil && i.VMState == compute.Error
		})
		if got.Fault == nil || !strings.Contains(got.Fault.Message, "virtual interface creation failed") {
			t.Fatalf("instance %s", brief(got))
		}
		t.Logf("fault: %s", got.Fault.Message)
		if ifc, ok := switchPort(sw, p); ok {
			t.Errorf("switch port left: %+v", ifc)
		}
		if tapExists(p) {
			t.Error("tap left")
		}
		if _, err := os.Stat(filepath.Join(h.qemuDir, i.UUID)); !os.IsNotExist(err) {
			t.Errorf("guest left (%v)", err)
		}
	})

	t.Run("plugged, then ACTIVE", func(t *testing.T) {
		h.stop()
		vifTimeout = 3 * time.Minute
		h.start()
		p := testPort()
		start := time.Now()
		i := c.place(h.name, image, []compute.InstancePort{p}, nil)
		var ifc ovs.Interface
		eventually(t, "the switch port", func() bool {
			var ok bool
			ifc, ok = switchPort(sw, p)
			return ok
		})
		want := map[string]string{"iface-id": p.ID, "attached-mac": p.MAC, "iface-status": "active", "vm-uuid": i.UUID}
		for k, v := range want {
			if ifc.ExternalIDs[k] != v {
				t.Errorf("external_ids %v, want %v", ifc.ExternalIDs, want)
				break
			}
		}
		if !tapExists(p) {
			t.Error("no tap for a plugged port")
		}
		time.Sleep(time.Second)
		if pid := qemuPid(h.qemuDir, i.UUID); pid != 0 {
			t.Fatalf("QEMU %d runs before the port is ACTIVE", pid)
		}
		if got, _ := c.instance(i.UUID); got.TaskState != compute.Spawning {
			t.Fatalf("instance %s before the port is ACTIVE", brief(got))
		}
		c.nets.setStatus(p.ID, "ACTIVE")
		c.waitState(i.UUID, compute.Active, compute.PowerRunning, boot)
		t.Logf("placed to ACTIVE with a port (1 s of it waiting for ACTIVE): %v", time.Since(start).Round(10*time.Millisecond))

		c.action(i.UUID, "delete")
		c.waitGone(i.UUID, time.Minute)
		if ifc, ok := switchPort(sw, p); ok {
			t.Errorf("switch port left after the delete: %+v", ifc)
		}
		if tapExists(p) {
			t.Error("tap left after the delete")
		}
	})
}

// testPort is a port with a fresh id (its tap name is this test's).
func testPort() compute.InstancePort {
	return compute.InstancePort{ID: uuid.NewString(), NetworkID: uuid.NewString(), Network: "net",
		MAC: fmt.Sprintf("fa:16:3e:%02x:%02x:%02x", rand.IntN(256), rand.IntN(256), rand.IntN(256)), MTU: 1450}
}

func tapName(p compute.InstancePort) string { return "tap" + p.ID[:11] }

func tapExists(p compute.InstancePort) bool {
	_, err := netlink.LinkByName(tapName(p))
	return err == nil
}

// switchPort is the interface of p's tap on br-int.
func switchPort(sw *ovs.Client, p compute.InstancePort) (ovs.Interface, bool) {
	for _, ifc := range sw.Interfaces("br-int") {
		if ifc.Name == tapName(p) {
			return ifc, true
		}
	}
	return ovs.Interface{}, false
}
