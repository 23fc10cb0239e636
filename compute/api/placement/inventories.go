package placement

import (
	"maps"
	"math"
	"net/http"
	"slices"

	"github.com/gostack/gostack/compute"
	"github.com/gostack/gostack/compute/placement"
	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/httpapi"
)

func (a *API) inventoryRoutes(rt *httpapi.Router) {
	const base = "/resource_providers/{uuid}/inventories"
	rt.HandleFunc("GET "+base, a.op(ruleInventoryList, 0, a.listInventories))
	rt.HandleFunc("PUT "+base, a.op(ruleInventoryUpdate, 0, a.setInventories))
	rt.HandleFunc("POST "+base, a.op(ruleInventoryCreate, 0, a.createInventory))
	rt.HandleFunc("DELETE "+base, a.gated(ruleInventoryDelete, 5, fault.NotAllowed, a.deleteInventories))
	rt.HandleFunc("GET "+base+"/{class}", a.op(ruleInventoryShow, 0, a.showInventory))
	rt.HandleFunc("PUT "+base+"/{class}", a.op(ruleInventoryUpdate, 0, a.updateInventory))
	rt.HandleFunc("DELETE "+base+"/{class}", a.op(ruleInventoryDelete, 0, a.deleteInventory))
}

// inventoryFields are the properties of an inventory record in a body.
var inventoryFields = []string{"resource_provider_generation", "total", "reserved", "min_unit", "max_unit", "step_size", "allocation_ratio"}

// inventoryJSON is one inventory with its provider's generation, which
// Placement leaves out when it is 0.
type inventoryJSON struct {
	placement.Inventory
	Generation int64 `json:"resource_provider_generation,omitempty"`
}

// inventoryFrom reads an inventory record with Placement's defaults
// (nothing reserved, units of 1 to 2147483647, ratio 1.0).
func inventoryFrom(o object) (placement.Inventory, error) {
	inv := placement.Inventory{MinUnit: 1, MaxUnit: maxInt, StepSize: 1, AllocationRatio: 1}
	if o.has("resource_provider_generation") {
		if _, err := o.integer("resource_provider_generation", math.MinInt64, math.MaxInt64); err != nil {
			return inv, err
		}
	}
	for _, f := range []struct {
		key string
		min int64
		dst *int64
	}{{"total", 1, &inv.Total}, {"reserved", 0, &inv.Reserved}, {"min_unit", 1, &inv.MinUnit}, {"max_unit", 1, &inv.MaxUnit}, {"step_size", 1, &inv.StepSize}} {
		if !o.has(f.key) {
			continue
		}
		n, err := o.integer(f.key, f.min, maxInt)
		if err != nil {
			return inv, err
		}
		*f.dst = n
	}
	if o.has("allocation_ratio") {
		r, err := o.number("allocation_ratio", maxFloat)
		if err != nil {
			return inv, err
		}
		inv.AllocationRatio = r
	}
	return inv, nil
}

// checkCapacity is Placement's capacity rule by version: before 1.26 an
// inventory must have room for something, since then reserved may
// equal total.
func checkCapacity(q *request, verb, u, class string, inv placement.Inventory) error {
	c := inv.Capacity()
	switch {
	case !q.at(26) && c <= 0:
		return badRequest("Unable to %s inventory for resource provider %s: Invalid inventory for '%s' on resource provider '%s'. The reserved value is greater than or equal to total.", verb, u, class, u)
	case c < 0:
		return badRequest("Unable to %s inventory for resource provider %s: Invalid inventory for '%s' on resource provider '%s'. The reserved value is greater than total.", verb, u, class, u)
	}
	return nil
}

func (a *API) listInventories(w http.ResponseWriter, r *http.Request, q *request) error {
	p, err := a.Store.Provider(r.Context(), r.PathValue("uuid"))
	if err != nil {
		return err
	}
	q.modified(w, micros(p.UpdatedAt))
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"resource_provider_generation": p.Generation, "inventories": p.Inventories})
	return nil
}

// setInventories is PUT …/inventories: the body's inventories become
// the provider's only ones, at the generation the body names.
func (a *API) setInventories(w http.ResponseWriter, r *http.Request, q *request) error {
	u := r.PathValue("uuid")
	cur, o, err := a.providerBody(w, r, []string{"resource_provider_generation", "inventories"}, "resource_provider_generation", "inventories")
	if err != nil {
		return err
	}
	gen, err := o.integer("resource_provider_generation", math.MinInt64, math.MaxInt64)
	if err != nil {
		return err
	}
	records, err := asObject(o["inventories"])
	if err != nil {
		return err
	}
	invs := map[string]placement.Inventory{}
	for _, c := range slices.Sorted(maps.Keys(records)) {
		rec, err := asObject(records[c])
		if err != nil {
			return err
		}
		if err := rec.check(inventoryFields, "total"); err != nil {
			return err
		}
		if invs[c], err = inventoryFrom(rec); err != nil {
			return err
		}
	}
	if gen != cur.Generation {
		return conflict(compute.CodeConcurrentUpdate, "resource provider generation conflict")
	}
	for _, c := range slices.Sorted(maps.Keys(invs)) {
		if err := checkCapacity(q, "update", u, c, invs[c]); err != nil {
			return err
		}
	}
	newGen, err := a.Store.SetInventories(r.Context(), u, &gen, compute.ReplaceAll, invs)
	if err != nil {
		return err
	}
	q.modified(w, q.now)
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"resource_provider_generation": newGen, "inventories": invs})
	return nil
}

