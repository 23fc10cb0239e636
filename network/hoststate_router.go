package network

import (
	"context"
	"slices"

	"github.com/gostack/gostack/kit/fault"

	"github.com/gostack/gostack/kit/sqlstore"
)

// RouterService is a router a host runs: its gateway and interface
// ports with their subnets, and its associated floating IPs.
type RouterService struct {
	Router      Router       `json:"router"`
	Gateway     *RouterPort  `json:"gateway"` // nil: no gateway
	Interfaces  []RouterPort `json:"interfaces"`
	FloatingIPs []FloatingIP `json:"floatingips"`
}

// RouterPort is a router's port with the subnets of its addresses.
type RouterPort struct {
	Port    Port     `json:"port"`
	Subnets []Subnet `json:"subnets"`
}

// hostRouters reads the routers scheduled to host, in tx.
func hostRouters(ctx context.Context, tx *sqlstore.Tx, host string) ([]RouterService, error) {
	routers, err := queryAll(ctx, tx, scanRouter, "SELECT "+routerCols+` FROM network_routers r WHERE r.id IN
		(SELECT router_id FROM network_router_bindings WHERE host = ?) ORDER BY r.id`, host)
	if err != nil {
		return nil, err
	}
	out := []RouterService{}
	subnets := map[string][]Subnet{} // by network
	subnetsOfNet := func(id string) ([]Subnet, error) {
		if s, ok := subnets[id]; ok {
			return s, nil
		}
		s, err := subnetsOf(ctx, tx, id)
		subnets[id] = s
		return s, err
	}
	for _, r := range routers {
		svc := RouterService{Router: r, Interfaces: []RouterPort{}}
		ports, err := queryAll(ctx, tx, scanRouterPort, "SELECT rp.port_type, "+portCols+` FROM network_router_ports rp
			JOIN network_ports ON network_ports.id = rp.port_id WHERE rp.router_id = ? ORDER BY network_ports.id`, r.ID)
		if err != nil {
			return nil, err
		}
		for _, rp := range ports {
			if rp.port.FixedIPs, err = fixedIPs(ctx, tx, rp.port.ID); err != nil {
				return nil, err
			}
			subs, err := subnetsOfNet(rp.port.NetworkID)
			if err != nil {
				return nil, err
			}
			p := RouterPort{Port: rp.port, Subnets: []Subnet{}}
			for _, sub := range subs {
				for _, f := range rp.port.FixedIPs {
					if f.SubnetID == sub.ID {
						p.Subnets = append(p.Subnets, sub)
						break
					}
				}
			}
			if rp.typ == "network:router_gateway" {
				svc.Gateway = &p
				if r.Gateway != nil {
					r.Gateway.NetworkID, r.Gateway.FixedIPs = rp.port.NetworkID, rp.port.FixedIPs
					svc.Router = r
				}
			} else {
				svc.Interfaces = append(svc.Interfaces, p)
			}
		}
		if svc.FloatingIPs, err = queryAll(ctx, tx, scanFIP, "SELECT "+fipCols+" FROM network_floatingips f WHERE f.router_id = ? ORDER BY f.id", r.ID); err != nil {
			return nil, err
		}
		out = append(out, svc)
	}
	return out, nil
}

// SetFloatingIPStatuses records, in one transaction, what the agent of
// host observed of the floating IPs of its routers: id → ACTIVE, DOWN or
// ERROR. Floating IPs whose router is not (any more) on host, or gone,
// are skipped and returned.
func (s *Store) SetFloatingIPStatuses(ctx context.Context, host string, statuses map[string]string) (skipped []string, err error) {
	for id, st := range statuses {
		if st != Active && st != Down && st != Error {
			return nil, invalidInput("floating IP %s status %q: want ACTIVE, DOWN or ERROR", id, st)
		}
	}
	ids := sortedKeys(statuses)
	err = s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		skipped = skipped[:0]
		for _, id := range ids {
			f, err := lockFIP(ctx, tx, Viewer{Admin: true}, id)
			if fault.KindOf(err) == fault.NotFound {
				skipped = append(skipped, id)
				continue
			} else if err != nil {
				return err
			}
			var bound string
			if err := tx.Get(ctx, "SELECT host FROM network_router_bindings WHERE router_id = ?", []any{f.RouterID}, &bound); err != nil || bound != host {
				skipped = append(skipped, id)
				continue
			}
			if f.Status == statuses[id] {
				continue
			}
			f.Status = statuses[id]
			if err := s.saveFIP(ctx, tx, &f); err != nil {
				return err
			}
		}
		return nil
	})
	return skipped, err
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
