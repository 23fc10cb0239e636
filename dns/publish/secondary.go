package publish

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	mdns "github.com/miekg/dns"

	"github.com/gostack/gostack/dns"
	"github.com/gostack/gostack/kit/watch"
)

// Secondaries keeps the store's SECONDARY zones in step with their
// masters, as Designate's worker (perform_zone_xfr) and producer
// (periodic_secondary_refresh) do: a new zone, a changed master list or a
// NOTIFY from one of its masters makes it ask the masters for the zone's
// SOA at once, and otherwise every SOA refresh interval (the retry
// interval after a failure); a transfer asked for by hand
// (dns.Store.AskTransfer, the API's xfr task) checks it at once too. When
// a master has a newer serial the zone is transferred — IXFR from the
// serial held, applied as a diff when the master sends one, else the
// whole zone by AXFR — and stored with dns.Store.Transferred, which the
// Publisher then serves. Requests are
// signed with the zone's TSIG key (scope ZONE) when it has one. Masters
// are tried in their order; one given by hostname is resolved at each
// try. A zone no master answers for keeps what it had (and its status);
// nothing expires it. Run it once.
type Secondaries struct {
	Store *dns.Store
	Feed  *watch.Log
	// Timeout bounds one SOA query, and each message of a transfer
	// (default 30 s).
	Timeout time.Duration
	// MinInterval is the shortest wait between two checks of a zone
	// (default 1 s): a master's SOA refresh or retry below it is raised
	// to it. A zone not transferred yet is tried again after at most
	// UnloadedRetry (default 10 s), whatever its retry says.
	MinInterval, UnloadedRetry time.Duration
	Log                        *slog.Logger

	once   sync.Once
	wake   chan struct{}
	mu     sync.Mutex
	zones  map[string]*secondary // by zone id
	byName map[string]string     // zone name → id
}

// secondary is one zone's state.
type secondary struct {
	sz      dns.SecondaryZone
	due     time.Time    // next check
	masters []netip.Addr // the masters' addresses, for NOTIFYs
	// urgent: check again at once, whatever a check running now says
	// (a NOTIFY, a new zone, changed masters).
	urgent bool
}

func (s *Secondaries) init() {
	s.once.Do(func() {
		s.wake = make(chan struct{}, 1)
		s.zones, s.byName = map[string]*secondary{}, map[string]string{}
	})
}

func (s *Secondaries) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.New(slog.DiscardHandler)
}

func (s *Secondaries) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// Notified takes a NOTIFY for zone (lowercase, with the final dot) from a
// sender: when zone is a SECONDARY zone and from one of its masters, the
// zone is checked at once and Notified returns true, so that the server
// acknowledges it; a NOTIFY from anyone else changes nothing (RFC 1996
// 3.10). It is the server's Config.Notified.
func (s *Secondaries) Notified(zone string, from netip.Addr) bool {
	s.init()
	s.mu.Lock()
	z, ok := s.zones[s.byName[zone]]
	ok = ok && slices.Contains(z.masters, from.Unmap())
	if ok {
		z.due, z.urgent = time.Time{}, true
	}
	s.mu.Unlock()
	if ok {
		s.poke()
	}
	return ok
}

// Run checks and transfers zones until ctx ends, following the feed
// after since for new and changed zones and keys.
func (s *Secondaries) Run(ctx context.Context, since int64) error {
	s.init()
	var wg sync.WaitGroup
	defer wg.Wait()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	wg.Go(func() {
		watch.Follow(ctx, s.Feed, watch.Query{Area: "dns", Since: since}, secondaryFollower{s}, watch.FollowOptions{Log: s.log()})
	})
	for ctx.Err() == nil {
		if err := s.scan(ctx); err != nil && ctx.Err() == nil {
			s.log().Warn("dns secondary: reading the zones failed", "err", err)
		}
		next := s.checkDue(ctx)
		wait := time.Minute
		if !next.IsZero() {
			wait = max(time.Until(next), 0)
		}
		select {
		case <-ctx.Done():
		case <-s.wake:
		case <-time.After(wait):
		}
	}
	return nil
}

// secondaryFollower pokes the loop for every change of a zone or a key.
type secondaryFollower struct{ s *Secondaries }

func (f secondaryFollower) Apply(_ context.Context, c watch.Change) error {
	if c.Kind == "zone" || c.Kind == "tsigkey" {
		f.s.poke()
	}
	return nil
}

func (f secondaryFollower) Resync(ctx context.Context) (int64, error) {
	head, _, err := f.s.Feed.Head(ctx)
	f.s.poke()
	return head, err
}

