package api

import (
	"net/http"
	"time"

	"github.com/gostack/gostack/identity"
)

// isotime is Keystone's isotime(subsecond=True): microseconds zeroed.
func isotime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05") + ".000000Z" }

func timeOrNil(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UTC().Format("2006-01-02T15:04:05.000000")
}

func renderToken(t *identity.Token, catalog []identity.CatalogEntry) map[string]any {
	roles := []map[string]any{}
	for _, r := range t.Roles {
		roles = append(roles, map[string]any{"id": r.ID, "name": r.Name})
	}
	tok := map[string]any{
		"methods": t.Payload.Methods,
		"user": map[string]any{
			"domain": map[string]any{"id": t.UserDomain.ID, "name": t.UserDomain.Name},
			"id":     t.User.ID, "name": t.User.Name,
			"password_expires_at": timeOrNil(t.User.PasswordExpiresAt),
		},
		"audit_ids":  t.Payload.AuditIDs,
		"expires_at": isotime(t.Payload.ExpiresAt),
		"issued_at":  isotime(t.Payload.IssuedAt),
	}
	switch {
	case t.System:
		tok["system"] = map[string]any{"all": true}
		tok["roles"] = roles
	case t.Domain != nil:
		tok["domain"] = map[string]any{"id": t.Domain.ID, "name": t.Domain.Name}
		tok["roles"] = roles
	case t.Project != nil:
		tok["project"] = map[string]any{
			"domain": map[string]any{"id": t.ProjectDomain.ID, "name": t.ProjectDomain.Name},
			"id":     t.Project.ID, "name": t.Project.Name,
		}
		tok["is_domain"] = false
		tok["roles"] = roles
	}
	if catalog != nil {
		tok["catalog"] = renderCatalog(catalog)
	}
	if t.Trust != nil {
		// Keystone's trust-scoped token: no is_domain.
		delete(tok, "is_domain")
		tok["OS-TRUST:trust"] = map[string]any{"id": t.Trust.ID, "trustor_user": map[string]any{"id": t.Trust.TrustorUserID},
			"trustee_user": map[string]any{"id": t.Trust.TrusteeUserID}, "impersonation": t.Trust.Impersonation}
	}
	if t.AppCred != nil {
		tok["application_credential"] = map[string]any{"id": t.AppCred.ID, "name": t.AppCred.Name, "restricted": !t.AppCred.Unrestricted}
	}
	return map[string]any{"token": tok}
}

func renderCatalog(cat []identity.CatalogEntry) []map[string]any {
	out := []map[string]any{}
	for _, c := range cat {
		eps := []map[string]any{}
		for _, e := range c.Endpoints {
			eps = append(eps, map[string]any{"id": e.ID, "interface": e.Interface, "region": nilIfEmpty(e.RegionID), "region_id": nilIfEmpty(e.RegionID), "url": e.URL})
		}
		out = append(out, map[string]any{"endpoints": eps, "id": c.Service.ID, "type": c.Service.Type, "name": c.Service.Name})
	}
	return out
}

// renderAll renders every item of a list response.
func renderAll[T any](r *http.Request, items []T, render func(*http.Request, T) map[string]any) []any {
	out := make([]any, 0, len(items))
	for _, x := range items {
		out = append(out, render(r, x))
	}
	return out
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func renderDomain(r *http.Request, d identity.Domain) map[string]any {
	return map[string]any{"id": d.ID, "name": d.Name, "description": d.Description, "enabled": d.Enabled,
		"tags": []string{}, "options": map[string]any{}, "links": selfLink(r, "domains/"+d.ID)}
}

// renderProject is Keystone's project. A top-level project's parent is
// its domain (the project acting as that domain); a project acting as a
// domain has neither a domain nor a parent (null).
func renderProject(r *http.Request, p identity.Project) map[string]any {
	parent := p.ParentID
	if parent == "" {
		parent = p.DomainID
	}
	return map[string]any{"id": p.ID, "name": p.Name, "domain_id": nilIfEmpty(p.DomainID), "parent_id": nilIfEmpty(parent),
		"description": p.Description, "enabled": p.Enabled, "is_domain": p.IsDomain, "tags": p.Tags,
		"options": map[string]any{}, "links": selfLink(r, "projects/"+p.ID)}
}

// renderUser is Keystone's user: the extra properties at the top level
// (but "tenants", "groups" and "domains", which its filter_user hides),
// then the attributes over them.
func renderUser(r *http.Request, u identity.User) map[string]any {
	m := map[string]any{}
	for k, v := range u.Extra {
		switch k {
		case "tenants", "groups", "domains":
		default:
			m[k] = v
		}
	}
	for k, v := range map[string]any{"id": u.ID, "name": u.Name, "domain_id": u.DomainID, "enabled": u.Enabled,
		"password_expires_at": timeOrNil(u.PasswordExpiresAt), "options": u.Options, "links": selfLink(r, "users/"+u.ID)} {
		m[k] = v
	}
	if u.DefaultProjectID != "" {
		m["default_project_id"] = u.DefaultProjectID
	}
	return m
}

// renderUpdatedUser is the user of a PATCH reply: Keystone's update_user
// returns its model with include_extra_dict, so the extra properties are
// also shown together as "extra" (without "tenants", which filter_user
// takes out of it).
func renderUpdatedUser(r *http.Request, u identity.User) map[string]any {
	m := renderUser(r, u)
	extra := map[string]any{}
	for k, v := range u.Extra {
		if k != "tenants" {
			extra[k] = v
		}
	}
	m["extra"] = extra
	return m
}

func renderGroup(r *http.Request, g identity.Group) map[string]any {
	return map[string]any{"id": g.ID, "name": g.Name, "domain_id": g.DomainID, "description": g.Description, "links": selfLink(r, "groups/"+g.ID)}
}

func renderRole(r *http.Request, x identity.Role) map[string]any {
	return map[string]any{"id": x.ID, "name": x.Name, "domain_id": nilIfEmpty(x.DomainID), "description": x.Description,
		"options": map[string]any{}, "links": selfLink(r, "roles/"+x.ID)}
}

func renderRegion(r *http.Request, x identity.Region) map[string]any {
	return map[string]any{"id": x.ID, "description": x.Description, "parent_region_id": nilIfEmpty(x.ParentRegionID), "links": selfLink(r, "regions/"+x.ID)}
}

func renderService(r *http.Request, x identity.Service) map[string]any {
	return map[string]any{"id": x.ID, "type": x.Type, "name": x.Name, "description": x.Description, "enabled": x.Enabled, "links": selfLink(r, "services/"+x.ID)}
}

func renderEndpoint(r *http.Request, x identity.Endpoint) map[string]any {
	return map[string]any{"id": x.ID, "interface": x.Interface, "region": nilIfEmpty(x.RegionID), "region_id": nilIfEmpty(x.RegionID),
		"service_id": x.ServiceID, "url": x.URL, "enabled": x.Enabled, "links": selfLink(r, "endpoints/"+x.ID)}
}
