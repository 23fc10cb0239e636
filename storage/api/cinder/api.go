package cinder

import (
	"context"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gostack/gostack/identity/middleware"
	"github.com/gostack/gostack/identity/policy"
	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/httpapi"
	"github.com/gostack/gostack/storage"
)

// API is the Block Storage API v3 (Cinder's) over a storage.Store,
// behind identity/middleware with Optional set (version discovery is
// public; every other route needs a caller).
type API struct {
	Store *storage.Store
	// Policy decides every call by Cinder's rule names; nil uses
	// Cinder's defaults (NewEnforcer).
	Policy *policy.Enforcer
	// Servers is asked whether a server still uses an attachment a
	// user (not a service) deletes; nil refuses the delete of every
	// connected attachment of a server, as if Nova still used it.
	Servers ServerVolumes
	// Images is the image service: volumes made from images (imageRef),
	// uploads of volumes to images (os-volume_upload_image), and the
	// agents' image routes. Nil refuses both, as a Cinder without Glance.
	Images storage.Images
}

// microversions are Cinder 21's (Zed): 3.0 to 3.70.
var microversions = httpapi.Microversions{
	ServiceType: "volume",
	Min:         httpapi.Version{Major: 3, Minor: 0},
	Max:         httpapi.Version{Major: 3, Minor: 70},
}

// Handler serves version discovery at / and /v3/, the API under /v3
// (with or without the project id after it, as Cinder's routes take
// both), and the volume agents' API under /internal/volume.
func (a *API) Handler() http.Handler {
	if a.Policy == nil {
		e, err := NewEnforcer()
		if err != nil {
			panic(err) // Cinder's generated defaults always register
		}
		a.Policy = e
	}
	rt := a.router()
	mux := http.NewServeMux()
	mux.Handle("/{$}", versioned(http.HandlerFunc(a.versions)))
	mux.Handle("/v3/", http.StripPrefix("/v3", versioned(a.v3(rt))))
	mux.Handle("/v3", versioned(http.HandlerFunc(a.versionIndex)))
	internal := httpapi.NewRouter(httpapi.Cinder)
	a.internalRoutes(internal)
	mux.Handle("/internal/volume/", internal)
	mux.Handle("/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fail(w, r, notFound("The resource could not be found."))
	}))
	return mux
}

// Routes returns the route patterns Handler serves, paths as the
// listener sees them (under /v3 without the project id, the version
// documents, and the agents' /internal/volume), for tests that must
// cover every route and for documentation.
func (a *API) Routes() []string {
	out := []string{"/{$}", "/v3/{$}"}
	for _, p := range a.router().Patterns() {
		method, path, _ := strings.Cut(p, " ")
		out = append(out, method+" /v3"+path)
	}
	internal := httpapi.NewRouter(httpapi.Cinder)
	a.internalRoutes(internal)
	return append(out, internal.Patterns()...)
}

func (a *API) router() *httpapi.Router {
	rt := httpapi.NewRouter(httpapi.Cinder)
	a.volumeRoutes(rt)
	a.snapshotRoutes(rt)
	a.transferRoutes(rt)
	a.qosRoutes(rt)
	a.backupRoutes(rt)
	a.attachmentRoutes(rt)
	a.typeRoutes(rt)
	a.quotaRoutes(rt)
	a.availabilityZoneRoutes(rt)
	a.schedulerStatsRoutes(rt)
	a.serviceRoutes(rt)
	a.messageRoutes(rt)
	a.capabilityRoutes(rt)
	a.defaultTypeRoutes(rt)
	return rt
}

// versioned negotiates the microversion as Cinder's wsgi does: an
// OpenStack-API-Version header without a volume entry is refused, then
// the kit's negotiation (3.0 when none is asked).
func versioned(h http.Handler) http.Handler {
	next := microversions.Middleware(httpapi.Cinder, h)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if vs := r.Header.Values(httpapi.VersionHeader); len(vs) > 0 && !strings.Contains(strings.Join(vs, ","), "volume") {
			fail(w, r, badRequest("The server could not comply with the request since it is either malformed or otherwise incorrect."))
			return
		}
		next.ServeHTTP(w, r)
	})
}

type pathProjectKey struct{}

// v3 routes a path under /v3: the version index at /, a path whose
// first segment is one of the API's collections as it is, and any other
// path as /{project_id}/..., the project id kept for the caller check
// and the links.
func (a *API) v3(rt *httpapi.Router) http.Handler {
	collections := map[string]bool{}
	for _, p := range rt.Patterns() {
		_, path, _ := strings.Cut(p, " ")
		first, _, _ := strings.Cut(strings.TrimPrefix(path, "/"), "/")
		collections[first] = true
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/" {
			a.versionIndex(w, r)
			return
		}
		rest := strings.TrimPrefix(r.URL.Path, "/")
		first, tail, _ := strings.Cut(rest, "/")
		if collections[first] || tail == "" {
			rt.ServeHTTP(w, r)
			return
		}
		r2 := r.WithContext(context.WithValue(r.Context(), pathProjectKey{}, first))
		u := *r.URL
		u.Path, u.RawPath = "/"+tail, ""
		if raw := strings.TrimPrefix(r.URL.RawPath, "/"); raw != "" {
			_, rawTail, _ := strings.Cut(raw, "/")
			u.RawPath = "/" + rawTail
		}
		r2.URL = &u
		rt.ServeHTTP(w, r2)
	})
}

