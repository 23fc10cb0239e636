package identity

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
)

// ---- regions ----

// CreateRegion stores a region; its id is its name (Keystone lets callers
// pick it, "RegionOne" by default). As Keystone's create_region, an id
// already taken is a conflict before the parent is looked at, and a
// parent must exist.
func (s *Store) CreateRegion(ctx context.Context, r Region) (Region, error) {
	if r.ID == "" {
		r.ID = NewID()
	}
	if err := r.Validate(); err != nil {
		return r, err
	}
	if _, err := s.GetRegion(ctx, r.ID); err == nil {
		return r, regionConflict(r.ID)
	} else if fault.KindOf(err) != fault.NotFound {
		return r, err
	}
	if r.ParentRegionID != "" {
		if _, err := s.GetRegion(ctx, r.ParentRegionID); err != nil {
			return r, err
		}
	}
	err := s.write(ctx, "region", r.ID, watch.Create, r, func(tx *sqlstore.Tx) error { return insertRegion(ctx, tx, r) })
	return r, err
}

// regionConflict is Keystone's: "Duplicate ID, <id>." in its Conflict
// message, which ends with a second period.
func regionConflict(id string) error { return conflict("region", fmt.Sprintf("Duplicate ID, %s.", id)) }

func insertRegion(ctx context.Context, tx *sqlstore.Tx, r Region) error {
	_, err := tx.Exec(ctx, "INSERT INTO identity_regions (id, description, parent_region_id) VALUES (?, ?, ?)", r.ID, r.Description, nullString(r.ParentRegionID))
	if errors.Is(err, sqlstore.ErrConflict) {
		return regionConflict(r.ID)
	}
	return err
}

func scanRegion(r interface{ Scan(...any) error }) (Region, error) {
	var x Region
	var parent sql.NullString
	err := r.Scan(&x.ID, &x.Description, &parent)
	x.ParentRegionID = parent.String
	return x, err
}

// GetRegion returns a region.
func (s *Store) GetRegion(ctx context.Context, id string) (Region, error) {
	rs, err := list(ctx, s.db, "SELECT id, description, parent_region_id FROM identity_regions WHERE id = ?", []any{id}, scanRegion)
	if err != nil {
		return Region{}, err
	}
	if len(rs) == 0 {
		return Region{}, notFound("region", id)
	}
	return rs[0], nil
}

// ListRegions returns every region.
func (s *Store) ListRegions(ctx context.Context) ([]Region, error) {
	return list(ctx, s.db, "SELECT id, description, parent_region_id FROM identity_regions ORDER BY id", nil, scanRegion)
}

// UpdateRegion stores a region's description and parent. The parent
// must exist and must not be the region or below it.
func (s *Store) UpdateRegion(ctx context.Context, r Region) (Region, error) {
	if err := r.Validate(); err != nil {
		return r, err
	}
	if err := s.checkParentRegion(ctx, r); err != nil {
		return r, err
	}
	err := s.write(ctx, "region", r.ID, watch.Update, r, func(tx *sqlstore.Tx) error {
		res, err := tx.Exec(ctx, "UPDATE identity_regions SET description = ?, parent_region_id = ? WHERE id = ?",
			r.Description, nullString(r.ParentRegionID), r.ID)
		if err != nil {
			return err
		}
		return affected(res, "region", r.ID)
	})
	return r, err
}

// checkParentRegion walks up from r's new parent: Keystone's
// CircularRegionHierarchyError when it meets r, whose message names the
// region it met (r itself), not the parent asked for.
func (s *Store) checkParentRegion(ctx context.Context, r Region) error {
	seen := map[string]bool{}
	for id := r.ParentRegionID; id != ""; {
		if id == r.ID || seen[id] {
			return fault.Invalid("region.parent_region_id", "The specified parent region %s would create a circular region hierarchy.", id)
		}
		seen[id] = true
		parent, err := s.GetRegion(ctx, id)
		if err != nil {
			return err
		}
		id = parent.ParentRegionID
	}
	return nil
}

