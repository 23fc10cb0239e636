package identity

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
)

// EndpointGroup is Keystone's OS-EP-FILTER endpoint group: the endpoints
// whose service_id, interface and region_id equal every value of Filters
// (a string, or null, which matches an endpoint without a region; Keystone
// also stores other JSON values, which match no endpoint). Description is
// nil when none was given.
type EndpointGroup struct {
	ID          string                     `json:"id"`
	Name        string                     `json:"name"`
	Description *string                    `json:"description"`
	Filters     map[string]json.RawMessage `json:"filters"`
}

// endpointGroupFilters are the filter keys Keystone accepts
// (_require_valid_filter), in the order of its message.
var endpointGroupFilters = []string{"service_id", "region_id", "interface"}

const maxEndpointGroupName = 255 // parameter_types.name

// Validate checks g against Keystone's endpoint_group schema and
// _require_valid_filter: a name, a description of text, and filters on
// service_id, region_id and interface only, each a string of at most 255
// characters (the longest a region id, the longest of the three) or null. An empty Filters passes: the
// API refuses it on create only, as Keystone does.
func (g EndpointGroup) Validate() error {
	err := first(
		optionalID("endpoint_group.id", g.ID),
		name("endpoint_group.name", g.Name, maxEndpointGroupName),
	)
	if err == nil && g.Description != nil {
		err = text("endpoint_group.description", *g.Description, 0)
	}
	if err != nil {
		return err
	}
	for _, k := range slices.Sorted(maps.Keys(g.Filters)) {
		if !slices.Contains(endpointGroupFilters, k) {
			return fault.Invalid("endpoint_group.filters", "Expecting to find %s in endpoint_group.", strings.Join(endpointGroupFilters, " or "))
		}
		var v *string
		if raw := g.Filters[k]; !utf8.Valid(raw) || json.Unmarshal(raw, &v) != nil {
			return fault.Invalid("endpoint_group.filters."+k, "expected string or null")
		}
		if v != nil {
			if err := text("endpoint_group.filters."+k, *v, 255); err != nil {
				return err
			}
		}
	}
	return nil
}

// Matches reports whether e passes every filter of g, as Keystone's
// get_endpoints_filtered_by_endpoint_group compares them (endpoint[key]
// != value): a string equal to the endpoint's, or null for an endpoint
// without a region. No filter matches every endpoint.
func (g EndpointGroup) Matches(e Endpoint) bool {
	for k, raw := range g.Filters {
		var v any
		if json.Unmarshal(raw, &v) != nil {
			return false
		}
		have := map[string]string{"service_id": e.ServiceID, "interface": e.Interface, "region_id": e.RegionID}[k]
		switch x := v.(type) {
		case string:
			if have == "" || x != have {
				return false
			}
		case nil:
			if have != "" {
				return false
			}
		default:
			return false
		}
	}
	return true
}

const endpointGroupCols = "id, name, description, filters"

func scanEndpointGroup(r interface{ Scan(...any) error }) (EndpointGroup, error) {
	var g EndpointGroup
	var desc sql.NullString
	var filters string
	if err := r.Scan(&g.ID, &g.Name, &desc, &filters); err != nil {
		return g, err
	}
	if desc.Valid {
		g.Description = &desc.String
	}
	g.Filters = map[string]json.RawMessage{}
	json.Unmarshal([]byte(filters), &g.Filters)
	return g, nil
}

func (g EndpointGroup) description() any {
	if g.Description == nil {
		return nil
	}
	return *g.Description
}

