package publish

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gostack/gostack/dns"
	"github.com/gostack/gostack/dns/server"
	"github.com/gostack/gostack/kit/crashpoint"
	"github.com/gostack/gostack/kit/watch"
	mdns "github.com/miekg/dns"
)

// Publisher connects a Store to a server.Dynamic. Run it once (it is not
// safe for concurrent use).
type Publisher struct {
	Store  *dns.Store
	Feed   watch.Source // the store's *watch.Log, or a watchhttp.Client
	Target *server.Dynamic
	// Servers are the DNS servers (host:port) whose SOA serial must
	// reach a zone's new serial before it is ACTIVE, for the zones of a
	// pool that names no nameservers of its own; empty means none are
	// asked and such zones go ACTIVE once Target serves them.
	Servers []string
	// NotifyKeys names the TSIG key to sign the NOTIFY to an
	// also-notify address ("host:port") with (the configuration's
	// also_notify keys); an address it lacks is sent unsigned.
	NotifyKeys map[string]string
	// BumpInterval is how often serials are bumped (default 1s;
	// Designate's producer runs every 5s). Negative: never (another
	// controller does it).
	BumpInterval time.Duration
	// PurgeAfter is how long a deleted zone's row is kept before the
	// bump loop purges it (default a week, Designate's zone_purge
	// time_threshold). Negative: never.
	PurgeAfter time.Duration
	Log        *slog.Logger

	syncMu sync.Mutex             // Sync runs from Run and from a poll that was superseded
	last   map[string]server.Zone // what was published, by zone id

	routes atomic.Pointer[routes] // the pools' NOTIFY targets, ACLs and nameservers, by zone

	mu     sync.Mutex
	busy   map[string]bool // zone ids with a poll running; true: a later Sync wanted one too
	wg     sync.WaitGroup  // the bump loop and the polls: Run waits for them
	health Health          // under mu
	errs   [3]error        // under mu: the last failure of each step, nil once it works again
}

// The publisher's steps, for Health.
const (
	stepWatch = iota // following the feed
	stepSync         // rebuilding the index
	stepBump         // bumping serials
)

// Health is how the publisher is doing, for its heartbeat.
type Health struct {
	// Err is the failure of the steps that failed last time they ran
	// (following the feed, rebuilding the index, bumping serials); nil
	// when every step worked the last time.
	Err error
	// Zones is the number of zones served by the last rebuild; Polling
	// the zones whose activation or deletion is being polled.
	Zones, Polling int
}

// Health returns the publisher's state now.
func (p *Publisher) Health() Health {
	p.mu.Lock()
	defer p.mu.Unlock()
	h := p.health
	h.Polling = len(p.busy)
	h.Err = errors.Join(p.errs[:]...)
	return h
}

// failed records how step last ended (err nil: it worked).
func (p *Publisher) failed(step int, err error) {
	p.mu.Lock()
	p.errs[step] = err
	p.mu.Unlock()
}

func (p *Publisher) log() *slog.Logger {
	if p.Log != nil {
		return p.Log
	}
	return slog.New(slog.DiscardHandler)
}

// Run publishes until ctx ends, and returns once every goroutine it
// started (the bump loop, the polls of pending and deleted zones) has
// ended. The first snapshot is served before Run returns control to its
// loops, so a caller that waits for Ready knows queries are answered from
// the store.
func (p *Publisher) Run(ctx context.Context, ready func()) error {
	defer p.wg.Wait()
	rev, err := p.Sync(ctx)
	if err != nil {
		return err
	}
	if ready != nil {
		ready()
	}
	if p.BumpInterval >= 0 {
		p.wg.Go(func() { p.bumpLoop(ctx) })
	}
	for ctx.Err() == nil {
		b, err := p.Feed.Wait(ctx, watch.Query{Area: "dns", Since: rev}, 30*time.Second)
		if err != nil && !errors.Is(err, watch.ErrCompacted) {
			if ctx.Err() == nil {
				p.log().Warn("dns publish: watch failed", "err", err)
				p.failed(stepWatch, fmt.Errorf("watch: %w", err))
				sleep(ctx, time.Second)
			}
			continue
		}
		p.failed(stepWatch, nil)
		if err == nil && len(b.Changes) == 0 {
			rev = max(rev, b.Revision)
			continue
		}
		if r, err := p.Sync(ctx); err != nil {
			p.log().Warn("dns publish: rebuild failed", "err", err)
			sleep(ctx, time.Second)
		} else {
			rev = r
		}
	}
	return nil
}

