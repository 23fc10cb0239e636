package qemu

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/vishvananda/netlink"

	"github.com/gostack/gostack/compute/virt"
)

// tapName is Nova's name for a port's tap: "tap" and the first 11
// characters of the port id (an interface name has at most 15).
func tapName(portID string) string {
	if len(portID) > 11 {
		portID = portID[:11]
	}
	return "tap" + portID
}

// plugPorts makes sure each port's tap exists (persistent, so it
// outlives QEMU), has the port's MTU and is up, then calls Config.Plug.
func (d *Driver) plugPorts(ctx context.Context, ports []virt.GuestPort) error {
	for _, p := range ports {
		name := tapName(p.ID)
		if err := ensureTap(name, p); err != nil {
			return err
		}
		if d.cfg.Plug != nil {
			if err := d.cfg.Plug(ctx, p, name); err != nil {
				return fmt.Errorf("compute/qemu: plug %s: %w", name, err)
			}
		}
	}
	return nil
}

// unplugPorts calls Config.Unplug and deletes each port's tap; it goes
// on past failures and returns them all.
func (d *Driver) unplugPorts(ctx context.Context, ports []virt.GuestPort) error {
	var errs []error
	for _, p := range ports {
		name := tapName(p.ID)
		if d.cfg.Unplug != nil {
			if err := d.cfg.Unplug(ctx, p, name); err != nil {
				errs = append(errs, fmt.Errorf("compute/qemu: unplug %s: %w", name, err))
			}
		}
		if err := deleteTap(name); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func ensureTap(name string, p virt.GuestPort) error {
	link, err := netlink.LinkByName(name)
	var notFound netlink.LinkNotFoundError
	switch {
	case errors.As(err, &notFound):
		tap := &netlink.Tuntap{
			LinkAttrs: netlink.LinkAttrs{Name: name},
			Mode:      netlink.TUNTAP_MODE_TAP,
			// QEMU opens it with its own flags; these only make it.
			Flags: netlink.TUNTAP_NO_PI | netlink.TUNTAP_VNET_HDR,
		}
		if err := netlink.LinkAdd(tap); err != nil {
			return fmt.Errorf("compute/qemu: create tap %s: %w", name, err)
		}
		if link, err = netlink.LinkByName(name); err != nil {
			return fmt.Errorf("compute/qemu: tap %s: %w", name, err)
		}
	case err != nil:
		return fmt.Errorf("compute/qemu: tap %s: %w", name, err)
	case link.Type() != "tuntap":
		return fmt.Errorf("compute/qemu: %s exists and is a %s, not a tap", name, link.Type())
	}
	// The tap's own address is the guest's with fe as its first byte, as
	// libvirt makes it: a bridge never takes it for its own address.
	if mac, err := net.ParseMAC(p.MAC); err == nil && len(mac) == 6 {
		mac[0] = 0xfe
		if link.Attrs().HardwareAddr.String() != mac.String() {
			if err := netlink.LinkSetHardwareAddr(link, mac); err != nil {
				return fmt.Errorf("compute/qemu: tap %s: address: %w", name, err)
			}
		}
	}
	if p.MTU > 0 && link.Attrs().MTU != p.MTU {
		if err := netlink.LinkSetMTU(link, p.MTU); err != nil {
			return fmt.Errorf("compute/qemu: tap %s: mtu %d: %w", name, p.MTU, err)
		}
	}
	if err := netlink.LinkSetUp(link); err != nil {
		return fmt.Errorf("compute/qemu: tap %s: up: %w", name, err)
	}
	return nil
}

func deleteTap(name string) error {
	link, err := netlink.LinkByName(name)
	var notFound netlink.LinkNotFoundError
	if errors.As(err, &notFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("compute/qemu: tap %s: %w", name, err)
	}
	if link.Type() != "tuntap" {
		return nil // not ours
	}
	if err := netlink.LinkDel(link); err != nil {
		return fmt.Errorf("compute/qemu: delete tap %s: %w", name, err)
	}
	return nil
}
