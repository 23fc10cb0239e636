package scheduler

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
)

// cycle is one request's pass through the scheduler.
type cycle struct {
	s        *Scheduler
	st       *State
	hosts    []*Host
	filters  []*filterSlot  // those not skipped by their PreFilter
	weighers []*weigherSlot // those not skipped by their PreWeigher
	rng      *rand.Rand

	// cand are the candidates after narrowing, in snapshot order, and
	// narrowed the narrowing steps, for explanations.
	cand     []*Host
	narrowed []FilterStat
	// want is how many feasible hosts to find; when it is less than
	// len(cand) the scan starts at off and goes round, and scanned is
	// how many positions of it were looked at.
	want, off, scanned int
	rotate             bool

	// pool is Nova's carried-over host list: the hosts the previous
	// instance ranked, best first. Hosts consumed from are private
	// clones, mapped to the caller's hosts by orig.
	pool []*Host
	orig map[*Host]*Host
	segs []segment

	marks []uint8
	raw   []float64
	// order is the last ranking: weighed the hosts it ranks, of which
	// the first sorted are in order.
	order   []ranked
	weighed []*Host
	sorted  int
}

// segment is one scan: n positions of list from off, through filters.
type segment struct {
	list    []*Host
	off, n  int
	filters []*filterSlot
}

func (s *Scheduler) begin(ctx context.Context, hosts []*Host, req *Request) (*cycle, error) {
	if req == nil {
		return nil, fmt.Errorf("%w: no request", ErrInvalidRequest)
	}
	st, err := newState(req, &s.cfg)
	if err != nil {
		return nil, err
	}
	c := &cycle{s: s, st: st, hosts: hosts, orig: map[*Host]*Host{}}
	c.rng = rand.New(rand.NewPCG(s.seed, s.seq.Add(1)))
	var narrow []namedSet
	for i := range s.filters {
		slot := &s.filters[i]
		if slot.pre != nil {
			r, status := slot.pre.PreFilter(ctx, st)
			switch status.Code() {
			case Skip:
				continue
			case Unschedulable:
				return nil, &NoValidHost{Count: st.count, Hosts: len(hosts), Reason: slot.name + ": " + status.Reason()}
			case Error:
				return nil, fmt.Errorf("scheduler: %s: %w", slot.name, status.Err())
			}
			if r != nil && r.Hosts != nil {
				narrow = append(narrow, namedSet{slot.name + " (pre-filter)", r.Hosts})
			}
		}
		c.filters = append(c.filters, slot)
	}
	for i := range s.weighers {
		slot := &s.weighers[i]
		if slot.pre != nil {
			if status := slot.pre.PreWeigh(st); status.Code() == Skip {
				continue
			} else if status.Code() == Error {
				return nil, fmt.Errorf("scheduler: %s: %w", slot.name, status.Err())
			}
		}
		c.weighers = append(c.weighers, slot)
	}
	c.cand = c.narrow(hosts, narrow)
	c.want = s.cfg.hostsToFind(len(c.cand))
	if c.want < len(c.cand) {
		c.rotate = true
		c.off = int(s.start.Load() % uint64(len(c.cand)))
	}
	return c, nil
}

// finish moves the next request's scan start past what this one looked
// at, so successive requests spread their work (kube-scheduler's
// nextStartNodeIndex).
func (c *cycle) finish() {
	if c.rotate {
		c.s.start.Add(uint64(c.scanned))
	}
}

type namedSet struct {
	name  string
	hosts Set
}

// narrow keeps the hosts the request may go to at all: its requested
// destination, minus its ignored hosts, within every PreFilter's set.
// Without any of them it returns hosts itself.
func (c *cycle) narrow(hosts []*Host, sets []namedSet) []*Host {
	req := c.st.req
	type step struct {
		name string
		keep func(h *Host) bool
	}
	var steps []step
	if d := req.Destination; d != nil && d.Host != "" {
		steps = append(steps, step{"requested destination", func(h *Host) bool {
			return h.Name == d.Host && (d.Node == "" || h.Node == d.Node)
		}})
	}
	if len(req.IgnoreHosts) > 0 {
		steps = append(steps, step{"ignore_hosts", func(h *Host) bool {
			for _, x := range req.IgnoreHosts {
				if strings.EqualFold(x, h.Name) {
					return false
				}
			}
			return true
		}})
	}
	for _, s := range sets {
		steps = append(steps, step{s.name, func(h *Host) bool { return s.hosts.Has(h.Name) }})
	}
	for _, s := range steps {
		kept := make([]*Host, 0, len(hosts))
		for _, h := range hosts {
			if s.keep(h) {
				kept = append(kept, h)
			}
		}
		c.narrowed = append(c.narrowed, FilterStat{Filter: s.name, Start: len(hosts), End: len(kept)})
		hosts = kept
	}
	return hosts
}

// feasible is the hosts that pass the filters for the index-th instance:
// the first instance scans the candidates; later ones refilter the
// previous instance's ranked list with the filters that run for every
// instance (as Nova does), and scan further candidates only when a
// partial scan left some unseen and too few remain.
func (c *cycle) feasible(ctx context.Context, index int) ([]*Host, *NoValidHost, error) {
	c.segs = c.segs[:0]
	var out []*Host
	if index > 0 {
		var each []*filterSlot
		for _, f := range c.filters {
			if !f.once {
				each = append(each, f)
			}
		}
		seg := segment{list: c.pool, n: len(c.pool), filters: each}
		kept, _, err := c.scan(ctx, seg, len(c.pool))
		if err != nil {
			return nil, nil, err
		}
		c.segs = append(c.segs, seg)
		out = kept
	}
	if rest := len(c.cand) - c.scanned; rest > 0 && len(out) < c.want {
		seg := segment{list: c.cand, off: (c.off + c.scanned) % len(c.cand), n: rest, filters: c.filters}
		more, used, err := c.scan(ctx, seg, c.want-len(out))
		if err != nil {
			return nil, nil, err
		}
		seg.n = used
		c.segs = append(c.segs, seg)
		c.scanned += used
		out = append(out, more...)
	}
	if len(out) == 0 {
		return nil, c.explain(index), nil
	}
	return out, nil, nil
}