// scan reads the SECONDARY zones: a new zone, one whose masters changed
// or one whose transfer was asked for since the last scan is due at once;
// a zone gone is forgotten.
func (s *Secondaries) scan(ctx context.Context) error {
	zones, err := s.Store.SecondaryZones(ctx)
	if err != nil {
		return err
	}
	// Masters are resolved for new zones and changed master lists here,
	// and again after every check (checkDue), not at every wake-up.
	s.mu.Lock()
	fresh := map[string][]netip.Addr{}
	for _, sz := range zones {
		if cur, ok := s.zones[sz.Zone.ID]; !ok || !slices.Equal(cur.sz.Zone.Masters, sz.Zone.Masters) {
			fresh[sz.Zone.ID] = nil
		}
	}
	s.mu.Unlock()
	for _, sz := range zones {
		if _, ok := fresh[sz.Zone.ID]; ok {
			fresh[sz.Zone.ID] = resolveMasters(ctx, sz.Zone.Masters)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	keep := map[string]bool{}
	s.byName = map[string]string{}
	for _, sz := range zones {
		id := sz.Zone.ID
		keep[id] = true
		s.byName[sz.Zone.Name] = id
		if addrs, ok := fresh[id]; ok {
			s.zones[id] = &secondary{sz: sz, masters: addrs, urgent: true}
			continue
		}
		z := s.zones[id]
		if sz.AskedAt.After(z.sz.AskedAt) { // a transfer asked for by hand (the API's xfr)
			z.due, z.urgent = time.Time{}, true
		}
		z.sz = sz
	}
	for id := range s.zones {
		if !keep[id] {
			delete(s.zones, id)
		}
	}
	return nil
}

// resolveMasters returns the addresses of masters ("host[:port]").
func resolveMasters(ctx context.Context, masters []string) []netip.Addr {
	var out []netip.Addr
	for _, m := range masters {
		host, _ := splitMaster(m)
		if a, err := netip.ParseAddr(host); err == nil {
			out = append(out, a.Unmap())
			continue
		}
		rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		addrs, err := net.DefaultResolver.LookupNetIP(rctx, "ip", host)
		cancel()
		if err == nil {
			for _, a := range addrs {
				out = append(out, a.Unmap())
			}
		}
	}
	return out
}

// splitMaster reads a master as stored ("ip", "ip:port", "[v6]:port",
// "host", "host:port") into a host and a port (53 by default).
func splitMaster(m string) (host, port string) {
	if a, err := netip.ParseAddr(m); err == nil {
		return a.String(), "53"
	}
	if h, p, err := net.SplitHostPort(m); err == nil {
		return h, p
	}
	return m, "53"
}

// checkDue checks every zone that is due and returns when the next one is.
func (s *Secondaries) checkDue(ctx context.Context) time.Time {
	now := time.Now()
	s.mu.Lock()
	var due []dns.SecondaryZone
	for _, z := range s.zones {
		if !z.due.After(now) {
			z.urgent = false
			due = append(due, z.sz)
		}
	}
	s.mu.Unlock()
	slices.SortFunc(due, func(a, b dns.SecondaryZone) int { return strings.Compare(a.Zone.Name, b.Zone.Name) })
	for _, sz := range due {
		if ctx.Err() != nil {
			break
		}
		wait := s.check(ctx, sz)
		addrs := resolveMasters(ctx, sz.Zone.Masters)
		s.mu.Lock()
		if z, ok := s.zones[sz.Zone.ID]; ok && slices.Equal(z.sz.Zone.Masters, sz.Zone.Masters) {
			z.masters = addrs
			if !z.urgent {
				z.due = time.Now().Add(wait)
			}
		}
		s.mu.Unlock()
	}
	var next time.Time
	s.mu.Lock()
	for _, z := range s.zones {
		if next.IsZero() || z.due.Before(next) {
			next = z.due
		}
	}
	s.mu.Unlock()
	return next
}

// check asks the zone's masters for its serial and transfers it when one
// has a newer one; it returns how long until the next check.
func (s *Secondaries) check(ctx context.Context, sz dns.SecondaryZone) time.Duration {
	z := sz.Zone
	minimum := orDefault(s.MinInterval, time.Second)
	retry := max(time.Duration(z.Retry)*time.Second, minimum)
	if !sz.Loaded {
		retry = min(retry, orDefault(s.UnloadedRetry, 10*time.Second))
	}
	key, err := s.zoneKey(ctx, z.ID)
	if err != nil {
		s.log().Warn("dns secondary: reading the zone's TSIG key failed", "zone", z.Name, "err", err)
		return retry
	}
	var errs []error
	for _, m := range z.Masters {
		host, port := splitMaster(m)
		addr := net.JoinHostPort(host, port)
		serial, err := s.soaSerial(addr, z.Name, key)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", m, err))
			continue
		}
		if sz.Loaded && int32(serial-z.Serial) <= 0 { // RFC 1982: not newer
			return max(time.Duration(z.Refresh)*time.Second, minimum)
		}
		rrs, kind, err := s.transfer(ctx, addr, sz, key)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", m, err))
			continue
		}
		got, err := s.Store.Transferred(ctx, z.ID, rrs)
		if err != nil {
			if ctx.Err() == nil {
				s.log().Warn("dns secondary: storing the transfer failed", "zone", z.Name, "master", m, "err", err)
			}
			return retry
		}
		s.log().Info("dns secondary: zone transferred", "zone", z.Name, "master", m, "kind", kind, "serial", got.Serial, "records", len(rrs))
		return max(time.Duration(got.Refresh)*time.Second, minimum)
	}
	if ctx.Err() == nil {
		s.log().Warn("dns secondary: no master gave the zone", "zone", z.Name, "err", errors.Join(errs...))
	}
	return retry
}

