package api

import (
	"context"
	"net/http"
	"regexp"
	"strings"

	"github.com/gostack/gostack/dns"
	"github.com/gostack/gostack/identity/middleware"
	"github.com/gostack/gostack/identity/policy"
	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/httpapi"
)

// API serves Designate v2 behind identity/middleware (which must have
// authenticated the request: the API reads middleware.CallerFrom).
type API struct {
	Store  *dns.Store
	Policy *policy.Enforcer
	// Reserved are the operator's reserved zone names. A zone that is,
	// holds or lies within one, or that is a public suffix (also with
	// Reserved nil), is only created for callers passing
	// use_blacklisted_zone (admin by default); see dns.ReservedNames.
	Reserved dns.ReservedNames
	// FloatingIPs lists a project's floating IPs for reverse DNS (the
	// network service); nil: there are none. Region is the region of their
	// keys (RegionOne when empty); ManagedEmail the email of the reverse
	// zones the service makes (Designate's managed_resource_email).
	FloatingIPs  func(ctx context.Context, project string) ([]dns.FloatingIP, error)
	Region       string
	ManagedEmail string
	// PinnedPool is the id of a pool whose ns_records and also_notifies
	// the daemon's configuration sets at every start (the default pool
	// of dns/area): the API refuses to change them, as a restart would
	// undo the change. "": none.
	PinnedPool string
}

// Designate's API settings ([service:api] and [service:central] defaults).
const (
	defaultLimit = 20   // default_limit_v2
	maxLimit     = 1000 // max_limit_v2
	// Designate has no request size limit: its api-paste.ini pipeline
	// has no sizelimit filter and pecan reads any body whole, answering
	// it by its content. gostack stops at these, above the largest body
	// Designate's default quotas let it accept: maxBody a recordset of 20
	// (recordset_records) records of 64 KiB (its records.data is TEXT),
	// JSON-escaped; maxZoneFile a zone file of 500 (zone_records) such
	// records.
	maxBody     = 4 << 20
	maxZoneFile = 32 << 20
	apiRefURL   = "https://docs.openstack.org/api-ref/dns"
)

// Handler returns the routes. The version list is public; the rest needs
// the caller the middleware sets. Trailing slashes are dropped first, as
// Designate's NormalizeURIMiddleware does.
func (a *API) Handler() http.Handler {
	rt := a.router()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p := r.URL.Path; len(p) > 1 && strings.HasSuffix(p, "/") {
			r2 := r.Clone(r.Context())
			r2.URL.Path = strings.TrimRight(p, "/")
			if r2.URL.Path == "" {
				r2.URL.Path = "/"
			}
			r2.URL.RawPath = ""
			r = r2
		}
		rt.ServeHTTP(w, r)
	})
}

// Routes returns the route patterns Handler serves, for tests that must
// cover every route (the hostile-input suite) and for documentation.
func (a *API) Routes() []string { return a.router().Patterns() }

func (a *API) router() *httpapi.Router {
	rt := httpapi.NewRouter(httpapi.Designate)
	rt.HandleFunc("GET /{$}", a.versions)
	rt.HandleFunc("GET /v2", a.versions)
	a.zoneRoutes(rt)
	a.recordSetRoutes(rt)
	a.tsigKeyRoutes(rt)
	a.poolRoutes(rt)
	a.quotaRoutes(rt)
	a.reverseRoutes(rt)
	a.transferRoutes(rt)
	a.taskRoutes(rt)
	a.zoneTaskRoutes(rt)
	a.shareRoutes(rt)
	a.tldRoutes(rt)
	a.blacklistRoutes(rt)
	a.serviceStatusRoutes(rt)
	return rt
}

// versions is designate/api/versions.py: {"versions": [...]}, each with a
// self link to /v2 and a help link to the API reference.
func (a *API) versions(w http.ResponseWriter, r *http.Request) {
	links := []httpapi.Link{{Rel: "self", Href: "/v2"}, {Rel: "help", Href: apiRefURL}}
	const updated = "2022-06-29T00:00:00Z"
	httpapi.VersionsList(w, r, http.StatusOK, []httpapi.VersionDoc{
		{ID: "v2", Status: "SUPPORTED", Updated: updated, Links: links},
		{ID: "v2.0", Status: "CURRENT", Updated: updated, Links: links},
	})
}

// request is what Designate's context middleware makes of a request: the
// caller, the project it acts for (its own, or the one it sudoes to) and
// whether it asked for, and may have, every project.
type request struct {
	caller  *middleware.Caller
	project string
	all     bool
	creds   policy.Creds

	editManaged  bool // X-Designate-Edit-Managed-Records, allowed
	deleteShares bool // X-Designate-Delete-Shares (no policy, as in Designate)
}

