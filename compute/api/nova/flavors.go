package nova

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"math/big"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/gostack/gostack/compute"
	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/httpapi"
	"github.com/gostack/gostack/kit/pyjson"
	"github.com/gostack/gostack/kit/pyrepr"
)

// Nova's flavor routes: nova/api/openstack/compute/flavors.py,
// flavor_manage.py, flavors_extraspecs.py, flavor_access.py and the
// view in views/flavors.py.
func (a *API) flavorRoutes(rt *httpapi.Router) {
	rt.HandleFunc("GET /flavors", a.op(a.listFlavors(false)))
	rt.HandleFunc("GET /flavors/detail", a.op(a.listFlavors(true)))
	rt.HandleFunc("POST /flavors", a.op(a.createFlavor))
	rt.HandleFunc("GET /flavors/{id}", a.op(a.showFlavor))
	rt.HandleFunc("PUT /flavors/{id}", a.since(55, a.updateFlavor))
	rt.HandleFunc("DELETE /flavors/{id}", a.op(a.deleteFlavor))
	rt.HandleFunc("POST /flavors/{id}/action", a.op(a.flavorAction))
	rt.HandleFunc("GET /flavors/{id}/os-flavor-access", a.op(a.flavorAccess))
	rt.HandleFunc("GET /flavors/{id}/os-extra_specs", a.op(a.listExtraSpecs))
	rt.HandleFunc("POST /flavors/{id}/os-extra_specs", a.op(a.createExtraSpecs))
	rt.HandleFunc("GET /flavors/{id}/os-extra_specs/{key}", a.op(a.showExtraSpec))
	rt.HandleFunc("PUT /flavors/{id}/os-extra_specs/{key}", a.op(a.updateExtraSpec))
	rt.HandleFunc("DELETE /flavors/{id}/os-extra_specs/{key}", a.op(a.deleteExtraSpec))
}

// Nova's policy rules of the flavor routes.
const (
	ruleFlavorCreate     = "os_compute_api:os-flavor-manage:create"
	ruleFlavorUpdate     = "os_compute_api:os-flavor-manage:update"
	ruleFlavorDelete     = "os_compute_api:os-flavor-manage:delete"
	ruleSpecsIndex       = "os_compute_api:os-flavor-extra-specs:index"
	ruleSpecsShow        = "os_compute_api:os-flavor-extra-specs:show"
	ruleSpecsCreate      = "os_compute_api:os-flavor-extra-specs:create"
	ruleSpecsUpdate      = "os_compute_api:os-flavor-extra-specs:update"
	ruleSpecsDelete      = "os_compute_api:os-flavor-extra-specs:delete"
	ruleFlavorAccess     = "os_compute_api:os-flavor-access"
	ruleFlavorAccessAdd  = "os_compute_api:os-flavor-access:add_tenant_access"
	ruleFlavorAccessDrop = "os_compute_api:os-flavor-access:remove_tenant_access"
)

const (
	// novaBodyLimit is oslo.middleware's max_request_body_size.
	novaBodyLimit = 114688
)

// flavorAdminTarget is the empty target Nova's flavor admin calls check.
var flavorAdminTarget = map[string]any{}

// specsTarget is the target Nova checks the extra spec reads with.
func specsTarget(q *request) map[string]any {
	return map[string]any{"project_id": q.caller.ProjectID}
}

