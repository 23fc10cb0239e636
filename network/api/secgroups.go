package api

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/httpapi"
	"github.com/gostack/gostack/network"
)

func (a *API) securityGroupRoutes(rt *httpapi.Router) {
	rt.HandleFunc("POST /v2.0/security-groups", a.authed(a.createSecurityGroup))
	rt.HandleFunc("GET /v2.0/security-groups", a.authed(a.listSecurityGroups))
	rt.HandleFunc("GET /v2.0/security-groups/{id}", a.authed(a.showSecurityGroup))
	rt.HandleFunc("PUT /v2.0/security-groups/{id}", a.authed(a.updateSecurityGroup))
	rt.HandleFunc("DELETE /v2.0/security-groups/{id}", a.authed(a.deleteSecurityGroup))
	rt.HandleFunc("POST /v2.0/security-group-rules", a.authed(a.createSecurityGroupRule))
	rt.HandleFunc("GET /v2.0/security-group-rules", a.authed(a.listSecurityGroupRules))
	rt.HandleFunc("GET /v2.0/security-group-rules/{id}", a.authed(a.showSecurityGroupRule))
	rt.HandleFunc("DELETE /v2.0/security-group-rules/{id}", a.authed(a.deleteSecurityGroupRule))
}

func sgTarget(g network.SecurityGroup) map[string]any {
	return map[string]any{"id": g.ID, "tenant_id": g.ProjectID, "project_id": g.ProjectID}
}

// ruleTarget is what Neutron's rule policies read: the rule's owner and
// its group's (the sg_owner rule).
func ruleTarget(r network.SecurityGroupRule, groupProject string) map[string]any {
	return map[string]any{"id": r.ID, "tenant_id": r.ProjectID, "project_id": r.ProjectID, "security_group_id": r.SecurityGroupID,
		"security_group:tenant_id": groupProject, "security_group:project_id": groupProject}
}

func renderSG(g network.SecurityGroup) map[string]any {
	rules := make([]map[string]any, len(g.Rules))
	for i, r := range g.Rules {
		rules[i] = renderRule(r)
	}
	return map[string]any{
		"id": g.ID, "name": g.Name, "description": g.Description, "tenant_id": g.ProjectID, "project_id": g.ProjectID,
		"stateful": *g.Stateful, "shared": false, "security_group_rules": rules, "tags": tagList(g.Tags),
		"revision_number": g.Revision, "created_at": isoTime(g.CreatedAt), "updated_at": isoTime(g.UpdatedAt),
	}
}

// renderRule is a rule as Neutron shows it: null for what matches
// anything.
func renderRule(r network.SecurityGroupRule) map[string]any {
	orNull := func(s string) any {
		if s == "" {
			return nil
		}
		return s
	}
	port := func(p *int) any {
		if p == nil {
			return nil
		}
		return *p
	}
	return map[string]any{
		"id": r.ID, "tenant_id": r.ProjectID, "project_id": r.ProjectID, "security_group_id": r.SecurityGroupID,
		"direction": r.Direction, "ethertype": r.Ethertype, "protocol": orNull(r.Protocol),
		"port_range_min": port(r.PortRangeMin), "port_range_max": port(r.PortRangeMax),
		"remote_ip_prefix": orNull(r.RemoteIPPrefix), "normalized_cidr": orNull(r.NormalizedCIDR),
		"remote_group_id": orNull(r.RemoteGroupID), "remote_address_group_id": nil, "description": r.Description,
		"revision_number": r.Revision, "created_at": isoTime(r.CreatedAt), "updated_at": isoTime(r.UpdatedAt),
	}
}

func (a *API) viewSGs(ctx context.Context, q *request, gs []network.SecurityGroup) []map[string]any {
	out := make([]map[string]any, 0, len(gs))
	for _, g := range gs {
		if t := sgTarget(g); a.allowed(ctx, q, "get_security_group", t) {
			out = append(out, a.hide(ctx, q, "get_security_group", renderSG(g), t))
		}
	}
	return out
}

