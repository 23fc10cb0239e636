package dns

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/gostack/gostack/kit/sqlstore"
)

// Service statuses, as Designate's ServiceStatus has them.
const (
	ServiceUp      = "UP"
	ServiceWarning = "WARNING" // running, but something it does is failing
	ServiceDown    = "DOWN"    // stopped, or silent for MissedBeats heartbeats
)

// MissedBeats is how many heartbeat intervals a service may stay silent
// before its status reads DOWN. Designate keeps the last status a
// service sent for ever, so a dead service stays UP there.
const MissedBeats = 3

// DefaultHeartbeatInterval is Designate's [heartbeat_emitter]
// heartbeat_interval.
const DefaultHeartbeatInterval = 10 * time.Second

// ServiceStatus is one running service's last heartbeat (Designate's
// service_statuses): which service, on which host, its status and its
// figures.
type ServiceStatus struct {
	ID            string           `json:"id"`
	ServiceName   string           `json:"service_name"`
	Hostname      string           `json:"hostname"`
	Status        string           `json:"status"`
	Stats         map[string]int64 `json:"stats"`
	Capabilities  map[string]any   `json:"capabilities"`
	Interval      time.Duration    `json:"-"`
	HeartbeatedAt time.Time        `json:"heartbeated_at"`
	CreatedAt     time.Time        `json:"created_at"`
	UpdatedAt     time.Time        `json:"updated_at"`
}

const serviceCols = "id, service_name, hostname, status, stats, capabilities, interval_us, heartbeated_at, created_at, updated_at"

// scanServiceStatus reads a row, DOWN when its heartbeat is more than
// MissedBeats intervals older than now.
func scanServiceStatus(r scanner, now time.Time) (ServiceStatus, error) {
	var st ServiceStatus
	var stats, caps string
	var interval, beat, created, updated int64
	if err := r.Scan(&st.ID, &st.ServiceName, &st.Hostname, &st.Status, &stats, &caps, &interval, &beat, &created, &updated); err != nil {
		return st, err
	}
	if err := json.Unmarshal([]byte(stats), &st.Stats); err != nil {
		return st, fmt.Errorf("dns: service status %s stats: %w", st.ID, err)
	}
	if err := json.Unmarshal([]byte(caps), &st.Capabilities); err != nil {
		return st, fmt.Errorf("dns: service status %s capabilities: %w", st.ID, err)
	}
	st.Interval = time.Duration(interval) * time.Microsecond
	st.HeartbeatedAt, st.CreatedAt, st.UpdatedAt = fromMicros(beat), fromMicros(created), fromMicros(updated)
	if now.Sub(st.HeartbeatedAt) > MissedBeats*st.Interval {
		st.Status = ServiceDown
	}
	return st, nil
}

// ServiceStatusFilter selects statuses; empty fields match any.
type ServiceStatusFilter struct {
	ServiceName, Hostname, Status string
}

// ListServiceStatuses returns the services that ever sent a heartbeat,
// by service name and host, with the status as it reads now.
func (s *Store) ListServiceStatuses(ctx context.Context, f ServiceStatusFilter) ([]ServiceStatus, error) {
	now := s.now()
	rows, err := s.db.Query(ctx, "SELECT "+serviceCols+" FROM dns_service_statuses WHERE (service_name = ? OR ? = '') "+
		"AND (hostname = ? OR ? = '') ORDER BY service_name, hostname", f.ServiceName, f.ServiceName, f.Hostname, f.Hostname)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []ServiceStatus{}
	for rows.Next() {
		st, err := scanServiceStatus(rows, now)
		if err != nil {
			return nil, err
		}
		if f.Status == "" || st.Status == f.Status {
			out = append(out, st)
		}
	}
	return out, rows.Err()
}

// GetServiceStatus returns one service's status (404
// service_status_not_found).
func (s *Store) GetServiceStatus(ctx context.Context, id string) (ServiceStatus, error) {
	now := s.now()
	rows, err := s.db.Query(ctx, "SELECT "+serviceCols+" FROM dns_service_statuses WHERE id = ?", id)
	if err != nil {
		return ServiceStatus{}, err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return ServiceStatus{}, err
		}
		return ServiceStatus{}, notFound("ServiceStatus", "service_status_not_found")
	}
	return scanServiceStatus(rows, now)
}