// listFlavors is GET /flavors and /flavors/detail (flavors.py index,
// detail and _get_flavors).
func (a *API) listFlavors(detail bool) handler {
	return func(w http.ResponseWriter, r *http.Request, q *request) error {
		query := r.URL.Query()
		if err := flavorQuerySchema(q.at(75)).check(queryValue(query), false); err != nil {
			return err
		}
		last := func(k string) (string, bool) {
			vs, ok := query[k]
			if !ok {
				return "", false
			}
			return vs[len(vs)-1], true
		}
		yes, no := true, false
		f := compute.FlavorFilter{Limit: maxLimit}
		f.SortKey, _ = last("sort_key")
		f.SortDir, _ = last("sort_dir")
		if s, ok := last("limit"); ok {
			n, _ := pyjson.Int(s) // the schema checked it is digits
			if n.IsInt64() && n.Int64() < maxLimit {
				f.Limit = int(n.Int64())
			}
		}
		if q.admin {
			s, ok := last("is_public")
			switch b, valid := pyjson.Bool(s); {
			case !ok:
				f.IsPublic = &yes // Nova's default
			case strings.EqualFold(s, "none"):
			case !valid:
				return badRequest("Invalid is_public filter [%s]", s)
			default:
				f.IsPublic = &b
			}
		} else {
			f.IsPublic, f.Disabled = &yes, &no
		}
		for _, m := range []struct {
			param string
			to    *int64
		}{{"minRam", &f.MinRAM}, {"minDisk", &f.MinDisk}} {
			if s, ok := last(m.param); ok {
				n, valid := pyjson.Int(s)
				if !valid || !n.IsInt64() {
					return badRequest("Invalid %s filter [%s]", m.param, s)
				}
				*m.to = n.Int64()
			}
		}
		if marker, ok := last("marker"); ok && marker == "" {
			return badRequest("marker [] not found")
		} else {
			f.Marker = marker
		}
		limit := f.Limit
		if limit == 0 {
			f.Limit = 1 // Nova's LIMIT 0 lists nothing, once the marker is found
		}
		flavors, err := a.Store.Flavors(r.Context(), q.viewer(), f)
		if err != nil {
			return err
		}
		flavors = flavors[:min(limit, len(flavors))]
		specs := detail && q.at(61) && a.authorize(r.Context(), q, ruleSpecsIndex, nil) == nil
		list := make([]map[string]any, len(flavors))
		for i, fl := range flavors {
			list[i] = flavorView(r, q, fl, detail, q.at(55), specs)
		}
		out := map[string]any{"flavors": list}
		if limit > 0 && len(flavors) == limit {
			out["flavors_links"] = []httpapi.Link{{Rel: "next", Href: flavorsNext(r, query, detail, flavors[limit-1].FlavorID)}}
		}
		httpapi.WriteJSON(w, http.StatusOK, out)
		return nil
	}
}

// flavorsNext is Nova's next link: the known query parameters sorted
// (the greatest value of each), with the marker replaced or appended.
func flavorsNext(r *http.Request, query url.Values, detail bool, marker string) string {
	var parts []string
	hasMarker := false
	for _, k := range slices.Sorted(maps.Keys(query)) {
		if !slices.Contains(flavorQueryParams, k) {
			continue // Nova strips the parameters its schema does not name
		}
		v := slices.Max(query[k])
		if k == "marker" {
			v, hasMarker = marker, true
		}
		parts = append(parts, url.QueryEscape(k)+"="+url.QueryEscape(v))
	}
	if !hasMarker {
		parts = append(parts, "marker="+url.QueryEscape(marker))
	}
	path := "/v2.1/flavors"
	if detail {
		path += "/detail"
	}
	return baseURL(r) + path + "?" + strings.Join(parts, "&")
}

// flavorView is Nova's flavor view: basic (index) or show (detail), with
// the description from 2.55 and the extra specs from 2.61 when the
// caller may list them.
func flavorView(r *http.Request, q *request, f compute.Flavor, detail, description, specs bool) map[string]any {
	v := map[string]any{"id": f.FlavorID, "name": f.Name, "links": resourceLinks(r, "flavors", f.FlavorID)}
	if description {
		v["description"] = f.Description
	}
	if !detail {
		return v
	}
	v["ram"], v["disk"], v["vcpus"] = f.MemoryMB, f.RootGB, f.VCPUs
	v["OS-FLV-EXT-DATA:ephemeral"], v["OS-FLV-DISABLED:disabled"] = f.EphemeralGB, f.Disabled
	v["os-flavor-access:is_public"] = f.IsPublic
	v["swap"] = any(f.Swap)
	if f.Swap == 0 && !q.at(75) {
		v["swap"] = ""
	}
	v["rxtx_factor"] = any(pyFloatJSON(f.RxtxFactor))
	if f.RxtxFactor == 0 {
		v["rxtx_factor"] = ""
	}
	if specs {
		v["extra_specs"] = f.ExtraSpecs
	}
	return v
}

// pyFloatJSON is a float as Python's json writes it (1.0, not 1).
type pyFloatJSON float64

func (f pyFloatJSON) MarshalJSON() ([]byte, error) { return []byte(pyrepr.Float(float64(f))), nil }

func (a *API) writeFlavor(w http.ResponseWriter, r *http.Request, q *request, f compute.Flavor, description bool) {
	specs := q.at(61) && a.authorize(r.Context(), q, ruleSpecsIndex, nil) == nil
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"flavor": flavorView(r, q, f, true, description, specs)})
}

