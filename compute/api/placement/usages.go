package placement

import (
	"maps"
	"net/http"
	"regexp"

	"github.com/gostack/gostack/kit/httpapi"
)

// consumerTypeQuery is GET /usages' consumer_type: a type, all or
// unknown.
var consumerTypeQuery = regexp.MustCompile(`^[A-Z0-9_]+$|^all|^unknown$`)

// totalUsages is GET /usages (1.9): a project's (or a project's user's)
// allocations summed by class; since 1.38 grouped by consumer type with
// a consumer_count each, consumer_type choosing a type, all or unknown.
func (a *API) totalUsages(w http.ResponseWriter, r *http.Request, q *request) error {
	qv := r.URL.Query()
	allowed := []string{"project_id", "user_id"}
	if q.at(38) {
		allowed = append(allowed, "consumer_type")
	}
	if err := checkParams(qv, allowed); err != nil {
		return err
	}
	if _, ok := qv["project_id"]; !ok {
		return queryError("'project_id' is a required property")
	}
	for _, k := range allowed {
		if _, ok := qv[k]; !ok {
			continue
		}
		v := last(qv, k)
		switch {
		case v == "":
			return queryError("'' is too short")
		case len([]rune(v)) > 255:
			return queryError("'%s' is too long", v)
		case k == "consumer_type" && !consumerTypeQuery.MatchString(v):
			return queryError("'%s' does not match '%s'", v, consumerTypeQuery)
		}
	}
	project, user := last(qv, "project_id"), last(qv, "user_id")
	if !q.at(38) {
		usages, err := a.Store.Usages(r.Context(), project, user, "")
		if err != nil {
			return err
		}
		q.modified(w, q.now)
		httpapi.WriteJSON(w, http.StatusOK, map[string]any{"usages": usages})
		return nil
	}
	byType, err := a.Store.UsagesByConsumerType(r.Context(), project, user)
	if err != nil {
		return err
	}
	out := map[string]map[string]int64{}
	want := last(qv, "consumer_type")
	for t, u := range byType {
		key := consumerType(t)
		switch {
		case want == "all":
			key = "all"
		case want != "" && key != want:
			continue
		}
		if out[key] == nil {
			out[key] = map[string]int64{"consumer_count": 0}
		}
		out[key]["consumer_count"] += u.Consumers
		for c, n := range maps.All(u.Usages) {
			out[key][c] += n
		}
	}
	q.modified(w, q.now)
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"usages": out})
	return nil
}
