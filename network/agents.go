package network

import (
	"context"
	"encoding/json"
	"errors"
	"net/netip"
	"time"

	"github.com/google/uuid"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
)

// OVSAgent is the agent_type of the network host agent, as Neutron's
// Open vSwitch agent reports it.
const OVSAgent = "Open vSwitch agent"

// DefaultAgentDownTime is Neutron's agent_down_time: an agent whose last
// report is older is not alive.
const DefaultAgentDownTime = 75 * time.Second

// Agent is a host agent as Neutron's /v2.0/agents shows it.
type Agent struct {
	ID               string         `json:"id"`
	AgentType        string         `json:"agent_type"`
	Binary           string         `json:"binary"`
	Host             string         `json:"host"`
	Topic            string         `json:"topic"`
	AvailabilityZone string         `json:"availability_zone,omitempty"`
	AdminStateUp     bool           `json:"admin_state_up"`
	Alive            bool           `json:"alive"`
	Description      string         `json:"description"`
	TunnelIP         netip.Addr     `json:"-"`
	Configurations   map[string]any `json:"configurations"`
	CreatedAt        time.Time      `json:"created_at"`
	StartedAt        time.Time      `json:"started_at"`
	HeartbeatAt      time.Time      `json:"heartbeat_timestamp"`
}

// AgentReport is what an agent says about itself at start and then
// periodically: its type, binary and host, its VTEP address, its
// configuration as /v2.0/agents shows it, and whether it has just
// started.
type AgentReport struct {
	AgentType      string
	Binary         string
	Host           string
	Topic          string
	TunnelIP       netip.Addr
	Configurations map[string]any
	Start          bool // the agent (re)started: sets started_at
}

// ReportAgent records an agent's report, creating its row on the first
// one. Only a report that changes what other hosts act on (a new agent, a
// new tunnel address, a new configuration) goes to the watch feed: the
// periodic heartbeat that changes nothing else does not wake every agent.
func (s *Store) ReportAgent(ctx context.Context, r AgentReport) (Agent, error) {
	a, err := s.reportAgent(ctx, r)
	if fault.KindOf(err) == fault.Conflict { // the first reports of one agent raced: the row exists now
		a, err = s.reportAgent(ctx, r)
	}
	return a, err
}