// showFlavor is GET /flavors/{id}: any flavor the caller may see.
func (a *API) showFlavor(w http.ResponseWriter, r *http.Request, q *request) error {
	f, err := a.Store.Flavor(r.Context(), q.viewer(), r.PathValue("id"))
	if err != nil {
		return err
	}
	a.writeFlavor(w, r, q, f, q.at(55))
	return nil
}

// createFlavor is POST /flavors (flavor_manage.py _create): Nova's
// schema, then its policy, then nova/compute/flavors.py create.
func (a *API) createFlavor(w http.ResponseWriter, r *http.Request, q *request) error {
	body, err := readOrderedBody(w, r)
	if err != nil {
		return err
	}
	if err := flavorCreateSchema(q.at(55)).check(body, true); err != nil {
		return err
	}
	if err := a.authorize(r.Context(), q, ruleFlavorCreate, flavorAdminTarget); err != nil {
		return err
	}
	v := body.Get("flavor")
	f := compute.Flavor{Name: v.Get("name").Text, IsPublic: true, RxtxFactor: 1}
	if id := v.Get("id"); id != nil && id.Truthy() {
		f.FlavorID = id.Str()
	}
	for _, n := range []struct {
		key string
		to  *int64
	}{{"ram", &f.MemoryMB}, {"vcpus", &f.VCPUs}, {"disk", &f.RootGB}, {"OS-FLV-EXT-DATA:ephemeral", &f.EphemeralGB}, {"swap", &f.Swap}} {
		if x := v.Get(n.key); x != nil {
			i, _ := pyjson.Int(x.Str()) // the schema checked it is digits within Nova's range
			*n.to = i.Int64()
		}
	}
	if x := v.Get("rxtx_factor"); x != nil {
		f.RxtxFactor, _ = strconv.ParseFloat(strings.TrimSpace(x.Str()), 64)
	}
	if x := v.Get("os-flavor-access:is_public"); x != nil {
		f.IsPublic = x.Kind == 't' || x.Kind == '"' && pyTrue(pyjson.Bool(x.Text))
	}
	if x := v.Get("description"); x != nil && q.at(55) && x.Kind == '"' {
		f.Description = &x.Text
	}
	created, err := a.Store.CreateFlavor(r.Context(), f)
	if err != nil {
		return err
	}
	a.writeFlavor(w, r, q, created, q.at(55))
	return nil
}

func pyTrue(b, ok bool) bool { return b && ok }

// updateFlavor is PUT /flavors/{id} from 2.55: the description only.
func (a *API) updateFlavor(w http.ResponseWriter, r *http.Request, q *request) error {
	body, err := readOrderedBody(w, r)
	if err != nil {
		return err
	}
	if err := flavorUpdateSchema.check(body, true); err != nil {
		return err
	}
	if err := a.authorize(r.Context(), q, ruleFlavorUpdate, flavorAdminTarget); err != nil {
		return err
	}
	var desc *string
	if x := body.Get("flavor").Get("description"); x.Kind == '"' {
		desc = &x.Text
	}
	f, err := a.Store.UpdateFlavorDescription(r.Context(), r.PathValue("id"), desc)
	if err != nil {
		return err
	}
	a.writeFlavor(w, r, q, f, true)
	return nil
}