// pathProject is the project id the request's path named ("" when none).
func pathProject(r *http.Request) string {
	p, _ := r.Context().Value(pathProjectKey{}).(string)
	return p
}

// request is one authorized request at its negotiated microversion.
type request struct {
	v      httpapi.Version
	caller *middleware.Caller
	creds  policy.Creds
	admin  bool
	// root is where the API is served (http://host:8776), inPath
	// "/<project id>" when the request's path had it (links then have it
	// too), else "".
	root, inPath string
}

// base is the URL the resources' self links start with.
func (q *request) base() string { return q.root + "/v3" + q.inPath }

// at reports whether the request's version is 3.minor or later.
func (q *request) at(minor int) bool { return !q.v.Less(httpapi.Version{Major: 3, Minor: minor}) }

type handler func(w http.ResponseWriter, r *http.Request, q *request) error

// op makes a route that needs a caller; h checks its policy rules with
// a.authorize (Cinder checks them in its controllers and volume API,
// often with the resource as target).
func (a *API) op(h handler) http.HandlerFunc { return a.since(0, h) }

// since is op for a route that exists from 3.minor (404 before, as
// Cinder's version-gated methods answer).
func (a *API) since(minor int, h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, ok := middleware.CallerFrom(r.Context())
		if !ok {
			fail(w, r, fault.New(fault.Unauthorized, "The request you have made requires authentication."))
			return
		}
		if !plainPath(r) {
			fail(w, r, notFound("The resource could not be found."))
			return
		}
		q := &request{v: httpapi.VersionFrom(r.Context()), caller: c, creds: c.Creds()}
		if !q.at(minor) {
			fail(w, r, notFound("The resource could not be found."))
			return
		}
		// A project id in the path must be the caller's (Cinder's wsgi
		// Resource).
		q.root = httpapi.BaseURL(r)
		if p := pathProject(r); p != "" {
			if p != c.ProjectID {
				fail(w, r, badRequest("Malformed request url"))
				return
			}
			q.inPath = "/" + p
		}
		// Keystone says every token is of the admin project when none is
		// configured, and oslo.context defaults to that.
		q.creds.IsAdminProject = true
		// Cinder's RequestContext: is_admin is the context_is_admin rule
		// checked against the caller.
		q.admin = a.Policy.Enforce(r.Context(), "context_is_admin", nil, q.creds) == nil
		q.creds.IsAdmin = q.admin
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
	return plain(pathProject(r))
}

// plain reports whether s is valid UTF-8 without NUL.
func plain(s string) bool { return utf8.ValidString(s) && !strings.ContainsRune(s, 0) }

// authorize checks rule with target (nil: the caller's own project and
// user, as Cinder's default target is). A refusal is Cinder's
// PolicyNotAuthorized.
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

// allowed reports whether rule allows the caller on target, for the
// rules that only shape a view (extra attributes for admins).
func (a *API) allowed(ctx context.Context, q *request, rule string, target map[string]any) bool {
	return a.authorize(ctx, q, rule, target) == nil
}

// quotaErrors are Cinder's QuotaError exceptions the Store raises: they
// reach Cinder's FaultWrapper, which names the exception in the message
// and says when to retry (413, Retry-After: 0).
var quotaErrors = map[string]bool{"VolumeSizeExceedsLimit": true, "VolumeLimitExceeded": true,
	"VolumeSizeExceedsAvailableQuota": true, "QuotaError": true, "SnapshotLimitExceeded": true,
	"BackupLimitExceeded": true, "VolumeBackupSizeExceedsAvailableQuota": true}

// entityTooLarge is the type of a quota error a controller turns into
// webob's HTTPRequestEntityTooLarge with Retry-After: 0 itself (the
// message without the exception's name).
const entityTooLarge = "HTTPRequestEntityTooLarge"

// fail writes err as Cinder's error body: the one place the Block
// Storage API turns errors into HTTP.
func fail(w http.ResponseWriter, r *http.Request, err error) {
	if typ := fault.TypeOf(err); fault.KindOf(err) == fault.TooLarge && quotaErrors[typ] {
		msg := typ + ": " + fault.Message(err)
		httpapi.Logger(r.Context()).DebugContext(r.Context(), "request rejected", "status", http.StatusRequestEntityTooLarge, "error", msg)
		w.Header().Set("Retry-After", "0")
		httpapi.WriteJSON(w, http.StatusRequestEntityTooLarge, map[string]any{"overLimit": map[string]any{
			"code": http.StatusRequestEntityTooLarge, "message": msg, "retryAfter": "0"}})
		return
	}
	if fault.TypeOf(err) == entityTooLarge {
		w.Header().Set("Retry-After", "0")
		httpapi.WriteJSON(w, http.StatusRequestEntityTooLarge, map[string]any{"overLimit": map[string]any{
			"code": http.StatusRequestEntityTooLarge, "message": fault.Message(err), "retryAfter": "0"}})
		return
	}
	httpapi.WriteError(w, r, httpapi.Cinder, err)
}

func badRequest(format string, args ...any) error {
	return fault.New(fault.BadRequest, format, args...)
}
func notFound(format string, args ...any) error { return fault.New(fault.NotFound, format, args...) }

// isoTime is Cinder's time format in bodies, oslo's PERFECT_TIME_FORMAT
// of a UTC time ("2024-01-02T03:04:05.123456").
func isoTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000") }
