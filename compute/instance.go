package compute

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
)

// Instance is a Nova server: what was asked for (flavor, image, ports,
// user data) and where it stands (host, vm_state, task_state,
// power_state, fault).
type Instance struct {
	UUID        string         `json:"uuid"`
	ProjectID   string         `json:"project_id"`
	UserID      string         `json:"user_id"`
	Name        string         `json:"name"`
	Hostname    string         `json:"hostname"`
	Description *string        `json:"description"`
	Flavor      InstanceFlavor `json:"flavor"`
	ImageRef    string         `json:"image_ref"`
	KeyName     string         `json:"key_name"`
	KeyData     string         `json:"key_data"`
	// UserData is base64, as the API takes it.
	UserData         string            `json:"user_data"`
	ConfigDrive      bool              `json:"config_drive"`
	AvailabilityZone string            `json:"availability_zone"`
	Host             string            `json:"host"`
	Node             string            `json:"node"`
	VMState          VMState           `json:"vm_state"`
	TaskState        TaskState         `json:"task_state"`
	PowerState       PowerState        `json:"power_state"`
	Metadata         map[string]string `json:"metadata"`
	Ports            []InstancePort    `json:"ports"`
	// Volumes are the volumes attached (or being attached or detached).
	Volumes []InstanceVolume `json:"volumes"`
	// Networks is what the server was created with (the API's
	// "networks"), kept for the ports made later.
	Networks      []NetworkRequest `json:"networks"`
	Fault         *Fault           `json:"fault"`
	ServerGroup   string           `json:"server_group"`
	LaunchIndex   int              `json:"launch_index"`
	ReservationID string           `json:"reservation_id"`
	Locked        bool             `json:"locked"`
	// Revision grows with every change; the agent reports against it.
	Revision     int64      `json:"revision"`
	LaunchedAt   *time.Time `json:"launched_at"`
	TerminatedAt *time.Time `json:"terminated_at"`
	CreatedAt    time.Time  `json:"created_at"`
	UpdatedAt    time.Time  `json:"updated_at"`
	DeletedAt    *time.Time `json:"deleted_at"`
}

// InstanceFlavor is the flavor an instance was made with, kept with it
// as Nova keeps instance.flavor (a later change of the flavor does not
// change the server).
type InstanceFlavor struct {
	ID          string            `json:"id"`
	Name        string            `json:"name"`
	VCPUs       int               `json:"vcpus"`
	MemoryMB    int64             `json:"memory_mb"`
	RootGB      int64             `json:"root_gb"`
	EphemeralGB int64             `json:"ephemeral_gb"`
	SwapMB      int64             `json:"swap"`
	ExtraSpecs  map[string]string `json:"extra_specs"`
}

// InstancePort is a port of an instance on a network.
type InstancePort struct {
	ID        string   `json:"id"`
	NetworkID string   `json:"network_id"`
	Network   string   `json:"network"` // its name: the label of addresses
	MAC       string   `json:"mac"`
	IPs       []string `json:"ips"`
	MTU       int      `json:"mtu"`
	// Created: the port was made for the instance and goes with it;
	// otherwise the user's port is only unbound.
	Created bool `json:"created"`
	// Pending is the interface operation under way on the port:
	// PortAttaching, PortDetaching, or "" (none).
	Pending string `json:"pending,omitempty"`
	// Tag is the device tag an attach gave it (Nova's 2.49).
	Tag string `json:"tag,omitempty"`
}

// NetworkRequest is one entry of a server's networks: a network to make
// a port on (optionally with a fixed IP), or a port that exists.
// SecurityGroups are the names of the server's security groups, which
// a port made for it gets (nil: the project's default group); a port
// that exists keeps its own, as in Nova.
type NetworkRequest struct {
	NetworkID      string   `json:"uuid,omitempty"`
	PortID         string   `json:"port,omitempty"`
	FixedIP        string   `json:"fixed_ip,omitempty"`
	SecurityGroups []string `json:"security_groups,omitempty"`
	// Attach: the port is for an interface attach, so one is always
	// made, never one taken back from an earlier try of the build.
	Attach bool `json:"-"`
}

