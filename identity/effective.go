package identity

import (
	"context"
	"slices"
)

// Indirect says where an effective assignment comes from, as Keystone's
// "indirect" member of one: the group whose membership gives it, the
// domain or project whose inherited assignment reaches it, the role
// that implies it. Empty fields do not apply.
type Indirect struct {
	GroupID   string
	DomainID  string // an inherited assignment on this domain
	ProjectID string // an inherited assignment on this project
	RoleID    string // the role that implies this one (the nearest)
}

// EffectiveAssignment is one role a user holds on a project or a domain,
// with how it comes to them.
type EffectiveAssignment struct {
	Assignment // a user's, never inherited
	Indirect   Indirect
}

// FromInheritance reports whether the assignment comes from an
// assignment inherited to projects (Keystone marks it
// OS-INHERIT:inherited_to).
func (e EffectiveAssignment) FromInheritance() bool {
	return e.Indirect.DomainID != "" || e.Indirect.ProjectID != ""
}

// EffectiveAssignments is Keystone's effective role assignments
// (assignment/core.py _list_effective_role_assignments, with
// strip_domain_roles): every stored assignment on a project or a domain
// (system ones are none of it), a group's expanded to each of its users,
// an inherited one to each project it reaches, each role followed by the
// roles it implies, and then every domain-specific role left out — they
// serve only to imply others. Nothing is merged: a role held two ways is
// listed twice, once per way, as Keystone lists it.
func (s *Store) EffectiveAssignments(ctx context.Context) ([]EffectiveAssignment, error) {
	stored, err := s.ListAssignments(ctx, AssignmentFilter{})
	if err != nil {
		return nil, err
	}
	projects, err := s.ListProjects(ctx, ProjectFilter{})
	if err != nil {
		return nil, err
	}
	imp, err := s.Implications(ctx)
	if err != nil {
		return nil, err
	}
	domainRoles, err := s.domainRoleIDs(ctx)
	if err != nil {
		return nil, err
	}
	members := map[string][]string{}
	var direct []EffectiveAssignment
	for _, x := range stored {
		if x.TargetType == TargetSystem {
			continue
		}
		var base Indirect
		users := []string{x.ActorID}
		if x.ActorType == ActorGroup {
			base.GroupID = x.ActorID
			if users, err = s.memberIDs(ctx, members, x.ActorID); err != nil {
				return nil, err
			}
		}
		targets := []string{x.TargetID}
		targetType := x.TargetType
		if x.Inherited {
			targetType, targets = TargetProject, inheritedTo(x, projects)
			if x.TargetType == TargetDomain {
				base.DomainID = x.TargetID
			} else {
				base.ProjectID = x.TargetID
			}
		}
		for _, u := range users {
			for _, t := range targets {
				direct = append(direct, EffectiveAssignment{
					Assignment: Assignment{ActorType: ActorUser, ActorID: u, TargetType: targetType, TargetID: t, RoleID: x.RoleID},
					Indirect:   base,
				})
			}
		}
	}
	all := implied(direct, imp)
	return slices.DeleteFunc(all, func(e EffectiveAssignment) bool { return domainRoles[e.RoleID] }), nil
}

// implied is Keystone's add_implied_roles: refs, then for each one a copy
// per role its role implies (the prior role as Indirect.RoleID), and so
// on through the implications, a copy met before not followed again.
func implied(refs []EffectiveAssignment, imp map[string][]string) []EffectiveAssignment {
	out := slices.Clone(refs)
	todo := slices.Clone(refs)
	checked := map[EffectiveAssignment]bool{}
	for len(todo) > 0 {
		next := todo[len(todo)-1]
		todo = todo[:len(todo)-1]
		checked[next] = true
		for _, role := range imp[next.RoleID] {
			e := next
			e.RoleID, e.Indirect.RoleID = role, next.RoleID
			if checked[e] {
				continue
			}
			out = append(out, e)
			todo = append(todo, e)
		}
	}
	return out
}

// inheritedTo lists the projects an inherited assignment reaches: every
// project of its domain, or every project below its project.
func inheritedTo(x Assignment, projects []Project) []string {
	var out []string
	if x.TargetType == TargetDomain {
		for _, p := range projects {
			if p.DomainID == x.TargetID {
				out = append(out, p.ID)
			}
		}
		return out
	}
	children := map[string][]string{}
	for _, p := range projects {
		if p.ParentID != "" {
			children[p.ParentID] = append(children[p.ParentID], p.ID)
		}
	}
	for level := children[x.TargetID]; len(level) > 0; {
		var next []string
		for _, id := range level {
			out = append(out, id)
			next = append(next, children[id]...)
		}
		level = next
	}
	return out
}

// memberIDs returns the ids of a group's users, through cache.
func (s *Store) memberIDs(ctx context.Context, cache map[string][]string, groupID string) ([]string, error) {
	if ids, ok := cache[groupID]; ok {
		return ids, nil
	}
	us, err := s.UsersInGroup(ctx, groupID, 0)
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(us))
	for _, u := range us {
		ids = append(ids, u.ID)
	}
	cache[groupID] = ids
	return ids, nil
}

// domainRoleIDs returns the ids of the domain-specific roles.
func (s *Store) domainRoleIDs(ctx context.Context) (map[string]bool, error) {
	rows, err := s.db.Query(ctx, "SELECT id FROM identity_roles WHERE domain_id <> ''")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out[id] = true
	}
	return out, rows.Err()
}
