package placement

import (
	"math"
	"net/http"
	"net/url"
	"slices"

	"github.com/gostack/gostack/compute"
	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/httpapi"
)

func (a *API) providerRoutes(rt *httpapi.Router) {
	rt.HandleFunc("GET /resource_providers", a.op(ruleProviderList, 0, a.listProviders))
	rt.HandleFunc("POST /resource_providers", a.op(ruleProviderCreate, 0, a.createProvider))
	rt.HandleFunc("GET /resource_providers/{uuid}", a.op(ruleProviderShow, 0, a.showProvider))
	rt.HandleFunc("PUT /resource_providers/{uuid}", a.op(ruleProviderUpdate, 0, a.updateProvider))
	rt.HandleFunc("DELETE /resource_providers/{uuid}", a.op(ruleProviderDelete, 0, a.deleteProvider))
	rt.HandleFunc("GET /resource_providers/{uuid}/aggregates", a.op(ruleAggregateList, 1, a.showAggregates))
	rt.HandleFunc("PUT /resource_providers/{uuid}/aggregates", a.op(ruleAggregateUpdate, 1, a.setAggregates))
	rt.HandleFunc("GET /resource_providers/{uuid}/usages", a.op(ruleProviderUsages, 0, a.providerUsages))
	rt.HandleFunc("GET /resource_providers/{uuid}/allocations", a.op(ruleProviderAllocs, 0, a.providerAllocations))
}

// providerJSON is a provider as Placement shows it at q's version.
func providerJSON(r *http.Request, q *request, p compute.Provider) map[string]any {
	self := prefix(r) + "/resource_providers/" + p.UUID
	links := []link{{"self", self}}
	rels := []string{"inventories", "usages"}
	if q.at(1) {
		rels = append(rels, "aggregates")
	}
	if q.at(6) {
		rels = append(rels, "traits")
	}
	if q.at(11) {
		rels = append(rels, "allocations")
	}
	for _, rel := range rels {
		links = append(links, link{rel, self + "/" + rel})
	}
	out := map[string]any{"uuid": p.UUID, "name": p.Name, "generation": p.Generation, "links": links}
	if q.at(14) {
		out["parent_provider_uuid"] = nullString(p.ParentUUID)
		out["root_provider_uuid"] = p.RootUUID
	}
	return out
}

// nullString is s, or JSON null when empty.
func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// providerFilterParams are GET /resource_providers' parameters by version.
func providerFilterParams(q *request) []string {
	allowed := []string{"name", "uuid"}
	for minor, p := range map[int]string{3: "member_of", 4: "resources", 14: "in_tree", 18: "required"} {
		if q.at(minor) {
			allowed = append(allowed, p)
		}
	}
	return allowed
}

func (a *API) listProviders(w http.ResponseWriter, r *http.Request, q *request) error {
	qv := r.URL.Query()
	if err := checkParams(qv, providerFilterParams(q)); err != nil {
		return err
	}
	for _, k := range []string{"uuid", "in_tree"} {
		if err := checkUUIDParam(qv, k); err != nil {
			return err
		}
	}
	f, agg, err := a.providerFilter(r, q, qv)
	if err != nil {
		return err
	}
	ps, err := a.Store.Providers(r.Context(), f)
	if err != nil {
		return err
	}
	if f.InTree != "" {
		if ps, err = a.inTree(r, ps, f.InTree); err != nil {
			return err
		}
	}
	if ps, err = a.members(r, ps, agg); err != nil {
		return err
	}
	out := make([]map[string]any, 0, len(ps))
	var latest int64
	for _, p := range ps {
		out = append(out, providerJSON(r, q, p))
		latest = max(latest, p.UpdatedAt)
	}
	q.modified(w, micros(latest))
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"resource_providers": out})
	return nil
}

// providerFilter reads GET /resource_providers' filters, refusing
// unknown classes and traits as Placement does; member_of comes apart,
// for members.
func (a *API) providerFilter(r *http.Request, q *request, qv url.Values) (f compute.ProviderFilter, agg aggQuery, err error) {
	ctx := r.Context()
	f = compute.ProviderFilter{Name: last(qv, "name"), UUID: last(qv, "uuid"), InTree: last(qv, "in_tree")}
	if vals, ok := qv["member_of"]; ok {
		if agg, err = parseMemberOf(q, "", vals); err != nil {
			return f, agg, err
		}
	}
	if vals, ok := qv["required"]; ok {
		t, err := parseRequired(q, vals)
		if err != nil {
			return f, agg, err
		}
		missing, err := missingTraits(ctx, a.Store, t.names())
		if err != nil {
			return f, agg, err
		}
		if len(missing) > 0 {
			return f, agg, badRequest("Invalid trait(s) in \"required\" parameter: %s", noSuchTraits(missing))
		}
		f.Required, f.AnyOf, f.Forbidden = t.split()
	}
	if _, ok := qv["resources"]; ok {
		res, err := parseResources(last(qv, "resources"))
		if err != nil {
			return f, agg, err
		}
		if c, err := missingClass(ctx, a.Store, res); err != nil {
			return f, agg, err
		} else if c != "" {
			return f, agg, badRequest("Invalid resource class in resources parameter: No such resource class %s.", c)
		}
		f.Resources = res
	}
	return f, agg, nil
}