// deleteFlavor is DELETE /flavors/{id}: 202, as Nova answers.
func (a *API) deleteFlavor(w http.ResponseWriter, r *http.Request, q *request) error {
	if err := a.authorize(r.Context(), q, ruleFlavorDelete, flavorAdminTarget); err != nil {
		return err
	}
	if err := a.Store.DeleteFlavor(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}

// flavorAction is POST /flavors/{id}/action: addTenantAccess or
// removeTenantAccess, found as Nova's wsgi action_peek finds it.
func (a *API) flavorAction(w http.ResponseWriter, r *http.Request, q *request) error {
	body, err := readOrderedBody(w, r)
	if err != nil {
		return err
	}
	if body == emptyBody {
		return badRequest("Malformed request body")
	}
	switch body.Kind {
	case '{':
	case '"', '[':
		if body.Len() != 1 {
			return badRequest("Malformed request body")
		}
		return notFound("The resource could not be found.")
	default:
		return notFound("The resource could not be found.")
	}
	if len(body.Keys) != 1 {
		return badRequest("Malformed request body")
	}
	action := body.Keys[0]
	rule, change := ruleFlavorAccessAdd, a.Store.AddFlavorAccess
	switch action {
	case "addTenantAccess":
	case "removeTenantAccess":
		rule, change = ruleFlavorAccessDrop, a.Store.RemoveFlavorAccess
	default:
		return badRequest("There is no such action: %s", action)
	}
	if err := accessSchema(action).check(body, true); err != nil {
		return err
	}
	if err := a.authorize(r.Context(), q, rule, flavorAdminTarget); err != nil {
		return err
	}
	id := r.PathValue("id")
	projects, err := change(r.Context(), id, body.Get(action).Get("tenant").Text)
	if err != nil {
		return err
	}
	writeAccess(w, id, projects)
	return nil
}

func writeAccess(w http.ResponseWriter, id string, projects []string) {
	list := make([]map[string]string, len(projects))
	for i, p := range projects {
		list[i] = map[string]string{"flavor_id": id, "tenant_id": p}
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"flavor_access": list})
}

// flavorAccess is GET /flavors/{id}/os-flavor-access.
func (a *API) flavorAccess(w http.ResponseWriter, r *http.Request, q *request) error {
	if err := a.authorize(r.Context(), q, ruleFlavorAccess, nil); err != nil {
		return err
	}
	id := r.PathValue("id")
	projects, err := a.Store.FlavorAccess(r.Context(), q.viewer(), id)
	if err != nil {
		return err
	}
	writeAccess(w, id, projects)
	return nil
}

// listExtraSpecs is GET /flavors/{id}/os-extra_specs.
func (a *API) listExtraSpecs(w http.ResponseWriter, r *http.Request, q *request) error {
	if err := a.authorize(r.Context(), q, ruleSpecsIndex, specsTarget(q)); err != nil {
		return err
	}
	f, err := a.Store.Flavor(r.Context(), q.viewer(), r.PathValue("id"))
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"extra_specs": f.ExtraSpecs})
	return nil
}

// showExtraSpec is GET /flavors/{id}/os-extra_specs/{key}.
func (a *API) showExtraSpec(w http.ResponseWriter, r *http.Request, q *request) error {
	if err := a.authorize(r.Context(), q, ruleSpecsShow, specsTarget(q)); err != nil {
		return err
	}
	id, key := r.PathValue("id"), r.PathValue("key")
	f, err := a.Store.Flavor(r.Context(), q.viewer(), id)
	if err != nil {
		return err
	}
	v, ok := f.ExtraSpecs[key]
	if !ok {
		return notFound("Flavor %s has no extra specs with key %s.", id, key)
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]string{key: v})
	return nil
}

// createExtraSpecs is POST /flavors/{id}/os-extra_specs: the keys given
// are set, the others stay; the answer is the body.
func (a *API) createExtraSpecs(w http.ResponseWriter, r *http.Request, q *request) error {
	body, err := readOrderedBody(w, r)
	if err != nil {
		return err
	}
	if err := specsCreateSchema.check(body, true); err != nil {
		return err
	}
	if err := a.authorize(r.Context(), q, ruleSpecsCreate, flavorAdminTarget); err != nil {
		return err
	}
	return a.setExtraSpecs(w, r, q, body, body.Get("extra_specs"), "")
}

// updateExtraSpec is PUT /flavors/{id}/os-extra_specs/{key}: the body
// is the one key of the path and its value.
func (a *API) updateExtraSpec(w http.ResponseWriter, r *http.Request, q *request) error {
	body, err := readOrderedBody(w, r)
	if err != nil {
		return err
	}
	if err := specsUpdateSchema.check(body, true); err != nil {
		return err
	}
	if err := a.authorize(r.Context(), q, ruleSpecsUpdate, flavorAdminTarget); err != nil {
		return err
	}
	return a.setExtraSpecs(w, r, q, body, body, r.PathValue("key"))
}

