package identity

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
)

// ---- domains ----

// CreateDomain stores d; an empty ID gets a new one. Its name and id
// may be no other domain's, and its id no project's: Keystone keeps
// domains as projects, so they share the ids.
func (s *Store) CreateDomain(ctx context.Context, d Domain) (Domain, error) {
	if d.ID == "" {
		d.ID = NewID()
	}
	if err := d.Validate(); err != nil {
		return d, err
	}
	d.Name = strip(d.Name)
	err := s.write(ctx, "domain", d.ID, watch.Create, d, func(tx *sqlstore.Tx) error {
		var one int
		err := tx.Get(ctx, "SELECT 1 FROM identity_projects WHERE id = ?", []any{d.ID}, &one)
		if err == nil {
			return domainConflict(d.Name)
		}
		if !errors.Is(err, sqlstore.ErrNotFound) {
			return err
		}
		_, err = tx.Exec(ctx, "INSERT INTO identity_domains (id, name, description, enabled) VALUES (?, ?, ?, ?)",
			d.ID, d.Name, d.Description, d.Enabled)
		if errors.Is(err, sqlstore.ErrConflict) {
			return domainConflict(d.Name)
		}
		return err
	})
	return d, err
}

// domainConflict is Keystone's 409 for a domain whose name or id is
// taken (a domain being a project acting as a domain there).
func domainConflict(name string) error {
	return conflict("project", "it is not permitted to have two projects acting as domains with the same name: "+name)
}

// projectConflict is Keystone's 409 for a project whose name is taken in
// its domain.
func projectConflict(p Project) error {
	return conflict("project", fmt.Sprintf("it is not permitted to have two projects with either the same name or same id in the same domain: name is %s, project id %s", p.Name, p.ID))
}

const domainCols = "id, name, description, enabled"

func scanDomain(r interface{ Scan(...any) error }) (Domain, error) {
	var d Domain
	err := r.Scan(&d.ID, &d.Name, &d.Description, &d.Enabled)
	return d, err
}

// GetDomain returns a domain by id.
func (s *Store) GetDomain(ctx context.Context, id string) (Domain, error) {
	var d Domain
	err := s.db.Get(ctx, "SELECT "+domainCols+" FROM identity_domains WHERE id = ?", []any{id}, &d.ID, &d.Name, &d.Description, &d.Enabled)
	if errors.Is(err, sqlstore.ErrNotFound) {
		return d, notFound("domain", id)
	}
	return d, err
}

// GetDomainByName returns a domain by name.
func (s *Store) GetDomainByName(ctx context.Context, name string) (Domain, error) {
	var d Domain
	err := s.db.Get(ctx, "SELECT "+domainCols+" FROM identity_domains WHERE name = ?", []any{name}, &d.ID, &d.Name, &d.Description, &d.Enabled)
	if errors.Is(err, sqlstore.ErrNotFound) {
		return d, notFound("domain", name)
	}
	return d, err
}

// ListDomains returns domains, filtered by name and enabled when set, by
// name; limit > 0 returns only the first limit of them.
func (s *Store) ListDomains(ctx context.Context, name string, enabled *bool, limit int) ([]Domain, error) {
	q, args := "SELECT "+domainCols+" FROM identity_domains WHERE 1=1", []any{}
	if name != "" {
		q, args = q+" AND name = ?", append(args, name)
	}
	if enabled != nil {
		q, args = q+" AND enabled = ?", append(args, *enabled)
	}
	q, args = limited(q+" ORDER BY name, id", args, limit)
	return list(ctx, s.db, q, args, scanDomain)
}

