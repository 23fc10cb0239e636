package compute_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gostack/gostack/compute"
	"github.com/gostack/gostack/internal/testenv"
	"github.com/gostack/gostack/kit/fault"
)

// actionEnv is a Store with a clock that moves a second per read, so
// every action and event has a time of its own.
type actionEnv struct {
	s   *compute.Store
	now time.Time
}

func newActionEnv(t *testing.T, dsn string) *actionEnv {
	s, _, _ := newStore(t, dsn)
	e := &actionEnv{s: s, now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	s.Now = func() time.Time {
		e.now = e.now.Add(time.Second)
		return e.now
	}
	return e
}

var admin = compute.Viewer{Admin: true}

// as is a context of a request of user alice in proj-a.
func as(request string) context.Context {
	return compute.WithRequester(context.Background(), compute.Requester{RequestID: request, UserID: "alice", ProjectID: "proj-a"})
}

func (e *actionEnv) create(t *testing.T, request string) compute.Instance {
	t.Helper()
	i, err := e.s.CreateInstance(as(request), compute.Instance{UUID: uuid.NewString(), ProjectID: "proj-a", UserID: "alice", Name: "vm"})
	if err != nil {
		t.Fatal(err)
	}
	return i
}

func (e *actionEnv) report(t *testing.T, i compute.Instance, r compute.InstanceReport) {
	t.Helper()
	if _, err := e.s.ReportInstance(context.Background(), "h1", i.UUID, r); err != nil {
		t.Fatal(err)
	}
}

func (e *actionEnv) action(t *testing.T, i compute.Instance, request string) compute.InstanceAction {
	t.Helper()
	a, err := e.s.InstanceAction(context.Background(), admin, i.UUID, request, true)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// events renders an action's events as "event host result details"
// lines, newest first.
func events(a compute.InstanceAction) string {
	var out []string
	for _, ev := range a.Events {
		line := ev.Event + " " + ev.Host + " " + ev.Result
		if ev.Details != "" {
			line += " " + ev.Details
		}
		if ev.Result == "" && ev.FinishTime != nil || ev.Result != "" && ev.FinishTime == nil {
			line += " (finish time wrong)"
		}
		out = append(out, line)
	}
	return strings.Join(out, "; ")
}

// A server's life as its actions record it: the create with its build
// event from placement to the host's report, power actions with their
// events ended by the host's reports (a failure an Error that marks the
// action), resetState with no event, the delete ended by the host.
func TestInstanceActions(t *testing.T) {
	for _, eng := range testenv.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			e := newActionEnv(t, eng.DSN)
			ctx := context.Background()
			i := e.create(t, "req-create")
			a := e.action(t, i, "req-create")
			if a.Action != "create" || a.UserID != "alice" || a.ProjectID != "proj-a" || a.InstanceID != i.UUID ||
				!a.StartTime.Equal(i.CreatedAt) || !a.UpdatedAt.Equal(a.StartTime) || a.Message != "" || len(a.Events) != 0 {
				t.Fatalf("create = %+v", a)
			}
			if _, err := e.s.Place(ctx, i.UUID, "h1", "h1", nil); err != nil {
				t.Fatal(err)
			}
			if got := events(e.action(t, i, "req-create")); got != "compute__do_build_and_run_instance h1 " {
				t.Fatalf("placed: %s", got)
			}
			e.report(t, i, compute.InstanceReport{Task: compute.Spawning, VMState: compute.Active, PowerState: compute.PowerRunning})
			a = e.action(t, i, "req-create")
			if got := events(a); got != "compute__do_build_and_run_instance h1 Success" || !a.UpdatedAt.Equal(*a.Events[0].FinishTime) {
				t.Fatalf("built: %s %+v", got, a)
			}

			steps := []struct {
				request, action string
				report          compute.InstanceReport
				want            string // the events
				message         string
			}{
				{"req-stop", "stop", compute.InstanceReport{Task: compute.PoweringOff, VMState: compute.Stopped, PowerState: compute.PowerShutdown},
					"compute_stop_instance h1 Success", ""},
				// The host could not start it: it stays stopped.
				{"req-start-1", "start", compute.InstanceReport{Task: compute.PoweringOn, VMState: compute.Stopped, PowerState: compute.PowerShutdown},
					"compute_start_instance h1 Error Instance " + i.UUID + " was left in vm_state stopped by its host", "Error"},
				{"req-start-2", "start", compute.InstanceReport{Task: compute.PoweringOn, VMState: compute.Active, PowerState: compute.PowerRunning},
					"compute_start_instance h1 Success", ""},
				{"req-reboot", "reboot_hard", compute.InstanceReport{Task: compute.RebootingHard, VMState: compute.Error, PowerState: compute.PowerShutdown,
					Fault: &compute.Fault{Code: 500, Message: "Cannot reboot instance: gone", Details: "qemu exited"}},
					"compute_reboot_instance h1 Error Cannot reboot instance: gone", "Error"},
			}
			for _, st := range steps {
				if _, err := e.s.StartAction(as(st.request), compute.Viewer{Project: "proj-a"}, i.UUID, st.action); err != nil {
					t.Fatalf("%s: %v", st.action, err)
				}
				if got := events(e.action(t, i, st.request)); got != strings.SplitN(st.want, " ", 3)[0]+" h1 " {
					t.Fatalf("%s started: %s", st.action, got)
				}
				e.report(t, i, st.report)
				a := e.action(t, i, st.request)
				if got := events(a); got != st.want || a.Message != st.message || a.UserID != "alice" {
					t.Fatalf("%s: %s, message %q", st.action, got, a.Message)
				}
			}
			if a := e.action(t, i, "req-reboot"); a.Action != "reboot" || a.Events[0].Traceback != "qemu exited" {
				t.Fatalf("reboot: %+v", a)
			}
			// resetState: recorded with no event; vm_state set, task cleared.
			got, err := e.s.ResetState(as("req-reset"), admin, i.UUID, compute.Active)
			if err != nil || got.VMState != compute.Active || got.TaskState != compute.NoTask {
				t.Fatalf("reset: %+v %v", got, err)
			}
			if a := e.action(t, i, "req-reset"); a.Action != "resetState" || len(a.Events) != 0 {
				t.Fatalf("resetState: %+v", a)
			}
			// Delete: the host ends it; the actions stay readable.
			if _, err := e.s.StartAction(as("req-delete"), admin, i.UUID, "delete"); err != nil {
				t.Fatal(err)
			}
			e.report(t, i, compute.InstanceReport{Task: compute.Deleting, Deleted: true})
			if got := events(e.action(t, i, "req-delete")); got != "compute_terminate_instance h1 Success" {
				t.Fatalf("delete: %s", got)
			}
			list, err := e.s.InstanceActions(ctx, compute.Viewer{Project: "proj-a"}, i.UUID, compute.ActionFilter{Deleted: true})
			var names []string
			for _, a := range list {
				names = append(names, a.Action+" "+a.RequestID)
			}
			if err != nil || strings.Join(names, ", ") != "delete req-delete, resetState req-reset, reboot req-reboot, start req-start-2, "+
				"start req-start-1, stop req-stop, create req-create" {
				t.Fatalf("list: %v %v", names, err)
			}
			if _, err := e.s.InstanceActions(ctx, admin, i.UUID, compute.ActionFilter{}); fault.KindOf(err) != fault.NotFound {
				t.Fatalf("a deleted instance's actions before 2.21: %v", err)
			}
		})
	}
}

