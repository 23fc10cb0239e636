package nova

import (
	"context"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gostack/gostack/compute"
	"github.com/gostack/gostack/identity/middleware"
	"github.com/gostack/gostack/identity/policy"
	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/httpapi"
)

// API is the Compute API v2.1 over a compute.Store, behind
// identity/middleware with Optional set (version discovery is public;
// every other route needs a caller).
type API struct {
	Store *compute.Store
	// Policy decides every call by Nova's rule names; nil uses Nova's
	// defaults (NewEnforcer).
	Policy *policy.Enforcer
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Networks and Images are the network and image services servers
	// use (nil: servers can have no ports, and no image is found).
	Networks compute.Networks
	Images   compute.Images
	// Volumes is the block-storage service (nil: no volume attaches).
	Volumes compute.Volumes
	// Builder, when set, is poked after a server is created so it is
	// scheduled at once (else at its next interval).
	Builder *compute.Builder
	// ImageURL is the image service's base URL, for the Location of a
	// snapshot before 2.45 (none when "").
	ImageURL string
	// StagingDir keeps the disks of cold moves between their source and
	// their destination ("": no moves).
	StagingDir string
}

// microversions are Nova 26's (Zed): 2.1 to 2.93.
var microversions = httpapi.Microversions{
	ServiceType: "compute",
	Legacy:      "X-OpenStack-Nova-API-Version",
	Min:         httpapi.Version{Major: 2, Minor: 1},
	Max:         httpapi.Version{Major: 2, Minor: 93},
}

// Handler serves version discovery at / and /v2.1, and the API under
// /v2.1.
func (a *API) Handler() http.Handler {
	if a.Policy == nil {
		e, err := NewEnforcer()
		if err != nil {
			panic(err) // Nova's generated defaults always register
		}
		a.Policy = e
	}
	rt := a.router()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", a.versions)
	mux.Handle("/v2.1/", http.StripPrefix("/v2.1", microversions.Middleware(httpapi.Nova, rt)))
	mux.Handle("/v2.1", microversions.Middleware(httpapi.Nova, http.HandlerFunc(a.version)))
	internal := httpapi.NewRouter(httpapi.Nova)
	a.internalRoutes(internal)
	mux.Handle("/internal/compute/", internal)
	mux.Handle("/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fail(w, r, fault.New(fault.NotFound, "The resource could not be found."))
	}))
	return mux
}

// Routes returns the route patterns Handler serves, paths as the
// listener sees them (under /v2.1, the version documents, and the
// agents' /internal/compute), for tests that must cover every route and
// for documentation.
func (a *API) Routes() []string {
	out := []string{"GET /{$}", "GET /v2.1"}
	for _, p := range a.router().Patterns() {
		method, path, _ := strings.Cut(p, " ")
		out = append(out, method+" /v2.1"+path)
	}
	internal := httpapi.NewRouter(httpapi.Nova)
	a.internalRoutes(internal)
	return append(out, internal.Patterns()...)
}

func (a *API) router() *httpapi.Router {
	rt := httpapi.NewRouter(httpapi.Nova)
	rt.HandleFunc("GET /{$}", a.version)
	a.flavorRoutes(rt)
	a.keypairRoutes(rt)
	a.aggregateRoutes(rt)
	a.availabilityZoneRoutes(rt)
	a.serviceRoutes(rt)
	a.hypervisorRoutes(rt)
	a.serverGroupRoutes(rt)
	a.serverRoutes(rt)
	a.quotaRoutes(rt)
	a.instanceActionRoutes(rt)
	a.interfaceRoutes(rt)
	a.migrationRoutes(rt)
	a.volumeRoutes(rt)
	a.eventRoutes(rt)
	return rt
}

// request is one authorized request at its negotiated microversion.
type request struct {
	v      httpapi.Version
	caller *middleware.Caller
	creds  policy.Creds
	admin  bool
	now    time.Time
}

