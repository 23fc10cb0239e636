package compute

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/sqlstore"
)

// Migration is a cold move of an instance to another host (Nova's
// migration record): a resize (a new flavor) or a migration (the same
// flavor). Its uuid is also the Placement consumer that holds the
// source's resources until the move is confirmed or reverted.
type Migration struct {
	// ID is Nova's integer id of the record.
	ID         int64          `json:"id"`
	UUID       string         `json:"uuid"`
	InstanceID string         `json:"instance_uuid"`
	Type       string         `json:"migration_type"` // "resize" or "migration"
	Status     string         `json:"status"`
	Source     string         `json:"source_compute"`
	SourceNode string         `json:"source_node"`
	Dest       string         `json:"dest_compute"`
	DestNode   string         `json:"dest_node"`
	OldFlavor  InstanceFlavor `json:"old_flavor"`
	NewFlavor  InstanceFlavor `json:"new_flavor"`
	// OldVMState is what the instance was (active or stopped): what a
	// confirm or a revert gives it back, and whether the guest runs on
	// the destination.
	OldVMState VMState `json:"old_vm_state"`
	// RequestedHost is the destination an admin asked for ("" for the
	// scheduler's choice).
	RequestedHost string `json:"requested_host"`
	// UserID and ProjectID are who asked for the move.
	UserID    string    `json:"user_id"`
	ProjectID string    `json:"project_id"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Migration statuses, Nova's words where it has them.
const (
	MigrationPreMigrating  = "pre-migrating"  // waiting for a destination
	MigrationMigrating     = "migrating"      // the source powers off and sends the disk
	MigrationPostMigrating = "post-migrating" // the destination builds the guest
	MigrationFinished      = "finished"       // VERIFY_RESIZE: confirm or revert
	MigrationConfirmed     = "confirmed"
	MigrationReverting     = "reverting"        // the destination removes its guest
	MigrationRevertSource  = "reverting-source" // back on the source, which starts its guest again
	MigrationReverted      = "reverted"
	MigrationError         = "error"
)

// Events of a move, Nova's names.
const (
	EventMigrateServer      = "conductor_migrate_server"
	EventResizeInstance     = "compute_resize_instance"
	EventFinishResize       = "compute_finish_resize"
	EventConfirmResize      = "compute_confirm_resize"
	EventRevertResize       = "compute_revert_resize"
	EventFinishRevertResize = "compute_finish_revert_resize"
)

// live are the statuses of a migration under way.
var live = []string{MigrationPreMigrating, MigrationMigrating, MigrationPostMigrating, MigrationFinished, MigrationReverting, MigrationRevertSource}

const migrationCols = `uuid, instance_uuid, migration_type, status, source_compute, source_node, dest_compute, dest_node,
	old_flavor, new_flavor, old_vm_state, requested_host, created_at, updated_at, id, user_id, project_id`

func scanMigration(sc interface{ Scan(...any) error }) (Migration, error) {
	var m Migration
	var oldF, newF string
	var created, updated int64
	if err := sc.Scan(&m.UUID, &m.InstanceID, &m.Type, &m.Status, &m.Source, &m.SourceNode, &m.Dest, &m.DestNode,
		&oldF, &newF, &m.OldVMState, &m.RequestedHost, &created, &updated, &m.ID, &m.UserID, &m.ProjectID); err != nil {
		return Migration{}, err
	}
	if err := json.Unmarshal([]byte(oldF), &m.OldFlavor); err != nil {
		return Migration{}, err
	}
	if err := json.Unmarshal([]byte(newF), &m.NewFlavor); err != nil {
		return Migration{}, err
	}
	m.CreatedAt, m.UpdatedAt = time.UnixMicro(created).UTC(), time.UnixMicro(updated).UTC()
	return m, nil
}

func queryMigrations(ctx context.Context, q novaQuerier, cond string, args ...any) ([]Migration, error) {
	rows, err := q.Query(ctx, "SELECT "+migrationCols+" FROM compute_migrations WHERE "+cond, args...)
	if err != nil {
		return nil, fmt.Errorf("compute: migrations: %w", err)
	}
	defer rows.Close()
	var out []Migration
	for rows.Next() {
		m, err := scanMigration(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// Ended reports whether the move is over (confirmed, reverted or in
// error).
func (m Migration) Ended() bool { return !slices.Contains(live, m.Status) }

// liveCond selects migrations under way.
func liveCond() (string, []any) {
	args := make([]any, len(live))
	in := ""
	for n, s := range live {
		if n > 0 {
			in += ", "
		}
		in += "?"
		args[n] = s
	}
	return "status IN (" + in + ")", args
}

// activeMigration is instance id's migration under way, if any.
func activeMigration(ctx context.Context, q novaQuerier, id string) (Migration, bool, error) {
	cond, args := liveCond()
	ms, err := queryMigrations(ctx, q, "instance_uuid = ? AND "+cond+" ORDER BY created_at DESC", append([]any{id}, args...)...)
	if err != nil || len(ms) == 0 {
		return Migration{}, false, err
	}
	return ms[0], true, nil
}

// ActiveMigration is instance id's migration under way (fault.NotFound
// when there is none).
func (s *Store) ActiveMigration(ctx context.Context, id string) (Migration, error) {
	m, ok, err := activeMigration(ctx, s.db, id)
	if err != nil {
		return Migration{}, err
	}
	if !ok {
		return Migration{}, novaError(fault.NotFound, "MigrationNotFoundByStatus", "Instance %s has no migration under way.", id)
	}
	return m, nil
}

func (s *Store) setMigration(ctx context.Context, tx *sqlstore.Tx, m *Migration, status string) error {
	m.Status, m.UpdatedAt = status, s.now()
	_, err := tx.Exec(ctx, `UPDATE compute_migrations SET status = ?, dest_compute = ?, dest_node = ?, updated_at = ? WHERE uuid = ?`,
		m.Status, m.Dest, m.DestNode, m.UpdatedAt.UnixMicro(), m.UUID)
	if err != nil {
		return fmt.Errorf("compute: migration %s: %w", m.UUID, err)
	}
	return nil
}

// latestAction is the id of instance's latest action of one of names
// (0 for none).
func latestAction(ctx context.Context, tx *sqlstore.Tx, instance string, names ...string) (int64, error) {
	for _, n := range names {
		var id int64
		err := tx.Get(ctx, `SELECT id FROM compute_instance_actions WHERE instance_uuid = ? AND action = ?
			ORDER BY start_time DESC, id DESC LIMIT 1`, []any{instance, n}, &id)
		if errors.Is(err, sqlstore.ErrNotFound) {
			continue
		}
		if err != nil {
			return 0, err
		}
		return id, nil
	}
	return 0, nil
}

// moveEvent starts event of i's latest move action on host.
func moveEvent(ctx context.Context, tx *sqlstore.Tx, i Instance, names []string, event, host string, at time.Time) error {
	id, err := latestAction(ctx, tx, i.UUID, names...)
	if err != nil || id == 0 {
		return err
	}
	return startEvent(ctx, tx, id, event, host, at)
}

var moveActions = []string{"resize", "migrate"}

// StartResize starts a resize of instance id to flavor (a cold
// migration when flavor is the instance's own: migrate, which only
// admins may ask for, optionally to host): Nova's state rules (active or
// stopped, no task), task_state resize_prep and a migration record
// waiting for the builder to choose the destination.
func (s *Store) StartResize(ctx context.Context, v Viewer, id string, flavor *InstanceFlavor, host string) (Instance, Migration, error) {
	var m Migration
	i, err := s.writeInstance(ctx, id, func(tx *sqlstore.Tx, i *Instance) error {
		if !v.sees(i.ProjectID) {
			return instanceNotFound(id)
		}
		a := Actions["resize"]
		typ, record := "resize", "resize"
		if flavor == nil {
			a.Name, typ, record = "migrate", "migration", "migrate"
		}
		if err := a.Check(id, i.VMState, i.TaskState, i.LaunchedAt != nil); err != nil {
			return err
		}
		if _, busy, err := activeMigration(ctx, tx, id); err != nil {
			return err
		} else if busy {
			return novaError(fault.Conflict, "InstanceInvalidState", "Instance %s has a migration under way", id)
		}
		// The guest the move starts from must be the one the instance
		// records: an interface attach or detach finishes first.
		if p := i.PendingPort(); p != nil {
			return novaError(fault.Conflict, "InstanceInvalidState", "Cannot '%s' instance %s while port %s is being %s", a.Name, id, p.ID, pendingVerb(p.Pending))
		}
		// A volume being attached or detached settles first: the
		// destination connects the volumes the instance has.
		if x := i.PendingVolume(); x != nil {
			return novaError(fault.Conflict, "InstanceInvalidState", "Cannot '%s' instance %s while volume %s is being %s", a.Name, id, x.VolumeID, pendingVerb(x.Pending))
		}
		now := s.now()
		num, err := nextID(ctx, tx, "migration")
		if err != nil {
			return err
		}
		rq := requester(ctx)
		m = Migration{ID: num, UUID: uuid.NewString(), InstanceID: id, Type: typ, Status: MigrationPreMigrating, Source: i.Host, SourceNode: i.Node,
			OldFlavor: i.Flavor, NewFlavor: i.Flavor, OldVMState: i.VMState, RequestedHost: host, UserID: rq.UserID, ProjectID: rq.ProjectID,
			CreatedAt: now, UpdatedAt: now}
		if flavor != nil {
			m.NewFlavor = *flavor
		}
		if _, err := tx.Exec(ctx, "INSERT INTO compute_migrations ("+migrationCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			m.UUID, m.InstanceID, m.Type, m.Status, m.Source, m.SourceNode, m.Dest, m.DestNode, mustJSON(m.OldFlavor), mustJSON(m.NewFlavor),
			string(m.OldVMState), m.RequestedHost, now.UnixMicro(), now.UnixMicro(), m.ID, m.UserID, m.ProjectID); err != nil {
			return fmt.Errorf("compute: migration of %s: %w", id, err)
		}
		i.TaskState = ResizePrep
		a.Record = record
		a.Sets = ResizePrep
		if err := s.recordStart(ctx, tx, *i, a); err != nil {
			return err
		}
		return moveEvent(ctx, tx, *i, moveActions, EventMigrateServer, "", now)
	})
	return i, m, err
}

// MoveWaiting are the instances whose move waits for the controller: a
// destination to choose (resize_prep), the switch to the destination
// once the source has sent the disk (resize_migrated), the switch back
// to the source once the destination has removed its guest
// (reverting-source), and the allocations of confirmed moves still held.
func (s *Store) movesWaiting(ctx context.Context) ([]Instance, error) {
	return getInstance(ctx, s.db, `deleted_at IS NULL AND task_state IN (?, ?) ORDER BY updated_at, uuid`,
		string(ResizePrep), string(ResizeMigrated))
}

// PlaceMove records the destination the builder chose for i's move and
// hands the instance to its source: migration migrating, task
// resize_migrating, the source's resize event started.
func (s *Store) PlaceMove(ctx context.Context, id, dest, destNode string) (Instance, error) {
	return s.writeInstance(ctx, id, func(tx *sqlstore.Tx, i *Instance) error {
		if i.TaskState != ResizePrep {
			return novaError(fault.Conflict, "InstanceInvalidState", "Instance %s is not waiting for a destination (task_state %s)", id, taskRepr(i.TaskState))
		}
		m, ok, err := activeMigration(ctx, tx, id)
		if err != nil {
			return err
		}
		if !ok {
			return novaError(fault.Conflict, "MigrationNotFoundByStatus", "Instance %s has no migration under way.", id)
		}
		m.Dest, m.DestNode = dest, destNode
		if err := s.setMigration(ctx, tx, &m, MigrationMigrating); err != nil {
			return err
		}
		now := s.now()
		i.TaskState = ResizeMigrating
		if err := finishEvents(ctx, tx, id, EventMigrateServer, eventEnd{}, now); err != nil {
			return err
		}
		return moveEvent(ctx, tx, *i, moveActions, EventResizeInstance, i.Host, now)
	})
}

// FailMove ends a move that found no destination: the instance goes back
// to what it was with no task, the migration in error, the conductor's
// event an Error with why (Nova's NoValidHost on a resize leaves the
// server ACTIVE).
func (s *Store) FailMove(ctx context.Context, id, why, details string) (Instance, error) {
	return s.writeInstance(ctx, id, func(tx *sqlstore.Tx, i *Instance) error {
		if i.TaskState != ResizePrep {
			return errUnchanged
		}
		if m, ok, err := activeMigration(ctx, tx, id); err != nil {
			return err
		} else if ok {
			if err := s.setMigration(ctx, tx, &m, MigrationError); err != nil {
				return err
			}
		}
		i.TaskState = NoTask
		return finishEvents(ctx, tx, id, EventMigrateServer, eventEnd{err: true, details: why, traceback: details}, s.now())
	})
}

// SwitchToDest moves i, whose source has sent its disk, to the
// destination: host and node, the new flavor, task resize_finish; the
// destination's finish event starts.
func (s *Store) SwitchToDest(ctx context.Context, id string) (Instance, error) {
	return s.writeInstance(ctx, id, func(tx *sqlstore.Tx, i *Instance) error {
		if i.TaskState != ResizeMigrated {
			return errUnchanged
		}
		m, ok, err := activeMigration(ctx, tx, id)
		if err != nil {
			return err
		}
		if !ok || m.Dest == "" {
			return novaError(fault.Conflict, "MigrationNotFoundByStatus", "Instance %s has no migration under way.", id)
		}
		if err := s.setMigration(ctx, tx, &m, MigrationPostMigrating); err != nil {
			return err
		}
		i.Host, i.Node, i.Flavor, i.TaskState = m.Dest, m.DestNode, m.NewFlavor, ResizeFinish
		return moveEvent(ctx, tx, *i, moveActions, EventFinishResize, m.Dest, s.now())
	})
}

// moveReport applies a host's report of a move task to i (in
// ReportInstance's transaction): the source sent its disk
// (resize_migrating → resize_migrated, for the builder to switch to
// the destination); the destination built the guest (resize_finish →
// vm_state resized, VERIFY_RESIZE); the destination removed its guest
// on a revert (back to the source, with the old flavor, which starts
// its guest again); the source started it (reverted). It reports
// whether it handled r.
func (s *Store) moveReport(ctx context.Context, tx *sqlstore.Tx, i *Instance, r InstanceReport, now time.Time) (bool, error) {
	if r.Fault != nil || r.Deleted {
		return false, nil
	}
	m, ok, err := activeMigration(ctx, tx, i.UUID)
	if err != nil || !ok {
		return false, err
	}
	switch {
	case r.Task == ResizeMigrating && r.Error != "":
		// The source could not send its disk: the move ends, the
		// instance stays as it was (its guest started again by the
		// source); the builder gives it its source's resources back.
		if err := s.setMigration(ctx, tx, &m, MigrationError); err != nil {
			return true, err
		}
		i.VMState, i.TaskState, i.PowerState = r.VMState, NoTask, r.PowerState
		return true, finishEvents(ctx, tx, i.UUID, EventResizeInstance, eventEnd{err: true, details: r.Error}, now)
	case r.Task == ResizeMigrating:
		i.TaskState, i.PowerState = ResizeMigrated, r.PowerState
		return true, finishEvents(ctx, tx, i.UUID, EventResizeInstance, eventEnd{}, now)
	case r.Task == ResizeFinish && r.Error != "":
		// The destination could not build the guest, and removed what it
		// made: the move goes back to the source, whose guest is intact,
		// as a revert does.
		if err := s.setMigration(ctx, tx, &m, MigrationRevertSource); err != nil {
			return true, err
		}
		if err := finishEvents(ctx, tx, i.UUID, EventFinishResize, eventEnd{err: true, details: r.Error}, now); err != nil {
			return true, err
		}
		i.Host, i.Node, i.Flavor, i.TaskState, i.PowerState = m.Source, m.SourceNode, m.OldFlavor, ResizeReverting, r.PowerState
		return true, moveEvent(ctx, tx, *i, moveActions, EventFinishRevertResize, m.Source, now)
	case r.Task == ResizeFinish:
		if err := s.setMigration(ctx, tx, &m, MigrationFinished); err != nil {
			return true, err
		}
		i.VMState, i.TaskState, i.PowerState = Resized, NoTask, r.PowerState
		return true, finishEvents(ctx, tx, i.UUID, EventFinishResize, eventEnd{}, now)
	case r.Task == ResizeReverting && m.Status == MigrationReverting && r.VMState == Resized:
		if err := s.setMigration(ctx, tx, &m, MigrationRevertSource); err != nil {
			return true, err
		}
		if err := finishEvents(ctx, tx, i.UUID, EventRevertResize, eventEnd{}, now); err != nil {
			return true, err
		}
		i.Host, i.Node, i.Flavor, i.PowerState = m.Source, m.SourceNode, m.OldFlavor, r.PowerState
		return true, moveEvent(ctx, tx, *i, []string{"revertResize"}, EventFinishRevertResize, m.Source, now)
	case r.Task == ResizeReverting && m.Status == MigrationRevertSource && r.VMState == Resized:
		// The destination's report sent again after the switch back
		// (its answer lost): the source's step is still to come.
		return true, novaError(fault.Conflict, "UnexpectedTaskStateError", "Instance %s is back on its source; its destination's report is stale", i.UUID)
	case r.Task == ResizeReverting && m.Status == MigrationRevertSource:
		if err := s.setMigration(ctx, tx, &m, MigrationReverted); err != nil {
			return true, err
		}
		i.VMState, i.TaskState, i.PowerState = m.OldVMState, NoTask, r.PowerState
		return true, finishEvents(ctx, tx, i.UUID, EventFinishRevertResize, eventEnd{}, now)
	}
	return false, nil
}

// ConfirmResize is Nova's confirmResize: the instance, resized, keeps its
// destination; the migration is confirmed and the source's guest is the
// source agent's to remove (it is no longer kept there). The caller
// then releases the source's resources (ConfirmMove).
func (s *Store) ConfirmResize(ctx context.Context, v Viewer, id string) (Instance, Migration, error) {
	var m Migration
	i, err := s.writeInstance(ctx, id, func(tx *sqlstore.Tx, i *Instance) error {
		if !v.sees(i.ProjectID) {
			return instanceNotFound(id)
		}
		a := Actions["confirm_resize"]
		if err := a.Check(id, i.VMState, i.TaskState, i.LaunchedAt != nil); err != nil {
			return err
		}
		var ok bool
		var err error
		if m, ok, err = activeMigration(ctx, tx, id); err != nil {
			return err
		} else if !ok || m.Status != MigrationFinished {
			return novaError(fault.BadRequest, "MigrationNotFound", "Instance has not been resized.")
		}
		if err := s.setMigration(ctx, tx, &m, MigrationConfirmed); err != nil {
			return err
		}
		i.VMState = m.OldVMState
		if err := s.recordStart(ctx, tx, *i, a); err != nil {
			return err
		}
		now := s.now()
		if err := moveEvent(ctx, tx, *i, []string{"confirmResize"}, EventConfirmResize, m.Source, now); err != nil {
			return err
		}
		return finishEvents(ctx, tx, id, EventConfirmResize, eventEnd{}, now)
	})
	return i, m, err
}

// RevertResize is Nova's revertResize: the destination removes its guest
// (task resize_reverting), then the instance goes back to its source and
// old flavor, whose guest starts again.
func (s *Store) RevertResize(ctx context.Context, v Viewer, id string) (Instance, error) {
	return s.writeInstance(ctx, id, func(tx *sqlstore.Tx, i *Instance) error {
		if !v.sees(i.ProjectID) {
			return instanceNotFound(id)
		}
		a := Actions["revert_resize"]
		if err := a.Check(id, i.VMState, i.TaskState, i.LaunchedAt != nil); err != nil {
			return err
		}
		m, ok, err := activeMigration(ctx, tx, id)
		if err != nil {
			return err
		} else if !ok || m.Status != MigrationFinished {
			return novaError(fault.BadRequest, "MigrationNotFound", "Instance has not been resized.")
		}
		if err := s.setMigration(ctx, tx, &m, MigrationReverting); err != nil {
			return err
		}
		i.TaskState = a.Sets
		if err := s.recordStart(ctx, tx, *i, a); err != nil {
			return err
		}
		return moveEvent(ctx, tx, *i, []string{"revertResize"}, EventRevertResize, i.Host, s.now())
	})
}

// kept are the instances whose guests stay on host though the instance
// is placed elsewhere: the sources of moves not yet confirmed.
func kept(ctx context.Context, tx *sqlstore.Tx, host string) (map[string]Migration, error) {
	cond, args := liveCond()
	ms, err := queryMigrations(ctx, tx, "(source_compute = ? OR dest_compute = ?) AND "+cond, append([]any{host, host}, args...)...)
	if err != nil {
		return nil, err
	}
	out := map[string]Migration{}
	for _, m := range ms {
		out[m.InstanceID] = m
	}
	return out, nil
}

// endMigrations closes the moves under way of an instance being
// deleted (status error), and returns them, whose consumers the caller
// releases.
func endMigrations(ctx context.Context, s *Store, tx *sqlstore.Tx, id string) ([]Migration, error) {
	cond, args := liveCond()
	ms, err := queryMigrations(ctx, tx, "instance_uuid = ? AND "+cond, append([]any{id}, args...)...)
	if err != nil {
		return nil, err
	}
	for n := range ms {
		if err := s.setMigration(ctx, tx, &ms[n], MigrationError); err != nil {
			return nil, err
		}
	}
	return ms, nil
}
