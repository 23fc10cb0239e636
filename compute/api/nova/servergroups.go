package nova

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"

	"github.com/gostack/gostack/compute"
	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/httpapi"
)

func (a *API) serverGroupRoutes(rt *httpapi.Router) {
	rt.HandleFunc("GET /os-server-groups", a.op(a.listServerGroups))
	rt.HandleFunc("POST /os-server-groups", a.op(a.createServerGroup))
	rt.HandleFunc("GET /os-server-groups/{id}", a.op(a.showServerGroup))
	rt.HandleFunc("DELETE /os-server-groups/{id}", a.op(a.deleteServerGroup))
}

// serverGroupView is Nova's _format_server_group: policy and rules from
// 2.64 (policies and an empty metadata before), project and user from
// 2.13.
func serverGroupView(q *request, g compute.ServerGroup) map[string]any {
	members := make([]string, 0, len(g.Members))
	for _, m := range g.Members {
		members = append(members, m.InstanceUUID)
	}
	out := map[string]any{"id": g.ID, "name": g.Name, "members": members}
	if q.at(64) {
		rules := map[string]any{}
		for k, v := range g.Rules {
			rules[k] = v
		}
		out["policy"], out["rules"] = g.Policy, rules
	} else {
		out["policies"], out["metadata"] = []string{g.Policy}, map[string]any{}
	}
	if q.at(13) {
		out["project_id"], out["user_id"] = g.ProjectID, g.UserID
	}
	return out
}

func (a *API) listServerGroups(w http.ResponseWriter, r *http.Request, q *request) error {
	allowed := []string{"all_projects", "limit", "offset"}
	if err := checkQuery(r, q, allowed...); err != nil {
		return err
	}
	project := q.caller.ProjectID
	if err := a.authorize(r.Context(), q, "os_compute_api:os-server-groups:index", map[string]any{"project_id": project}); err != nil {
		return err
	}
	_, all := r.URL.Query()["all_projects"]
	all = all && q.admin
	if all {
		if err := a.authorize(r.Context(), q, "os_compute_api:os-server-groups:index:all_projects", map[string]any{"project_id": project}); err != nil {
			return err
		}
	}
	groups, err := a.Store.ServerGroups(r.Context(), q.viewer(), all)
	if err != nil {
		return err
	}
	// Nova's common.limited: offset, then at most limit (max_limit when
	// absent or 0).
	offset, limit := 0, maxLimit
	for _, p := range []struct {
		name string
		into *int
	}{{"offset", &offset}, {"limit", &limit}} {
		if s, ok := r.URL.Query()[p.name]; ok {
			n, err := strconv.Atoi(s[0])
			if err != nil || n < 0 {
				return badRequest("Invalid input for query parameters %s. Value: %s. %s does not match '^[0-9]*$'", p.name, s[0], py(s[0]))
			}
			if p.name == "limit" && n == 0 {
				n = maxLimit
			}
			*p.into = n
		}
	}
	limit = min(limit, maxLimit)
	groups = groups[min(offset, len(groups)):]
	groups = groups[:min(limit, len(groups))]
	list := make([]any, len(groups))
	for i, g := range groups {
		list[i] = serverGroupView(q, g)
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"server_groups": list})
	return nil
}

var (
	policies21  = []string{compute.AntiAffinity, compute.Affinity}
	policies215 = []string{compute.AntiAffinity, compute.Affinity, compute.SoftAntiAffinity, compute.SoftAffinity}
)

func (a *API) createServerGroup(w http.ResponseWriter, r *http.Request, q *request) error {
	project := q.caller.ProjectID
	if err := a.authorize(r.Context(), q, "os_compute_api:os-server-groups:create", map[string]any{"project_id": project}); err != nil {
		return err
	}
	v, err := readBody(w, r)
	if err != nil {
		return err
	}
	sg, err := topObject(v, "server_group")
	if err != nil {
		return err
	}
	g := compute.ServerGroup{ProjectID: project, UserID: q.caller.UserID}
	if q.at(64) {
		if err := sg.required("name", "policy"); err != nil {
			return err
		}
		if err := sg.only("name", "policy", "rules"); err != nil {
			return err
		}
		p, _, err := sg.str("policy")
		if err != nil {
			return err
		}
		if !slices.Contains(policies215, p) {
			return badRequest("Invalid input for field/attribute policy. Value: %s. %s is not one of %s", p, py(p), pyStrings(policies215))
		}
		g.Policy = p
		if raw, ok := sg.m["rules"]; ok {
			rules, ok := raw.(map[string]any)
			if !ok {
				return badRequest("Invalid input for field/attribute rules. Value: %s. %s is not of type 'object'", py(raw), py(raw))
			}
			if err := (object{m: rules, path: "rules"}).onlyAt("rules", "max_server_per_host"); err != nil {
				return err
			}
			g.Rules = map[string]int{}
			if v, ok := rules["max_server_per_host"]; ok {
				n, ok := positiveInt(v)
				if !ok {
					return badRequest("Invalid input for field/attribute max_server_per_host. Value: %s. %s is less than the minimum of 1", pyBare(v), py(v))
				}
				g.Rules[compute.MaxServerPerHost] = n
			}
		}
	} else {
		if err := sg.required("name", "policies"); err != nil {
			return err
		}
		if err := sg.only("name", "policies"); err != nil {
			return err
		}
		list, ok := sg.m["policies"].([]any)
		if !ok {
			return badRequest("Invalid input for field/attribute policies. Value: %s. %s is not of type 'array'", pyBare(sg.m["policies"]), py(sg.m["policies"]))
		}
		switch {
		case len(list) == 0:
			return badRequest("Invalid input for field/attribute policies. Value: []. [] is too short")
		case len(list) > 1:
			return badRequest("Invalid input for field/attribute policies. Value: %s. %s is too long", py(list), py(list))
		}
		allowed := policies21
		if q.at(15) {
			allowed = policies215
		}
		p, ok := list[0].(string)
		if !ok || !slices.Contains(allowed, p) {
			return badRequest("Invalid input for field/attribute 0. Value: %s. %s is not one of %s", pyBare(list[0]), py(list[0]), pyStrings(allowed))
		}
		g.Policy = p
	}
	name, _, err := sg.str("name")
	if err != nil {
		return err
	}
	g.Name = name
	g, err = a.Store.CreateServerGroup(r.Context(), g)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"server_group": serverGroupView(q, g)})
	return nil
}

func (a *API) showServerGroup(w http.ResponseWriter, r *http.Request, q *request) error {
	g, err := a.Store.ServerGroup(r.Context(), q.viewer(), r.PathValue("id"))
	if err != nil {
		return err
	}
	if err := a.authorize(r.Context(), q, "os_compute_api:os-server-groups:show", map[string]any{"project_id": g.ProjectID}); err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"server_group": serverGroupView(q, g)})
	return nil
}

func (a *API) deleteServerGroup(w http.ResponseWriter, r *http.Request, q *request) error {
	g, err := a.Store.ServerGroup(r.Context(), q.viewer(), r.PathValue("id"))
	if err != nil {
		return err
	}
	if err := a.authorize(r.Context(), q, "os_compute_api:os-server-groups:delete", map[string]any{"project_id": g.ProjectID}); err != nil {
		return err
	}
	if err := a.Store.DeleteServerGroup(r.Context(), q.viewer(), g.ID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// positiveInt is Nova's parameter_types.positive_integer: an integer, or
// a string of digits, of at least 1.
func positiveInt(v any) (int, bool) {
	var s string
	switch x := v.(type) {
	case json.Number:
		s = x.String()
	case string:
		s = x
	default:
		return 0, false
	}
	n, err := strconv.Atoi(s)
	return n, err == nil && n >= 1
}

// pyStrings prints a list of strings as Python does.
func pyStrings(items []string) string {
	a := make([]any, len(items))
	for i, s := range items {
		a[i] = s
	}
	return py(a)
}

// pyBare is a value as "Value: %s" shows it: a string without quotes.
func pyBare(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return py(v)
}

// onlyAt is only with Nova's message for a nested object, which names
// the field and shows its value.
func (o object) onlyAt(field string, allowed ...string) error {
	if err := o.only(allowed...); err != nil {
		return badRequest("Invalid input for field/attribute %s. Value: %s. %s", field, py(o.m), fault.Message(err))
	}
	return nil
}
