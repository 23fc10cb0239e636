package dns

import (
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"strings"
	"time"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
)

// FloatingIP is a floating IP of the network service as reverse DNS sees
// it: its id and address, the project that holds it.
type FloatingIP struct {
	ID      string
	Project string
	Address netip.Addr
}

// PTR is the reverse record a project set for one of its floating IPs.
type PTR struct {
	FloatingIPID string
	Region       string
	Project      string
	Address      netip.Addr
	PTRDName     string
	TTL          *int
	Description  string
	ZoneID       string
	RecordSetID  string
}

// ManagedProject is Designate's managed_resource_tenant_id default: the
// owner of the reverse zones the service makes.
const ManagedProject = "00000000-0000-0000-0000-000000000000"

// reverseZoneName is the zone the service makes for a's PTR: the /24 of
// an IPv4 address, the /64 of an IPv6 one.
func reverseZoneName(a netip.Addr) string {
	name := ReverseName(a)
	if a.Unmap().Is4() {
		return name[strings.Index(name, ".")+1:] // the /24
	}
	return name[len("x.")*16:] // the /64: 16 nibbles fewer
}

var adminView = Viewer{Admin: true, AllProjects: true}

// SetPTR sets the PTR record of a floating IP: in the deepest existing
// zone that holds its reverse name, or in a zone made for its /24 (/64),
// owned by ManagedProject with email; the recordset is replaced if the
// floating IP had one.
func (s *Store) SetPTR(ctx context.Context, p PTR, email string) (PTR, error) {
	if p.PTRDName == "" {
		return PTR{}, errors.New("dns: SetPTR needs a ptrdname")
	}
	name := ReverseName(p.Address)
	zone, err := s.reverseZone(ctx, p.Address, email)
	if err != nil {
		return PTR{}, err
	}
	old, err := s.ptr(ctx, s.db, p.FloatingIPID)
	if err != nil && !errors.Is(err, sqlstore.ErrNotFound) {
		return PTR{}, err
	}
	rs := RecordSet{ZoneID: zone.ID, Name: name, Type: "PTR", TTL: p.TTL, Records: []string{p.PTRDName}, Description: p.Description}
	if err == nil && old.ZoneID == zone.ID {
		rs.ID = old.RecordSetID
		rs, err = s.UpdateRecordSet(ctx, adminView, rs)
	} else {
		if err == nil {
			if _, err := s.DeleteRecordSet(ctx, adminView, old.ZoneID, old.RecordSetID); err != nil && fault.KindOf(err) != fault.NotFound {
				return PTR{}, err
			}
		}
		rs, err = s.CreateRecordSet(ctx, adminView, zone.ID, rs)
	}
	if err != nil {
		return PTR{}, err
	}
	p.ZoneID, p.RecordSetID = zone.ID, rs.ID
	err = s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		if _, err := tx.Exec(ctx, "DELETE FROM dns_floatingip_ptrs WHERE floatingip_id = ?", p.FloatingIPID); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO dns_floatingip_ptrs (floatingip_id, region, project_id, address, ptrdname, ttl, description,
			zone_id, recordset_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			p.FloatingIPID, p.Region, p.Project, p.Address.String(), p.PTRDName, p.TTL, p.Description, p.ZoneID, p.RecordSetID)
		return err
	})
	return p, err
}

