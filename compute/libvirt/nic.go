//go:build cgo

package libvirt

import (
	"context"
	"errors"
	"fmt"
	"time"

	"libvirt.org/go/libvirt"
	"libvirt.org/go/libvirtxml"

	"github.com/gostack/gostack/compute/virt"
)

// detachPoll is how often a detach reads whether a running guest has
// let go of a device (a NIC, a disk), and detachRetry how often it asks
// again: a request that came before the guest's OS could take it (a
// detach right after a start) is lost, ACPI hot-plug having signalled
// it to no one.
const (
	detachPoll  = 100 * time.Millisecond
	detachRetry = 5 * time.Second
)

// AttachInterface adds port p's NIC to a guest as Spawn writes it
// (bridgeInterface, in the model of the guest's image): to its
// definition, so it holds across power off and on, and, when the guest
// runs or is paused, to the running guest too (PCI hot-plug). libvirt
// adds the tap to the Open vSwitch bridge with the port id as
// external_ids:iface-id, as at spawn; like Spawn, it does not wait for
// the network service to report the port ACTIVE (the driver has no plug
// hook: the compute agent waits after Spawn and AttachInterface alike).
//
// A port whose NIC the definition has already is left as it is (a
// running guest that lacks it gets it). A suspended guest (managed
// save, or suspended by itself) refuses with ErrPowerState: its saved
// memory describes the devices it had.
func (d *Driver) AttachInterface(ctx context.Context, id string, p virt.GuestPort) error {
	return d.with(ctx, id, func(dom *libvirt.Domain, id string) error {
		g, err := readNICs(dom, id)
		if err != nil {
			return err
		}
		nic, inConfig, err := attachNIC(g.config, g.meta, p)
		if err != nil {
			return err
		}
		var flags libvirt.DomainDeviceModifyFlags
		if !inConfig {
			flags |= libvirt.DOMAIN_DEVICE_MODIFY_CONFIG
		}
		if g.live != nil && portNIC(g.live, p.ID) == nil {
			flags |= libvirt.DOMAIN_DEVICE_MODIFY_LIVE
		}
		if flags == 0 {
			return nil
		}
		if err := g.refuseSuspended("attach port %s to %s", p.ID, id); err != nil {
			return err
		}
		doc, err := nic.Marshal()
		if err != nil {
			return fmt.Errorf("compute/libvirt: guest %s: port %s: %w", id, p.ID, err)
		}
		if err := dom.AttachDeviceFlags(doc, flags); err != nil {
			return wrap(err, "attach port %s to %s", p.ID, id)
		}
		return nil
	})
}

// DetachInterface removes port portID's NIC from a guest; a guest
// without it is left as it is. From a running guest it asks the guest
// to let go (PCI unplug; libvirt waits up to 5 s before it returns) and
// waits until it has, reading the running domain every 100 ms and
// asking again every 5 s, up to ctx's deadline (Config.DetachTimeout
// when ctx has none); only then is the NIC removed from the definition,
// so a guest that does not let go in time keeps it in both, and the call
// returns ErrStillAttached (a cancelled ctx returns its error). The
// guest may still let go later (a request cannot be taken back): the
// NIC is then in the definition alone until the next detach, or attach,
// or start. libvirt takes the tap off the Open vSwitch bridge when QEMU
// releases it. A stopped guest loses the NIC from its definition at
// once; a paused one, which cannot let go until it runs, and a
// suspended one refuse with ErrPowerState.
func (d *Driver) DetachInterface(ctx context.Context, id, portID string) error {
	return d.with(ctx, id, func(dom *libvirt.Domain, id string) error {
		g, err := readNICs(dom, id)
		if err != nil {
			return err
		}
		inConfig := portNIC(g.config, portID)
		var inLive *libvirtxml.DomainInterface
		if g.live != nil {
			inLive = portNIC(g.live, portID)
		}
		if inConfig == nil && inLive == nil {
			return nil
		}
		if err := g.refuseSuspended("detach port %s from %s", portID, id); err != nil {
			return err
		}
		if inLive != nil && g.state == libvirt.DOMAIN_PAUSED {
			return fmt.Errorf("%w: detach port %s from %s, which is paused: it cannot let the NIC go until it runs", ErrPowerState, portID, id)
		}
		if inLive != nil {
			doc, err := inLive.Marshal()
			if err != nil {
				return fmt.Errorf("compute/libvirt: guest %s: port %s: %w", id, portID, err)
			}
			has := func(live *libvirtxml.Domain) bool { return portNIC(live, portID) != nil }
			if err := d.detachLive(ctx, dom, id, "port "+portID+"'s NIC", doc, has); err != nil {
				return err
			}
		}
		if inConfig != nil {
			doc, err := inConfig.Marshal()
			if err != nil {
				return fmt.Errorf("compute/libvirt: guest %s: port %s: %w", id, portID, err)
			}
			if err := dom.DetachDeviceFlags(doc, libvirt.DOMAIN_DEVICE_MODIFY_CONFIG); err != nil {
				return wrap(err, "detach port %s from the definition of %s", portID, id)
			}
		}
		return nil
	})
}

