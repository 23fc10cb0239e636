package api

import (
	"net/http"
	"strings"

	"github.com/gostack/gostack/identity"
	"github.com/gostack/gostack/internal/fault"
	"github.com/gostack/gostack/internal/httpapi"
)

func (a *API) resourceRoutes(rt *httpapi.Router) {
	rt.HandleFunc("GET /v3/domains", a.authed(a.listDomains))
	rt.HandleFunc("POST /v3/domains", a.authed(a.createDomain))
	rt.HandleFunc("GET /v3/domains/{id}", a.authed(a.getDomain))
	rt.HandleFunc("PATCH /v3/domains/{id}", a.authed(a.updateDomain))
	rt.HandleFunc("DELETE /v3/domains/{id}", a.authed(a.deleteDomain))
	rt.HandleFunc("GET /v3/projects", a.authed(a.listProjects))
	rt.HandleFunc("POST /v3/projects", a.authed(a.createProject))
	rt.HandleFunc("GET /v3/projects/{id}", a.authed(a.getProject))
	rt.HandleFunc("PATCH /v3/projects/{id}", a.authed(a.updateProject))
	rt.HandleFunc("DELETE /v3/projects/{id}", a.authed(a.deleteProject))
}

// ---- domains ----

type domainBody struct {
	Domain *struct {
		Name        *string `json:"name"`
		Description *string `json:"description"`
		Enabled     *bool   `json:"enabled"`
		ID          *string `json:"id"`
	} `json:"domain"`
}

func (a *API) listDomains(w http.ResponseWriter, r *http.Request) {
	if !a.allow(w, r, "identity:list_domains", nil) {
		return
	}
	ds, err := a.Store.ListDomains(r.Context(), r.URL.Query().Get("name"), boolQuery(r, "enabled"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := renderAll(r, ds, renderDomain)
	httpapi.WriteJSON(w, http.StatusOK, collection(r, "domains", out))
}

func (a *API) createDomain(w http.ResponseWriter, r *http.Request) {
	var b domainBody
	if err := httpapi.DecodeJSON(w, r, &b); err != nil {
		a.fail(w, r, err)
		return
	}
	if b.Domain == nil || b.Domain.Name == nil || strings.TrimSpace(*b.Domain.Name) == "" {
		a.fail(w, r, fault.Invalid("domain.name", "'name' is a required property"))
		return
	}
	d := identity.Domain{Name: *b.Domain.Name, Enabled: true}
	setStr(&d.Description, b.Domain.Description)
	setBool(&d.Enabled, b.Domain.Enabled)
	setStr(&d.ID, b.Domain.ID)
	if !a.allow(w, r, "identity:create_domain", map[string]any{"domain": map[string]any{"name": d.Name}}) {
		return
	}
	d, err := a.Store.CreateDomain(r.Context(), d)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusCreated, map[string]any{"domain": renderDomain(r, d)})
}

func (a *API) domainFor(w http.ResponseWriter, r *http.Request, rule string) (identity.Domain, bool) {
	return member(a, w, r, rule, "domain",
		func() (identity.Domain, error) { return a.Store.GetDomain(r.Context(), r.PathValue("id")) },
		func(d identity.Domain) map[string]any { return map[string]any{"domain": map[string]any{"id": d.ID}} }, nil)
}

func (a *API) getDomain(w http.ResponseWriter, r *http.Request) {
	if d, ok := a.domainFor(w, r, "identity:get_domain"); ok {
		httpapi.WriteJSON(w, http.StatusOK, map[string]any{"domain": renderDomain(r, d)})
	}
}

func (a *API) updateDomain(w http.ResponseWriter, r *http.Request) {
	d, ok := a.domainFor(w, r, "identity:update_domain")
	if !ok {
		return
	}
	var b domainBody
	if err := httpapi.DecodeJSON(w, r, &b); err != nil || b.Domain == nil {
		a.fail(w, r, orInvalid(err, "domain", "'domain' is a required property"))
		return
	}
	setStr(&d.Name, b.Domain.Name)
	setStr(&d.Description, b.Domain.Description)
	setBool(&d.Enabled, b.Domain.Enabled)
	d, err := a.Store.UpdateDomain(r.Context(), d)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"domain": renderDomain(r, d)})
}