// placeOne filters, weighs, picks and reserves a host for the index-th
// instance and consumes the instance's resources from it.
func (c *cycle) placeOne(ctx context.Context, index int) (Placement, *NoValidHost, error) {
	feasible, nvh, err := c.feasible(ctx, index)
	if err != nil || nvh != nil {
		return Placement{}, nvh, err
	}
	ordered, weights := c.weigh(feasible)
	c.pick(ordered, weights)
	k, fails, err := c.reserve(ctx, ordered, weights)
	if err != nil {
		return Placement{}, nil, err
	}
	if k < 0 {
		nvh := &NoValidHost{Instance: index, InstanceUUID: c.st.uuid, Count: c.st.count, Hosts: len(c.hosts),
			ReserveFailed: len(fails), Reserve: sampleReasons(fails)}
		return Placement{}, nvh, nil
	}
	c.pool = ordered
	h := c.consume(k)
	return Placement{Index: index, InstanceUUID: c.st.uuid, Host: c.origOf(h), Weight: weights[k]}, nil, nil
}

// reserve walks the ranked hosts until every Reserver accepts one; it
// returns its position (-1 for none) and why the others refused.
func (c *cycle) reserve(ctx context.Context, ordered []*Host, weights []float64) (int, []HostReason, error) {
	if len(c.s.reservers) == 0 {
		return 0, nil, nil
	}
	var fails []HostReason
	for k := 0; k < len(ordered); k++ {
		if k == c.sorted {
			c.sortRest(ordered, weights)
		}
		h := ordered[k]
		if err := ctx.Err(); err != nil {
			return -1, nil, fmt.Errorf("scheduler: reserve: %w", err)
		}
		o := c.origOf(h)
		if err := c.reserveOn(ctx, o); err != nil {
			if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
				return -1, nil, fmt.Errorf("scheduler: reserve on %s: %w", o.label(), err)
			}
			fails = append(fails, HostReason{Host: o.label(), Reason: err.Error()})
			continue
		}
		return k, fails, nil
	}
	return -1, fails, nil
}

// reserveOn runs every Reserver on h, undoing the ones that succeeded
// when a later one fails.
func (c *cycle) reserveOn(ctx context.Context, h *Host) error {
	for i, r := range c.s.reservers {
		if err := r.Reserve(ctx, c.st, h); err != nil {
			for j := i - 1; j >= 0; j-- {
				c.s.reservers[j].Unreserve(context.WithoutCancel(ctx), c.st, h)
			}
			return err
		}
	}
	return nil
}

// unreserve undoes the reservations of placed instances, last first,
// even when ctx is cancelled.
func (c *cycle) unreserve(ctx context.Context, placed []Placement) {
	ctx = context.WithoutCancel(ctx)
	for i := len(placed) - 1; i >= 0; i-- {
		c.st.setInstance(placed[i].Index)
		for j := len(c.s.reservers) - 1; j >= 0; j-- {
			c.s.reservers[j].Unreserve(ctx, c.st, placed[i].Host)
		}
	}
}

// consume takes the current instance's resources from pool[k] (a
// private clone of it), as Nova's HostState.consume_from_request does
// for its figures, and from its Placement usage for the capacity filter.
func (c *cycle) consume(k int) *Host {
	h := c.pool[k]
	if _, owned := c.orig[h]; !owned {
		cl := h.clone()
		c.orig[cl] = h
		c.pool[k] = cl
		h = cl
	}
	for _, a := range c.st.amts {
		r := h.Resources[a.class]
		r.Used += a.n
		h.Resources[a.class] = r
	}
	f := c.st.req.Flavor
	h.FreeRAMMB -= f.MemoryMB
	h.FreeDiskMB -= (f.RootGB + f.EphemeralGB) * 1024
	h.VCPUsUsed += f.VCPUs
	h.NumInstances++
	h.NumIOOps++
	c.st.placed(h)
	return h
}

// origOf is the caller's host for h (h itself unless it is a clone).
func (c *cycle) origOf(h *Host) *Host {
	if o, ok := c.orig[h]; ok {
		return o
	}
	return h
}

// alternates gives every placement the same alternates, as Nova does:
// the best hosts of a final ranking that were not chosen for any
// instance, at most max_attempts-1 of them.
func (c *cycle) alternates(ctx context.Context, placed []Placement) error {
	if len(placed) == 0 {
		return nil
	}
	list := c.pool
	if len(placed) > 1 {
		// The chosen hosts were consumed from: rank again, as Nova's
		// _get_alternate_hosts does, for an up-to-date order.
		feasible, nvh, err := c.feasible(ctx, placed[len(placed)-1].Index)
		if err != nil {
			return err
		}
		list = nil
		if nvh == nil {
			ordered, weights := c.weigh(feasible)
			c.pick(ordered, weights)
			list = ordered
		}
	}
	chosen := map[*Host]bool{}
	for _, p := range placed {
		chosen[p.Host] = true
	}
	var alts []*Host
	for _, h := range list {
		if o := c.origOf(h); !chosen[o] && len(alts) < c.s.cfg.MaxAttempts-1 {
			alts = append(alts, o)
		}
	}
	for i := range placed {
		placed[i].Alternates = append([]*Host(nil), alts...)
	}
	return nil
}