// at reports whether the request's version is 2.minor or later.
func (q *request) at(minor int) bool { return !q.v.Less(httpapi.Version{Major: 2, Minor: minor}) }

// viewer is the caller as the Store filters by project.
func (q *request) viewer() compute.Viewer {
	return compute.Viewer{Project: q.caller.ProjectID, Admin: q.admin}
}

type handler func(w http.ResponseWriter, r *http.Request, q *request) error

// op makes a route that needs a caller; h checks its policy rules with
// a.authorize (Nova checks them inside the controller, often with the
// resource as target).
func (a *API) op(h handler) http.HandlerFunc {
	return a.since(1, h)
}

// since is op for a route that exists from 2.minor (404 before, as
// Nova's version-gated methods answer).
func (a *API) since(minor int, h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, ok := middleware.CallerFrom(r.Context())
		if !ok {
			fail(w, r, fault.New(fault.Unauthorized, "The request you have made requires authentication."))
			return
		}
		q := &request{v: httpapi.VersionFrom(r.Context()), caller: c, creds: c.Creds(), now: a.now()}
		if !plainPath(r) {
			fail(w, r, fault.New(fault.NotFound, "The resource could not be found."))
			return
		}
		if !q.at(minor) {
			fail(w, r, fault.New(fault.NotFound, "The resource could not be found."))
			return
		}
		// Nova's RequestContext: is_admin is the context_is_admin rule
		// checked against the caller.
		q.admin = a.Policy.Enforce(r.Context(), "context_is_admin", nil, q.creds) == nil
		q.creds.IsAdmin = q.admin
		// The instance actions the request starts name it and its caller,
		// as Nova's RequestContext does.
		r = r.WithContext(compute.WithRequester(r.Context(), compute.Requester{
			RequestID: httpapi.RequestIDFrom(r.Context()), UserID: c.UserID, ProjectID: c.ProjectID}))
		if err := h(w, r, q); err != nil {
			fail(w, r, err)
		}
	}
}

// plainPath reports whether every path parameter of r's route is valid
// UTF-8 without NUL: nothing else names a resource, and the store's
// engines refuse such text (PostgreSQL with an error).
func plainPath(r *http.Request) bool {
	for _, seg := range strings.Split(r.Pattern, "/") {
		if name, ok := strings.CutPrefix(seg, "{"); ok {
			name = strings.TrimSuffix(strings.TrimSuffix(name, "}"), "...")
			if name != "$" && !plain(r.PathValue(name)) {
				return false
			}
		}
	}
	return true
}

// plain reports whether s is valid UTF-8 without NUL.
func plain(s string) bool { return utf8.ValidString(s) && !strings.ContainsRune(s, 0) }

// authorize checks rule with target (nil: the caller's own project and
// user, as Nova's default target is).
func (a *API) authorize(ctx context.Context, q *request, rule string, target map[string]any) error {
	if target == nil {
		target = map[string]any{"project_id": q.caller.ProjectID, "user_id": q.caller.UserID}
	}
	if err := a.Policy.Enforce(ctx, rule, target, q.creds); err != nil {
		if fault.KindOf(err) == fault.Forbidden {
			return fault.New(fault.Forbidden, "Policy doesn't allow %s to be performed.", rule)
		}
		return err
	}
	return nil
}

func (a *API) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

func fail(w http.ResponseWriter, r *http.Request, err error) {
	httpapi.WriteError(w, r, httpapi.Nova, err)
}

func badRequest(format string, args ...any) error {
	return fault.New(fault.BadRequest, format, args...)
}
func notFound(format string, args ...any) error { return fault.New(fault.NotFound, format, args...) }
func conflict(format string, args ...any) error { return fault.New(fault.Conflict, format, args...) }

// isoTime is Nova's time format in bodies ("2024-01-02T03:04:05Z" for
// most resources; some show microseconds, which their views say).
func isoTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }
