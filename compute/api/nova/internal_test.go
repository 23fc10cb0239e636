package nova_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/gostack/gostack/compute"
	"github.com/gostack/gostack/compute/placement"
	"github.com/gostack/gostack/internal/apitest"
)

const (
	service = "token-service"
	// service2 is another service user, another host's agent.
	service2 = "token-service2"
)

// agentCall sends a host agent's request (service role).
func (e *serverEnv) agentCall(t *testing.T, token, method, path string, body any) apitest.Reply {
	t.Helper()
	return e.Call(t, apitest.Call{Method: method, Path: path, Token: token, Body: body})
}

// The host agents' internal API: the host's state with its ports'
// status, the node report, task reports (a delete's releasing what the
// server held), power syncs, the console tail and image data; for the
// service and admin roles only.
func TestInternalAPI(t *testing.T) {
	e := newServerAPI(t)
	ctx := context.Background()
	id := e.must(t, 202, "2.1", alice, "POST", "/servers", serverBody(nil))["server"].(map[string]any)["id"].(string)
	if err := e.builder.BuildWaiting(ctx); err != nil {
		t.Fatal(err)
	}
	i, _ := e.store.Instance(ctx, compute.Viewer{Admin: true}, id)
	host := i.Host
	base := "/internal/compute/hosts/" + host

	for _, tok := range []string{alice, ""} {
		if r := e.agentCall(t, tok, "GET", base, nil); r.Code != 403 && r.Code != 401 {
			t.Fatalf("GET host state with %q: %s", tok, r)
		}
	}
	var st compute.HostState
	r := e.agentCall(t, service, "GET", base, nil)
	if r.Code != 200 {
		t.Fatalf("host state: %s", r)
	}
	if err := json.Unmarshal(r.Body, &st); err != nil {
		t.Fatal(err)
	}
	if len(st.Instances) != 1 || st.Instances[0].UUID != id || st.PortStatus[i.Ports[0].ID] != "ACTIVE" || st.Revision == 0 {
		t.Fatalf("host state: %+v", st)
	}
	if r := e.agentCall(t, service, "GET", "/internal/compute/hosts/nohost", nil); r.Code != 200 || !strings.Contains(string(r.Body), `"instances":[]`) {
		t.Fatalf("an empty host: %s", r)
	}

	// The node report registers the node with its inventory.
	node := compute.ComputeNode{UUID: uuid.NewString(), Host: "host3", HypervisorHostname: "host3", HypervisorType: "QEMU", HypervisorVersion: 7002000}
	inv := map[string]placement.Inventory{"VCPU": {Total: 2, MaxUnit: 2, MinUnit: 1, StepSize: 1, AllocationRatio: 1}}
	if r := e.agentCall(t, service, "PUT", "/internal/compute/hosts/host3/service", map[string]any{"node": node, "inventories": inv,
		"ratios": compute.Ratios{Initial: map[string]float64{"VCPU": 4}}}); r.Code != 200 {
		t.Fatalf("node report: %s", r)
	}
	if n, err := e.store.NodeByHost(ctx, "host3"); err != nil || n.HypervisorType != "QEMU" {
		t.Fatalf("node: %+v %v", n, err)
	}
	if r := e.agentCall(t, service, "PUT", "/internal/compute/hosts/host4/service", map[string]any{"node": node}); r.Code != 400 {
		t.Fatalf("a node of another host: %s", r)
	}

	// The build ends; a stale report (another task) is a 409.
	rep := compute.InstanceReport{Task: compute.Spawning, VMState: compute.Active, PowerState: compute.PowerRunning}
	if r := e.agentCall(t, service, "PUT", base+"/instances/"+id, rep); r.Code != 200 {
		t.Fatalf("spawn report: %s", r)
	}
	if r := e.agentCall(t, service, "PUT", base+"/instances/"+id, rep); r.Code != 409 {
		t.Fatalf("a second spawn report: %s", r)
	}
	if r := e.agentCall(t, service, "PUT", "/internal/compute/hosts/other/instances/"+id, rep); r.Code != 404 {
		t.Fatalf("a report from another host: %s", r)
	}
	// The power sync: the guest went off by itself.
	if r := e.agentCall(t, service, "PUT", base+"/instances/"+id+"/power", map[string]any{"power_state": 4}); r.Code != 200 {
		t.Fatalf("power sync: %s", r)
	}
	if s := e.show(t, alice, id); s["status"] != "SHUTOFF" {
		t.Fatalf("after the power sync: %v", s)
	}
	// The console tail, read back through os-getConsoleOutput.
	r = e.Call(t, apitest.Call{Method: "PUT", Path: base + "/instances/" + id + "/console", Token: service, Type: "text/plain",
		Body: "line 1\nline 2\ngostack-guest: ready\n"})
	if r.Code != 204 {
		t.Fatalf("console: %s", r)
	}
	out := e.must(t, 200, "2.1", alice, "POST", "/servers/"+id+"/action", map[string]any{"os-getConsoleOutput": map[string]any{"length": 1}})
	if out["output"] != "gostack-guest: ready\n" {
		t.Fatalf("console output: %v", out)
	}
	if r := e.Call(t, apitest.Call{Method: "PUT", Path: base + "/instances/" + id + "/console", Token: service, Type: "text/plain",
		Body: strings.Repeat("x", 64<<10+1)}); r.Code != 413 {
		t.Fatalf("an oversized console: %s", r)
	}
	// Image data for the host.
	req, _ := http.NewRequest("GET", e.URL+"/internal/compute/images/"+tinyImage, nil)
	req.Header.Set("X-Auth-Token", service)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || n != 1<<20 || resp.Header.Get("X-Image-Disk-Format") != "raw" {
		t.Fatalf("image data: %d, %d bytes, %v", resp.StatusCode, n, resp.Header)
	}
	// HEAD: the headers only, with the image's rbd:// locations (an
	// agent keeping root disks on RBD clones from them), never others.
	req, _ = http.NewRequest("HEAD", e.URL+"/internal/compute/images/"+tinyImage, nil)
	req.Header.Set("X-Auth-Token", service)
	if resp, err = http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if locs := resp.Header.Values("X-Image-Location"); resp.StatusCode != 200 || resp.ContentLength != 1<<20 || len(locs) != 1 ||
		locs[0] != "rbd://8a2c5f3e-0f6e-4bb0-9d3c-2f3b1f0a4c5d/images/"+tinyImage+"/snap" {
		t.Fatalf("image HEAD: %d, length %d, %v", resp.StatusCode, resp.ContentLength, resp.Header)
	}
	if r := e.Call(t, apitest.Call{Method: "HEAD", Path: "/internal/compute/images/" + tinyImage, Token: alice}); r.Code != 403 {
		t.Fatalf("a project's HEAD of the internal image route: %s", r)
	}

	// A Deleted report while no delete is under way is refused, and
	// frees nothing.
	if r := e.agentCall(t, service, "PUT", base+"/instances/"+id, compute.InstanceReport{Task: compute.Deleting, Deleted: true}); r.Code != 409 {
		t.Fatalf("a stale delete report: %s", r)
	}
	if len(e.nets.ports) != 1 || len(e.nets.released) != 0 {
		t.Fatalf("a stale delete report released ports: %v %v", e.nets.ports, e.nets.released)
	}

	// The delete: the report of the deleted guest releases the port and
	// the claim, then the server is gone.
	e.must(t, 204, "2.1", alice, "DELETE", "/servers/"+id, nil)
	if r := e.agentCall(t, service, "PUT", base+"/instances/"+id, compute.InstanceReport{Task: compute.Deleting, Deleted: true}); r.Code != 200 {
		t.Fatalf("delete report: %s", r)
	}
	if len(e.nets.ports) != 0 || len(e.nets.released) != 1 {
		t.Fatalf("ports after the delete: %v released %v", e.nets.ports, e.nets.released)
	}
	if u, err := e.store.Usages(ctx, "proj-a", "", ""); err != nil || u["VCPU"] != 0 {
		t.Fatalf("usage after the delete: %v %v", u, err)
	}
	wantError(t, e.call(t, "2.1", alice, "GET", "/servers/"+id, nil), 404, "itemNotFound")
	if st := e.agentCall(t, service, "GET", base, nil); !strings.Contains(string(st.Body), `"instances":[]`) {
		t.Fatalf("host state after the delete: %s", st)
	}
}

