package qemu

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gostack/gostack/compute/virt"
)

// AttachInterface adds port p's NIC to guest id (Nova's os-interface
// attach): into guest.json, so that every start of the guest has it,
// and, while QEMU runs (running or paused), into the machine now: the
// port's tap is made and handed to Config.Plug as Spawn does, then QMP
// netdev_add and device_add put the NIC in the port's PCI slot (ACPI
// hot-plug). A port the guest has already is nothing, but for a QEMU
// that lacks its NIC: an earlier attach stopped half-way, finished now.
// A suspended guest refuses: its saved memory holds the devices it had.
//
// The order is what makes a crash safe. guest.json is written first:
// an attach cut short after it leaves the port in the definition, so a
// retried attach finishes it (above), a detach removes it, and Destroy
// unplugs it; its tap, made later, is never left out of the definition.
// An attach that fails undoes what it did, the definition last, and
// keeps the port only if QEMU has the NIC after all.
func (d *Driver) AttachInterface(ctx context.Context, id string, p virt.GuestPort) error {
	if err := checkPort(p); err != nil {
		return fmt.Errorf("compute/qemu: attach interface to %s: %w", id, err)
	}
	f, g, unlock, err := d.open(ctx, id)
	if err != nil {
		return err
	}
	defer unlock()
	running, err := runs(f, id)
	if err != nil {
		return err
	}
	if i := portIndex(g, p.ID); i >= 0 {
		if !running {
			return nil
		}
		return d.finishAttach(ctx, f, id, g.Ports[i], g.Slots[p.ID])
	}
	if !running && exists(f.state) {
		return fmt.Errorf("compute/qemu: attach interface %s to %s: %w", p.ID, id, ErrSuspended)
	}
	g.Ports = append(g.Ports, p)
	if err := g.fillSlots(); err != nil {
		return err
	}
	slot := g.Slots[p.ID]
	if err := saveGuest(f, g); err != nil {
		return err
	}
	start := time.Now()
	err = d.plugPorts(ctx, []virt.GuestPort{p})
	if err == nil && running {
		err = withMonitor(ctx, f.qmp, func(m *monitor) error { return m.addNIC(ctx, p, slot) })
	}
	if err != nil {
		d.undoAttach(ctx, f, g, p, slot, running)
		return fmt.Errorf("compute/qemu: attach interface %s to %s: %w", p.ID, id, err)
	}
	d.log.Info("compute/qemu: interface attached", "guest", id, "port", p.ID, "slot", slot, "live", running, "took", time.Since(start))
	return nil
}

// finishAttach gives a running QEMU the NIC of a port its definition
// has, if it lacks it.
func (d *Driver) finishAttach(ctx context.Context, f files, id string, p virt.GuestPort, slot int) error {
	var live bool
	err := withMonitor(ctx, f.qmp, func(m *monitor) error {
		devs, err := m.pciDevices(ctx)
		live = liveNIC(devs, p, slot) != ""
		return err
	})
	if err != nil || live {
		return err
	}
	if err := d.plugPorts(ctx, []virt.GuestPort{p}); err != nil {
		return err
	}
	if err := withMonitor(ctx, f.qmp, func(m *monitor) error { return m.addNIC(ctx, p, slot) }); err != nil {
		return fmt.Errorf("compute/qemu: attach interface %s: %w", p.ID, err)
	}
	d.log.Info("compute/qemu: finished an interface attach that stopped half-way", "guest", id, "port", p.ID, "slot", slot)
	return nil
}

// undoAttach takes a failed attach's port away again: out of QEMU (its
// netdev; a NIC QEMU has after all keeps the port attached, as does a
// QEMU that does not answer), then unplugged, then out of guest.json.
// It has forceBudget of its own, whatever is left of ctx.
func (d *Driver) undoAttach(ctx context.Context, f files, g *definition, p virt.GuestPort, slot int, running bool) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), forceBudget)
	defer cancel()
	if running {
		var live bool
		err := withMonitor(ctx, f.qmp, func(m *monitor) error {
			devs, err := m.pciDevices(ctx)
			if err != nil {
				return err
			}
			if live = liveNIC(devs, p, slot) != ""; live {
				return nil
			}
			return m.delNetdev(ctx, nicID(p.ID))
		})
		if err != nil || live {
			d.log.Warn("compute/qemu: a failed attach's NIC may be in QEMU: the port stays attached", "guest", g.ID, "port", p.ID, "live", live, "err", err)
			return
		}
	}
	if err := d.unplugPorts(ctx, []virt.GuestPort{p}); err != nil {
		d.log.Warn("compute/qemu: undo of a failed attach", "guest", g.ID, "port", p.ID, "err", err)
		return
	}
	g.Ports = slices.DeleteFunc(g.Ports, func(q virt.GuestPort) bool { return q.ID == p.ID })
	delete(g.Slots, p.ID)
	if err := saveGuest(f, g); err != nil {
		d.log.Warn("compute/qemu: undo of a failed attach", "guest", g.ID, "port", p.ID, "err", err)
	}
}

