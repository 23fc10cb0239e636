package compute

import (
	"fmt"
	"slices"

	"github.com/gostack/gostack/compute/virt"
	"github.com/gostack/gostack/kit/fault"
)

// VMState is Nova's instance vm_state: where the instance is at rest.
type VMState string

// Nova's vm_states (nova/compute/vm_states.py).
const (
	Active           VMState = "active"
	Building         VMState = "building"
	Paused           VMState = "paused"
	Suspended        VMState = "suspended"
	Stopped          VMState = "stopped"
	Rescued          VMState = "rescued"
	Resized          VMState = "resized"
	SoftDeleted      VMState = "soft-delete"
	Deleted          VMState = "deleted"
	Error            VMState = "error"
	Shelved          VMState = "shelved"
	ShelvedOffloaded VMState = "shelved_offloaded"
)

// TaskState is Nova's task_state: the action under way ("" for none).
type TaskState string

// Nova's task_states (nova/compute/task_states.py), the ones gostack's
// actions set or read.
const (
	NoTask                  TaskState = ""
	Scheduling              TaskState = "scheduling"
	BlockDeviceMapping      TaskState = "block_device_mapping"
	Networking              TaskState = "networking"
	Spawning                TaskState = "spawning"
	ImageSnapshotPending    TaskState = "image_snapshot_pending"
	ImageSnapshot           TaskState = "image_snapshot"
	ImageUploading          TaskState = "image_uploading"
	ImageBackup             TaskState = "image_backup"
	UpdatingPassword        TaskState = "updating_password"
	ResizePrep              TaskState = "resize_prep"
	ResizeMigrating         TaskState = "resize_migrating"
	ResizeMigrated          TaskState = "resize_migrated"
	ResizeFinish            TaskState = "resize_finish"
	ResizeReverting         TaskState = "resize_reverting"
	ResizeConfirming        TaskState = "resize_confirming"
	Rebooting               TaskState = "rebooting"
	RebootPending           TaskState = "reboot_pending"
	RebootStarted           TaskState = "reboot_started"
	RebootingHard           TaskState = "rebooting_hard"
	RebootPendingHard       TaskState = "reboot_pending_hard"
	RebootStartedHard       TaskState = "reboot_started_hard"
	Pausing                 TaskState = "pausing"
	Unpausing               TaskState = "unpausing"
	Suspending              TaskState = "suspending"
	Resuming                TaskState = "resuming"
	PoweringOff             TaskState = "powering-off"
	PoweringOn              TaskState = "powering-on"
	Rescuing                TaskState = "rescuing"
	Unrescuing              TaskState = "unrescuing"
	Rebuilding              TaskState = "rebuilding"
	RebuildBlockDevMapping  TaskState = "rebuild_block_device_mapping"
	RebuildSpawning         TaskState = "rebuild_spawning"
	Migrating               TaskState = "migrating"
	Deleting                TaskState = "deleting"
	SoftDeleting            TaskState = "soft-deleting"
	Restoring               TaskState = "restoring"
	Shelving                TaskState = "shelving"
	ShelvingOffloading      TaskState = "shelving_offloading"
	Unshelving              TaskState = "unshelving"
	ShelvingImageUploading  TaskState = "shelving_image_uploading"
	ShelvingImagePendingUpl TaskState = "shelving_image_pending_upload"
)

// PowerState is the hypervisor's view of a guest, Nova's power_state
// numbers; drivers report it (package compute/virt).
type PowerState = virt.PowerState

// Nova's power states (nova/compute/power_state.py).
const (
	PowerNoState   = virt.PowerNoState
	PowerRunning   = virt.PowerRunning
	PowerPaused    = virt.PowerPaused
	PowerShutdown  = virt.PowerShutdown
	PowerCrashed   = virt.PowerCrashed
	PowerSuspended = virt.PowerSuspended
)

// Status is the API's server status, derived from vm_state and
// task_state as Nova's status_from_state does
// (nova/api/openstack/common.py).
func Status(vm VMState, task TaskState) string {
	switch vm {
	case Active:
		switch task {
		case Rebooting, RebootPending, RebootStarted:
			return "REBOOT"
		case RebootingHard, RebootPendingHard, RebootStartedHard:
			return "HARD_REBOOT"
		case UpdatingPassword:
			return "PASSWORD"
		case Migrating:
			return "MIGRATING"
		}
		if s := rebuildOrResize(task); s != "" {
			return s
		}
		return "ACTIVE"
	case Building:
		return "BUILD"
	case Stopped:
		if s := rebuildOrResize(task); s != "" {
			return s
		}
		return "SHUTOFF"
	case Resized:
		if task == ResizeReverting {
			return "REVERT_RESIZE"
		}
		return "VERIFY_RESIZE"
	case Paused:
		if task == Migrating {
			return "MIGRATING"
		}
		return "PAUSED"
	case Suspended:
		return "SUSPENDED"
	case Rescued:
		return "RESCUE"
	case Error:
		if task == Rebuilding || task == RebuildBlockDevMapping || task == RebuildSpawning {
			return "REBUILD"
		}
		return "ERROR"
	case Deleted:
		return "DELETED"
	case SoftDeleted:
		return "SOFT_DELETED"
	case Shelved:
		return "SHELVED"
	case ShelvedOffloaded:
		return "SHELVED_OFFLOADED"
	}
	return "UNKNOWN"
}

func rebuildOrResize(task TaskState) string {
	switch task {
	case Rebuilding, RebuildBlockDevMapping, RebuildSpawning:
		return "REBUILD"
	case ResizePrep, ResizeMigrating, ResizeMigrated, ResizeFinish:
		return "RESIZE"
	}
	return ""
}

// Action is one thing a server can be asked to do, with the states Nova
// lets it start from (its @check_instance_state) and the task_state it
// sets while it runs.
type Action struct {
	Name string
	// VM are the vm_states it may start from; nil: any.
	VM []VMState
	// Task are the task_states it may start from; nil: any. Nova's
	// default is "no task under way" ([]TaskState{NoTask}).
	Task []TaskState
	// Launched: the instance must have run once (launched_at set).
	Launched bool
	// Sets is the task_state the action puts the instance in.
	Sets TaskState
	// Record is the instance action Nova records it as
	// (nova/compute/instance_actions.py), which os-instance-actions
	// lists.
	Record string
}

var noTask = []TaskState{NoTask}