// UpdateDomain stores d (all fields) and returns it.
func (s *Store) UpdateDomain(ctx context.Context, d Domain) (Domain, error) {
	if err := d.Validate(); err != nil {
		return d, err
	}
	d.Name = strip(d.Name)
	err := s.write(ctx, "domain", d.ID, watch.Update, d, func(tx *sqlstore.Tx) error {
		res, err := tx.Exec(ctx, "UPDATE identity_domains SET name = ?, description = ?, enabled = ? WHERE id = ?",
			d.Name, d.Description, d.Enabled, d.ID)
		if errors.Is(err, sqlstore.ErrConflict) {
			return domainConflict(d.Name)
		}
		if err != nil {
			return err
		}
		return affected(res, "domain", d.ID)
	})
	return d, err
}

// DeleteDomain deletes a disabled domain and, as Keystone does, everything
// in it: projects, users, groups, domain roles and their assignments.
func (s *Store) DeleteDomain(ctx context.Context, id string) error {
	d, err := s.GetDomain(ctx, id)
	if err != nil {
		return err
	}
	if d.Enabled {
		return forbidden("Cannot delete a domain that is enabled, please disable it first.")
	}
	return s.write(ctx, "domain", id, watch.Delete, nil, func(tx *sqlstore.Tx) error {
		stmts := []string{
			"DELETE FROM identity_assignments WHERE (target_type = 'domain' AND target_id = ?) OR target_id IN (SELECT id FROM identity_projects WHERE domain_id = ?)",
			"DELETE FROM identity_assignments WHERE (actor_type = 'user' AND actor_id IN (SELECT id FROM identity_users WHERE domain_id = ?)) OR (actor_type = 'group' AND actor_id IN (SELECT id FROM identity_groups WHERE domain_id = ?))",
		}
		for _, q := range stmts {
			if _, err := tx.Exec(ctx, q, id, id); err != nil {
				return err
			}
		}
		for _, q := range []string{
			"UPDATE identity_projects SET parent_id = NULL WHERE domain_id = ?",
			"DELETE FROM identity_projects WHERE domain_id = ?",
			"DELETE FROM identity_users WHERE domain_id = ?",
			"DELETE FROM identity_groups WHERE domain_id = ?",
			"DELETE FROM identity_roles WHERE domain_id = ?",
			"DELETE FROM identity_domains WHERE id = ?",
		} {
			if _, err := tx.Exec(ctx, q, id); err != nil {
				return err
			}
		}
		return nil
	})
}

// ---- projects ----

// ProjectFilter selects projects; zero fields do not filter. The tag
// filters are Keystone's (GET /v3/projects?tags=...): a project must have
// all of Tags and at least one of TagsAny, and must not have all of
// NotTags nor any of NotTagsAny. Empty lists do not filter.
type ProjectFilter struct {
	DomainID, ParentID, Name string
	Enabled                  *bool
	IDs                      []string // restrict to these ids (nil: no restriction)
	Limit                    int      // > 0: only the first Limit projects
	Tags                     []string // all of these tags
	TagsAny                  []string // at least one of these tags
	NotTags                  []string // not all of these tags
	NotTagsAny               []string // none of these tags
	// IsDomain lists the projects acting as domains (the domains, as
	// Domain.AsProject shows them) instead of the others, as Keystone's
	// is_domain=true. They have no domain and no parent, so DomainID or
	// ParentID matches none of them.
	IsDomain bool
}

// matchTags applies f's tag filters to a project's tags.
func (f ProjectFilter) matchTags(tags []string) bool {
	hasAny := func(want []string) bool {
		return slices.ContainsFunc(want, func(t string) bool { return slices.Contains(tags, t) })
	}
	switch {
	case len(f.Tags) > 0 && !hasAll(tags, f.Tags),
		len(f.TagsAny) > 0 && !hasAny(f.TagsAny),
		len(f.NotTags) > 0 && hasAll(tags, f.NotTags),
		len(f.NotTagsAny) > 0 && hasAny(f.NotTagsAny):
		return false
	}
	return true
}

func (f ProjectFilter) byTags() bool {
	return len(f.Tags)+len(f.TagsAny)+len(f.NotTags)+len(f.NotTagsAny) > 0
}

const projectCols = "id, name, domain_id, parent_id, description, enabled, tags"