// Sync serves the store's current zones, marks the ones served as
// ACTIVE where every server has them, and returns the feed revision of
// the snapshot. The polls it starts end with ctx; Run waits for them.
func (p *Publisher) Sync(ctx context.Context) (int64, error) {
	p.syncMu.Lock()
	defer p.syncMu.Unlock()
	rev, err := p.sync(ctx)
	if ctx.Err() == nil {
		p.failed(stepSync, err)
	}
	return rev, err
}

func (p *Publisher) sync(ctx context.Context) (int64, error) {
	served, rev, err := p.Store.ServedZonesAt(ctx)
	if err != nil {
		return 0, err
	}
	zones := make([]server.Zone, 0, len(served))
	next := make(map[string]server.Zone, len(served))
	for _, sz := range served {
		// A change waiting for its serial bump is not published yet: the
		// content and the serial change together, or secondaries comparing
		// serials would miss it.
		if prev, ok := p.last[sz.Zone.ID]; ok && sz.Zone.SerialPending {
			zones, next[sz.Zone.ID] = append(zones, prev), prev
			continue
		}
		rrs, err := sz.RRs()
		if err != nil {
			p.log().Warn("dns publish: zone not served", "zone", sz.Zone.Name, "err", err)
			continue
		}
		z := server.Zone{Name: sz.Zone.Name, Records: rrs}
		zones, next[sz.Zone.ID] = append(zones, z), z
	}
	idx, err := server.Build(zones)
	if err != nil {
		return 0, fmt.Errorf("dns publish: %w", err)
	}
	rt, err := p.loadRoutes(ctx, served)
	if err != nil {
		return 0, fmt.Errorf("dns publish: pools: %w", err)
	}
	// The routes first: the NOTIFYs the new index causes go to the
	// pools' targets as they are now.
	p.routes.Store(rt)
	p.Target.Set(idx)
	p.last = next
	p.mu.Lock()
	p.health.Zones = len(zones)
	p.mu.Unlock()
	for _, sz := range served {
		z := sz.Zone
		if z.Status == dns.Pending && !z.SerialPending && p.claim(z.ID) {
			p.wg.Go(func() { p.activate(ctx, z) })
		}
	}
	deleting, err := p.Store.Deleting(ctx)
	if err != nil {
		return rev, fmt.Errorf("dns publish: %w", err)
	}
	for _, z := range deleting {
		if p.claim(z.ID) {
			p.wg.Go(func() { p.retire(ctx, z) })
		}
	}
	return rev, nil
}

// claim marks a zone's poll as running; false if one already is, and
// then that poll is told it is superseded (see end).
func (p *Publisher) claim(id string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, running := p.busy[id]; running {
		p.busy[id] = true
		return false
	}
	if p.busy == nil {
		p.busy = map[string]bool{}
	}
	p.busy[id] = false
	return true
}

// superseded reports whether a Sync since the poll of id began wanted a
// poll of its own for id: the zone changed (a new serial, or a deletion
// while its activation was polled), so the running poll waits for a
// state that is gone.
func (p *Publisher) superseded(id string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.busy[id]
}

// end releases id's poll; when it was superseded it syncs again, so the
// poll the later Sync could not start is started now. Without this a
// zone deleted while its activation was still polled stayed PENDING
// DELETE until some unrelated change woke the publisher.
func (p *Publisher) end(ctx context.Context, id string) {
	p.mu.Lock()
	again := p.busy[id]
	delete(p.busy, id)
	p.mu.Unlock()
	if again && ctx.Err() == nil {
		if _, err := p.Sync(ctx); err != nil && ctx.Err() == nil {
			p.log().Warn("dns publish: rebuild failed", "err", err)
		}
	}
}

