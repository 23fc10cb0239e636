package api

import (
	"net/http"
	"slices"

	"github.com/gostack/gostack/identity"
	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/httpapi"
)

// listAssignments is GET /v3/role_assignments with Keystone's filters
// (keystone/api/role_assignments.py): user.id, group.id, role.id,
// scope.project.id (and, with include_subtree, the projects below it),
// scope.domain.id, scope.system, scope.OS-INHERIT:inherited_to,
// effective and include_names, and Keystone's 400s for combinations that
// could only list nothing.
func (a *API) listAssignments(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	aq := assignmentQuery{user: q.Get("user.id"), group: q.Get("group.id"), role: q.Get("role.id"),
		domain: q.Get("scope.domain.id"), system: q.Get("scope.system"), effective: flag(q, "effective")}
	if q.Has("scope.OS-INHERIT:inherited_to") {
		aq.inherited = ptr(q.Get("scope.OS-INHERIT:inherited_to") == "projects")
	}
	rule, target := "identity:list_role_assignments", scopeTarget(r, "")
	subtree := flag(q, "include_subtree")
	if subtree {
		rule, target = "identity:list_role_assignments_for_tree", nil
		if id := q.Get("scope.project.id"); id != "" {
			p, err := a.Store.GetProject(r.Context(), id)
			if err != nil {
				a.fail(w, r, err)
				return
			}
			target = projectTarget(p)
		}
	}
	if !a.allow(w, r, rule, target) {
		return
	}
	if err := aq.check(subtree, q.Get("scope.project.id")); err != nil {
		a.fail(w, r, err)
		return
	}
	var as []identity.EffectiveAssignment
	var err error
	if aq.effective {
		as, err = a.Store.EffectiveAssignments(r.Context())
		aq.system = "" // Keystone's effective listing has no system assignments, and no system filter
	} else {
		as, err = stored(a.Store.ListAssignments(r.Context(), identity.AssignmentFilter{}))
	}
	if err == nil {
		aq.projects, err = a.projectScope(r, q.Get("scope.project.id"), subtree)
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	inDomain, err := a.domainFilter(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := []any{}
	for _, x := range as {
		if inDomain(x.Assignment) && aq.match(x) {
			out = append(out, a.renderAssignment(r, x, flag(q, "include_names")))
		}
	}
	httpapi.WriteJSON(w, http.StatusOK, collection(r, "role_assignments", out))
}

// stored wraps stored assignments as the direct ones they are.
func stored(as []identity.Assignment, err error) ([]identity.EffectiveAssignment, error) {
	out := make([]identity.EffectiveAssignment, len(as))
	for i, x := range as {
		out[i] = identity.EffectiveAssignment{Assignment: x}
	}
	return out, err
}

// assignmentQuery is what GET /v3/role_assignments filters on; empty
// fields do not filter.
type assignmentQuery struct {
	user, group, role, domain, system string
	projects                          []string // scope.project.id and, with include_subtree, its subtree
	inherited                         *bool
	effective                         bool
}

// check refuses what Keystone refuses: a subtree without a project, two
// actors or two scopes at once, and effective listings that could only
// be empty. gostack also refuses a scope.system other than "all", which
// Keystone ignores.
func (aq assignmentQuery) check(subtree bool, project string) error {
	bad := func(msg string) error { return fault.New(fault.BadRequest, "%s", msg) }
	switch {
	case subtree && project == "":
		return bad("scope.project.id must be specified if include_subtree is also specified")
	case aq.domain != "" && project != "":
		return bad("Specify a domain or project, not both")
	case aq.system != "" && aq.domain != "":
		return bad("Specify system or domain, not both")
	case aq.system != "" && project != "":
		return bad("Specify system or project, not both")
	case aq.user != "" && aq.group != "":
		return bad("Specify a user or group, not both")
	case aq.effective && aq.group != "":
		return bad("Combining effective and group filter will always result in an empty list.")
	case aq.effective && aq.inherited != nil && *aq.inherited && aq.domain != "":
		return bad("Combining effective, domain and inherited filters will always result in an empty list.")
	case aq.system != "" && aq.system != "all":
		return fault.Invalid("scope.system", "must be 'all'")
	}
	return nil
}

// match applies the filters to a listed assignment; an effective one
// counts as inherited when an inherited assignment gives it, as Keystone
// selects the assignments it expands.
func (aq assignmentQuery) match(e identity.EffectiveAssignment) bool {
	x := e.Assignment
	x.Inherited = x.Inherited || e.FromInheritance()
	switch {
	case aq.user != "" && (x.ActorType != identity.ActorUser || x.ActorID != aq.user),
		aq.group != "" && (x.ActorType != identity.ActorGroup || x.ActorID != aq.group),
		aq.role != "" && x.RoleID != aq.role,
		aq.projects != nil && (x.TargetType != identity.TargetProject || !slices.Contains(aq.projects, x.TargetID)),
		aq.domain != "" && (x.TargetType != identity.TargetDomain || x.TargetID != aq.domain),
		aq.system != "" && x.TargetType != identity.TargetSystem,
		aq.inherited != nil && x.Inherited != *aq.inherited:
		return false
	}
	return true
}

// projectScope is the projects a scope.project.id filter covers: the
// project, and with subtree every project below it (nil: no filter).
func (a *API) projectScope(r *http.Request, project string, subtree bool) ([]string, error) {
	if project == "" {
		return nil, nil
	}
	out := []string{project}
	if !subtree {
		return out, nil
	}
	all, err := a.Store.ListProjects(r.Context(), identity.ProjectFilter{})
	if err != nil {
		return nil, err
	}
	for changed := true; changed; {
		changed = false
		for _, p := range all {
			if p.ParentID != "" && slices.Contains(out, p.ParentID) && !slices.Contains(out, p.ID) {
				out, changed = append(out, p.ID), true
			}
		}
	}
	return out, nil
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

// renderAssignment is Keystone's role assignment (api/role_assignments.py
// _format_entity). An effective one from inheritance is marked
// OS-INHERIT:inherited_to; its links name the assignment it comes from
// (on the inherited target, of the group, of the prior role), the
// group membership, and the implication, with Keystone's prior_role
// link (which names the implied role as the prior one).
func (a *API) renderAssignment(r *http.Request, e identity.EffectiveAssignment, names bool) map[string]any {
	ctx := r.Context()
	x := e.Assignment
	role := map[string]any{"id": x.RoleID}
	actor := map[string]any{"id": x.ActorID}
	scope := map[string]any{}
	target := map[string]any{"id": x.TargetID}
	if names {
		if rl, err := a.Store.GetRole(ctx, x.RoleID); err == nil {
			role["name"] = rl.Name
			if rl.DomainID != "" {
				role["domain"] = a.domainRef(r, rl.DomainID)
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
	if x.Inherited || e.FromInheritance() {
		scope["OS-INHERIT:inherited_to"] = "projects"
	}
	links := map[string]any{"assignment": base(r) + "/v3/" + assignmentPath(source(e))}
	if e.Indirect.GroupID != "" {
		links["membership"] = base(r) + "/v3/groups/" + e.Indirect.GroupID + "/users/" + x.ActorID
	}
	if e.Indirect.RoleID != "" {
		links["prior_role"] = base(r) + "/v3/prior_role/" + x.RoleID + "/implies/" + e.Indirect.RoleID
	}
	return map[string]any{"role": role, "scope": scope, x.ActorType: actor, "links": links}
}

// source is the stored assignment an effective one comes from, as
// Keystone's links name it: of the group, on the inherited target, of
// the nearest prior role.
func source(e identity.EffectiveAssignment) identity.Assignment {
	x := e.Assignment
	if e.Indirect.GroupID != "" {
		x.ActorType, x.ActorID = identity.ActorGroup, e.Indirect.GroupID
	}
	switch {
	case e.Indirect.DomainID != "":
		x.TargetType, x.TargetID, x.Inherited = identity.TargetDomain, e.Indirect.DomainID, true
	case e.Indirect.ProjectID != "":
		x.TargetType, x.TargetID, x.Inherited = identity.TargetProject, e.Indirect.ProjectID, true
	}
	if e.Indirect.RoleID != "" {
		x.RoleID = e.Indirect.RoleID
	}
	return x
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