// zoneKey returns the zone's TSIG key (scope ZONE, the first by name),
// or nil.
func (s *Secondaries) zoneKey(ctx context.Context, zoneID string) (*dns.TSIGKey, error) {
	keys, err := s.Store.ListTSIGKeys(ctx, dns.ScopeZone, zoneID)
	if err != nil || len(keys) == 0 {
		return nil, err
	}
	return &keys[0], nil
}

// sign signs m with key, if any, and returns the secrets a miekg/dns
// client needs.
func sign(m *mdns.Msg, key *dns.TSIGKey) map[string]string {
	if key == nil {
		return nil
	}
	name := mdns.Fqdn(key.Name)
	m.SetTsig(name, mdns.Fqdn(key.Algorithm), 300, time.Now().Unix())
	return map[string]string{name: key.Secret}
}

// soaSerial asks addr for zone's SOA serial, over UDP and then TCP when
// the answer is truncated.
func (s *Secondaries) soaSerial(addr, zone string, key *dns.TSIGKey) (uint32, error) {
	timeout := orDefault(s.Timeout, 30*time.Second)
	for _, network := range []string{"udp", "tcp"} {
		m := new(mdns.Msg)
		m.SetQuestion(zone, mdns.TypeSOA)
		c := &mdns.Client{Net: network, Timeout: timeout}
		c.TsigSecret = sign(m, key)
		r, _, err := c.Exchange(m, addr)
		if err != nil {
			return 0, err
		}
		if r.Truncated && network == "udp" {
			continue
		}
		if r.Rcode != mdns.RcodeSuccess {
			return 0, fmt.Errorf("SOA query: rcode %s", mdns.RcodeToString[r.Rcode])
		}
		for _, rr := range r.Answer {
			if soa, ok := rr.(*mdns.SOA); ok && strings.EqualFold(soa.Hdr.Name, zone) {
				return soa.Serial, nil
			}
		}
		return 0, fmt.Errorf("SOA query: no SOA for %s in the answer", zone)
	}
	return 0, fmt.Errorf("SOA query: truncated over TCP")
}

// transfer fetches the zone from addr: by IXFR from the serial held when
// the zone is loaded, by AXFR otherwise, or when the master answers the
// IXFR with its SOA alone (servers without IXFR, NSD before 4.7, do). It
// returns the whole zone, SOA first, and how it came ("axfr", "ixfr" when
// the master sent a diff, "ixfr-full" when it sent the whole zone).
func (s *Secondaries) transfer(ctx context.Context, addr string, sz dns.SecondaryZone, key *dns.TSIGKey) ([]mdns.RR, string, error) {
	z := sz.Zone
	kind := "axfr"
	if sz.Loaded {
		kind = "ixfr"
	}
	rrs, err := s.exchange(addr, z, kind == "ixfr", key)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", kind, err)
	}
	if kind == "ixfr" && len(rrs) == 1 {
		kind = "axfr"
		if rrs, err = s.exchange(addr, z, false, key); err != nil {
			return nil, "", fmt.Errorf("axfr: %w", err)
		}
	}
	if len(rrs) < 2 {
		return nil, "", fmt.Errorf("%s: %d records, not a zone", kind, len(rrs))
	}
	soa := rrs[0].(*mdns.SOA) // exchange checked it
	if last, ok := rrs[len(rrs)-1].(*mdns.SOA); !ok || last.Serial != soa.Serial {
		return nil, "", fmt.Errorf("%s: the answer does not end with the zone's SOA", kind)
	}
	if _, diff := rrs[1].(*mdns.SOA); kind == "ixfr" && diff && len(rrs) > 2 {
		cur, err := s.Store.Served(ctx, z.ID)
		if err != nil {
			return nil, "", err
		}
		have, err := cur.RRs()
		if err != nil {
			return nil, "", err
		}
		out, err := applyIXFR(have, rrs, z.Serial)
		return out, kind, err
	}
	if kind == "ixfr" {
		kind = "ixfr-full"
	}
	return rrs[:len(rrs)-1], kind, nil
}

