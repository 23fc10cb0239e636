package agent_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gostack/gostack/compute"
	"github.com/gostack/gostack/compute/agent"
	"github.com/gostack/gostack/compute/virt"
)

// nicDriver is the fake driver with NICs: it keeps each guest's ports,
// and its attaches fail on demand.
type nicDriver struct {
	*fakeDriver
	nmu   sync.Mutex
	nics  map[string][]string  // guest → port ids
	roots map[string]virt.Disk // guest → the root disk it was spawned with
}

func (d *nicDriver) Spawn(ctx context.Context, g virt.Guest) error {
	d.nmu.Lock()
	if d.roots == nil {
		d.roots = map[string]virt.Disk{}
	}
	d.roots[g.ID] = g.Disk
	d.nmu.Unlock()
	return d.fakeDriver.Spawn(ctx, g)
}

func (d *nicDriver) root(id string) virt.Disk {
	d.nmu.Lock()
	defer d.nmu.Unlock()
	return d.roots[id]
}

var _ virt.InterfaceAttacher = (*nicDriver)(nil)

func (d *nicDriver) AttachInterface(_ context.Context, id string, p virt.GuestPort) error {
	if err := d.call("attach "+p.ID, id); err != nil {
		return err
	}
	d.nmu.Lock()
	defer d.nmu.Unlock()
	if !slices.Contains(d.nics[id], p.ID) {
		d.nics[id] = append(d.nics[id], p.ID)
	}
	return nil
}

func (d *nicDriver) DetachInterface(_ context.Context, id, port string) error {
	if err := d.call("detach "+port, id); err != nil {
		return err
	}
	d.nmu.Lock()
	defer d.nmu.Unlock()
	d.nics[id] = slices.DeleteFunc(d.nics[id], func(p string) bool { return p == port })
	return nil
}

func (d *nicDriver) AttachVolume(_ context.Context, id string, v virt.Disk) error {
	if err := d.call("attach volume "+v.Serial, id); err != nil {
		return err
	}
	if v.Protocol != "iscsi" || v.Connection["target_iqn"] == "" {
		return fmt.Errorf("no iscsi target in %v", v)
	}
	d.nmu.Lock()
	defer d.nmu.Unlock()
	if !slices.Contains(d.nics[id], "vol:"+v.Serial) {
		d.nics[id] = append(d.nics[id], "vol:"+v.Serial)
	}
	return nil
}

func (d *nicDriver) DetachVolume(_ context.Context, id, volume string) error {
	if err := d.call("detach volume "+volume, id); err != nil {
		return err
	}
	d.nmu.Lock()
	defer d.nmu.Unlock()
	d.nics[id] = slices.DeleteFunc(d.nics[id], func(p string) bool { return p == "vol:"+volume })
	return nil
}

// fakeVolumes is the block-storage service as the controller uses it:
// attachments connect to an iSCSI target named after their volume.
type fakeVolumes struct {
	mu       sync.Mutex
	state    map[string]string // attachment → reserved, connected, complete, released
	volumeOf map[string]string
}

func (f *fakeVolumes) set(a, st string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.state == nil {
		f.state, f.volumeOf = map[string]string{}, map[string]string{}
	}
	f.state[a] = st
}

func (f *fakeVolumes) get(a string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.state[a]
}

func (f *fakeVolumes) Reserve(_ context.Context, _, volume, _ string) (string, error) {
	a := "att-" + volume
	f.set(a, "reserved")
	return a, nil
}

func (f *fakeVolumes) Connect(_ context.Context, a string, connector map[string]any) (map[string]any, error) {
	if connector["initiator"] == nil {
		return nil, errors.New("no initiator")
	}
	f.set(a, "connected")
	return map[string]any{"driver_volume_type": "iscsi", "data": map[string]any{"target_iqn": "iqn.2010-10.org.openstack:volume-x",
		"target_portal": "127.0.0.1:3260", "target_lun": 1}}, nil
}

func (f *fakeVolumes) Complete(_ context.Context, a string) error    { f.set(a, "complete"); return nil }
func (f *fakeVolumes) Release(_ context.Context, a string) error     { f.set(a, "released"); return nil }
func (f *fakeVolumes) Delete(context.Context, string) error          { return nil }
func (f *fakeVolumes) ReleaseInstance(context.Context, string) error { return nil }

func (f *fakeVolumes) Volume(_ context.Context, _, id string) (compute.VolumeInfo, error) {
	return compute.VolumeInfo{ID: id, Status: "available", Size: 1}, nil
}

func (f *fakeVolumes) SnapshotSize(context.Context, string, string) (int64, error) { return 1, nil }

func (f *fakeVolumes) Create(_ context.Context, _ string, s compute.VolumeSpec) (compute.VolumeInfo, error) {
	return compute.VolumeInfo{ID: s.ID, Status: "available", Size: s.Size}, nil
}