func scanProject(r interface{ Scan(...any) error }) (Project, error) {
	var p Project
	var parent sql.NullString
	var tags string
	if err := r.Scan(&p.ID, &p.Name, &p.DomainID, &parent, &p.Description, &p.Enabled, &tags); err != nil {
		return p, err
	}
	p.ParentID = parent.String
	json.Unmarshal([]byte(tags), &p.Tags)
	if p.Tags == nil {
		p.Tags = []string{}
	}
	return p, nil
}

// CreateProject stores p with Keystone's rules (resource/core.py
// create_project). A project acting as a domain (p.IsDomain) is a new
// domain: it may have no domain and no parent. Any other project needs
// its domain and its parent (none, or the domain, for a top-level
// project) to exist, in the same domain, with no disabled project in
// the branch and at most MaxProjectTreeDepth levels below the domain.
func (s *Store) CreateProject(ctx context.Context, p Project) (Project, error) {
	if p.ID == "" {
		p.ID = NewID()
	}
	if p.Tags == nil {
		p.Tags = []string{}
	}
	if err := p.Validate(); err != nil {
		return p, err
	}
	p.Name = strip(p.Name)
	if p.IsDomain {
		return s.createDomainProject(ctx, p)
	}
	if p.ParentID == p.DomainID {
		p.ParentID = "" // the domain: top level
	}
	if err := s.checkBranch(ctx, p); err != nil {
		return p, err
	}
	err := s.write(ctx, "project", p.ID, watch.Create, p, func(tx *sqlstore.Tx) error {
		var one int
		err := tx.Get(ctx, "SELECT 1 FROM identity_domains WHERE id = ?", []any{p.ID}, &one)
		if err == nil {
			return projectConflict(p)
		}
		if !errors.Is(err, sqlstore.ErrNotFound) {
			return err
		}
		_, err = tx.Exec(ctx, "INSERT INTO identity_projects (id, name, domain_id, parent_id, description, enabled, tags) VALUES (?, ?, ?, ?, ?, ?, ?)",
			p.ID, p.Name, p.DomainID, nullString(p.ParentID), p.Description, p.Enabled, jsonText(p.Tags))
		if errors.Is(err, sqlstore.ErrConflict) {
			return projectConflict(p)
		}
		return err
	})
	return p, err
}

// createDomainProject makes the domain a project acting as a domain
// stands for, with Keystone's _assert_is_domain_project_constraints.
func (s *Store) createDomainProject(ctx context.Context, p Project) (Project, error) {
	if p.DomainID != "" || p.ParentID != "" {
		return p, fault.New(fault.BadRequest, "only root projects are allowed to act as domains.")
	}
	if len(p.Tags) > 0 {
		return p, errDomainTags
	}
	d, err := s.CreateDomain(ctx, p.domain())
	return d.AsProject(), err
}

// errDomainTags refuses tags on a domain: gostack's domains keep none.
var errDomainTags = fault.Invalid("project.tags", "domain tags are not supported")

// GetProject returns a project by id.
func (s *Store) GetProject(ctx context.Context, id string) (Project, error) {
	rows, err := s.db.Query(ctx, "SELECT "+projectCols+" FROM identity_projects WHERE id = ?", id)
	if err != nil {
		return Project{}, err
	}
	ps, err := collect(rows, scanProject)
	if err != nil {
		return Project{}, err
	}
	if len(ps) == 0 {
		return Project{}, notFound("project", id)
	}
	return ps[0], nil
}

// GetProjectOrDomain is Keystone's get_project: the project with that
// id, or the domain as a project acting as a domain (IsDomain).
func (s *Store) GetProjectOrDomain(ctx context.Context, id string) (Project, error) {
	p, err := s.GetProject(ctx, id)
	if fault.KindOf(err) != fault.NotFound {
		return p, err
	}
	d, derr := s.GetDomain(ctx, id)
	if derr != nil {
		if fault.KindOf(derr) == fault.NotFound {
			return p, err // the project's 404
		}
		return p, derr
	}
	return d.AsProject(), nil
}

