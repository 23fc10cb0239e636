package api

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"

	"github.com/gostack/gostack/identity"
	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/httpapi"
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
	Domain *domainFields `json:"domain"`
}

type domainFields struct {
	ID               opt[string]                     `json:"id"`
	ExplicitDomainID opt[string]                     `json:"explicit_domain_id"`
	Name             opt[string]                     `json:"name"`
	Description      opt[string]                     `json:"description"`
	Enabled          opt[bool]                       `json:"enabled"`
	Tags             opt[[]string]                   `json:"tags"`
	Options          opt[map[string]json.RawMessage] `json:"options"`
}

// apply copies the body onto d, for POST (update false) and PATCH alike;
// the store checks the values. Domains keep no tags: an empty list is
// what they have, others are refused.
func (f *domainFields) apply(d *identity.Domain, update bool) error {
	if err := immutableOption("domain.options", f.Options); err != nil {
		return err
	}
	if update {
		if err := sameID(f.ID, d.ID, "domain.id"); err != nil {
			return err
		}
	} else {
		setNullable(&d.ID, f.ID)
		if f.ExplicitDomainID.Set && !f.ExplicitDomainID.Null {
			if !uuidHex(f.ExplicitDomainID.V) {
				return fault.Invalid("domain.explicit_domain_id", "Domain ID does not conform to required UUID format.")
			}
			d.ID = f.ExplicitDomainID.V
		}
	}
	var tags []string
	if err := first(
		set(&d.Name, f.Name, "domain.name"),
		set(&d.Enabled, f.Enabled, "domain.enabled"),
		set(&tags, f.Tags, "domain.tags"),
	); err != nil {
		return err
	}
	if len(tags) > 0 {
		return fault.Invalid("domain.tags", "domain tags are not supported")
	}
	setNullable(&d.Description, f.Description)
	return nil
}

// uuidHex is Keystone's _validate_id_format: a UUID in its 32-digit
// lowercase hex form.
func uuidHex(s string) bool {
	if len(s) != 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !('0' <= s[i] && s[i] <= '9' || 'a' <= s[i] && s[i] <= 'f') {
			return false
		}
	}
	return true
}

