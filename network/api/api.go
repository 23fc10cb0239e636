package api

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gostack/gostack/identity/middleware"
	"github.com/gostack/gostack/identity/policy"
	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/httpapi"
	"github.com/gostack/gostack/network"
)

// API serves Neutron v2.0 networks, subnets, ports, security groups,
// routers, floating IPs and quotas behind
// identity/middleware (which must have authenticated the request: the API
// reads middleware.CallerFrom).
type API struct {
	Store  *network.Store
	Policy *policy.Enforcer
	// MaxLimit is Neutron's pagination_max_limit: the most items a page
	// holds, also without limit (0: no cap, Neutron's default -1).
	MaxLimit int
	// AgentDownTime is Neutron's agent_down_time: an agent whose last
	// report is older is shown dead (network.DefaultAgentDownTime when 0).
	AgentDownTime time.Duration

	rulesOnce sync.Once
	rules     map[string]bool
}

// maxBody is oslo.middleware's max_request_body_size.
const maxBody = 114688

// Handler returns the routes. The version list is public; the rest needs
// the caller the middleware sets.
func (a *API) Handler() http.Handler { return a.router() }

// Routes returns the route patterns Handler serves, for tests that must
// cover every route (the hostile-input suite) and for documentation.
func (a *API) Routes() []string { return a.router().Patterns() }

func (a *API) router() *httpapi.Router {
	rt := httpapi.NewRouter(httpapi.Neutron)
	rt.HandleFunc("GET /{$}", a.versions)
	rt.HandleFunc("GET /v2.0", a.authed(a.resources))
	rt.HandleFunc("GET /v2.0/{$}", a.authed(a.resources))
	rt.HandleFunc("GET /v2.0/extensions", a.authed(a.listExtensions))
	rt.HandleFunc("GET /v2.0/extensions/{alias}", a.authed(a.showExtension))
	a.networkRoutes(rt)
	a.subnetRoutes(rt)
	a.portRoutes(rt)
	a.securityGroupRoutes(rt)
	a.routerRoutes(rt)
	a.floatingIPRoutes(rt)
	a.tagRoutes(rt)
	a.quotaRoutes(rt)
	a.agentRoutes(rt)
	return rt
}

// versions is neutron/api/versions.py: the one version, v2.0.
func (a *API) versions(w http.ResponseWriter, r *http.Request) {
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"versions": []any{map[string]any{
		"id": "v2.0", "status": "CURRENT",
		"links": []httpapi.Link{{Rel: "self", Href: httpapi.BaseURL(r) + "/v2.0/"}},
	}}})
}

// resources is the v2.0 root: the collections served.
func (a *API) resources(w http.ResponseWriter, r *http.Request, q *request) {
	var out []any
	for _, c := range []string{"networks", "subnets", "ports", "security-groups", "security-group-rules", "routers", "floatingips"} {
		name := strings.ReplaceAll(strings.TrimSuffix(c, "s"), "-", "_")
		out = append(out, map[string]any{"name": name, "collection": c,
			"links": []httpapi.Link{{Rel: "self", Href: httpapi.BaseURL(r) + "/v2.0/" + c}}})
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"resources": out})
}

// request is the caller of one request, as Neutron's context sees it.
type request struct {
	caller *middleware.Caller
	creds  policy.Creds
	admin  bool
}

func (q *request) viewer() network.Viewer {
	return network.Viewer{Project: q.caller.ProjectID, Admin: q.admin}
}

type handler func(w http.ResponseWriter, r *http.Request, q *request)

// authed makes h a route: there must be a caller.
func (a *API) authed(h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, ok := middleware.CallerFrom(r.Context())
		if !ok {
			fail(w, r, &fault.Error{Kind: fault.Unauthorized, Type: "HTTPUnauthorized",
				Message: "The request you have made requires authentication."})
			return
		}
		q := &request{caller: c, creds: c.Creds()}
		// Neutron's rules read tenant_id from the credentials.
		q.creds.Extra = map[string]any{"tenant_id": c.ProjectID}
		q.admin = a.Policy.Enforce(r.Context(), "context_is_admin", nil, q.creds) == nil
		h(w, r, q)
	}
}

func fail(w http.ResponseWriter, r *http.Request, err error) {
	httpapi.WriteError(w, r, httpapi.Neutron, err)
}

// allowed reports whether rule allows the request on target.
func (a *API) allowed(ctx context.Context, q *request, rule string, target map[string]any) bool {
	return a.Policy.Enforce(ctx, rule, target, q.creds) == nil
}

// notAuthorized is Neutron's PolicyNotAuthorized (403).
func notAuthorized(rule string) error {
	return &fault.Error{Kind: fault.Forbidden, Type: "PolicyNotAuthorized", Message: "(rule:" + rule + ") is disallowed by policy"}
}

