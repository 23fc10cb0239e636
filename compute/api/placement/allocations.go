package placement

import (
	"maps"
	"math"
	"net/http"
	"regexp"
	"slices"

	"github.com/gostack/gostack/compute"
	"github.com/gostack/gostack/kit/httpapi"
)

// incompleteConsumer is Placement's incomplete_consumer_project_id and
// _user_id: who owns allocations written before 1.8 without them.
const incompleteConsumer = "00000000-0000-0000-0000-000000000000"

// groupPattern is a request group suffix since 1.33, also the keys of
// an allocation's mappings.
var groupPattern = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)

func (a *API) allocationRoutes(rt *httpapi.Router) {
	rt.HandleFunc("POST /allocations", a.op(ruleAllocManage, 13, a.postAllocations))
	rt.HandleFunc("GET /allocations/{consumer}", a.op(ruleAllocList, 0, a.showAllocations))
	rt.HandleFunc("PUT /allocations/{consumer}", a.op(ruleAllocUpdate, 0, a.putAllocations))
	rt.HandleFunc("DELETE /allocations/{consumer}", a.op(ruleAllocDelete, 0, a.deleteAllocations))
}

// consumerType is how Placement shows a consumer without a type.
func consumerType(t string) string {
	if t == "" {
		return "unknown"
	}
	return t
}

// showAllocations is GET /allocations/{consumer}: by provider, with the
// owner (1.12), the consumer's generation (1.28) and type (1.38) when
// it has allocations; an unknown consumer has none.
func (a *API) showAllocations(w http.ResponseWriter, r *http.Request, q *request) error {
	c, err := a.Store.Consumer(r.Context(), r.PathValue("consumer"))
	if err != nil {
		return err
	}
	allocs := map[string]any{}
	for p, pa := range c.Allocations {
		allocs[p] = map[string]any{"generation": pa.Generation, "resources": pa.Resources}
	}
	out := map[string]any{"allocations": allocs}
	if len(allocs) > 0 && q.at(12) {
		out["project_id"], out["user_id"] = c.ProjectID, c.UserID
		if q.at(28) {
			out["consumer_generation"] = c.Generation
		}
		if q.at(38) {
			out["consumer_type"] = consumerType(c.ConsumerType)
		}
	}
	q.modified(w, micros(c.UpdatedAt))
	httpapi.WriteJSON(w, http.StatusOK, out)
	return nil
}

// providerAllocations is GET /resource_providers/{uuid}/allocations: by
// consumer, with each consumer's generation since 1.28.
func (a *API) providerAllocations(w http.ResponseWriter, r *http.Request, q *request) error {
	allocs, gen, err := a.Store.ProviderAllocations(r.Context(), r.PathValue("uuid"))
	if err != nil {
		return err
	}
	out := map[string]any{}
	for _, c := range slices.Sorted(maps.Keys(allocs)) {
		entry := map[string]any{"resources": allocs[c]}
		if q.at(28) {
			cons, err := a.Store.Consumer(r.Context(), c)
			if err != nil {
				return err
			}
			entry["consumer_generation"] = cons.Generation
		}
		out[c] = entry
	}
	q.modified(w, q.now)
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"allocations": out, "resource_provider_generation": gen})
	return nil
}

// putAllocations is PUT /allocations/{consumer}: the consumer's whole
// set of allocations, in the body's form for the version (a list before
// 1.12, by provider since).
func (a *API) putAllocations(w http.ResponseWriter, r *http.Request, q *request) error {
	consumer := r.PathValue("consumer")
	if !isUUID(consumer) {
		return badRequest("Malformed consumer_uuid: %s", consumer)
	}
	o, err := readObject(w, r)
	if err != nil {
		return err
	}
	var c compute.Claim
	if q.at(12) {
		c, err = claimFrom(q, o, false)
	} else {
		c, err = listClaim(q, o)
	}
	if err != nil {
		return err
	}
	c.Consumer = normalUUID(consumer)
	if err := a.Store.Claim(r.Context(), c); err != nil {
		return err
	}
	noContent(w, http.StatusNoContent)
	return nil
}

// postAllocations is POST /allocations (1.13): the allocations of
// several consumers, written together or not at all.
func (a *API) postAllocations(w http.ResponseWriter, r *http.Request, q *request) error {
	o, err := readObject(w, r)
	if err != nil {
		return err
	}
	if len(o) == 0 {
		return invalid("{} does not have enough properties")
	}
	claims := make([]compute.Claim, 0, len(o))
	for _, consumer := range slices.Sorted(maps.Keys(o)) {
		if !uuidPattern.MatchString(consumer) {
			return invalid("%s", unexpected([]string{consumer}))
		}
		co, err := asObject(o[consumer])
		if err != nil {
			return err
		}
		c, err := claimFrom(q, co, true)
		if err != nil {
			return err
		}
		c.Consumer = consumer
		claims = append(claims, c)
	}
	if err := a.Store.ClaimAll(r.Context(), claims); err != nil {
		return err
	}
	noContent(w, http.StatusNoContent)
	return nil
}

