package agent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/google/uuid"

	"github.com/gostack/gostack/compute"
	"github.com/gostack/gostack/compute/virt"
)

// worker is a task under way on one instance.
type worker struct {
	task   compute.TaskState
	cancel context.CancelFunc
}

// handled are the task states the agent acts on.
var handled = map[compute.TaskState]bool{
	compute.Spawning: true, compute.Deleting: true,
	compute.PoweringOff: true, compute.PoweringOn: true, compute.Rebooting: true, compute.RebootingHard: true,
	compute.Pausing: true, compute.Unpausing: true, compute.Suspending: true, compute.Resuming: true,
	compute.ImageSnapshotPending: true,
	compute.ResizeMigrating:      true, compute.ResizeFinish: true, compute.ResizeReverting: true,
}

// Sync reads the host's desired state and acts on the difference with
// what the host has: a worker for each instance with a task and none
// under way (a worker whose instance moved on to another task is
// cancelled, and the next Sync starts the new one), the power state of
// instances with no task when their guest's differs, console tails that
// changed, and the removal of guests and directories of instances the
// host no longer has. It returns the feed revision of the state it read.
// Run calls it; it needs Run's context for its workers.
func (a *Agent) Sync(ctx context.Context) (int64, error) {
	start := time.Now()
	a.mu.Lock()
	running := a.ctx != nil
	a.mu.Unlock()
	if !running {
		return 0, errors.New("compute agent: Sync outside Run")
	}
	st, err := a.hostState(ctx)
	if err != nil {
		return 0, err
	}
	a.mu.Lock()
	a.snapshots, a.migrations = st.Snapshots, st.Migrations
	a.mu.Unlock()
	// What a killed agent left on the root disks' cluster goes before
	// any worker starts.
	if a.Config.ImagesType == ImagesRBD && !a.rbdSwept {
		a.rbdSwept = a.sweepRBD(ctx, st.Instances, st.Migrations)
	}
	stats := SyncStats{Revision: st.Revision, Instances: len(st.Instances)}
	want, idle, busy := a.dispatch(st.Instances, &stats)
	guests, err := a.Driver.List(ctx)
	if err != nil {
		return 0, fmt.Errorf("compute agent: list guests: %w", err)
	}
	have := make(map[string]virt.GuestState, len(guests))
	for _, g := range guests {
		have[g.ID] = g
	}
	stats.Power = a.syncPower(ctx, idle, have)
	stats.Consoles = a.syncConsoles(ctx, st.Instances, have)
	stats.Orphans = a.removeOrphans(ctx, want, busy, a.keptHere(), guests)
	a.dropAside(want)
	if a.Config.ImagesType == ImagesRBD {
		a.dropResizeSnapshots(ctx, want, st.Migrations)
	}
	stats.Took = time.Since(start)
	if a.Synced != nil {
		a.Synced(stats)
	}
	first := !a.synced
	a.synced = true
	if first || stats.Started+stats.Cancelled+stats.Power+stats.Orphans > 0 {
		a.log().Info("compute agent: synced", "first", first, "revision", st.Revision, "instances", stats.Instances,
			"guests", len(guests), "started", stats.Started, "cancelled", stats.Cancelled, "power", stats.Power,
			"consoles", stats.Consoles, "orphans", stats.Orphans, "took", stats.Took)
	}
	return st.Revision, nil
}

// dispatch starts the workers of instances with a task and none under
// way, and cancels those whose instance moved on. It returns the
// instances by uuid, those with no task and no worker, and the uuids
// with a worker.
func (a *Agent) dispatch(instances []compute.Instance, stats *SyncStats) (want map[string]compute.Instance, idle []compute.Instance, busy map[string]bool) {
	want = make(map[string]compute.Instance, len(instances))
	busy = map[string]bool{}
	a.mu.Lock()
	a.ports = map[string]string{}
	for _, i := range instances {
		want[i.UUID] = i
		for _, p := range i.Ports {
			a.ports[p.ID] = i.UUID
		}
		w := a.workers[i.UUID]
		switch {
		case w != nil && (w.task == i.TaskState || i.TaskState == compute.NoTask):
			// Under way, or ending: its report is what ended the task
			// (one that ends otherwise gets a 409).
		case w != nil:
			w.cancel() // moved on: it ends without a report and pokes the loop
			stats.Cancelled++
		case i.TaskState == compute.NoTask && (i.PendingPort() != nil || i.PendingVolume() != nil):
			// An interface attach or detach: a worker with no task, which
			// a task coming for the instance cancels.
			a.startLocked(i)
			stats.Started++
		case i.TaskState == compute.NoTask:
			idle = append(idle, i)
		case handled[i.TaskState]:
			a.startLocked(i)
			stats.Started++
		case a.ignored[i.UUID] != i.TaskState:
			a.ignored[i.UUID] = i.TaskState
			a.log().Warn("compute agent: task not supported on this host; left as it is", "instance", i.UUID, "task", i.TaskState)
		}
	}
	for id, w := range a.workers {
		busy[id] = true
		if _, ok := want[id]; !ok {
			w.cancel()
			stats.Cancelled++
		}
	}
	for id, task := range a.ignored {
		if i, ok := want[id]; !ok || i.TaskState != task {
			delete(a.ignored, id) // logged again if it comes back
		}
	}
	a.mu.Unlock()
	return want, idle, busy
}

