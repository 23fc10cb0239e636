package compute

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/sqlstore"
)

// InstanceAction is one thing asked of a server, as Nova records it
// (nova/objects/instance_action.py) and os-instance-actions shows it:
// who asked, in which request, when, and the events of the work it
// took. Actions are written in the transaction of the state change
// they describe; they are not on the watch feed (no agent acts on
// them).
type InstanceAction struct {
	ID         int64  `json:"-"`
	InstanceID string `json:"instance_uuid"`
	// Action is Nova's name (nova/compute/instance_actions.py):
	// "create", "stop", "reboot", "resetState"...
	Action    string `json:"action"`
	RequestID string `json:"request_id"`
	// UserID and ProjectID are the caller's ("" when the action was not
	// asked through the API).
	UserID    string `json:"user_id"`
	ProjectID string `json:"project_id"`
	// Message is "Error" once an event of the action failed, as Nova
	// sets it; "" otherwise.
	Message   string    `json:"message"`
	StartTime time.Time `json:"start_time"`
	UpdatedAt time.Time `json:"updated_at"`
	// Events are filled by InstanceAction (one action), newest first.
	Events []InstanceActionEvent `json:"events,omitempty"`
}

// InstanceActionEvent is a step of an action done by a service on a
// host, with its result.
type InstanceActionEvent struct {
	// Event is Nova's name (the Event* constants).
	Event string `json:"event"`
	Host  string `json:"host"`
	// Result is "" while the event runs, then "Success" or "Error".
	Result string `json:"result"`
	// Details is the failure's message (Nova's exception message), and
	// Traceback its explanation (where Nova keeps the Python
	// traceback); both "" on success.
	Details    string     `json:"details"`
	Traceback  string     `json:"traceback"`
	StartTime  time.Time  `json:"start_time"`
	FinishTime *time.Time `json:"finish_time"`
}

// Results of finished events.
const (
	EventSuccess = "Success"
	EventError   = "Error"
)

// Nova's names of the events gostack records: the compute manager's
// wrap_instance_event names an event compute_<method>, and the
// conductor's burial of an instance it could not schedule
// conductor_schedule_and_build_instances.
const (
	EventScheduleAndBuild = "conductor_schedule_and_build_instances"
	EventBuild            = "compute__do_build_and_run_instance"
	EventTerminate        = "compute_terminate_instance"
	EventStop             = "compute_stop_instance"
	EventStart            = "compute_start_instance"
	EventReboot           = "compute_reboot_instance"
	EventPause            = "compute_pause_instance"
	EventUnpause          = "compute_unpause_instance"
	EventSuspend          = "compute_suspend_instance"
	EventResume           = "compute_resume_instance"
)

// hostTasks are the tasks a host's agent does and ends with a report:
// the event Nova's compute manager records for each, and the vm_state
// the task leaves when it succeeds.
var hostTasks = map[TaskState]struct {
	event string
	done  VMState
}{
	Spawning:      {EventBuild, Active},
	Deleting:      {EventTerminate, Deleted},
	PoweringOff:   {EventStop, Stopped},
	PoweringOn:    {EventStart, Active},
	Rebooting:     {EventReboot, Active},
	RebootingHard: {EventReboot, Active},
	Pausing:       {EventPause, Paused},
	Unpausing:     {EventUnpause, Active},
	Suspending:    {EventSuspend, Suspended},
	Resuming:      {EventResume, Active},
	// A snapshot leaves the vm_state it found.
	ImageSnapshotPending: {EventSnapshot, ""},
}

// Requester is who asks for an action, as Nova's RequestContext carries
// it into the actions it records: the request's id (the API's
// X-OpenStack-Request-Id), the caller's user and project.
type Requester struct {
	RequestID string
	UserID    string
	ProjectID string
}

type requesterKey struct{}

// WithRequester returns a copy of ctx carrying r, which the actions the
// Store records while serving ctx name (CreateInstance, StartAction,
// ResetState). The Compute API sets it for every request.
func WithRequester(ctx context.Context, r Requester) context.Context {
	return context.WithValue(ctx, requesterKey{}, r)
}