func (a *API) deleteDomain(w http.ResponseWriter, r *http.Request) {
	d, ok := a.domainFor(w, r, "identity:delete_domain")
	if !ok {
		return
	}
	if err := a.Store.DeleteDomain(r.Context(), d.ID); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// ---- projects ----

type projectBody struct {
	Project *struct {
		Name        *string   `json:"name"`
		DomainID    *string   `json:"domain_id"`
		ParentID    *string   `json:"parent_id"`
		Description *string   `json:"description"`
		Enabled     *bool     `json:"enabled"`
		IsDomain    *bool     `json:"is_domain"`
		Tags        *[]string `json:"tags"`
		Options     any       `json:"options"`
	} `json:"project"`
}

func projectTarget(p identity.Project) map[string]any {
	return map[string]any{"project": map[string]any{"id": p.ID, "domain_id": p.DomainID, "parent_id": p.ParentID}}
}

func (a *API) listProjects(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := identity.ProjectFilter{DomainID: q.Get("domain_id"), ParentID: q.Get("parent_id"), Name: q.Get("name"), Enabled: boolQuery(r, "enabled")}
	if tags := q.Get("tags"); tags != "" {
		f.Tags = strings.Split(tags, ",")
	}
	if !a.allow(w, r, "identity:list_projects", scopeTarget(r, "")) {
		return
	}
	if d := callerDomain(r); d != "" {
		f.DomainID = d
	}
	ps, err := a.Store.ListProjects(r.Context(), f)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := renderAll(r, ps, renderProject)
	httpapi.WriteJSON(w, http.StatusOK, collection(r, "projects", out))
}

// defaultDomain is Keystone's: the caller's scope domain, else "default".
func defaultDomain(t *identity.Token) string {
	switch {
	case t.Domain != nil:
		return t.Domain.ID
	case t.Project != nil:
		return t.Project.DomainID
	}
	return identity.DefaultDomainID
}

func (a *API) createProject(w http.ResponseWriter, r *http.Request) {
	var b projectBody
	if err := httpapi.DecodeJSON(w, r, &b); err != nil {
		a.fail(w, r, err)
		return
	}
	if b.Project == nil || b.Project.Name == nil || strings.TrimSpace(*b.Project.Name) == "" {
		a.fail(w, r, fault.Invalid("project.name", "'name' is a required property"))
		return
	}
	if b.Project.IsDomain != nil && *b.Project.IsDomain {
		a.fail(w, r, fault.Invalid("project.is_domain", "projects acting as domains are not supported"))
		return
	}
	p := identity.Project{Name: *b.Project.Name, Enabled: true, DomainID: defaultDomain(caller(r.Context()))}
	setStr(&p.DomainID, b.Project.DomainID)
	setStr(&p.ParentID, b.Project.ParentID)
	setStr(&p.Description, b.Project.Description)
	setBool(&p.Enabled, b.Project.Enabled)
	if b.Project.Tags != nil {
		p.Tags = *b.Project.Tags
	}
	if p.ParentID == p.DomainID {
		p.ParentID = "" // a parent equal to the domain means top level
	}
	if !a.allow(w, r, "identity:create_project", projectTarget(p)) {
		return
	}
	p, err := a.Store.CreateProject(r.Context(), p)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusCreated, map[string]any{"project": renderProject(r, p)})
}

func (a *API) projectFor(w http.ResponseWriter, r *http.Request, rule string) (identity.Project, bool) {
	return member(a, w, r, rule, "project",
		func() (identity.Project, error) { return a.Store.GetProject(r.Context(), r.PathValue("id")) }, projectTarget, nil)
}

func (a *API) getProject(w http.ResponseWriter, r *http.Request) {
	if p, ok := a.projectFor(w, r, "identity:get_project"); ok {
		httpapi.WriteJSON(w, http.StatusOK, map[string]any{"project": renderProject(r, p)})
	}
}

func (a *API) updateProject(w http.ResponseWriter, r *http.Request) {
	p, ok := a.projectFor(w, r, "identity:update_project")
	if !ok {
		return
	}
	var b projectBody
	if err := httpapi.DecodeJSON(w, r, &b); err != nil || b.Project == nil {
		a.fail(w, r, orInvalid(err, "project", "'project' is a required property"))
		return
	}
	if b.Project.DomainID != nil && *b.Project.DomainID != p.DomainID {
		a.fail(w, r, fault.Invalid("project.domain_id", "a project cannot move to another domain"))
		return
	}
	setStr(&p.Name, b.Project.Name)
	setStr(&p.Description, b.Project.Description)
	setBool(&p.Enabled, b.Project.Enabled)
	if b.Project.Tags != nil {
		p.Tags = *b.Project.Tags
	}
	p, err := a.Store.UpdateProject(r.Context(), p)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"project": renderProject(r, p)})
}

func (a *API) deleteProject(w http.ResponseWriter, r *http.Request) {
	p, ok := a.projectFor(w, r, "identity:delete_project")
	if !ok {
		return
	}
	if err := a.Store.DeleteProject(r.Context(), p.ID); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// ---- helpers ----

func setStr(dst *string, v *string) {
	if v != nil {
		*dst = *v
	}
}

func setBool(dst *bool, v *bool) {
	if v != nil {
		*dst = *v
	}
}

func orInvalid(err error, field, msg string) error {
	if err != nil {
		return err
	}
	return fault.Invalid(field, "%s", msg)
}