// startLocked starts the worker of i's task; a.mu is held.
func (a *Agent) startLocked(i compute.Instance) {
	ctx, cancel := context.WithCancel(a.ctx)
	w := &worker{task: i.TaskState, cancel: cancel}
	a.workers[i.UUID] = w
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		defer cancel()
		done := a.do(ctx, i)
		a.mu.Lock()
		if a.workers[i.UUID] == w {
			delete(a.workers, i.UUID)
		}
		a.mu.Unlock()
		if done {
			a.poke() // what the instance is now, and what waited for it
		}
	}()
}

// do runs i's task. It reports false when the task failed unreported:
// the periodic Sync tries again, rather than a poke at once. The guest's
// console is followed meanwhile and for a while after (a boot's lines).
func (a *Agent) do(ctx context.Context, i compute.Instance) bool {
	if i.TaskState != compute.Deleting && i.TaskState != compute.ResizeMigrating {
		a.follow(i.UUID)
		defer a.follow(i.UUID)
	}
	switch i.TaskState {
	case compute.NoTask:
		return a.iface(ctx, i)
	case compute.Spawning:
		return a.build(ctx, i)
	case compute.Deleting:
		return a.delete(ctx, i)
	case compute.ImageSnapshotPending:
		return a.snapshot(ctx, i)
	case compute.ResizeMigrating:
		return a.migrateOut(ctx, i)
	case compute.ResizeFinish:
		return a.migrateIn(ctx, i)
	case compute.ResizeReverting:
		return a.revert(ctx, i)
	default:
		return a.power(ctx, i)
	}
}

// syncPower reports the power state of the idle instances whose guest's
// differs (Nova's _sync_power_states; the controller stops an active
// instance whose guest is off). It returns how many it reported.
func (a *Agent) syncPower(ctx context.Context, idle []compute.Instance, have map[string]virt.GuestState) int {
	n := 0
	for _, i := range idle {
		p := virt.PowerNoState
		if g, ok := have[i.UUID]; ok {
			if g.Unknown {
				continue // read again at the next sync
			}
			p = g.Power
		}
		if p == i.PowerState {
			continue
		}
		err := a.put(ctx, "/instances/"+url.PathEscape(i.UUID)+"/power", map[string]any{"power_state": p})
		if err != nil && !lasting(err) {
			a.log().Warn("compute agent: power state sync", "instance", i.UUID, "err", err)
			continue
		}
		a.log().Info("compute agent: power state synced", "instance", i.UUID, "was", i.PowerState, "now", p)
		n++
	}
	return n
}

// maxConsole is the console tail the controller keeps (64 KiB).
const maxConsole = 64 << 10

// syncConsoles sends the console tail of each instance whose guest's
// changed since it was last sent. It returns how many it sent.
func (a *Agent) syncConsoles(ctx context.Context, instances []compute.Instance, have map[string]virt.GuestState) int {
	n := 0
	for _, i := range instances {
		if _, ok := have[i.UUID]; !ok {
			continue
		}
		sent, err := a.sendConsole(ctx, i.UUID)
		if errors.Is(err, virt.ErrNotSupported) {
			return n
		}
		if sent {
			n++
		}
	}
	return n
}

