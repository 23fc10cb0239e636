package compute_test

import (
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/gostack/gostack/compute"
	"github.com/gostack/gostack/compute/scheduler"
	"github.com/gostack/gostack/internal/testenv"
)

// rescheduleEnv is a store with hosts h1 and h2 up and a builder over
// them.
func rescheduleEnv(t *testing.T, dsn string, maxAttempts int) (*novaEnv, *compute.Builder) {
	t.Helper()
	e := newNovaEnv(t, dsn)
	e.s.MaxBuildAttempts = maxAttempts
	e.computeHost(t, "h1", "h2")
	e.reportNode(t, node("h1", uuid.NewString()))
	e.reportNode(t, node("h2", uuid.NewString()))
	sch, err := scheduler.New(scheduler.DefaultConfig(), scheduler.Builtins(), &compute.Claimer{Store: e.s})
	if err != nil {
		t.Fatal(err)
	}
	return e, &compute.Builder{Store: e.s, Scheduler: sch, Host: "conductor"}
}

func (e *novaEnv) newServer(t *testing.T) compute.Instance {
	t.Helper()
	ctx := compute.WithRequester(e.ctx, compute.Requester{RequestID: "req-" + uuid.NewString(), UserID: "alice", ProjectID: "proj-a"})
	i, err := e.s.CreateInstance(ctx, compute.Instance{UUID: uuid.NewString(), ProjectID: "proj-a", UserID: "alice", Name: "vm",
		Flavor: compute.InstanceFlavor{ID: "42", Name: "m1.nano", VCPUs: 1, MemoryMB: 128, RootGB: 1}, ImageRef: uuid.NewString()})
	if err != nil {
		t.Fatal(err)
	}
	return i
}

// placed builds what waits and returns i as it is then.
func (e *novaEnv) placed(t *testing.T, b *compute.Builder, id string) compute.Instance {
	t.Helper()
	if err := b.BuildWaiting(e.ctx); err != nil {
		t.Fatal(err)
	}
	i, err := e.s.Instance(e.ctx, compute.Viewer{Admin: true}, id)
	if err != nil {
		t.Fatal(err)
	}
	return i
}

// fails reports i's build failed on its host.
func (e *novaEnv) fails(t *testing.T, i compute.Instance, msg string, reschedule bool) compute.Instance {
	t.Helper()
	out, err := e.s.ReportInstance(e.ctx, i.Host, i.UUID, compute.InstanceReport{Task: compute.Spawning, VMState: compute.Error,
		Fault: &compute.Fault{Code: 500, Message: msg}, Reschedule: reschedule})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// A build that fails on a host is tried on the other, and when no host
// is left the last host's error is the fault, every failure in its
// details; the create action has a build event per host.
func TestReschedule(t *testing.T) {
	for _, eng := range testenv.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			e, b := rescheduleEnv(t, eng.DSN, 3)
			i := e.newServer(t)
			first := e.placed(t, b, i.UUID)
			if first.Host == "" || first.TaskState != compute.Spawning {
				t.Fatalf("first placement: host %q task %q", first.Host, first.TaskState)
			}
			back := e.fails(t, first, "Build of instance "+i.UUID+" aborted: qemu died on "+first.Host, true)
			if back.Host != "" || back.VMState != compute.Building || back.TaskState != compute.Scheduling || back.Fault != nil {
				t.Fatalf("after a host's failure: host %q vm %q task %q fault %v", back.Host, back.VMState, back.TaskState, back.Fault)
			}
			// The claim on the failed host goes with the next try.
			second := e.placed(t, b, i.UUID)
			if second.Host == "" || second.Host == first.Host || second.TaskState != compute.Spawning {
				t.Fatalf("second placement: host %q (first %q) task %q", second.Host, first.Host, second.TaskState)
			}
			allocs, err := e.s.Consumer(e.ctx, i.UUID)
			if err != nil || len(allocs.Allocations) != 1 {
				t.Fatalf("allocations after the reschedule: %+v %v", allocs, err)
			}
			lastMsg := "Build of instance " + i.UUID + " aborted: qemu died on " + second.Host
			e.fails(t, second, lastMsg, true)
			end := e.placed(t, b, i.UUID)
			if end.VMState != compute.Error || end.Host != "" || end.Fault == nil || end.Fault.Message != lastMsg {
				t.Fatalf("no host left: vm %q host %q fault %+v", end.VMState, end.Host, end.Fault)
			}
			for _, want := range []string{first.Host + ": ", "qemu died on " + first.Host, second.Host + ": ", "No other host was found"} {
				if !strings.Contains(end.Fault.Details, want) {
					t.Errorf("fault details lack %q: %s", want, end.Fault.Details)
				}
			}
			if allocs, err := e.s.Consumer(e.ctx, i.UUID); err != nil || len(allocs.Allocations) != 0 {
				t.Errorf("allocations of the failed build: %+v %v", allocs, err)
			}
			acts, err := e.s.InstanceActions(e.ctx, compute.Viewer{Admin: true}, i.UUID, compute.ActionFilter{})
			if err != nil || len(acts) != 1 {
				t.Fatalf("actions: %+v %v", acts, err)
			}
			a, err := e.s.InstanceAction(e.ctx, compute.Viewer{Admin: true}, i.UUID, acts[0].RequestID, false)
			if err != nil {
				t.Fatal(err)
			}
			builds := map[string]string{}
			for _, ev := range a.Events {
				if ev.Event == compute.EventBuild {
					builds[ev.Host] = ev.Result
				}
			}
			if builds[first.Host] != compute.EventError || builds[second.Host] != compute.EventError || len(builds) != 2 {
				t.Errorf("build events: %v (%+v)", builds, a.Events)
			}
		})
	}
}

// A failure the request is at fault for is not rescheduled, nor is one
// past MaxBuildAttempts; the last says so in its details.
func TestRescheduleLimits(t *testing.T) {
	e, b := rescheduleEnv(t, "sqlite://"+t.TempDir()+"/t.db", 2)
	i := e.placed(t, b, e.newServer(t).UUID)
	if out := e.fails(t, i, "flavor's disk is too small", false); out.VMState != compute.Error || out.Fault.Message != "flavor's disk is too small" {
		t.Fatalf("a failure not rescheduled: %q %+v", out.VMState, out.Fault)
	}

	j := e.placed(t, b, e.newServer(t).UUID)
	j = e.placed(t, b, e.fails(t, j, "first", true).UUID)
	out := e.fails(t, j, "second", true)
	if out.VMState != compute.Error || out.Fault.Message != "second" ||
		!strings.Contains(out.Fault.Details, "Exceeded maximum number of retries") || !strings.Contains(out.Fault.Details, ": first") {
		t.Fatalf("past max attempts: %q %+v", out.VMState, out.Fault)
	}
	// A report after the build moved on (sent twice) changes nothing.
	if _, err := e.s.ReportInstance(e.ctx, j.Host, j.UUID, compute.InstanceReport{Task: compute.Spawning, VMState: compute.Error,
		Fault: &compute.Fault{Message: "again"}, Reschedule: true}); err == nil {
		t.Errorf("a second report of the failed build was taken")
	}
}