// A build the agent reports failed with reschedule goes back to the
// builder, which tries the other hosts; with none left, the server ends
// in ERROR with the last host's own error as its fault.
func TestInternalReschedule(t *testing.T) {
	e := newServerAPI(t)
	ctx := context.Background()
	id := e.must(t, 202, "2.1", alice, "POST", "/servers", serverBody(nil))["server"].(map[string]any)["id"].(string)
	var tried []string
	var msg string
	for range 5 {
		if err := e.builder.BuildWaiting(ctx); err != nil {
			t.Fatal(err)
		}
		i, _ := e.store.Instance(ctx, compute.Viewer{Admin: true}, id)
		if i.TaskState != compute.Spawning {
			break
		}
		if slices.Contains(tried, i.Host) {
			t.Fatalf("placed on %s again after it failed there", i.Host)
		}
		tried = append(tried, i.Host)
		msg = "Build of instance " + id + " aborted: qemu-system-x86_64 exited on " + i.Host
		rep := compute.InstanceReport{Task: compute.Spawning, VMState: compute.Error, Fault: &compute.Fault{Code: 500, Message: msg}, Reschedule: true}
		r := e.agentCall(t, service, "PUT", "/internal/compute/hosts/"+i.Host+"/instances/"+id, rep)
		var back compute.Instance
		if r.Code != 200 || json.Unmarshal(r.Body, &back) != nil {
			t.Fatalf("rescheduled report: %s", r)
		}
		if len(tried) < compute.DefaultMaxBuildAttempts && (back.Host != "" || back.TaskState != compute.Scheduling || back.VMState != compute.Building) {
			t.Fatalf("rescheduled report: %s", r)
		}
	}
	s := e.must(t, 200, "2.1", admin, "GET", "/servers/"+id, nil)["server"].(map[string]any)
	f, _ := s["fault"].(map[string]any)
	if len(tried) == 0 || s["status"] != "ERROR" || f["message"] != msg || !strings.Contains(fmt.Sprint(f["details"]), tried[0]+": ") {
		t.Fatalf("after %v: %v %v", tried, s["status"], f)
	}
}