// CreateEndpointGroup stores an endpoint group.
func (s *Store) CreateEndpointGroup(ctx context.Context, g EndpointGroup) (EndpointGroup, error) {
	if g.ID == "" {
		g.ID = NewID()
	}
	if g.Filters == nil {
		g.Filters = map[string]json.RawMessage{}
	}
	if err := g.Validate(); err != nil {
		return g, err
	}
	err := s.write(ctx, "endpoint_group", g.ID, watch.Create, g, func(tx *sqlstore.Tx) error {
		_, err := tx.Exec(ctx, "INSERT INTO identity_endpoint_groups ("+endpointGroupCols+") VALUES (?, ?, ?, ?)",
			g.ID, g.Name, g.description(), jsonText(g.Filters))
		return err
	})
	return g, err
}

// GetEndpointGroup returns an endpoint group: Keystone's "Could not find
// Endpoint Group" when there is none.
func (s *Store) GetEndpointGroup(ctx context.Context, id string) (EndpointGroup, error) {
	gs, err := list(ctx, s.db, "SELECT "+endpointGroupCols+" FROM identity_endpoint_groups WHERE id = ?", []any{id}, scanEndpointGroup)
	if err != nil {
		return EndpointGroup{}, err
	}
	if len(gs) == 0 {
		return EndpointGroup{}, notFound("Endpoint Group", id)
	}
	return gs[0], nil
}

// ListEndpointGroups returns the endpoint groups, those named name when
// it is set.
func (s *Store) ListEndpointGroups(ctx context.Context, name string) ([]EndpointGroup, error) {
	q, args := "SELECT "+endpointGroupCols+" FROM identity_endpoint_groups", []any{}
	if name != "" {
		q, args = q+" WHERE name = ?", append(args, name)
	}
	return list(ctx, s.db, q+" ORDER BY name, id", args, scanEndpointGroup)
}

// UpdateEndpointGroup stores a group's name, description and filters.
func (s *Store) UpdateEndpointGroup(ctx context.Context, g EndpointGroup) (EndpointGroup, error) {
	if err := g.Validate(); err != nil {
		return g, err
	}
	err := s.write(ctx, "endpoint_group", g.ID, watch.Update, g, func(tx *sqlstore.Tx) error {
		res, err := tx.Exec(ctx, "UPDATE identity_endpoint_groups SET name = ?, description = ?, filters = ? WHERE id = ?",
			g.Name, g.description(), jsonText(g.Filters), g.ID)
		if err != nil {
			return err
		}
		return affected(res, "Endpoint Group", g.ID)
	})
	return g, err
}

// DeleteEndpointGroup deletes a group and its project associations.
func (s *Store) DeleteEndpointGroup(ctx context.Context, id string) error {
	return s.write(ctx, "endpoint_group", id, watch.Delete, nil, func(tx *sqlstore.Tx) error {
		res, err := tx.Exec(ctx, "DELETE FROM identity_endpoint_groups WHERE id = ?", id)
		if err != nil {
			return err
		}
		return affected(res, "Endpoint Group", id)
	})
}

// EndpointsInGroup returns every endpoint the group's filters match,
// disabled ones included, as Keystone lists them.
func (s *Store) EndpointsInGroup(ctx context.Context, id string) ([]Endpoint, error) {
	g, err := s.GetEndpointGroup(ctx, id)
	if err != nil {
		return nil, err
	}
	all, err := s.ListEndpoints(ctx, "", "", "", 0)
	if err != nil {
		return nil, err
	}
	out := []Endpoint{}
	for _, e := range all {
		if g.Matches(e) {
			out = append(out, e)
		}
	}
	return out, nil
}

// ---- project associations ----

// ProjectEndpoint is one association of OS-EP-FILTER: an endpoint (or an
// endpoint group) in a project's catalog.
type ProjectEndpoint struct {
	EndpointID      string `json:"endpoint_id,omitempty"`
	EndpointGroupID string `json:"endpoint_group_id,omitempty"`
	ProjectID       string `json:"project_id"`
}