func (s *Store) reportAgent(ctx context.Context, r AgentReport) (Agent, error) {
	if r.AgentType == "" || r.Host == "" || r.Binary == "" {
		return Agent{}, invalidInput("an agent report needs agent_type, binary and host")
	}
	if r.Configurations == nil {
		r.Configurations = map[string]any{}
	}
	if r.TunnelIP.IsValid() {
		r.Configurations["tunneling_ip"] = r.TunnelIP.String()
	}
	conf := jsonText(r.Configurations)
	var out Agent
	err := s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		now := s.now()
		a, err := queryOne(ctx, tx, scanAgent, "SELECT "+agentCols+" FROM network_agents WHERE agent_type = ? AND host = ?", r.AgentType, r.Host)
		switch {
		case errors.Is(err, sqlstore.ErrNotFound):
			a = Agent{ID: uuid.NewString(), AgentType: r.AgentType, Binary: r.Binary, Host: r.Host, Topic: r.Topic,
				AdminStateUp: true, TunnelIP: r.TunnelIP, Configurations: r.Configurations,
				CreatedAt: now, StartedAt: now, HeartbeatAt: now}
			_, err = tx.Exec(ctx, `INSERT INTO network_agents (id, agent_type, binary_name, host, topic, admin_state_up, tunnel_ip,
				configurations, created_at, started_at, heartbeat_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				a.ID, a.AgentType, a.Binary, a.Host, a.Topic, a.AdminStateUp, addrText(a.TunnelIP), conf,
				now.UnixMicro(), now.UnixMicro(), now.UnixMicro())
			if err != nil {
				return err
			}
			a.Alive = true
			out = a
			return s.record(ctx, tx, "agent", a.ID, "", watch.Create, a)
		case err != nil:
			return err
		}
		changed := a.TunnelIP != r.TunnelIP || a.Binary != r.Binary || a.Topic != r.Topic || jsonText(a.Configurations) != conf
		a.Binary, a.Topic, a.TunnelIP, a.Configurations, a.HeartbeatAt = r.Binary, r.Topic, r.TunnelIP, r.Configurations, now
		if r.Start {
			a.StartedAt = now
		}
		_, err = tx.Exec(ctx, `UPDATE network_agents SET binary_name = ?, topic = ?, tunnel_ip = ?, configurations = ?,
			started_at = ?, heartbeat_at = ? WHERE id = ?`,
			a.Binary, a.Topic, addrText(a.TunnelIP), conf, a.StartedAt.UnixMicro(), now.UnixMicro(), a.ID)
		if err != nil {
			return err
		}
		a.Alive = true
		out = a
		if !changed {
			return nil
		}
		return s.record(ctx, tx, "agent", a.ID, "", watch.Update, a)
	})
	return out, err
}

const agentCols = `id, agent_type, binary_name, host, topic, availability_zone, admin_state_up, description, tunnel_ip,
	configurations, created_at, started_at, heartbeat_at`

func scanAgent(r scanner) (Agent, error) {
	var a Agent
	var tip, conf string
	var created, started, beat int64
	err := r.Scan(&a.ID, &a.AgentType, &a.Binary, &a.Host, &a.Topic, &a.AvailabilityZone, &a.AdminStateUp, &a.Description,
		&tip, &conf, &created, &started, &beat)
	if err != nil {
		return a, err
	}
	if tip != "" {
		a.TunnelIP, _ = netip.ParseAddr(tip)
	}
	if err := json.Unmarshal([]byte(conf), &a.Configurations); err != nil || a.Configurations == nil {
		a.Configurations = map[string]any{}
	}
	a.CreatedAt, a.StartedAt, a.HeartbeatAt = time.UnixMicro(created).UTC(), time.UnixMicro(started).UTC(), time.UnixMicro(beat).UTC()
	return a, nil
}

// alive sets Alive from the heartbeat: within down of now.
func (s *Store) alive(a *Agent, down time.Duration) {
	if down <= 0 {
		down = DefaultAgentDownTime
	}
	a.Alive = s.now().Sub(a.HeartbeatAt) <= down
}

// Agents lists the agents (admin only in the API), alive by down.
func (s *Store) Agents(ctx context.Context, down time.Duration) ([]Agent, error) {
	rows, err := s.db.Query(ctx, "SELECT "+agentCols+" FROM network_agents ORDER BY host, agent_type")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Agent
	for rows.Next() {
		a, err := scanAgent(rows)
		if err != nil {
			return nil, err
		}
		s.alive(&a, down)
		out = append(out, a)
	}
	return out, rows.Err()
}

// GetAgent returns agent id, alive by down.
func (s *Store) GetAgent(ctx context.Context, id string, down time.Duration) (Agent, error) {
	a, err := queryOne(ctx, s.db, scanAgent, "SELECT "+agentCols+" FROM network_agents WHERE id = ?", id)
	if errors.Is(err, sqlstore.ErrNotFound) {
		return Agent{}, neutronError(fault.NotFound, "AgentNotFound", "Agent %s could not be found.", id)
	}
	if err == nil {
		s.alive(&a, down)
	}
	return a, err
}

// AgentUpdate changes what an admin may change of an agent.
type AgentUpdate struct {
	AdminStateUp *bool
	Description  *string
}

// UpdateAgent changes an agent's admin state or description.
func (s *Store) UpdateAgent(ctx context.Context, id string, u AgentUpdate, down time.Duration) (Agent, error) {
	var out Agent
	err := s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		a, err := queryOne(ctx, tx, scanAgent, "SELECT "+agentCols+" FROM network_agents WHERE id = ?", id)
		if errors.Is(err, sqlstore.ErrNotFound) {
			return neutronError(fault.NotFound, "AgentNotFound", "Agent %s could not be found.", id)
		} else if err != nil {
			return err
		}
		set(&a.AdminStateUp, u.AdminStateUp)
		set(&a.Description, u.Description)
		if _, err := tx.Exec(ctx, "UPDATE network_agents SET admin_state_up = ?, description = ? WHERE id = ?",
			a.AdminStateUp, a.Description, id); err != nil {
			return err
		}
		s.alive(&a, down)
		out = a
		return s.record(ctx, tx, "agent", a.ID, "", watch.Update, a)
	})
	return out, err
}

// DeleteAgent removes an agent's row (Neutron lets an admin delete a dead
// agent; a live one comes back with its next report).
func (s *Store) DeleteAgent(ctx context.Context, id string) error {
	return s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		var host string
		err := tx.Get(ctx, "SELECT host FROM network_agents WHERE id = ?", []any{id}, &host)
		if errors.Is(err, sqlstore.ErrNotFound) {
			return neutronError(fault.NotFound, "AgentNotFound", "Agent %s could not be found.", id)
		} else if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "DELETE FROM network_agents WHERE id = ?", id); err != nil {
			return err
		}
		// The host is free for another agent user.
		if _, err := tx.Exec(ctx, "DELETE FROM network_host_agents WHERE host = ?", host); err != nil {
			return err
		}
		return s.record(ctx, tx, "agent", id, "", watch.Delete, nil)
	})
}