func (q *request) viewer() dns.Viewer {
	return dns.Viewer{Project: q.project, Admin: q.all, AllProjects: q.all}
}

// deleteOptions are the request's modifiers of a zone deletion.
func (q *request) deleteOptions() dns.DeleteOptions {
	return dns.DeleteOptions{Shares: q.deleteShares}
}

// handler is an API call with its request context.
type handler func(w http.ResponseWriter, r *http.Request, q *request)

// authed makes h a route: the caller must be authenticated, and the
// X-Auth-Sudo-Project-ID, X-Auth-All-Projects,
// X-Designate-Edit-Managed-Records and X-Designate-Hard-Delete headers
// (and the all_projects, all_tenants and edit_managed_records query
// parameters) must be allowed by their policies; X-Designate-Delete-Shares
// has none.
func (a *API) authed(h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, ok := middleware.CallerFrom(r.Context())
		if !ok {
			fail(w, r, &fault.Error{Kind: fault.Unauthorized, Type: "unauthorized",
				Message: "The request you have made requires authentication."})
			return
		}
		q, err := a.makeContext(r, c)
		if err != nil {
			fail(w, r, err)
			return
		}
		h(w, r, q)
	}
}

// makeContext is ContextMiddleware.make_context.
func (a *API) makeContext(r *http.Request, c *middleware.Caller) (*request, error) {
	q := &request{caller: c, project: c.ProjectID, creds: c.Creds()}
	ctx := r.Context()
	sudo := r.Header.Get("X-Auth-Sudo-Project-ID")
	if sudo == "" {
		sudo = r.Header.Get("X-Auth-Sudo-Tenant-ID")
	}
	if sudo != "" {
		if err := a.enforce(ctx, q, "use_sudo", nil); err != nil {
			return nil, err
		}
		q.project, q.creds.ProjectID = sudo, sudo
	}
	all := boolFromString(r.Header.Get("X-Auth-All-Projects"))
	for _, name := range []string{"all_projects", "all_tenants"} {
		if v, ok := r.URL.Query()[name]; ok {
			all = boolFromString(v[0])
		}
	}
	if all {
		if err := a.enforce(ctx, q, "all_tenants", nil); err != nil {
			return nil, err
		}
		q.all = true
	}
	managed := boolFromString(r.Header.Get("X-Designate-Edit-Managed-Records"))
	if v, ok := r.URL.Query()["edit_managed_records"]; ok {
		managed = boolFromString(v[0])
	}
	if managed {
		if err := a.enforce(ctx, q, "edit_managed_records", nil); err != nil {
			return nil, err
		}
		q.editManaged = true
	}
	if boolFromString(r.Header.Get("X-Designate-Hard-Delete")) {
		if err := a.enforce(ctx, q, "hard_delete", nil); err != nil {
			return nil, err
		}
	}
	q.deleteShares = boolFromString(r.Header.Get("X-Designate-Delete-Shares"))
	return q, nil
}

// boolFromString is oslo's strutils.bool_from_string, not strict.
func boolFromString(s string) bool {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "1", "t", "true", "on", "y", "yes":
		return true
	}
	return false
}

// enforce checks rule for the request on target.
func (a *API) enforce(ctx context.Context, q *request, rule string, target map[string]any) error {
	err := a.Policy.Enforce(ctx, rule, target, q.creds)
	if e, ok := err.(*fault.Error); ok && e.Kind == fault.Forbidden && e.Type == "" {
		e.Type = "forbidden"
	}
	return err
}

// projectTarget is the target of the rules on a project's resources.
func projectTarget(project string) map[string]any {
	return map[string]any{"project_id": project, "tenant_id": project}
}

func fail(w http.ResponseWriter, r *http.Request, err error) {
	httpapi.WriteError(w, r, httpapi.Designate, err)
}

var uuidPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$`)

// pathIDs reads the named path values, which must look like UUIDs
// (Designate's validate_uuid: 400 invalid_uuid).
func pathIDs(r *http.Request, names ...string) ([]string, error) {
	out := make([]string, len(names))
	for i, name := range names {
		v := r.PathValue(name)
		if !uuidPattern.MatchString(strings.Trim(v, "{}")) {
			return nil, &fault.Error{Kind: fault.BadRequest, Type: "invalid_uuid", Message: "Invalid UUID " + name + ": " + v}
		}
		out[i] = strings.ToLower(v)
	}
	return out, nil
}

// jsonPatch refuses application/json-patch+json bodies as Designate does.
func jsonPatch(r *http.Request) error {
	if strings.HasPrefix(strings.ToLower(r.Header.Get("Content-Type")), "application/json-patch+json") {
		return &fault.Error{Kind: fault.NotImplemented, Type: "not_implemented", Message: "json-patch not implemented"}
	}
	return nil
}
