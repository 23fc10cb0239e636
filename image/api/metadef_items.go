package api

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"

	"github.com/gostack/gostack/image"
	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/httpapi"
)

func (a *API) itemRoutes(rt *httpapi.Router) {
	rt.HandleFunc("GET "+mdBase+"/objects", a.authed(a.listItems(image.KindObject)))
	rt.HandleFunc("POST "+mdBase+"/objects", a.authed(a.createItem(image.KindObject)))
	rt.HandleFunc("DELETE "+mdBase+"/objects", a.authed(a.deleteItems(image.KindObject)))
	rt.HandleFunc("GET "+mdBase+"/objects/{item}", a.authed(a.showItem(image.KindObject)))
	rt.HandleFunc("PUT "+mdBase+"/objects/{item}", a.authed(a.updateItem(image.KindObject)))
	rt.HandleFunc("DELETE "+mdBase+"/objects/{item}", a.authed(a.deleteItem(image.KindObject)))
	rt.HandleFunc("GET "+mdBase+"/properties", a.authed(a.listItems(image.KindProperty)))
	rt.HandleFunc("POST "+mdBase+"/properties", a.authed(a.createItem(image.KindProperty)))
	rt.HandleFunc("DELETE "+mdBase+"/properties", a.authed(a.deleteItems(image.KindProperty)))
	rt.HandleFunc("GET "+mdBase+"/properties/{item}", a.authed(a.showItem(image.KindProperty)))
	rt.HandleFunc("PUT "+mdBase+"/properties/{item}", a.authed(a.updateItem(image.KindProperty)))
	rt.HandleFunc("DELETE "+mdBase+"/properties/{item}", a.authed(a.deleteItem(image.KindProperty)))
	rt.HandleFunc("GET "+mdBase+"/tags", a.authed(a.listItems(image.KindTag)))
	rt.HandleFunc("POST "+mdBase+"/tags", a.authed(a.createTags))
	rt.HandleFunc("DELETE "+mdBase+"/tags", a.authed(a.deleteItems(image.KindTag)))
	rt.HandleFunc("GET "+mdBase+"/tags/{item}", a.authed(a.showItem(image.KindTag)))
	rt.HandleFunc("POST "+mdBase+"/tags/{item}", a.authed(a.createItem(image.KindTag)))
	rt.HandleFunc("PUT "+mdBase+"/tags/{item}", a.authed(a.updateItem(image.KindTag)))
	rt.HandleFunc("DELETE "+mdBase+"/tags/{item}", a.authed(a.deleteItem(image.KindTag)))
}

// Per kind: Glance's rule names, schema, read-only attributes and the
// plural of the list key.
var itemKinds = map[string]struct {
	get, list, add, modify, del, schema, plural string
	readOnly                                    []string
}{
	image.KindObject: {"get_metadef_object", "get_metadef_objects", "add_metadef_object", "modify_metadef_object", "delete_metadef_object",
		"object", "objects", []string{"self", "schema", "created_at", "updated_at"}},
	image.KindProperty: {"get_metadef_property", "get_metadef_properties", "add_metadef_property", "modify_metadef_property",
		"remove_metadef_property", "property", "properties", []string{"created_at", "updated_at"}},
	image.KindTag: {"get_metadef_tag", "get_metadef_tags", "add_metadef_tag", "modify_metadef_tag", "delete_metadef_tag",
		"tag", "tags", []string{"created_at", "updated_at"}},
}

// propertyFields are Glance's PropertyType attributes: what a property
// keeps and shows (others are dropped, as WSME drops them).
var propertyFields = []string{"type", "title", "description", "operators", "default", "readonly", "minimum", "maximum", "enum",
	"pattern", "minLength", "maxLength", "confidential", "items", "uniqueItems", "minItems", "maxItems", "additionalItems"}

// propertyTypes are the WSME types of Glance's PropertyType attributes:
// a value of another type is refused (400) when the body is read, as
// WSME refuses it.
var propertyTypes = map[string]string{"type": "text", "title": "text", "description": "text", "pattern": "text",
	"operators": "texts", "enum": "texts", "readonly": "bool", "confidential": "bool", "uniqueItems": "bool",
	"additionalItems": "bool", "minimum": "int", "maximum": "int", "minLength": "int", "maxLength": "int",
	"minItems": "int", "maxItems": "int", "items": "items"}

// checkPropertyType refuses a property definition WSME cannot read.
func checkPropertyType(name string, v any) error {
	m, _ := v.(map[string]any)
	for _, k := range sortedKeys(m) {
		x := m[k]
		if x == nil || wsmeTypeOK(propertyTypes[k], x) {
			continue
		}
		return fault.Invalid(k, "Invalid input for field/attribute %s. Value: '%s'. Wrong type (property %s).", k, pyRepr(x), name)
	}
	return nil
}

func wsmeTypeOK(t string, x any) bool {
	switch t {
	case "text":
		_, ok := x.(string)
		return ok
	case "bool":
		_, ok := x.(bool)
		return ok
	case "int":
		f, ok := x.(float64)
		return ok && f == float64(int64(f))
	case "texts":
		l, ok := x.([]any)
		return ok && !slices.ContainsFunc(l, func(e any) bool { _, s := e.(string); return !s })
	case "items":
		m, ok := x.(map[string]any)
		return ok && wsmeTypeOK("text", orEmpty(m["type"])) && (m["enum"] == nil || wsmeTypeOK("texts", m["enum"]))
	}
	return true
}

func orEmpty(v any) any {
	if v == nil {
		return ""
	}
	return v
}

// checkBodyTypes refuses what WSME cannot read in a validated object,
// property, namespace or tags body: property definitions of the wrong
// types, and list entries that are not objects.
func checkBodyTypes(kind string, m map[string]any) error {
	switch kind {
	case image.KindProperty:
		return checkPropertyType(getString(m, "name"), m)
	case image.KindObject, "namespace":
		props, _ := m["properties"].(map[string]any)
		for _, k := range sortedKeys(props) {
			if err := checkPropertyType(k, props[k]); err != nil {
				return err
			}
		}
		for _, o := range anySlice(m["objects"]) {
			if err := checkBodyTypes(image.KindObject, o.(map[string]any)); err != nil {
				return err
			}
		}
	case "tags":
		for _, t := range anySlice(m["tags"]) {
			if _, ok := t.(map[string]any); !ok {
				return fault.Invalid("tags", "Invalid input for field/attribute tags. Value: '%s'. Wrong type.", pyRepr(t))
			}
		}
	}
	return nil
}

// propertyBody is a property definition as stored: its PropertyType
// attributes.
func propertyBody(v any) json.RawMessage {
	m, _ := v.(map[string]any)
	out := map[string]any{}
	for _, k := range propertyFields {
		if x, ok := m[k]; ok && x != nil {
			out[k] = x
		}
	}
	b, _ := json.Marshal(out)
	return b
}

// objectBody is an object's description, required and properties.
func objectBody(m map[string]any) json.RawMessage {
	out := map[string]any{}
	if d := getString(m, "description"); d != "" {
		out["description"] = d
	}
	if req := anySlice(m["required"]); len(req) > 0 {
		out["required"] = req
	}
	if props, ok := m["properties"].(map[string]any); ok && len(props) > 0 {
		p := map[string]json.RawMessage{}
		for k, v := range props {
			p[k] = propertyBody(v)
		}
		out["properties"] = p
	}
	b, _ := json.Marshal(out)
	return b
}

func renderProperty(it image.Item, withName bool) map[string]any {
	out := map[string]any{}
	json.Unmarshal(it.Body, &out)
	for k := range out {
		if !slices.Contains(propertyFields, k) {
			delete(out, k)
		}
	}
	if withName {
		out["name"] = it.Name
	}
	return out
}

// renderObject is an object with its properties (and required) named
// with prefix.
func renderObject(ns string, it image.Item, prefix string) map[string]any {
	var body struct {
		Description string                     `json:"description"`
		Required    []string                   `json:"required"`
		Properties  map[string]json.RawMessage `json:"properties"`
	}
	json.Unmarshal(it.Body, &body)
	out := map[string]any{"name": it.Name, "created_at": isoTime(it.CreatedAt), "updated_at": isoTime(it.UpdatedAt),
		"self": nsHref(ns) + "/objects/" + it.Name, "schema": "/v2/schemas/metadefs/object"}
	if body.Description != "" {
		out["description"] = body.Description
	}
	if len(body.Required) > 0 {
		req := make([]string, len(body.Required))
		for i, r := range body.Required {
			req[i] = prefix + r
		}
		out["required"] = req
	}
	if len(body.Properties) > 0 {
		props := map[string]any{}
		for k, v := range body.Properties {
			props[prefix+k] = renderProperty(image.Item{Body: v}, false)
		}
		out["properties"] = props
	}
	return out
}

func renderItem(ns string, it image.Item) map[string]any {
	switch it.Kind {
	case image.KindObject:
		return renderObject(ns, it, "")
	case image.KindProperty:
		return renderProperty(it, true)
	}
	return map[string]any{"name": it.Name, "created_at": isoTime(it.CreatedAt), "updated_at": isoTime(it.UpdatedAt)}
}