// DeleteRegion deletes a region without child regions or endpoints.
func (s *Store) DeleteRegion(ctx context.Context, id string) error {
	return s.write(ctx, "region", id, watch.Delete, nil, func(tx *sqlstore.Tx) error {
		res, err := tx.Exec(ctx, "DELETE FROM identity_regions WHERE id = ?", id)
		if errors.Is(err, sqlstore.ErrConflict) {
			return forbidden("Cannot delete region %s: it has child regions or endpoints.", id)
		}
		if err != nil {
			return err
		}
		return affected(res, "region", id)
	})
}

// ---- services ----

func scanService(r interface{ Scan(...any) error }) (Service, error) {
	var x Service
	err := r.Scan(&x.ID, &x.Type, &x.Name, &x.Description, &x.Enabled)
	return x, err
}

// CreateService stores a catalog service.
func (s *Store) CreateService(ctx context.Context, v Service) (Service, error) {
	if v.ID == "" {
		v.ID = NewID()
	}
	if err := v.Validate(); err != nil {
		return v, err
	}
	err := s.write(ctx, "service", v.ID, watch.Create, v, func(tx *sqlstore.Tx) error {
		_, err := tx.Exec(ctx, "INSERT INTO identity_services (id, type, name, description, enabled) VALUES (?, ?, ?, ?, ?)", v.ID, v.Type, v.Name, v.Description, v.Enabled)
		return err
	})
	return v, err
}

// GetService returns a service.
func (s *Store) GetService(ctx context.Context, id string) (Service, error) {
	vs, err := list(ctx, s.db, "SELECT id, type, name, description, enabled FROM identity_services WHERE id = ?", []any{id}, scanService)
	if err != nil {
		return Service{}, err
	}
	if len(vs) == 0 {
		return Service{}, notFound("service", id)
	}
	return vs[0], nil
}

// ListServices returns services, filtered by type and name when set, by
// type and name; limit > 0 returns only the first limit of them.
func (s *Store) ListServices(ctx context.Context, typ, name string, limit int) ([]Service, error) {
	q, args := "SELECT id, type, name, description, enabled FROM identity_services WHERE 1=1", []any{}
	if typ != "" {
		q, args = q+" AND type = ?", append(args, typ)
	}
	if name != "" {
		q, args = q+" AND name = ?", append(args, name)
	}
	q, args = limited(q+" ORDER BY type, name, id", args, limit)
	return list(ctx, s.db, q, args, scanService)
}

// UpdateService stores a service.
func (s *Store) UpdateService(ctx context.Context, v Service) (Service, error) {
	if err := v.Validate(); err != nil {
		return v, err
	}
	err := s.write(ctx, "service", v.ID, watch.Update, v, func(tx *sqlstore.Tx) error {
		res, err := tx.Exec(ctx, "UPDATE identity_services SET type = ?, name = ?, description = ?, enabled = ? WHERE id = ?", v.Type, v.Name, v.Description, v.Enabled, v.ID)
		if err != nil {
			return err
		}
		return affected(res, "service", v.ID)
	})
	return v, err
}

// DeleteService deletes a service and its endpoints.
func (s *Store) DeleteService(ctx context.Context, id string) error {
	return s.write(ctx, "service", id, watch.Delete, nil, func(tx *sqlstore.Tx) error {
		res, err := tx.Exec(ctx, "DELETE FROM identity_services WHERE id = ?", id)
		if err != nil {
			return err
		}
		return affected(res, "service", id)
	})
}

// ---- endpoints ----

func scanEndpoint(r interface{ Scan(...any) error }) (Endpoint, error) {
	var x Endpoint
	var region sql.NullString
	err := r.Scan(&x.ID, &x.ServiceID, &x.Interface, &region, &x.URL, &x.Enabled)
	x.RegionID = region.String
	return x, err
}

