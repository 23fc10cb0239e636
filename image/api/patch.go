package api

import (
	"encoding/json"
	"fmt"
	"maps"
	"mime"
	"net/http"
	"slices"
	"strings"

	"github.com/gostack/gostack/image"
	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/httpapi"
)

// The two JSON-patch media types of Glance: draft 10 ({"op","path",
// "value"}) and draft 4 ({"replace": path, "value"}).
const (
	patchV21 = "application/openstack-images-v2.1-json-patch"
	patchV20 = "application/openstack-images-v2.0-json-patch"
)

type change struct {
	op    string
	key   string // the decoded pointer's first token
	value json.RawMessage
	// A change of locations: /locations/<pos> (deep) or /locations, and
	// the locations of its value.
	pos  string
	deep bool
	locs []image.NewLocation
}

func (a *API) update(w http.ResponseWriter, r *http.Request) {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct != patchV20 && ct != patchV21 {
		w.Header().Set("Accept-Patch", patchV20+", "+patchV21)
		a.fail(w, r, &fault.Error{Kind: fault.UnsupportedMedia, Message: "Unsupported Content-Type: use " + patchV21})
		return
	}
	raw, err := readArray(w, r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	changes := make([]change, 0, len(raw))
	for _, rc := range raw {
		c, err := a.parseChange(rc, ct == patchV21)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		changes = append(changes, c)
	}
	img, ok := a.load(w, r, "get_image")
	if !ok {
		return
	}
	from := img.Status
	img.Properties, img.Tags = maps.Clone(img.Properties), slices.Clone(img.Tags)
	orig := img
	for _, c := range changes {
		if err := a.apply(r, &img, orig, c, ct == patchV20); err != nil {
			a.fail(w, r, err)
			return
		}
	}
	if len(changes) > 0 {
		if img, err = a.Service.Store.Update(r.Context(), img, from); err != nil {
			a.fail(w, r, err)
			return
		}
		a.Service.LocationsSaved(r.Context(), orig, img)
	}
	httpapi.WriteJSON(w, http.StatusOK, a.view(r.Context(), img))
}

// parseChange reads one operation object of either draft, and checks
// the pointer (one token, "~0"/"~1" escapes), that the attribute may be
// written at all, and the value against the image schema — all before
// the image is looked up, as Glance's deserializer does.
func (a *API) parseChange(rc map[string]json.RawMessage, d10 bool) (change, error) {
	var c change
	var path string
	if d10 {
		op, ok := rc["op"]
		if !ok {
			return c, fault.New(fault.BadRequest, "Unable to find `op` in JSON Schema change. It must be one of the following: add, remove, replace.")
		}
		if json.Unmarshal(op, &c.op) != nil || !slices.Contains([]string{"add", "remove", "replace"}, c.op) {
			return c, fault.New(fault.BadRequest, "Invalid operation: `%s`. It must be one of the following: add, remove, replace.", clip(strings.Trim(string(op), `"`)))
		}
		if json.Unmarshal(rc["path"], &path) != nil {
			return c, fault.Invalid("path", "Unable to find 'path' in JSON Schema change")
		}
	} else {
		for _, op := range []string{"add", "remove", "replace"} {
			if v, ok := rc[op]; ok {
				if c.op != "" {
					return c, fault.Invalid("op", `Operation objects must contain only one member named "add", "remove", or "replace".`)
				}
				c.op = op
				if json.Unmarshal(v, &path) != nil {
					return c, fault.Invalid("path", "The path must be a string")
				}
			}
		}
		if c.op == "" {
			return c, fault.Invalid("op", `Operation objects must contain exactly one member named "add", "remove", or "replace".`)
		}
	}
	key, pos, deep, err := decodePointer(path)
	if err != nil {
		return c, err
	}
	c.key, c.pos, c.deep = key, pos, deep
	if key == "locations" {
		return parseLocationChange(c, rc)
	}
	if err := checkKey(key); err != nil {
		return c, err
	}
	if c.op != "remove" {
		v, ok := rc["value"]
		if !ok {
			return c, fault.Invalid("value", `Operation "%s" requires a member named "value".`, c.op)
		}
		c.value = v
		if err := a.set(&image.Image{Properties: map[string]string{}}, c.key, v); err != nil {
			return c, err
		}
	}
	return c, nil
}

// decodePointer accepts the JSON pointers Glance accepts: one token, or
// two for /locations/<pos> (whose depth parseLocationChange checks).
func decodePointer(p string) (key, pos string, deep bool, err error) {
	if !strings.HasPrefix(p, "/") {
		return "", "", false, fault.Invalid("path", "Pointer `%s` does not start with \"/\".", p)
	}
	tok := p[1:]
	for i := 0; i < len(tok); i++ {
		if tok[i] == '~' && (i+1 == len(tok) || (tok[i+1] != '0' && tok[i+1] != '1')) {
			return "", "", false, fault.Invalid("path", "Pointer `%s` contains \"~\" not part of a recognized escape sequence.", p)
		}
	}
	unescape := func(s string) string { return strings.ReplaceAll(strings.ReplaceAll(s, "~1", "/"), "~0", "~") }
	first, rest, deep := strings.Cut(tok, "/")
	invalid := fault.Invalid("path", "Invalid JSON pointer for this resource: '%s'", p)
	if strings.TrimSpace(first) == "" {
		return "", "", false, invalid
	}
	key = unescape(first)
	if deep && (key != "locations" || strings.Contains(rest, "/") || strings.TrimSpace(rest) == "") {
		return "", "", false, invalid
	}
	return key, strings.TrimSpace(unescape(rest)), deep, nil
}

// apply is Glance's _do_add/_do_replace/_do_remove on one attribute,
// with the policy each needs.
func (a *API) apply(r *http.Request, img *image.Image, orig image.Image, c change, d4 bool) error {
	if c.key == "locations" {
		return a.applyLocations(r, img, orig, c)
	}
	t := a.target(r.Context(), orig)
	if c.key == "visibility" && c.op != "remove" {
		var vis string
		json.Unmarshal(c.value, &vis)
		if err := a.enforceVisibility(r, vis, t); err != nil {
			return err
		}
	}
	if err := a.enforce(r.Context(), "modify_image", t); err != nil {
		return err
	}
	_, isProp := img.Properties[c.key]
	switch {
	case c.op == "remove" && base[c.key]:
		return &fault.Error{Kind: fault.Forbidden, Message: fmt.Sprintf("Property %s may not be removed.", c.key)}
	case c.op == "remove" && !isProp:
		return &fault.Error{Kind: fault.Conflict, Message: fmt.Sprintf("Property %s does not exist.", c.key)}
	case c.op == "remove":
		delete(img.Properties, c.key)
		return nil
	case c.op == "replace" && !base[c.key] && !isProp:
		return &fault.Error{Kind: fault.Conflict, Message: fmt.Sprintf("Property %s does not exist.", c.key)}
	case c.op == "add" && d4 && (base[c.key] || isProp):
		return &fault.Error{Kind: fault.Conflict, Message: fmt.Sprintf("Property %s already present.", c.key)}
	case c.key == "owner" && a.enforce(r.Context(), "context_is_admin", nil) != nil:
		return &fault.Error{Kind: fault.Forbidden, Message: "Owner can't be updated by non admin."}
	case (c.key == "disk_format" || c.key == "container_format") && orig.Status != image.Queued && orig.Status != image.Importing:
		return &fault.Error{Kind: fault.Forbidden, Message: fmt.Sprintf("Attribute %s can be only replaced for a queued image.", c.key)}
	}
	return a.set(img, c.key, c.value)
}
