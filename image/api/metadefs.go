package api

import (
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/gostack/gostack/image"
	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/httpapi"
)

// The schemas Glance serves at /v2/schemas/metadefs/*, as Glance writes
// them (metadefschemas/README); request bodies are validated against
// them, as Glance does.
//
//go:embed metadefschemas/*.json
var metadefSchemaFS embed.FS

var metadefSchemaNames = []string{"namespace", "namespaces", "object", "objects", "property", "properties", "tag", "tags",
	"resource_type", "resource_types"}

var metadefSchemas = sync.OnceValue(func() map[string]map[string]any {
	out := map[string]map[string]any{}
	for _, n := range metadefSchemaNames {
		b, err := metadefSchemaFS.ReadFile("metadefschemas/" + n + ".json")
		if err != nil {
			panic(err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			panic(fmt.Sprintf("metadefschemas/%s.json: %v", n, err))
		}
		out[n] = m
	}
	return out
})

const mdBase = "/v2/metadefs/namespaces/{ns}"

func (a *API) metadefRoutes(rt *httpapi.Router) {
	for _, n := range metadefSchemaNames {
		rt.HandleFunc("GET /v2/schemas/metadefs/"+n, a.authed(func(w http.ResponseWriter, r *http.Request) {
			httpapi.WriteJSON(w, http.StatusOK, metadefSchemas()[n])
		}))
	}
	rt.HandleFunc("GET /v2/metadefs/namespaces", a.authed(a.listNamespaces))
	rt.HandleFunc("POST /v2/metadefs/namespaces", a.authed(a.createNamespace))
	rt.HandleFunc("GET "+mdBase, a.authed(a.showNamespace))
	rt.HandleFunc("PUT "+mdBase, a.authed(a.updateNamespace))
	rt.HandleFunc("DELETE "+mdBase, a.authed(a.deleteNamespace))
	rt.HandleFunc("GET /v2/metadefs/resource_types", a.authed(a.listResourceTypes))
	rt.HandleFunc("GET "+mdBase+"/resource_types", a.authed(a.listAssociations))
	rt.HandleFunc("POST "+mdBase+"/resource_types", a.authed(a.associate))
	rt.HandleFunc("DELETE "+mdBase+"/resource_types/{rt}", a.authed(a.dissociate))
	a.itemRoutes(rt)
}

// mdViewer is who the metadef store filters for.
func (a *API) mdViewer(ctx context.Context) image.Viewer { return a.viewer(ctx) }

// nsTarget is Glance's MetadefAPIPolicy target: the namespace's owner as
// project_id and its visibility; without a namespace, the caller's
// project.
func nsTarget(ctx context.Context, ns *image.Namespace) map[string]any {
	if ns == nil {
		return map[string]any{"project_id": caller(ctx).ProjectID}
	}
	return map[string]any{"project_id": ns.Owner, "visibility": ns.Visibility}
}

// mdEnforce is MetadefAPIPolicy._enforce: a refusal is a 404 when the
// caller may not read the namespace either, a 403 otherwise.
func (a *API) mdEnforce(ctx context.Context, rule string, ns *image.Namespace) error {
	t := nsTarget(ctx, ns)
	err := a.enforce(ctx, rule, t)
	if err == nil || ns == nil {
		return err
	}
	if rule == "get_metadef_namespace" || a.enforce(ctx, "get_metadef_namespace", t) != nil {
		return &fault.Error{Kind: fault.NotFound, Message: "The resource could not be found."}
	}
	return err
}

// loadNS reads the namespace of the path, which the caller must see,
// and checks rules on it.
func (a *API) loadNS(w http.ResponseWriter, r *http.Request, rules ...string) (image.Namespace, bool) {
	ctx := r.Context()
	ns, err := a.Service.Store.Namespace(ctx, a.mdViewer(ctx), r.PathValue("ns"))
	if err == nil {
		for _, rule := range append([]string{"get_metadef_namespace"}, rules...) {
			if err = a.mdEnforce(ctx, rule, &ns); err != nil {
				break
			}
		}
	}
	if err != nil {
		a.fail(w, r, err)
		return ns, false
	}
	return ns, true
}

// readValidated reads a JSON object body, refuses the read-only
// attributes (403) and validates it against the named Glance schema
// (400, in Glance's words).
func readValidated(w http.ResponseWriter, r *http.Request, schema string, readOnly ...string) (map[string]any, error) {
	raw, err := readBody(w, r)
	if err != nil {
		return nil, err
	}
	var body any
	if err := json.Unmarshal(raw, &body); err != nil {
		return nil, fault.Invalid("", "Malformed JSON in request body.")
	}
	m, ok := body.(map[string]any)
	if ok {
		for _, k := range readOnly {
			if _, ok := m[k]; ok {
				return nil, fault.New(fault.Forbidden, "Attribute '%s' is read-only.", k)
			}
		}
	}
	if err := (schemaCheck{root: metadefSchemas()[schema]}).validate(body); err != nil {
		return nil, fault.Invalid("", "Provided object does not match schema '%s': %s", schema, err.Error())
	}
	if !ok {
		return nil, fault.Invalid("", "Provided object does not match schema '%s': %s is not of type 'object'", schema, pyRepr(body))
	}
	return m, nil
}

func getString(m map[string]any, k string) string { s, _ := m[k].(string); return s }

// ---- namespaces ----

func nsHref(name string) string { return "/v2/metadefs/namespaces/" + name }

func renderNamespace(ns image.Namespace) map[string]any {
	out := map[string]any{"namespace": ns.Namespace, "protected": ns.Protected, "created_at": isoTime(ns.CreatedAt),
		"updated_at": isoTime(ns.UpdatedAt), "self": nsHref(ns.Namespace), "schema": "/v2/schemas/metadefs/namespace"}
	for k, v := range map[string]string{"display_name": ns.DisplayName, "description": ns.Description, "visibility": ns.Visibility, "owner": ns.Owner} {
		if v != "" {
			out[k] = v
		}
	}
	return out
}

func renderAssociation(as image.Association) map[string]any {
	out := map[string]any{"name": as.Name, "created_at": isoTime(as.CreatedAt), "updated_at": isoTime(as.UpdatedAt)}
	if as.Prefix != "" {
		out["prefix"] = as.Prefix
	}
	if as.PropertiesTarget != "" {
		out["properties_target"] = as.PropertiesTarget
	}
	return out
}

// namespaceFrom is a namespace body's attributes with Glance's defaults
// for a create or an update: private, unprotected, the caller's project.
func namespaceFrom(ctx context.Context, m map[string]any) image.Namespace {
	ns := image.Namespace{Namespace: getString(m, "namespace"), DisplayName: getString(m, "display_name"), Description: getString(m, "description"),
		Visibility: getString(m, "visibility"), Owner: getString(m, "owner")}
	ns.Protected, _ = m["protected"].(bool)
	if ns.Visibility == "" {
		ns.Visibility = image.Private
	}
	if ns.Owner == "" {
		ns.Owner = caller(ctx).ProjectID
	}
	return ns
}

// publicGuard refuses a non-admin a public namespace or one owned by
// another project (reachable only when a policy file lets members write
// metadefs: Glance's defaults already keep every write to admins).
func (a *API) publicGuard(ctx context.Context, ns image.Namespace) error {
	if a.enforce(ctx, "context_is_admin", nil) == nil {
		return nil
	}
	if ns.Visibility == image.Public {
		return fault.New(fault.Forbidden, "Only an administrator may make a metadata definition namespace public.")
	}
	if ns.Owner != caller(ctx).ProjectID {
		return fault.New(fault.Forbidden, "You are not permitted to create a metadata definition namespace owned by another project.")
	}
	return nil
}

func (a *API) createNamespace(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	m, err := readValidated(w, r, "namespace", "self", "schema", "created_at", "updated_at")
	if err == nil {
		err = checkBodyTypes("namespace", m)
	}
	if err == nil {
		err = a.mdEnforce(ctx, "add_metadef_namespace", nil)
	}
	for key, rule := range map[string]string{"resource_type_associations": "add_metadef_resource_type_association",
		"objects": "add_metadef_object", "properties": "add_metadef_property", "tags": "add_metadef_tag"} {
		if _, ok := m[key]; ok && err == nil {
			err = a.mdEnforce(ctx, rule, nil)
		}
	}
	c := image.NamespaceContent{Namespace: namespaceFrom(ctx, m)}
	if err == nil {
		err = a.publicGuard(ctx, c.Namespace)
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	for _, x := range anySlice(m["resource_type_associations"]) {
		as, _ := x.(map[string]any)
		c.Associations = append(c.Associations, image.Association{Name: getString(as, "name"), Prefix: getString(as, "prefix"),
			PropertiesTarget: getString(as, "properties_target")})
	}
	props, _ := m["properties"].(map[string]any)
	for _, name := range sortedKeys(props) {
		c.Items = append(c.Items, image.Item{Kind: image.KindProperty, Name: name, Body: propertyBody(props[name])})
	}
	for _, x := range anySlice(m["objects"]) {
		o, _ := x.(map[string]any)
		c.Items = append(c.Items, image.Item{Kind: image.KindObject, Name: getString(o, "name"), Body: objectBody(o)})
	}
	for _, x := range anySlice(m["tags"]) {
		t, _ := x.(map[string]any)
		c.Items = append(c.Items, image.Item{Kind: image.KindTag, Name: getString(t, "name")})
	}
	c, err = a.Service.Store.CreateNamespace(ctx, c)
	if err != nil {
		a.fail(w, r, createErr("namespace", err))
		return
	}
	w.Header().Set("Location", nsHref(c.Namespace.Namespace))
	httpapi.WriteJSON(w, http.StatusCreated, renderContent(c.Namespace, c.Associations, c.Items, ""))
}

// createErr words a refused create's 400 as Glance: "Couldn't create
// metadata <what>: <reason>".
func createErr(what string, err error) error {
	if fault.KindOf(err) == fault.BadRequest {
		return &fault.Error{Kind: fault.BadRequest, Message: fmt.Sprintf("Couldn't create metadata %s: %s", what, fault.Message(err)), Err: err}
	}
	return err
}

func anySlice(v any) []any { s, _ := v.([]any); return s }

// renderContent is a namespace with what it holds, property names
// prefixed as the resource type asks (Glance's show ?resource_type=).
func renderContent(ns image.Namespace, assocs []image.Association, items []image.Item, resourceType string) map[string]any {
	out := renderNamespace(ns)
	prefix := ""
	if len(assocs) > 0 {
		var l []any
		for _, as := range assocs {
			l = append(l, renderAssociation(as))
			if as.Name == resourceType {
				prefix = as.Prefix
			}
		}
		out["resource_type_associations"] = l
	}
	props, objects, tags := map[string]any{}, []any{}, []any{}
	for _, it := range items {
		switch it.Kind {
		case image.KindProperty:
			props[prefix+it.Name] = renderProperty(it, false)
		case image.KindObject:
			objects = append(objects, renderObject(ns.Namespace, it, prefix))
		case image.KindTag:
			tags = append(tags, map[string]any{"name": it.Name})
		}
	}
	if len(props) > 0 {
		out["properties"] = props
	}
	if len(objects) > 0 {
		out["objects"] = objects
	}
	if len(tags) > 0 {
		out["tags"] = tags
	}
	return out
}

func (a *API) showNamespace(w http.ResponseWriter, r *http.Request) {
	ns, ok := a.loadNS(w, r, "list_metadef_resource_types", "get_metadef_objects", "get_metadef_properties", "get_metadef_tags")
	if !ok {
		return
	}
	ctx := r.Context()
	v := a.mdViewer(ctx)
	assocs, err := a.Service.Store.Associations(ctx, v, ns.Namespace)
	var items []image.Item
	if err == nil {
		items, err = a.Service.Store.Items(ctx, v, ns.Namespace, "")
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, renderContent(ns, assocs, items, r.URL.Query().Get("resource_type")))
}

func (a *API) updateNamespace(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	m, err := readValidated(w, r, "namespace", "self", "schema", "created_at", "updated_at")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	old, ok := a.loadNS(w, r, "modify_metadef_namespace")
	if !ok {
		return
	}
	ns := namespaceFrom(ctx, m)
	if err := a.publicGuard(ctx, ns); err != nil && (ns.Visibility != old.Visibility || ns.Owner != old.Owner) {
		a.fail(w, r, err)
		return
	}
	ns, err = a.Service.Store.UpdateNamespace(ctx, a.mdViewer(ctx), old.Namespace, ns)
	if err != nil {
		if fault.KindOf(err) == fault.BadRequest {
			err = &fault.Error{Kind: fault.BadRequest, Message: "Couldn't update metadata namespace: " + fault.Message(err), Err: err}
		}
		a.fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, renderNamespace(ns))
}

func (a *API) deleteNamespace(w http.ResponseWriter, r *http.Request) {
	ns, ok := a.loadNS(w, r, "delete_metadef_namespace")
	if !ok {
		return
	}
	ctx := r.Context()
	if err := a.Service.Store.DeleteNamespace(ctx, a.mdViewer(ctx), ns.Namespace); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// nsSortKeys are the attributes namespaces sort by.
var nsSortKeys = []string{"namespace", "display_name", "description", "visibility", "protected", "owner", "created_at", "updated_at"}

func nsSortValue(ns image.Namespace, key string) string {
	switch key {
	case "namespace":
		return ns.Namespace
	case "display_name":
		return ns.DisplayName
	case "description":
		return ns.Description
	case "visibility":
		return ns.Visibility
	case "protected":
		return fmt.Sprint(ns.Protected)
	case "owner":
		return ns.Owner
	case "updated_at":
		return ns.UpdatedAt.Format("2006-01-02T15:04:05.000000")
	}
	return ns.CreatedAt.Format("2006-01-02T15:04:05.000000")
}

func (a *API) listNamespaces(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q := r.URL.Query()
	page, err := httpapi.ParsePage(r, 25, a.maxPage())
	key, dir := "created_at", "desc"
	if err == nil {
		if q.Has("sort_key") {
			key = q.Get("sort_key")
		}
		if q.Has("sort_dir") {
			dir = q.Get("sort_dir")
		}
		switch {
		case dir != "asc" && dir != "desc":
			err = fault.Invalid("sort_dir", "Invalid sort direction: %s", dir)
		case !slices.Contains(nsSortKeys, key):
			err = fault.Invalid("sort_key", "Invalid sort key: %s", key)
		case q.Get("visibility") != "" && q.Get("visibility") != image.Public && q.Get("visibility") != image.Private:
			err = fault.Invalid("visibility", "Invalid visibility value: %s", q.Get("visibility"))
		}
	}
	if err == nil {
		err = a.mdEnforce(ctx, "get_metadef_namespaces", nil)
	}
	if err == nil {
		err = a.mdEnforce(ctx, "list_metadef_resource_types", nil)
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	f := image.NamespaceFilter{Visibility: q.Get("visibility")}
	if rt := q.Get("resource_types"); rt != "" {
		f.ResourceTypes = strings.Split(rt, ",")
	}
	v := a.mdViewer(ctx)
	all, err := a.Service.Store.Namespaces(ctx, v, f)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	all = slices.DeleteFunc(all, func(ns image.Namespace) bool {
		return a.enforce(ctx, "get_metadef_namespace", nsTarget(ctx, &ns)) != nil
	})
	slices.SortStableFunc(all, func(x, y image.Namespace) int {
		c := strings.Compare(nsSortValue(x, key), nsSortValue(y, key))
		if c == 0 {
			c = strings.Compare(nsSortValue(x, "created_at"), nsSortValue(y, "created_at"))
		}
		if c == 0 {
			c = strings.Compare(x.Namespace, y.Namespace)
		}
		if dir == "desc" {
			return -c
		}
		return c
	})
	if page.Marker != "" {
		i := slices.IndexFunc(all, func(ns image.Namespace) bool { return ns.Namespace == page.Marker })
		if i < 0 {
			a.fail(w, r, &fault.Error{Kind: fault.NotFound, Message: fmt.Sprintf("Metadata definition namespace=%s was not found.", page.Marker)})
			return
		}
		all = all[i+1:]
	}
	more := len(all) > page.Limit
	if more {
		all = all[:page.Limit]
	}
	out := []any{}
	for _, ns := range all {
		m := renderNamespace(ns)
		if assocs, err := a.Service.Store.Associations(ctx, v, ns.Namespace); err == nil && len(assocs) > 0 {
			var l []any
			for _, as := range assocs {
				l = append(l, renderAssociation(as))
			}
			m["resource_type_associations"] = l
		}
		out = append(out, m)
	}
	first, fq := "/v2/metadefs/namespaces", r.URL.Query()
	if fq.Del("marker"); len(fq) > 0 {
		first += "?" + fq.Encode()
	}
	body := map[string]any{"namespaces": out, "first": first, "schema": "/v2/schemas/metadefs/namespaces"}
	if more && len(all) > 0 {
		q.Set("marker", all[len(all)-1].Namespace)
		body["next"] = "/v2/metadefs/namespaces?" + q.Encode()
	}
	httpapi.WriteJSON(w, http.StatusOK, body)
}

// ---- resource types ----

func (a *API) listResourceTypes(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if err := a.mdEnforce(ctx, "list_metadef_resource_types", nil); err != nil {
		a.fail(w, r, err)
		return
	}
	rts, err := a.Service.Store.ResourceTypes(ctx)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := []any{}
	for _, rt := range rts {
		out = append(out, map[string]any{"name": rt.Name, "created_at": isoTime(rt.CreatedAt), "updated_at": isoTime(rt.UpdatedAt)})
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"resource_types": out})
}

func (a *API) listAssociations(w http.ResponseWriter, r *http.Request) {
	ns, ok := a.loadNS(w, r, "list_metadef_resource_types")
	if !ok {
		return
	}
	ctx := r.Context()
	assocs, err := a.Service.Store.Associations(ctx, a.mdViewer(ctx), ns.Namespace)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := []any{}
	for _, as := range assocs {
		out = append(out, renderAssociation(as))
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"resource_type_associations": out})
}

func (a *API) associate(w http.ResponseWriter, r *http.Request) {
	m, err := readValidated(w, r, "resource_type", "created_at", "updated_at")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	ns, ok := a.loadNS(w, r, "add_metadef_resource_type_association")
	if !ok {
		return
	}
	ctx := r.Context()
	as, err := a.Service.Store.Associate(ctx, a.mdViewer(ctx), ns.Namespace, image.Association{Name: getString(m, "name"),
		Prefix: getString(m, "prefix"), PropertiesTarget: getString(m, "properties_target")})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusCreated, renderAssociation(as))
}

func (a *API) dissociate(w http.ResponseWriter, r *http.Request) {
	ns, ok := a.loadNS(w, r, "remove_metadef_resource_type_association")
	if !ok {
		return
	}
	ctx := r.Context()
	if err := a.Service.Store.Dissociate(ctx, a.mdViewer(ctx), ns.Namespace, r.PathValue("rt")); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