// DetachInterface takes port portID's NIC away from guest id (Nova's
// os-interface detach). While QEMU runs, device_del asks the guest to
// let the NIC go (ACPI), and the detach waits for it until ctx's
// deadline (Config.ShutdownTimeout if it has none); a guest that does
// not, or a paused one, which cannot, is an error that leaves the NIC
// and the port as they were. Then the netdev goes, the port is
// unplugged (Config.Unplug, its tap deleted) and, last, taken out of
// guest.json: a detach cut short anywhere leaves the port in the
// definition, and a retried detach finishes it. A port the guest does
// not have is nothing; a suspended guest refuses.
//
// A guest that missed the deadline may still let the NIC go later
// (QEMU cannot take a request to the guest back); the port is then in
// guest.json without its NIC in the machine until the next detach (or
// attach, which puts the NIC back) or start.
func (d *Driver) DetachInterface(ctx context.Context, id, portID string) error {
	f, g, unlock, err := d.open(ctx, id)
	if err != nil {
		return err
	}
	defer unlock()
	i := portIndex(g, portID)
	if i < 0 {
		return nil
	}
	p, slot := g.Ports[i], g.Slots[portID]
	running, err := runs(f, id)
	if err != nil {
		return err
	}
	if !running && exists(f.state) {
		return fmt.Errorf("compute/qemu: detach interface %s from %s: %w", portID, id, ErrSuspended)
	}
	start := time.Now()
	if running {
		if err := d.removeNIC(ctx, f, id, p, slot); err != nil {
			return fmt.Errorf("compute/qemu: detach interface %s from %s: %w", portID, id, err)
		}
	}
	if err := d.unplugPorts(ctx, []virt.GuestPort{p}); err != nil {
		return err
	}
	g.Ports = slices.Delete(g.Ports, i, i+1)
	delete(g.Slots, portID)
	if err := saveGuest(f, g); err != nil {
		return err
	}
	d.log.Info("compute/qemu: interface detached", "guest", id, "port", portID, "live", running, "took", time.Since(start))
	return nil
}

// removeNIC asks the guest to let p's NIC go, waits until QEMU no
// longer has it (unplug), and deletes its netdev.
func (d *Driver) removeNIC(ctx context.Context, f files, id string, p virt.GuestPort, slot int) error {
	dev, qemuGone, err := d.unplug(ctx, f, id, "NIC", func(devs []pciDevice) string { return liveNIC(devs, p, slot) })
	if err != nil || qemuGone {
		return err
	}
	if dev == "" {
		// Gone already (an earlier detach's guest let it go): its netdev
		// may be left.
		dev = nicID(p.ID)
	}
	// The NIC's netdev has its id (see liveNIC).
	return withMonitor(ctx, f.qmp, func(m *monitor) error { return m.delNetdev(ctx, dev) })
}

func portIndex(g *definition, portID string) int {
	return slices.IndexFunc(g.Ports, func(p virt.GuestPort) bool { return p.ID == portID })
}

// liveNIC is the QEMU id of port p's NIC among devs, "" if QEMU has
// none: the NIC named for the port, or, in the port's slot, a NIC named
// by its position (net0, net1...), as the driver named boot NICs before
// NICs could come and go; their netdevs have the same ids.
func liveNIC(devs []pciDevice, p virt.GuestPort, slot int) string {
	for _, dev := range devs {
		if dev.QdevID == nicID(p.ID) {
			return dev.QdevID
		}
	}
	for _, dev := range devs {
		if n, ok := strings.CutPrefix(dev.QdevID, "net"); ok && dev.Slot == slot && n != "" && strings.Trim(n, "0123456789") == "" {
			return dev.QdevID
		}
	}
	return ""
}

// addNIC hot-plugs p's NIC into slot: its netdev (one an earlier attach
// left, which holds the tap open, is replaced), then the device. A
// device QEMU refuses takes its netdev with it.
func (m *monitor) addNIC(ctx context.Context, p virt.GuestPort, slot int) error {
	if err := m.delNetdev(ctx, nicID(p.ID)); err != nil {
		return err
	}
	if err := m.run(ctx, "netdev_add", netdev(p), nil); err != nil {
		return err
	}
	if err := m.run(ctx, "device_add", nic(p, slot), nil); err != nil {
		if !m.broken {
			if derr := m.delNetdev(ctx, nicID(p.ID)); derr != nil {
				return errors.Join(err, derr)
			}
		}
		return err
	}
	return nil
}

// delNetdev deletes a netdev; one QEMU does not have is nothing.
func (m *monitor) delNetdev(ctx context.Context, id string) error {
	err := m.run(ctx, "netdev_del", map[string]any{"id": id}, nil)
	if qe := (*QMPError)(nil); errors.As(err, &qe) && qe.Class == "DeviceNotFound" {
		return nil
	}
	return err
}
