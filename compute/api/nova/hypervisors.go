package nova

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"unicode/utf8"

	"github.com/gostack/gostack/compute"
	"github.com/gostack/gostack/compute/placement"
	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/httpapi"
)

// Nova's os-hypervisors (hypervisors.py): the compute nodes, each shown
// with the state and status of its host's compute service; a node whose
// service is gone is left out, as Nova leaves it. Until 2.88 the detail
// view has the node's resources: the used parts from Placement (the
// usages and reservations of the node's provider), running_vms and
// current_workload from the host's instances. There is no uptime: the
// compute agents do not report one, so GET …/uptime answers Nova's 501
// for a driver without it, and 2.88's uptime field is null.
func (a *API) hypervisorRoutes(rt *httpapi.Router) {
	rt.HandleFunc("GET /os-hypervisors", a.op(a.listHypervisors(false)))
	rt.HandleFunc("GET /os-hypervisors/detail", a.op(a.listHypervisors(true)))
	rt.HandleFunc("GET /os-hypervisors/statistics", a.op(a.hypervisorStatistics))
	rt.HandleFunc("GET /os-hypervisors/{id}", a.op(a.showHypervisor))
	rt.HandleFunc("GET /os-hypervisors/{id}/uptime", a.op(a.hypervisorUptime))
	rt.HandleFunc("GET /os-hypervisors/{id}/search", a.op(a.searchHypervisors(false)))
	rt.HandleFunc("GET /os-hypervisors/{id}/servers", a.op(a.searchHypervisors(true)))
}

// until answers 404 after 2.last, as Nova's version-gated methods do.
func until(q *request, last int) error {
	if q.at(last + 1) {
		return notFound("The resource could not be found.")
	}
	return nil
}

// hypervisor is a node with what its view needs.
type hypervisor struct {
	node      compute.ComputeNode
	service   compute.Service
	usage     compute.NodeUsage
	instances []compute.Instance // the host's, when the view needs them
}

// used are the node's used and free figures as Nova's resource tracker
// kept them: VCPUs allocated; memory and disk allocated plus reserved
// (reserved_host_memory_mb, reserved_host_disk_mb); free the rest; the
// instances it tracks (all but those whose resources may go:
// vm_states.allow_resource_removal) and, of those, the ones with a task
// under way (Stats.calculate_workload).
func (h hypervisor) used() map[string]int64 {
	inv, use := h.usage.Inventories, h.usage.Usages
	mem := inv[placement.MemoryMB].Reserved + use[placement.MemoryMB]
	disk := inv[placement.DiskGB].Reserved + use[placement.DiskGB]
	var running, busy int64
	for _, i := range h.instances {
		if i.VMState == compute.Deleted || i.VMState == compute.ShelvedOffloaded && i.TaskState != compute.Spawning {
			continue
		}
		running++
		if i.TaskState != compute.NoTask {
			busy++
		}
	}
	return map[string]int64{"vcpus_used": use[placement.VCPU], "memory_mb_used": mem, "local_gb_used": disk,
		"free_ram_mb": h.node.MemoryMB - mem, "free_disk_gb": h.node.LocalGB - disk,
		"current_workload": busy, "running_vms": running}
}

// view is Nova's _view_hypervisor.
func (h hypervisor) view(q *request, detail, withServers bool) map[string]any {
	n, sv := h.node, h.service
	out := map[string]any{"id": n.ID, "hypervisor_hostname": n.HypervisorHostname, "state": "down", "status": "enabled"}
	if q.at(53) {
		out["id"] = n.UUID
	}
	if sv.Up(q.now, 0) {
		out["state"] = "up"
	}
	if sv.Disabled {
		out["status"] = "disabled"
	}
	if detail {
		out["hypervisor_type"], out["hypervisor_version"], out["host_ip"] = n.HypervisorType, n.HypervisorVersion, nil
		if n.HostIP != "" {
			out["host_ip"] = n.HostIP
		}
		service := map[string]any{"id": sv.ID, "host": n.Host, "disabled_reason": nil}
		if q.at(53) {
			service["id"] = sv.UUID
		}
		if sv.DisabledReason != "" {
			service["disabled_reason"] = sv.DisabledReason
		}
		out["service"] = service
	}
	if detail && !q.at(88) {
		out["vcpus"], out["memory_mb"], out["local_gb"], out["disk_available_least"] = n.VCPUs, n.MemoryMB, n.LocalGB, n.DiskAvailableLeast
		for k, v := range h.used() {
			out[k] = v
		}
		out["cpu_info"] = cpuInfo(q, n.CPUInfo)
	}
	if detail && q.at(88) {
		out["uptime"] = nil
	}
	// The host's servers when asked for; an empty list only from 2.75.
	if withServers && (len(h.instances) > 0 || q.at(75)) {
		servers := make([]any, len(h.instances))
		for i, in := range h.instances {
			servers[i] = map[string]any{"name": in.Name, "uuid": in.UUID}
		}
		out["servers"] = servers
	}
	return out
}

