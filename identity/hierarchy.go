package identity

import (
	"context"
	"fmt"

	"github.com/gostack/gostack/kit/fault"
)

// DefaultMaxProjectTreeDepth is Keystone's max_project_tree_depth: how
// many levels of projects a domain may hold.
const DefaultMaxProjectTreeDepth = 5

// maxProjectDepth is how deep a hierarchy may grow below its domain.
func (s *Store) maxProjectDepth() int {
	if s.MaxProjectTreeDepth > 0 {
		return s.MaxProjectTreeDepth
	}
	return DefaultMaxProjectTreeDepth
}

// checkBranch holds a new project to Keystone's
// _assert_regular_project_constraints and the branch rules of
// _enforce_project_constraints, in their order: its domain exists; its
// parent exists (a top-level project's is the domain), is no other
// domain, and is in the same domain; no project of the branch, the
// domain included, is disabled; and the project is no deeper than
// maxProjectDepth levels below the domain.
func (s *Store) checkBranch(ctx context.Context, p Project) error {
	d, err := s.GetDomain(ctx, p.DomainID)
	if err != nil {
		return err
	}
	parent := d.AsProject()
	if p.ParentID != "" {
		if parent, err = s.GetProjectOrDomain(ctx, p.ParentID); err != nil {
			return err
		}
		switch {
		case parent.IsDomain:
			return fault.New(fault.BadRequest, "Cannot create project, the parent (%s) is acting as a domain, but this project's domain id (%s) does not match the parent's id.", parent.ID, d.ID)
		case parent.DomainID != d.ID:
			return fault.New(fault.BadRequest, "Cannot create project, since it specifies its domain_id %s, but specifies a parent in a different domain (%s).", d.ID, parent.DomainID)
		}
	}
	branch, err := s.parents(ctx, parent)
	if err != nil {
		return err
	}
	branch = append(branch, parent)
	for _, b := range branch {
		if !b.Enabled {
			return fault.New(fault.BadRequest, "cannot create a project in a branch containing a disabled project: %s", b.ID)
		}
	}
	// Keystone's _get_hierarchy_depth (the branch and the new project)
	// against max_project_tree_depth + 1 (the domain's level).
	if len(branch)+1 > s.maxProjectDepth()+1 {
		return forbidden("Max hierarchy depth reached for %s branch.", parent.ID)
	}
	return nil
}

// checkEnabled holds a change of old's enabled flag to Keystone's rules:
// a project is enabled only when its parents, its domain included, are,
// and disabled only when every project below it already is.
func (s *Store) checkEnabled(ctx context.Context, old Project, enabled bool) error {
	switch {
	case enabled && !old.Enabled:
		parents, err := s.parents(ctx, old)
		if err != nil {
			return err
		}
		for _, p := range parents {
			if !p.Enabled {
				return forbidden("Cannot enable project %s since it has disabled parents", old.ID)
			}
		}
	case !enabled && old.Enabled:
		below, err := s.descendants(ctx, old.ID)
		if err != nil {
			return err
		}
		for _, p := range below {
			if p.Enabled {
				return forbidden("Cannot disable project %s since its subtree contains enabled projects.", old.ID)
			}
		}
	}
	return nil
}

// parents is Keystone's list_project_parents: p's parents nearest first,
// its domain (as a project acting as a domain) last; none for a domain.
func (s *Store) parents(ctx context.Context, p Project) ([]Project, error) {
	if p.IsDomain {
		return nil, nil
	}
	var out []Project
	for id := p.ParentID; id != ""; {
		if len(out) > 64 {
			return nil, fmt.Errorf("identity: project hierarchy of %s is too deep", p.ID)
		}
		parent, err := s.GetProject(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, parent)
		id = parent.ParentID
	}
	d, err := s.GetDomain(ctx, p.DomainID)
	if err != nil {
		return nil, err
	}
	return append(out, d.AsProject()), nil
}

// descendants returns every project below the project id (parents never
// change, so the hierarchy has no cycle).
func (s *Store) descendants(ctx context.Context, id string) ([]Project, error) {
	var out []Project
	for level := []string{id}; len(level) > 0; {
		var next []string
		for _, parent := range level {
			children, err := s.ListProjects(ctx, ProjectFilter{ParentID: parent})
			if err != nil {
				return nil, err
			}
			for _, c := range children {
				out = append(out, c)
				next = append(next, c.ID)
			}
		}
		level = next
	}
	return out, nil
}