// exchange sends one AXFR or IXFR over TCP and returns the answer's
// records. An IXFR answered with the zone's SOA alone ends there: the
// zone is up to date, or the master has no IXFR and wants an AXFR (the
// caller then asks for one); miekg/dns would wait for a message that
// never comes, so the connection is closed instead.
func (s *Secondaries) exchange(addr string, z dns.Zone, ixfr bool, key *dns.TSIGKey) ([]mdns.RR, error) {
	timeout := orDefault(s.Timeout, 30*time.Second)
	m := new(mdns.Msg)
	if ixfr {
		m.SetIxfr(z.Name, z.Serial, ".", ".")
	} else {
		m.SetAxfr(z.Name)
	}
	tr := &mdns.Transfer{DialTimeout: timeout, ReadTimeout: timeout, WriteTimeout: timeout}
	tr.TsigSecret = sign(m, key)
	ch, err := tr.In(m, addr)
	if err != nil {
		return nil, err
	}
	var out []mdns.RR
	var failed error
	lone := false
	for env := range ch {
		switch {
		case lone: // draining after the close
		case env.Error != nil:
			failed = env.Error
		case len(out) == 0 && !isSOA(env.RR):
			failed = fmt.Errorf("the answer does not begin with the zone's SOA")
		default:
			out = append(out, env.RR...)
			if ixfr && len(out) == 1 {
				lone = true
				tr.Close()
			}
		}
	}
	if failed != nil {
		return nil, failed
	}
	return out, nil
}

func isSOA(rrs []mdns.RR) bool {
	if len(rrs) == 0 {
		return false
	}
	_, ok := rrs[0].(*mdns.SOA)
	return ok
}

// rrKey identifies a record for an IXFR diff: name, class, type and data,
// not the TTL.
func rrKey(rr mdns.RR) string {
	h := rr.Header()
	return strings.ToLower(h.Name) + " " + mdns.Class(h.Class).String() + " " + mdns.Type(h.Rrtype).String() + " " +
		strings.TrimPrefix(rr.String(), h.String())
}

// applyIXFR applies an incremental transfer (RFC 1995 4: the new SOA,
// then for each version the old SOA, the records removed, the new SOA and
// the records added, and the new SOA again) to have, the zone at serial
// from, and returns the new zone, its SOA first.
func applyIXFR(have, ixfr []mdns.RR, from uint32) ([]mdns.RR, error) {
	records := map[string]mdns.RR{}
	var order []string // every key once, in the order first seen
	listed := map[string]bool{}
	put := func(rr mdns.RR) {
		k := rrKey(rr)
		if !listed[k] {
			listed[k] = true
			order = append(order, k)
		}
		records[k] = rr
	}
	for _, rr := range have {
		if _, ok := rr.(*mdns.SOA); !ok {
			put(rr)
		}
	}
	at := from
	i := 1
	for i < len(ixfr)-1 {
		old, ok := ixfr[i].(*mdns.SOA)
		if !ok || old.Serial != at {
			return nil, fmt.Errorf("ixfr: a diff from serial %v where %d was expected", ixfr[i], at)
		}
		for i++; i < len(ixfr)-1; i++ {
			if _, ok := ixfr[i].(*mdns.SOA); ok {
				break
			}
			delete(records, rrKey(ixfr[i]))
		}
		next, ok := ixfr[i].(*mdns.SOA)
		if !ok {
			return nil, fmt.Errorf("ixfr: a diff without its new SOA")
		}
		for i++; i < len(ixfr)-1; i++ {
			if _, ok := ixfr[i].(*mdns.SOA); ok {
				break
			}
			put(ixfr[i])
		}
		at = next.Serial
	}
	if final := ixfr[0].(*mdns.SOA); at != final.Serial {
		return nil, fmt.Errorf("ixfr: the diffs end at serial %d, not %d", at, final.Serial)
	}
	out := []mdns.RR{ixfr[0]}
	for _, k := range order {
		if rr, ok := records[k]; ok {
			out = append(out, rr)
		}
	}
	return out, nil
}