// CreateEndpoint stores an endpoint of an existing service and region.
func (s *Store) CreateEndpoint(ctx context.Context, e Endpoint) (Endpoint, error) {
	return s.putEndpoint(ctx, e, watch.Create, false)
}

// CreateEndpointInRegion stores an endpoint of an existing service in
// its region, which it creates (no description, no parent) when there is
// none. It is Keystone's endpoint API for a caller that names the region
// the v2 way, "region" rather than "region_id". Unlike Keystone, which
// creates the region first and keeps it when the endpoint is refused,
// the region and the endpoint are one transaction.
func (s *Store) CreateEndpointInRegion(ctx context.Context, e Endpoint) (Endpoint, error) {
	return s.putEndpoint(ctx, e, watch.Create, true)
}

// putEndpoint creates (op watch.Create) or updates an endpoint, with its
// region when makeRegion is set and the region does not exist.
func (s *Store) putEndpoint(ctx context.Context, e Endpoint, op watch.Op, makeRegion bool) (Endpoint, error) {
	if op == watch.Create && e.ID == "" {
		e.ID = NewID()
	}
	makeRegion = makeRegion && e.RegionID != ""
	if err := s.checkEndpoint(ctx, e, makeRegion); err != nil {
		return e, err
	}
	err := s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		if makeRegion {
			r := Region{ID: e.RegionID}
			res, err := tx.Exec(ctx, "INSERT INTO identity_regions (id, description, parent_region_id) VALUES (?, '', NULL) ON CONFLICT DO NOTHING", r.ID)
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil {
				return err
			} else if n == 1 {
				if err := s.record(ctx, tx, "region", r.ID, watch.Create, r); err != nil {
					return err
				}
			}
		}
		if op == watch.Create {
			_, err := tx.Exec(ctx, "INSERT INTO identity_endpoints (id, service_id, interface, region_id, url, enabled) VALUES (?, ?, ?, ?, ?, ?)",
				e.ID, e.ServiceID, e.Interface, nullString(e.RegionID), e.URL, e.Enabled)
			if err != nil {
				return err
			}
		} else {
			res, err := tx.Exec(ctx, "UPDATE identity_endpoints SET service_id = ?, interface = ?, region_id = ?, url = ?, enabled = ? WHERE id = ?",
				e.ServiceID, e.Interface, nullString(e.RegionID), e.URL, e.Enabled, e.ID)
			if err != nil {
				return err
			}
			if err := affected(res, "endpoint", e.ID); err != nil {
				return err
			}
		}
		return s.record(ctx, tx, "endpoint", e.ID, op, e)
	})
	return e, err
}

// GetEndpoint returns an endpoint.
func (s *Store) GetEndpoint(ctx context.Context, id string) (Endpoint, error) {
	es, err := list(ctx, s.db, "SELECT id, service_id, interface, region_id, url, enabled FROM identity_endpoints WHERE id = ?", []any{id}, scanEndpoint)
	if err != nil {
		return Endpoint{}, err
	}
	if len(es) == 0 {
		return Endpoint{}, notFound("endpoint", id)
	}
	return es[0], nil
}

// ListEndpoints returns endpoints, filtered by service, interface and
// region when set, by service and interface; limit > 0 returns only the
// first limit of them.
func (s *Store) ListEndpoints(ctx context.Context, serviceID, iface, regionID string, limit int) ([]Endpoint, error) {
	q, args := "SELECT id, service_id, interface, region_id, url, enabled FROM identity_endpoints WHERE 1=1", []any{}
	for _, c := range []struct{ col, v string }{{"service_id", serviceID}, {"interface", iface}, {"region_id", regionID}} {
		if c.v != "" {
			q, args = q+" AND "+c.col+" = ?", append(args, c.v)
		}
	}
	q, args = limited(q+" ORDER BY service_id, interface, id", args, limit)
	return list(ctx, s.db, q, args, scanEndpoint)
}

