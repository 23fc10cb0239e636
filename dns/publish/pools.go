package publish

import (
	"context"
	"net/netip"
	"slices"

	"github.com/gostack/gostack/dns"
	"github.com/gostack/gostack/dns/server"
)

// routes is what the server and the polls need from the zones' pools,
// rebuilt by every Sync: a pool change in the feed reaches the server
// without a restart.
type routes struct {
	notify map[string][]server.Target // zone name → secondaries to NOTIFY
	acl    map[string][]server.ACL    // zone name → who may transfer it, besides the server's own ACL
	pools  map[string]dns.Pool        // pool id → pool
}

// NotifyTargets gives the server the secondaries to NOTIFY when zone
// (lowercase, with the final dot) changes: its pool's also-notifies
// (signed with NotifyKeys' key of their address, if any) and targets
// (signed with their TSIG key, if any), as the pool is now. It is the
// server's Config.NotifyTargets.
func (p *Publisher) NotifyTargets(zone string) []server.Target {
	if r := p.routes.Load(); r != nil {
		return r.notify[zone]
	}
	return nil
}

// ZoneTransfer gives the server who may transfer zone besides its own
// ACL: the pool's targets, from their address, signed with their key if
// they have one; and, from any address, requests signed with a stored
// TSIG key of the zone (scope ZONE) or of its pool (scope POOL), as
// Designate's mini-DNS lets a key's holder transfer what the key is
// scoped to. It is the server's Config.ZoneTransfer.
func (p *Publisher) ZoneTransfer(zone string) []server.ACL {
	if r := p.routes.Load(); r != nil {
		return r.acl[zone]
	}
	return nil
}

// pollServers are the servers asked for a zone's serial: its pool's
// nameservers, or Servers when the pool names none.
func (p *Publisher) pollServers(z dns.Zone) []string {
	if r := p.routes.Load(); r != nil {
		if pool, ok := r.pools[z.PoolID]; ok && len(pool.Nameservers) > 0 {
			return pool.Nameservers
		}
	}
	return p.Servers
}

// loadRoutes reads the pools and the TSIG keys and makes the routes of
// the zones served.
func (p *Publisher) loadRoutes(ctx context.Context, served []dns.ServedZone) (*routes, error) {
	pools, err := p.Store.ListPools(ctx)
	if err != nil {
		return nil, err
	}
	keys, err := p.Store.ListTSIGKeys(ctx, "", "")
	if err != nil {
		return nil, err
	}
	keyName := make(map[string]string, len(keys))
	zoneKeys, poolKeys := map[string][]server.ACL{}, map[string][]server.ACL{}
	for _, k := range keys {
		keyName[k.ID] = k.Name
		// A stored key lets its holder transfer what it is scoped to,
		// from any address, as Designate's mini-DNS does: a ZONE key its
		// zone, a POOL key its pool's zones.
		switch k.Scope {
		case dns.ScopeZone:
			zoneKeys[k.ResourceID] = append(zoneKeys[k.ResourceID], server.ACL{Key: k.Name})
		case dns.ScopePool:
			poolKeys[k.ResourceID] = append(poolKeys[k.ResourceID], server.ACL{Key: k.Name})
		}
	}
	r := &routes{notify: map[string][]server.Target{}, acl: map[string][]server.ACL{}, pools: map[string]dns.Pool{}}
	poolNotify := map[string][]server.Target{}
	poolACL := map[string][]server.ACL{}
	for _, pool := range pools {
		r.pools[pool.ID] = pool
		var notify []server.Target
		var acl []server.ACL
		for _, addr := range pool.AlsoNotifies {
			notify = append(notify, server.Target{Addr: addr, Key: p.NotifyKeys[addr]})
		}
		for _, t := range pool.Targets {
			key := keyName[t.TSIGKeyID]
			notify = append(notify, server.Target{Addr: t.NotifyAddr(), Key: key})
			if ip, err := netip.ParseAddr(t.Options["host"]); err == nil { // stored as an IP address
				acl = append(acl, server.ACL{Prefix: netip.PrefixFrom(ip, ip.BitLen()), Key: key})
			}
		}
		poolNotify[pool.ID], poolACL[pool.ID] = notify, acl
	}
	for _, sz := range served {
		z := sz.Zone
		r.notify[z.Name] = poolNotify[z.PoolID]
		acl := append(append(slices.Clone(poolACL[z.PoolID]), poolKeys[z.PoolID]...), zoneKeys[z.ID]...)
		if len(acl) > 0 {
			r.acl[z.Name] = acl
		}
	}
	return r, nil
}