// requester is the Requester of ctx. Without one (a tool, a test) an
// action gets a fresh request id and no user or project, as the actions
// of Nova's admin contexts have none.
func requester(ctx context.Context) Requester {
	r, _ := ctx.Value(requesterKey{}).(Requester)
	if r.RequestID == "" {
		r.RequestID = "req-" + uuid.NewString()
	}
	return r
}

// recordAction starts action name on instance for ctx's requester
// (Nova's InstanceAction.action_start), in tx, and returns its id.
func (s *Store) recordAction(ctx context.Context, tx *sqlstore.Tx, instance, name string, at time.Time) (int64, error) {
	rq := requester(ctx)
	id, err := nextID(ctx, tx, "instance_action")
	if err != nil {
		return 0, err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO compute_instance_actions (id, instance_uuid, action, request_id, user_id, project_id,
		message, start_time, updated_at) VALUES (?, ?, ?, ?, ?, ?, NULL, ?, ?)`,
		id, instance, name, rq.RequestID, rq.UserID, rq.ProjectID, at.UnixMicro(), at.UnixMicro()); err != nil {
		return 0, fmt.Errorf("compute: record action %s of %s: %w", name, instance, err)
	}
	return id, nil
}

// createAction is the id of instance's latest create action; 0 for an
// instance made before actions were recorded.
func createAction(ctx context.Context, tx *sqlstore.Tx, instance string) (int64, error) {
	var id int64
	err := tx.Get(ctx, `SELECT id FROM compute_instance_actions WHERE instance_uuid = ? AND action = 'create'
		ORDER BY start_time DESC, id DESC LIMIT 1`, []any{instance}, &id)
	if errors.Is(err, sqlstore.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("compute: create action of %s: %w", instance, err)
	}
	return id, nil
}

// startEvent starts event of action on host (Nova's event_start); the
// action's updated_at moves to at.
func startEvent(ctx context.Context, tx *sqlstore.Tx, action int64, event, host string, at time.Time) error {
	if _, err := tx.Exec(ctx, `INSERT INTO compute_instance_action_events (action_id, event, host, start_time) VALUES (?, ?, ?, ?)`,
		action, event, host, at.UnixMicro()); err != nil {
		return fmt.Errorf("compute: start event %s: %w", event, err)
	}
	if _, err := tx.Exec(ctx, "UPDATE compute_instance_actions SET updated_at = ? WHERE id = ?", at.UnixMicro(), action); err != nil {
		return fmt.Errorf("compute: start event %s: %w", event, err)
	}
	return nil
}

// eventEnd is how an event finished: Error with the failure's message
// (details) and explanation (traceback), or Success.
type eventEnd struct {
	err       bool
	details   string
	traceback string
}

// finishEvents finishes the events named event of instance's actions
// that are still running ("" for every running one) as end says (Nova's
// event_finish_with_failure): their actions' updated_at moves to at,
// and an Error sets the action's message to "Error".
func finishEvents(ctx context.Context, tx *sqlstore.Tx, instance, event string, end eventEnd, at time.Time) error {
	cond := "finish_time IS NULL AND action_id IN (SELECT id FROM compute_instance_actions WHERE instance_uuid = ?)"
	args := []any{instance}
	if event != "" {
		cond, args = cond+" AND event = ?", append(args, event)
	}
	rows, err := tx.Query(ctx, "SELECT DISTINCT action_id FROM compute_instance_action_events WHERE "+cond, args...)
	if err != nil {
		return fmt.Errorf("compute: events of %s: %w", instance, err)
	}
	var actions []any
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return err
		}
		actions = append(actions, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if len(actions) == 0 {
		return nil
	}
	result, details, traceback := EventSuccess, any(nil), any(nil)
	if end.err {
		result, details, traceback = EventError, end.details, end.traceback
	}
	if _, err := tx.Exec(ctx, "UPDATE compute_instance_action_events SET result = ?, details = ?, traceback = ?, finish_time = ? WHERE "+cond,
		append([]any{result, details, traceback, at.UnixMicro()}, args...)...); err != nil {
		return fmt.Errorf("compute: finish events of %s: %w", instance, err)
	}
	set := "updated_at = ?"
	if end.err {
		set += ", message = 'Error'"
	}
	in := strings.TrimSuffix(strings.Repeat("?, ", len(actions)), ", ")
	if _, err := tx.Exec(ctx, "UPDATE compute_instance_actions SET "+set+" WHERE id IN ("+in+")",
		append([]any{at.UnixMicro()}, actions...)...); err != nil {
		return fmt.Errorf("compute: finish events of %s: %w", instance, err)
	}
	return nil
}

// recordStart records action a started on instance i (its task_state
// already a.Sets), with the event of the host's work when a host does
// it. A delete of an instance no host has records nothing: Nova's
// local delete records no action.
func (s *Store) recordStart(ctx context.Context, tx *sqlstore.Tx, i Instance, a Action) error {
	if a.Record == "" || a.Sets == Deleting && i.Host == "" {
		return nil
	}
	now := s.now()
	id, err := s.recordAction(ctx, tx, i.UUID, a.Record, now)
	if err != nil {
		return err
	}
	if t, ok := hostTasks[a.Sets]; ok && i.Host != "" {
		return startEvent(ctx, tx, id, t.event, i.Host, now)
	}
	return nil
}

// recordReport finishes the event of the task a host's report ends:
// Success when the instance is where the task leads, Error with the
// fault when it failed (or with what the host left when it reports no
// fault). A delete's end also ends every other running event of the
// instance, as its work is gone with it.
func recordReport(ctx context.Context, tx *sqlstore.Tx, i Instance, r InstanceReport, at time.Time) error {
	t, ok := hostTasks[r.Task]
	switch {
	case r.Deleted:
		if err := finishEvents(ctx, tx, i.UUID, EventTerminate, eventEnd{}, at); err != nil {
			return err
		}
		return finishEvents(ctx, tx, i.UUID, "", eventEnd{err: true, details: fmt.Sprintf("Instance %s could not be found.", i.UUID)}, at)
	case !ok:
		return nil
	case r.Fault != nil:
		return finishEvents(ctx, tx, i.UUID, t.event, eventEnd{err: true, details: r.Fault.Message, traceback: r.Fault.Details}, at)
	case r.Error != "":
		return finishEvents(ctx, tx, i.UUID, t.event, eventEnd{err: true, details: r.Error}, at)
	case t.done != "" && r.VMState != t.done:
		return finishEvents(ctx, tx, i.UUID, t.event, eventEnd{err: true,
			details: fmt.Sprintf("Instance %s was left in vm_state %s by its host", i.UUID, r.VMState)}, at)
	}
	return finishEvents(ctx, tx, i.UUID, t.event, eventEnd{}, at)
}

// ActionFilter narrows and pages InstanceActions (Nova 2.58 and 2.66).
type ActionFilter struct {
	// Deleted: the instance may be deleted (Nova 2.21 on).
	Deleted bool
	// ChangesSince and ChangesBefore bound updated_at, both inclusive;
	// zero: no bound.
	ChangesSince  time.Time
	ChangesBefore time.Time
	// Marker is a request id: the page starts after its action (a
	// marker that names none is a 400, Nova's MarkerNotFound). Limit is
	// the most actions answered; 0: all.
	Marker string
	Limit  int
}

// ActionInstance is instance id as os-instance-actions finds it: one v
// may see, and when deleted is set (Nova 2.21 on) also one deleted.
func (s *Store) ActionInstance(ctx context.Context, v Viewer, id string, deleted bool) (Instance, error) {
	cond := "uuid = ? AND deleted_at IS NULL"
	if deleted {
		cond = "uuid = ?"
	}
	is, err := getInstance(ctx, s.db, cond, id)
	if err != nil {
		return Instance{}, err
	}
	if len(is) == 0 || !v.sees(is[0].ProjectID) {
		return Instance{}, instanceNotFound(id)
	}
	return is[0], nil
}

const actionCols = "id, instance_uuid, action, request_id, user_id, project_id, message, start_time, updated_at"

func getActions(ctx context.Context, q novaQuerier, cond string, args ...any) ([]InstanceAction, error) {
	rows, err := q.Query(ctx, "SELECT "+actionCols+" FROM compute_instance_actions WHERE "+cond, args...)
	if err != nil {
		return nil, fmt.Errorf("compute: instance actions: %w", err)
	}
	defer rows.Close()
	out := []InstanceAction{}
	for rows.Next() {
		var a InstanceAction
		var msg sql.NullString
		var start, updated int64
		if err := rows.Scan(&a.ID, &a.InstanceID, &a.Action, &a.RequestID, &a.UserID, &a.ProjectID, &msg, &start, &updated); err != nil {
			return nil, err
		}
		a.Message = msg.String
		a.StartTime, a.UpdatedAt = time.UnixMicro(start).UTC(), time.UnixMicro(updated).UTC()
		out = append(out, a)
	}
	return out, rows.Err()
}

// byRequest finds instance's action of request (the newest, should a
// client have sent one request id twice, as Nova's
// action_get_by_request_id).
func byRequest(ctx context.Context, q novaQuerier, instance, request string) (InstanceAction, bool, error) {
	as, err := getActions(ctx, q, "instance_uuid = ? AND request_id = ? ORDER BY start_time DESC, id DESC LIMIT 1", instance, request)
	if err != nil || len(as) == 0 {
		return InstanceAction{}, false, err
	}
	return as[0], true, nil
}

// InstanceActions lists the actions of instance id as v sees it,
// newest first (Nova's order: created_at, then id, descending).
func (s *Store) InstanceActions(ctx context.Context, v Viewer, id string, f ActionFilter) ([]InstanceAction, error) {
	if _, err := s.ActionInstance(ctx, v, id, f.Deleted); err != nil {
		return nil, err
	}
	conds, args := []string{"instance_uuid = ?"}, []any{id}
	if !f.ChangesSince.IsZero() {
		conds, args = append(conds, "updated_at >= ?"), append(args, f.ChangesSince.UnixMicro())
	}
	if !f.ChangesBefore.IsZero() {
		conds, args = append(conds, "updated_at <= ?"), append(args, f.ChangesBefore.UnixMicro())
	}
	if f.Marker != "" {
		m, ok, err := byRequest(ctx, s.db, id, f.Marker)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, novaError(fault.BadRequest, "MarkerNotFound", "Marker %s could not be found.", f.Marker)
		}
		conds = append(conds, "(start_time < ? OR (start_time = ? AND id < ?))")
		args = append(args, m.StartTime.UnixMicro(), m.StartTime.UnixMicro(), m.ID)
	}
	q := strings.Join(conds, " AND ") + " ORDER BY start_time DESC, id DESC"
	if f.Limit > 0 {
		q, args = q+" LIMIT ?", append(args, f.Limit)
	}
	return getActions(ctx, s.db, q, args...)
}

// InstanceAction is the action of request on instance id as v sees it,
// with its events, newest first. deleted: the instance may be deleted
// (Nova 2.21 on). An action not found is Nova's 404 "Action %s not
// found".
func (s *Store) InstanceAction(ctx context.Context, v Viewer, id, request string, deleted bool) (InstanceAction, error) {
	if _, err := s.ActionInstance(ctx, v, id, deleted); err != nil {
		return InstanceAction{}, err
	}
	a, ok, err := byRequest(ctx, s.db, id, request)
	if err != nil {
		return InstanceAction{}, err
	}
	if !ok {
		return InstanceAction{}, novaError(fault.NotFound, "InstanceActionNotFound", "Action %s not found", request)
	}
	rows, err := s.db.Query(ctx, `SELECT event, host, result, details, traceback, start_time, finish_time
		FROM compute_instance_action_events WHERE action_id = ? ORDER BY start_time DESC, event DESC`, a.ID)
	if err != nil {
		return InstanceAction{}, fmt.Errorf("compute: events of action %s: %w", request, err)
	}
	defer rows.Close()
	a.Events = []InstanceActionEvent{}
	for rows.Next() {
		var e InstanceActionEvent
		var result, details, traceback sql.NullString
		var start int64
		var finish sql.NullInt64
		if err := rows.Scan(&e.Event, &e.Host, &result, &details, &traceback, &start, &finish); err != nil {
			return InstanceAction{}, err
		}
		e.Result, e.Details, e.Traceback = result.String, details.String, traceback.String
		e.StartTime = time.UnixMicro(start).UTC()
		if finish.Valid {
			t := time.UnixMicro(finish.Int64).UTC()
			e.FinishTime = &t
		}
		a.Events = append(a.Events, e)
	}
	return a, rows.Err()
}