// claimFrom reads one consumer's allocations in the form of 1.12 and
// later: {"allocations": {rp: {"resources": {...}}}, "project_id",
// "user_id"}, with consumer_generation (1.28), mappings (1.34) and
// consumer_type (1.38). Empty allocations remove the consumer's, which
// PUT allows since 1.28 and POST always.
func claimFrom(q *request, o object, post bool) (compute.Claim, error) {
	var c compute.Claim
	allowed := []string{"allocations", "project_id", "user_id"}
	required := slices.Clone(allowed)
	if q.at(28) {
		allowed, required = append(allowed, "consumer_generation"), append(required, "consumer_generation")
	}
	if q.at(34) {
		allowed = append(allowed, "mappings")
	}
	if q.at(38) {
		allowed, required = append(allowed, "consumer_type"), append(required, "consumer_type")
	}
	if err := o.check(allowed, required...); err != nil {
		return c, err
	}
	minProviders := 0
	if !post && !q.at(28) {
		minProviders = 1
	}
	var err error
	if c.Resources, err = allocationsByProvider(o["allocations"], minProviders); err != nil {
		return c, err
	}
	if c.ProjectID, err = o.str("project_id", 1, 255, nil); err != nil {
		return c, err
	}
	if c.UserID, err = o.str("user_id", 1, 255, nil); err != nil {
		return c, err
	}
	if q.at(28) {
		c.CheckGeneration = true
		if c.Generation, err = o.nullableInt("consumer_generation"); err != nil {
			return c, err
		}
	}
	if o.has("mappings") {
		if err := checkMappings(o["mappings"]); err != nil {
			return c, err
		}
	}
	if q.at(38) {
		if c.ConsumerType, err = o.str("consumer_type", 1, 255, consumerTypePattern); err != nil {
			return c, err
		}
	}
	return c, nil
}

// allocationsByProvider reads {rp_uuid: {"generation"?, "resources":
// {CLASS: n}}} with at least minProviders providers.
func allocationsByProvider(v any, minProviders int) (map[string]map[string]int64, error) {
	o, err := asObject(v)
	if err != nil {
		return nil, err
	}
	if len(o) < minProviders {
		return nil, invalid("%s does not have enough properties", repr(v))
	}
	out := map[string]map[string]int64{}
	for _, p := range slices.Sorted(maps.Keys(o)) {
		if !uuidPattern.MatchString(p) {
			return nil, invalid("%s", unexpected([]string{p}))
		}
		po, err := asObject(o[p])
		if err != nil {
			return nil, err
		}
		if err := po.check([]string{"generation", "resources"}, "resources"); err != nil {
			return nil, err
		}
		if po.has("generation") {
			if _, err := po.integer("generation", math.MinInt64, math.MaxInt64); err != nil {
				return nil, err
			}
		}
		if out[p], err = resourceAmounts(po["resources"]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// resourceAmounts reads {CLASS: n}: at least one class, amounts of 1 or
// more.
func resourceAmounts(v any) (map[string]int64, error) {
	o, err := asObject(v)
	if err != nil {
		return nil, err
	}
	if len(o) == 0 {
		return nil, invalid("{} does not have enough properties")
	}
	out := map[string]int64{}
	for _, c := range slices.Sorted(maps.Keys(o)) {
		if !classPattern.MatchString(c) {
			return nil, invalid("%s", unexpected([]string{c}))
		}
		if out[c], err = intValue(o[c], 1, math.MaxInt64); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// checkMappings holds mappings (1.34) to their schema; Placement stores
// nothing of them.
func checkMappings(v any) error {
	o, err := asObject(v)
	if err != nil {
		return err
	}
	if len(o) == 0 {
		return invalid("{} does not have enough properties")
	}
	for _, k := range slices.Sorted(maps.Keys(o)) {
		if !groupPattern.MatchString(k) {
			continue
		}
		l, err := listValue(o[k], 1)
		if err != nil {
			return err
		}
		for _, u := range l {
			if _, err := uuidValue(u); err != nil {
				return err
			}
		}
	}
	return nil
}

// listClaim reads the body of PUT /allocations/{consumer} before 1.12:
// {"allocations": [{"resource_provider": {"uuid"}, "resources"}]}, with
// project_id and user_id since 1.8 (the incomplete consumer's before).
func listClaim(q *request, o object) (compute.Claim, error) {
	c := compute.Claim{ProjectID: incompleteConsumer, UserID: incompleteConsumer, Resources: map[string]map[string]int64{}}
	allowed := []string{"allocations"}
	if q.at(8) {
		allowed = append(allowed, "project_id", "user_id")
	}
	if err := o.check(allowed, allowed...); err != nil {
		return c, err
	}
	l, err := o.list("allocations", 1)
	if err != nil {
		return c, err
	}
	for _, item := range l {
		io, err := asObject(item)
		if err != nil {
			return c, err
		}
		if err := io.check([]string{"resource_provider", "resources"}, "resource_provider", "resources"); err != nil {
			return c, err
		}
		rp, err := asObject(io["resource_provider"])
		if err != nil {
			return c, err
		}
		if err := rp.check([]string{"uuid"}, "uuid"); err != nil {
			return c, err
		}
		u, err := uuidValue(rp["uuid"])
		if err != nil {
			return c, err
		}
		if c.Resources[u], err = resourceAmounts(io["resources"]); err != nil {
			return c, err
		}
	}
	if q.at(8) {
		if c.ProjectID, err = o.str("project_id", 1, 255, nil); err != nil {
			return c, err
		}
		if c.UserID, err = o.str("user_id", 1, 255, nil); err != nil {
			return c, err
		}
	}
	return c, nil
}

func (a *API) deleteAllocations(w http.ResponseWriter, r *http.Request, q *request) error {
	if err := a.Store.DeleteAllocations(r.Context(), r.PathValue("consumer")); err != nil {
		return err
	}
	noContent(w, http.StatusNoContent)
	return nil
}