// first returns the first non-nil error.
func first(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func (a *API) listDomains(w http.ResponseWriter, r *http.Request) {
	if !a.allow(w, r, "identity:list_domains", nil) {
		return
	}
	q := r.URL.Query()
	name := q.Get("name")
	ds, truncated, err := limitList(a.ListLimit, domainFilters.inStore(q, map[string]string{"name": name}),
		func(n int) ([]identity.Domain, error) { return a.Store.ListDomains(r.Context(), name, nil, n) },
		func(ds []identity.Domain) ([]identity.Domain, error) { return domainFilters.apply(q, ds), nil })
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := renderAll(r, ds, renderDomain)
	httpapi.WriteJSON(w, http.StatusOK, limitedCollection(collection(r, "domains", out), truncated))
}

func (a *API) createDomain(w http.ResponseWriter, r *http.Request) {
	var b domainBody
	if err := decode(w, r, &b); err != nil {
		a.fail(w, r, err)
		return
	}
	if b.Domain == nil || !b.Domain.Name.Set {
		a.fail(w, r, fault.Invalid("domain.name", "'name' is a required property"))
		return
	}
	d := identity.Domain{Enabled: true}
	if err := b.Domain.apply(&d, false); err != nil {
		a.fail(w, r, err)
		return
	}
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
	if err := decodeUpdate(w, r, "domain", &b); err != nil || b.Domain == nil {
		a.fail(w, r, orInvalid(err, "domain", "'domain' is a required property"))
		return
	}
	if err := b.Domain.apply(&d, true); err != nil {
		a.fail(w, r, err)
		return
	}
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
	Project *projectFields `json:"project"`
}

type projectFields struct {
	ID          opt[string]                     `json:"id"`
	Name        opt[string]                     `json:"name"`
	DomainID    opt[string]                     `json:"domain_id"`
	ParentID    opt[string]                     `json:"parent_id"`
	Description opt[string]                     `json:"description"`
	Enabled     opt[bool]                       `json:"enabled"`
	IsDomain    opt[bool]                       `json:"is_domain"`
	Tags        opt[[]string]                   `json:"tags"`
	Options     opt[map[string]json.RawMessage] `json:"options"`
}

// apply copies the body onto p, for POST (update false) and PATCH alike;
// the store checks the values and refuses a new domain, parent or
// is_domain. A parent equal to the domain means top level, as Keystone
// shows it; a project acting as a domain has neither (null).
func (f *projectFields) apply(p *identity.Project, update bool) error {
	if err := immutableOption("project.options", f.Options); err != nil {
		return err
	}
	stored := *p
	if err := first(
		set(&p.Name, f.Name, "project.name"),
		set(&p.Enabled, f.Enabled, "project.enabled"),
		set(&p.Tags, f.Tags, "project.tags"),
		set(&p.IsDomain, f.IsDomain, "project.is_domain"),
	); err != nil {
		return err
	}
	setNullable(&p.Description, f.Description)
	if update {
		if err := sameID(f.ID, p.ID, "project.id"); err != nil {
			return err
		}
		if f.DomainID.Set {
			p.DomainID = f.DomainID.V // null: "", which is no domain of a project's
		}
	} else if f.DomainID.Set && !f.DomainID.Null {
		p.DomainID = f.DomainID.V
	}
	if f.ParentID.Null && update && !stored.IsDomain && p.DomainID == stored.DomainID {
		// A project's parent is never null: Keystone's null differs from
		// its stored parent (the domain for a top-level project). A new
		// domain_id is refused first, by the store.
		return &fault.Error{Kind: fault.Forbidden, Message: "Update of `parent_id` is not allowed."}
	}
	setNullable(&p.ParentID, f.ParentID)
	return nil
}

func projectTarget(p identity.Project) map[string]any {
	if p.IsDomain {
		return map[string]any{"project": map[string]any{"id": p.ID, "domain_id": nil, "parent_id": nil}}
	}
	return map[string]any{"project": map[string]any{"id": p.ID, "domain_id": p.DomainID, "parent_id": p.ParentID}}
}

// listProjects is GET /v3/projects with Keystone's filters: projectFilters
// (is_domain among them: without it, only the projects that do not act
// as domains; with a true one, the domains as projects acting as
// domains) and the tag filters, each a comma-separated list.
func (a *API) listProjects(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if !a.allow(w, r, "identity:list_projects", scopeTarget(r, "")) {
		return
	}
	f := identity.ProjectFilter{DomainID: q.Get("domain_id"), Name: q.Get("name")}
	f.IsDomain = slices.ContainsFunc(q["is_domain"], boolFromString)
	for _, t := range []struct {
		key string
		dst *[]string
	}{{"tags", &f.Tags}, {"tags-any", &f.TagsAny}, {"not-tags", &f.NotTags}, {"not-tags-any", &f.NotTagsAny}} {
		if q.Has(t.key) {
			*t.dst = strings.Split(q.Get(t.key), ",")
		}
	}
	if d := callerDomain(r); d != "" {
		f.DomainID = d
	}
	ps, truncated, err := limitList(a.ListLimit, projectFilters.inStore(q, map[string]string{"domain_id": f.DomainID, "name": f.Name}),
		func(n int) ([]identity.Project, error) { f.Limit = n; return a.Store.ListProjects(r.Context(), f) },
		func(ps []identity.Project) ([]identity.Project, error) { return projectFilters.apply(q, ps), nil })
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := renderAll(r, ps, renderProject)
	httpapi.WriteJSON(w, http.StatusOK, limitedCollection(collection(r, "projects", out), truncated))
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
	if err := decode(w, r, &b); err != nil {
		a.fail(w, r, err)
		return
	}
	if b.Project == nil || !b.Project.Name.Set {
		a.fail(w, r, fault.Invalid("project.name", "'name' is a required property"))
		return
	}
	p := identity.Project{Enabled: true}
	if err := b.Project.apply(&p, false); err != nil {
		a.fail(w, r, err)
		return
	}
	if !p.IsDomain && p.DomainID == "" {
		p.DomainID = defaultDomain(caller(r.Context())) // Keystone's _normalize_domain_id
	}
	if !a.allow(w, r, "identity:create_project", projectTarget(p)) {
		return
	}
	p, err := a.Store.CreateProject(r.Context(), p)
	if fault.KindOf(err) == fault.NotFound {
		// Keystone's post: a missing domain or parent is a ValidationError.
		err = fault.New(fault.BadRequest, "%s", fault.Message(err))
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusCreated, map[string]any{"project": renderProject(r, p)})
}

func (a *API) projectFor(w http.ResponseWriter, r *http.Request, rule string) (identity.Project, bool) {
	return member(a, w, r, rule, "project",
		func() (identity.Project, error) { return a.Store.GetProjectOrDomain(r.Context(), r.PathValue("id")) }, projectTarget, nil)
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
	if err := decodeUpdate(w, r, "project", &b); err != nil || b.Project == nil {
		a.fail(w, r, orInvalid(err, "project", "'project' is a required property"))
		return
	}
	if err := b.Project.apply(&p, true); err != nil {
		a.fail(w, r, err)
		return
	}
	p, err := a.Store.UpdateProject(r.Context(), p)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := renderProject(r, p)
	out["extra"] = map[string]any{} // Keystone's update_project shows its extra column
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"project": out})
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

func orInvalid(err error, field, msg string) error {
	if err != nil {
		return err
	}
	return fault.Invalid(field, "%s", msg)
}