// Fault is why an instance is in error, as Nova shows it.
type Fault struct {
	Code    int       `json:"code"`
	Message string    `json:"message"`
	Details string    `json:"details"`
	Created time.Time `json:"created"`
}

// Status is the API's status of the instance.
func (i Instance) Status() string { return Status(i.VMState, i.TaskState) }

func instanceNotFound(id string) error {
	return novaError(fault.NotFound, "InstanceNotFound", "Instance %s could not be found.", id)
}

const instanceCols = `uuid, project_id, user_id, name, hostname, description, flavor, image_ref, key_name, key_data, user_data,
	config_drive, availability_zone, host, node, vm_state, task_state, power_state, metadata, ports, requested_networks, fault,
	server_group, launch_index, reservation_id, locked, revision, launched_at, terminated_at, created_at, updated_at, deleted_at, volumes`

func scanInstance(sc interface{ Scan(...any) error }) (Instance, error) {
	var i Instance
	var desc sql.NullString
	var flavor, md, ports, nets, flt, vols string
	var launched, terminated, deleted sql.NullInt64
	var created, updated int64
	var power int
	if err := sc.Scan(&i.UUID, &i.ProjectID, &i.UserID, &i.Name, &i.Hostname, &desc, &flavor, &i.ImageRef, &i.KeyName, &i.KeyData,
		&i.UserData, &i.ConfigDrive, &i.AvailabilityZone, &i.Host, &i.Node, &i.VMState, &i.TaskState, &power, &md, &ports, &nets, &flt,
		&i.ServerGroup, &i.LaunchIndex, &i.ReservationID, &i.Locked, &i.Revision, &launched, &terminated, &created, &updated, &deleted, &vols); err != nil {
		return Instance{}, err
	}
	i.PowerState = PowerState(power)
	if desc.Valid {
		i.Description = &desc.String
	}
	for _, f := range []struct {
		s string
		v any
	}{{flavor, &i.Flavor}, {md, &i.Metadata}, {ports, &i.Ports}, {nets, &i.Networks}, {vols, &i.Volumes}} {
		if err := json.Unmarshal([]byte(f.s), f.v); err != nil {
			return Instance{}, fmt.Errorf("compute: instance %s: %w", i.UUID, err)
		}
	}
	if flt != "" {
		i.Fault = &Fault{}
		if err := json.Unmarshal([]byte(flt), i.Fault); err != nil {
			return Instance{}, fmt.Errorf("compute: instance %s fault: %w", i.UUID, err)
		}
	}
	at := func(n sql.NullInt64) *time.Time {
		if !n.Valid {
			return nil
		}
		t := time.UnixMicro(n.Int64).UTC()
		return &t
	}
	i.LaunchedAt, i.TerminatedAt, i.DeletedAt = at(launched), at(terminated), at(deleted)
	i.CreatedAt, i.UpdatedAt = time.UnixMicro(created).UTC(), time.UnixMicro(updated).UTC()
	return i, nil
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // plain values only
	}
	return string(b)
}

func nullMicros(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UnixMicro()
}