// setExtraSpecs is flavors_extraspecs.py's _check_extra_specs_value,
// the URI check of update (key, when not "") and the write.
func (a *API) setExtraSpecs(w http.ResponseWriter, r *http.Request, q *request, body, specs *pyjson.Value, key string) error {
	set := map[string]string{}
	for i, k := range specs.Keys {
		v := specs.Items[i]
		value := v.Str()
		if v.Kind == '0' {
			if n := utf8.RuneCountInString(value); n > 255 {
				return badRequest("extra_specs value has %d characters, more than 255.", n)
			}
		}
		if q.at(86) {
			if err := compute.CheckExtraSpec(k, value); err != nil {
				return err
			}
		}
		set[k] = value
	}
	if _, ok := set[key]; key != "" && !ok {
		return badRequest("Request body and URI mismatch")
	}
	if _, err := a.Store.SetFlavorExtraSpecs(r.Context(), r.PathValue("id"), set); err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, body)
	return nil
}

// deleteExtraSpec is DELETE /flavors/{id}/os-extra_specs/{key}.
func (a *API) deleteExtraSpec(w http.ResponseWriter, r *http.Request, q *request) error {
	if err := a.authorize(r.Context(), q, ruleSpecsDelete, flavorAdminTarget); err != nil {
		return err
	}
	if _, err := a.Store.DeleteFlavorExtraSpec(r.Context(), r.PathValue("id"), r.PathValue("key")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// emptyBody is what readOrderedBody returns for an empty body, which
// Nova reads as None.
var emptyBody = &pyjson.Value{Kind: 'n'}

// readOrderedBody reads a request body as Nova's wsgi does: JSON, unless the
// Content-Type names another media type; an empty body is None.
func readOrderedBody(w http.ResponseWriter, r *http.Request) (*pyjson.Value, error) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "text/plain" && mt != "application/json" && mt != "application/vnd.openstack.compute+json" {
			return nil, fault.New(fault.UnsupportedMedia, "Unsupported Content-Type")
		}
	}
	if r.ContentLength > novaBodyLimit {
		return nil, fault.New(fault.TooLarge, "Request is too large. Larger than max_request_body_size (%d).", novaBodyLimit)
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, novaBodyLimit))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return nil, fault.New(fault.TooLarge, "Request is too large. Larger than %d.", novaBodyLimit)
	}
	if err != nil {
		return nil, err
	}
	if len(data) == 0 {
		return emptyBody, nil
	}
	if bytes.Contains(data, []byte(`\u0000`)) {
		return nil, badRequest("request body has a NUL character (\\u0000) in a string")
	}
	v, err := pyjson.Parse(data)
	if err != nil {
		return nil, badRequest("Malformed request body")
	}
	return v, nil
}

// jsonSchema is the part of JSON Schema (draft 4) that Nova's flavor
// schemas use. Its keywords are checked in one order, which gives the
// error jsonschema raises first for each of those schemas.
type jsonSchema struct {
	types            []string
	minLen, maxLen   int // 0: no limit
	pattern          *pyPattern
	nameFormat       bool // Nova's 'name' format
	minimum, maximum *schemaBound
	enum             []*pyjson.Value
	props            []schemaProp // properties, in the schema's order
	keys             *pyPattern
	keySchema        *jsonSchema // patternProperties: one pattern
	required         []string
	closed           bool // additionalProperties: false
	minProps         int
	maxProps         int
	items            *jsonSchema
}

type schemaProp struct {
	name string
	s    *jsonSchema
}

// schemaBound is a minimum or maximum as Python shows it.
type schemaBound struct {
	text      string
	v         *big.Float
	exclusive bool
}

func newSchemaBound(text string, exclusive bool) *schemaBound {
	v, ok := new(big.Float).SetString(text) // an int bound, exactly
	if strings.ContainsAny(text, ".e") {
		f, err := strconv.ParseFloat(text, 64) // a float bound: Python compares with the double
		v, ok = big.NewFloat(f), err == nil
	}
	if !ok {
		panic("nova: bad schema bound " + text)
	}
	return &schemaBound{text: text, v: v, exclusive: exclusive}
}

// pyPattern is a Python regular expression searched for: src as Nova
// wrote it, match as Python's re.search matches it.
type pyPattern struct {
	src   func() string
	match func(string) bool
}

// pyRegexp is an anchored pattern that Go's regexp reads as Python's re
// does; Python's $ also matches before a final newline.
func pyRegexp(src string) *pyPattern {
	re := regexp.MustCompile(src)
	return &pyPattern{src: func() string { return src }, match: func(s string) bool {
		return re.MatchString(s) || strings.HasSuffix(s, "\n") && re.MatchString(s[:len(s)-1])
	}}
}

// schemaError is a refusal: the path of the value refused, the value,
// the message (whole: Nova shows it alone, as its InvalidName).
type schemaError struct {
	path  []string
	value *pyjson.Value
	msg   string
	whole bool
}