// cpuInfo is the driver's text before 2.28, its JSON object from it ({}
// for none).
func cpuInfo(q *request, text string) any {
	if !q.at(28) {
		return text
	}
	var v any = map[string]any{}
	if text != "" {
		if err := json.Unmarshal([]byte(text), &v); err != nil {
			return map[string]any{} // ReportNode stores JSON only
		}
	}
	return v
}

// hypervisors joins nodes with their hosts' compute services (leaving
// out the nodes without one), and, for detail views before 2.88, with
// their Placement usages; with their hosts' instances for those views
// and when servers are asked for.
func (a *API) hypervisors(ctx context.Context, q *request, nodes []compute.ComputeNode, detail, servers bool) ([]hypervisor, error) {
	svcs, err := a.Store.Services(ctx, compute.NovaCompute, "")
	if err != nil {
		return nil, err
	}
	byHost := map[string]compute.Service{}
	for _, sv := range svcs {
		byHost[sv.Host] = sv
	}
	var usages map[string]compute.NodeUsage
	if detail && !q.at(88) {
		uuids := make([]string, len(nodes))
		for i, n := range nodes {
			uuids[i] = n.UUID
		}
		if usages, err = a.Store.NodeUsages(ctx, uuids); err != nil {
			return nil, err
		}
	}
	out := []hypervisor{}
	for _, n := range nodes {
		sv, ok := byHost[n.Host]
		if !ok {
			continue
		}
		h := hypervisor{node: n, service: sv, usage: usages[n.UUID]}
		if servers || detail && !q.at(88) {
			if h.instances, err = a.Store.HostInstances(ctx, n.Host); err != nil {
				return nil, err
			}
		}
		out = append(out, h)
	}
	return out, nil
}

// queryItems checks each value of a query parameter with check, then
// (single) that there is one: Nova's single_param and multi_params
// schemas, items first.
func queryItems(r *http.Request, key string, single bool, check func(string) error) error {
	vs, ok := r.URL.Query()[key]
	if !ok {
		return nil
	}
	for _, v := range vs {
		if err := check(v); err != nil {
			return err
		}
	}
	if single && len(vs) > 1 {
		list := make([]any, len(vs))
		for i, v := range vs {
			list[i] = v
		}
		return badRequest("Invalid input for query parameters %s. Value: %s. %s is too long", key, py(list), py(list))
	}
	return nil
}

var digits = regexp.MustCompile(`^[0-9]*$`)

// nonNegative is parameter_types.non_negative_integer for a query value.
func nonNegative(key string) func(string) error {
	return func(v string) error {
		switch {
		case !digits.MatchString(v):
			return badRequest("Invalid input for query parameters %s. Value: %s. %s does not match '^[0-9]*$'", key, v, py(v))
		case v == "":
			return badRequest("Invalid input for query parameters %s. Value: . '' is too short", key)
		}
		return nil
	}
}

func anyString(string) error { return nil }

var fqdnChars = regexp.MustCompile(`^[a-zA-Z0-9-._]*$`)

// fqdnQuery is parameter_types.fqdn for a query value.
func fqdnQuery(key string) func(string) error {
	return func(v string) error {
		switch n := utf8.RuneCountInString(v); {
		case n == 0:
			return badRequest("Invalid input for query parameters %s. Value: . '' is too short", key)
		case n > 255:
			return badRequest("Invalid input for query parameters %s. Value: %s. %s is too long", key, v, py(v))
		case !fqdnChars.MatchString(v):
			return badRequest("Invalid input for query parameters %s. Value: %s. %s does not match '^[a-zA-Z0-9-._]*$'", key, v, py(v))
		}
		return nil
	}
}

// booleanQuery is parameter_types.boolean for a query value.
func booleanQuery(key string) func(string) error {
	return func(v string) error {
		_, err := boolValue("query parameters "+key, v)
		return err
	}
}

// hypervisorQuery is the list's query (Nova's list_query_schema_v253
// from 2.53, checked in its order, then unknown parameters; 2.33's
// paging parameters are checked without refusing others): the pattern
// and with_servers (from 2.53).
func hypervisorQuery(r *http.Request, q *request) (pattern *string, withServers bool, err error) {
	if !q.at(33) {
		return nil, false, nil
	}
	if err := queryItems(r, "limit", q.at(53), nonNegative("limit")); err != nil {
		return nil, false, err
	}
	if err := queryItems(r, "marker", q.at(53), anyString); err != nil {
		return nil, false, err
	}
	if !q.at(53) {
		return nil, false, nil
	}
	if err := queryItems(r, "hypervisor_hostname_pattern", true, fqdnQuery("hypervisor_hostname_pattern")); err != nil {
		return nil, false, err
	}
	if err := queryItems(r, "with_servers", true, booleanQuery("with_servers")); err != nil {
		return nil, false, err
	}
	if err := strictQuery(r, "limit", "marker", "hypervisor_hostname_pattern", "with_servers"); err != nil {
		return nil, false, err
	}
	query := r.URL.Query()
	if vs, ok := query["hypervisor_hostname_pattern"]; ok {
		pattern = &vs[0]
	}
	if vs, ok := query["with_servers"]; ok {
		withServers, _ = boolValue("", vs[0])
	}
	return pattern, withServers, nil
}

