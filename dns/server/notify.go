package server

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// Notify sends a NOTIFY for zone (RFC 1996) to every target at once,
// with the zone's current SOA, signed when the target names a key, and
// tries each target up to Config.NotifyAttempts times until it answers
// NOERROR. It returns the targets' errors joined.
func (s *Server) Notify(ctx context.Context, zone string, targets []Target) error {
	z := s.src.Zones().byNameLower(dns.Fqdn(zone))
	if z == nil {
		return fmt.Errorf("dns/server: notify %q: %w", zone, ErrUnknownZone)
	}
	errs := make([]error, len(targets))
	var wg sync.WaitGroup
	for i, t := range targets {
		wg.Go(func() { errs[i] = s.notifyOne(ctx, z, t) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (s *Server) notifyOne(ctx context.Context, z *zone, t Target) error {
	c := &dns.Client{Net: "udp", Timeout: s.cfg.NotifyTimeout}
	var key Key
	if t.Key != "" {
		var ok bool
		if key, ok = s.key(t.Key); !ok {
			return fmt.Errorf("dns/server: notify %s to %s: key %q not configured", z.name, t.Addr, t.Key)
		}
		c.TsigProvider = tsigProvider{s} // the server's keys, hmac-md5 included
	}
	var last error
	for try := 0; try < s.cfg.NotifyAttempts; try++ {
		if try > 0 {
			select {
			case <-ctx.Done():
				return fmt.Errorf("dns/server: notify %s to %s: %w", z.name, t.Addr, ctx.Err())
			case <-time.After(time.Duration(try) * 500 * time.Millisecond):
			}
		}
		m := new(dns.Msg)
		m.SetNotify(z.name)
		m.Authoritative = true
		m.Answer = []dns.RR{z.soa}
		if key.Name != "" {
			m.SetTsig(key.Name, key.Algorithm, 300, time.Now().Unix())
		}
		resp, _, err := c.ExchangeContext(ctx, m, t.Addr)
		if err == nil && resp.Rcode != dns.RcodeSuccess {
			err = fmt.Errorf("rcode %s", dns.RcodeToString[resp.Rcode])
		}
		if err == nil {
			return nil
		}
		last = err
	}
	return fmt.Errorf("dns/server: notify %s to %s: %w after %d tries: %v", z.name, t.Addr, ErrNotify, s.cfg.NotifyAttempts, last)
}

// watch sends NOTIFY for each zone that is new or whose serial changed
// each time the Watcher replaces its zones, until ctx ends.
func (s *Server) watch(ctx context.Context, w Watcher) {
	cur, replaced := s.first, s.firstReplaced
	for {
		select {
		case <-ctx.Done():
			return
		case <-replaced:
		}
		next, nextReplaced := w.Watch()
		for _, name := range next.Names() {
			if old := cur.byNameLower(name); old != nil && old.soa.Serial == next.byName[name].soa.Serial {
				continue
			}
			targets := s.cfg.NotifyTargets(name)
			if len(targets) == 0 {
				continue
			}
			s.wg.Go(func() {
				if err := s.Notify(ctx, name, targets); err != nil {
					s.logf("%v", strings.TrimSpace(err.Error()))
				}
			})
		}
		cur, replaced = next, nextReplaced
	}
}
