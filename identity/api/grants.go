package api

import (
	"net/http"
	"strings"

	"github.com/gostack/gostack/identity"
	"github.com/gostack/gostack/identity/revoke"
	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/httpapi"
)

// grantFrom reads the assignment a grant URL names.
func grantFrom(r *http.Request) identity.Assignment {
	p := r.URL.Path
	a := identity.Assignment{ActorID: r.PathValue("actor"), RoleID: r.PathValue("role"), Inherited: strings.HasSuffix(p, "/inherited_to_projects")}
	if strings.Contains(p, "/users/") {
		a.ActorType = identity.ActorUser
	} else {
		a.ActorType = identity.ActorGroup
	}
	switch {
	case strings.HasPrefix(p, "/v3/system/"):
		a.TargetType, a.TargetID = identity.TargetSystem, "all"
	case strings.Contains(p, "/projects/"):
		a.TargetType, a.TargetID = identity.TargetProject, r.PathValue("target")
	default:
		a.TargetType, a.TargetID = identity.TargetDomain, r.PathValue("target")
	}
	return a
}

// grantTarget is Keystone's target for grant calls: the actor, the scope
// and the role, each with its domain.
func (a *API) grantTarget(r *http.Request, g identity.Assignment) (map[string]any, error) {
	ctx := r.Context()
	t := map[string]any{}
	if g.ActorType == identity.ActorUser {
		u, err := a.Store.GetUser(ctx, g.ActorID)
		if err != nil {
			return nil, err
		}
		t["user"] = map[string]any{"id": u.ID, "domain_id": u.DomainID}
	} else {
		grp, err := a.Store.GetGroup(ctx, g.ActorID)
		if err != nil {
			return nil, err
		}
		t["group"] = map[string]any{"id": grp.ID, "domain_id": grp.DomainID}
	}
	switch g.TargetType {
	case identity.TargetProject:
		p, err := a.Store.GetProject(ctx, g.TargetID)
		if err != nil {
			return nil, err
		}
		t["project"] = map[string]any{"id": p.ID, "domain_id": p.DomainID}
	case identity.TargetDomain:
		d, err := a.Store.GetDomain(ctx, g.TargetID)
		if err != nil {
			return nil, err
		}
		t["domain"] = map[string]any{"id": d.ID}
	}
	if g.RoleID != "" {
		x, err := a.Store.GetRole(ctx, g.RoleID)
		if err != nil {
			return nil, err
		}
		t["role"] = map[string]any{"id": x.ID, "domain_id": nilIfEmpty(x.DomainID)}
	}
	return t, nil
}

func grantRule(method string, g identity.Assignment) string {
	verb := map[string]string{"PUT": "create", "GET": "check", "HEAD": "check", "DELETE": "revoke"}[method]
	if g.TargetType == identity.TargetSystem {
		return "identity:" + verb + "_system_grant_for_" + g.ActorType
	}
	return "identity:" + verb + "_grant"
}

func (a *API) grant(w http.ResponseWriter, r *http.Request) {
	g := grantFrom(r)
	target, err := a.grantTarget(r, g)
	if err != nil {
		if a.allow(w, r, grantRule(r.Method, g), nil) {
			a.fail(w, r, err)
		}
		return
	}
	if !a.allow(w, r, grantRule(r.Method, g), target) {
		return
	}
	ctx := r.Context()
	switch r.Method {
	case http.MethodPut:
		err = a.Store.Grant(ctx, g)
	case http.MethodDelete:
		if err = a.Store.Revoke(ctx, g); err == nil {
			err = a.revokeFor(r, g)
		}
	default:
		var as []identity.Assignment
		as, err = a.Store.ListAssignments(ctx, identity.AssignmentFilter{ActorType: g.ActorType, ActorID: g.ActorID,
			TargetType: g.TargetType, TargetID: g.TargetID, RoleID: g.RoleID, Inherited: &g.Inherited})
		if err == nil && len(as) == 0 {
			err = &fault.Error{Kind: fault.NotFound, Message: "Could not find role assignment."}
		}
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// revokeFor revokes the tokens a removed assignment gave roles to, as
// Keystone does (for a user; for a group, every member's).
func (a *API) revokeFor(r *http.Request, g identity.Assignment) error {
	users := []string{g.ActorID}
	if g.ActorType == identity.ActorGroup {
		us, err := a.Store.UsersInGroup(r.Context(), g.ActorID, 0)
		if err != nil {
			return err
		}
		users = users[:0]
		for _, u := range us {
			users = append(users, u.ID)
		}
	}
	for _, u := range users {
		e := revoke.Event{UserID: u}
		if g.TargetType == identity.TargetProject && !g.Inherited {
			e.ProjectID = g.TargetID
		}
		if err := a.Auth.Revoke(r.Context(), e); err != nil {
			return err
		}
	}
	return nil
}

func (a *API) listGrants(w http.ResponseWriter, r *http.Request) {
	g := grantFrom(r)
	rule := "identity:list_grants"
	if g.TargetType == identity.TargetSystem {
		rule = "identity:list_system_grants_for_" + g.ActorType
	}
	target, err := a.grantTarget(r, g)
	if err != nil {
		if a.allow(w, r, rule, nil) {
			a.fail(w, r, err)
		}
		return
	}
	if !a.allow(w, r, rule, target) {
		return
	}
	as, err := a.Store.ListAssignments(r.Context(), identity.AssignmentFilter{ActorType: g.ActorType, ActorID: g.ActorID,
		TargetType: g.TargetType, TargetID: g.TargetID, Inherited: ptr(g.Inherited)})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := []any{}
	for _, x := range as {
		role, err := a.Store.GetRole(r.Context(), x.RoleID)
		if err != nil {
			continue
		}
		out = append(out, renderRole(r, role))
	}
	httpapi.WriteJSON(w, http.StatusOK, collection(r, "roles", out))
}
