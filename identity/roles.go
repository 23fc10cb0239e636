package identity

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
)

// ---- roles ----

func scanRole(r interface{ Scan(...any) error }) (Role, error) {
	var x Role
	err := r.Scan(&x.ID, &x.Name, &x.DomainID, &x.Description)
	return x, err
}

// CreateRole stores a role (global when DomainID is "").
func (s *Store) CreateRole(ctx context.Context, r Role) (Role, error) {
	if r.ID == "" {
		r.ID = NewID()
	}
	if err := r.Validate(); err != nil {
		return r, err
	}
	if r.DomainID != "" {
		if _, err := s.GetDomain(ctx, r.DomainID); err != nil {
			return r, err
		}
	}
	err := s.write(ctx, "role", r.ID, watch.Create, r, func(tx *sqlstore.Tx) error {
		_, err := tx.Exec(ctx, "INSERT INTO identity_roles (id, name, domain_id, description) VALUES (?, ?, ?, ?)", r.ID, r.Name, r.DomainID, r.Description)
		if errors.Is(err, sqlstore.ErrConflict) {
			return conflict("role", fmt.Sprintf("Duplicate entry found with name %s", r.Name))
		}
		return err
	})
	return r, err
}

// GetRole returns a role by id.
func (s *Store) GetRole(ctx context.Context, id string) (Role, error) {
	rs, err := list(ctx, s.db, "SELECT id, name, domain_id, description FROM identity_roles WHERE id = ?", []any{id}, scanRole)
	if err != nil {
		return Role{}, err
	}
	if len(rs) == 0 {
		return Role{}, notFound("role", id)
	}
	return rs[0], nil
}

// GetRoleByName returns a global (domainID "") or domain role by name.
func (s *Store) GetRoleByName(ctx context.Context, domainID, name string) (Role, error) {
	rs, err := list(ctx, s.db, "SELECT id, name, domain_id, description FROM identity_roles WHERE domain_id = ? AND name = ?", []any{domainID, name}, scanRole)
	if err != nil {
		return Role{}, err
	}
	if len(rs) == 0 {
		return Role{}, notFound("role", name)
	}
	return rs[0], nil
}

// ListRoles returns the roles of one domain ("" for global roles),
// filtered by name when set, by name; limit > 0 returns only the first
// limit of them.
func (s *Store) ListRoles(ctx context.Context, domainID, name string, limit int) ([]Role, error) {
	q, args := "SELECT id, name, domain_id, description FROM identity_roles WHERE domain_id = ?", []any{domainID}
	if name != "" {
		q, args = q+" AND name = ?", append(args, name)
	}
	q, args = limited(q+" ORDER BY name, id", args, limit)
	return list(ctx, s.db, q, args, scanRole)
}

// UpdateRole stores a role's name and description. Its domain cannot
// change.
func (s *Store) UpdateRole(ctx context.Context, r Role) (Role, error) {
	if err := r.Validate(); err != nil {
		return r, err
	}
	old, err := s.GetRole(ctx, r.ID)
	if err != nil {
		return r, err
	}
	if r.DomainID != old.DomainID {
		return r, fault.Invalid("role.domain_id", "Update of `domain_id` is not allowed.")
	}
	err = s.write(ctx, "role", r.ID, watch.Update, r, func(tx *sqlstore.Tx) error {
		res, err := tx.Exec(ctx, "UPDATE identity_roles SET name = ?, description = ? WHERE id = ?", r.Name, r.Description, r.ID)
		if errors.Is(err, sqlstore.ErrConflict) {
			return conflict("role", fmt.Sprintf("Duplicate entry found with name %s", r.Name))
		}
		if err != nil {
			return err
		}
		return affected(res, "role", r.ID)
	})
	return r, err
}

// DeleteRole deletes a role with its assignments and implications.
func (s *Store) DeleteRole(ctx context.Context, id string) error {
	return s.write(ctx, "role", id, watch.Delete, nil, func(tx *sqlstore.Tx) error {
		res, err := tx.Exec(ctx, "DELETE FROM identity_roles WHERE id = ?", id)
		if err != nil {
			return err
		}
		return affected(res, "role", id)
	})
}

// ---- implied roles ----

// prohibitedImpliedRoles are the roles no role may imply: the default of
// Keystone's [assignment] prohibited_implied_role.
var prohibitedImpliedRoles = []string{"admin"}

