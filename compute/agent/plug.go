package agent

import (
	"context"
	"fmt"
	"time"

	"github.com/gostack/gostack/compute/virt"
	"github.com/gostack/gostack/network/ovs"
)

// Switch is what Plug needs of the host's Open vSwitch.
type Switch interface {
	EnsurePort(ctx context.Context, bridge string, p ovs.Port) error
	DeletePort(ctx context.Context, bridge, name string) error
}

var _ Switch = (*ovs.Client)(nil)

// vifPoll is how often a plug reads whether its port is ACTIVE: first
// after vifPollMin, then twice as long each time up to vifPoll (the
// network agent plumbs a port in tens of milliseconds; a fixed 500 ms
// was most of a spawn's overhead).
const (
	vifPollMin = 25 * time.Millisecond
	vifPoll    = 500 * time.Millisecond
)

// Plug puts the guest's device dev (its tap) on the integration bridge
// as Nova's os-vif does (external_ids iface-id, attached-mac,
// iface-status, vm-uuid: what the network agent matches), then waits
// until the network service reports the port ACTIVE (Nova's
// vif-plugged event), at most Config.VIFTimeout. It is the driver's
// Config.Plug: the driver calls it before the guest runs, so a guest
// never starts with an unplumbed network. Idempotent.
func (a *Agent) Plug(ctx context.Context, port virt.GuestPort, dev string) error {
	if a.Switch != nil {
		ext := map[string]string{"iface-id": port.ID, "attached-mac": port.MAC, "iface-status": "active"}
		a.mu.Lock()
		if vm := a.ports[port.ID]; vm != "" {
			ext["vm-uuid"] = vm
		}
		a.mu.Unlock()
		// Not cancelled with the build: a cancelled call may return while
		// Open vSwitch still commits it, after the cancelled spawn's
		// clean-up has deleted the port, leaving a port on br-int with no
		// tap (seen once in the crash test). Done, it is undone in order.
		pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		err := a.Switch.EnsurePort(pctx, a.bridge(port), ovs.Port{Name: dev, ExternalIDs: ext})
		cancel()
		if err != nil {
			return fmt.Errorf("compute agent: plug %s: %w", dev, err)
		}
	}
	return a.waitActive(ctx, port.ID)
}

// Unplug takes dev off the bridge: the driver's Config.Unplug.
func (a *Agent) Unplug(ctx context.Context, port virt.GuestPort, dev string) error {
	if a.Switch == nil {
		return nil
	}
	if err := a.Switch.DeletePort(ctx, a.bridge(port), dev); err != nil {
		return fmt.Errorf("compute agent: unplug %s: %w", dev, err)
	}
	return nil
}

func (a *Agent) bridge(p virt.GuestPort) string {
	if p.Bridge != "" {
		return p.Bridge
	}
	if a.Config.Bridge != "" {
		return a.Config.Bridge
	}
	return "br-int"
}

// waitActive reads the host state until port id is ACTIVE, at most
// Config.VIFTimeout; a controller that does not answer meanwhile is
// asked again.
func (a *Agent) waitActive(ctx context.Context, id string) error {
	timeout := a.Config.VIFTimeout
	if timeout <= 0 {
		timeout = 300 * time.Second
	}
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	wait := vifPollMin
	for {
		st, err := a.hostState(ctx)
		if err == nil && st.PortStatus[id] == "ACTIVE" {
			return nil
		}
		if err != nil {
			last = err
		} else {
			last = fmt.Errorf("its status is %q", st.PortStatus[id])
		}
		t := time.NewTimer(wait)
		wait = min(2*wait, vifPoll)
		select {
		case <-ctx.Done():
			t.Stop()
			if parent.Err() != nil {
				return parent.Err()
			}
			return fmt.Errorf("%w: port %s not ACTIVE after %v (%v)", ErrVIFTimeout, id, timeout, last)
		case <-t.C:
		}
	}
}
