package compute

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
)

// The binaries of Nova's services.
const (
	NovaCompute   = "nova-compute"
	NovaScheduler = "nova-scheduler"
	NovaConductor = "nova-conductor"
)

// DefaultServiceDownTime is Nova's service_down_time: a service whose
// last heartbeat is older is down.
const DefaultServiceDownTime = 60 * time.Second

// Service is a Nova service (nova-compute on each host, and the
// controller's services): its heartbeat and whether the scheduler may
// use it.
type Service struct {
	ID     int64  `json:"id"`
	UUID   string `json:"uuid"` // the id of Nova's API from 2.53
	Binary string `json:"binary"`
	Host   string `json:"host"`
	// Zone is the availability zone: a compute host's aggregates' zone
	// (DefaultAvailabilityZone when none), InternalAvailabilityZone for
	// the other binaries. It is computed on read.
	Zone           string    `json:"zone"`
	Disabled       bool      `json:"disabled"`
	DisabledReason string    `json:"disabled_reason"` // "" for none
	ForcedDown     bool      `json:"forced_down"`
	Version        int       `json:"version"`
	ReportCount    int64     `json:"report_count"`
	LastSeenUp     time.Time `json:"last_seen_up"`
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`
}

// Up is Nova's servicegroup db driver rule: a service forced down is
// down; otherwise it is up when its last heartbeat is within downTime of
// now, either way (DefaultServiceDownTime when downTime is not
// positive).
func (s Service) Up(now time.Time, downTime time.Duration) bool {
	if s.ForcedDown {
		return false
	}
	if downTime <= 0 {
		downTime = DefaultServiceDownTime
	}
	last := s.LastSeenUp
	if last.IsZero() {
		last = s.CreatedAt
	}
	elapsed := now.Sub(last)
	return elapsed.Abs() <= downTime
}

// ServiceUpdate is Nova's PUT /os-services/{id} from 2.53: Disabled is
// the status (true: disabled), DisabledReason goes with a disable only,
// ForcedDown marks the host down whatever its heartbeat. Nil leaves a
// field.
type ServiceUpdate struct {
	Disabled       *bool
	DisabledReason *string
	ForcedDown     *bool
}

func serviceNotFound(id string) error {
	return novaError(fault.NotFound, "ServiceNotFound", "Service %s could not be found.", id)
}

// serviceCols reads a service with its hosts' zone (alias s).
const serviceCols = `s.id, s.uuid, s.binary_name, s.host, s.disabled, s.disabled_reason, s.forced_down, s.version,
	s.report_count, s.last_seen_up, s.created_at, s.updated_at,
	COALESCE((SELECT MIN(m.meta_value) FROM compute_aggregate_hosts h
		JOIN compute_aggregate_metadata m ON m.aggregate_id = h.aggregate_id AND m.meta_key = 'availability_zone'
		WHERE h.host = s.host), '')`

func scanService(r interface{ Scan(...any) error }) (Service, error) {
	var sv Service
	var seen, created, updated int64
	if err := r.Scan(&sv.ID, &sv.UUID, &sv.Binary, &sv.Host, &sv.Disabled, &sv.DisabledReason, &sv.ForcedDown, &sv.Version,
		&sv.ReportCount, &seen, &created, &updated, &sv.Zone); err != nil {
		return Service{}, fmt.Errorf("compute: read service: %w", err)
	}
	sv.LastSeenUp, sv.CreatedAt, sv.UpdatedAt = time.UnixMicro(seen).UTC(), time.UnixMicro(created).UTC(), time.UnixMicro(updated).UTC()
	switch {
	case sv.Binary != NovaCompute:
		sv.Zone = InternalAvailabilityZone
	case sv.Zone == "":
		sv.Zone = DefaultAvailabilityZone
	}
	return sv, nil
}

func queryServices(ctx context.Context, q novaQuerier, cond string, args ...any) ([]Service, error) {
	rows, err := q.Query(ctx, "SELECT "+serviceCols+" FROM compute_services s WHERE "+cond+" ORDER BY s.id", args...)
	if err != nil {
		return nil, fmt.Errorf("compute: read services: %w", err)
	}
	defer rows.Close()
	out := []Service{}
	for rows.Next() {
		sv, err := scanService(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, sv)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("compute: read services: %w", err)
	}
	return out, nil
}

func serviceWhere(ctx context.Context, q novaQuerier, missing, cond string, args ...any) (Service, error) {
	svcs, err := queryServices(ctx, q, cond, args...)
	if err != nil {
		return Service{}, err
	}
	if len(svcs) == 0 {
		return Service{}, serviceNotFound(missing)
	}
	return svcs[0], nil
}

// ReportService is a service's heartbeat: it records that binary on host
// is up now, running version, creating the service (enabled) at its
// first report. The first report and a new version go to the watch
// feed; the periodic heartbeat that changes nothing else does not, as
// network agents' reports (whether a service is up is computed from the
// time of its last heartbeat, with Up).
func (s *Store) ReportService(ctx context.Context, binary, host string, version int) (Service, error) {
	if binary == "" {
		return Service{}, novaValidation("binary", binary, "'' is too short")
	}
	if err := checkHostName(host); err != nil {
		return Service{}, err
	}
	var out Service
	err := s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		now := s.now().UnixMicro()
		for range 2 {
			sv, err := serviceWhere(ctx, tx, binary+"@"+host, "s.binary_name = ? AND s.host = ?", binary, host)
			if errors.Is(err, fault.ErrNotFound) {
				created, err := s.insertService(ctx, tx, binary, host, version)
				if err != nil {
					return err
				}
				if !created {
					continue // a parallel first report made it: heartbeat it
				}
				if out, err = serviceWhere(ctx, tx, binary+"@"+host, "s.binary_name = ? AND s.host = ?", binary, host); err != nil {
					return err
				}
				return s.record(ctx, tx, "service", out.UUID, "", watch.Create, out)
			} else if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `UPDATE compute_services SET last_seen_up = ?, updated_at = ?, version = ?,
				report_count = report_count + 1 WHERE id = ?`, now, now, version, sv.ID); err != nil {
				return fmt.Errorf("compute: heartbeat of %s on %s: %w", binary, host, err)
			}
			changed := sv.Version != version
			sv.Version, sv.ReportCount = version, sv.ReportCount+1
			sv.LastSeenUp, sv.UpdatedAt = time.UnixMicro(now).UTC(), time.UnixMicro(now).UTC()
			out = sv
			if !changed {
				return nil
			}
			return s.record(ctx, tx, "service", sv.UUID, "", watch.Update, sv)
		}
		return fmt.Errorf("compute: heartbeat of %s on %s: no row after its insert", binary, host)
	})
	if err != nil {
		return Service{}, err
	}
	return out, nil
}

// insertService makes the row of binary on host, or reports false if a
// parallel first report made it.
func (s *Store) insertService(ctx context.Context, tx *sqlstore.Tx, binary, host string, version int) (bool, error) {
	id, err := nextID(ctx, tx, "service")
	if err != nil {
		return false, err
	}
	now := s.now().UnixMicro()
	res, err := tx.Exec(ctx, `INSERT INTO compute_services (id, uuid, binary_name, host, disabled, forced_down, version,
		report_count, last_seen_up, created_at, updated_at) VALUES (?, ?, ?, ?, FALSE, FALSE, ?, 1, ?, ?, ?)
		ON CONFLICT (binary_name, host) DO NOTHING`, id, uuid.NewString(), binary, host, version, now, now, now)
	if err != nil {
		return false, fmt.Errorf("compute: create service %s on %s: %w", binary, host, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// Service returns the service of uuid id (Nova's ServiceNotFound).
func (s *Store) Service(ctx context.Context, id string) (Service, error) {
	return serviceWhere(ctx, s.db, id, "s.uuid = ?", id)
}

// Services lists the services by id, of binary and on host when not "".
func (s *Store) Services(ctx context.Context, binary, host string) ([]Service, error) {
	conds, args := []string{"1 = 1"}, []any{}
	if binary != "" {
		conds, args = append(conds, "s.binary_name = ?"), append(args, binary)
	}
	if host != "" {
		conds, args = append(conds, "s.host = ?"), append(args, host)
	}
	return queryServices(ctx, s.db, strings.Join(conds, " AND "), args...)
}

// checkServiceUpdate is Nova's refusals of a PUT /os-services/{id} body
// (2.53) before the service is read.
func checkServiceUpdate(u ServiceUpdate) error {
	if u.DisabledReason != nil {
		switch n := utf8.RuneCountInString(*u.DisabledReason); {
		case n == 0:
			return novaValidation("disabled_reason", "", "'' is too short")
		case n > 255:
			return novaValidation("disabled_reason", *u.DisabledReason, "%s is too long", pyRepr(*u.DisabledReason))
		}
	}
	return nil
}

// UpdateService enables or disables service id (uuid) with a reason, or
// forces it down or not: Nova's PUT /os-services/{id} from 2.53. Only
// nova-compute services may be updated.
//
// Nova refuses to unset forced_down while evacuations from the host are
// in progress; the Store does not know migrations and leaves that check
// to the caller.
func (s *Store) UpdateService(ctx context.Context, id string, u ServiceUpdate) (Service, error) {
	if err := checkServiceUpdate(u); err != nil {
		return Service{}, err
	}
	var out Service
	err := s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		// The row lock first, so that two updates of one service take turns.
		if _, err := tx.Exec(ctx, "UPDATE compute_services SET updated_at = updated_at WHERE uuid = ?", id); err != nil {
			return fmt.Errorf("compute: update service %s: %w", id, err)
		}
		sv, err := serviceWhere(ctx, tx, id, "s.uuid = ?", id)
		if err != nil {
			return err
		}
		if sv.Binary != NovaCompute {
			return novaError(fault.BadRequest, "", "Updating a %s service is not supported. Only nova-compute services can be updated.", sv.Binary)
		}
		switch {
		case u.Disabled != nil && !*u.Disabled:
			if u.DisabledReason != nil && *u.DisabledReason != "" {
				return novaError(fault.BadRequest, "", "Specifying 'disabled_reason' with status 'enabled' is invalid.")
			}
			sv.Disabled, sv.DisabledReason = false, ""
		case u.Disabled != nil:
			sv.Disabled, sv.DisabledReason = true, ""
			if u.DisabledReason != nil {
				sv.DisabledReason = *u.DisabledReason
			}
		}
		if u.ForcedDown != nil {
			sv.ForcedDown = *u.ForcedDown
		}
		if u.Disabled == nil && u.ForcedDown == nil {
			return novaError(fault.BadRequest, "", "No updates were requested. Fields 'status' or 'forced_down' should be specified.")
		}
		now := s.now()
		sv.UpdatedAt = now
		if _, err := tx.Exec(ctx, "UPDATE compute_services SET disabled = ?, disabled_reason = ?, forced_down = ?, updated_at = ? WHERE id = ?",
			sv.Disabled, sv.DisabledReason, sv.ForcedDown, now.UnixMicro(), sv.ID); err != nil {
			return fmt.Errorf("compute: update service %s: %w", id, err)
		}
		out = sv
		return s.record(ctx, tx, "service", sv.UUID, "", watch.Update, sv)
	})
	if err != nil {
		return Service{}, err
	}
	return out, nil
}

// DeleteService deletes service id (uuid). A nova-compute service's host
// leaves every aggregate in the same transaction, as Nova does.
//
// Nova refuses to delete a compute service whose host holds instances or
// in-progress migrations, and deletes the host's resource providers; the
// Store knows neither and leaves both to the caller.
func (s *Store) DeleteService(ctx context.Context, id string) error {
	return s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		if err := lockAggregates(ctx, tx); err != nil { // lock order: aggregates, then the service
			return err
		}
		sv, err := serviceWhere(ctx, tx, id, "s.uuid = ?", id)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "DELETE FROM compute_services WHERE id = ?", sv.ID); err != nil {
			return fmt.Errorf("compute: delete service %s: %w", id, err)
		}
		if sv.Binary == NovaCompute {
			if err := s.removeHostFromAggregates(ctx, tx, sv.Host); err != nil {
				return err
			}
			if err := unbindHostAgent(ctx, tx, sv.Host); err != nil {
				return err
			}
		}
		return s.record(ctx, tx, "service", sv.UUID, "", watch.Delete, nil)
	})
}