// retire polls every server until none answers for z (bounded like
// activate) and then ends the deletion. A zone a server still answers
// for stays PENDING DELETE, as in Designate, and is tried again at the
// next rebuild.
func (p *Publisher) retire(ctx context.Context, z dns.Zone) {
	defer p.end(ctx, z.ID)
	for try := 0; try < 10 && ctx.Err() == nil && !p.superseded(z.ID); try++ {
		if p.noneServe(z) {
			crashpoint.Hit("dns.publish.retiring")
			if _, err := p.Store.FinishDelete(ctx, z.ID); err != nil && ctx.Err() == nil {
				p.log().Debug("dns publish: deletion not finished", "zone", z.Name, "err", err)
			}
			return
		}
		sleep(ctx, time.Duration(try+1)*200*time.Millisecond)
	}
	if !p.superseded(z.ID) {
		p.log().Warn("dns publish: servers still answer for a deleted zone", "zone", z.Name)
	}
}

// noneServe reports whether no server answers with zone's own SOA (a
// REFUSED, or a parent zone's negative answer, counts as gone; a server
// that does not answer does not).
func (p *Publisher) noneServe(z dns.Zone) bool {
	zone := z.Name
	for _, addr := range p.pollServers(z) {
		if _, err := SOASerial(addr, zone); !errors.Is(err, errNoSOA) {
			return false
		}
	}
	return true
}

// activate polls every server for z's serial (bounded: 10 tries, as
// Designate's poll_max_retries) and marks z ACTIVE when all have it.
func (p *Publisher) activate(ctx context.Context, z dns.Zone) {
	defer p.end(ctx, z.ID)
	for try := 0; try < 10 && ctx.Err() == nil && !p.superseded(z.ID); try++ {
		if p.allServe(z) {
			crashpoint.Hit("dns.publish.serving")
			_, err := p.Store.MarkActive(ctx, z.ID, z.Serial)
			if err != nil && ctx.Err() == nil {
				p.log().Debug("dns publish: zone not marked active", "zone", z.Name, "serial", z.Serial, "err", err)
			}
			return
		}
		sleep(ctx, time.Duration(try+1)*200*time.Millisecond)
	}
	if !p.superseded(z.ID) {
		p.log().Warn("dns publish: servers did not reach the serial", "zone", z.Name, "serial", z.Serial)
	}
}

func (p *Publisher) allServe(z dns.Zone) bool {
	zone, serial := z.Name, z.Serial
	for _, addr := range p.pollServers(z) {
		got, err := SOASerial(addr, zone)
		if err != nil || int32(got-serial) < 0 { // RFC 1982: got >= serial
			return false
		}
	}
	return true
}

// SOASerial asks addr (host:port, UDP) for zone's SOA serial.
func SOASerial(addr, zone string) (uint32, error) {
	m := new(mdns.Msg)
	m.SetQuestion(mdns.Fqdn(zone), mdns.TypeSOA)
	c := &mdns.Client{Timeout: 2 * time.Second}
	r, _, err := c.Exchange(m, addr)
	if err != nil {
		return 0, err
	}
	for _, rr := range r.Answer {
		if soa, ok := rr.(*mdns.SOA); ok && mdns.CanonicalName(soa.Hdr.Name) == mdns.CanonicalName(zone) {
			return soa.Serial, nil
		}
	}
	return 0, fmt.Errorf("dns publish: %s: %w for %s (rcode %s)", addr, errNoSOA, zone, mdns.RcodeToString[r.Rcode])
}

// errNoSOA: the server answered, without the zone's SOA.
var errNoSOA = errors.New("no SOA")

func (p *Publisher) purgeAfter() time.Duration {
	if p.PurgeAfter == 0 {
		return 7 * 24 * time.Hour
	}
	return p.PurgeAfter
}

// bumpLoop bumps pending serials every BumpInterval and, at most hourly,
// purges deleted zones older than PurgeAfter.
func (p *Publisher) bumpLoop(ctx context.Context) {
	every := p.BumpInterval
	if every == 0 {
		every = time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	var lastPurge time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			_, err := p.Store.BumpSerials(ctx)
			if err != nil && ctx.Err() == nil {
				p.log().Warn("dns publish: serial bump failed", "err", err)
				err = fmt.Errorf("serial bump: %w", err)
			}
			p.failed(stepBump, err)
			if keep := p.purgeAfter(); keep >= 0 && time.Since(lastPurge) >= time.Hour {
				lastPurge = time.Now()
				if _, err := p.Store.Purge(ctx, lastPurge.Add(-keep)); err != nil && ctx.Err() == nil {
					p.log().Warn("dns publish: purge failed", "err", err)
				}
			}
		}
	}
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}