// detachLive asks the running guest to let go of a device (doc, as
// DetachDeviceFlags takes it; libvirt waits a few seconds for it before
// it returns) and waits until the running domain no longer has it (has
// says whether a domain has it) or has stopped, asking again every
// detachRetry, up to ctx's deadline (Config.DetachTimeout when it has
// none): then ErrStillAttached. what names the device in errors.
func (d *Driver) detachLive(ctx context.Context, dom *libvirt.Domain, id, what, doc string, has func(*libvirtxml.Domain) bool) error {
	wait, cancel := ctx, context.CancelFunc(func() {})
	if _, ok := ctx.Deadline(); !ok {
		wait, cancel = context.WithTimeout(ctx, d.cfg.DetachTimeout)
	}
	defer cancel()
	start := time.Now()
	asked := start
	if err := dom.DetachDeviceFlags(doc, libvirt.DOMAIN_DEVICE_MODIFY_LIVE); err != nil {
		// Let go of (or stopped) meanwhile: what was asked is done.
		if gone, gerr := liveGone(dom, has); gerr == nil && gone {
			return nil
		}
		return wrap(err, "detach %s from %s", what, id)
	}
	tick := time.NewTicker(detachPoll)
	defer tick.Stop()
	for {
		gone, err := liveGone(dom, has)
		if err != nil {
			return fmt.Errorf("%w (detaching %s from %s)", err, what, id)
		}
		if gone {
			return nil
		}
		// libvirt's wait is not cut short by ours: no new request that
		// would outlast the deadline.
		if dl, _ := wait.Deadline(); time.Since(asked) >= detachRetry && time.Until(dl) > detachRetry {
			// Asked again; a refusal (a request still pending) changes
			// nothing: the poll says when the device has gone.
			asked = time.Now()
			if err := dom.DetachDeviceFlags(doc, libvirt.DOMAIN_DEVICE_MODIFY_LIVE); err != nil {
				d.cfg.Log.Info("compute/libvirt: detach asked again", "id", id, "device", what, "err", err)
			}
			continue
		}
		select {
		case <-tick.C:
		case <-wait.Done():
			if errors.Is(ctx.Err(), context.Canceled) {
				return ctx.Err()
			}
			return fmt.Errorf("%w: %s is still in %s after %v (kept in its definition)",
				ErrStillAttached, what, id, time.Since(start).Round(time.Millisecond))
		}
	}
}

// liveGone says whether the running domain no longer has a device (has
// says whether a domain has it), or no longer runs.
func liveGone(dom *libvirt.Domain, has func(*libvirtxml.Domain) bool) (bool, error) {
	doc, err := dom.GetXMLDesc(0)
	if err != nil {
		return false, wrap(err, "running domain")
	}
	live, err := parseDomain(doc)
	if err != nil {
		return false, err
	}
	// An inactive domain's description has no id.
	return live.ID == nil || !has(live), nil
}

// guestNICs is what the NIC operations read of a guest.
type guestNICs struct {
	meta   metadata
	config *libvirtxml.Domain // its definition
	live   *libvirtxml.Domain // the running domain; nil when inactive
	state  libvirt.DomainState
	saved  bool // stopped with a managed save image
}

func readNICs(dom *libvirt.Domain, id string) (guestNICs, error) {
	var g guestNICs
	var err error
	if g.meta, err = ours(dom); err != nil {
		return g, fmt.Errorf("%w: %s", err, id)
	}
	if g.state, _, err = dom.GetState(); err != nil {
		return g, wrap(err, "state of %s", id)
	}
	active, err := dom.IsActive()
	if err != nil {
		return g, wrap(err, "state of %s", id)
	}
	doc, err := dom.GetXMLDesc(libvirt.DOMAIN_XML_INACTIVE)
	if err != nil {
		return g, wrap(err, "definition of %s", id)
	}
	if g.config, err = parseDomain(doc); err != nil {
		return g, err
	}
	if !active {
		if g.saved, err = dom.HasManagedSaveImage(0); err != nil {
			return g, wrap(err, "managed save image of %s", id)
		}
		return g, nil
	}
	if doc, err = dom.GetXMLDesc(0); err != nil {
		return g, wrap(err, "running domain %s", id)
	}
	g.live, err = parseDomain(doc)
	return g, err
}

// refuseSuspended is ErrPowerState for a suspended guest: saved by
// libvirt (Suspend) or by itself (ACPI S3).
func (g guestNICs) refuseSuspended(format string, args ...any) error {
	if g.saved || g.state == libvirt.DOMAIN_PMSUSPENDED {
		return fmt.Errorf("%w: %s, which is suspended", ErrPowerState, fmt.Sprintf(format, args...))
	}
	return nil
}