// checkEndpoint validates e and checks that its service and region
// exist: a 400 naming the field, as Keystone's _assert_service_exists
// and _assert_region_exists. A region about to be made (makeRegion) must
// be a valid region id instead.
func (s *Store) checkEndpoint(ctx context.Context, e Endpoint, makeRegion bool) error {
	if err := e.Validate(); err != nil {
		return err
	}
	if makeRegion {
		if err := (Region{ID: e.RegionID}).Validate(); err != nil {
			return fault.Invalid("endpoint.region", "%s", fault.Message(err))
		}
	}
	if _, err := s.GetService(ctx, e.ServiceID); fault.KindOf(err) == fault.NotFound {
		return fault.Invalid("endpoint.service_id", "Could not find service: %s.", e.ServiceID)
	} else if err != nil {
		return err
	}
	if e.RegionID == "" || makeRegion {
		return nil
	}
	if _, err := s.GetRegion(ctx, e.RegionID); fault.KindOf(err) == fault.NotFound {
		return fault.Invalid("endpoint.region_id", "Could not find region: %s.", e.RegionID)
	} else if err != nil {
		return err
	}
	return nil
}

// UpdateEndpoint stores an endpoint of an existing service and region.
func (s *Store) UpdateEndpoint(ctx context.Context, e Endpoint) (Endpoint, error) {
	return s.putEndpoint(ctx, e, watch.Update, false)
}

// UpdateEndpointInRegion is UpdateEndpoint with the region created when
// it does not exist, as CreateEndpointInRegion.
func (s *Store) UpdateEndpointInRegion(ctx context.Context, e Endpoint) (Endpoint, error) {
	return s.putEndpoint(ctx, e, watch.Update, true)
}

// DeleteEndpoint deletes an endpoint.
func (s *Store) DeleteEndpoint(ctx context.Context, id string) error {
	return s.write(ctx, "endpoint", id, watch.Delete, nil, func(tx *sqlstore.Tx) error {
		res, err := tx.Exec(ctx, "DELETE FROM identity_endpoints WHERE id = ?", id)
		if err != nil {
			return err
		}
		return affected(res, "endpoint", id)
	})
}

// CatalogEntry is one service with its enabled endpoints, as a token's
// catalog shows it.
type CatalogEntry struct {
	Service   Service
	Endpoints []Endpoint
}

// Catalog returns enabled services with their enabled endpoints. For a
// project (projectID not empty) with OS-EP-FILTER associations, as
// Keystone's catalog with the endpoint filter: only the endpoints
// associated with it, directly or through its endpoint groups, and only
// the services left with one. A project whose associations match no
// endpoint sees the whole catalog (return_all_endpoints_if_no_filter).
func (s *Store) Catalog(ctx context.Context, projectID string) ([]CatalogEntry, error) {
	svcs, err := s.ListServices(ctx, "", "", 0)
	if err != nil {
		return nil, err
	}
	eps, err := list(ctx, s.db, "SELECT id, service_id, interface, region_id, url, enabled FROM identity_endpoints WHERE enabled = ? ORDER BY interface, id", []any{true}, scanEndpoint)
	if err != nil {
		return nil, err
	}
	var keep map[string]bool
	if projectID != "" {
		assoc, err := s.EndpointsForProject(ctx, projectID)
		if err != nil {
			return nil, err
		}
		if len(assoc) > 0 {
			keep = map[string]bool{}
			for _, e := range assoc {
				keep[e.ID] = true
			}
		}
	}
	by := map[string][]Endpoint{}
	for _, e := range eps {
		if keep == nil || keep[e.ID] {
			by[e.ServiceID] = append(by[e.ServiceID], e)
		}
	}
	out := []CatalogEntry{}
	for _, v := range svcs {
		if v.Enabled && (keep == nil || len(by[v.ID]) > 0) {
			out = append(out, CatalogEntry{Service: v, Endpoints: append([]Endpoint{}, by[v.ID]...)})
		}
	}
	return out, nil
}
