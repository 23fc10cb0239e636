package placement

import (
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gostack/gostack/compute"
	"github.com/gostack/gostack/identity/middleware"
	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/httpapi"
)

// API serves the Placement API v1 over a compute.Store, behind
// identity/middleware (with Optional set, so that the version document
// at / stays public; every other route needs the caller the middleware
// sets).
type API struct {
	Store *compute.Store
	// MaxCandidates caps the allocation candidates GET
	// /allocation_candidates generates before its limit applies
	// (Placement's max_allocation_candidates); 0 or -1: no cap.
	MaxCandidates int
	// Authorize reports whether the caller may do rule
	// ("placement:resource_providers:list", Placement's policy names).
	// Nil lets callers with role admin or service do everything, as
	// Placement's default policies do.
	Authorize func(c *middleware.Caller, rule string) bool
	// Now is the clock for Last-Modified where Placement uses the time
	// of the request (time.Now when nil).
	Now func() time.Time
}

// Handler returns the routes behind microversion negotiation.
func (a *API) Handler() http.Handler { return a.negotiate(a.router()) }

// Routes returns the route patterns Handler serves, for tests that must
// cover every route and for documentation.
func (a *API) Routes() []string { return a.router().Patterns() }

func (a *API) router() *httpapi.Router {
	rt := httpapi.NewRouter(httpapi.Placement)
	rt.HandleFunc("GET /{$}", a.root)
	a.providerRoutes(rt)
	a.inventoryRoutes(rt)
	a.traitRoutes(rt)
	a.classRoutes(rt)
	a.allocationRoutes(rt)
	rt.HandleFunc("GET /allocation_candidates", a.op(ruleCandidates, 10, a.listCandidates))
	rt.HandleFunc("GET /usages", a.op(ruleUsages, 9, a.totalUsages))
	return rt
}

// request is one authorized request at its negotiated microversion.
type request struct {
	v      httpapi.Version
	caller *middleware.Caller
	now    time.Time
}

// at reports whether the request's version is 1.minor or later.
func (q *request) at(minor int) bool { return !q.v.Less(httpapi.Version{Major: 1, Minor: minor}) }

// modified sets Last-Modified and Cache-Control: no-cache, as Placement
// does on reads (and some writes) since 1.15.
func (q *request) modified(w http.ResponseWriter, t time.Time) {
	if !q.at(15) {
		return
	}
	if t.IsZero() {
		t = q.now
	}
	w.Header().Set("Last-Modified", t.UTC().Format(http.TimeFormat))
	w.Header().Set("Cache-Control", "no-cache")
}

// micros is a Store time (Unix microseconds) as a time, zero for 0.
func micros(us int64) time.Time {
	if us == 0 {
		return time.Time{}
	}
	return time.UnixMicro(us)
}

type handler func(w http.ResponseWriter, r *http.Request, q *request) error

// op makes a route that exists since 1.since (a 404 before, as
// Placement's version_handler answers), needs a caller allowed rule,
// and writes the error h returns.
func (a *API) op(rule string, since int, h handler) http.HandlerFunc {
	return a.gated(rule, since, fault.NotFound, h)
}

// gated is op with the kind of error answered below 1.since.
func (a *API) gated(rule string, since int, below fault.Kind, h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		q := &request{v: httpapi.VersionFrom(r.Context()), now: a.now()}
		c, ok := middleware.CallerFrom(r.Context())
		if !ok {
			fail(w, r, fault.New(fault.Unauthorized, "The request you have made requires authentication."))
			return
		}
		q.caller = c
		if !q.at(since) {
			fail(w, r, &fault.Error{Kind: below, Message: defaultMessage(below)})
			return
		}
		if r.Method == http.MethodGet {
			if err := acceptJSON(r); err != nil {
				fail(w, r, err)
				return
			}
		}
		if !a.allowed(c, rule) {
			fail(w, r, fault.New(fault.Forbidden, "Policy does not allow %s to be performed.", rule))
			return
		}
		if err := h(w, r, q); err != nil {
			fail(w, r, err)
		}
	}
}

func defaultMessage(k fault.Kind) string {
	if k == fault.NotAllowed {
		return "The method specified is not allowed for this resource."
	}
	return "The resource could not be found."
}

func (a *API) allowed(c *middleware.Caller, rule string) bool {
	if a.Authorize != nil {
		return a.Authorize(c, rule)
	}
	return c.HasRole("admin") || c.HasRole("service")
}

func (a *API) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

func fail(w http.ResponseWriter, r *http.Request, err error) {
	httpapi.WriteError(w, r, httpapi.Placement, err)
}

// placementError is an error with one of Placement's codes.
func placementError(kind fault.Kind, code, format string, args ...any) error {
	e := fault.New(kind, format, args...)
	e.Type = code
	return e
}

func badRequest(format string, args ...any) error {
	return placementError(fault.BadRequest, compute.CodeDefault, format, args...)
}

func notFound(format string, args ...any) error {
	return placementError(fault.NotFound, compute.CodeDefault, format, args...)
}

func conflict(code, format string, args ...any) error {
	return placementError(fault.Conflict, code, format, args...)
}

// recode gives a Store error of kind k another code and a prefix, as a
// Placement handler words it.
func recode(err error, k fault.Kind, code, prefix string) error {
	if fault.KindOf(err) != k {
		return err
	}
	return placementError(k, code, "%s%s", prefix, fault.Message(err))
}

// acceptJSON answers 406 when the request says it accepts something, but
// not JSON (Placement's check_accept).
func acceptJSON(r *http.Request) error {
	accept := r.Header.Get("Accept")
	if strings.TrimSpace(accept) == "" {
		return nil
	}
	for _, part := range strings.Split(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil || (mt != "application/json" && mt != "application/*" && mt != "*/*") {
			continue
		}
		if qv, ok := params["q"]; ok {
			if f, err := strconv.ParseFloat(qv, 64); err != nil || f <= 0 {
				continue
			}
		}
		return nil
	}
	return fault.New(fault.NotAcceptable, "Only application/json is provided")
}

// prefix is the path the API is mounted under ("" at the root), which
// Placement's links start with (its SCRIPT_NAME).
func prefix(r *http.Request) string {
	u, err := url.Parse(httpapi.BaseURL(r))
	if err != nil {
		return ""
	}
	return strings.TrimSuffix(u.Path, "/")
}

// location is an absolute URL for path, as webob makes Placement's
// relative Location headers.
func location(r *http.Request, path string) string {
	return httpapi.BaseURL(r) + path
}

// link is one of Placement's {"rel", "href"} links.
type link struct {
	Rel  string `json:"rel"`
	Href string `json:"href"`
}

// noContent answers 204 (or another bodiless status).
func noContent(w http.ResponseWriter, status int) {
	w.WriteHeader(status)
}