func (a *API) createSecurityGroup(w http.ResponseWriter, r *http.Request, q *request) {
	ctx := r.Context()
	attrs, err := decode(w, r, "security_group")
	if err == nil {
		err = known(attrs, "name", "description", "stateful", "tenant_id", "project_id")
	}
	var g network.SecurityGroup
	if err == nil {
		g, err = parseSG(attrs, q)
	}
	if err != nil {
		fail(w, r, err)
		return
	}
	t := sgTarget(g)
	if !a.allowed(ctx, q, "create_security_group", t) {
		fail(w, r, notAuthorized("create_security_group"))
		return
	}
	if err := a.checkAttrs(ctx, q, "create_security_group", attrs, t); err != nil {
		fail(w, r, err)
		return
	}
	if g, err = a.Store.CreateSecurityGroup(ctx, q.viewer(), g); err != nil {
		fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusCreated, map[string]any{"security_group": a.hide(ctx, q, "get_security_group", renderSG(g), sgTarget(g))})
}

func parseSG(attrs map[string]any, q *request) (network.SecurityGroup, error) {
	var g network.SecurityGroup
	var err error
	if g.ProjectID, err = owner(attrs, q); err != nil {
		return g, err
	}
	u, err := parseSGUpdate(attrs)
	if err != nil {
		return g, err
	}
	set(&g.Name, u.Name)
	set(&g.Description, u.Description)
	g.Stateful = u.Stateful
	return g, nil
}

func set[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

func parseSGUpdate(attrs map[string]any) (network.SecurityGroupUpdate, error) {
	var u network.SecurityGroupUpdate
	var err error
	if u.Name, err = str(attrs, "name", 255); err != nil {
		return u, err
	}
	if u.Description, err = str(attrs, "description", 255); err != nil {
		return u, err
	}
	u.Stateful, err = boolean(attrs, "stateful")
	return u, err
}

func (a *API) listSecurityGroups(w http.ResponseWriter, r *http.Request, q *request) {
	lp, err := a.parseList(r)
	if err != nil {
		fail(w, r, err)
		return
	}
	gs, more, err := a.Store.ListSecurityGroups(r.Context(), q.viewer(), lp.filter, lp.page)
	if err != nil {
		fail(w, r, err)
		return
	}
	writeList(w, r, lp, "security_groups", a.viewSGs(r.Context(), q, gs), more)
}

// loadSG returns the group of the path if the caller may get it.
func (a *API) loadSG(ctx context.Context, r *http.Request, q *request) (network.SecurityGroup, error) {
	return loadVisible(ctx, a, r, q, "security_group", a.Store.GetSecurityGroup, sgTarget)
}

func (a *API) showSecurityGroup(w http.ResponseWriter, r *http.Request, q *request) {
	g, err := a.loadSG(r.Context(), r, q)
	if err != nil {
		fail(w, r, err)
		return
	}
	lp, _ := a.parseList(r)
	item := a.hide(r.Context(), q, "get_security_group", renderSG(g), sgTarget(g))
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"security_group": pick(item, lp.fields)})
}

func (a *API) updateSecurityGroup(w http.ResponseWriter, r *http.Request, q *request) {
	ctx := r.Context()
	g, err := a.loadSG(ctx, r, q)
	if err != nil {
		fail(w, r, err)
		return
	}
	attrs, err := decode(w, r, "security_group")
	if err == nil {
		err = known(attrs, "name", "description", "stateful")
	}
	var u network.SecurityGroupUpdate
	if err == nil {
		u, err = parseSGUpdate(attrs)
	}
	if err != nil {
		fail(w, r, err)
		return
	}
	t := sgTarget(g)
	if !a.allowed(ctx, q, "update_security_group", t) {
		fail(w, r, notAuthorized("update_security_group"))
		return
	}
	if err := a.checkAttrs(ctx, q, "update_security_group", attrs, t); err != nil {
		fail(w, r, err)
		return
	}
	v := q.viewer()
	v.Admin = true // the policy decided
	if g, err = a.Store.UpdateSecurityGroup(ctx, v, g.ID, u); err != nil {
		fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"security_group": a.hide(ctx, q, "get_security_group", renderSG(g), sgTarget(g))})
}

