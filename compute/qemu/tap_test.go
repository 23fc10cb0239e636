package qemu

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/vishvananda/netlink"

	"github.com/gostack/gostack/compute/virt"
	"github.com/gostack/gostack/internal/testenv"
)

func TestTapName(t *testing.T) {
	for _, c := range []struct{ port, want string }{
		{"3f8a2c1e-5b7d-4e0f-9a61-2d4c8b7e6f10", "tap3f8a2c1e-5b"},
		{"short", "tapshort"},
	} {
		if got := tapName(c.port); got != c.want {
			t.Errorf("tapName(%q) = %q, want %q", c.port, got, c.want)
		}
	}
}

// testPort is a port with a fresh id, so its tap name is this test's.
func testPort() virt.GuestPort {
	return virt.GuestPort{
		ID:  uuid.NewString(),
		MAC: fmt.Sprintf("fa:16:3e:%02x:%02x:%02x", rand.IntN(256), rand.IntN(256), rand.IntN(256)),
		MTU: 1400,
	}
}

func tapExists(p virt.GuestPort) bool {
	_, err := netlink.LinkByName(tapName(p.ID))
	return err == nil
}

// requireNetAdmin: creating taps needs root (CAP_NET_ADMIN).
func requireNetAdmin(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		msg := "creating taps needs root"
		if testenv.CI() {
			t.Fatal(msg + " [CI=true: integration tests may not skip]")
		}
		t.Skip(msg)
	}
}

// TestNICs: each port's tap is made with the port's MTU, up, plugged
// before QEMU opens it; QEMU's NIC has the port's MAC; Destroy unplugs
// and deletes the taps.
func TestNICs(t *testing.T) {
	requireNetAdmin(t)
	type call struct{ port, tap string }
	var plugged, unplugged []call
	d := newDriver(t, "", func(c *Config) {
		c.Plug = func(_ context.Context, p virt.GuestPort, tap string) error {
			if _, err := netlink.LinkByName(tap); err != nil {
				return fmt.Errorf("plugged before the tap exists: %w", err)
			}
			plugged = append(plugged, call{p.ID, tap})
			return nil
		}
		c.Unplug = func(_ context.Context, p virt.GuestPort, tap string) error {
			unplugged = append(unplugged, call{p.ID, tap})
			return nil
		}
	})
	g := tinyGuest()
	g.Ports = []virt.GuestPort{testPort(), testPort()}
	g.Ports[1].MTU = 0 // the kernel's default
	spawn(t, d, g)
	waitRunning(t, d, g.ID)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	var want []call
	for _, p := range g.Ports {
		want = append(want, call{p.ID, tapName(p.ID)})
	}
	if !slices.Equal(plugged, want) {
		t.Fatalf("plugged %v, want %v", plugged, want)
	}
	for i, p := range g.Ports {
		l, err := netlink.LinkByName(tapName(p.ID))
		if err != nil {
			t.Fatal(err)
		}
		a := l.Attrs()
		wantMTU := p.MTU
		if wantMTU == 0 {
			wantMTU = 1500
		}
		if l.Type() != "tuntap" || a.MTU != wantMTU || a.Flags&net.FlagUp == 0 || a.HardwareAddr[0] != 0xfe {
			t.Errorf("tap %d: type %s mtu %d flags %v mac %s", i, l.Type(), a.MTU, a.Flags, a.HardwareAddr)
		}
	}
	// QEMU's view of its NICs: one per port, with the port's MAC.
	var filters []struct {
		Name string `json:"name"`
		MAC  string `json:"main-mac"`
	}
	f := guestFiles(d.cfg.StateDir, g.ID)
	if err := withMonitor(ctx, f.qmp, func(m *monitor) error { return m.run(ctx, "query-rx-filter", nil, &filters) }); err != nil {
		t.Fatal(err)
	}
	if len(filters) != 2 || filters[0].MAC != g.Ports[0].MAC || filters[1].MAC != g.Ports[1].MAC {
		t.Fatalf("QEMU's NICs %+v", filters)
	}

	// A restart plugs again (Plug is idempotent); the taps stayed.
	if err := d.PowerOff(ctx, g.ID, false); err != nil {
		t.Fatal(err)
	}
	if !tapExists(g.Ports[0]) {
		t.Fatal("tap deleted by a power off")
	}
	if err := d.PowerOn(ctx, g.ID); err != nil {
		t.Fatal(err)
	}
	if len(plugged) != 4 {
		t.Fatalf("plugged %d times after a restart, want 4", len(plugged))
	}

	if err := d.Destroy(ctx, g.ID); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(unplugged, want) {
		t.Fatalf("unplugged %v, want %v", unplugged, want)
	}
	for _, p := range g.Ports {
		if tapExists(p) {
			t.Fatalf("tap %s left after destroy", tapName(p.ID))
		}
	}
}