func (d *nicDriver) has(id string) []string {
	d.nmu.Lock()
	defer d.nmu.Unlock()
	return slices.Clone(d.nics[id])
}

// The agent's part of os-interface: a port marked attaching is plugged
// into the guest and reported; an attach the driver fails is undone in
// the guest before its report (the controller takes the port out); a
// detach unplugs the NIC; a detach the guest refuses leaves it attached.
func TestInterfaces(t *testing.T) {
	c := newController(t)
	d := &nicDriver{fakeDriver: newFake(), nics: map[string][]string{}}
	h := c.newHost("cmp1", func(a *agent.Agent) { a.Driver = d })
	h.start()
	c.nets.setStatus("port-1", "ACTIVE")
	c.nets.setStatus("port-2", "ACTIVE")
	i := c.place(h.name, c.guestImage(), []compute.InstancePort{{ID: "port-1", MAC: "fa:16:3e:00:00:01"}}, nil)
	c.waitState(i.UUID, compute.Active, compute.PowerRunning, time.Minute)
	ctx := context.Background()
	settled := func(what string) compute.Instance {
		t.Helper()
		return c.waitFor(i.UUID, what, 30*time.Second, func(i compute.Instance, err error) bool {
			return err == nil && i.PendingPort() == nil && i.PendingVolume() == nil
		})
	}

	if _, err := c.store.AttachPort(ctx, admin, i.UUID, compute.InstancePort{ID: "port-2", MAC: "fa:16:3e:00:00:02"}); err != nil {
		t.Fatal(err)
	}
	got := settled("attached")
	if len(got.Ports) != 2 || !slices.Equal(d.has(i.UUID), []string{"port-2"}) {
		t.Fatalf("attached: ports %+v, guest NICs %v", got.Ports, d.has(i.UUID))
	}

	d.mu.Lock()
	d.failing["attach port-3"] = errors.New("no free PCI slot")
	d.mu.Unlock()
	if _, err := c.store.AttachPort(ctx, admin, i.UUID, compute.InstancePort{ID: "port-3", MAC: "fa:16:3e:00:00:03"}); err != nil {
		t.Fatal(err)
	}
	got = settled("attach failed")
	if len(got.Ports) != 2 || d.called("detach port-3", i.UUID) != 1 {
		t.Fatalf("a failed attach: ports %+v, calls %v", got.Ports, d.calls)
	}

	d.mu.Lock()
	d.failing["detach port-2"] = errors.New("the guest did not release the device")
	d.mu.Unlock()
	if _, err := c.store.DetachPort(ctx, admin, i.UUID, "port-2"); err != nil {
		t.Fatal(err)
	}
	got = settled("detach refused")
	if len(got.Ports) != 2 || !slices.Equal(d.has(i.UUID), []string{"port-2"}) {
		t.Fatalf("a refused detach: ports %+v, guest NICs %v", got.Ports, d.has(i.UUID))
	}
	d.mu.Lock()
	delete(d.failing, "detach port-2")
	d.mu.Unlock()
	if _, err := c.store.DetachPort(ctx, admin, i.UUID, "port-2"); err != nil {
		t.Fatal(err)
	}
	got = settled("detached")
	if len(got.Ports) != 1 || got.Ports[0].ID != "port-1" || len(d.has(i.UUID)) != 0 {
		t.Fatalf("detached: ports %+v, guest NICs %v", got.Ports, d.has(i.UUID))
	}
	if got.VMState != compute.Active || got.TaskState != compute.NoTask {
		t.Fatalf("the server after its interface operations: %s", brief(got))
	}

	// A volume: connected through the controller with this host's
	// connector, attached by the driver, the attachment completed; then
	// detached and released.
	if _, err := c.store.AttachVolume(ctx, admin, i.UUID, compute.InstanceVolume{VolumeID: "vol-1", AttachmentID: "att-vol-1"}); err != nil {
		t.Fatal(err)
	}
	c.vols.set("att-vol-1", "reserved")
	settled("volume attached")
	if !slices.Contains(d.has(i.UUID), "vol:vol-1") || c.vols.get("att-vol-1") != "complete" {
		t.Fatalf("volume attached: guest %v, attachment %s", d.has(i.UUID), c.vols.get("att-vol-1"))
	}
	if _, err := c.store.DetachVolume(ctx, admin, i.UUID, "vol-1"); err != nil {
		t.Fatal(err)
	}
	got = settled("volume detached")
	if slices.Contains(d.has(i.UUID), "vol:vol-1") || c.vols.get("att-vol-1") != "released" || len(got.Volumes) != 0 {
		t.Fatalf("volume detached: guest %v, attachment %s, volumes %+v", d.has(i.UUID), c.vols.get("att-vol-1"), got.Volumes)
	}
}
