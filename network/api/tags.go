package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/httpapi"
	"github.com/gostack/gostack/network"
)

// tagParent is a collection whose members carry tags (Neutron's
// standard-attr-tag): its path, the store's kind (Neutron's member name,
// which its policy rules use) and how a member of the path is loaded with
// the target its rules read.
type tagParent struct {
	collection string // in the path: "security-groups"
	kind       string // "security_group"
	load       func(ctx context.Context, r *http.Request, q *request) (tags []string, target map[string]any, err error)
}

func (a *API) tagParents() []tagParent {
	return []tagParent{
		{"networks", "network", func(ctx context.Context, r *http.Request, q *request) ([]string, map[string]any, error) {
			n, err := a.loadNetwork(ctx, r, q)
			return n.Tags, networkTarget(n), err
		}},
		{"subnets", "subnet", func(ctx context.Context, r *http.Request, q *request) ([]string, map[string]any, error) {
			s, n, err := a.loadSubnet(ctx, r, q)
			return s.Tags, subnetTarget(s, n), err
		}},
		{"ports", "port", func(ctx context.Context, r *http.Request, q *request) ([]string, map[string]any, error) {
			p, n, err := a.loadPort(ctx, r, q)
			return p.Tags, portTarget(p, n), err
		}},
		{"routers", "router", func(ctx context.Context, r *http.Request, q *request) ([]string, map[string]any, error) {
			rt, err := a.loadRouter(ctx, r, q)
			return rt.Tags, routerTarget(rt), err
		}},
		{"floatingips", "floatingip", func(ctx context.Context, r *http.Request, q *request) ([]string, map[string]any, error) {
			f, err := a.loadFIP(ctx, r, q)
			return f.Tags, fipTarget(f), err
		}},
		{"security-groups", "security_group", func(ctx context.Context, r *http.Request, q *request) ([]string, map[string]any, error) {
			g, err := a.loadSG(ctx, r, q)
			return g.Tags, sgTarget(g), err
		}},
	}
}

// tagRoutes are neutron/extensions/tagging.py's: the tags of a member
// (GET, PUT replaces them all, DELETE removes them all) and one tag of it
// (GET checks it, PUT adds it, DELETE removes it).
func (a *API) tagRoutes(rt *httpapi.Router) {
	for _, p := range a.tagParents() {
		base := "/v2.0/" + p.collection + "/{id}/tags"
		rt.HandleFunc("GET "+base, a.authed(p.listTags))
		rt.HandleFunc("PUT "+base, a.authed(func(w http.ResponseWriter, r *http.Request, q *request) { a.replaceTags(w, r, q, p) }))
		rt.HandleFunc("DELETE "+base, a.authed(func(w http.ResponseWriter, r *http.Request, q *request) { a.clearTags(w, r, q, p) }))
		rt.HandleFunc("GET "+base+"/{tag}", a.authed(p.showTag))
		rt.HandleFunc("PUT "+base+"/{tag}", a.authed(func(w http.ResponseWriter, r *http.Request, q *request) { a.addTag(w, r, q, p) }))
		rt.HandleFunc("DELETE "+base+"/{tag}", a.authed(func(w http.ResponseWriter, r *http.Request, q *request) { a.removeTag(w, r, q, p) }))
	}
}

// tagList is a resource's tags as Neutron shows them: a list, never
// null.
func tagList(tags []string) []string {
	if tags == nil {
		return []string{}
	}
	return tags
}

// missing is Neutron's TagResourceNotFound for a member the caller may
// not see or that is gone (the collection as Neutron names it, with an
// underscore); other errors as they are.
func (p tagParent) missing(err error, r *http.Request) error {
	var fe *fault.Error
	if !errors.As(err, &fe) || fe.Kind != fault.NotFound || fe.Type == "TagNotFound" {
		return err
	}
	return &fault.Error{Kind: fault.NotFound, Type: "TagResourceNotFound",
		Message: fmt.Sprintf("Resource %ss %s could not be found.", p.kind, r.PathValue("id"))}
}

func (p tagParent) listTags(w http.ResponseWriter, r *http.Request, q *request) {
	tags, _, err := p.load(r.Context(), r, q)
	if err != nil {
		fail(w, r, p.missing(err, r))
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"tags": tagList(tags)})
}

// showTag answers 204 when the member has the tag, else TagNotFound.
func (p tagParent) showTag(w http.ResponseWriter, r *http.Request, q *request) {
	tag := r.PathValue("tag")
	if err := network.CheckTag(tag); err != nil {
		fail(w, r, err)
		return
	}
	tags, _, err := p.load(r.Context(), r, q)
	if err != nil {
		fail(w, r, p.missing(err, r))
		return
	}
	if !slices.Contains(tags, tag) {
		fail(w, r, network.TagNotFound(tag))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// writable loads the member of the path for a change of its tags and
// checks the change as an update of the member (Neutron 21 checks no
// policy on tags: any project that sees a shared network tags it): a
// member the caller may not get is not found, one it may get but not
// update is a 403. It answers the request and returns false when the
// change may not be made.
func (a *API) writable(w http.ResponseWriter, r *http.Request, q *request, p tagParent) bool {
	ctx := r.Context()
	_, target, err := p.load(ctx, r, q)
	if err != nil {
		fail(w, r, p.missing(err, r))
		return false
	}
	if rule := "update_" + p.kind; !a.allowed(ctx, q, rule, target) {
		fail(w, r, notAuthorized(rule))
		return false
	}
	return true
}

// writer is who changes the tags once the policy allowed it.
func writer(q *request) network.Viewer {
	v := q.viewer()
	v.Admin = true // the policy decided
	return v
}

// replaceTags is update_all: the body's tags replace the member's, and
// the body is the answer.
func (a *API) replaceTags(w http.ResponseWriter, r *http.Request, q *request, p tagParent) {
	tags, err := decodeTags(w, r)
	if err != nil {
		fail(w, r, err)
		return
	}
	if !a.writable(w, r, q, p) {
		return
	}
	if _, err := a.Store.SetTags(r.Context(), writer(q), p.kind, r.PathValue("id"), tags); err != nil {
		fail(w, r, p.missing(err, r))
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"tags": tags})
}

// decodeTags reads {"tags": [...]}: validate_tags.
func decodeTags(w http.ResponseWriter, r *http.Request) ([]string, error) {
	var body any
	if err := httpapi.DecodeJSON(w, r, &body, httpapi.MaxBytes(maxBody)); err != nil {
		return nil, err
	}
	m, ok := body.(map[string]any)
	list, has := m["tags"]
	if !ok || !has {
		return nil, invalidInput("Invalid tags body")
	}
	items, ok := list.([]any)
	if !ok {
		return nil, invalidInput("'%s' is not a list", pyText(list))
	}
	tags := make([]string, len(items))
	for i, it := range items {
		if tags[i], ok = it.(string); !ok {
			return nil, invalidInput("'%s' is not a valid string", pyText(it))
		}
	}
	return tags, network.CheckTags(tags)
}

// pyText is a JSON value as Python prints it in Neutron's messages.
func pyText(v any) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case bool:
		if x {
			return "True"
		}
		return "False"
	}
	return fmt.Sprint(v)
}

// clearTags is delete_all: the member has no tags (204).
func (a *API) clearTags(w http.ResponseWriter, r *http.Request, q *request, p tagParent) {
	if !a.writable(w, r, q, p) {
		return
	}
	if _, err := a.Store.SetTags(r.Context(), writer(q), p.kind, r.PathValue("id"), nil); err != nil {
		fail(w, r, p.missing(err, r))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// addTag is update: the member has the tag (201, no body).
func (a *API) addTag(w http.ResponseWriter, r *http.Request, q *request, p tagParent) {
	a.changeTag(w, r, q, p, a.Store.AddTag, http.StatusCreated)
}

// removeTag is delete: the tag goes (204), or TagNotFound.
func (a *API) removeTag(w http.ResponseWriter, r *http.Request, q *request, p tagParent) {
	a.changeTag(w, r, q, p, a.Store.RemoveTag, http.StatusNoContent)
}

// changeTag checks the path's tag and the caller's right to change the
// member, applies change, and answers status with no body.
func (a *API) changeTag(w http.ResponseWriter, r *http.Request, q *request, p tagParent,
	change func(ctx context.Context, v network.Viewer, kind, id, tag string) ([]string, error), status int) {
	tag := r.PathValue("tag")
	if err := network.CheckTag(tag); err != nil {
		fail(w, r, err)
		return
	}
	if !a.writable(w, r, q, p) {
		return
	}
	if _, err := change(r.Context(), writer(q), p.kind, r.PathValue("id"), tag); err != nil {
		fail(w, r, p.missing(err, r))
		return
	}
	w.WriteHeader(status)
}

// portTags reads the tags of a port create (TAG_ATTRIBUTE_MAP_PORTS: a
// list of unique strings); none when absent or null.
func portTags(attrs map[string]any) ([]string, error) {
	v, ok := attrs["tags"]
	if !ok || v == nil {
		return nil, nil
	}
	items, ok := v.([]any)
	if !ok {
		return nil, attrError("tags", "'%s' is not a list", pyText(v))
	}
	tags := make([]string, len(items))
	for i, it := range items {
		if tags[i], ok = it.(string); !ok {
			return nil, attrError("tags", "'%s' is not a valid string", pyText(it))
		}
	}
	if err := network.CheckTags(tags); err != nil {
		// Neutron's attribute validation: the reason for "tags".
		var fe *fault.Error
		if errors.As(err, &fe) {
			reason := strings.TrimSuffix(strings.TrimPrefix(fe.Message, "Invalid input for operation: "), ".")
			return nil, attrError("tags", "%s", reason)
		}
		return nil, err
	}
	return tags, nil
}
