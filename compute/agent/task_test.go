package agent_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gostack/gostack/compute"
	"github.com/gostack/gostack/compute/agent"
	"github.com/gostack/gostack/compute/virt"
)

// fakeDriver is a driver with only the required operations (no pause,
// suspend or console log), whose reboots fail on demand: what the
// agent does around a driver, without guests. A spawn with
// virt.Guest.Stopped is called "spawn stopped" and leaves the guest
// off.
type fakeDriver struct {
	mu           sync.Mutex
	guests       map[string]virt.PowerState
	calls        []string
	failing      map[string]error // operation ("reboot soft", "reboot hard") → its error
	plugsAtStart bool             // Info's PlugsAtStart
}

var _ virt.Driver = (*fakeDriver)(nil)

func newFake() *fakeDriver {
	return &fakeDriver{guests: map[string]virt.PowerState{}, failing: map[string]error{}}
}

func (f *fakeDriver) call(op, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, op+" "+id)
	return f.failing[op]
}

func (f *fakeDriver) called(op, id string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.calls {
		if c == op+" "+id {
			n++
		}
	}
	return n
}

func (f *fakeDriver) set(id string, p virt.PowerState) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.guests[id] = p
}

func (f *fakeDriver) Info() virt.DriverInfo {
	return virt.DriverInfo{Name: "fake", HypervisorType: "fake", HypervisorVersion: 1000, PlugsAtStart: f.plugsAtStart}
}

func (f *fakeDriver) Spawn(_ context.Context, g virt.Guest) error {
	op, p := "spawn", virt.PowerRunning
	if g.Stopped {
		op, p = "spawn stopped", virt.PowerShutdown
	}
	if err := f.call(op, g.ID); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.guests[g.ID]; !ok {
		f.guests[g.ID] = p
	}
	return nil
}

func (f *fakeDriver) Destroy(_ context.Context, id string) error {
	f.call("destroy", id)
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.guests, id)
	return nil
}

func (f *fakeDriver) PowerOn(_ context.Context, id string) error {
	f.call("power on", id)
	f.set(id, virt.PowerRunning)
	return nil
}

func (f *fakeDriver) PowerOff(_ context.Context, id string, _ bool) error {
	f.call("power off", id)
	f.set(id, virt.PowerShutdown)
	return nil
}

func (f *fakeDriver) Reboot(_ context.Context, id string, hard bool) error {
	op := "reboot soft"
	if hard {
		op = "reboot hard"
	}
	if err := f.call(op, id); err != nil {
		return err
	}
	f.set(id, virt.PowerRunning)
	return nil
}

func (f *fakeDriver) State(_ context.Context, id string) (virt.PowerState, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.guests[id], nil
}

func (f *fakeDriver) List(context.Context) ([]virt.GuestState, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []virt.GuestState
	for id, p := range f.guests {
		out = append(out, virt.GuestState{ID: id, Power: p})
	}
	slices.SortFunc(out, func(a, b virt.GuestState) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// fakeHost is a host whose agent drives d.
func (c *controller) fakeHost(d *fakeDriver, mod ...func(*agent.Agent)) *host {
	h := c.newHost("cmp1", append([]func(*agent.Agent){func(a *agent.Agent) { a.Driver = d }}, mod...)...)
	h.start()
	return h
}

// Builds of one image at once share one download.
func TestSharedDownload(t *testing.T) {
	c := newController(t)
	d := newFake()
	var started atomic.Int64
	h := c.fakeHost(d, func(a *agent.Agent) {
		first := a.Synced
		a.Synced = func(s agent.SyncStats) {
			first(s)
			started.Add(int64(s.Started))
		}
	})
	image := c.guestImage()
	c.images.mu.Lock()
	c.images.hold = make(chan struct{})
	c.images.mu.Unlock()
	var ids []string
	for range 3 {
		ids = append(ids, c.place(h.name, image, nil, nil).UUID)
	}
	eventually(t, "three builds waiting for the image", func() bool { return started.Load() == 3 })
	close(c.images.hold)
	for _, id := range ids {
		c.waitState(id, compute.Active, compute.PowerRunning, time.Minute)
	}
	if n := c.images.downloads(image); n != 1 {
		t.Fatalf("%d downloads for 3 builds of one image", n)
	}
}

// What a driver cannot do (pause, suspend) leaves the instance as it
// was, with no task and no fault; a soft reboot that fails becomes a
// hard one; a reboot that fails with the guest not running puts the
// instance in error.
func TestPowerTasks(t *testing.T) {
	c := newController(t)
	d := newFake()
	h := c.fakeHost(d)
	i := c.place(h.name, c.guestImage(), nil, nil)
	c.waitState(i.UUID, compute.Active, compute.PowerRunning, time.Minute)

	for _, action := range []string{"pause", "suspend"} {
		before, _ := c.instance(i.UUID)
		c.action(i.UUID, action)
		got := c.waitFor(i.UUID, "back with no task", 30*time.Second, func(i compute.Instance, err error) bool {
			return err == nil && i.TaskState == compute.NoTask && i.Revision > before.Revision
		})
		if got.VMState != compute.Active || got.Fault != nil || got.PowerState != compute.PowerRunning {
			t.Fatalf("after a %s the driver cannot do: %s", action, brief(got))
		}
	}

	d.mu.Lock()
	d.failing["reboot soft"] = errors.New("the guest ignored the power button")
	d.mu.Unlock()
	c.action(i.UUID, "reboot")
	c.waitState(i.UUID, compute.Active, compute.PowerRunning, 30*time.Second)
	if d.called("reboot soft", i.UUID) != 1 || d.called("reboot hard", i.UUID) != 1 {
		t.Fatalf("a failed soft reboot: %v", d.calls)
	}

	d.mu.Lock()
	d.failing["reboot hard"] = errors.New("no memory left on the host")
	d.mu.Unlock()
	d.set(i.UUID, virt.PowerShutdown)
	c.waitState(i.UUID, compute.Stopped, compute.PowerShutdown, 30*time.Second) // the power sync saw it
	c.action(i.UUID, "reboot_hard")
	got := c.waitFor(i.UUID, "in error", 30*time.Second, func(i compute.Instance, err error) bool {
		return err == nil && i.VMState == compute.Error
	})
	if got.Fault == nil || !strings.Contains(got.Fault.Message, "no memory left on the host") {
		t.Fatalf("a failed reboot of a guest that is off: %s", brief(got))
	}
}

// A delete while the build waits for its port to be ACTIVE cancels the
// build: the instance is deleted at once, not after VIFTimeout.
func TestDeleteDuringBuild(t *testing.T) {
	c := newController(t)
	d := newFake()
	h := c.fakeHost(d, func(a *agent.Agent) { a.Config.VIFTimeout = 5 * time.Minute })
	p := testPort()
	i := c.place(h.name, c.guestImage(), []compute.InstancePort{p}, nil)
	eventually(t, "the guest spawned", func() bool { return d.called("spawn", i.UUID) == 1 })
	time.Sleep(500 * time.Millisecond) // waiting for the port
	start := time.Now()
	c.action(i.UUID, "delete")
	c.waitGone(i.UUID, 30*time.Second)
	t.Logf("deleted %v after the request", time.Since(start).Round(time.Millisecond))
	if st, _ := d.State(context.Background(), i.UUID); st != virt.PowerNoState {
		t.Fatalf("guest left: %d", st)
	}
}
