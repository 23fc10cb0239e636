package network

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
)

// A scheduling puts each resource that needs a host agent (a network's
// DHCP, a router) on one: the least loaded live agent that offers the
// service (its configuration has the capability set), at the first agent
// sync that finds the resource without one. Bindings of resources that
// no longer need a host are dropped.
type scheduling struct {
	kind       string // the feed kind of a binding
	table, key string // the binding table and its key column
	need       string // SELECT of the ids that need a host
	capability string // the agents' configuration flag
	// failover moves what a dead agent holds to a live one (Neutron's
	// allow_automatic_dhcp_failover, on by default; routers stay, as
	// allow_automatic_l3agent_failover is off by default).
	failover bool
}

var (
	dhcpScheduling = scheduling{kind: "dhcp_binding", table: "network_dhcp_bindings", key: "network_id", capability: "dhcp", failover: true,
		need: `SELECT n.id FROM network_networks n WHERE EXISTS
			(SELECT 1 FROM network_subnets s WHERE s.network_id = n.id AND s.enable_dhcp)`}
	routerScheduling = scheduling{kind: "router_binding", table: "network_router_bindings", key: "router_id", capability: "l3",
		need: `SELECT r.id FROM network_routers r`}
)

// schedule binds what needs a host and has none, and drops the bindings
// of what needs none. It writes only when something is to change.
func (s *Store) schedule(ctx context.Context, sc scheduling, down time.Duration) error {
	if down <= 0 {
		down = DefaultAgentDownTime
	}
	unbound := `SELECT id FROM (` + sc.need + `) need WHERE NOT EXISTS (SELECT 1 FROM ` + sc.table + ` b WHERE b.` + sc.key + ` = need.id)`
	stale := `DELETE FROM ` + sc.table + ` WHERE ` + sc.key + ` NOT IN (` + sc.need + `)`
	// With failover, a binding to a host without a live agent offering
	// the service is stale too, when a live one exists to take it.
	live := `SELECT host FROM network_agents WHERE agent_type = ? AND admin_state_up AND heartbeat_at >= ?
		AND configurations LIKE ?`
	liveArgs := []any{OVSAgent, s.now().Add(-down).UnixMicro(), `%"` + sc.capability + `":true%`}
	orphaned := `SELECT COUNT(*) FROM ` + sc.table + ` WHERE 0 = 1`
	var orphanArgs []any
	if sc.failover {
		orphaned = `SELECT COUNT(*) FROM ` + sc.table + ` WHERE host NOT IN (` + live + `) AND EXISTS (` + live + `)`
		orphanArgs = append(slices.Clone(liveArgs), liveArgs...)
	}
	var pending int
	err := s.db.Get(ctx, `SELECT (SELECT COUNT(*) FROM (`+unbound+`) u) + (SELECT COUNT(*) FROM `+sc.table+` WHERE `+sc.key+
		` NOT IN (`+sc.need+`)) + (`+orphaned+`)`, orphanArgs, &pending)
	if err != nil || pending == 0 {
		return err
	}
	return s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		if _, err := tx.Exec(ctx, stale); err != nil {
			return err
		}
		if sc.failover {
			if _, err := tx.Exec(ctx, `DELETE FROM `+sc.table+` WHERE host NOT IN (`+live+`) AND EXISTS (`+live+`)`,
				orphanArgs...); err != nil {
				return err
			}
		}
		ids, err := idsOf(ctx, tx, unbound+" ORDER BY id")
		if err != nil || len(ids) == 0 {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT a.host, a.configurations, (SELECT COUNT(*) FROM `+sc.table+` b WHERE b.host = a.host)
			FROM network_agents a WHERE a.agent_type = ? AND a.admin_state_up AND a.heartbeat_at >= ? ORDER BY a.host`,
			OVSAgent, s.now().Add(-down).UnixMicro())
		if err != nil {
			return err
		}
		type load struct {
			host string
			n    int
		}
		var agents []load
		for rows.Next() {
			var l load
			var conf string
			if err := rows.Scan(&l.host, &conf, &l.n); err != nil {
				rows.Close()
				return err
			}
			if strings.Contains(conf, `"`+sc.capability+`":true`) {
				agents = append(agents, l)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil || len(agents) == 0 {
			return err
		}
		now := s.now().UnixMicro()
		for _, id := range ids {
			i := slices.IndexFunc(agents, func(a load) bool {
				return a.n == slices.MinFunc(agents, func(a, b load) int { return a.n - b.n }).n
			})
			if _, err := tx.Exec(ctx, "INSERT INTO "+sc.table+" ("+sc.key+", host, created_at) VALUES (?, ?, ?)", id, agents[i].host, now); err != nil {
				return err
			}
			agents[i].n++
			if err := s.record(ctx, tx, sc.kind, id, "", watch.Create, map[string]string{sc.key: id, "host": agents[i].host}); err != nil {
				return err
			}
		}
		return nil
	})
}

// bindRouterPorts binds every router's gateway and interface ports to
// the host its router is scheduled to (DOWN until that host's agent
// reports them plumbed). It writes only when a port is to move.
func (s *Store) bindRouterPorts(ctx context.Context) error {
	const moved = `SELECT p.id, b.host FROM network_ports p
		JOIN network_router_ports rp ON rp.port_id = p.id
		JOIN network_router_bindings b ON b.router_id = rp.router_id
		WHERE p.host_id <> b.host ORDER BY p.id`
	var n int
	if err := s.db.Get(ctx, "SELECT COUNT(*) FROM ("+moved+") m", nil, &n); err != nil || n == 0 {
		return err
	}
	return s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		rows, err := tx.Query(ctx, moved)
		if err != nil {
			return err
		}
		type move struct{ port, host string }
		var moves []move
		for rows.Next() {
			var m move
			if err := rows.Scan(&m.port, &m.host); err != nil {
				rows.Close()
				return err
			}
			moves = append(moves, m)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, m := range moves {
			if _, err := s.changePortTx(ctx, tx, m.port, func(p *Port) { p.HostID, p.Status = m.host, Down }); err != nil {
				return err
			}
		}
		return nil
	})
}