// Paging by request id (newest first), changes-since and before on
// updated_at, and what nobody may see.
func TestInstanceActionPages(t *testing.T) {
	for _, eng := range testenv.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			e := newActionEnv(t, eng.DSN)
			ctx := context.Background()
			i := e.create(t, "req-0")
			for n := 1; n <= 4; n++ {
				if _, err := e.s.ResetState(as(fmt.Sprintf("req-%d", n)), admin, i.UUID, compute.Error); err != nil {
					t.Fatal(err)
				}
			}
			page := func(f compute.ActionFilter) string {
				t.Helper()
				list, err := e.s.InstanceActions(ctx, compute.Viewer{Project: "proj-a"}, i.UUID, f)
				if err != nil {
					t.Fatal(err)
				}
				var ids []string
				for _, a := range list {
					ids = append(ids, a.RequestID)
				}
				return strings.Join(ids, " ")
			}
			third := e.action(t, i, "req-2").UpdatedAt
			for _, tt := range []struct {
				f    compute.ActionFilter
				want string
			}{
				{compute.ActionFilter{}, "req-4 req-3 req-2 req-1 req-0"},
				{compute.ActionFilter{Limit: 2}, "req-4 req-3"},
				{compute.ActionFilter{Limit: 2, Marker: "req-3"}, "req-2 req-1"},
				{compute.ActionFilter{Marker: "req-1"}, "req-0"},
				{compute.ActionFilter{Marker: "req-0"}, ""},
				{compute.ActionFilter{ChangesSince: third}, "req-4 req-3 req-2"},
				{compute.ActionFilter{ChangesBefore: third}, "req-2 req-1 req-0"},
				{compute.ActionFilter{ChangesSince: third, ChangesBefore: third, Limit: 5}, "req-2"},
			} {
				if got := page(tt.f); got != tt.want {
					t.Errorf("%+v: %q, want %q", tt.f, got, tt.want)
				}
			}
			_, err := e.s.InstanceActions(ctx, admin, i.UUID, compute.ActionFilter{Marker: "req-nope"})
			wantNova(t, err, fault.BadRequest, "MarkerNotFound", "Marker req-nope could not be found.")
			// Another project's instance does not exist for its actions.
			bob := compute.Viewer{Project: "proj-b"}
			_, err = e.s.InstanceActions(ctx, bob, i.UUID, compute.ActionFilter{Deleted: true})
			wantNova(t, err, fault.NotFound, "InstanceNotFound", "Instance "+i.UUID+" could not be found.")
			_, err = e.s.InstanceAction(ctx, bob, i.UUID, "req-0", true)
			wantNova(t, err, fault.NotFound, "InstanceNotFound", "Instance "+i.UUID+" could not be found.")
			_, err = e.s.ResetState(ctx, bob, i.UUID, compute.Active)
			wantNova(t, err, fault.NotFound, "InstanceNotFound", "Instance "+i.UUID+" could not be found.")
			if got, _ := e.s.Instance(ctx, admin, i.UUID); got.VMState != compute.Error {
				t.Fatalf("bob's reset changed it: %+v", got)
			}
			_, err = e.s.InstanceAction(ctx, admin, i.UUID, "req-nope", false)
			wantNova(t, err, fault.NotFound, "InstanceActionNotFound", "Action req-nope not found")
		})
	}
}

