package scheduler

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync/atomic"
)

// Scheduler places requests on hosts. It holds its configured plugins
// and two counters (for reproducible randomness and for where the next
// scan of a large cluster starts); it is safe for concurrent use, and
// several can live in one process.
type Scheduler struct {
	cfg         Config
	filters     []filterSlot
	weighers    []weigherSlot
	reservers   []Reserver
	parallelism int
	seed        uint64
	seq         atomic.Uint64
	start       atomic.Uint64
}

type filterSlot struct {
	f    Filter
	pre  PreFilter
	name string
	once bool
}

type weigherSlot struct {
	w      Weigher
	pre    PreWeigher
	name   string
	bounds Bounds
}

// Result is where a request's instances go.
type Result struct {
	// Placements are the placed instances, in order.
	Placements []Placement
	// Shortfall, when fewer than MaxCount but at least MinCount
	// instances were placed, says why the next one could not be.
	Shortfall *NoValidHost
}

// Placement is one instance's host.
type Placement struct {
	Index        int
	InstanceUUID string
	// Host is the caller's snapshot host (reserved, when there are
	// Reservers).
	Host   *Host
	Weight float64
	// Alternates are other hosts that passed, best first, when the
	// request asked for them (not reserved).
	Alternates []*Host
}

// New builds a scheduler from cfg, making each configured filter and
// weigher with reg's factories. The reservers claim each chosen host, in
// order (none: nothing is claimed).
func New(cfg Config, reg *Registry, reservers ...Reserver) (*Scheduler, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	s := &Scheduler{cfg: cfg, reservers: reservers, seed: cfg.Seed, parallelism: cfg.Parallelism}
	if s.seed == 0 {
		s.seed = rand.Uint64()
	}
	if s.parallelism == 0 {
		s.parallelism = runtime.GOMAXPROCS(0)
	}
	s.start.Store(s.seed)
	for _, name := range s.cfg.filterNames() {
		p, err := reg.build(name, &s.cfg)
		if err != nil {
			return nil, err
		}
		f, ok := p.(Filter)
		if !ok {
			return nil, fmt.Errorf("%w: %q is not a filter", ErrInvalidConfig, name)
		}
		slot := filterSlot{f: f, name: name}
		slot.pre, _ = p.(PreFilter)
		if o, ok := p.(OncePerRequest); ok {
			slot.once = o.OncePerRequest()
		}
		s.filters = append(s.filters, slot)
	}
	for _, name := range s.cfg.Weighers {
		p, err := reg.build(name, &s.cfg)
		if err != nil {
			return nil, err
		}
		w, ok := p.(Weigher)
		if !ok {
			return nil, fmt.Errorf("%w: %q is not a weigher", ErrInvalidConfig, name)
		}
		slot := weigherSlot{w: w, name: name}
		slot.pre, _ = p.(PreWeigher)
		if b, ok := p.(Bounded); ok {
			slot.bounds = b.Bounds()
		}
		s.weighers = append(s.weighers, slot)
	}
	return s, nil
}

// Filters are the names of the filters that run, in order.
func (s *Scheduler) Filters() []string {
	names := make([]string, len(s.filters))
	for i, f := range s.filters {
		names[i] = f.name
	}
	return names
}

// Weighers are the names of the weighers that run, in order.
func (s *Scheduler) Weighers() []string {
	names := make([]string, len(s.weighers))
	for i, w := range s.weighers {
		names[i] = w.name
	}
	return names
}

// Schedule places req's instances on hosts, one after the other: each
// instance is filtered and weighed over the hosts that passed for the
// previous one, reserved on the best host that accepts the claim, and
// its resources consumed from that host's private copy before the next.
// When fewer than the request's MinCount can be placed, every
// reservation is undone and the error is a *NoValidHost explaining why.
// The hosts are not modified.
func (s *Scheduler) Schedule(ctx context.Context, hosts []*Host, req *Request) (*Result, error) {
	c, err := s.begin(ctx, hosts, req)
	if err != nil {
		return nil, err
	}
	defer c.finish()
	res := &Result{}
	for i := 0; i < c.st.count; i++ {
		c.st.setInstance(i)
		p, nvh, err := c.placeOne(ctx, i)
		if err != nil {
			c.unreserve(ctx, res.Placements)
			return nil, err
		}
		if nvh != nil {
			if i < c.st.least {
				c.unreserve(ctx, res.Placements)
				if i > 0 || c.st.least < c.st.count {
					nvh.Placed, nvh.MinCount = i, c.st.least
				}
				return nil, nvh
			}
			res.Shortfall = nvh
			break
		}
		res.Placements = append(res.Placements, p)
	}
	if req.Alternates && s.cfg.MaxAttempts > 1 {
		if err := c.alternates(ctx, res.Placements); err != nil {
			c.unreserve(ctx, res.Placements)
			return nil, err
		}
	}
	return res, nil
}

// Weighed is a host with its weight, and each weigher's part of it.
type Weighed struct {
	Host   *Host
	Weight float64
	Scores []Score
}

// Score is one weigher's contribution to a host's weight: Multiplier *
// Normalized, where Normalized is Raw after clamping and normalising.
type Score struct {
	Weigher    string
	Raw        float64
	Normalized float64
	Multiplier float64
}

// Ranking is Rank's answer: the hosts that passed, best first, and what
// each filter did.
type Ranking struct {
	Hosts   []Weighed
	Filters []FilterStat
}

// Rank filters and weighs hosts for the request's first instance and
// returns every host that passed, best first, with how each weigher
// scored it, and each filter's counts with a few reasons. It reserves
// nothing and picks nothing at random: it is for tests, debugging and
// "why did it go there" tools. When no host passes the error is a
// *NoValidHost.
func (s *Scheduler) Rank(ctx context.Context, hosts []*Host, req *Request) (*Ranking, error) {
	c, err := s.begin(ctx, hosts, req)
	if err != nil {
		return nil, err
	}
	defer c.finish()
	feasible, nvh, err := c.feasible(ctx, 0)
	if err != nil {
		return nil, err
	}
	if nvh != nil {
		return nil, nvh
	}
	return &Ranking{Hosts: c.weighDetailed(feasible), Filters: c.explain(0).Filters}, nil
}