// Imply records that prior implies implied, with Keystone's rules
// (create_implied_role): no role implies a prohibited one
// (admin) and a global role implies no domain-specific
// one. Cycles are refused.
func (s *Store) Imply(ctx context.Context, prior, implied string) error {
	impliedRole, err := s.GetRole(ctx, implied)
	if err != nil {
		return err
	}
	priorRole, err := s.GetRole(ctx, prior)
	if err != nil {
		return err
	}
	if slices.Contains(prohibitedImpliedRoles, impliedRole.Name) || (priorRole.DomainID == "" && impliedRole.DomainID != "") {
		return forbidden("%s cannot be an implied roles.", implied)
	}
	closure, err := s.expand(ctx, []string{implied})
	if err != nil {
		return err
	}
	if slices.Contains(closure, prior) {
		return forbidden("Cannot create the implied role %s -> %s: it would make a cycle.", prior, implied)
	}
	return s.write(ctx, "implied_role", prior+":"+implied, watch.Create, map[string]string{"prior_role_id": prior, "implied_role_id": implied}, func(tx *sqlstore.Tx) error {
		_, err := tx.Exec(ctx, "INSERT INTO identity_implied_roles (prior_role_id, implied_role_id) VALUES (?, ?) ON CONFLICT DO NOTHING", prior, implied)
		return err
	})
}

// Unimply removes an implication.
func (s *Store) Unimply(ctx context.Context, prior, implied string) error {
	return s.write(ctx, "implied_role", prior+":"+implied, watch.Delete, nil, func(tx *sqlstore.Tx) error {
		res, err := tx.Exec(ctx, "DELETE FROM identity_implied_roles WHERE prior_role_id = ? AND implied_role_id = ?", prior, implied)
		if err != nil {
			return err
		}
		return affected(res, "implied role", prior+" -> "+implied)
	})
}

// Implications returns every implication as prior -> implied ids.
func (s *Store) Implications(ctx context.Context) (map[string][]string, error) {
	rows, err := s.db.Query(ctx, "SELECT prior_role_id, implied_role_id FROM identity_implied_roles ORDER BY prior_role_id, implied_role_id")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string][]string{}
	for rows.Next() {
		var a, b string
		if err := rows.Scan(&a, &b); err != nil {
			return nil, err
		}
		out[a] = append(out[a], b)
	}
	return out, rows.Err()
}

// expand adds every role implied, directly or not, by ids.
func (s *Store) expand(ctx context.Context, ids []string) ([]string, error) {
	imp, err := s.Implications(ctx)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []string
	var walk func(string)
	walk = func(id string) {
		if seen[id] {
			return
		}
		seen[id] = true
		out = append(out, id)
		for _, next := range imp[id] {
			walk(next)
		}
	}
	for _, id := range ids {
		walk(id)
	}
	return out, nil
}

// ---- assignments ----

// Grant stores an assignment (idempotent). Actor, target and role must exist.
func (s *Store) Grant(ctx context.Context, a Assignment) error {
	if err := s.checkAssignment(ctx, a); err != nil {
		return err
	}
	return s.write(ctx, "assignment", assignmentID(a), watch.Create, a, func(tx *sqlstore.Tx) error {
		_, err := tx.Exec(ctx, "INSERT INTO identity_assignments (actor_type, actor_id, target_type, target_id, role_id, inherited) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
			a.ActorType, a.ActorID, a.TargetType, a.TargetID, a.RoleID, a.Inherited)
		return err
	})
}

// Revoke removes an assignment.
func (s *Store) Revoke(ctx context.Context, a Assignment) error {
	return s.write(ctx, "assignment", assignmentID(a), watch.Delete, nil, func(tx *sqlstore.Tx) error {
		res, err := tx.Exec(ctx, "DELETE FROM identity_assignments WHERE actor_type = ? AND actor_id = ? AND target_type = ? AND target_id = ? AND role_id = ? AND inherited = ?",
			a.ActorType, a.ActorID, a.TargetType, a.TargetID, a.RoleID, a.Inherited)
		if err != nil {
			return err
		}
		return affected(res, "grant", a.RoleID)
	})
}

func assignmentID(a Assignment) string {
	return fmt.Sprintf("%s:%s:%s:%s:%s:%t", a.ActorType, a.ActorID, a.TargetType, a.TargetID, a.RoleID, a.Inherited)
}

func (s *Store) checkAssignment(ctx context.Context, a Assignment) error {
	var err error
	switch a.ActorType {
	case ActorUser:
		_, err = s.GetUser(ctx, a.ActorID)
	case ActorGroup:
		_, err = s.GetGroup(ctx, a.ActorID)
	default:
		return fmt.Errorf("identity: unknown actor type %q", a.ActorType)
	}
	if err != nil {
		return err
	}
	switch a.TargetType {
	case TargetProject:
		_, err = s.GetProject(ctx, a.TargetID)
	case TargetDomain:
		_, err = s.GetDomain(ctx, a.TargetID)
	case TargetSystem:
		if a.TargetID != "all" {
			return notFound("system", a.TargetID)
		}
	default:
		return fmt.Errorf("identity: unknown target type %q", a.TargetType)
	}
	if err != nil {
		return err
	}
	role, err := s.GetRole(ctx, a.RoleID)
	if err != nil || role.DomainID == "" {
		return err
	}
	// A domain-specific role: Keystone's create_grant and
	// create_system_grant_for_user/_group.
	switch a.TargetType {
	case TargetProject:
		if p, err := s.GetProject(ctx, a.TargetID); err == nil && p.DomainID != role.DomainID {
			return forbidden("Project %s must be in the same domain as the role %s being assigned.", a.TargetID, role.ID)
		}
	case TargetSystem:
		return fault.New(fault.BadRequest, "Role %s is a domain-specific role. Unable to use a domain-specific role in a system assignment.", role.ID)
	}
	return nil
}