// Actions are Nova's server actions and their state rules
// (nova/compute/api.py), by the method name Nova's errors use.
var Actions = map[string]Action{
	"delete":             {Name: "delete", Sets: Deleting, Record: "delete"},
	"force_delete":       {Name: "force_delete", Task: nil, Sets: Deleting, Record: "delete"},
	"soft_delete":        {Name: "soft_delete", Launched: true, Sets: SoftDeleting, Record: "delete"},
	"restore":            {Name: "restore", VM: []VMState{SoftDeleted}, Task: noTask, Launched: true, Sets: Restoring, Record: "restore"},
	"stop":               {Name: "stop", VM: []VMState{Active, Error}, Task: noTask, Launched: true, Sets: PoweringOff, Record: "stop"},
	"start":              {Name: "start", VM: []VMState{Stopped}, Task: noTask, Launched: true, Sets: PoweringOn, Record: "start"},
	"reboot":             {Name: "reboot", VM: []VMState{Active}, Task: noTask, Launched: true, Sets: Rebooting, Record: "reboot"},
	"reboot_hard":        {Name: "reboot", VM: []VMState{Active, Stopped, Paused, Suspended, Error}, Task: []TaskState{NoTask, Rebooting, RebootPending, RebootStarted, Resuming, RebootingHard, Unpausing, Pausing, Suspending}, Launched: true, Sets: RebootingHard, Record: "reboot"},
	"pause":              {Name: "pause", VM: []VMState{Active}, Task: noTask, Launched: true, Sets: Pausing, Record: "pause"},
	"unpause":            {Name: "unpause", VM: []VMState{Paused}, Task: noTask, Launched: true, Sets: Unpausing, Record: "unpause"},
	"suspend":            {Name: "suspend", VM: []VMState{Active}, Task: noTask, Launched: true, Sets: Suspending, Record: "suspend"},
	"resume":             {Name: "resume", VM: []VMState{Suspended}, Task: noTask, Launched: true, Sets: Resuming, Record: "resume"},
	"rebuild":            {Name: "rebuild", VM: []VMState{Active, Stopped, Error}, Task: noTask, Launched: true, Sets: Rebuilding, Record: "rebuild"},
	"resize":             {Name: "resize", VM: []VMState{Active, Stopped}, Task: noTask, Launched: true, Sets: ResizePrep, Record: "resize"},
	"confirm_resize":     {Name: "confirm_resize", VM: []VMState{Resized}, Task: noTask, Launched: true, Record: "confirmResize"},
	"revert_resize":      {Name: "revert_resize", VM: []VMState{Resized}, Task: noTask, Launched: true, Sets: ResizeReverting, Record: "revertResize"},
	"rescue":             {Name: "rescue", VM: []VMState{Active, Stopped, Error}, Task: noTask, Launched: true, Sets: Rescuing, Record: "rescue"},
	"unrescue":           {Name: "unrescue", VM: []VMState{Rescued}, Task: noTask, Launched: true, Sets: Unrescuing, Record: "unrescue"},
	"shelve":             {Name: "shelve", VM: []VMState{Active, Stopped, Paused, Suspended}, Task: noTask, Launched: true, Sets: Shelving, Record: "shelve"},
	"shelve_offload":     {Name: "shelve_offload", VM: []VMState{Shelved}, Task: noTask, Launched: true, Sets: ShelvingOffloading, Record: "shelveOffload"},
	"unshelve":           {Name: "unshelve", VM: []VMState{Shelved, ShelvedOffloaded}, Task: noTask, Launched: true, Sets: Unshelving, Record: "unshelve"},
	"snapshot":           {Name: "snapshot", VM: []VMState{Active, Stopped, Paused, Suspended}, Task: noTask, Launched: true, Sets: ImageSnapshotPending, Record: "createImage"},
	"backup":             {Name: "backup", VM: []VMState{Active, Stopped, Paused, Suspended}, Task: noTask, Launched: true, Sets: ImageBackup, Record: "createBackup"},
	"set_admin_password": {Name: "set_admin_password", VM: []VMState{Active}, Task: noTask, Launched: true, Sets: UpdatingPassword, Record: "changePassword"},
	"live_migrate":       {Name: "live_migrate", VM: []VMState{Active, Paused}, Task: noTask, Launched: true, Sets: Migrating, Record: "live-migration"},
	"attach_volume":      {Name: "attach_volume", VM: []VMState{Active, Paused, Stopped, Resized, SoftDeleted, Shelved, ShelvedOffloaded}, Task: noTask, Launched: true, Record: "attach_volume"},
	"detach_volume":      {Name: "detach_volume", VM: []VMState{Active, Paused, Stopped, Resized, SoftDeleted, Shelved, ShelvedOffloaded}, Task: noTask, Launched: true, Record: "detach_volume"},
	"extend_volume":      {Name: "extend_volume", VM: []VMState{Active, Paused, Stopped, Resized, SoftDeleted, Shelved, ShelvedOffloaded}, Task: noTask, Launched: true, Record: "extend_volume"},
	"trigger_crash_dump": {Name: "trigger_crash_dump", VM: []VMState{Active, Paused, Rescued, Resized, Error}, Task: noTask, Launched: true, Record: "trigger_crash_dump"},
}

// Check reports whether action may start on an instance in vm and task
// (launched: it has run once). The refusal is Nova's 409:
// "Cannot 'stop' instance <id> while it is in vm_state stopped".
func (a Action) Check(instance string, vm VMState, task TaskState, launched bool) error {
	attr, state := "", ""
	switch {
	case a.VM != nil && !slices.Contains(a.VM, vm):
		attr, state = "vm_state", string(vm)
	case a.Task != nil && !slices.Contains(a.Task, task):
		attr, state = "task_state", string(task)
		if task == NoTask {
			state = "None"
		}
	case a.Launched && !launched:
		attr, state = "launched_at", "None"
	default:
		return nil
	}
	return &fault.Error{Kind: fault.Conflict, Type: "InstanceInvalidState",
		Message: fmt.Sprintf("Cannot '%s' instance %s while it is in %s %s", a.Name, instance, attr, state)}
}