// AddEndpointToProject associates an endpoint with a project: after
// that, the project's catalog shows only its endpoints. The endpoint and
// then the project must exist (404s, in Keystone's order); an existing
// association is Keystone's 409.
func (s *Store) AddEndpointToProject(ctx context.Context, endpointID, projectID string) error {
	check := func() error {
		if _, err := s.GetEndpoint(ctx, endpointID); err != nil {
			return err
		}
		_, err := s.GetProject(ctx, projectID)
		return err
	}
	return s.associate(ctx, check, "project_endpoint", ProjectEndpoint{EndpointID: endpointID, ProjectID: projectID},
		"INSERT INTO identity_project_endpoints (endpoint_id, project_id) VALUES (?, ?)", endpointID, projectID)
}

// AddEndpointGroupToProject associates an endpoint group with a project.
// The project and then the group must exist; an existing association is
// Keystone's 409.
func (s *Store) AddEndpointGroupToProject(ctx context.Context, groupID, projectID string) error {
	check := func() error {
		if _, err := s.GetProject(ctx, projectID); err != nil {
			return err
		}
		_, err := s.GetEndpointGroup(ctx, groupID)
		return err
	}
	return s.associate(ctx, check, "project_endpoint_group", ProjectEndpoint{EndpointGroupID: groupID, ProjectID: projectID},
		"INSERT INTO identity_project_endpoint_groups (endpoint_group_id, project_id) VALUES (?, ?)", groupID, projectID)
}

// associate inserts an association after check; a conflict is a
// duplicate unless check now fails (a project, endpoint or group deleted
// meanwhile broke the foreign key).
func (s *Store) associate(ctx context.Context, check func() error, kind string, v ProjectEndpoint, q string, a, b string) error {
	if err := check(); err != nil {
		return err
	}
	err := s.write(ctx, kind, a+"/"+b, watch.Create, v, func(tx *sqlstore.Tx) error {
		_, err := tx.Exec(ctx, q, a, b)
		return err
	})
	if errors.Is(err, sqlstore.ErrConflict) {
		if cerr := check(); cerr != nil {
			return cerr
		}
		return conflict(kind, "Duplicate entry")
	}
	return err
}

// CheckEndpointInProject answers Keystone's 404 when the endpoint is not
// associated with the project.
func (s *Store) CheckEndpointInProject(ctx context.Context, endpointID, projectID string) error {
	n, err := s.count(ctx, "SELECT COUNT(*) FROM identity_project_endpoints WHERE endpoint_id = ? AND project_id = ?", endpointID, projectID)
	if err == nil && n == 0 {
		err = endpointNotInProject(endpointID, projectID)
	}
	return err
}

func endpointNotInProject(endpointID, projectID string) error {
	return &fault.Error{Kind: fault.NotFound, Message: "Endpoint " + endpointID + " not found in project " + projectID}
}

// RemoveEndpointFromProject deletes an association.
func (s *Store) RemoveEndpointFromProject(ctx context.Context, endpointID, projectID string) error {
	return s.write(ctx, "project_endpoint", endpointID+"/"+projectID, watch.Delete, nil, func(tx *sqlstore.Tx) error {
		res, err := tx.Exec(ctx, "DELETE FROM identity_project_endpoints WHERE endpoint_id = ? AND project_id = ?", endpointID, projectID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return endpointNotInProject(endpointID, projectID)
		}
		return nil
	})
}

// groupNotInProject is Keystone's NotFound for a missing project-endpoint
// group association.
var groupNotInProject = &fault.Error{Kind: fault.NotFound, Message: "Endpoint Group Project Association not found"}

// CheckEndpointGroupInProject answers Keystone's 404 when the group is
// not associated with the project.
func (s *Store) CheckEndpointGroupInProject(ctx context.Context, groupID, projectID string) error {
	n, err := s.count(ctx, "SELECT COUNT(*) FROM identity_project_endpoint_groups WHERE endpoint_group_id = ? AND project_id = ?", groupID, projectID)
	if err == nil && n == 0 {
		err = groupNotInProject
	}
	return err
}

