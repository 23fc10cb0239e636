package compute

import (
	"context"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/gostack/gostack/compute/scheduler"
)

// HostCache is a scheduler process's view of the compute hosts, as
// Nova's host manager keeps one: read whole from the store when it is
// older than MaxAge, and in between kept current with the claims this
// process makes (a Claimer with this Cache adds each claim to the host
// it went to), so the next decision already counts them. Claims made by
// other processes show at the next read; until then a claim that
// collides with one is refused by the store and the scheduler walks on.
//
// Hosts returns a snapshot that never changes: a claim replaces the
// host it touches with a copy.
type HostCache struct {
	Store *Store
	// MaxAge is how long a read of the store is used (10 s when 0).
	MaxAge time.Duration
	// DownTime is Nova's service_down_time (60 s when 0).
	DownTime time.Duration

	mu     sync.Mutex
	hosts  []*scheduler.Host
	index  map[string]int // provider uuid -> position
	readAt time.Time
	reads  uint64 // reads of the store so far: a claim's token
}

// Hosts returns the current snapshot, reading the store when it is
// older than MaxAge.
func (c *HostCache) Hosts(ctx context.Context) ([]*scheduler.Host, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	age := c.MaxAge
	if age <= 0 {
		age = 10 * time.Second
	}
	if c.hosts != nil && c.Store.now().Sub(c.readAt) < age {
		return c.hosts, nil
	}
	hosts, err := c.Store.Hosts(ctx, c.DownTime)
	if err != nil {
		return nil, err
	}
	c.hosts, c.readAt = hosts, c.Store.now()
	c.reads++
	c.index = make(map[string]int, len(hosts))
	for i, h := range hosts {
		c.index[h.UUID] = i
	}
	return c.hosts, nil
}

// Invalidate makes the next Hosts read the store.
func (c *HostCache) Invalidate() {
	c.mu.Lock()
	c.hosts = nil
	c.mu.Unlock()
}

// token is taken before a claim: the claim is added to the cache only if
// the store was not read again meanwhile (a read after the claim's
// commit has it already; one racing with it may not, and then the cache
// undercounts until the next read, which the store's own check makes
// safe).
func (c *HostCache) token() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reads
}

// claimed adds an instance's amounts on provider u, in a new copy of the
// host and of the snapshot slice, unless the store was read since tok.
func (c *HostCache) claimed(tok uint64, u, instance string, res map[string]int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	i, ok := c.index[u]
	if !ok || c.hosts == nil || c.reads != tok {
		return
	}
	const sign = 1
	h := *c.hosts[i]
	h.Resources = maps.Clone(h.Resources)
	for cl, n := range res {
		if r, ok := h.Resources[cl]; ok {
			r.Used += sign * n
			h.Resources[cl] = r
		}
	}
	h.Instances = maps.Clone(h.Instances)
	if h.Instances == nil {
		h.Instances = scheduler.Set{}
	}
	h.Instances[instance] = struct{}{}
	h.NumInstances = int64(len(h.Instances))
	h.Figures = scheduler.FiguresFrom(h.Resources)
	hosts := slices.Clone(c.hosts)
	hosts[i] = &h
	c.hosts = hosts
}
