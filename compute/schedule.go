package compute

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/gostack/gostack/compute/scheduler"
	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/sqlstore"
)

// Hosts reads the scheduler's view of every compute host in one go: each
// root provider (a compute node: its name is the host) with its
// resources and traits, its nova-compute service (disabled, up: a host
// without one is down), its aggregates and the consumers allocated on it
// (its instances). downTime is Nova's service_down_time (60 s when 0).
func (s *Store) Hosts(ctx context.Context, downTime time.Duration) ([]*scheduler.Host, error) {
	snap, err := s.Snapshot(ctx)
	if err != nil {
		return nil, err
	}
	svcs, err := s.Services(ctx, NovaCompute, "")
	if err != nil {
		return nil, err
	}
	byHost := map[string]Service{}
	for _, v := range svcs {
		byHost[v.Host] = v
	}
	aggs, err := s.AggregatesByHost(ctx)
	if err != nil {
		return nil, err
	}
	insts, err := s.consumersByProvider(ctx)
	if err != nil {
		return nil, err
	}
	now := s.now()
	var out []*scheduler.Host
	for _, p := range snap {
		if p.ParentUUID != "" {
			continue
		}
		h := &scheduler.Host{Name: p.Name, Node: p.Name, UUID: p.UUID, Resources: map[string]scheduler.Resource{},
			Traits: scheduler.NewSet(p.Traits...), Instances: scheduler.NewSet(insts[p.UUID]...)}
		for c, inv := range p.Inventories {
			h.Resources[c] = scheduler.Resource{Inventory: inv, Used: p.Usages[c]}
		}
		if v, ok := byHost[p.Name]; ok {
			h.Disabled, h.DisabledReason, h.Up = v.Disabled, v.DisabledReason, v.Up(now, downTime)
		}
		for _, a := range aggs[p.Name] {
			h.Aggregates = append(h.Aggregates, scheduler.Aggregate{UUID: a.UUID, Name: a.Name, Metadata: a.Metadata})
		}
		h.NumInstances = int64(len(h.Instances))
		h.Figures = scheduler.FiguresFrom(h.Resources)
		out = append(out, h)
	}
	return out, nil
}

func (s *Store) consumersByProvider(ctx context.Context) (map[string][]string, error) {
	out := map[string][]string{}
	err := s.db.ReadTx(ctx, func(tx *sqlstore.Tx) error {
		return scanEach(ctx, tx, `SELECT DISTINCT provider_uuid, consumer_uuid FROM compute_allocations`, nil, func(r *sql.Rows) error {
			var p, c string
			if err := r.Scan(&p, &c); err != nil {
				return err
			}
			out[p] = append(out[p], c)
			return nil
		})
	})
	return out, err
}

// SchedulerGroup is a server group as a scheduling request carries it:
// its policy, rule and the hosts and members it has now.
func (g ServerGroup) SchedulerGroup() *scheduler.Group {
	sg := &scheduler.Group{UUID: g.ID, Policy: g.Policy, MaxServerPerHost: g.Rules[MaxServerPerHost], Hosts: g.Hosts()}
	for _, m := range g.Members {
		sg.Members = append(sg.Members, m.InstanceUUID)
	}
	return sg
}

// Claimer is the scheduler's Reserve step on this store: the chosen
// host's resources are claimed for the instance in Placement (Claim:
// atomic, never over capacity), and a member of a server group is
// placed in its group under the group's lock, which refuses a host that
// a parallel scheduler has just made wrong for the policy. Either
// failing sends the scheduler on to its next host.
type Claimer struct {
	Store *Store
	// Batch, when set, carries the claims (group commit: several
	// schedulers' claims share a transaction on SQLite).
	Batch *ClaimBatcher
	// Cache, when set, is told of every claim made and undone, so its
	// next snapshot counts them.
	Cache *HostCache
}

var _ scheduler.Reserver = (*Claimer)(nil)

// Reserve claims h for the instance being placed.
func (c *Claimer) Reserve(ctx context.Context, st *scheduler.State, h *scheduler.Host) error {
	inst := st.InstanceUUID()
	if inst == "" {
		return errors.New("compute: a claim needs the instance's uuid (Request.InstanceUUIDs)")
	}
	req := st.Request()
	claim := c.Store.Claim
	if c.Batch != nil {
		claim = c.Batch.Claim
	}
	var tok uint64
	if c.Cache != nil {
		tok = c.Cache.token()
	}
	err := claim(ctx, Claim{Consumer: inst, ProjectID: req.ProjectID, UserID: orDefault(req.UserID, req.ProjectID),
		ConsumerType: "INSTANCE", CheckGeneration: true, Resources: map[string]map[string]int64{h.UUID: st.Resources().Resources}})
	if err != nil {
		return fmt.Errorf("claim on %s: %w", h.Name, err)
	}
	if req.Group != nil {
		if _, err := c.Store.AddServerGroupMember(ctx, req.Group.UUID, inst, h.Name); err != nil {
			if derr := c.Store.DeleteAllocations(ctx, inst); derr != nil && fault.KindOf(derr) != fault.NotFound {
				return errors.Join(err, derr)
			}
			return fmt.Errorf("server group %s on %s: %w", req.Group.UUID, h.Name, err)
		}
	}
	if c.Cache != nil {
		c.Cache.claimed(tok, h.UUID, inst, st.Resources().Resources)
	}
	return nil
}

// Unreserve undoes Reserve: the claim and the group membership go.
func (c *Claimer) Unreserve(ctx context.Context, st *scheduler.State, h *scheduler.Host) {
	inst := st.InstanceUUID()
	c.Store.DeleteAllocations(ctx, inst) // NotFound when it never got there: fine
	if c.Cache != nil {
		c.Cache.Invalidate() // undoing is rare: read the store again
	}
	if g := st.Request().Group; g != nil {
		c.Store.RemoveServerGroupMember(ctx, g.UUID, inst)
	}
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}
