package api

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"unicode/utf8"

	"github.com/gostack/gostack/image"
	"github.com/gostack/gostack/kit/fault"
)

// Image locations (Glance's show_multiple_locations): PATCH add of
// /locations/- or /locations/<n>, remove of /locations/<n>, replace of
// /locations, and the locations (and direct_url) of image bodies, all
// behind API.ShowMultipleLocations (and API.ShowDirectURL) as Glance
// keeps them behind its options. The rules and messages are Glance 25's
// (glance/api/v2/images.py _do_*_locations, glance/location.py); the
// domain side is image.Service's AddLocation, ReplaceLocations and
// RemoveLocation.

// locationDepth is Glance's _path_depth_limits for locations: add and
// remove name one location, replace the whole list.
var locationDepth = map[string]bool{"add": true, "remove": true, "replace": false}

// parseLocationChange checks a change of /locations as Glance's
// deserializer does: the pointer's depth for the operation, then the
// value against the image schema's locations.
func parseLocationChange(c change, rc map[string]json.RawMessage) (change, error) {
	if c.deep != locationDepth[c.op] {
		p := "/locations"
		if c.deep {
			p += "/" + c.pos
		}
		return c, fault.Invalid("path", "Invalid JSON pointer for this resource: '%s'", p)
	}
	if c.op == "remove" {
		return c, nil
	}
	v, ok := rc["value"]
	if !ok {
		return c, fault.Invalid("value", `Operation "%s" requires a member named "value".`, c.op)
	}
	c.value = v
	if c.op == "add" {
		l, err := parseLocation(v)
		if err != nil {
			return c, err
		}
		c.locs = []image.NewLocation{l}
		return c, nil
	}
	var elems []json.RawMessage
	if json.Unmarshal(v, &elems) != nil || bytes.Equal(bytes.TrimSpace(v), []byte("null")) {
		return c, schemaErr("locations", "%s is not of type 'array'", v)
	}
	c.locs = make([]image.NewLocation, 0, len(elems))
	for _, e := range elems {
		l, err := parseLocation(e)
		if err != nil {
			return c, err
		}
		c.locs = append(c.locs, l)
	}
	return c, nil
}

// parseLocation reads one location object of the image schema: url (a
// string of at most 255 characters) and metadata (an object) required,
// validation_data optional with os_hash_algo and os_hash_value required,
// checksum of 32 characters, nothing else.
func parseLocation(raw json.RawMessage) (image.NewLocation, error) {
	var l image.NewLocation
	var m map[string]json.RawMessage
	if !isObject(raw) || json.Unmarshal(raw, &m) != nil {
		return l, schemaErr("locations", "%s is not of type 'object'", raw)
	}
	if v, ok := m["url"]; ok {
		s, err := schemaString("url", v, 0, 255)
		if err != nil {
			return l, err
		}
		l.URL = s
	}
	if v, ok := m["metadata"]; ok {
		if !isObject(v) || json.Unmarshal(v, &l.Metadata) != nil {
			return l, schemaErr("locations", "%s is not of type 'object'", v)
		}
	}
	if v, ok := m["validation_data"]; ok {
		val, err := parseValidation(v)
		if err != nil {
			return l, err
		}
		l.Validation = val
	}
	for _, k := range []string{"url", "metadata"} {
		if _, ok := m[k]; !ok {
			return l, schemaErr("locations", "'%s' is a required property", k)
		}
	}
	return l, nil
}

func parseValidation(raw json.RawMessage) (*image.Validation, error) {
	var m map[string]json.RawMessage
	if !isObject(raw) || json.Unmarshal(raw, &m) != nil {
		return nil, schemaErr("locations", "%s is not of type 'object'", raw)
	}
	for _, k := range sortedKeys(m) {
		if k != "checksum" && k != "os_hash_algo" && k != "os_hash_value" {
			return nil, schemaErr("locations", "Additional properties are not allowed ('%s' was unexpected)", k)
		}
	}
	var v image.Validation
	fields := []struct {
		key      string
		dst      *string
		min, max int
	}{{"checksum", &v.Checksum, 32, 32}, {"os_hash_algo", &v.HashAlgo, 0, 64}, {"os_hash_value", &v.HashValue, 0, 128}}
	for _, f := range fields {
		raw, ok := m[f.key]
		if !ok {
			continue
		}
		s, err := schemaString(f.key, raw, f.min, f.max)
		if err != nil {
			return nil, err
		}
		*f.dst = s
	}
	for _, k := range []string{"os_hash_algo", "os_hash_value"} {
		if _, ok := m[k]; !ok {
			return nil, schemaErr("locations", "'%s' is a required property", k)
		}
	}
	return &v, nil
}

// schemaString reads a string of min to max characters.
func schemaString(key string, raw json.RawMessage, min, max int) (string, error) {
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", schemaErr(key, "%s is not of type 'string'", raw)
	}
	switch n := utf8.RuneCountInString(s); {
	case n > max:
		return "", schemaErr(key, "'%s' is too long", s)
	case n < min:
		return "", schemaErr(key, "'%s' is too short", s)
	}
	return s, nil
}

func isObject(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) > 0 && t[0] == '{'
}

// applyLocations is Glance's _do_add, _do_replace and _do_remove on
// /locations: the empty-list check, the policy (set_image_location, or
// delete_image_location to remove), the switch, then the change.
func (a *API) applyLocations(r *http.Request, img *image.Image, orig image.Image, c change) error {
	ctx := r.Context()
	if c.op == "replace" && len(c.locs) == 0 {
		return fault.New(fault.Forbidden, "Cannot set locations to empty list.")
	}
	rule, verb := "set_image_location", map[string]string{"add": "add", "replace": "update", "remove": "remove"}[c.op]
	if c.op == "remove" {
		rule = "delete_image_location"
	}
	if err := a.enforce(ctx, rule, a.target(ctx, orig)); err != nil {
		return err
	}
	if !a.ShowMultipleLocations {
		return fault.New(fault.Forbidden, "It's not allowed to %s locations if locations are invisible.", verb)
	}
	switch c.op {
	case "add":
		return a.Service.AddLocation(ctx, img, c.pos, c.locs[0])
	case "replace":
		return a.Service.ReplaceLocations(ctx, img, c.locs)
	}
	return a.Service.RemoveLocation(img, c.pos)
}

// view is an image as Glance shows it (render), with its locations when
// ShowMultipleLocations is on and its first location's URL as
// direct_url when ShowDirectURL is on — both only to callers
// get_image_location allows (others see "locations": [] and no
// direct_url, as Glance showed them when that policy refused).
func (a *API) view(ctx context.Context, img image.Image) map[string]any {
	m := render(img)
	if !a.ShowMultipleLocations && !a.ShowDirectURL {
		return m
	}
	locs := img.DataLocations()
	if len(locs) > 0 && a.enforce(ctx, "get_image_location", a.target(ctx, img)) != nil {
		locs = nil
	}
	if a.ShowMultipleLocations {
		out := make([]map[string]any, len(locs))
		for i, l := range locs {
			md := l.Metadata
			if md == nil {
				md = map[string]any{}
			}
			out[i] = map[string]any{"url": a.Service.LocationURL(img.ID, l), "metadata": md}
		}
		m["locations"] = out
	}
	if a.ShowDirectURL && len(locs) > 0 {
		m["direct_url"] = a.Service.LocationURL(img.ID, locs[0])
	}
	return m
}
