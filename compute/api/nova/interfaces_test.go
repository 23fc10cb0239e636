package nova_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gostack/gostack/compute"
	"github.com/gostack/gostack/internal/apitest"
)

// Interfaces are the fake's ports bound to instance, ACTIVE, each with
// one fixed IP on a subnet named after its network.
func (f *fakeNetworks) Interfaces(_ context.Context, instance string) ([]compute.Interface, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := []compute.Interface{}
	for id, owner := range f.owner {
		p, ok := f.ports[id]
		if !ok || owner != instance {
			continue
		}
		ips := []compute.InterfaceIP{}
		for _, ip := range p.IPs {
			ips = append(ips, compute.InterfaceIP{SubnetID: "subnet-of-" + p.NetworkID, IPAddress: ip})
		}
		out = append(out, compute.Interface{PortID: id, NetID: p.NetworkID, MAC: p.MAC, State: "ACTIVE", FixedIPs: ips})
	}
	return out, nil
}

// activeServer is a server of alice's built on a host and ACTIVE.
func (e *serverEnv) activeServer(t *testing.T) compute.Instance {
	t.Helper()
	id := e.must(t, 202, "2.1", alice, "POST", "/servers", serverBody(nil))["server"].(map[string]any)["id"].(string)
	if err := e.builder.BuildWaiting(context.Background()); err != nil {
		t.Fatal(err)
	}
	e.report(t, id, compute.Spawning, compute.Active, compute.PowerRunning)
	i, err := e.store.Instance(context.Background(), compute.Viewer{Admin: true}, id)
	if err != nil {
		t.Fatal(err)
	}
	return i
}

// agentInterface plays the host's agent for an interface operation:
// it waits for a port marked op on server id and reports rep on it
// through the internal API. It returns the port.
func (e *serverEnv) agentInterface(t *testing.T, id, op string, rep compute.InterfaceReport) string {
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		i, err := e.store.Instance(context.Background(), compute.Viewer{Admin: true}, id)
		if err != nil {
			t.Error(err)
			return ""
		}
		if p := i.PendingPort(); p != nil && p.Pending == op {
			rep.Op = op
			if r := e.agentCall(t, service, "PUT", "/internal/compute/hosts/"+i.Host+"/instances/"+id+"/interfaces/"+p.ID, rep); r.Code != 200 {
				t.Errorf("interface report: %s", r)
			}
			return p.ID
		}
	}
	t.Errorf("no port %s on %s", op, id)
	return ""
}