// GetProjectByName returns a project by domain and name.
func (s *Store) GetProjectByName(ctx context.Context, domainID, name string) (Project, error) {
	ps, err := s.ListProjects(ctx, ProjectFilter{DomainID: domainID, Name: name})
	if err != nil {
		return Project{}, err
	}
	if len(ps) == 0 {
		return Project{}, notFound("project", name)
	}
	return ps[0], nil
}

// ListProjects returns projects matching f, by name (the first f.Limit
// of them when it is set).
func (s *Store) ListProjects(ctx context.Context, f ProjectFilter) ([]Project, error) {
	if f.IsDomain {
		return s.listDomainProjects(ctx, f)
	}
	q, args := "SELECT "+projectCols+" FROM identity_projects WHERE 1=1", []any{}
	if f.DomainID != "" {
		q, args = q+" AND domain_id = ?", append(args, f.DomainID)
	}
	if f.ParentID != "" {
		q, args = q+" AND parent_id = ?", append(args, f.ParentID)
	}
	if f.Name != "" {
		q, args = q+" AND name = ?", append(args, f.Name)
	}
	if f.Enabled != nil {
		q, args = q+" AND enabled = ?", append(args, *f.Enabled)
	}
	if f.IDs != nil {
		if len(f.IDs) == 0 {
			return []Project{}, nil
		}
		q += " AND id IN (" + placeholders(len(f.IDs)) + ")"
		for _, id := range f.IDs {
			args = append(args, id)
		}
	}
	q += " ORDER BY name, id"
	if !f.byTags() {
		q, args = limited(q, args, f.Limit)
		return list(ctx, s.db, q, args, scanProject)
	}
	// Tags are JSON text: the query cannot select by them, so the limit
	// applies after they have.
	ps, err := list(ctx, s.db, q, args, scanProject)
	if err != nil {
		return nil, err
	}
	ps = slices.DeleteFunc(ps, func(p Project) bool { return !f.matchTags(p.Tags) })
	if f.Limit > 0 && len(ps) > f.Limit {
		ps = ps[:f.Limit]
	}
	return ps, nil
}

// listDomainProjects is ListProjects of the projects acting as domains.
func (s *Store) listDomainProjects(ctx context.Context, f ProjectFilter) ([]Project, error) {
	if f.DomainID != "" || f.ParentID != "" {
		return []Project{}, nil
	}
	ds, err := s.ListDomains(ctx, f.Name, f.Enabled, 0)
	if err != nil {
		return nil, err
	}
	out := []Project{}
	for _, d := range ds {
		p := d.AsProject()
		if (f.IDs == nil || slices.Contains(f.IDs, p.ID)) && f.matchTags(p.Tags) {
			out = append(out, p)
		}
	}
	if f.Limit > 0 && len(out) > f.Limit {
		out = out[:f.Limit]
	}
	return out, nil
}