// Heartbeat records st as the current status of its service on its host
// (Designate's central update_service_status): the row of that service
// and host is made or replaced, heartbeated now. It writes nothing to the
// watch feed.
func (s *Store) Heartbeat(ctx context.Context, st ServiceStatus) (ServiceStatus, error) {
	if st.ServiceName == "" || st.Hostname == "" {
		return ServiceStatus{}, fmt.Errorf("dns: heartbeat without a service name or a host name")
	}
	switch st.Status {
	case ServiceUp, ServiceWarning, ServiceDown:
	default:
		return ServiceStatus{}, fmt.Errorf("dns: heartbeat status %q", st.Status)
	}
	if st.Interval <= 0 {
		st.Interval = DefaultHeartbeatInterval
	}
	if st.Stats == nil {
		st.Stats = map[string]int64{}
	}
	if st.Capabilities == nil {
		st.Capabilities = map[string]any{}
	}
	now := s.now()
	var out ServiceStatus
	err := s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		_, err := tx.Exec(ctx, "INSERT INTO dns_service_statuses ("+serviceCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "+
			"ON CONFLICT (service_name, hostname) DO UPDATE SET status = excluded.status, stats = excluded.stats, "+
			"capabilities = excluded.capabilities, interval_us = excluded.interval_us, heartbeated_at = excluded.heartbeated_at, "+
			"updated_at = excluded.updated_at",
			newID(), st.ServiceName, st.Hostname, st.Status, jsonText(st.Stats), jsonText(st.Capabilities),
			st.Interval.Microseconds(), micros(now), micros(now), micros(now))
		if err != nil {
			return err
		}
		rows, err := tx.Query(ctx, "SELECT "+serviceCols+" FROM dns_service_statuses WHERE service_name = ? AND hostname = ?",
			st.ServiceName, st.Hostname)
		if err != nil {
			return err
		}
		defer rows.Close()
		if !rows.Next() {
			if err := rows.Err(); err != nil {
				return err
			}
			return fmt.Errorf("dns: service status of %s on %s: no row after its write", st.ServiceName, st.Hostname)
		}
		out, err = scanServiceStatus(rows, now)
		return err
	})
	return out, err
}

// Heartbeater reports a running service's status to the store at start
// and every Interval, as Designate's heartbeat emitter does, until its
// context ends; then it reports the service DOWN. The status is derived
// from the service itself: Check says UP or WARNING and gives its
// figures. A process that dies without reporting reads DOWN once
// MissedBeats intervals pass.
type Heartbeater struct {
	Store *Store
	// Service is the service's name ("api", "publisher", "dns-server").
	Service string
	// Host is the host name (os.Hostname when empty), Designate's
	// CONF.host.
	Host string
	// Interval between heartbeats (DefaultHeartbeatInterval when 0).
	Interval time.Duration
	// Check returns the service's status, ServiceUp or ServiceWarning,
	// and its figures; nil: UP with none.
	Check func(ctx context.Context) (status string, stats map[string]int64)
	// Capabilities are sent with every heartbeat (Designate's, free-form).
	Capabilities map[string]any
	Log          *slog.Logger
}

// Run sends heartbeats until ctx ends and returns nil; a failed
// heartbeat is logged and the next one tried on time.
func (h *Heartbeater) Run(ctx context.Context) error {
	host := h.Host
	if host == "" {
		var err error
		if host, err = os.Hostname(); err != nil || host == "" {
			host = "localhost"
		}
	}
	every := h.Interval
	if every <= 0 {
		every = DefaultHeartbeatInterval
	}
	log := h.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	beat := func(ctx context.Context, status string, stats map[string]int64) {
		_, err := h.Store.Heartbeat(ctx, ServiceStatus{ServiceName: h.Service, Hostname: host, Status: status, Stats: stats,
			Capabilities: h.Capabilities, Interval: every})
		if err != nil && ctx.Err() == nil {
			log.Warn("dns: heartbeat failed", "service", h.Service, "err", err)
		}
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		status, stats := ServiceUp, map[string]int64(nil)
		if h.Check != nil {
			status, stats = h.Check(ctx)
		}
		if ctx.Err() != nil {
			break
		}
		beat(ctx, status, stats)
		select {
		case <-ctx.Done():
		case <-t.C:
			continue
		}
		break
	}
	// Stopped: say so at once rather than after MissedBeats intervals.
	down, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	beat(down, ServiceDown, nil)
	return nil
}