// A host is one service user's: the first to act as its agent; another
// service user's calls for it are refused, an admin's are not, and
// deleting the host's service frees it.
func TestHostAgentBinding(t *testing.T) {
	e := newServerAPI(t)
	node := compute.ComputeNode{UUID: uuid.NewString(), Host: "host9", HypervisorHostname: "host9", HypervisorType: "QEMU", HypervisorVersion: 7002000}
	report := map[string]any{"node": node, "ratios": compute.Ratios{Initial: map[string]float64{"VCPU": 4}}}
	if r := e.agentCall(t, service, "PUT", "/internal/compute/hosts/host9/service", report); r.Code != 200 {
		t.Fatalf("first agent: %s", r)
	}
	if r := e.agentCall(t, service2, "GET", "/internal/compute/hosts/host9", nil); r.Code != 403 || !strings.Contains(string(r.Body), "Host host9 is another user's compute agent.") {
		t.Fatalf("another service user: %s", r)
	}
	if r := e.agentCall(t, admin, "GET", "/internal/compute/hosts/host9", nil); r.Code != 200 {
		t.Fatalf("an admin: %s", r)
	}
	svcs := e.must(t, 200, "2.53", admin, "GET", "/os-services?host=host9", nil)["services"].([]any)
	if len(svcs) != 1 {
		t.Fatalf("services: %v", svcs)
	}
	e.must(t, 204, "2.53", admin, "DELETE", "/os-services/"+svcs[0].(map[string]any)["id"].(string), nil)
	if r := e.agentCall(t, service2, "GET", "/internal/compute/hosts/host9", nil); r.Code != 200 {
		t.Fatalf("after the service's delete: %s", r)
	}
}
