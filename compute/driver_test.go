package compute_test

import (
	"context"
	"errors"
	"testing"

	"github.com/gostack/gostack/compute"
)

// minimal is a driver with only the required operations: what the
// optional helpers say for it is the point of the test.
type minimal struct{ guests map[string]compute.PowerState }

func (m *minimal) Info() compute.DriverInfo { return compute.DriverInfo{Name: "minimal"} }
func (m *minimal) Spawn(_ context.Context, g compute.Guest) error {
	if _, ok := m.guests[g.ID]; !ok {
		m.guests[g.ID] = compute.PowerRunning
	}
	return nil
}
func (m *minimal) Destroy(_ context.Context, id string) error { delete(m.guests, id); return nil }
func (m *minimal) PowerOn(_ context.Context, id string) error {
	m.guests[id] = compute.PowerRunning
	return nil
}
func (m *minimal) PowerOff(_ context.Context, id string, _ bool) error {
	m.guests[id] = compute.PowerShutdown
	return nil
}
func (m *minimal) Reboot(context.Context, string, bool) error { return nil }
func (m *minimal) State(_ context.Context, id string) (compute.PowerState, error) {
	return m.guests[id], nil
}
func (m *minimal) List(context.Context) ([]compute.GuestState, error) {
	var out []compute.GuestState
	for id, p := range m.guests {
		out = append(out, compute.GuestState{ID: id, Power: p})
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

func TestDriverContract(t *testing.T) {
	ctx := context.Background()
	var reg compute.Drivers
	if err := reg.Register("minimal", func(context.Context, map[string]string) (compute.Driver, error) {
		return &minimal{guests: map[string]compute.PowerState{}}, nil
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
	if err := d.Spawn(ctx, compute.Guest{ID: "g1"}); err != nil {
		t.Fatal(err)
	}
	if err := compute.Pause(ctx, d, "g1"); !errors.Is(err, compute.ErrNotSupported) {
		t.Fatalf("pause on a driver without it: %v", err)
	}
	if _, err := compute.ConsoleLog(ctx, d, "g1"); !errors.Is(err, compute.ErrNotSupported) {
		t.Fatalf("console log on a driver without it: %v", err)
	}
	p := &pausing{minimal: minimal{guests: map[string]compute.PowerState{}}}
	if err := compute.Pause(ctx, p, "g1"); err != nil || !p.paused {
		t.Fatalf("pause on a driver with it: %v, paused %v", err, p.paused)
	}
	if err := compute.Suspend(ctx, p, "g1"); !errors.Is(err, compute.ErrNotSupported) {
		t.Fatalf("suspend: %v", err)
	}
}