// notFound is what Neutron answers for a resource the caller may not see.
func notFound() error {
	return &fault.Error{Kind: fault.NotFound, Type: "HTTPNotFound", Message: "The resource could not be found."}
}

func badRequest(format string, args ...any) error {
	e := fault.New(fault.BadRequest, format, args...)
	e.Type = "HTTPBadRequest"
	return e
}

// listParams reads Neutron's list query: fields, sort_key/sort_dir,
// limit, marker, page_reverse, and the rest as filters.
type listParams struct {
	fields []string
	filter network.Filter
	page   network.Page
}

func (a *API) parseList(r *http.Request) (listParams, error) {
	var lp listParams
	qv := r.URL.Query()
	lp.filter = network.Filter{}
	var keys, dirs []string
	for k, vs := range qv {
		switch k {
		case "fields":
			lp.fields = append(lp.fields, vs...)
		case "sort_key":
			keys = vs
		case "sort_dir":
			dirs = vs
		case "limit", "marker", "page_reverse":
		default:
			var keep []string
			for _, v := range vs {
				if v != "" {
					keep = append(keep, v)
				}
			}
			if len(keep) > 0 {
				lp.filter[k] = keep
			}
		}
	}
	if len(dirs) > 0 && len(dirs) != len(keys) {
		return lp, badRequest("The number of sort_keys and sort_dirs must be same")
	}
	for i, k := range keys {
		s := network.Sort{Key: k}
		if i < len(dirs) {
			switch dirs[i] {
			case "asc":
			case "desc":
				s.Desc = true
			default:
				return lp, badRequest("%s is invalid value for sort_dirs, valid value is 'asc' and 'desc'", dirs[i])
			}
		}
		lp.page.Sort = append(lp.page.Sort, s)
	}
	// limit, marker and page_reverse as the kit reads them; a marker
	// counts only with a limit, as in Neutron.
	pg, err := httpapi.ParsePage(r, a.MaxLimit, a.MaxLimit)
	if err != nil {
		return lp, err
	}
	if lp.page.Limit = pg.Limit; pg.Limit > 0 {
		lp.page.Marker, lp.page.Reverse = pg.Marker, pg.Reverse
	}
	return lp, nil
}

// writeList answers a list: the items (fields applied) under key, and
// with a limit the next and previous links under key_links.
func writeList(w http.ResponseWriter, r *http.Request, lp listParams, key string, items []map[string]any, more bool) {
	out := make([]map[string]any, len(items))
	for i, it := range items {
		out[i] = pick(it, lp.fields)
	}
	body := map[string]any{key: out}
	if lp.page.Limit > 0 {
		var links []httpapi.Link
		forward := !lp.page.Reverse
		if len(items) > 0 && ((forward && more) || (!forward && lp.page.Marker != "")) {
			links = append(links, httpapi.Link{Rel: "next", Href: httpapi.NextLink(r, items[len(items)-1]["id"].(string))})
		}
		if len(items) > 0 && ((forward && lp.page.Marker != "") || (!forward && more)) {
			links = append(links, httpapi.Link{Rel: "previous", Href: httpapi.PrevLink(r, items[0]["id"].(string))})
		}
		if len(links) > 0 {
			body[key+"_links"] = links
		}
	}
	httpapi.WriteJSON(w, http.StatusOK, body)
}

// pick keeps only fields of item (all of them with none), as Neutron's
// ?fields= does.
func pick(item map[string]any, fields []string) map[string]any {
	if len(fields) == 0 {
		return item
	}
	out := map[string]any{}
	for _, f := range fields {
		if v, ok := item[f]; ok {
			out[f] = v
		}
	}
	return out
}

// decode reads {"<key>": {...}} into a map of the resource's attributes.
func decode(w http.ResponseWriter, r *http.Request, key string) (map[string]any, error) {
	var body map[string]map[string]any
	if err := httpapi.DecodeJSON(w, r, &body, httpapi.MaxBytes(maxBody)); err != nil {
		return nil, err
	}
	attrs, ok := body[key]
	if !ok || len(body) != 1 || attrs == nil {
		return nil, badRequest("Resource body required")
	}
	return attrs, nil
}

// loadVisible gets the resource of the path with get and returns it if
// the policy's get_<kind> rule lets the caller have it on target(it);
// else Neutron's 404, as for one that does not exist.
func loadVisible[T any](ctx context.Context, a *API, r *http.Request, q *request, kind string,
	get func(context.Context, network.Viewer, string) (T, error), target func(T) map[string]any) (T, error) {
	v, err := get(ctx, q.viewer(), r.PathValue("id"))
	if err != nil {
		return v, err
	}
	if !a.allowed(ctx, q, "get_"+kind, target(v)) {
		return v, network.NotFound(kind, r.PathValue("id"))
	}
	return v, nil
}
