package qemu

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// unplugPoll is how often a detach looks whether the guest has let its
// device go, and unplugRetry how often it asks again.
const (
	unplugPoll  = 100 * time.Millisecond
	unplugRetry = 5 * time.Second
)

// unplug asks the running guest to let a device go (device_del: ACPI
// PCI hot-unplug) and waits until QEMU no longer has it, up to ctx's
// deadline (Config.ShutdownTimeout if it has none). what names the
// device in errors ("NIC", "disk"); live finds it among bus 0's devices
// ("" when QEMU has none). It returns the device's QEMU id ("" when
// QEMU had none: gone already) and whether QEMU itself went meanwhile
// (the guest powered off), taking the device with it. A paused guest,
// which cannot let a device go, is an error at once.
//
// The wait polls query-pci every unplugPoll, a connection each time.
// QMP's DEVICE_DELETED event would say it at once, but an event reaches
// only the connection open when it happens, and holding one for the
// whole wait would shut State and List out (QEMU serves one QMP client
// at a time: see the package doc); the monitor skips events for that
// reason. A poll costs at most unplugPoll. The request is sent again
// every unplugRetry: one that came before the guest's OS could take it
// (a detach right after a start) is lost, QEMU's ACPI hot-plug having
// signalled it to no one.
func (d *Driver) unplug(ctx context.Context, f files, id, what string, live func([]pciDevice) string) (dev string, qemuGone bool, err error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d.cfg.ShutdownTimeout)
		defer cancel()
	}
	err = withMonitor(ctx, f.qmp, func(m *monitor) error {
		devs, err := m.pciDevices(ctx)
		if err != nil {
			return err
		}
		if dev = live(devs); dev == "" {
			return nil
		}
		st, err := m.status(ctx)
		if err != nil {
			return err
		}
		if st != "running" {
			return fmt.Errorf("the guest is %s: it cannot let its %s go until it runs", st, what)
		}
		return askUnplug(ctx, m, dev)
	})
	if err != nil || dev == "" {
		return dev, false, err
	}
	start := time.Now()
	if qemuGone, err = d.waitUnplugged(ctx, f, id, what, dev, live); err != nil || qemuGone {
		return dev, qemuGone, err
	}
	d.log.Info("compute/qemu: the guest let its "+what+" go", "guest", id, "device", dev, "took", time.Since(start))
	return dev, false, nil
}

// waitUnplugged waits until QEMU no longer has device dev, asking the
// guest again every unplugRetry; qemuGone reports that QEMU itself went
// meanwhile (the guest powered off), taking the device with it.
func (d *Driver) waitUnplugged(ctx context.Context, f files, id, what, dev string, live func([]pciDevice) string) (qemuGone bool, err error) {
	start, asked := time.Now(), time.Now()
	var last error
	for {
		var gone bool
		err := withMonitor(ctx, f.qmp, func(m *monitor) error {
			devs, err := m.pciDevices(ctx)
			if err != nil {
				return err
			}
			if gone = live(devs) == ""; gone || time.Since(asked) < unplugRetry {
				return nil
			}
			asked = time.Now()
			return askUnplug(ctx, m, dev)
		})
		switch {
		case err == nil && gone:
			return false, nil
		case err != nil && ctx.Err() == nil:
			if running, rerr := runs(f, id); rerr == nil && !running {
				return true, nil
			}
			last = err
		}
		if ctx.Err() != nil {
			err := fmt.Errorf("the guest did not let its %s go in %v: %w", what, time.Since(start).Round(time.Millisecond), ctx.Err())
			if last != nil {
				err = fmt.Errorf("%w (and: %v)", err, last)
			}
			return false, err
		}
		select {
		case <-ctx.Done():
		case <-time.After(unplugPoll):
		}
	}
}

// runs reports whether the guest's QEMU runs.
func runs(f files, id string) (bool, error) {
	p, err := findProc(f, id)
	if p != nil {
		p.close()
	}
	return p != nil, err
}

// pciDevice is a device of bus 0 as query-pci lists it.
type pciDevice struct {
	Slot   int    `json:"slot"`
	QdevID string `json:"qdev_id"`
}

// pciDevices lists the devices of PCI bus 0, where every device of a
// guest is.
func (m *monitor) pciDevices(ctx context.Context) ([]pciDevice, error) {
	var buses []struct {
		Bus     int         `json:"bus"`
		Devices []pciDevice `json:"devices"`
	}
	if err := m.run(ctx, "query-pci", nil, &buses); err != nil {
		return nil, err
	}
	for _, b := range buses {
		if b.Bus == 0 {
			return b.Devices, nil
		}
	}
	return nil, nil
}

// askUnplug sends device_del for dev. A device gone meanwhile is no
// error, nor is a request QEMU refuses because one stands (some QEMUs
// refuse a second device_del for a few seconds, with the message
// matched here; 7.2's ACPI hot-plug signals the guest again): the
// detach waits for that one as for its own.
func askUnplug(ctx context.Context, m *monitor, dev string) error {
	err := m.run(ctx, "device_del", map[string]any{"id": dev}, nil)
	if qe := (*QMPError)(nil); errors.As(err, &qe) &&
		(qe.Class == "DeviceNotFound" || strings.Contains(qe.Desc, "already in the process of unplug")) {
		return nil
	}
	return err
}