// listHypervisors is GET /os-hypervisors and …/detail: paged from 2.33
// (by id, the marker a uuid or an integer id), searched by hostname
// pattern from 2.53 (not paged).
func (a *API) listHypervisors(detail bool) handler {
	rule, collection := "os_compute_api:os-hypervisors:list", "os-hypervisors"
	if detail {
		rule, collection = "os_compute_api:os-hypervisors:list-detail", "os-hypervisors/detail"
	}
	return func(w http.ResponseWriter, r *http.Request, q *request) error {
		pattern, withServers, err := hypervisorQuery(r, q)
		if err != nil {
			return err
		}
		if err := a.authorize(r.Context(), q, rule, noTarget()); err != nil {
			return err
		}
		var nodes []compute.ComputeNode
		paged := q.at(33) && pattern == nil
		switch {
		case pattern != nil:
			if _, limited := r.URL.Query()["limit"]; limited || r.URL.Query().Get("marker") != "" {
				return badRequest("Paging over hypervisors with the hypervisor_hostname_pattern query parameter is not supported.")
			}
			if nodes, err = a.matchingNodes(r.Context(), *pattern); err != nil {
				return err
			}
		case paged:
			if nodes, err = a.nodePage(r); err != nil {
				return err
			}
		default:
			if nodes, err = a.Store.Nodes(r.Context(), 0, 0); err != nil {
				return err
			}
		}
		hs, err := a.hypervisors(r.Context(), q, nodes, detail, withServers)
		if err != nil {
			return err
		}
		list := make([]any, len(hs))
		for i, h := range hs {
			list[i] = h.view(q, detail, withServers)
		}
		body := map[string]any{"hypervisors": list}
		if paged && len(list) > 0 {
			last := fmt.Sprint(list[len(list)-1].(map[string]any)["id"])
			if l := nextLinks(r, collection, len(list), last); l != nil {
				body["hypervisors_links"] = l
			}
		}
		httpapi.WriteJSON(w, http.StatusOK, body)
		return nil
	}
}

// nodePage is a page of nodes after the marker (Nova's
// compute_node_get_all: a uuid marker, or an integer id).
func (a *API) nodePage(r *http.Request) ([]compute.ComputeNode, error) {
	limit, marker, err := pageLimit(r)
	if err != nil {
		return nil, err
	}
	var after int64
	if marker != "" {
		missing := badRequest("marker [%s] not found", marker)
		var n compute.ComputeNode
		switch id, perr := strconv.ParseInt(marker, 10, 64); {
		case isUUIDLike(marker):
			n, err = a.Store.Node(r.Context(), marker)
		case perr == nil:
			n, err = a.Store.NodeByID(r.Context(), id)
		default:
			return nil, missing
		}
		if fault.KindOf(err) == fault.NotFound {
			return nil, missing
		} else if err != nil {
			return nil, err
		}
		after = n.ID
	}
	if limit == 0 {
		return nil, nil
	}
	return a.Store.Nodes(r.Context(), after, limit)
}

// matchingNodes is Nova's search by hostname pattern: a 404 when none.
func (a *API) matchingNodes(ctx context.Context, pattern string) ([]compute.ComputeNode, error) {
	nodes, err := a.Store.NodesMatching(ctx, pattern)
	if err != nil {
		return nil, err
	}
	if len(nodes) == 0 {
		return nil, notFound("No hypervisor matching '%s' could be found.", pattern)
	}
	return nodes, nil
}

// searchHypervisors is GET /os-hypervisors/{pattern}/search and
// …/servers, before 2.53.
func (a *API) searchHypervisors(servers bool) handler {
	rule := "os_compute_api:os-hypervisors:search"
	if servers {
		rule = "os_compute_api:os-hypervisors:servers"
	}
	return func(w http.ResponseWriter, r *http.Request, q *request) error {
		if err := until(q, 52); err != nil {
			return err
		}
		if err := a.authorize(r.Context(), q, rule, noTarget()); err != nil {
			return err
		}
		nodes, err := a.matchingNodes(r.Context(), r.PathValue("id"))
		if err != nil {
			return err
		}
		hs, err := a.hypervisors(r.Context(), q, nodes, false, servers)
		if err != nil {
			return err
		}
		list := make([]any, len(hs))
		for i, h := range hs {
			list[i] = h.view(q, false, servers)
		}
		httpapi.WriteJSON(w, http.StatusOK, map[string]any{"hypervisors": list})
		return nil
	}
}