// os-interface through the API, the host's agent played by the test:
// the list and show from the network service; an attach that answers
// once the host plugged the port (with its tag from 2.70), one the host
// could not do (Nova's 500, the port released), a detach (202, released
// on the host's report), and Nova's refusals, each changing nothing.
func TestInterfaceAttachDetach(t *testing.T) {
	e := newServerAPI(t)
	i := e.activeServer(t)
	base := "/servers/" + i.UUID + "/os-interface"
	list := func() []any {
		t.Helper()
		return e.must(t, 200, "2.70", alice, "GET", base, nil)["interfaceAttachments"].([]any)
	}
	l := list()
	if len(l) != 1 {
		t.Fatalf("interfaces: %v", l)
	}
	first := l[0].(map[string]any)
	if first["port_id"] != i.Ports[0].ID || first["net_id"] != netA || first["mac_addr"] != i.Ports[0].MAC || first["port_state"] != "ACTIVE" ||
		first["tag"] != nil || len(first["fixed_ips"].([]any)) != 1 {
		t.Fatalf("interface: %v", first)
	}
	if s := e.must(t, 200, "2.1", alice, "GET", base+"/"+i.Ports[0].ID, nil)["interfaceAttachment"].(map[string]any); s["port_id"] != i.Ports[0].ID {
		t.Fatalf("show: %v", s)
	} else if _, ok := s["tag"]; ok {
		t.Fatalf("a tag before 2.70: %v", s)
	}
	wantError(t, e.call(t, "2.1", alice, "GET", base+"/"+uuid.NewString(), nil), 404, "itemNotFound", "does not have a port with id")
	wantError(t, e.call(t, "2.1", bob, "GET", base, nil), 404, "itemNotFound")

	// Refusals, before any port is made.
	for _, c := range []struct {
		v    string
		body any
		code int
		msg  string
	}{
		{"2.1", map[string]any{"interfaceAttachment": map[string]any{"net_id": shared, "port_id": i.Ports[0].ID}}, 400, "Must not input both network_id and port_id"},
		{"2.1", map[string]any{"interfaceAttachment": map[string]any{"fixed_ips": []any{map[string]any{"ip_address": "10.0.0.9"}}}}, 400, "Must input network_id when request IP address"},
		{"2.1", map[string]any{"interfaceAttachment": map[string]any{"net_id": "nope"}}, 400, "is not a 'uuid'"},
		{"2.1", map[string]any{"interfaceAttachment": map[string]any{"net_id": shared, "fixed_ips": []any{map[string]any{"ip_address": "x"}}}}, 400, "ip_address"},
		{"2.1", map[string]any{"interfaceAttachment": map[string]any{"net_id": shared, "fixed_ips": []any{}}}, 400, "is too short"},
		{"2.48", map[string]any{"interfaceAttachment": map[string]any{"net_id": shared, "tag": "db"}}, 400, "'tag' was unexpected"},
		{"2.49", map[string]any{"interfaceAttachment": map[string]any{"net_id": shared, "tag": "a/b"}}, 400, "does not match"},
		{"2.1", map[string]any{"interfaceAttachment": map[string]any{"net_id": shared}, "x": 1}, 400, "'x' was unexpected"},
		// proj-a may use two networks: none named is ambiguous.
		{"2.1", nil, 400, "More than one possible network found"},
		{"2.1", map[string]any{"interfaceAttachment": map[string]any{"net_id": uuid.NewString()}}, 404, "could not be found"},
	} {
		r := e.call(t, c.v, alice, "POST", base, c.body)
		if r.Code != c.code || !strings.Contains(string(r.Body), c.msg) {
			t.Fatalf("POST %v at %s = %s, want %d %q", c.body, c.v, r, c.code, c.msg)
		}
	}
	wantError(t, e.call(t, "2.1", bob, "POST", base, map[string]any{"interfaceAttachment": map[string]any{"net_id": shared}}), 404, "itemNotFound")
	// A port the server has already: refused, and left bound.
	wantError(t, e.call(t, "2.1", alice, "POST", base, map[string]any{"interfaceAttachment": map[string]any{"port_id": i.Ports[0].ID}}), 409,
		"conflictingRequest", "Port "+i.Ports[0].ID+" is still in use.")
	if slices.Contains(e.nets.released, i.Ports[0].ID) {
		t.Fatalf("a refused attach released the server's own port")
	}
	if n := len(e.nets.ports); n != 1 {
		t.Fatalf("refusals made ports: %d", n)
	}

	// An attach: the answer waits for the host.
	done := make(chan apitest.Reply, 1)
	go func() {
		done <- e.call(t, "2.70", alice, "POST", base, map[string]any{"interfaceAttachment": map[string]any{"net_id": shared, "tag": "db"}})
	}()
	port := e.agentInterface(t, i.UUID, compute.PortAttaching, compute.InterfaceReport{Done: true})
	r := <-done
	if r.Code != 200 {
		t.Fatalf("attach: %s", r)
	}
	att := r.JSON(t)["interfaceAttachment"].(map[string]any)
	if att["port_id"] != port || att["net_id"] != shared || att["tag"] != "db" || att["port_state"] != "ACTIVE" {
		t.Fatalf("attached: %v", att)
	}
	if l := list(); len(l) != 2 {
		t.Fatalf("after the attach: %v", l)
	}
	s := e.show(t, alice, i.UUID)
	if _, ok := s["addresses"].(map[string]any)["shared"]; !ok {
		t.Fatalf("the server's addresses lack the new port: %v", s["addresses"])
	}

	// An attach the host could not do: Nova's 500, the port released.
	go func() {
		done <- e.call(t, "2.1", alice, "POST", base, map[string]any{"interfaceAttachment": map[string]any{"net_id": shared}})
	}()
	failed := e.agentInterface(t, i.UUID, compute.PortAttaching, compute.InterfaceReport{Error: "no free PCI slot"})
	wantError(t, <-done, 500, "computeFault", "Failed to attach network adapter device to "+i.UUID)
	if l := list(); len(l) != 2 || !slices.Contains(e.nets.released, failed) {
		t.Fatalf("after a failed attach: %v, released %v", l, e.nets.released)
	}
	acts := e.must(t, 200, "2.1", alice, "GET", "/servers/"+i.UUID+"/os-instance-actions", nil)["instanceActions"].([]any)
	if a := acts[0].(map[string]any); a["action"] != "attach_interface" || a["message"] != "Error" {
		t.Fatalf("the failed attach's action: %v", a)
	}

	// A detach: 202 at once; the port goes with the host's report.
	wantError(t, e.call(t, "2.1", alice, "DELETE", base+"/"+failed, nil), 404, "itemNotFound", "Port "+failed+" is not attached")
	wantError(t, e.call(t, "2.1", bob, "DELETE", base+"/"+port, nil), 404, "itemNotFound")
	if r := e.call(t, "2.1", alice, "DELETE", base+"/"+port, nil); r.Code != 202 {
		t.Fatalf("detach: %s", r)
	}
	if l := list(); len(l) != 2 {
		t.Fatalf("a detach under way: %v", l)
	}
	e.agentInterface(t, i.UUID, compute.PortDetaching, compute.InterfaceReport{Done: true})
	if l := list(); len(l) != 1 || !slices.Contains(e.nets.released, port) {
		t.Fatalf("after the detach: %v, released %v", l, e.nets.released)
	}
	// A report sent again after a lost answer changes nothing.
	if r := e.agentCall(t, service, "PUT", "/internal/compute/hosts/"+i.Host+"/instances/"+i.UUID+"/interfaces/"+port, compute.InterfaceReport{Op: compute.PortDetaching, Done: true}); r.Code != 409 {
		t.Fatalf("a report again: %s", r)
	}
	// Another host's agent may not report.
	if r := e.agentCall(t, alice, "PUT", "/internal/compute/hosts/"+i.Host+"/instances/"+i.UUID+"/interfaces/"+port, compute.InterfaceReport{Done: true}); r.Code != 403 {
		t.Fatalf("a member's report: %s", r)
	}

	// A server with a task under way: Nova's 409 naming it.
	e.must(t, 202, "2.1", alice, "POST", "/servers/"+i.UUID+"/action", map[string]any{"os-stop": nil})
	wantError(t, e.call(t, "2.1", alice, "POST", base, map[string]any{"interfaceAttachment": map[string]any{"net_id": shared}}), 409, "conflictingRequest",
		"Cannot 'attach_interface' instance "+i.UUID+" while it is in task_state powering-off")
	wantError(t, e.call(t, "2.1", alice, "DELETE", base+"/"+i.Ports[0].ID, nil), 409, "conflictingRequest",
		"Cannot 'detach_interface' instance "+i.UUID+" while it is in task_state powering-off")
	if n := len(e.nets.ports); n != 1 {
		t.Fatalf("ports after the refusals: %d", n)
	}
}