// UnsetPTR removes a floating IP's PTR record, if it has one.
func (s *Store) UnsetPTR(ctx context.Context, floatingIPID string) error {
	old, err := s.ptr(ctx, s.db, floatingIPID)
	if errors.Is(err, sqlstore.ErrNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	if _, err := s.DeleteRecordSet(ctx, adminView, old.ZoneID, old.RecordSetID); err != nil && fault.KindOf(err) != fault.NotFound {
		return err
	}
	_, err = s.db.Exec(ctx, "DELETE FROM dns_floatingip_ptrs WHERE floatingip_id = ?", floatingIPID)
	return err
}

// PTRs are the PTR records of the floating IPs ids that have one.
func (s *Store) PTRs(ctx context.Context, ids []string) (map[string]PTR, error) {
	out := map[string]PTR{}
	for _, id := range ids {
		p, err := s.ptr(ctx, s.db, id)
		if errors.Is(err, sqlstore.ErrNotFound) {
			continue
		} else if err != nil {
			return nil, err
		}
		out[id] = p
	}
	return out, nil
}

type getter interface {
	Get(ctx context.Context, q string, args []any, dest ...any) error
}

func (s *Store) ptr(ctx context.Context, db getter, id string) (PTR, error) {
	var p PTR
	var addr string
	var ttl *int64
	err := db.Get(ctx, `SELECT floatingip_id, region, project_id, address, ptrdname, ttl, description, zone_id, recordset_id
		FROM dns_floatingip_ptrs WHERE floatingip_id = ?`, []any{id},
		&p.FloatingIPID, &p.Region, &p.Project, &addr, &p.PTRDName, &ttl, &p.Description, &p.ZoneID, &p.RecordSetID)
	if err != nil {
		return PTR{}, err
	}
	p.Address, _ = netip.ParseAddr(addr)
	if ttl != nil {
		v := int(*ttl)
		p.TTL = &v
	}
	return p, nil
}

// reverseZone is the deepest live zone holding a's reverse name, or a new
// one for its /24 (/64).
func (s *Store) reverseZone(ctx context.Context, a netip.Addr, email string) (Zone, error) {
	name := ReverseName(a)
	for n := name; strings.Count(n, ".") > 2; n = n[strings.Index(n, ".")+1:] {
		zones, err := s.ListZones(ctx, adminView, ZoneFilter{Name: n}, Page{Limit: 1})
		if err != nil {
			return Zone{}, err
		}
		for _, z := range zones {
			if z.Action != ActionDelete && z.Type == Primary {
				return z, nil
			}
		}
	}
	z, err := s.CreateZone(ctx, Zone{ProjectID: ManagedProject, Name: reverseZoneName(a), Email: email,
		TTL: DefaultTTL, Description: "reverse DNS of floating IPs"})
	if fault.KindOf(err) == fault.Conflict { // made meanwhile
		return s.reverseZone(ctx, a, email)
	}
	return z, err
}

// PTRFollower keeps reverse DNS in step with the network service, as
// Designate's neutron handler does: the PTR record of a floating IP that
// is deleted (a "floatingip" delete on the network feed) is removed. At
// start and after a compaction it sweeps: every PTR whose floating IP its
// project no longer holds at that address goes.
type PTRFollower struct {
	Store       *Store
	Feed        *watch.Log
	FloatingIPs func(ctx context.Context, project string) ([]FloatingIP, error)
	Log         *slog.Logger
}

// ErrNoFloatingIPs is what a floating IP source answers while there is
// no network service to ask (yet): nothing can be concluded about PTRs.
var ErrNoFloatingIPs = errors.New("dns: no network service to list floating IPs")

// Run sweeps (retrying until the network service answers), then follows
// the network feed until ctx ends.
func (f *PTRFollower) Run(ctx context.Context) error {
	delay := time.Second
	rev, err := f.Resync(ctx)
	for err != nil {
		if !errors.Is(err, ErrNoFloatingIPs) {
			f.Log.Warn("dns: PTR sweep", "err", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(delay):
		}
		delay = min(2*delay, 30*time.Second)
		rev, err = f.Resync(ctx)
	}
	return watch.Follow(ctx, f.Feed, watch.Query{Area: "network", Since: rev}, f, watch.FollowOptions{Log: f.Log})
}

// Apply removes the PTR of a deleted floating IP.
func (f *PTRFollower) Apply(ctx context.Context, c watch.Change) error {
	if c.Kind != "floatingip" || c.Op != watch.Delete {
		return nil
	}
	return f.Store.UnsetPTR(ctx, c.ID)
}

// Resync removes the PTRs of floating IPs that are gone or moved, and
// returns the feed's head to follow from.
func (f *PTRFollower) Resync(ctx context.Context) (int64, error) {
	head, _, err := f.Feed.Head(ctx)
	if err != nil {
		return 0, err
	}
	rows, err := f.Store.db.Query(ctx, "SELECT floatingip_id, project_id, address FROM dns_floatingip_ptrs ORDER BY project_id")
	if err != nil {
		return head, err
	}
	type ptrRow struct{ id, project, addr string }
	var all []ptrRow
	for rows.Next() {
		var r ptrRow
		if err := rows.Scan(&r.id, &r.project, &r.addr); err != nil {
			rows.Close()
			return head, err
		}
		all = append(all, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return head, err
	}
	if f.FloatingIPs == nil {
		return head, ErrNoFloatingIPs
	}
	held := map[string]map[string]string{} // project → fip id → address
	for _, r := range all {
		if _, ok := held[r.project]; !ok {
			fips, err := f.FloatingIPs(ctx, r.project)
			if err != nil {
				return head, err
			}
			held[r.project] = map[string]string{}
			for _, fip := range fips {
				held[r.project][fip.ID] = fip.Address.String()
			}
		}
		if held[r.project][r.id] != r.addr {
			if err := f.Store.UnsetPTR(ctx, r.id); err != nil {
				return head, err
			}
		}
	}
	return head, nil
}