// AssignmentFilter selects assignments; zero fields do not filter.
type AssignmentFilter struct {
	ActorType, ActorID, TargetType, TargetID, RoleID string
	Inherited                                        *bool
	ActorIDs                                         []string // any of these actor ids
}

// ListAssignments returns stored assignments matching f.
func (s *Store) ListAssignments(ctx context.Context, f AssignmentFilter) ([]Assignment, error) {
	q, args := "SELECT actor_type, actor_id, target_type, target_id, role_id, inherited FROM identity_assignments WHERE 1=1", []any{}
	for _, c := range []struct{ col, v string }{{"actor_type", f.ActorType}, {"actor_id", f.ActorID}, {"target_type", f.TargetType}, {"target_id", f.TargetID}, {"role_id", f.RoleID}} {
		if c.v != "" {
			q, args = q+" AND "+c.col+" = ?", append(args, c.v)
		}
	}
	if f.Inherited != nil {
		q, args = q+" AND inherited = ?", append(args, *f.Inherited)
	}
	if f.ActorIDs != nil {
		if len(f.ActorIDs) == 0 {
			return []Assignment{}, nil
		}
		q += " AND actor_id IN (" + placeholders(len(f.ActorIDs)) + ")"
		for _, id := range f.ActorIDs {
			args = append(args, id)
		}
	}
	return list(ctx, s.db, q+" ORDER BY actor_type, actor_id, target_type, target_id, role_id", args,
		func(r interface{ Scan(...any) error }) (Assignment, error) {
			var a Assignment
			err := r.Scan(&a.ActorType, &a.ActorID, &a.TargetType, &a.TargetID, &a.RoleID, &a.Inherited)
			return a, err
		})
}

// EffectiveRoleIDs returns the ids of the roles a user holds on a target,
// those a token carries, as Keystone computes them
// (get_roles_for_user_and_project and _and_domain): HeldRoleIDs without
// the domain-specific roles, which only serve to imply others.
func (s *Store) EffectiveRoleIDs(ctx context.Context, userID, targetType, targetID string) ([]string, error) {
	ids, err := s.HeldRoleIDs(ctx, userID, targetType, targetID)
	if err != nil {
		return nil, err
	}
	domainRoles, err := s.domainRoleIDs(ctx)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(ids, func(id string) bool { return domainRoles[id] }), nil
}

// HeldRoleIDs returns the ids of every role a user holds on a target,
// domain-specific ones included, as Keystone's trusts read a trustor's
// (list_role_assignments with strip_domain_roles=False): the user's own
// and their groups' assignments on the target; for a project, also
// inherited assignments on its domain and its ancestors; then every
// implied role.
func (s *Store) HeldRoleIDs(ctx context.Context, userID, targetType, targetID string) ([]string, error) {
	groups, err := s.GroupsOfUser(ctx, userID, 0)
	if err != nil {
		return nil, err
	}
	actors := []string{userID}
	isActor := map[[2]string]bool{{ActorUser, userID}: true}
	for _, g := range groups {
		actors = append(actors, g.ID)
		isActor[[2]string{ActorGroup, g.ID}] = true
	}
	roleIDs := func(as []Assignment) []string {
		out := make([]string, 0, len(as))
		for _, a := range as {
			if isActor[[2]string{a.ActorType, a.ActorID}] {
				out = append(out, a.RoleID)
			}
		}
		return out
	}
	no, yes := false, true
	direct, err := s.ListAssignments(ctx, AssignmentFilter{ActorIDs: actors, TargetType: targetType, TargetID: targetID, Inherited: &no})
	if err != nil {
		return nil, err
	}
	ids := roleIDs(direct)
	if targetType == TargetProject {
		p, err := s.GetProject(ctx, targetID)
		if err != nil {
			return nil, err
		}
		inh, err := s.ListAssignments(ctx, AssignmentFilter{ActorIDs: actors, TargetType: TargetDomain, TargetID: p.DomainID, Inherited: &yes})
		if err != nil {
			return nil, err
		}
		ids = append(ids, roleIDs(inh)...)
		parents, err := s.ancestors(ctx, p)
		if err != nil {
			return nil, err
		}
		for _, parent := range parents {
			inh, err := s.ListAssignments(ctx, AssignmentFilter{ActorIDs: actors, TargetType: TargetProject, TargetID: parent, Inherited: &yes})
			if err != nil {
				return nil, err
			}
			ids = append(ids, roleIDs(inh)...)
		}
	}
	out, err := s.expand(ctx, ids)
	if err != nil {
		return nil, err
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}