// check validates v, a body (Nova names the value's last path element)
// or query parameters (the first).
func (s *jsonSchema) check(v *pyjson.Value, body bool) error {
	e := s.validate(v, nil)
	switch {
	case e == nil:
		return nil
	case e.whole || len(e.path) == 0:
		return badRequest("%s", e.msg)
	case body:
		return badRequest("Invalid input for field/attribute %s. Value: %s. %s", e.path[len(e.path)-1], e.value.Str(), e.msg)
	}
	return badRequest("Invalid input for query parameters %s. Value: %s. %s", e.path[0], e.value.Str(), e.msg)
}

func (s *jsonSchema) validate(v *pyjson.Value, path []string) *schemaError {
	fail := func(format string, args ...any) *schemaError {
		return &schemaError{path: path, value: v, msg: fmt.Sprintf(format, args...)}
	}
	if len(s.types) > 0 && !slices.ContainsFunc(s.types, v.Is) {
		return fail("%s is not of type %s", v.Repr(), pyTypeNames(s.types))
	}
	if v.Kind == '"' {
		n := utf8.RuneCountInString(v.Text)
		switch {
		case s.minLen > 0 && n < s.minLen:
			return fail("%s is too short", v.Repr())
		case s.maxLen > 0 && n > s.maxLen:
			return fail("%s is too long", v.Repr())
		case s.pattern != nil && !s.pattern.match(v.Text):
			return fail("%s does not match %s", v.Repr(), pyrepr.String(s.pattern.src()))
		case s.nameFormat && !validNovaName(v.Text):
			e := fail("An invalid 'name' value was provided. The name must be: printable characters. Can not start or end with whitespace.")
			e.whole = true
			return e
		}
	}
	if n, text, ok := v.Number(); ok && (s.minimum != nil || s.maximum != nil) {
		if m := s.minimum; m != nil && (n.Cmp(m.v) < 0 || m.exclusive && n.Cmp(m.v) == 0) {
			if m.exclusive {
				return fail("%s is less than or equal to the minimum of %s", text, m.text)
			}
			return fail("%s is less than the minimum of %s", text, m.text)
		}
		if m := s.maximum; m != nil && n.Cmp(m.v) > 0 {
			return fail("%s is greater than the maximum of %s", text, m.text)
		}
	}
	if s.enum != nil && !slices.ContainsFunc(s.enum, func(e *pyjson.Value) bool { return e.Kind == v.Kind && e.Text == v.Text }) {
		return fail("%s is not one of %s", v.Repr(), (&pyjson.Value{Kind: '[', Items: s.enum}).Repr())
	}
	if v.Kind == '[' && s.items != nil {
		for i, it := range v.Items {
			if e := s.items.validate(it, slices.Concat(path, []string{strconv.Itoa(i)})); e != nil {
				return e
			}
		}
	}
	if v.Kind == '{' {
		return s.validateObject(v, path, fail)
	}
	return nil
}

func (s *jsonSchema) validateObject(v *pyjson.Value, path []string, fail func(string, ...any) *schemaError) *schemaError {
	for _, p := range s.props {
		if x := v.Get(p.name); x != nil {
			if e := p.s.validate(x, slices.Concat(path, []string{p.name})); e != nil {
				return e
			}
		}
	}
	var extra []string
	for i, k := range v.Keys {
		switch {
		case s.keys != nil && s.keys.match(k):
			if e := s.keySchema.validate(v.Items[i], slices.Concat(path, []string{k})); e != nil {
				return e
			}
		case !slices.ContainsFunc(s.props, func(p schemaProp) bool { return p.name == k }):
			extra = append(extra, k)
		}
	}
	for _, r := range s.required {
		if v.Get(r) == nil {
			return fail("%s is a required property", pyrepr.String(r))
		}
	}
	if s.closed && len(extra) > 0 {
		slices.Sort(extra)
		names := make([]string, len(extra))
		for i, k := range extra {
			names[i] = pyrepr.String(k)
		}
		if s.keys != nil {
			verb := map[bool]string{true: "does", false: "do"}[len(extra) == 1]
			return fail("%s %s not match any of the regexes: %s", strings.Join(names, ", "), verb, pyrepr.String(s.keys.src()))
		}
		verb := map[bool]string{true: "was", false: "were"}[len(extra) == 1]
		return fail("Additional properties are not allowed (%s %s unexpected)", strings.Join(names, ", "), verb)
	}
	if s.minProps > 0 && len(v.Keys) < s.minProps {
		return fail("%s does not have enough properties", v.Repr())
	}
	if s.maxProps > 0 && len(v.Keys) > s.maxProps {
		return fail("%s has too many properties", v.Repr())
	}
	return nil
}