func (a *API) deleteSecurityGroup(w http.ResponseWriter, r *http.Request, q *request) {
	ctx := r.Context()
	g, err := a.loadSG(ctx, r, q)
	if err != nil {
		fail(w, r, err)
		return
	}
	if !a.allowed(ctx, q, "delete_security_group", sgTarget(g)) {
		fail(w, r, notAuthorized("delete_security_group"))
		return
	}
	// The caller as it is: only an admin deletes a default group.
	if err := a.Store.DeleteSecurityGroup(ctx, q.viewer(), g.ID); err != nil {
		fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// groupProjects returns the project of each group ids names (gone groups
// left out), for the rules' policy targets.
func (a *API) groupProjects(ctx context.Context, rules []network.SecurityGroupRule) (map[string]string, error) {
	out := map[string]string{}
	for _, r := range rules {
		if _, ok := out[r.SecurityGroupID]; ok {
			continue
		}
		g, err := a.Store.GetSecurityGroup(ctx, network.Viewer{Admin: true}, r.SecurityGroupID)
		if err != nil && fault.KindOf(err) != fault.NotFound {
			return nil, err
		}
		out[r.SecurityGroupID] = g.ProjectID
	}
	return out, nil
}

func (a *API) createSecurityGroupRule(w http.ResponseWriter, r *http.Request, q *request) {
	ctx := r.Context()
	attrs, err := decode(w, r, "security_group_rule")
	if err == nil {
		err = known(attrs, "security_group_id", "direction", "protocol", "port_range_min", "port_range_max", "ethertype",
			"remote_ip_prefix", "remote_group_id", "description", "tenant_id", "project_id")
	}
	var rule network.SecurityGroupRule
	if err == nil {
		rule, err = parseRule(attrs, q)
	}
	var g network.SecurityGroup
	if err == nil {
		// The group the caller names must be one it sees.
		g, err = a.Store.GetSecurityGroup(ctx, q.viewer(), rule.SecurityGroupID)
	}
	if err != nil {
		fail(w, r, err)
		return
	}
	target := rule
	if target.ProjectID == "" {
		target.ProjectID = g.ProjectID
	}
	t := ruleTarget(target, g.ProjectID)
	if !a.allowed(ctx, q, "create_security_group_rule", t) {
		fail(w, r, notAuthorized("create_security_group_rule"))
		return
	}
	if err := a.checkAttrs(ctx, q, "create_security_group_rule", attrs, t); err != nil {
		fail(w, r, err)
		return
	}
	if rule, err = a.Store.CreateSecurityGroupRule(ctx, q.viewer(), rule); err != nil {
		fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusCreated, map[string]any{
		"security_group_rule": a.hide(ctx, q, "get_security_group_rule", renderRule(rule), ruleTarget(rule, g.ProjectID))})
}

// parseRule reads a rule's attributes as Neutron's converters take them;
// the store checks the values.
func parseRule(attrs map[string]any, q *request) (network.SecurityGroupRule, error) {
	var rule network.SecurityGroupRule
	_, tenant := attrs["tenant_id"]
	_, project := attrs["project_id"]
	if tenant || project {
		// Without one, the rule is the group's project's.
		p, err := owner(attrs, q)
		if err != nil {
			return rule, err
		}
		rule.ProjectID = p
	}
	for _, f := range []struct {
		key string
		max int
		dst *string
	}{{"security_group_id", 36, &rule.SecurityGroupID}, {"direction", 255, &rule.Direction},
		{"remote_group_id", 36, &rule.RemoteGroupID}, {"description", 255, &rule.Description}} {
		if attrs[f.key] == nil {
			continue
		}
		s, err := str(attrs, f.key, f.max)
		if err != nil {
			return rule, err
		}
		*f.dst = *s
	}
	// Neutron converts protocol, ethertype and remote_ip_prefix from any
	// JSON value; what is not text is refused by the store's checks.
	if v, ok := attrs["protocol"]; ok && v != nil {
		rule.Protocol = jsonText(v)
	}
	if v, ok := attrs["ethertype"]; ok {
		rule.Ethertype = jsonText(v)
		if v == nil {
			rule.Ethertype = "None"
		}
	}
	if v, ok := attrs["remote_ip_prefix"]; ok && v != nil {
		rule.RemoteIPPrefix = jsonText(v)
	}
	var err error
	if rule.PortRangeMin, err = portValue(attrs, "port_range_min"); err != nil {
		return rule, err
	}
	rule.PortRangeMax, err = portValue(attrs, "port_range_max")
	return rule, err
}

// jsonText is a JSON value as text: a string as it is, an integral
// number in decimal.
func jsonText(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		if x == float64(int64(x)) {
			return strconv.FormatInt(int64(x), 10)
		}
	}
	return fmt.Sprint(v)
}

// portValue is Neutron's convert_validate_port_value: a number or a
// numeric string (the store checks the range).
func portValue(attrs map[string]any, key string) (*int, error) {
	v := attrs[key]
	if v == nil {
		return nil, nil
	}
	n, err := strconv.Atoi(strings.TrimSpace(jsonText(v)))
	if _, isBool := v.(bool); err != nil || isBool {
		return nil, network.InvalidPortValue(v)
	}
	return &n, nil
}

func (a *API) viewRules(ctx context.Context, q *request, rules []network.SecurityGroupRule) ([]map[string]any, error) {
	projects, err := a.groupProjects(ctx, rules)
	if err != nil {
		return nil, err
	}
	out := make([]map[string]any, 0, len(rules))
	for _, r := range rules {
		if t := ruleTarget(r, projects[r.SecurityGroupID]); a.allowed(ctx, q, "get_security_group_rule", t) {
			out = append(out, a.hide(ctx, q, "get_security_group_rule", renderRule(r), t))
		}
	}
	return out, nil
}

func (a *API) listSecurityGroupRules(w http.ResponseWriter, r *http.Request, q *request) {
	lp, err := a.parseList(r)
	if err != nil {
		fail(w, r, err)
		return
	}
	rules, more, err := a.Store.ListSecurityGroupRules(r.Context(), q.viewer(), lp.filter, lp.page)
	if err != nil {
		fail(w, r, err)
		return
	}
	items, err := a.viewRules(r.Context(), q, rules)
	if err != nil {
		fail(w, r, err)
		return
	}
	writeList(w, r, lp, "security_group_rules", items, more)
}

// loadRule returns the rule of the path and its group's project if the
// caller may get it.
func (a *API) loadRule(ctx context.Context, r *http.Request, q *request) (network.SecurityGroupRule, string, error) {
	rule, err := a.Store.GetSecurityGroupRule(ctx, q.viewer(), r.PathValue("id"))
	if err != nil {
		return rule, "", err
	}
	projects, err := a.groupProjects(ctx, []network.SecurityGroupRule{rule})
	if err != nil {
		return rule, "", err
	}
	if !a.allowed(ctx, q, "get_security_group_rule", ruleTarget(rule, projects[rule.SecurityGroupID])) {
		return rule, "", network.NotFound("security_group_rule", rule.ID)
	}
	return rule, projects[rule.SecurityGroupID], nil
}

func (a *API) showSecurityGroupRule(w http.ResponseWriter, r *http.Request, q *request) {
	rule, project, err := a.loadRule(r.Context(), r, q)
	if err != nil {
		fail(w, r, err)
		return
	}
	lp, _ := a.parseList(r)
	item := a.hide(r.Context(), q, "get_security_group_rule", renderRule(rule), ruleTarget(rule, project))
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"security_group_rule": pick(item, lp.fields)})
}

func (a *API) deleteSecurityGroupRule(w http.ResponseWriter, r *http.Request, q *request) {
	ctx := r.Context()
	rule, project, err := a.loadRule(ctx, r, q)
	if err != nil {
		fail(w, r, err)
		return
	}
	if !a.allowed(ctx, q, "delete_security_group_rule", ruleTarget(rule, project)) {
		fail(w, r, notAuthorized("delete_security_group_rule"))
		return
	}
	v := q.viewer()
	v.Admin = true // the policy decided
	if err := a.Store.DeleteSecurityGroupRule(ctx, v, rule.ID); err != nil {
		fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
