package placement

import (
	"math"
	"net/http"
	"slices"
	"strings"

	"github.com/gostack/gostack/compute"
	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/httpapi"
)

func (a *API) traitRoutes(rt *httpapi.Router) {
	rt.HandleFunc("GET /traits", a.op(ruleTraitList, 6, a.listTraits))
	rt.HandleFunc("GET /traits/{name}", a.op(ruleTraitShow, 6, a.showTrait))
	rt.HandleFunc("PUT /traits/{name}", a.op(ruleTraitUpdate, 6, a.putTrait))
	rt.HandleFunc("DELETE /traits/{name}", a.op(ruleTraitDelete, 6, a.deleteTrait))
	rt.HandleFunc("GET /resource_providers/{uuid}/traits", a.op(ruleProviderTraits, 6, a.providerTraits))
	rt.HandleFunc("PUT /resource_providers/{uuid}/traits", a.op(ruleProviderTraitSet, 6, a.setProviderTraits))
	rt.HandleFunc("DELETE /resource_providers/{uuid}/traits", a.op(ruleProviderTraitDel, 6, a.deleteProviderTraits))
}

// listTraits is GET /traits: name=startswith:PREFIX or name=in:A,B,
// associated=true|false.
func (a *API) listTraits(w http.ResponseWriter, r *http.Request, q *request) error {
	qv := r.URL.Query()
	if err := checkParams(qv, []string{"name", "associated"}); err != nil {
		return err
	}
	var (
		prefix string
		in     []string
		assoc  *bool
	)
	if _, ok := qv["name"]; ok {
		v := last(qv, "name")
		op, val, ok := strings.Cut(v, ":")
		if !ok {
			return badRequest("Badly formatted name parameter. Expected name query string parameter in form: ?name=[in|startswith]:[name1,name2|prefix]. Got: \"%s\"", v)
		}
		switch op {
		case "in":
			in = strings.Split(val, ",")
		case "startswith":
			prefix = val
		}
	}
	if _, ok := qv["associated"]; ok {
		switch strings.ToLower(last(qv, "associated")) {
		case "true":
			assoc = new(bool)
			*assoc = true
		case "false":
			assoc = new(bool)
		default:
			return badRequest("The query parameter \"associated\" only accepts \"true\" or \"false\"")
		}
	}
	traits, err := a.Store.Traits(r.Context(), prefix, assoc)
	if err != nil {
		return err
	}
	if in != nil {
		traits = slices.DeleteFunc(traits, func(t string) bool { return !slices.Contains(in, t) })
	}
	q.modified(w, q.now)
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"traits": nonNil(traits)})
	return nil
}

func (a *API) showTrait(w http.ResponseWriter, r *http.Request, q *request) error {
	name := r.PathValue("name")
	ok, err := a.Store.TraitExists(r.Context(), name)
	if err != nil {
		return err
	}
	if !ok {
		return notFound("No such trait(s): %s.", name)
	}
	q.modified(w, q.now)
	noContent(w, http.StatusNoContent)
	return nil
}

// putTrait is PUT /traits/{name}: 201 when it creates the custom trait,
// 204 when it exists.
func (a *API) putTrait(w http.ResponseWriter, r *http.Request, q *request) error {
	name := r.PathValue("name")
	if len(name) > 255 || !customPattern.MatchString(name) {
		return badRequest(`The trait is invalid. A valid trait must be no longer than 255 characters, start with the prefix "CUSTOM_" and use following characters: "A"-"Z", "0"-"9" and "_"`)
	}
	created, err := a.Store.CreateTrait(r.Context(), name)
	if err != nil {
		return err
	}
	w.Header().Set("Location", location(r, "/traits/"+name))
	q.modified(w, q.now)
	if created {
		noContent(w, http.StatusCreated)
	} else {
		noContent(w, http.StatusNoContent)
	}
	return nil
}

func (a *API) deleteTrait(w http.ResponseWriter, r *http.Request, q *request) error {
	if err := a.Store.DeleteTrait(r.Context(), r.PathValue("name")); err != nil {
		return err
	}
	noContent(w, http.StatusNoContent)
	return nil
}

func (a *API) providerTraits(w http.ResponseWriter, r *http.Request, q *request) error {
	p, err := a.Store.Provider(r.Context(), r.PathValue("uuid"))
	if err != nil {
		return err
	}
	q.modified(w, q.now)
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"traits": nonNil(p.Traits), "resource_provider_generation": p.Generation})
	return nil
}

// setProviderTraits is PUT /resource_providers/{uuid}/traits: the
// traits replace the provider's at the generation the body names; they
// must all exist.
func (a *API) setProviderTraits(w http.ResponseWriter, r *http.Request, q *request) error {
	o, err := readObject(w, r)
	if err != nil {
		return err
	}
	if err := o.check([]string{"traits", "resource_provider_generation"}, "traits", "resource_provider_generation"); err != nil {
		return err
	}
	l, err := o.list("traits", 0)
	if err != nil {
		return err
	}
	traits := make([]string, len(l))
	for i, t := range l {
		if traits[i], err = stringValue(t, 1, 255, nil); err != nil {
			return err
		}
	}
	gen, err := o.integer("resource_provider_generation", math.MinInt64, math.MaxInt64)
	if err != nil {
		return err
	}
	u := r.PathValue("uuid")
	newGen, err := a.Store.SetProviderTraits(r.Context(), u, gen, traits)
	if fault.TypeOf(err) == compute.CodeConcurrentUpdate {
		return conflict(compute.CodeConcurrentUpdate, "Resource provider's generation already changed. Please update the generation and try again.")
	} else if err != nil {
		return err
	}
	q.modified(w, q.now)
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"traits": sortedSet(traits), "resource_provider_generation": newGen})
	return nil
}

// deleteProviderTraits removes every trait of a provider, at the
// generation just read.
func (a *API) deleteProviderTraits(w http.ResponseWriter, r *http.Request, q *request) error {
	u := r.PathValue("uuid")
	p, err := a.Store.Provider(r.Context(), u)
	if err != nil {
		return err
	}
	if _, err := a.Store.SetProviderTraits(r.Context(), u, p.Generation, nil); err != nil {
		return err
	}
	noContent(w, http.StatusNoContent)
	return nil
}
