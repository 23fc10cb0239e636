package api

import (
	"net/http"
	"slices"

	"github.com/gostack/gostack/identity"
	"github.com/gostack/gostack/internal/httpapi"
)

// listAssignments is GET /v3/role_assignments with Keystone's filters:
// user.id, group.id, role.id, scope.project.id, scope.domain.id,
// scope.system, scope.OS-INHERIT:inherited_to, effective, include_names.
func (a *API) listAssignments(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	_, effective := q["effective"]
	_, names := q["include_names"]
	if !a.allow(w, r, "identity:list_role_assignments", scopeTarget(r, "")) {
		return
	}
	as, err := a.Store.ListAssignments(r.Context(), identity.AssignmentFilter{})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if effective {
		if as, err = a.effective(r, as); err != nil {
			a.fail(w, r, err)
			return
		}
	}
	inherited := q.Get("scope.OS-INHERIT:inherited_to") == "projects"
	inDomain, err := a.domainFilter(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := []any{}
	for _, x := range as {
		if !inDomain(x) {
			continue
		}
		if !matchAssignment(x, q.Get("user.id"), q.Get("group.id"), q.Get("role.id"), q.Get("scope.project.id"), q.Get("scope.domain.id"), q.Get("scope.system")) {
			continue
		}
		if q.Has("scope.OS-INHERIT:inherited_to") && x.Inherited != inherited {
			continue
		}
		out = append(out, a.renderAssignment(r, x, names))
	}
	httpapi.WriteJSON(w, http.StatusOK, collection(r, "role_assignments", out))
}

// domainFilter confines a domain-scoped caller to assignments on its
// domain and its projects.
func (a *API) domainFilter(r *http.Request) (func(identity.Assignment) bool, error) {
	d := callerDomain(r)
	if d == "" {
		return func(identity.Assignment) bool { return true }, nil
	}
	ps, err := a.Store.ListProjects(r.Context(), identity.ProjectFilter{DomainID: d})
	if err != nil {
		return nil, err
	}
	mine := map[string]bool{}
	for _, p := range ps {
		mine[p.ID] = true
	}
	return func(x identity.Assignment) bool {
		return (x.TargetType == identity.TargetDomain && x.TargetID == d) ||
			(x.TargetType == identity.TargetProject && mine[x.TargetID])
	}, nil
}

func matchAssignment(x identity.Assignment, user, group, role, project, domain, system string) bool {
	switch {
	case user != "" && (x.ActorType != identity.ActorUser || x.ActorID != user),
		group != "" && (x.ActorType != identity.ActorGroup || x.ActorID != group),
		role != "" && x.RoleID != role,
		project != "" && (x.TargetType != identity.TargetProject || x.TargetID != project),
		domain != "" && (x.TargetType != identity.TargetDomain || x.TargetID != domain),
		system != "" && x.TargetType != identity.TargetSystem:
		return false
	}
	return true
}

// effective expands assignments as Keystone's effective=true: groups to
// their members, inherited assignments to the projects they reach, roles
// to the roles they imply.
func (a *API) effective(r *http.Request, as []identity.Assignment) ([]identity.Assignment, error) {
	ctx := r.Context()
	imp, err := a.Store.Implications(ctx)
	if err != nil {
		return nil, err
	}
	projects, err := a.Store.ListProjects(ctx, identity.ProjectFilter{})
	if err != nil {
		return nil, err
	}
	seen := map[identity.Assignment]bool{}
	var out []identity.Assignment
	for _, x := range as {
		users := []string{x.ActorID}
		if x.ActorType == identity.ActorGroup {
			us, err := a.Store.UsersInGroup(ctx, x.ActorID)
			if err != nil {
				return nil, err
			}
			users = users[:0]
			for _, u := range us {
				users = append(users, u.ID)
			}
		}
		targets := [][2]string{{x.TargetType, x.TargetID}}
		if x.Inherited {
			targets = reached(x, projects)
		}
		for _, u := range users {
			for _, t := range targets {
				for _, role := range closure(imp, x.RoleID) {
					e := identity.Assignment{ActorType: identity.ActorUser, ActorID: u, TargetType: t[0], TargetID: t[1], RoleID: role}
					if !seen[e] {
						seen[e] = true
						out = append(out, e)
					}
				}
			}
		}
	}
	return out, nil
}

// reached lists the projects an inherited assignment applies to.
func reached(x identity.Assignment, projects []identity.Project) [][2]string {
	var out [][2]string
	under := map[string]bool{}
	if x.TargetType == identity.TargetProject {
		under[x.TargetID] = true
	}
	for changed := true; changed; {
		changed = false
		for _, p := range projects {
			inDomain := x.TargetType == identity.TargetDomain && p.DomainID == x.TargetID
			below := p.ParentID != "" && under[p.ParentID]
			if (inDomain || below) && !under[p.ID+"#"] {
				under[p.ID+"#"], under[p.ID] = true, true
				out = append(out, [2]string{identity.TargetProject, p.ID})
				changed = true
			}
		}
	}
	return out
}

func closure(imp map[string][]string, role string) []string {
	out := []string{role}
	for i := 0; i < len(out); i++ {
		for _, next := range imp[out[i]] {
			if !slices.Contains(out, next) {
				out = append(out, next)
			}
		}
	}
	return out
}

func (a *API) renderAssignment(r *http.Request, x identity.Assignment, names bool) map[string]any {
	ctx := r.Context()
	role := map[string]any{"id": x.RoleID}
	actor := map[string]any{"id": x.ActorID}
	scope := map[string]any{}
	target := map[string]any{"id": x.TargetID}
	if names {
		if rl, err := a.Store.GetRole(ctx, x.RoleID); err == nil {
			role["name"] = rl.Name
			if rl.DomainID != "" {
				role["domain"] = map[string]any{"id": rl.DomainID}
			}
		}
		if x.ActorType == identity.ActorUser {
			if u, err := a.Store.GetUser(ctx, x.ActorID); err == nil {
				actor["name"], actor["domain"] = u.Name, a.domainRef(r, u.DomainID)
			}
		} else if g, err := a.Store.GetGroup(ctx, x.ActorID); err == nil {
			actor["name"], actor["domain"] = g.Name, a.domainRef(r, g.DomainID)
		}
		switch x.TargetType {
		case identity.TargetProject:
			if p, err := a.Store.GetProject(ctx, x.TargetID); err == nil {
				target["name"], target["domain"] = p.Name, a.domainRef(r, p.DomainID)
			}
		case identity.TargetDomain:
			if d, err := a.Store.GetDomain(ctx, x.TargetID); err == nil {
				target["name"] = d.Name
			}
		}
	}
	switch x.TargetType {
	case identity.TargetSystem:
		scope["system"] = map[string]any{"all": true}
	default:
		scope[x.TargetType] = target
	}
	if x.Inherited {
		scope["OS-INHERIT:inherited_to"] = "projects"
	}
	m := map[string]any{"role": role, "scope": scope, x.ActorType: actor,
		"links": map[string]any{"assignment": base(r) + "/v3/" + assignmentPath(x)}}
	return m
}

func (a *API) domainRef(r *http.Request, id string) map[string]any {
	ref := map[string]any{"id": id}
	if d, err := a.Store.GetDomain(r.Context(), id); err == nil {
		ref["name"] = d.Name
	}
	return ref
}

func assignmentPath(x identity.Assignment) string {
	actor := x.ActorType + "s/" + x.ActorID
	switch x.TargetType {
	case identity.TargetSystem:
		return "system/" + actor + "/roles/" + x.RoleID
	}
	p := x.TargetType + "s/" + x.TargetID + "/" + actor + "/roles/" + x.RoleID
	if x.Inherited {
		return "OS-INHERIT/" + p + "/inherited_to_projects"
	}
	return p
}