// createInventory is POST …/inventories: one new class.
func (a *API) createInventory(w http.ResponseWriter, r *http.Request, q *request) error {
	u := r.PathValue("uuid")
	cur, o, err := a.providerBody(w, r, append(slices.Clone(inventoryFields), "resource_class"), "total", "resource_class")
	if err != nil {
		return err
	}
	class, err := o.str("resource_class", 0, 0, classPattern)
	if err != nil {
		return err
	}
	inv, err := inventoryFrom(o)
	if err != nil {
		return err
	}
	if err := checkCapacity(q, "create", u, class, inv); err != nil {
		return err
	}
	if _, ok := cur.Inventories[class]; ok {
		return conflict(compute.CodeConcurrentUpdate, "Update conflict: inventory for %s on resource provider %s already exists.", class, u)
	}
	gen, err := a.Store.SetInventories(r.Context(), u, &cur.Generation, compute.AddOnly, map[string]placement.Inventory{class: inv})
	if err != nil {
		return err
	}
	w.Header().Set("Location", location(r, "/resource_providers/"+u+"/inventories/"+class))
	q.modified(w, q.now)
	httpapi.WriteJSON(w, http.StatusCreated, inventoryJSON{inv, gen})
	return nil
}

// deleteInventories is DELETE …/inventories (1.5): every class goes,
// unless one is in use.
func (a *API) deleteInventories(w http.ResponseWriter, r *http.Request, q *request) error {
	u := r.PathValue("uuid")
	cur, err := a.Store.Provider(r.Context(), u)
	if err != nil {
		return err
	}
	_, err = a.Store.SetInventories(r.Context(), u, &cur.Generation, compute.ReplaceAll, nil)
	if fault.TypeOf(err) == compute.CodeConcurrentUpdate {
		return conflict(compute.CodeConcurrentUpdate, "Unable to delete inventory for resource provider %s because the inventory was updated by another process. Please retry your request.", u)
	} else if err != nil {
		return err
	}
	noContent(w, http.StatusNoContent)
	return nil
}

func (a *API) showInventory(w http.ResponseWriter, r *http.Request, q *request) error {
	u, class := r.PathValue("uuid"), r.PathValue("class")
	p, err := a.Store.Provider(r.Context(), u)
	if err != nil {
		return err
	}
	inv, ok := p.Inventories[class]
	if !ok {
		return notFound("No inventory of class %s for %s", class, u)
	}
	q.modified(w, micros(p.UpdatedAt))
	httpapi.WriteJSON(w, http.StatusOK, inventoryJSON{inv, p.Generation})
	return nil
}

// updateInventory is PUT …/inventories/{class}: a class the provider
// has, at the generation the body names.
func (a *API) updateInventory(w http.ResponseWriter, r *http.Request, q *request) error {
	u, class := r.PathValue("uuid"), r.PathValue("class")
	cur, o, err := a.providerBody(w, r, inventoryFields, "total", "resource_provider_generation")
	if err != nil {
		return err
	}
	gen, err := o.integer("resource_provider_generation", math.MinInt64, math.MaxInt64)
	if err != nil {
		return err
	}
	inv, err := inventoryFrom(o)
	if err != nil {
		return err
	}
	if gen != cur.Generation {
		return conflict(compute.CodeConcurrentUpdate, "resource provider generation conflict")
	}
	if err := checkCapacity(q, "update", u, class, inv); err != nil {
		return err
	}
	if ok, err := a.Store.ResourceClassExists(r.Context(), class); err != nil {
		return err
	} else if !ok {
		return notFound("No such resource class %s.", class)
	}
	if _, ok := cur.Inventories[class]; !ok {
		return badRequest("No inventory record with resource class for resource provider %s: No inventory of class %s found.", u, class)
	}
	newGen, err := a.Store.SetInventories(r.Context(), u, &gen, compute.UpdateOnly, map[string]placement.Inventory{class: inv})
	if err != nil {
		return err
	}
	q.modified(w, q.now)
	httpapi.WriteJSON(w, http.StatusOK, inventoryJSON{inv, newGen})
	return nil
}

// deleteInventory is DELETE …/inventories/{class}; Placement answers a
// class in use with the concurrent_update code.
func (a *API) deleteInventory(w http.ResponseWriter, r *http.Request, q *request) error {
	u, class := r.PathValue("uuid"), r.PathValue("class")
	cur, err := a.Store.Provider(r.Context(), u)
	if err != nil {
		return err
	}
	if _, ok := cur.Inventories[class]; !ok {
		return notFound("No inventory of class %s found for delete: No inventory of class %s found.", class, class)
	}
	_, err = a.Store.SetInventories(r.Context(), u, &cur.Generation, compute.DeleteOnly, map[string]placement.Inventory{class: {}})
	if err != nil {
		return recode(err, fault.Conflict, compute.CodeConcurrentUpdate, "Unable to delete inventory of class "+class+": ")
	}
	noContent(w, http.StatusNoContent)
	return nil
}

// providerBody is the prologue of the inventory writes: the provider of
// the path (404 first, as Placement) and the body, checked against the
// fields allowed and those required.
func (a *API) providerBody(w http.ResponseWriter, r *http.Request, fields []string, required ...string) (compute.Provider, object, error) {
	cur, err := a.Store.Provider(r.Context(), r.PathValue("uuid"))
	if err != nil {
		return cur, nil, err
	}
	o, err := readObject(w, r)
	if err != nil {
		return cur, nil, err
	}
	return cur, o, o.check(fields, required...)
}