// hypervisorByID is the node of the path's id (a uuid from 2.53, an
// integer before) with its compute service: Nova's _validate_id, then
// the node and its service, each missing one a 404.
func (a *API) hypervisorByID(r *http.Request, q *request, detail, servers bool) (hypervisor, error) {
	id := r.PathValue("id")
	missing := notFound("Hypervisor with ID '%s' could not be found.", id)
	var n compute.ComputeNode
	var err error
	if q.at(53) {
		if !isUUIDLike(id) {
			return hypervisor{}, badRequest("Invalid uuid %s", id)
		}
		n, err = a.Store.Node(r.Context(), id)
	} else {
		i, perr := integerID(id)
		if perr != nil {
			return hypervisor{}, missing
		}
		n, err = a.Store.NodeByID(r.Context(), i)
	}
	if fault.KindOf(err) == fault.NotFound {
		return hypervisor{}, missing
	} else if err != nil {
		return hypervisor{}, err
	}
	hs, err := a.hypervisors(r.Context(), q, []compute.ComputeNode{n}, detail, servers)
	if err != nil {
		return hypervisor{}, err
	}
	if len(hs) == 0 {
		return hypervisor{}, missing
	}
	return hs[0], nil
}

// showHypervisor is GET /os-hypervisors/{id}, the detail view
// (with_servers from 2.53).
func (a *API) showHypervisor(w http.ResponseWriter, r *http.Request, q *request) error {
	withServers := false
	if q.at(53) {
		if err := queryItems(r, "with_servers", true, booleanQuery("with_servers")); err != nil {
			return err
		}
		if err := strictQuery(r, "with_servers"); err != nil {
			return err
		}
		if vs := r.URL.Query()["with_servers"]; len(vs) > 0 {
			withServers, _ = boolValue("", vs[0])
		}
	}
	if err := a.authorize(r.Context(), q, "os_compute_api:os-hypervisors:show", noTarget()); err != nil {
		return err
	}
	h, err := a.hypervisorByID(r, q, true, withServers)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"hypervisor": h.view(q, true, withServers)})
	return nil
}

// hypervisorUptime is GET /os-hypervisors/{id}/uptime until 2.87: a
// down host is Nova's ComputeServiceUnavailable, an up one Nova's 501
// for a driver without uptime (the agents report none).
func (a *API) hypervisorUptime(w http.ResponseWriter, r *http.Request, q *request) error {
	if err := until(q, 87); err != nil {
		return err
	}
	if err := a.authorize(r.Context(), q, "os_compute_api:os-hypervisors:uptime", noTarget()); err != nil {
		return err
	}
	h, err := a.hypervisorByID(r, q, false, false)
	if err != nil {
		return err
	}
	if !h.service.Up(q.now, 0) {
		return badRequest("Compute service of %s is unavailable at this time.", h.node.Host)
	}
	return fault.New(fault.NotImplemented, "The requested functionality is not supported.")
}

// hypervisorStatistics is GET /os-hypervisors/statistics until 2.87:
// Nova's compute_node_statistics, the sums over the nodes whose compute
// service is enabled.
func (a *API) hypervisorStatistics(w http.ResponseWriter, r *http.Request, q *request) error {
	if err := until(q, 87); err != nil {
		return err
	}
	if err := a.authorize(r.Context(), q, "os_compute_api:os-hypervisors:statistics", noTarget()); err != nil {
		return err
	}
	nodes, err := a.Store.Nodes(r.Context(), 0, 0)
	if err != nil {
		return err
	}
	hs, err := a.hypervisors(r.Context(), q, nodes, true, false)
	if err != nil {
		return err
	}
	stats := map[string]int64{"count": 0, "vcpus": 0, "memory_mb": 0, "local_gb": 0, "vcpus_used": 0, "memory_mb_used": 0,
		"local_gb_used": 0, "free_ram_mb": 0, "free_disk_gb": 0, "current_workload": 0, "running_vms": 0, "disk_available_least": 0}
	for _, h := range hs {
		if h.service.Disabled {
			continue
		}
		stats["count"]++
		stats["vcpus"] += h.node.VCPUs
		stats["memory_mb"] += h.node.MemoryMB
		stats["local_gb"] += h.node.LocalGB
		if least := h.node.DiskAvailableLeast; least != nil {
			stats["disk_available_least"] += *least
		}
		for k, v := range h.used() {
			stats[k] += v
		}
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"hypervisor_statistics": stats})
	return nil
}