// UpdateProject stores p's mutable fields (name, description, enabled,
// tags) and returns the stored project, with Keystone's rules
// (resource/core.py _update_project): its domain, its parent and whether
// it acts as a domain do not change; a project is enabled only under
// enabled parents (its domain included) and disabled only when every
// project below it is. A project acting as a domain (p.IsDomain) updates
// that domain, which may be disabled whatever is below it.
func (s *Store) UpdateProject(ctx context.Context, p Project) (Project, error) {
	if p.Tags == nil {
		p.Tags = []string{}
	}
	old, err := s.GetProjectOrDomain(ctx, p.ID)
	if err != nil {
		return p, err
	}
	checked := p
	checked.IsDomain = old.IsDomain // its domain_id rule is the stored project's
	if err := checked.Validate(); err != nil {
		return p, err
	}
	p.Name = strip(p.Name)
	if p.ParentID == p.DomainID && !p.IsDomain {
		p.ParentID = "" // the domain: top level
	}
	switch {
	case p.DomainID != old.DomainID:
		return p, fault.New(fault.BadRequest, "Cannot change Domain ID")
	case p.ParentID != old.ParentID:
		return p, forbidden("Update of `parent_id` is not allowed.")
	case p.IsDomain != old.IsDomain:
		return p, fault.New(fault.BadRequest, "Update of `is_domain` is not allowed.")
	case old.IsDomain && len(p.Tags) > 0:
		return p, errDomainTags
	case old.IsDomain:
		d, err := s.UpdateDomain(ctx, p.domain())
		return d.AsProject(), err
	}
	if err := s.checkEnabled(ctx, old, p.Enabled); err != nil {
		return p, err
	}
	err = s.write(ctx, "project", p.ID, watch.Update, p, func(tx *sqlstore.Tx) error {
		res, err := tx.Exec(ctx, "UPDATE identity_projects SET name = ?, description = ?, enabled = ?, tags = ? WHERE id = ?",
			p.Name, p.Description, p.Enabled, jsonText(p.Tags), p.ID)
		if errors.Is(err, sqlstore.ErrConflict) {
			return projectConflict(p)
		}
		if err != nil {
			return err
		}
		return affected(res, "project", p.ID)
	})
	return p, err
}

// DeleteProject deletes a project with no subprojects, and its
// assignments and credentials. A project acting as a domain is its
// domain: DeleteDomain's rules and cascade, as Keystone's delete_project.
func (s *Store) DeleteProject(ctx context.Context, id string) error {
	p, err := s.GetProjectOrDomain(ctx, id)
	if err != nil {
		return err
	}
	if p.IsDomain {
		return s.DeleteDomain(ctx, id)
	}
	children, err := s.ListProjects(ctx, ProjectFilter{ParentID: id})
	if err != nil {
		return err
	}
	if len(children) > 0 {
		return forbidden("Cannot delete the project %s since it is not a leaf in the hierarchy. Use the cascade option if you want to delete a whole subtree.", id)
	}
	return s.write(ctx, "project", id, watch.Delete, nil, func(tx *sqlstore.Tx) error {
		if _, err := tx.Exec(ctx, "DELETE FROM identity_assignments WHERE target_type = 'project' AND target_id = ?", id); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "DELETE FROM identity_credentials WHERE project_id = ?", id); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "DELETE FROM identity_trusts WHERE project_id = ?", id); err != nil {
			return err
		}
		res, err := tx.Exec(ctx, "DELETE FROM identity_projects WHERE id = ?", id)
		if err != nil {
			return err
		}
		return affected(res, "project", id)
	})
}

// ancestors returns the ids of p's parents, nearest first.
func (s *Store) ancestors(ctx context.Context, p Project) ([]string, error) {
	var out []string
	for parent := p.ParentID; parent != ""; {
		if len(out) > 64 {
			return nil, fmt.Errorf("identity: project hierarchy of %s is too deep", p.ID)
		}
		out = append(out, parent)
		pp, err := s.GetProject(ctx, parent)
		if err != nil {
			return nil, err
		}
		parent = pp.ParentID
	}
	return out, nil
}

// ---- helpers ----

func list[T any](ctx context.Context, db *sqlstore.DB, q string, args []any, scan func(interface{ Scan(...any) error }) (T, error)) ([]T, error) {
	rows, err := db.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	return collect(rows, scan)
}

// limited adds a LIMIT of n rows to q, none when n <= 0.
func limited(q string, args []any, n int) (string, []any) {
	if n <= 0 {
		return q, args
	}
	return q + " LIMIT ?", append(args, n)
}

func collect[T any](rows *sql.Rows, scan func(interface{ Scan(...any) error }) (T, error)) ([]T, error) {
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

func placeholders(n int) string {
	b := make([]byte, 0, 2*n)
	for i := range n {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '?')
	}
	return string(b)
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func hasAll(have, want []string) bool {
	for _, w := range want {
		found := false
		for _, h := range have {
			if h == w {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}
