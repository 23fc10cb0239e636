package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/gostack/gostack/identity/middleware"
	"github.com/gostack/gostack/identity/policy"
	"github.com/gostack/gostack/image"
	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/httpapi"
)

// API serves Glance v2 behind identity/middleware (which must have
// authenticated the request: the API reads middleware.CallerFrom).
type API struct {
	Service *image.Service
	Policy  *policy.Enforcer
	// DiskFormats and ContainerFormats are the accepted formats (default
	// Glance's lists).
	DiskFormats, ContainerFormats []string
	// MaxPageSize caps limit (Glance's api_limit_max, default 1000).
	MaxPageSize int
	// ShowMultipleLocations is Glance's show_multiple_locations: image
	// bodies list the image's locations, and PATCH adds, replaces and
	// removes them (else 403, as Glance). Deprecated in Glance and risky:
	// a location's URL may hold credentials, and any project member may
	// make the service fetch a URL (through Service.External's guard).
	ShowMultipleLocations bool
	// ShowDirectURL is Glance's show_image_direct_url: image bodies show
	// the URL of the image's first location as direct_url.
	ShowDirectURL bool
}

// Glance's default format lists (glance/common/config.py).
var (
	DefaultDiskFormats      = []string{"ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw", "qcow2", "vdi", "iso", "ploop"}
	DefaultContainerFormats = []string{"ami", "ari", "aki", "bare", "ovf", "ova", "docker", "compressed"}
)

// Handler returns the routes. The version documents are public; the rest
// needs the caller the middleware sets.
func (a *API) Handler() http.Handler {
	rt := httpapi.NewRouter(httpapi.Glance)
	rt.HandleFunc("GET /{$}", a.versions)
	rt.HandleFunc("GET /versions", a.versions)
	rt.HandleFunc("GET /v2", a.versions)
	rt.HandleFunc("GET /v2/{$}", a.versions)
	a.imageRoutes(rt)
	a.dataRoutes(rt)
	a.memberRoutes(rt)
	a.schemaRoutes(rt)
	a.metadefRoutes(rt)
	return rt
}

// Routes returns the route patterns Handler serves, for tests that must
// cover every route (the hostile-input suite) and for documentation.
func (a *API) Routes() []string { return a.Handler().(*httpapi.Router).Patterns() }

// Versions are the Glance API versions we answer as (all the same API).
var versionIDs = []string{"v2.17", "v2.16", "v2.15", "v2.9", "v2.8", "v2.7", "v2.6", "v2.5", "v2.4", "v2.3", "v2.2", "v2.1", "v2.0"}

func (a *API) versions(w http.ResponseWriter, r *http.Request) {
	docs := make([]httpapi.VersionDoc, len(versionIDs))
	for i, id := range versionIDs {
		st := "SUPPORTED"
		if i == 0 {
			st = "CURRENT"
		}
		docs[i] = httpapi.VersionDoc{ID: id, Status: st, Links: []httpapi.Link{{Rel: "self", Href: "/v2/"}}}
	}
	status := http.StatusMultipleChoices
	if r.URL.Path != "/" {
		status = http.StatusOK
	}
	httpapi.VersionsList(w, r, status, docs)
}

func (a *API) fail(w http.ResponseWriter, r *http.Request, err error) {
	httpapi.WriteError(w, r, httpapi.Glance, err)
}

// authed wraps h: there must be a caller.
func (a *API) authed(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if _, ok := middleware.CallerFrom(r.Context()); !ok {
			a.fail(w, r, &fault.Error{Kind: fault.Unauthorized, Message: "This server could not verify that you are authorized to access the document you requested."})
			return
		}
		h(w, r)
	}
}

func caller(ctx context.Context) *middleware.Caller {
	c, _ := middleware.CallerFrom(ctx)
	return c
}

// enforce checks rule with target.
func (a *API) enforce(ctx context.Context, rule string, target map[string]any) error {
	return a.Policy.Enforce(ctx, rule, target, caller(ctx).Creds())
}

// viewer is who the store filters for.
func (a *API) viewer(ctx context.Context) image.Viewer {
	return image.Viewer{Project: caller(ctx).ProjectID, Admin: a.enforce(ctx, "context_is_admin", nil) == nil}
}

// target is Glance's ImageTarget: the image's attributes and extra
// properties, project_id for the owner and member_id for the caller's
// project when the image is shared with it.
func (a *API) target(ctx context.Context, img image.Image) map[string]any {
	t := map[string]any{}
	for k, v := range img.Properties {
		t[k] = v
	}
	t["id"], t["name"], t["owner"], t["project_id"] = img.ID, img.Name, img.Owner, img.Owner
	t["visibility"], t["status"], t["protected"] = img.Visibility, string(img.Status), img.Protected
	t["member_id"] = nil
	if img.Visibility == image.Shared {
		if ms, err := a.Service.Store.Members(ctx, img.ID); err == nil {
			p := caller(ctx).ProjectID
			if slices.ContainsFunc(ms, func(m image.Member) bool { return m.Member == p }) {
				t["member_id"] = p
			}
		}
	}
	return t
}

// load returns the image the path names, if the caller may see it, and
// checks rule on it. As in Glance, an image the caller may not see is a
// 404, and one it sees but may not act on is a 403.
func (a *API) load(w http.ResponseWriter, r *http.Request, rule string) (image.Image, bool) {
	ctx := r.Context()
	img, err := a.Service.Store.Get(ctx, r.PathValue("id"))
	if err == nil {
		var ok bool
		ok, err = a.Service.Store.CanSee(ctx, img, a.viewer(ctx))
		if err == nil && !ok {
			err = notFound(r.PathValue("id"))
		}
	}
	if err != nil {
		a.fail(w, r, err)
		return img, false
	}
	t := a.target(ctx, img)
	if err := a.enforce(ctx, "get_image", t); err != nil {
		a.fail(w, r, notFound(img.ID))
		return img, false
	}
	if rule != "get_image" {
		if err := a.enforce(ctx, rule, t); err != nil {
			a.fail(w, r, err)
			return img, false
		}
	}
	return img, true
}

// capWrap words an *image.CapError as Glance's tag and member
// controllers do: format gets the image id and Glance's message. Other
// errors pass as they are.
func capWrap(err error, format, id string) error {
	var ce *image.CapError
	if !errors.As(err, &ce) {
		return err
	}
	return &fault.Error{Kind: fault.TooLarge, Message: fmt.Sprintf(format, id, ce.Error()), Err: err}
}

func notFound(id string) error {
	return &fault.Error{Kind: fault.NotFound, Message: "No image found with ID " + id}
}

func isoTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }
