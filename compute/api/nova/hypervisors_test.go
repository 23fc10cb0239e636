package nova_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/gostack/gostack/compute"
	"github.com/gostack/gostack/compute/placement"
)

// node reports host's compute node: 8 VCPUs, 16 GiB (512 MB reserved),
// 100 GB.
func (c *client) node(t *testing.T, host string) compute.ComputeNode {
	t.Helper()
	least := int64(90)
	n := compute.ComputeNode{Host: host, HypervisorHostname: host + ".example", HypervisorType: "QEMU", HypervisorVersion: 8002000,
		HostIP: "192.0.2.10", CPUInfo: `{"arch": "x86_64", "model": "host"}`, VCPUs: 8, MemoryMB: 16384, LocalGB: 100, DiskAvailableLeast: &least}
	mem := placement.NewInventory(n.MemoryMB)
	mem.Reserved = 512
	inv := map[string]placement.Inventory{placement.VCPU: placement.NewInventory(8), placement.MemoryMB: mem, placement.DiskGB: placement.NewInventory(100)}
	out, err := c.store.ReportNode(context.Background(), n, inv, compute.Ratios{Initial: compute.DefaultInitialRatios()})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// instanceOn places an instance named name on host, with its claim of
// 2 VCPUs and 1 GiB on node: it is spawning.
func (c *client) instanceOn(t *testing.T, name, host string, node compute.ComputeNode) compute.Instance {
	t.Helper()
	ctx := context.Background()
	i, err := c.store.CreateInstance(ctx, compute.Instance{UUID: uuid.NewString(), ProjectID: "proj-a", UserID: "alice", Name: name})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.store.Claim(ctx, compute.Claim{Consumer: i.UUID, ProjectID: "proj-a", UserID: "alice",
		Resources: map[string]map[string]int64{node.UUID: {placement.VCPU: 2, placement.MemoryMB: 1024}}}); err != nil {
		t.Fatal(err)
	}
	if i, err = c.store.Place(ctx, i.UUID, host, node.HypervisorHostname, nil); err != nil {
		t.Fatal(err)
	}
	return i
}

// hypervisorCloud is h1 and h2 with nodes, h1 with two instances (4
// VCPUs and 2 GiB in all; vm1 active, vm2 still spawning), h3 with a
// compute service and no node, and h4's node whose service is gone.
func hypervisorCloud(t *testing.T) (c *client, n1, n2 compute.ComputeNode) {
	c = newAPI(t)
	ctx := context.Background()
	c.computeHosts(t, "h1", "h2", "h3", "h4")
	n1, n2 = c.node(t, "h1"), c.node(t, "h2")
	c.node(t, "h4")
	svcs, _ := c.store.Services(ctx, compute.NovaCompute, "h4")
	if err := c.store.DeleteService(ctx, svcs[0].UUID); err != nil {
		t.Fatal(err)
	}
	vm1 := c.instanceOn(t, "vm1", "h1", n1)
	c.instanceOn(t, "vm2", "h1", n1)
	if _, err := c.store.ReportInstance(ctx, "h1", vm1.UUID, compute.InstanceReport{Task: compute.Spawning, VMState: compute.Active,
		PowerState: compute.PowerRunning}); err != nil {
		t.Fatal(err)
	}
	return c, n1, n2
}

func hypervisorList(t *testing.T, body map[string]any) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, h := range body["hypervisors"].([]any) {
		out = append(out, h.(map[string]any))
	}
	return out
}

func wantFields(t *testing.T, what string, m map[string]any, keys string) {
	t.Helper()
	var got []string
	for k := range m {
		got = append(got, k)
	}
	if s := fmt.Sprint(slices.Sorted(slices.Values(got))); s != "["+keys+"]" {
		t.Fatalf("%s has %s, want [%s]: %v", what, s, keys, m)
	}
}

// The list, the detail and one hypervisor at each microversion's field
// set: the used figures from Placement until 2.88, cpu_info an object
// from 2.28, uuids from 2.53, uptime (null) from 2.88.
func TestHypervisorViews(t *testing.T) {
	c, n1, n2 := hypervisorCloud(t)
	list := hypervisorList(t, c.must(t, 200, "2.1", admin, "GET", "/os-hypervisors", nil))
	if len(list) != 2 || list[0]["id"] != float64(n1.ID) || list[1]["id"] != float64(n2.ID) {
		t.Fatalf("list (h4's node has no service): %v", list)
	}
	wantFields(t, "a listed hypervisor", list[0], "hypervisor_hostname id state status")
	if list[0]["hypervisor_hostname"] != "h1.example" || list[0]["state"] != "up" || list[0]["status"] != "enabled" {
		t.Fatalf("h1: %v", list[0])
	}

	detail := hypervisorList(t, c.must(t, 200, "2.1", admin, "GET", "/os-hypervisors/detail", nil))
	h := detail[0]
	wantFields(t, "a detailed hypervisor at 2.1", h, "cpu_info current_workload disk_available_least free_disk_gb free_ram_mb host_ip "+
		"hypervisor_hostname hypervisor_type hypervisor_version id local_gb local_gb_used memory_mb memory_mb_used running_vms service "+
		"state status vcpus vcpus_used")
	want := map[string]any{"vcpus": 8.0, "vcpus_used": 4.0, "memory_mb": 16384.0, "memory_mb_used": 2560.0, "free_ram_mb": 13824.0,
		"local_gb": 100.0, "local_gb_used": 0.0, "free_disk_gb": 100.0, "running_vms": 2.0, "current_workload": 1.0,
		"disk_available_least": 90.0, "hypervisor_type": "QEMU", "hypervisor_version": 8002000.0, "host_ip": "192.0.2.10",
		"cpu_info": `{"arch": "x86_64", "model": "host"}`}
	for k, v := range want {
		if h[k] != v {
			t.Errorf("%s = %v, want %v", k, h[k], v)
		}
	}
	svcs, _ := c.store.Services(context.Background(), compute.NovaCompute, "h1")
	if s := h["service"].(map[string]any); s["id"] != float64(svcs[0].ID) || s["host"] != "h1" || s["disabled_reason"] != nil {
		t.Fatalf("service at 2.1: %v", s)
	}
	if d := hypervisorList(t, c.must(t, 200, "2.1", admin, "GET", "/os-hypervisors/detail", nil))[1]; d["vcpus_used"] != 0.0 || d["running_vms"] != 0.0 {
		t.Fatalf("h2: %v", d)
	}

	if h := hypervisorList(t, c.must(t, 200, "2.28", admin, "GET", "/os-hypervisors/detail", nil))[0]; fmt.Sprint(h["cpu_info"]) != "map[arch:x86_64 model:host]" {
		t.Fatalf("cpu_info at 2.28: %v", h["cpu_info"])
	}
	h = c.must(t, 200, "2.53", admin, "GET", "/os-hypervisors/"+n1.UUID, nil)["hypervisor"].(map[string]any)
	if h["id"] != n1.UUID || h["service"].(map[string]any)["id"] != svcs[0].UUID || h["vcpus_used"] != 4.0 {
		t.Fatalf("show at 2.53: %v", h)
	}
	h = c.must(t, 200, "2.88", admin, "GET", "/os-hypervisors/"+n1.UUID, nil)["hypervisor"].(map[string]any)
	wantFields(t, "a hypervisor at 2.88", h, "host_ip hypervisor_hostname hypervisor_type hypervisor_version id service state status uptime")
	if h["uptime"] != nil {
		t.Fatalf("uptime at 2.88: %v", h["uptime"])
	}
	if h := c.must(t, 200, "2.1", admin, "GET", fmt.Sprint("/os-hypervisors/", n2.ID), nil)["hypervisor"].(map[string]any); h["hypervisor_hostname"] != "h2.example" {
		t.Fatalf("show at 2.1: %v", h)
	}

	// with_servers: the host's servers; an empty list only from 2.75.
	servers := func(h map[string]any) string {
		var names []string
		for _, s := range h["servers"].([]any) {
			names = append(names, s.(map[string]any)["name"].(string))
		}
		return fmt.Sprint(names)
	}
	if h := c.must(t, 200, "2.53", admin, "GET", "/os-hypervisors/"+n1.UUID+"?with_servers=true", nil)["hypervisor"].(map[string]any); servers(h) != "[vm1 vm2]" {
		t.Fatalf("servers at 2.53: %v", h["servers"])
	}
	if h := c.must(t, 200, "2.53", admin, "GET", "/os-hypervisors/"+n2.UUID+"?with_servers=true", nil)["hypervisor"].(map[string]any); h["servers"] != nil {
		t.Fatalf("no servers at 2.53: %v", h["servers"])
	}
	if h := c.must(t, 200, "2.53", admin, "GET", "/os-hypervisors/"+n1.UUID, nil)["hypervisor"].(map[string]any); h["servers"] != nil {
		t.Fatalf("servers unasked for: %v", h["servers"])
	}
	if l := hypervisorList(t, c.must(t, 200, "2.75", admin, "GET", "/os-hypervisors?with_servers=yes", nil)); servers(l[0]) != "[vm1 vm2]" ||
		fmt.Sprint(l[1]["servers"]) != "[]" {
		t.Fatalf("list with servers at 2.75: %v", l)
	}

	// The service's state and status: forced down, disabled with a reason.
	yes, why := true, "maintenance"
	if _, err := c.store.UpdateService(context.Background(), svcs[0].UUID, compute.ServiceUpdate{ForcedDown: &yes, Disabled: &yes, DisabledReason: &why}); err != nil {
		t.Fatal(err)
	}
	h = c.must(t, 200, "2.53", admin, "GET", "/os-hypervisors/"+n1.UUID, nil)["hypervisor"].(map[string]any)
	if h["state"] != "down" || h["status"] != "disabled" || h["service"].(map[string]any)["disabled_reason"] != why {
		t.Fatalf("after force-down and disable: %v", h)
	}
}

// Pages from 2.33 (integer markers, then uuids from 2.53), the hostname
// pattern from 2.53 and the search and servers routes before it.
func TestHypervisorPagesAndSearch(t *testing.T) {
	c, n1, n2 := hypervisorCloud(t)
	ids := func(body map[string]any) string {
		var out []string
		for _, h := range hypervisorList(t, body) {
			out = append(out, fmt.Sprint(h["id"]))
		}
		return strings.Join(out, ",")
	}
	page := c.must(t, 200, "2.33", admin, "GET", "/os-hypervisors?limit=1", nil)
	next := page["hypervisors_links"].([]any)[0].(map[string]any)
	if ids(page) != "1" || next["rel"] != "next" || !strings.Contains(next["href"].(string), "/v2.1/os-hypervisors?limit=1&marker=1") {
		t.Fatalf("page 1: %v", page)
	}
	if page = c.must(t, 200, "2.33", admin, "GET", "/os-hypervisors/detail?limit=1&marker=1", nil); ids(page) != "2" {
		t.Fatalf("page 2: %v", page)
	}
	if page = c.must(t, 200, "2.33", admin, "GET", "/os-hypervisors?marker="+n1.UUID, nil); ids(page) != "2" || page["hypervisors_links"] != nil {
		t.Fatalf("after a uuid marker at 2.33: %v", page)
	}
	if page = c.must(t, 200, "2.33", admin, "GET", "/os-hypervisors?limit=0", nil); ids(page) != "" {
		t.Fatalf("limit=0: %v", page)
	}
	page = c.must(t, 200, "2.53", admin, "GET", "/os-hypervisors/detail?limit=1", nil)
	next = page["hypervisors_links"].([]any)[0].(map[string]any)
	if ids(page) != n1.UUID || !strings.Contains(next["href"].(string), "/v2.1/os-hypervisors/detail?limit=1&marker="+n1.UUID) {
		t.Fatalf("page 1 at 2.53: %v", page)
	}
	if page = c.must(t, 200, "2.32", admin, "GET", "/os-hypervisors?limit=1", nil); ids(page) != "1,2" {
		t.Fatalf("no pages at 2.32: %v", page)
	}

	if page = c.must(t, 200, "2.53", admin, "GET", "/os-hypervisors?hypervisor_hostname_pattern=H2", nil); ids(page) != n2.UUID || page["hypervisors_links"] != nil {
		t.Fatalf("pattern: %v", page)
	}
	if page = c.must(t, 200, "2.53", admin, "GET", "/os-hypervisors/detail?hypervisor_hostname_pattern=example", nil); ids(page) != n1.UUID+","+n2.UUID {
		t.Fatalf("pattern in detail: %v", page)
	}
	// Before 2.53: the search and servers routes, which the pattern replaced.
	if page = c.must(t, 200, "2.1", admin, "GET", "/os-hypervisors/h1/search", nil); ids(page) != "1" {
		t.Fatalf("search: %v", page)
	}
	page = c.must(t, 200, "2.52", admin, "GET", "/os-hypervisors/h_/servers", nil)
	if l := hypervisorList(t, page); ids(page) != "1,2" || len(l[0]["servers"].([]any)) != 2 || l[1]["servers"] != nil {
		t.Fatalf("servers: %v", page)
	}
	wantError(t, c.call(t, "2.1", admin, "GET", "/os-hypervisors/nope/search", nil), 404, "itemNotFound", "No hypervisor matching 'nope' could be found.")
	wantError(t, c.call(t, "2.53", admin, "GET", "/os-hypervisors/h1/search", nil), 404, "itemNotFound")
	wantError(t, c.call(t, "2.53", admin, "GET", "/os-hypervisors/h1/servers", nil), 404, "itemNotFound")
}

// Statistics (until 2.87) sum the nodes of enabled services; uptime
// (until 2.87) is Nova's 501, or 400 for a host that is down.
func TestHypervisorStatisticsAndUptime(t *testing.T) {
	c, n1, n2 := hypervisorCloud(t)
	stats := c.must(t, 200, "2.1", admin, "GET", "/os-hypervisors/statistics", nil)["hypervisor_statistics"].(map[string]any)
	want := "map[count:2 current_workload:1 disk_available_least:180 free_disk_gb:200 free_ram_mb:29696 local_gb:200 local_gb_used:0 " +
		"memory_mb:32768 memory_mb_used:3072 running_vms:2 vcpus:16 vcpus_used:4]"
	if fmt.Sprint(stats) != want {
		t.Fatalf("statistics:\n%v\nwant\n%s", stats, want)
	}
	svcs, _ := c.store.Services(context.Background(), compute.NovaCompute, "h2")
	yes := true
	if _, err := c.store.UpdateService(context.Background(), svcs[0].UUID, compute.ServiceUpdate{Disabled: &yes, ForcedDown: &yes}); err != nil {
		t.Fatal(err)
	}
	if stats = c.must(t, 200, "2.87", admin, "GET", "/os-hypervisors/statistics", nil)["hypervisor_statistics"].(map[string]any); stats["count"] != 1.0 || stats["vcpus"] != 8.0 {
		t.Fatalf("statistics without h2: %v", stats)
	}
	wantError(t, c.call(t, "2.88", admin, "GET", "/os-hypervisors/statistics", nil), 404, "itemNotFound")

	wantError(t, c.call(t, "2.1", admin, "GET", fmt.Sprint("/os-hypervisors/", n1.ID, "/uptime"), nil), 501, "notImplemented",
		"The requested functionality is not supported.")
	wantError(t, c.call(t, "2.53", admin, "GET", "/os-hypervisors/"+n2.UUID+"/uptime", nil), 400, "badRequest",
		"Compute service of h2 is unavailable at this time.")
	wantError(t, c.call(t, "2.88", admin, "GET", "/os-hypervisors/"+n1.UUID+"/uptime", nil), 404, "itemNotFound")
}

func TestHypervisorPolicy(t *testing.T) {
	c, n1, _ := hypervisorCloud(t)
	for _, tc := range []struct{ v, path, rule string }{
		{"2.1", "/os-hypervisors", "list"},
		{"2.53", "/os-hypervisors?hypervisor_hostname_pattern=h1", "list"},
		{"2.1", "/os-hypervisors/detail", "list-detail"},
		{"2.1", "/os-hypervisors/statistics", "statistics"},
		{"2.1", "/os-hypervisors/1", "show"},
		{"2.53", "/os-hypervisors/" + n1.UUID, "show"},
		{"2.53", "/os-hypervisors/x", "show"}, // the policy before the id
		{"2.1", "/os-hypervisors/1/uptime", "uptime"},
		{"2.1", "/os-hypervisors/h1/search", "search"},
		{"2.1", "/os-hypervisors/h1/servers", "servers"},
	} {
		for _, token := range []string{alice, reader} {
			wantError(t, c.call(t, tc.v, token, "GET", tc.path, nil), 403, "forbidden",
				"Policy doesn't allow os_compute_api:os-hypervisors:"+tc.rule+" to be performed.")
		}
	}
	// The query's schema before the policy.
	wantError(t, c.call(t, "2.53", alice, "GET", "/os-hypervisors?foo=1", nil), 400, "badRequest")
}

// Bad queries and ids, with Nova's messages.
func TestHypervisorRefusals(t *testing.T) {
	c, n1, _ := hypervisorCloud(t)
	h3 := uuid.NewString()
	for _, tc := range []struct {
		v, path  string
		status   int
		key, msg string
	}{
		{"2.53", "/os-hypervisors?foo=1", 400, "badRequest", "Additional properties are not allowed ('foo' was unexpected)"},
		{"2.53", "/os-hypervisors/detail?limit=-1", 400, "badRequest", "Invalid input for query parameters limit. Value: -1. '-1' does not match '^[0-9]*$'"},
		{"2.53", "/os-hypervisors?limit=", 400, "badRequest", "Invalid input for query parameters limit. Value: . '' is too short"},
		{"2.53", "/os-hypervisors?limit=1&limit=2", 400, "badRequest", "Invalid input for query parameters limit. Value: ['1', '2']. ['1', '2'] is too long"},
		{"2.33", "/os-hypervisors?limit=x", 400, "badRequest", "Invalid input for query parameters limit. Value: x. 'x' does not match '^[0-9]*$'"},
		{"2.53", "/os-hypervisors?hypervisor_hostname_pattern=a/b", 400, "badRequest",
			"Invalid input for query parameters hypervisor_hostname_pattern. Value: a/b. 'a/b' does not match '^[a-zA-Z0-9-._]*$'"},
		{"2.53", "/os-hypervisors?hypervisor_hostname_pattern=a&hypervisor_hostname_pattern=b", 400, "badRequest",
			"Invalid input for query parameters hypervisor_hostname_pattern. Value: ['a', 'b']. ['a', 'b'] is too long"},
		{"2.53", "/os-hypervisors?with_servers=maybe", 400, "badRequest",
			"Invalid input for query parameters with_servers. Value: maybe. 'maybe' is not one of [True, 'True', "},
		{"2.53", "/os-hypervisors?hypervisor_hostname_pattern=h1&limit=1", 400, "badRequest",
			"Paging over hypervisors with the hypervisor_hostname_pattern query parameter is not supported."},
		{"2.53", "/os-hypervisors?hypervisor_hostname_pattern=nope", 404, "itemNotFound", "No hypervisor matching 'nope' could be found."},
		{"2.33", "/os-hypervisors?marker=99", 400, "badRequest", "marker [99] not found"},
		{"2.53", "/os-hypervisors/detail?marker=" + h3, 400, "badRequest", "marker [" + h3 + "] not found"},
		{"2.1", "/os-hypervisors/x", 404, "itemNotFound", "Hypervisor with ID 'x' could not be found."},
		{"2.1", "/os-hypervisors/99", 404, "itemNotFound", "Hypervisor with ID '99' could not be found."},
		{"2.1", "/os-hypervisors/3", 404, "itemNotFound", "Hypervisor with ID '3' could not be found."}, // h4's, without a service
		{"2.53", "/os-hypervisors/1", 400, "badRequest", "Invalid uuid 1"},
		{"2.53", "/os-hypervisors/" + h3, 404, "itemNotFound", "Hypervisor with ID '" + h3 + "' could not be found."},
		{"2.53", "/os-hypervisors/" + n1.UUID + "?foo=1", 400, "badRequest", "Additional properties are not allowed ('foo' was unexpected)"},
		{"2.53", "/os-hypervisors/" + n1.UUID + "?with_servers=2", 400, "badRequest", "'2' is not one of"},
		{"2.1", "/os-hypervisors/x/uptime", 404, "itemNotFound", "Hypervisor with ID 'x' could not be found."},
		{"2.53", "/os-hypervisors/x/uptime", 400, "badRequest", "Invalid uuid x"},
	} {
		t.Run(tc.v+" "+tc.path, func(t *testing.T) {
			wantError(t, c.call(t, tc.v, admin, "GET", tc.path, nil), tc.status, tc.key, tc.msg)
		})
	}
}