// A build that fails before a host has it records the failing step's
// event (Nova's conductor_schedule_and_build_instances) on its create
// action; a delete no host does records no action (Nova's local
// delete); an action asked outside any request gets an id of its own.
func TestInstanceActionFailedBuild(t *testing.T) {
	for _, eng := range testenv.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			e := newActionEnv(t, eng.DSN)
			ctx := context.Background()
			i := e.create(t, "req-create")
			if _, err := e.s.FailBuild(ctx, i.UUID, compute.EventScheduleAndBuild, "controller",
				compute.Fault{Code: 500, Message: "No valid host was found. ", Details: "VCPU: 0 hosts"}); err != nil {
				t.Fatal(err)
			}
			a := e.action(t, i, "req-create")
			if got := events(a); got != "conductor_schedule_and_build_instances controller Error No valid host was found. " ||
				a.Message != "Error" || a.Events[0].Traceback != "VCPU: 0 hosts" {
				t.Fatalf("failed build: %s %+v", got, a)
			}
			if _, err := e.s.StartAction(as("req-delete"), admin, i.UUID, "delete"); err != nil {
				t.Fatal(err)
			}
			if done, err := e.s.DeleteUnplaced(ctx, i.UUID); !done || err != nil {
				t.Fatalf("delete unplaced: %v %v", done, err)
			}
			if _, err := e.s.InstanceAction(ctx, admin, i.UUID, "req-delete", true); fault.KindOf(err) != fault.NotFound {
				t.Fatalf("a local delete recorded: %v", err)
			}

			j, err := e.s.CreateInstance(ctx, compute.Instance{UUID: uuid.NewString(), ProjectID: "proj-a", UserID: "alice"})
			if err != nil {
				t.Fatal(err)
			}
			list, err := e.s.InstanceActions(ctx, admin, j.UUID, compute.ActionFilter{})
			if err != nil || len(list) != 1 || !strings.HasPrefix(list[0].RequestID, "req-") || len(list[0].RequestID) != 40 ||
				list[0].UserID != "" || list[0].ProjectID != "" {
				t.Fatalf("an action outside a request: %+v %v", list, err)
			}
		})
	}
}