// pyTypeNames lists names as jsonschema does ('a', 'b').
func pyTypeNames(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = pyrepr.String(n)
	}
	return strings.Join(q, ", ")
}

// pyPrintable is Nova's _is_printable over the characters its
// validation regexes span (below U+FFFF): letters, marks, numbers,
// punctuation, symbols and space separators.
func pyPrintable(r rune) bool {
	return r < 0xFFFF && (unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S) || unicode.Is(unicode.Zs, r))
}

func pyVisible(r rune) bool { return pyPrintable(r) && !unicode.Is(unicode.Zs, r) }

// validNovaName is Nova's valid_name_regex ('name' format): printable
// characters, not starting or ending with a space.
func validNovaName(s string) bool {
	t := strings.TrimSuffix(s, "\n") // Python's $ matches before it
	if first, _ := utf8.DecodeRuneInString(s); s != "" && !pyVisible(first) {
		return false
	}
	if last, _ := utf8.DecodeLastRuneInString(t); t != "" && !pyVisible(last) {
		return false
	}
	return !strings.ContainsFunc(t, func(r rune) bool { return !pyPrintable(r) })
}

// flavorIDPattern is Nova's '^(?! )[a-zA-Z0-9. _-]+(?<! )$'.
var flavorIDPattern = &pyPattern{src: func() string { return `^(?! )[a-zA-Z0-9. _-]+(?<! )$` }, match: func(s string) bool {
	t := strings.TrimSuffix(s, "\n")
	return t != "" && s[0] != ' ' && t[len(t)-1] != ' ' && strings.Trim(t, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789. _-") == ""
}}

// descriptionPattern is Nova's valid_description_regex: printable
// characters. Its text is built as Nova builds it, from Go's Unicode
// tables (Python 3.11's are one version older).
var descriptionPattern = &pyPattern{src: sync.OnceValue(printableRanges), match: func(s string) bool {
	return !strings.ContainsFunc(strings.TrimSuffix(s, "\n"), func(r rune) bool { return !pyPrintable(r) })
}}

// printableRanges is '^[%s]*$' % _build_regex_range().
func printableRanges() string {
	var b strings.Builder
	esc := func(r rune) {
		if strings.ContainsRune("()[]{}?*+-|^$\\.&~# \t\n\r\v\f", r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	b.WriteString("^[")
	in, lastAdded := false, rune(-1)
	for c := rune(0); c < 0xFFFF; c++ {
		if pyPrintable(c) {
			if !in {
				esc(c)
				lastAdded = c
			}
			in = true
			continue
		}
		if in && c-1 != lastAdded {
			b.WriteByte('-')
			esc(c - 1)
		}
		in = false
	}
	b.WriteString("]*$")
	return b.String()
}

// Nova's flavor schemas (schemas/flavor_manage.py, flavors.py,
// flavors_extraspecs.py, flavor_access.py).
var (
	pyBoolEnum = func() []*pyjson.Value {
		var out []*pyjson.Value
		for _, group := range [][]string{{"True", "TRUE", "true", "1", "ON", "On", "on", "YES", "Yes", "yes"},
			{"False", "FALSE", "false", "0", "OFF", "Off", "off", "NO", "No", "no"}} {
			out = append(out, &pyjson.Value{Kind: strings.ToLower(group[0])[0]})
			for _, s := range group {
				out = append(out, &pyjson.Value{Kind: '"', Text: s})
			}
		}
		return out
	}()
	maxIntBound    = newSchemaBound(strconv.Itoa(math.MaxInt32), false)
	digitsPattern  = pyRegexp(`^[0-9]+$`)
	specKeyPattern = pyRegexp(`^[a-zA-Z0-9-_:. ]{1,255}$`)
)

func flavorInt(min string) *jsonSchema {
	return &jsonSchema{types: []string{"integer", "string"}, pattern: digitsPattern, minimum: newSchemaBound(min, false), maximum: maxIntBound}
}

func closedObject(props []schemaProp, required ...string) *jsonSchema {
	return &jsonSchema{types: []string{"object"}, props: props, required: required, closed: true}
}

var flavorDescription = &jsonSchema{types: []string{"string", "null"}, maxLen: 65535, pattern: descriptionPattern}

// flavorCreateSchema is create, or create_v2_55 with the description.
func flavorCreateSchema(description bool) *jsonSchema {
	props := []schemaProp{
		{"name", &jsonSchema{types: []string{"string"}, minLen: 1, maxLen: 255, nameFormat: true}},
		{"id", &jsonSchema{types: []string{"string", "number", "null"}, minLen: 1, maxLen: 255, pattern: flavorIDPattern}},
		{"ram", flavorInt("1")},
		{"vcpus", flavorInt("1")},
		{"disk", flavorInt("0")},
		{"OS-FLV-EXT-DATA:ephemeral", flavorInt("0")},
		{"swap", flavorInt("0")},
		{"rxtx_factor", &jsonSchema{types: []string{"number", "string"}, pattern: pyRegexp(`^[0-9]+(\.[0-9]+)?$`),
			minimum: newSchemaBound("0", true), maximum: newSchemaBound("3.40282e+38", false)}},
		{"os-flavor-access:is_public", &jsonSchema{types: []string{"boolean", "string"}, enum: pyBoolEnum}},
	}
	if description {
		props = append(props, schemaProp{"description", flavorDescription})
	}
	return closedObject([]schemaProp{{"flavor", closedObject(props, "name", "ram", "vcpus", "disk")}}, "flavor")
}

var (
	flavorUpdateSchema = closedObject([]schemaProp{{"flavor", closedObject([]schemaProp{{"description", flavorDescription}}, "description")}}, "flavor")
	specsMetadata      = &jsonSchema{types: []string{"object"}, keys: specKeyPattern, closed: true,
		keySchema: &jsonSchema{types: []string{"string", "number"}, maxLen: 255}}
	specsCreateSchema = closedObject([]schemaProp{{"extra_specs", specsMetadata}}, "extra_specs")
	specsUpdateSchema = &jsonSchema{types: []string{"object"}, keys: specKeyPattern, keySchema: specsMetadata.keySchema,
		closed: true, minProps: 1, maxProps: 1}
)

func accessSchema(action string) *jsonSchema {
	tenant := &jsonSchema{types: []string{"string"}, minLen: 1, maxLen: 255}
	return closedObject([]schemaProp{{action, closedObject([]schemaProp{{"tenant", tenant}}, "tenant")}}, action)
}

// flavorQueryParams are the query parameters of Nova's index_query.
var flavorQueryParams = []string{"limit", "marker", "is_public", "minRam", "minDisk", "sort_key", "sort_dir"}

// flavorQuerySchema is index_query, or index_query_275 that refuses
// other parameters.
func flavorQuerySchema(strict bool) *jsonSchema {
	text := &jsonSchema{types: []string{"string"}}
	oneOf := func(vs ...string) *jsonSchema {
		s := &jsonSchema{types: []string{"string"}}
		for _, v := range vs {
			s.enum = append(s.enum, &pyjson.Value{Kind: '"', Text: v})
		}
		return s
	}
	items := map[string]*jsonSchema{
		"limit":  {types: []string{"integer", "string"}, pattern: pyRegexp(`^[0-9]*$`), minimum: newSchemaBound("0", false), minLen: 1},
		"marker": text, "is_public": text, "minRam": text, "minDisk": text,
		"sort_key": oneOf(compute.FlavorSortKeys()...),
		"sort_dir": oneOf("asc", "desc"),
	}
	s := &jsonSchema{types: []string{"object"}, closed: strict}
	for _, p := range flavorQueryParams {
		s.props = append(s.props, schemaProp{p, &jsonSchema{types: []string{"array"}, items: items[p]}})
	}
	return s
}

// queryValue is the query as Nova's query schemas see it: each
// parameter a list of strings.
func queryValue(q url.Values) *pyjson.Value {
	v := &pyjson.Value{Kind: '{'}
	for _, k := range slices.Sorted(maps.Keys(q)) {
		list := &pyjson.Value{Kind: '['}
		for _, s := range q[k] {
			list.Items = append(list.Items, &pyjson.Value{Kind: '"', Text: s})
		}
		v.Keys, v.Items = append(v.Keys, k), append(v.Items, list)
	}
	return v
}
