package virt_test

import (
	"context"
	"errors"
	"testing"

	"github.com/gostack/gostack/compute/virt"
)

// minimal is a driver with only the required operations: what the
// optional helpers say for it is the point of the test.
type minimal struct{ guests map[string]virt.PowerState }

func (m *minimal) Info() virt.DriverInfo { return virt.DriverInfo{Name: "minimal"} }
func (m *minimal) Spawn(_ context.Context, g virt.Guest) error {
	if _, ok := m.guests[g.ID]; !ok {
		m.guests[g.ID] = virt.PowerRunning
	}
	return nil
}
func (m *minimal) Destroy(_ context.Context, id string) error { delete(m.guests, id); return nil }
func (m *minimal) PowerOn(_ context.Context, id string) error {
	m.guests[id] = virt.PowerRunning
	return nil
}
func (m *minimal) PowerOff(_ context.Context, id string, _ bool) error {
	m.guests[id] = virt.PowerShutdown
	return nil
}
func (m *minimal) Reboot(context.Context, string, bool) error { return nil }
func (m *minimal) State(_ context.Context, id string) (virt.PowerState, error) {
	return m.guests[id], nil
}
func (m *minimal) List(context.Context) ([]virt.GuestState, error) {
	var out []virt.GuestState
	for id, p := range m.guests {
		out = append(out, virt.GuestState{ID: id, Power: p})
	}
	return out, nil
}

// pausing adds one optional ability.
type pausing struct {
	minimal
	paused bool
}

func (p *pausing) Pause(context.Context, string) error   { p.paused = true; return nil }
func (p *pausing) Unpause(context.Context, string) error { p.paused = false; return nil }

// attaching adds volumes.
type attaching struct {
	minimal
	volumes map[string]virt.Disk
}

func (a *attaching) AttachVolume(_ context.Context, _ string, d virt.Disk) error {
	a.volumes[d.VolumeID()] = d
	return nil
}

func (a *attaching) DetachVolume(_ context.Context, _, volumeID string) error {
	delete(a.volumes, volumeID)
	return nil
}

var _ virt.VolumeAttacher = (*attaching)(nil)

func TestDriverContract(t *testing.T) {
	ctx := context.Background()
	var reg virt.Drivers
	if err := reg.Register("minimal", func(context.Context, map[string]string) (virt.Driver, error) {
		return &minimal{guests: map[string]virt.PowerState{}}, nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := reg.Register("minimal", nil); err == nil {
		t.Fatal("a driver registered twice")
	}
	if _, err := reg.Open(ctx, "libvirt", nil); err == nil {
		t.Fatal("an unknown driver opened")
	}
	d, err := reg.Open(ctx, "minimal", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Spawn(ctx, virt.Guest{ID: "g1"}); err != nil {
		t.Fatal(err)
	}
	if err := virt.Pause(ctx, d, "g1"); !errors.Is(err, virt.ErrNotSupported) {
		t.Fatalf("pause on a driver without it: %v", err)
	}
	if _, err := virt.ConsoleLog(ctx, d, "g1"); !errors.Is(err, virt.ErrNotSupported) {
		t.Fatalf("console log on a driver without it: %v", err)
	}
	if err := virt.AttachInterface(ctx, d, "g1", virt.GuestPort{ID: "p1"}); !errors.Is(err, virt.ErrNotSupported) {
		t.Fatalf("attach interface on a driver without it: %v", err)
	}
	if err := virt.DetachInterface(ctx, d, "g1", "p1"); !errors.Is(err, virt.ErrNotSupported) {
		t.Fatalf("detach interface on a driver without it: %v", err)
	}
	if err := virt.AttachVolume(ctx, d, "g1", virt.Disk{Protocol: virt.ProtocolISCSI}); !errors.Is(err, virt.ErrNotSupported) {
		t.Fatalf("attach volume on a driver without it: %v", err)
	}
	if err := virt.DetachVolume(ctx, d, "g1", "v1"); !errors.Is(err, virt.ErrNotSupported) {
		t.Fatalf("detach volume on a driver without it: %v", err)
	}
	a := &attaching{minimal: minimal{guests: map[string]virt.PowerState{}}, volumes: map[string]virt.Disk{}}
	v := virt.Disk{Protocol: virt.ProtocolISCSI, Serial: "v1"}
	if err := virt.AttachVolume(ctx, a, "g1", v); err != nil || a.volumes["v1"].Serial != "v1" {
		t.Fatalf("attach volume on a driver with it: %v, volumes %v", err, a.volumes)
	}
	if err := virt.DetachVolume(ctx, a, "g1", "v1"); err != nil || len(a.volumes) != 0 {
		t.Fatalf("detach volume on a driver with it: %v, volumes %v", err, a.volumes)
	}
	p := &pausing{minimal: minimal{guests: map[string]virt.PowerState{}}}
	if err := virt.Pause(ctx, p, "g1"); err != nil || !p.paused {
		t.Fatalf("pause on a driver with it: %v, paused %v", err, p.paused)
	}
	if err := virt.Suspend(ctx, p, "g1"); !errors.Is(err, virt.ErrNotSupported) {
		t.Fatalf("suspend: %v", err)
	}
}