// inTree keeps the providers of in_tree's tree (none when it does not
// exist): the Store applies in_tree only when neither name nor uuid is
// given.
func (a *API) inTree(r *http.Request, ps []compute.Provider, u string) ([]compute.Provider, error) {
	p, err := a.Store.Provider(r.Context(), u)
	if fault.KindOf(err) == fault.NotFound {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(ps, func(x compute.Provider) bool { return x.RootUUID != p.RootUUID }), nil
}

// members applies member_of: a provider is a member of an aggregate
// when it or its tree's root is. (The Store's filter would do it, but
// its table of roots aliases the slice it filters, and has no root
// when name or uuid select a child.)
func (a *API) members(r *http.Request, ps []compute.Provider, agg aggQuery) ([]compute.Provider, error) {
	if len(agg.anyOf)+len(agg.forbidden) == 0 {
		return ps, nil
	}
	roots := map[string]compute.Provider{}
	for _, p := range ps {
		if p.UUID == p.RootUUID {
			roots[p.UUID] = p
		}
	}
	out := make([]compute.Provider, 0, len(ps))
	for _, p := range ps {
		root, ok := roots[p.RootUUID]
		if !ok {
			var err error
			if root, err = a.Store.Provider(r.Context(), p.RootUUID); err != nil {
				return nil, err
			}
			roots[p.RootUUID] = root
		}
		in := func(g string) bool { return p.InAggregate(g) || root.InAggregate(g) }
		if slices.ContainsFunc(agg.forbidden, in) {
			continue
		}
		if !slices.ContainsFunc(agg.anyOf, func(set []string) bool { return !slices.ContainsFunc(set, in) }) {
			out = append(out, p)
		}
	}
	return out, nil
}

func (a *API) createProvider(w http.ResponseWriter, r *http.Request, q *request) error {
	v, err := readJSON(w, r)
	if err != nil {
		return err
	}
	o, err := asObject(v)
	if err != nil {
		return err
	}
	allowed := []string{"name", "uuid"}
	if q.at(14) {
		allowed = append(allowed, "parent_provider_uuid")
	}
	if err := o.check(allowed, "name"); err != nil {
		return err
	}
	name, err := o.str("name", 0, 200, nil)
	if err != nil {
		return err
	}
	var id, parent string
	if o.has("uuid") {
		if id, err = uuidValue(o["uuid"]); err != nil {
			return err
		}
		id = normalUUID(id)
	}
	if o["parent_provider_uuid"] != nil {
		if parent, err = uuidValue(o["parent_provider_uuid"]); err != nil {
			return err
		}
	}
	p, err := a.Store.CreateProvider(r.Context(), id, name, parent)
	if err != nil {
		return err
	}
	w.Header().Set("Location", location(r, "/resource_providers/"+p.UUID))
	if !q.at(20) {
		noContent(w, http.StatusCreated)
		return nil
	}
	q.modified(w, micros(p.UpdatedAt))
	httpapi.WriteJSON(w, http.StatusOK, providerJSON(r, q, p))
	return nil
}

func (a *API) showProvider(w http.ResponseWriter, r *http.Request, q *request) error {
	p, err := a.Store.Provider(r.Context(), r.PathValue("uuid"))
	if err != nil {
		return err
	}
	q.modified(w, micros(p.UpdatedAt))
	httpapi.WriteJSON(w, http.StatusOK, providerJSON(r, q, p))
	return nil
}

func (a *API) updateProvider(w http.ResponseWriter, r *http.Request, q *request) error {
	u := r.PathValue("uuid")
	cur, err := a.Store.Provider(r.Context(), u)
	if err != nil {
		return err
	}
	v, err := readJSON(w, r)
	if err != nil {
		return err
	}
	o, err := asObject(v)
	if err != nil {
		return err
	}
	allowed := []string{"name"}
	if q.at(14) {
		allowed = append(allowed, "parent_provider_uuid")
	}
	if err := o.check(allowed, "name"); err != nil {
		return err
	}
	name, err := o.str("name", 0, 200, nil)
	if err != nil {
		return err
	}
	parent := cur.ParentUUID
	if o.has("parent_provider_uuid") {
		if parent, err = a.newParent(r, q, cur, o["parent_provider_uuid"]); err != nil {
			return err
		}
	}
	p, err := a.Store.UpdateProvider(r.Context(), u, name, parent)
	if err != nil {
		return err
	}
	q.modified(w, micros(p.UpdatedAt))
	httpapi.WriteJSON(w, http.StatusOK, providerJSON(r, q, p))
	return nil
}

// newParent checks a PUT's parent_provider_uuid: it must exist, and
// before 1.37 a child may neither move nor become a root.
func (a *API) newParent(r *http.Request, q *request, cur compute.Provider, v any) (string, error) {
	prefix := "Unable to save resource provider " + cur.UUID + ": Object action update failed because: "
	if v == nil {
		if cur.ParentUUID != "" && !q.at(37) {
			return "", badRequest("%sun-parenting a provider is not currently allowed.", prefix)
		}
		return "", nil
	}
	parent, err := uuidValue(v)
	if err != nil {
		return "", err
	}
	if _, err := a.Store.Provider(r.Context(), parent); fault.KindOf(err) == fault.NotFound {
		return "", badRequest("Unable to save resource provider %s: Object action create failed because: parent provider UUID does not exist.", cur.UUID)
	} else if err != nil {
		return "", err
	}
	if cur.ParentUUID != "" && cur.ParentUUID != parent && !q.at(37) {
		return "", badRequest("%sre-parenting a provider is not currently allowed.", prefix)
	}
	return parent, nil
}

func (a *API) deleteProvider(w http.ResponseWriter, r *http.Request, q *request) error {
	if err := a.Store.DeleteProvider(r.Context(), r.PathValue("uuid")); err != nil {
		return err
	}
	noContent(w, http.StatusNoContent)
	return nil
}

func (a *API) showAggregates(w http.ResponseWriter, r *http.Request, q *request) error {
	p, err := a.Store.Provider(r.Context(), r.PathValue("uuid"))
	if err != nil {
		return err
	}
	a.writeAggregates(w, q, p.Aggregates, p.Generation)
	return nil
}

func (a *API) writeAggregates(w http.ResponseWriter, q *request, aggs []string, gen int64) {
	out := map[string]any{"aggregates": nonNil(aggs)}
	if q.at(19) {
		out["resource_provider_generation"] = gen
	}
	q.modified(w, q.now)
	httpapi.WriteJSON(w, http.StatusOK, out)
}

// setAggregates replaces a provider's aggregates: the body is the list
// itself before 1.19, then {"aggregates", "resource_provider_generation"}
// with the generation checked.
func (a *API) setAggregates(w http.ResponseWriter, r *http.Request, q *request) error {
	u := r.PathValue("uuid")
	if _, err := a.Store.Provider(r.Context(), u); err != nil {
		return err
	}
	v, err := readJSON(w, r)
	if err != nil {
		return err
	}
	var gen *int64
	if q.at(19) {
		o, err := asObject(v)
		if err != nil {
			return err
		}
		if err := o.check([]string{"aggregates", "resource_provider_generation"}, "aggregates", "resource_provider_generation"); err != nil {
			return err
		}
		g, err := o.integer("resource_provider_generation", math.MinInt64, math.MaxInt64)
		if err != nil {
			return err
		}
		gen, v = &g, o["aggregates"]
	}
	aggs, err := aggregateList(v)
	if err != nil {
		return err
	}
	newGen, err := a.Store.SetProviderAggregates(r.Context(), u, gen, aggs)
	if fault.TypeOf(err) == compute.CodeConcurrentUpdate {
		return conflict(compute.CodeConcurrentUpdate, "Resource provider's generation already changed. Please update the generation and try again.")
	} else if err != nil {
		return err
	}
	a.writeAggregates(w, q, aggs, newGen)
	return nil
}

// aggregateList checks a list of distinct aggregate uuids.
func aggregateList(v any) ([]string, error) {
	l, err := listValue(v, 0)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(l))
	for _, x := range l {
		s, err := uuidValue(x)
		if err != nil {
			return nil, err
		}
		if slices.Contains(out, s) {
			return nil, invalid("%s has non-unique elements", repr(v))
		}
		out = append(out, s)
	}
	return out, nil
}

func (a *API) providerUsages(w http.ResponseWriter, r *http.Request, q *request) error {
	p, err := a.Store.Provider(r.Context(), r.PathValue("uuid"))
	if err != nil {
		return err
	}
	usages := map[string]int64{}
	for c := range p.Inventories {
		usages[c] = p.Usages[c]
	}
	q.modified(w, q.now)
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"resource_provider_generation": p.Generation, "usages": usages})
	return nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