// itemFrom is the item a validated body describes.
func itemFrom(kind string, m map[string]any) image.Item {
	it := image.Item{Kind: kind, Name: getString(m, "name")}
	switch kind {
	case image.KindObject:
		it.Body = objectBody(m)
	case image.KindProperty:
		it.Body = propertyBody(m)
	}
	return it
}

func (a *API) listItems(kind string) http.HandlerFunc {
	k := itemKinds[kind]
	return func(w http.ResponseWriter, r *http.Request) {
		ns, ok := a.loadNS(w, r, k.list)
		if !ok {
			return
		}
		ctx := r.Context()
		items, err := a.Service.Store.Items(ctx, a.mdViewer(ctx), ns.Namespace, kind)
		if err == nil && kind == image.KindTag {
			items, err = pageTags(r, items, a.maxPage())
		}
		if err != nil {
			a.fail(w, r, err)
			return
		}
		var body map[string]any
		switch kind {
		case image.KindProperty:
			props := map[string]any{}
			for _, it := range items {
				props[it.Name] = renderProperty(it, false)
			}
			body = map[string]any{"properties": props}
		case image.KindObject:
			objs := []any{}
			for _, it := range items {
				objs = append(objs, renderObject(ns.Namespace, it, ""))
			}
			body = map[string]any{"objects": objs, "schema": "v2/schemas/metadefs/objects"}
		default:
			tags := []any{}
			for _, it := range items {
				tags = append(tags, map[string]any{"name": it.Name})
			}
			body = map[string]any{"tags": tags}
		}
		httpapi.WriteJSON(w, http.StatusOK, body)
	}
}

// pageTags orders and pages a tag list as Glance's tag index:
// sort_key (created_at or name), sort_dir, marker (a tag name), limit.
func pageTags(r *http.Request, tags []image.Item, maxPage int) ([]image.Item, error) {
	q := r.URL.Query()
	page, err := httpapi.ParsePage(r, maxPage, maxPage)
	if err != nil {
		return nil, err
	}
	key, dir := "created_at", "desc"
	if q.Has("sort_key") {
		key = q.Get("sort_key")
	}
	if q.Has("sort_dir") {
		dir = q.Get("sort_dir")
	}
	if dir != "asc" && dir != "desc" {
		return nil, fault.Invalid("sort_dir", "Invalid sort direction: %s", dir)
	}
	if key != "created_at" && key != "name" && key != "updated_at" {
		return nil, fault.Invalid("sort_key", "Invalid sort key: %s", key)
	}
	slices.SortStableFunc(tags, func(x, y image.Item) int {
		c := 0
		switch key {
		case "created_at":
			c = x.CreatedAt.Compare(y.CreatedAt)
		case "updated_at":
			c = x.UpdatedAt.Compare(y.UpdatedAt)
		}
		if c == 0 {
			c = strings.Compare(x.Name, y.Name)
		}
		if dir == "desc" {
			return -c
		}
		return c
	})
	if page.Marker != "" {
		i := slices.IndexFunc(tags, func(t image.Item) bool { return t.Name == page.Marker })
		if i < 0 {
			return nil, fault.New(fault.NotFound, "The metadata definition tag with name=%s was not found in namespace=%s.", page.Marker, r.PathValue("ns"))
		}
		tags = tags[i+1:]
	}
	if len(tags) > page.Limit {
		tags = tags[:page.Limit]
	}
	return tags, nil
}

func (a *API) showItem(kind string) http.HandlerFunc {
	k := itemKinds[kind]
	return func(w http.ResponseWriter, r *http.Request) {
		ns, ok := a.loadNS(w, r, k.get)
		if !ok {
			return
		}
		ctx := r.Context()
		it, err := a.Service.Store.Item(ctx, a.mdViewer(ctx), ns.Namespace, kind, r.PathValue("item"))
		if err != nil {
			a.fail(w, r, err)
			return
		}
		httpapi.WriteJSON(w, http.StatusOK, renderItem(ns.Namespace, it))
	}
}