// sendConsole sends instance id's console tail if it changed since it
// was last sent; it reports whether it sent it.
func (a *Agent) sendConsole(ctx context.Context, id string) (bool, error) {
	b, err := virt.ConsoleLog(ctx, a.Driver, id)
	if err != nil || len(b) == 0 {
		return false, err
	}
	if len(b) > maxConsole {
		b = b[len(b)-maxConsole:]
	}
	d := sha256.Sum256(b)
	sum := hex.EncodeToString(d[:])
	if a.consoleSent(id) == sum {
		return false, nil
	}
	u, err := a.hostURL(ctx, "/instances/"+url.PathEscape(id)+"/console")
	if err != nil {
		return false, err
	}
	resp, err := a.send(ctx, http.MethodPut, u, "text/plain; charset=utf-8", b)
	if status(err) == http.StatusNotFound {
		a.mu.Lock()
		delete(a.following, id) // no longer this host's
		a.mu.Unlock()
		return false, nil
	}
	if err != nil {
		a.log().Warn("compute agent: console tail", "instance", id, "err", err)
		return false, nil
	}
	resp.Body.Close()
	a.setConsoleSent(id, sum)
	return true, nil
}

// followFor is how long after a task the agent sends a guest's console
// tail every second (a boot's lines reach `console log show` as they
// come, not at the next 10 s sync).
const followFor = 90 * time.Second

// follow marks instance id's console to be sent every second for a
// while: its guest was just built, started, rebooted or moved.
func (a *Agent) follow(id string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.following == nil {
		a.following = map[string]time.Time{}
	}
	a.following[id] = time.Now().Add(followFor)
}

// followConsoles sends, every second until ctx ends, the console tails
// of the guests being followed.
func (a *Agent) followConsoles(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := time.Now()
		a.mu.Lock()
		var ids []string
		for id, until := range a.following {
			if now.After(until) {
				delete(a.following, id)
				continue
			}
			ids = append(ids, id)
		}
		a.mu.Unlock()
		for _, id := range ids {
			if _, err := a.sendConsole(ctx, id); errors.Is(err, virt.ErrNotSupported) {
				return
			}
		}
	}
}

// consoleSent is the digest of the tail last sent for id: kept in
// instances/<id>/console.sent so a restarted agent does not send it
// again.
func (a *Agent) consoleSent(id string) string {
	a.mu.Lock()
	sum, ok := a.consoles[id]
	a.mu.Unlock()
	if ok {
		return sum
	}
	b, _ := os.ReadFile(filepath.Join(a.instanceDir(id), "console.sent"))
	a.mu.Lock()
	a.consoles[id] = string(b)
	a.mu.Unlock()
	return string(b)
}

func (a *Agent) setConsoleSent(id, sum string) {
	a.mu.Lock()
	a.consoles[id] = sum
	a.mu.Unlock()
	if _, err := os.Stat(a.instanceDir(id)); err == nil {
		_ = writeFileAtomic(filepath.Join(a.instanceDir(id), "console.sent"), []byte(sum))
	}
}

// removeOrphans destroys the guests the driver runs for this host (both
// drivers list only their own) and removes the instance directories of
// instances the host does not have (deleted while the agent was down)
// and no worker holds. It returns how many it removed.
func (a *Agent) removeOrphans(ctx context.Context, want map[string]compute.Instance, busy, kept map[string]bool, guests []virt.GuestState) int {
	gone := map[string]bool{}
	for _, g := range guests {
		if _, ok := want[g.ID]; !ok && !busy[g.ID] && !kept[g.ID] {
			gone[g.ID] = true
		}
	}
	entries, _ := os.ReadDir(a.instancesDir())
	for _, e := range entries {
		if _, err := uuid.Parse(e.Name()); err != nil || !e.IsDir() {
			continue
		}
		if _, ok := want[e.Name()]; !ok && !busy[e.Name()] && !kept[e.Name()] {
			gone[e.Name()] = true
		}
	}
	n := 0
	for id := range gone {
		if err := a.Driver.Destroy(ctx, id); err != nil {
			a.log().Warn("compute agent: destroy an orphan guest", "guest", id, "err", err)
			continue
		}
		if err := os.RemoveAll(a.instanceDir(id)); err != nil {
			a.log().Warn("compute agent: remove an orphan's files", "guest", id, "err", err)
			continue
		}
		a.mu.Lock()
		delete(a.consoles, id)
		a.mu.Unlock()
		a.log().Warn("compute agent: removed the guest of an instance this host does not have", "guest", id)
		n++
	}
	return n
}