// CreateInstance stores a new instance in vm_state building, task_state
// scheduling (the fields given are kept; UUID must be set), with its
// create action for ctx's requester.
func (s *Store) CreateInstance(ctx context.Context, i Instance) (Instance, error) {
	now := s.now()
	i.VMState, i.TaskState, i.PowerState = Building, Scheduling, PowerNoState
	i.CreatedAt, i.UpdatedAt, i.Revision = now, now, 1
	if i.Metadata == nil {
		i.Metadata = map[string]string{}
	}
	if i.Ports == nil {
		i.Ports = []InstancePort{}
	}
	if i.Networks == nil {
		i.Networks = []NetworkRequest{}
	}
	if i.Volumes == nil {
		i.Volumes = []InstanceVolume{}
	}
	err := s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		if _, err := tx.Exec(ctx, "INSERT INTO compute_instances ("+instanceCols+`) VALUES
			(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			i.UUID, i.ProjectID, i.UserID, i.Name, i.Hostname, i.Description, mustJSON(i.Flavor), i.ImageRef, i.KeyName, i.KeyData,
			i.UserData, i.ConfigDrive, i.AvailabilityZone, i.Host, i.Node, string(i.VMState), string(i.TaskState), int(i.PowerState),
			mustJSON(i.Metadata), mustJSON(i.Ports), mustJSON(i.Networks), "", i.ServerGroup, i.LaunchIndex, i.ReservationID,
			i.Locked, i.Revision, nil, nil, now.UnixMicro(), now.UnixMicro(), nil, mustJSON(i.Volumes)); err != nil {
			return fmt.Errorf("compute: create instance: %w", err)
		}
		if _, err := s.recordAction(ctx, tx, i.UUID, "create", now); err != nil {
			return err
		}
		return s.record(ctx, tx, "instance", i.UUID, i.ProjectID, watch.Create, i)
	})
	if err != nil {
		return Instance{}, err
	}
	return i, nil
}

func getInstance(ctx context.Context, q novaQuerier, cond string, args ...any) ([]Instance, error) {
	rows, err := q.Query(ctx, "SELECT "+instanceCols+" FROM compute_instances WHERE "+cond, args...)
	if err != nil {
		return nil, fmt.Errorf("compute: instances: %w", err)
	}
	defer rows.Close()
	var out []Instance
	for rows.Next() {
		i, err := scanInstance(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, i)
	}
	return out, rows.Err()
}

// Instance returns instance id if v may see it and it is not deleted.
func (s *Store) Instance(ctx context.Context, v Viewer, id string) (Instance, error) {
	is, err := getInstance(ctx, s.db, "uuid = ? AND deleted_at IS NULL", id)
	if err != nil {
		return Instance{}, err
	}
	if len(is) == 0 || !v.sees(is[0].ProjectID) {
		return Instance{}, instanceNotFound(id)
	}
	return is[0], nil
}

// InstanceFilter narrows Instances.
type InstanceFilter struct {
	AllProjects bool   // an admin's all_tenants
	ProjectID   string // with AllProjects: only this project's
	Name        string // a regular expression in Nova; here a substring
	Host        string
	Status      string // the API status (ACTIVE, SHUTOFF, ...)
	Deleted     bool   // only deleted instances (admins)
	// Marker and Limit page the list, newest first (Nova's default sort:
	// created_at desc, then uuid desc).
	Marker string
	Limit  int
}

// Instances lists what v may see, newest first.
func (s *Store) Instances(ctx context.Context, v Viewer, f InstanceFilter) ([]Instance, error) {
	var conds []string
	var args []any
	switch {
	case v.Admin && f.AllProjects && f.ProjectID != "":
		conds, args = append(conds, "project_id = ?"), append(args, f.ProjectID)
	case v.Admin && f.AllProjects:
	default:
		conds, args = append(conds, "project_id = ?"), append(args, v.Project)
	}
	if f.Deleted && v.Admin {
		conds = append(conds, "deleted_at IS NOT NULL")
	} else {
		conds = append(conds, "deleted_at IS NULL")
	}
	if f.Host != "" {
		conds, args = append(conds, "host = ?"), append(args, f.Host)
	}
	if f.Marker != "" {
		m, err := getInstance(ctx, s.db, "uuid = ?", f.Marker)
		if err != nil {
			return nil, err
		}
		if len(m) == 0 || !v.sees(m[0].ProjectID) {
			return nil, novaError(fault.BadRequest, "MarkerNotFound", "Marker %s could not be found.", f.Marker)
		}
		conds = append(conds, "(created_at < ? OR (created_at = ? AND uuid < ?))")
		args = append(args, m[0].CreatedAt.UnixMicro(), m[0].CreatedAt.UnixMicro(), m[0].UUID)
	}
	q := strings.Join(conds, " AND ") + " ORDER BY created_at DESC, uuid DESC"
	all, err := getInstance(ctx, s.db, q, args...)
	if err != nil {
		return nil, err
	}
	out := []Instance{}
	for _, i := range all {
		if f.Name != "" && !strings.Contains(i.Name, f.Name) {
			continue
		}
		if f.Status != "" && !strings.EqualFold(i.Status(), f.Status) {
			continue
		}
		out = append(out, i)
		if f.Limit > 0 && len(out) == f.Limit {
			break
		}
	}
	return out, nil
}

// HostInstances are the instances placed on host that are not deleted:
// what its compute agent keeps in step with.
func (s *Store) HostInstances(ctx context.Context, host string) ([]Instance, error) {
	is, err := getInstance(ctx, s.db, "host = ? AND deleted_at IS NULL ORDER BY created_at, uuid", host)
	if is == nil && err == nil {
		is = []Instance{}
	}
	return is, err
}

// writeInstance changes instance id in one transaction: change sees the
// current row (deleted ones excluded) and edits it; the row is written
// with a new revision and recorded on the feed. A change returning
// errUnchanged writes nothing and answers the row as it is.
func (s *Store) writeInstance(ctx context.Context, id string, change func(*sqlstore.Tx, *Instance) error) (Instance, error) {
	var out Instance
	err := s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		is, err := getInstance(ctx, tx, "uuid = ? AND deleted_at IS NULL", id)
		if err != nil {
			return err
		}
		if len(is) == 0 {
			return instanceNotFound(id)
		}
		i := is[0]
		if err := change(tx, &i); err == errUnchanged {
			out = is[0]
			return nil
		} else if err != nil {
			return err
		}
		now := s.now()
		i.UpdatedAt = now
		res, err := tx.Exec(ctx, `UPDATE compute_instances SET name = ?, hostname = ?, description = ?, host = ?, node = ?, flavor = ?,
			vm_state = ?, task_state = ?, power_state = ?, metadata = ?, ports = ?, volumes = ?, fault = ?, locked = ?, revision = revision + 1,
			launched_at = ?, terminated_at = ?, updated_at = ?, deleted_at = ? WHERE uuid = ? AND revision = ?`,
			i.Name, i.Hostname, i.Description, i.Host, i.Node, mustJSON(i.Flavor), string(i.VMState), string(i.TaskState), int(i.PowerState),
			mustJSON(i.Metadata), mustJSON(i.Ports), mustJSON(i.Volumes), faultJSON(i.Fault), i.Locked, nullMicros(i.LaunchedAt), nullMicros(i.TerminatedAt),
			now.UnixMicro(), nullMicros(i.DeletedAt), i.UUID, i.Revision)
		if err != nil {
			return fmt.Errorf("compute: update instance: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return novaError(fault.Conflict, "InstanceUpdateConflict", "Conflict updating instance %s. Expected: revision %d.", i.UUID, i.Revision)
		}
		i.Revision++
		out = i
		op := watch.Update
		if i.DeletedAt != nil {
			op = watch.Delete
		}
		return s.record(ctx, tx, "instance", i.UUID, i.ProjectID, op, i)
	})
	return out, err
}

func faultJSON(f *Fault) string {
	if f == nil {
		return ""
	}
	return mustJSON(f)
}

// InstanceUpdate is what a user changes of a server (PUT /servers/{id}).
type InstanceUpdate struct {
	Name        *string
	Hostname    *string
	Description **string // set to nil: no description
}

// UpdateInstance changes a server's name, hostname or description.
func (s *Store) UpdateInstance(ctx context.Context, v Viewer, id string, u InstanceUpdate) (Instance, error) {
	return s.writeInstance(ctx, id, func(_ *sqlstore.Tx, i *Instance) error {
		if !v.sees(i.ProjectID) {
			return instanceNotFound(id)
		}
		if u.Name != nil {
			i.Name = *u.Name
		}
		if u.Hostname != nil {
			i.Hostname = *u.Hostname
		}
		if u.Description != nil {
			i.Description = *u.Description
		}
		return nil
	})
}

// StartAction checks Nova's state rules for action (Actions) and sets
// the task_state it runs under; the host's agent does the rest. Locked
// instances refuse non-admins (Nova's 409 "Instance %s is locked"). The
// action is recorded for ctx's requester (WithRequester), with the
// event of the host's work started.
func (s *Store) StartAction(ctx context.Context, v Viewer, id, action string) (Instance, error) {
	a, ok := Actions[action]
	if !ok {
		return Instance{}, fmt.Errorf("compute: no action %q", action)
	}
	return s.writeInstance(ctx, id, func(tx *sqlstore.Tx, i *Instance) error {
		if !v.sees(i.ProjectID) {
			return instanceNotFound(id)
		}
		if i.Locked && !v.Admin {
			return novaError(fault.Conflict, "InstanceIsLocked", "Instance %s is locked", id)
		}
		if err := a.Check(id, i.VMState, i.TaskState, i.LaunchedAt != nil); err != nil {
			return err
		}
		i.TaskState = a.Sets
		return s.recordStart(ctx, tx, *i, a)
	})
}

// ResetState is Nova's os-resetState: instance id goes to vm_state
// state (active or error) with no task under way, whatever it was doing,
// and the resetState action is recorded. Who may is the API's policy
// (admins by default); here v must see the instance.
func (s *Store) ResetState(ctx context.Context, v Viewer, id string, state VMState) (Instance, error) {
	if state != Active && state != Error {
		return Instance{}, fmt.Errorf("compute: reset state to %q: only active or error", state)
	}
	return s.writeInstance(ctx, id, func(tx *sqlstore.Tx, i *Instance) error {
		if !v.sees(i.ProjectID) {
			return instanceNotFound(id)
		}
		i.VMState, i.TaskState = state, NoTask
		// A move under way ends (in error, as Nova's errors_out_migration):
		// the builder keeps the host the instance is on.
		if _, err := endMigrations(ctx, s, tx, id); err != nil {
			return err
		}
		_, err := s.recordAction(ctx, tx, i.UUID, "resetState", s.now())
		return err
	})
}

// Place records where the scheduler put the instance and the ports made
// for it: the host's agent builds it from here (task_state spawning),
// and its create action's build event starts on host.
func (s *Store) Place(ctx context.Context, id, host, node string, ports []InstancePort) (Instance, error) {
	return s.writeInstance(ctx, id, func(tx *sqlstore.Tx, i *Instance) error {
		if i.VMState != Building || i.TaskState != Scheduling {
			return novaError(fault.Conflict, "InstanceInvalidState", "Instance %s is not being scheduled (vm_state %s, task_state %s)", id, i.VMState, i.TaskState)
		}
		i.Host, i.Node, i.Ports, i.TaskState = host, node, ports, Spawning
		action, err := createAction(ctx, tx, id)
		if err != nil || action == 0 {
			return err
		}
		return startEvent(ctx, tx, action, EventBuild, host, s.now())
	})
}

// SetError puts an instance in vm_state error with its fault, ending
// any task (a build that found no host, say).
func (s *Store) SetError(ctx context.Context, id string, f Fault) (Instance, error) {
	return s.writeInstance(ctx, id, func(_ *sqlstore.Tx, i *Instance) error {
		if f.Created.IsZero() {
			f.Created = s.now()
		}
		i.VMState, i.TaskState, i.Fault = Error, NoTask, &f
		return nil
	})
}

// InstanceReport is what a compute agent saw of an instance when it
// ended (or could not end) the task it was doing.
type InstanceReport struct {
	// Task is the task_state the agent acted on; the report is refused
	// (409) when the instance has moved on to another task since.
	Task       TaskState  `json:"task_state"`
	VMState    VMState    `json:"vm_state"`
	PowerState PowerState `json:"power_state"`
	// Fault, when set, puts the instance in error with it.
	Fault *Fault `json:"fault,omitempty"`
	// Reschedule, with a Fault ending a build (task spawning): the
	// failure is the host's, not the request's, so the build may be
	// tried on another host (Nova's RescheduledException) — up to
	// Store.MaxBuildAttempts hosts; the last one's fault stays.
	Reschedule bool `json:"reschedule,omitempty"`
	// Deleted: the guest and its disks are gone (the end of a delete).
	Deleted bool `json:"deleted,omitempty"`
	// Error, without a Fault: the task failed and left the instance as
	// it was (VMState), as Nova's compute manager reverts a failed
	// snapshot; its event is an Error with this as details.
	Error string `json:"error,omitempty"`
}

// ReportInstance applies a host agent's report: the task it names ends
// (task_state cleared) with the vm_state and power_state it saw; a
// first ACTIVE sets launched_at; Deleted ends a delete (the row stays,
// marked deleted). A report from another host than the instance's is
// refused (404), as is one about a task that is no longer under way
// (409: the agent acted on an old snapshot and syncs again). The event
// of the task ends with it (recordReport).
func (s *Store) ReportInstance(ctx context.Context, host, id string, r InstanceReport) (Instance, error) {
	return s.writeInstance(ctx, id, func(tx *sqlstore.Tx, i *Instance) error {
		if i.Host != host {
			return instanceNotFound(id)
		}
		if i.TaskState != r.Task {
			return novaError(fault.Conflict, "UnexpectedTaskStateError", "Conflict updating instance %s. Expected: {'task_state': [%s]}. Actual: {'task_state': %s}",
				id, taskRepr(r.Task), taskRepr(i.TaskState))
		}
		now := s.now()
		i.PowerState = r.PowerState
		if r.Deleted || r.Task == ImageSnapshotPending {
			if _, err := endSnapshot(ctx, tx, id); err != nil {
				return err
			}
		}
		if r.Deleted || r.Task == Spawning && r.Fault == nil {
			if err := dropRetry(ctx, tx, id); err != nil {
				return err
			}
		}
		if r.Deleted {
			if _, err := endMigrations(ctx, s, tx, id); err != nil {
				return err
			}
			if err := dropConsole(ctx, tx, id); err != nil {
				return err
			}
		}
		if done, err := s.moveReport(ctx, tx, i, r, now); err != nil || done {
			return err
		}
		switch {
		case r.Deleted:
			i.VMState, i.TaskState, i.DeletedAt, i.TerminatedAt = Deleted, NoTask, &now, &now
		case r.Fault != nil:
			f := *r.Fault
			if f.Created.IsZero() {
				f.Created = now
			}
			if r.Reschedule && r.Task == Spawning && i.VMState == Building {
				again, retry, err := s.reschedule(ctx, tx, i, f)
				if err != nil {
					return err
				}
				if again {
					return recordReport(ctx, tx, *i, r, now)
				}
				if retry.Attempts() > 1 {
					f.Details = strings.TrimSpace(fmt.Sprintf("Exceeded maximum number of retries. Exhausted all hosts available for retrying build failures for instance %s. Failures: %s. %s",
						i.UUID, retry.Summary(), f.Details))
				}
			}
			i.VMState, i.TaskState, i.Fault = Error, NoTask, &f
		default:
			i.VMState, i.TaskState = r.VMState, NoTask
			if r.VMState == Active && i.LaunchedAt == nil {
				i.LaunchedAt = &now
			}
		}
		return recordReport(ctx, tx, *i, r, now)
	})
}

// SyncPowerState records the power state a host's periodic check saw
// of an instance with no task under way, and, as Nova's
// _sync_instance_power_state does, stops an active instance whose guest
// is off (vm_state stopped).
func (s *Store) SyncPowerState(ctx context.Context, host, id string, p PowerState) (Instance, error) {
	return s.writeInstance(ctx, id, func(_ *sqlstore.Tx, i *Instance) error {
		if i.Host != host {
			return instanceNotFound(id)
		}
		if i.TaskState != NoTask || i.PowerState == p {
			return errUnchanged
		}
		i.PowerState = p
		if i.VMState == Active && (p == PowerShutdown || p == PowerCrashed) {
			i.VMState = Stopped
		}
		return nil
	})
}

func taskRepr(t TaskState) string {
	if t == NoTask {
		return "None"
	}
	return "'" + string(t) + "'"
}

// HostState is what a compute host's agent keeps in step with, read in
// one snapshot: the instances placed on the host and the feed revision
// of the read. PortStatus (each instance port's status in the network
// service: ACTIVE once the host's network agent has plumbed it, Nova's
// vif-plugged event) is filled by the API, which asks the network
// service.
type HostState struct {
	Host       string            `json:"host"`
	Revision   int64             `json:"revision"`
	Instances  []Instance        `json:"instances"`
	PortStatus map[string]string `json:"port_status"`
	// Snapshots are the images the host's snapshots under way go to, by
	// instance (createImage).
	Snapshots map[string]string `json:"snapshots"`
	// Migrations are the moves under way from or to the host, by
	// instance: a source keeps the guest of an instance placed elsewhere
	// until the move is confirmed.
	Migrations map[string]Migration `json:"migrations"`
}

// HostState reads host's instances with the feed revision of the read.
func (s *Store) HostState(ctx context.Context, host string) (HostState, error) {
	st := HostState{Host: host, Instances: []Instance{}, PortStatus: map[string]string{}}
	rev, err := s.feed.Snapshot(ctx, func(tx *sqlstore.Tx) error {
		is, err := getInstance(ctx, tx, "host = ? AND deleted_at IS NULL ORDER BY created_at, uuid", host)
		if is != nil {
			st.Instances = is
		}
		if err != nil {
			return err
		}
		if st.Snapshots, err = snapshotsOf(ctx, tx, host); err != nil {
			return err
		}
		st.Migrations, err = kept(ctx, tx, host)
		return err
	})
	st.Revision = rev
	return st, err
}

// FailBuild puts an instance that is still waiting for a host in error
// with f (the scheduler found none, its ports could not be made); an
// instance that has moved on (deleted meanwhile) is left alone. Its
// create action gets event (Nova's name of the step that failed, on
// host) as an Error with f's message as details and f's details as
// traceback.
func (s *Store) FailBuild(ctx context.Context, id, event, host string, f Fault) (Instance, error) {
	return s.writeInstance(ctx, id, func(tx *sqlstore.Tx, i *Instance) error {
		if i.VMState != Building || i.TaskState != Scheduling {
			return errUnchanged
		}
		now := s.now()
		if f.Created.IsZero() {
			f.Created = now
		}
		i.VMState, i.TaskState, i.Fault = Error, NoTask, &f
		action, err := createAction(ctx, tx, id)
		if err != nil || action == 0 {
			return err
		}
		if err := startEvent(ctx, tx, action, event, host, now); err != nil {
			return err
		}
		return finishEvents(ctx, tx, id, event, eventEnd{err: true, details: f.Message, traceback: f.Details}, now)
	})
}

// DeleteUnplaced ends the delete of an instance no host has (its build
// failed before placement, or it is still being scheduled): no agent
// will, so the controller does. It reports whether it did; an instance
// placed meanwhile is its host's to delete.
func (s *Store) DeleteUnplaced(ctx context.Context, id string) (bool, error) {
	done := false
	_, err := s.writeInstance(ctx, id, func(tx *sqlstore.Tx, i *Instance) error {
		if i.Host != "" || i.TaskState != Deleting {
			return errUnchanged
		}
		now := s.now()
		i.VMState, i.TaskState, i.DeletedAt, i.TerminatedAt = Deleted, NoTask, &now, &now
		done = true
		if _, err := endSnapshot(ctx, tx, id); err != nil {
			return err
		}
		if err := dropConsole(ctx, tx, id); err != nil {
			return err
		}
		return dropRetry(ctx, tx, id)
	})
	return done, err
}

// dropConsole forgets a deleted instance's console tail.
func dropConsole(ctx context.Context, tx *sqlstore.Tx, id string) error {
	if _, err := tx.Exec(ctx, "DELETE FROM compute_instance_consoles WHERE instance_uuid = ?", id); err != nil {
		return fmt.Errorf("compute: console of %s: %w", id, err)
	}
	return nil
}

// SetConsole keeps the tail of instance id's console log, sent by its
// host's agent (only the instance's host may).
func (s *Store) SetConsole(ctx context.Context, host, id string, data []byte) error {
	return s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		is, err := getInstance(ctx, tx, "uuid = ? AND deleted_at IS NULL", id)
		if err != nil {
			return err
		}
		if len(is) == 0 || is[0].Host != host {
			return instanceNotFound(id)
		}
		_, err = tx.Exec(ctx, `INSERT INTO compute_instance_consoles (instance_uuid, host, data, updated_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (instance_uuid) DO UPDATE SET host = excluded.host, data = excluded.data, updated_at = excluded.updated_at`,
			id, host, data, s.now().UnixMicro())
		if err != nil {
			return fmt.Errorf("compute: console of %s: %w", id, err)
		}
		return nil
	})
}

// Console is the console log tail of instance id as v sees it (empty
// when its host has sent none yet).
func (s *Store) Console(ctx context.Context, v Viewer, id string) ([]byte, error) {
	if _, err := s.Instance(ctx, v, id); err != nil {
		return nil, err
	}
	var data []byte
	err := s.db.Get(ctx, "SELECT data FROM compute_instance_consoles WHERE instance_uuid = ?", []any{id}, &data)
	if errors.Is(err, sql.ErrNoRows) {
		return []byte{}, nil
	}
	return data, err
}