// createItem is POST .../objects, POST .../properties and POST
// .../tags/{name} (a tag's name is in the path, its body ignored).
func (a *API) createItem(kind string) http.HandlerFunc {
	k := itemKinds[kind]
	return func(w http.ResponseWriter, r *http.Request) {
		var it image.Item
		var err error
		if kind == image.KindTag {
			it = image.Item{Kind: kind, Name: r.PathValue("item")}
			err = schemaCheck{root: metadefSchemas()["tag"]}.validate(map[string]any{"name": it.Name})
			if err != nil {
				err = fault.Invalid("", "Provided object does not match schema 'tag': %s", err.Error())
			}
		} else {
			var m map[string]any
			if m, err = readValidated(w, r, k.schema, k.readOnly...); err == nil {
				err = checkBodyTypes(kind, m)
				it = itemFrom(kind, m)
			}
		}
		if err != nil {
			a.fail(w, r, err)
			return
		}
		ns, ok := a.loadNS(w, r, k.add)
		if !ok {
			return
		}
		ctx := r.Context()
		items, err := a.Service.Store.CreateItems(ctx, a.mdViewer(ctx), ns.Namespace, []image.Item{it}, false)
		if err != nil {
			a.fail(w, r, createErr(kind, err))
			return
		}
		httpapi.WriteJSON(w, http.StatusCreated, renderItem(ns.Namespace, items[0]))
	}
}

// createTags is Glance's bulk tag create: the namespace's tags replaced
// by the body's, or added to them with X-Openstack-Append: true.
func (a *API) createTags(w http.ResponseWriter, r *http.Request) {
	m, err := readValidated(w, r, "tags", "created_at", "updated_at")
	if err == nil {
		err = checkBodyTypes("tags", m)
	}
	if err == nil {
		if _, ok := m["tags"]; !ok {
			err = fault.Invalid("tags", "Provided object does not match schema 'tags': 'tags' is a required property")
		}
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	ns, ok := a.loadNS(w, r, "add_metadef_tags")
	if !ok {
		return
	}
	var items []image.Item
	for _, x := range anySlice(m["tags"]) {
		items = append(items, image.Item{Kind: image.KindTag, Name: getString(x.(map[string]any), "name")})
	}
	ctx := r.Context()
	appendTags := boolFromString(r.Header.Get("X-Openstack-Append"))
	items, err = a.Service.Store.CreateItems(ctx, a.mdViewer(ctx), ns.Namespace, items, !appendTags)
	if err != nil {
		a.fail(w, r, createErr("tag", err))
		return
	}
	out := []any{}
	for _, it := range items {
		out = append(out, map[string]any{"name": it.Name})
	}
	httpapi.WriteJSON(w, http.StatusCreated, map[string]any{"tags": out})
}

// boolFromString is oslo's strutils.bool_from_string, not strict.
func boolFromString(s string) bool {
	return slices.Contains([]string{"1", "t", "true", "on", "y", "yes"}, strings.ToLower(strings.TrimSpace(s)))
}

func (a *API) updateItem(kind string) http.HandlerFunc {
	k := itemKinds[kind]
	return func(w http.ResponseWriter, r *http.Request) {
		m, err := readValidated(w, r, k.schema, k.readOnly...)
		if err == nil {
			err = checkBodyTypes(kind, m)
		}
		if err != nil {
			a.fail(w, r, err)
			return
		}
		ns, ok := a.loadNS(w, r, k.modify)
		if !ok {
			return
		}
		ctx := r.Context()
		it, err := a.Service.Store.UpdateItem(ctx, a.mdViewer(ctx), ns.Namespace, r.PathValue("item"), itemFrom(kind, m))
		if err != nil {
			if fault.KindOf(err) == fault.BadRequest {
				err = &fault.Error{Kind: fault.BadRequest, Message: "Couldn't update metadata " + kind + ": " + fault.Message(err), Err: err}
			}
			a.fail(w, r, err)
			return
		}
		httpapi.WriteJSON(w, http.StatusOK, renderItem(ns.Namespace, it))
	}
}

func (a *API) deleteItem(kind string) http.HandlerFunc {
	k := itemKinds[kind]
	return func(w http.ResponseWriter, r *http.Request) {
		ns, ok := a.loadNS(w, r, k.del)
		if !ok {
			return
		}
		ctx := r.Context()
		if err := a.Service.Store.DeleteItem(ctx, a.mdViewer(ctx), ns.Namespace, kind, r.PathValue("item")); err != nil {
			a.fail(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

// deleteItems is DELETE .../objects, .../properties, .../tags: Glance
// checks delete_metadef_namespace (and delete_metadef_tags for tags).
func (a *API) deleteItems(kind string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		rules := []string{"delete_metadef_namespace"}
		if kind == image.KindTag {
			rules = append(rules, "delete_metadef_tags")
		}
		ns, ok := a.loadNS(w, r, rules...)
		if !ok {
			return
		}
		ctx := r.Context()
		if err := a.Service.Store.DeleteItems(ctx, a.mdViewer(ctx), ns.Namespace, kind); err != nil {
			a.fail(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}
