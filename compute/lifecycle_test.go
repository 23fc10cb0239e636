package compute_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/gostack/gostack/compute"
	"github.com/gostack/gostack/internal/testenv"
	"github.com/gostack/gostack/kit/fault"
)

var (
	allVM = []compute.VMState{compute.Active, compute.Building, compute.Paused, compute.Suspended, compute.Stopped, compute.Rescued,
		compute.Resized, compute.SoftDeleted, compute.Deleted, compute.Error, compute.Shelved, compute.ShelvedOffloaded}
	allTask = []compute.TaskState{compute.NoTask, compute.Scheduling, compute.BlockDeviceMapping, compute.Networking, compute.Spawning,
		compute.ImageSnapshotPending, compute.ImageSnapshot, compute.ImageUploading, compute.ImageBackup, compute.UpdatingPassword,
		compute.ResizePrep, compute.ResizeMigrating, compute.ResizeMigrated, compute.ResizeFinish, compute.ResizeReverting,
		compute.ResizeConfirming, compute.Rebooting, compute.RebootPending, compute.RebootStarted, compute.RebootingHard,
		compute.RebootPendingHard, compute.RebootStartedHard, compute.Pausing, compute.Unpausing, compute.Suspending, compute.Resuming,
		compute.PoweringOff, compute.PoweringOn, compute.Rescuing, compute.Unrescuing, compute.Rebuilding, compute.RebuildBlockDevMapping,
		compute.RebuildSpawning, compute.Migrating, compute.Deleting, compute.SoftDeleting, compute.Restoring, compute.Shelving,
		compute.ShelvingOffloading, compute.Unshelving}
)

// Every (vm_state, task_state) pair gives the status Nova's own
// status_from_state gives.
func TestStatusAgainstNova(t *testing.T) {
	testenv.RequirePython(t, "nova.api.openstack.common", "python3-nova")
	var pairs [][2]string
	for _, vm := range allVM {
		for _, task := range allTask {
			pairs = append(pairs, [2]string{string(vm), string(task)})
		}
	}
	got := testenv.PythonJSON(t, "testdata/nova_status.py", pairs)
	if len(got) != len(pairs) {
		t.Fatalf("%d answers for %d pairs", len(got), len(pairs))
	}
	for i, p := range pairs {
		var want string
		if err := json.Unmarshal(got[i], &want); err != nil {
			t.Fatal(err)
		}
		if s := compute.Status(compute.VMState(p[0]), compute.TaskState(p[1])); s != want {
			t.Errorf("vm_state %s, task_state %q: %s, Nova says %s", p[0], p[1], s, want)
		}
	}
}

func TestActionStates(t *testing.T) {
	const id = "0e4f3c7a-0000-4000-8000-000000000001"
	for _, tt := range []struct {
		action   string
		vm       compute.VMState
		task     compute.TaskState
		launched bool
		refusal  string // "" when allowed
	}{
		{"stop", compute.Active, compute.NoTask, true, ""},
		{"stop", compute.Error, compute.NoTask, true, ""},
		{"stop", compute.Stopped, compute.NoTask, true, "Cannot 'stop' instance " + id + " while it is in vm_state stopped"},
		{"stop", compute.Active, compute.Rebooting, true, "Cannot 'stop' instance " + id + " while it is in task_state rebooting"},
		{"start", compute.Stopped, compute.NoTask, true, ""},
		{"start", compute.Active, compute.NoTask, true, "Cannot 'start' instance " + id + " while it is in vm_state active"},
		{"reboot", compute.Stopped, compute.NoTask, true, "Cannot 'reboot' instance " + id + " while it is in vm_state stopped"},
		{"reboot_hard", compute.Stopped, compute.NoTask, true, ""},
		{"reboot_hard", compute.Active, compute.Rebooting, true, ""},
		{"reboot_hard", compute.Active, compute.PoweringOff, true, "Cannot 'reboot' instance " + id + " while it is in task_state powering-off"},
		{"pause", compute.Active, compute.NoTask, false, "Cannot 'pause' instance " + id + " while it is in launched_at None"},
		{"delete", compute.Building, compute.Spawning, false, ""},
		{"delete", compute.Error, compute.Deleting, false, ""},
		{"confirm_resize", compute.Resized, compute.NoTask, true, ""},
		{"unshelve", compute.ShelvedOffloaded, compute.NoTask, true, ""},
		{"resize", compute.Paused, compute.NoTask, true, "Cannot 'resize' instance " + id + " while it is in vm_state paused"},
		{"attach_volume", compute.Shelved, compute.NoTask, true, ""},
	} {
		a, ok := compute.Actions[tt.action]
		if !ok {
			t.Fatalf("no action %s", tt.action)
		}
		err := a.Check(id, tt.vm, tt.task, tt.launched)
		switch {
		case tt.refusal == "" && err != nil:
			t.Errorf("%s from %s/%q: %v", tt.action, tt.vm, tt.task, err)
		case tt.refusal != "" && (fault.KindOf(err) != fault.Conflict || !strings.Contains(err.Error(), tt.refusal)):
			t.Errorf("%s from %s/%q: %v, want 409 %q", tt.action, tt.vm, tt.task, err, tt.refusal)
		}
	}
}