// RemoveEndpointGroupFromProject deletes an association.
func (s *Store) RemoveEndpointGroupFromProject(ctx context.Context, groupID, projectID string) error {
	return s.write(ctx, "project_endpoint_group", groupID+"/"+projectID, watch.Delete, nil, func(tx *sqlstore.Tx) error {
		res, err := tx.Exec(ctx, "DELETE FROM identity_project_endpoint_groups WHERE endpoint_group_id = ? AND project_id = ?", groupID, projectID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return groupNotInProject
		}
		return nil
	})
}

func (s *Store) count(ctx context.Context, q string, args ...any) (int, error) {
	ns, err := list(ctx, s.db, q, args, func(r interface{ Scan(...any) error }) (int, error) {
		var n int
		return n, r.Scan(&n)
	})
	if err != nil || len(ns) == 0 {
		return 0, err
	}
	return ns[0], nil
}

func scanID(r interface{ Scan(...any) error }) (string, error) {
	var id string
	return id, r.Scan(&id)
}

// ProjectsForEndpoint returns the projects an endpoint is associated
// with (not those of its groups', as Keystone lists them).
func (s *Store) ProjectsForEndpoint(ctx context.Context, endpointID string) ([]Project, error) {
	ids, err := list(ctx, s.db, "SELECT project_id FROM identity_project_endpoints WHERE endpoint_id = ? ORDER BY project_id", []any{endpointID}, scanID)
	if err != nil {
		return nil, err
	}
	return s.projects(ctx, ids)
}

// ProjectsForEndpointGroup returns the projects a group is associated
// with.
func (s *Store) ProjectsForEndpointGroup(ctx context.Context, groupID string) ([]Project, error) {
	ids, err := list(ctx, s.db, "SELECT project_id FROM identity_project_endpoint_groups WHERE endpoint_group_id = ? ORDER BY project_id", []any{groupID}, scanID)
	if err != nil {
		return nil, err
	}
	return s.projects(ctx, ids)
}

func (s *Store) projects(ctx context.Context, ids []string) ([]Project, error) {
	out := make([]Project, 0, len(ids))
	for _, id := range ids {
		p, err := s.GetProject(ctx, id)
		if fault.KindOf(err) == fault.NotFound {
			continue // deleted since the list was read
		}
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// EndpointGroupsForProject returns the groups associated with a project.
func (s *Store) EndpointGroupsForProject(ctx context.Context, projectID string) ([]EndpointGroup, error) {
	return list(ctx, s.db, "SELECT g.id, g.name, g.description, g.filters FROM identity_endpoint_groups g JOIN identity_project_endpoint_groups p ON p.endpoint_group_id = g.id WHERE p.project_id = ? ORDER BY g.name, g.id",
		[]any{projectID}, scanEndpointGroup)
}

// EndpointsForProject returns the endpoints associated with a project:
// its own associations, then those its groups match that are not among
// them, disabled ones included (Keystone's list_endpoints_for_project).
func (s *Store) EndpointsForProject(ctx context.Context, projectID string) ([]Endpoint, error) {
	all, err := s.ListEndpoints(ctx, "", "", "", 0)
	if err != nil {
		return nil, err
	}
	direct, err := list(ctx, s.db, "SELECT endpoint_id FROM identity_project_endpoints WHERE project_id = ?", []any{projectID}, scanID)
	if err != nil {
		return nil, err
	}
	groups, err := s.EndpointGroupsForProject(ctx, projectID)
	if err != nil {
		return nil, err
	}
	out := []Endpoint{}
	for _, e := range all {
		if slices.Contains(direct, e.ID) {
			out = append(out, e)
		}
	}
	for _, e := range all {
		if slices.Contains(direct, e.ID) {
			continue
		}
		if slices.ContainsFunc(groups, func(g EndpointGroup) bool { return g.Matches(e) }) {
			out = append(out, e)
		}
	}
	return out, nil
}
