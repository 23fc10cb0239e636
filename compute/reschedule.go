package compute

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/gostack/gostack/kit/sqlstore"
)

// DefaultMaxBuildAttempts is how many hosts a build is tried on before
// it ends in error (Nova's scheduler max_attempts).
const DefaultMaxBuildAttempts = 3

// BuildRetry is what a build that failed on hosts keeps for its next
// try (Nova's retry): the hosts it failed on, in order, and each one's
// error. The builder schedules the next try away from them.
type BuildRetry struct {
	Hosts  []string `json:"hosts"`
	Faults []string `json:"faults"`
}

// Attempts is how many hosts the build failed on.
func (r BuildRetry) Attempts() int { return len(r.Hosts) }

// Summary is the failures one per host, for a fault's details.
func (r BuildRetry) Summary() string {
	parts := make([]string, len(r.Hosts))
	for n, h := range r.Hosts {
		parts[n] = h + ": " + r.Faults[n]
	}
	return strings.Join(parts, "; ")
}

func (s *Store) maxAttempts() int {
	if s.MaxBuildAttempts > 0 {
		return s.MaxBuildAttempts
	}
	return DefaultMaxBuildAttempts
}

// BuildRetry is instance id's retry record; zero when its build has not
// failed on a host.
func (s *Store) BuildRetry(ctx context.Context, id string) (BuildRetry, error) {
	var r BuildRetry
	err := s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		var err error
		r, err = getRetry(ctx, tx, id)
		return err
	})
	return r, err
}

func getRetry(ctx context.Context, tx *sqlstore.Tx, id string) (BuildRetry, error) {
	var hosts, faults string
	var attempts int
	err := tx.Get(ctx, "SELECT attempts, hosts, faults FROM compute_build_retries WHERE instance_uuid = ?", []any{id}, &attempts, &hosts, &faults)
	if errors.Is(err, sqlstore.ErrNotFound) {
		return BuildRetry{}, nil
	}
	if err != nil {
		return BuildRetry{}, fmt.Errorf("compute: build retries of %s: %w", id, err)
	}
	var r BuildRetry
	if err := json.Unmarshal([]byte(hosts), &r.Hosts); err != nil {
		return BuildRetry{}, fmt.Errorf("compute: build retries of %s: %w", id, err)
	}
	if err := json.Unmarshal([]byte(faults), &r.Faults); err != nil {
		return BuildRetry{}, fmt.Errorf("compute: build retries of %s: %w", id, err)
	}
	return r, nil
}

// dropRetry forgets instance id's retry record: its build ended on a
// host, or the instance is gone.
func dropRetry(ctx context.Context, tx *sqlstore.Tx, id string) error {
	if _, err := tx.Exec(ctx, "DELETE FROM compute_build_retries WHERE instance_uuid = ?", id); err != nil {
		return fmt.Errorf("compute: build retries of %s: %w", id, err)
	}
	return nil
}

// reschedule records that i's build failed on its host with f and, when
// another try is left (fewer than MaxBuildAttempts hosts tried), sends
// i back to the builder: no host, task_state scheduling, vm_state still
// building. Its ports stay its own: the next Allocate takes them again
// on the next host. It reports whether i was sent back, and the record.
func (s *Store) reschedule(ctx context.Context, tx *sqlstore.Tx, i *Instance, f Fault) (bool, BuildRetry, error) {
	r, err := getRetry(ctx, tx, i.UUID)
	if err != nil {
		return false, r, err
	}
	r.Hosts, r.Faults = append(r.Hosts, i.Host), append(r.Faults, f.Message)
	hosts, _ := json.Marshal(r.Hosts)
	faults, _ := json.Marshal(r.Faults)
	if _, err := tx.Exec(ctx, `INSERT INTO compute_build_retries (instance_uuid, attempts, hosts, faults) VALUES (?, ?, ?, ?)
		ON CONFLICT (instance_uuid) DO UPDATE SET attempts = excluded.attempts, hosts = excluded.hosts, faults = excluded.faults`,
		i.UUID, r.Attempts(), string(hosts), string(faults)); err != nil {
		return false, r, fmt.Errorf("compute: build retries of %s: %w", i.UUID, err)
	}
	if r.Attempts() >= s.maxAttempts() {
		return false, r, nil
	}
	i.Host, i.Node, i.TaskState, i.PowerState = "", "", Scheduling, PowerNoState
	return true, r, nil
}
