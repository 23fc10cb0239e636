package nova_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/gostack/gostack/compute"
	"github.com/gostack/gostack/compute/api/nova"
	"github.com/gostack/gostack/compute/placement"
	"github.com/gostack/gostack/compute/scheduler"
	"github.com/gostack/gostack/identity/middleware"
	"github.com/gostack/gostack/identity/middleware/middlewaretest"
	"github.com/gostack/gostack/internal/apitest"
	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/httpapi"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
)

// fakeNetworks stands in for the network service in these unit tests of
// the API's logic (the all-in-one tests use the real one): proj-a owns
// net-a, and "shared" is everyone's.
type fakeNetworks struct {
	mu       sync.Mutex
	ports    map[string]compute.InstancePort // by id
	owner    map[string]string               // port → instance
	host     map[string]string
	released []string
}

const (
	netA   = "0a0a0a0a-0000-4000-8000-00000000000a"
	shared = "05050505-0000-4000-8000-000000000005"
)

func (f *fakeNetworks) Allocate(_ context.Context, project, instance, host string, reqs []compute.NetworkRequest) ([]compute.InstancePort, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []compute.InstancePort
	for n, r := range reqs {
		if r.PortID != "" { // a port that exists: bound here
			p, ok := f.ports[r.PortID]
			if !ok || f.owner[r.PortID] != "" && f.owner[r.PortID] != instance {
				return nil, fault.New(fault.NotFound, "Port %s could not be found.", r.PortID)
			}
			f.owner[r.PortID], f.host[r.PortID] = instance, host
			out = append(out, p)
			continue
		}
		if r.NetworkID != netA && r.NetworkID != shared || r.NetworkID == netA && project != "proj-a" {
			return nil, fault.New(fault.NotFound, "Network %s could not be found.", r.NetworkID)
		}
		id := uuid.NewString()
		p := compute.InstancePort{ID: id, NetworkID: r.NetworkID, Network: map[string]string{netA: "net-a", shared: "shared"}[r.NetworkID],
			MAC: fmt.Sprintf("fa:16:3e:00:00:%02x", len(f.ports)), IPs: []string{fmt.Sprintf("10.0.0.%d", 10+len(f.ports)+n)}, MTU: 1450, Created: true}
		f.ports[id], f.owner[id], f.host[id] = p, instance, host
		out = append(out, p)
	}
	return out, nil
}

func (f *fakeNetworks) Release(_ context.Context, instance string, ports []compute.InstancePort) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, p := range ports {
		delete(f.ports, p.ID)
		f.released = append(f.released, p.ID)
	}
	return nil
}

func (f *fakeNetworks) PortsOf(_ context.Context, instance string) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for id, owner := range f.owner {
		if _, ok := f.ports[id]; ok && owner == instance {
			out = append(out, id)
		}
	}
	return out, nil
}

func (f *fakeNetworks) PortStatus(_ context.Context, ids []string) (map[string]string, error) {
	out := map[string]string{}
	for _, id := range ids {
		out[id] = "ACTIVE"
	}
	return out, nil
}

func (f *fakeNetworks) Usable(_ context.Context, project string) ([]string, error) {
	if project == "proj-a" {
		return []string{netA, shared}, nil
	}
	return []string{shared}, nil
}

// fakeImages has one active 1 MiB image, one 30 GiB one and a queued one.
type fakeImages struct{}

const (
	tinyImage = "11111111-1111-4111-8111-111111111111"
	hugeImage = "22222222-2222-4222-8222-222222222222"
	queued    = "33333333-3333-4333-8333-333333333333"
)

func (fakeImages) Image(_ context.Context, project, id string) (compute.ImageInfo, error) {
	switch id {
	case tinyImage:
		return compute.ImageInfo{ID: id, Status: "active", DiskFormat: "raw", Size: 1 << 20}, nil
	case hugeImage:
		return compute.ImageInfo{ID: id, Status: "active", DiskFormat: "raw", Size: 30 << 30}, nil
	case queued:
		return compute.ImageInfo{ID: id, Status: "queued"}, nil
	}
	return compute.ImageInfo{}, fault.New(fault.NotFound, "no image %s", id)
}

func (fakeImages) Open(_ context.Context, id string) (io.ReadCloser, compute.ImageInfo, error) {
	return io.NopCloser(bytes.NewReader(make([]byte, 1<<20))), compute.ImageInfo{ID: id, Size: 1 << 20, DiskFormat: "raw",
		Locations: []string{"file:///var/lib/gostack/images/" + id, "rbd://8a2c5f3e-0f6e-4bb0-9d3c-2f3b1f0a4c5d/images/" + id + "/snap"}}, nil
}

type serverEnv struct {
	*client
	vols    *fakeVolumes
	nets    *fakeNetworks
	images  *snapshotImages
	builder *compute.Builder
}

// newServerAPI is newAPI with the fake services, two compute hosts of 4
// VCPU and 8 GiB, and flavors tiny (1 VCPU, 512 MiB, 1 GiB) and huge
// (8 VCPU: within the default quota, bigger than any host).
func newServerAPI(t *testing.T) *serverEnv {
	t.Helper()
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "n.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx, watch.Migrations(), compute.Migrations()); err != nil {
		t.Fatal(err)
	}
	store := compute.NewStore(db, watch.New(db))
	for _, h := range []string{"host1", "host2"} {
		if _, err := store.ReportService(ctx, compute.NovaCompute, h, 66); err != nil {
			t.Fatal(err)
		}
		inv := map[string]placement.Inventory{
			"VCPU":      {Total: 4, MaxUnit: 4, StepSize: 1, MinUnit: 1, AllocationRatio: 1},
			"MEMORY_MB": {Total: 8192, MaxUnit: 8192, StepSize: 1, MinUnit: 1, AllocationRatio: 1},
			"DISK_GB":   {Total: 100, MaxUnit: 100, StepSize: 1, MinUnit: 1, AllocationRatio: 1},
		}
		if _, err := store.ReportHost(ctx, uuid.NewString(), h, inv, compute.Ratios{}); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []compute.Flavor{
		{FlavorID: "1", Name: "tiny", VCPUs: 1, MemoryMB: 512, RootGB: 1, IsPublic: true},
		{FlavorID: "9", Name: "huge", VCPUs: 8, MemoryMB: 512, RootGB: 1, IsPublic: true},
	} {
		if _, err := store.CreateFlavor(ctx, f); err != nil {
			t.Fatal(err)
		}
	}
	sch, err := scheduler.New(scheduler.DefaultConfig(), scheduler.Builtins(), &compute.Claimer{Store: store})
	if err != nil {
		t.Fatal(err)
	}
	nets := &fakeNetworks{ports: map[string]compute.InstancePort{}, owner: map[string]string{}, host: map[string]string{}}
	b := &compute.Builder{Store: store, Scheduler: sch, Networks: nets}
	caller := middlewaretest.Caller
	tokens := middlewaretest.Tokens{
		admin:    caller("admin", "admin", "admin", "member", "reader"),
		alice:    caller("alice", "proj-a", "member", "reader"),
		bob:      caller("bob", "proj-b", "member", "reader"),
		service:  caller("nova", "service", "service"),
		service2: caller("nova-2", "service", "service"),
	}
	imgs := &snapshotImages{made: map[string]compute.ImageInfo{}, data: map[string][]byte{}}
	vols := &fakeVolumes{volumes: map[string]string{}, attachments: map[string]string{}}
	b.Volumes = vols
	h := (&nova.API{Store: store, Networks: nets, Images: imgs, Volumes: vols, Builder: b, ImageURL: "http://image.test"}).Handler()
	mw := &middleware.Middleware{Validator: tokens, Style: httpapi.Nova, Optional: true}
	srv := httptest.NewServer(httpapi.RequestID(mw.Wrap(h)))
	t.Cleanup(srv.Close)
	return &serverEnv{client: &client{Client: &apitest.Client{URL: srv.URL, NoRedirect: true}, store: store}, vols: vols, nets: nets, images: imgs, builder: b}
}

func serverBody(fields map[string]any) map[string]any {
	s := map[string]any{"name": "vm", "imageRef": tinyImage, "flavorRef": "1", "networks": []any{map[string]any{"uuid": netA}}}
	for k, v := range fields {
		if v == nil {
			delete(s, k)
		} else {
			s[k] = v
		}
	}
	return map[string]any{"server": s}
}

// report plays the host's agent: the task it acted on ends.
func (e *serverEnv) report(t *testing.T, id string, task compute.TaskState, vm compute.VMState, p compute.PowerState) {
	t.Helper()
	i, err := e.store.Instance(context.Background(), compute.Viewer{Admin: true}, id)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.ReportInstance(context.Background(), i.Host, id, compute.InstanceReport{Task: task, VMState: vm, PowerState: p}); err != nil {
		t.Fatal(err)
	}
}

func (e *serverEnv) show(t *testing.T, token, id string) map[string]any {
	t.Helper()
	return e.must(t, 200, "latest", token, "GET", "/servers/"+id, nil)["server"].(map[string]any)
}

// A server's life through the API, with the builder and a stand-in for
// the host's agent: BUILD, placed with its port, ACTIVE with its address,
// stopped, started, rebooted, deleted with its port and claim released.
func TestServerLifecycle(t *testing.T) {
	e := newServerAPI(t)
	ctx := context.Background()
	created := e.must(t, 202, "2.1", alice, "POST", "/servers", serverBody(map[string]any{"name": "web 1", "metadata": map[string]any{"role": "web"}}))["server"].(map[string]any)
	id := created["id"].(string)
	if created["adminPass"] == "" || created["OS-DCF:diskConfig"] != "MANUAL" || !strings.Contains(fmt.Sprint(created["links"]), "/v2.1/servers/"+id) {
		t.Fatalf("create: %v", created)
	}
	s := e.must(t, 200, "2.1", alice, "GET", "/servers/"+id, nil)["server"].(map[string]any)
	if s["status"] != "BUILD" || s["OS-EXT-STS:task_state"] != "scheduling" || s["metadata"].(map[string]any)["role"] != "web" {
		t.Fatalf("before scheduling: %v", s)
	}
	if err := e.builder.BuildWaiting(ctx); err != nil {
		t.Fatal(err)
	}
	i, err := e.store.Instance(ctx, compute.Viewer{Admin: true}, id)
	if err != nil || i.Host == "" || i.TaskState != compute.Spawning || len(i.Ports) != 1 || i.Hostname != "web-1" {
		t.Fatalf("placed: %+v %v", i, err)
	}
	e.report(t, id, compute.Spawning, compute.Active, compute.PowerRunning)
	s = e.must(t, 200, "2.47", alice, "GET", "/servers/"+id, nil)["server"].(map[string]any)
	addr := s["addresses"].(map[string]any)["net-a"].([]any)[0].(map[string]any)
	if s["status"] != "ACTIVE" || s["OS-EXT-STS:power_state"] != float64(1) || addr["addr"] != i.Ports[0].IPs[0] ||
		s["flavor"].(map[string]any)["original_name"] != "tiny" || s["OS-SRV-USG:launched_at"] == nil || s["hostId"] == "" {
		t.Fatalf("active: %v", s)
	}
	if _, ok := s["OS-EXT-SRV-ATTR:host"]; ok {
		t.Fatalf("a member sees the host: %v", s)
	}
	if s := e.show(t, admin, id); s["OS-EXT-SRV-ATTR:host"] != i.Host {
		t.Fatalf("the admin does not see the host: %v", s)
	}
	// Another project's server does not exist.
	wantError(t, e.call(t, "2.1", bob, "GET", "/servers/"+id, nil), 404, "itemNotFound", "Instance "+id+" could not be found.")
	wantError(t, e.call(t, "2.1", bob, "POST", "/servers/"+id+"/action", map[string]any{"os-stop": nil}), 404, "itemNotFound")
	if l := e.must(t, 200, "2.1", bob, "GET", "/servers", nil)["servers"].([]any); len(l) != 0 {
		t.Fatalf("bob lists %v", l)
	}
	// Actions in Nova's states.
	wantError(t, e.call(t, "2.1", alice, "POST", "/servers/"+id+"/action", map[string]any{"os-start": nil}), 409, "conflictingRequest",
		"Cannot 'start' instance "+id+" while it is in vm_state active")
	e.must(t, 202, "2.1", alice, "POST", "/servers/"+id+"/action", map[string]any{"os-stop": nil})
	wantError(t, e.call(t, "2.1", alice, "POST", "/servers/"+id+"/action", map[string]any{"os-stop": nil}), 409, "conflictingRequest",
		"while it is in task_state powering-off")
	e.report(t, id, compute.PoweringOff, compute.Stopped, compute.PowerShutdown)
	if s := e.show(t, alice, id); s["status"] != "SHUTOFF" {
		t.Fatalf("stopped: %v", s)
	}
	e.must(t, 202, "2.1", alice, "POST", "/servers/"+id+"/action", map[string]any{"os-start": nil})
	e.report(t, id, compute.PoweringOn, compute.Active, compute.PowerRunning)
	e.must(t, 202, "2.1", alice, "POST", "/servers/"+id+"/action", map[string]any{"reboot": map[string]any{"type": "HARD"}})
	if s := e.show(t, alice, id); s["status"] != "HARD_REBOOT" {
		t.Fatalf("rebooting: %v", s)
	}
	e.report(t, id, compute.RebootingHard, compute.Active, compute.PowerRunning)
	wantError(t, e.call(t, "2.1", alice, "POST", "/servers/"+id+"/action", map[string]any{"reboot": map[string]any{"type": "SOFTLY"}}), 400, "badRequest")
	// Rename, and the list.
	e.must(t, 200, "2.19", alice, "PUT", "/servers/"+id, map[string]any{"server": map[string]any{"name": "web-one", "description": "front"}})
	list := e.must(t, 200, "2.19", alice, "GET", "/servers/detail", nil)["servers"].([]any)
	if len(list) != 1 || list[0].(map[string]any)["name"] != "web-one" || list[0].(map[string]any)["description"] != "front" {
		t.Fatalf("detail: %v", list)
	}
	// Delete: the host's agent ends it; what it held is released.
	if r := e.call(t, "2.1", alice, "DELETE", "/servers/"+id, nil); r.Code != 204 {
		t.Fatalf("delete: %s", r)
	}
	if s := e.show(t, alice, id); s["OS-EXT-STS:task_state"] != "deleting" {
		t.Fatalf("deleting: %v", s)
	}
	i, _ = e.store.Instance(ctx, compute.Viewer{Admin: true}, id)
	// As the internal API does on the agent's report.
	if err := e.nets.Release(ctx, id, i.Ports); err != nil {
		t.Fatal(err)
	}
	if err := e.store.DeleteAllocations(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.ReportInstance(ctx, i.Host, id, compute.InstanceReport{Task: compute.Deleting, Deleted: true}); err != nil {
		t.Fatal(err)
	}
	wantError(t, e.call(t, "2.1", alice, "GET", "/servers/"+id, nil), 404, "itemNotFound")
	if d := e.must(t, 200, "2.1", admin, "GET", "/servers/detail?all_tenants=1&deleted=true", nil)["servers"].([]any); len(d) != 1 {
		t.Fatalf("deleted servers for the admin: %v", d)
	}
}

// A server that fits no host goes to ERROR with the scheduler's
// explanation; deleting it (no host has it) is immediate.
func TestServerNoValidHost(t *testing.T) {
	e := newServerAPI(t)
	ctx := context.Background()
	id := e.must(t, 202, "2.1", alice, "POST", "/servers", serverBody(map[string]any{"flavorRef": "9"}))["server"].(map[string]any)["id"].(string)
	if err := e.builder.BuildWaiting(ctx); err != nil {
		t.Fatal(err)
	}
	s := e.show(t, alice, id)
	f, _ := s["fault"].(map[string]any)
	if s["status"] != "ERROR" || f == nil || f["code"] != float64(500) || !strings.Contains(f["message"].(string), "No valid host was found.") {
		t.Fatalf("no valid host: %v", s)
	}
	if _, ok := f["details"]; ok {
		t.Fatalf("a member sees a server error's details: %v", f)
	}
	if d := e.show(t, admin, id)["fault"].(map[string]any)["details"].(string); !strings.Contains(d, "VCPU") {
		t.Fatalf("the admin's details do not explain: %q", d)
	}
	if len(e.nets.ports) != 0 {
		t.Fatalf("ports made for a server that fits nowhere: %v", e.nets.ports)
	}
	if r := e.call(t, "2.1", alice, "DELETE", "/servers/"+id, nil); r.Code != 204 {
		t.Fatalf("delete: %s", r)
	}
	wantError(t, e.call(t, "2.1", alice, "GET", "/servers/"+id, nil), 404, "itemNotFound")
}

// Two servers at once with max_count; auto networks; refusals that make
// nothing.
func TestServerCreate(t *testing.T) {
	e := newServerAPI(t)
	ctx := context.Background()
	e.must(t, 202, "2.37", bob, "POST", "/servers", serverBody(map[string]any{"networks": "auto", "max_count": 2, "name": "pair"}))
	if err := e.builder.BuildWaiting(ctx); err != nil {
		t.Fatal(err)
	}
	list := e.must(t, 200, "latest", bob, "GET", "/servers/detail", nil)["servers"].([]any)
	if len(list) != 2 {
		t.Fatalf("max_count 2: %v", list)
	}
	var hostnames []string
	for _, s := range list {
		m := s.(map[string]any)
		if _, ok := m["addresses"].(map[string]any)["shared"]; !ok {
			t.Fatalf("auto network: %v", m)
		}
		i, _ := e.store.Instance(ctx, compute.Viewer{Admin: true}, m["id"].(string))
		hostnames = append(hostnames, i.Hostname)
	}
	slices.Sort(hostnames)
	if !slices.Equal(hostnames, []string{"pair-1", "pair-2"}) {
		t.Fatalf("hostnames %v", hostnames)
	}
	// alice has two networks: auto is ambiguous.
	wantError(t, e.call(t, "2.37", alice, "POST", "/servers", serverBody(map[string]any{"networks": "auto"})), 409, "conflictingRequest",
		"Multiple possible networks found, use a Network ID to be more specific.")
	for _, tc := range []struct {
		v      string
		body   any
		status int
		key    string
		msg    string
	}{
		{"2.1", map[string]any{}, 400, "badRequest", "'server' is a required property"},
		{"2.1", serverBody(map[string]any{"name": nil}), 400, "badRequest", "'name' is a required property"},
		{"2.1", serverBody(map[string]any{"name": " x"}), 400, "badRequest", "Can not start or end with whitespace."},
		{"2.1", serverBody(map[string]any{"flavorRef": "nope"}), 400, "badRequest", "Flavor nope could not be found."},
		{"2.1", serverBody(map[string]any{"imageRef": uuid.NewString()}), 400, "badRequest", "could not be found."},
		{"2.1", serverBody(map[string]any{"imageRef": queued}), 400, "badRequest", "is not active."},
		{"2.1", serverBody(map[string]any{"imageRef": hugeImage}), 400, "badRequest", "Flavor's disk is too small for requested image. Flavor disk is 1073741824 bytes, image is 32212254720 bytes."},
		{"2.1", serverBody(map[string]any{"key_name": "nokey"}), 400, "badRequest", "Invalid key_name provided."},
		{"2.1", serverBody(map[string]any{"user_data": "not base64!"}), 400, "badRequest", "User data needs to be valid base 64."},
		{"2.1", serverBody(map[string]any{"bogus": 1}), 400, "badRequest", "('bogus' was unexpected)"},
		{"2.37", serverBody(map[string]any{"networks": nil}), 400, "badRequest", "'networks' is a required property"},
		{"2.1", serverBody(map[string]any{"networks": []any{map[string]any{"uuid": "not-a-uuid"}}}), 400, "badRequest", "Bad networks format"},
		{"2.1", serverBody(map[string]any{"min_count": 3, "max_count": 2}), 400, "badRequest", "min_count must be <= max_count"},
	} {
		wantError(t, e.call(t, tc.v, alice, "POST", "/servers", tc.body), tc.status, tc.key, tc.msg)
	}
	if l := e.must(t, 200, "2.1", alice, "GET", "/servers", nil)["servers"].([]any); len(l) != 0 {
		t.Fatalf("refusals made servers: %v", l)
	}
	// A network of another project fails the build, not the request
	// (Nova learns it from Neutron while building).
	id := e.must(t, 202, "2.1", bob, "POST", "/servers", serverBody(nil))["server"].(map[string]any)["id"].(string)
	if err := e.builder.BuildWaiting(ctx); err != nil {
		t.Fatal(err)
	}
	if s := e.show(t, bob, id); s["status"] != "ERROR" || !strings.Contains(fmt.Sprint(s["fault"]), "Network "+netA+" could not be found.") {
		t.Fatalf("foreign network: %v", s)
	}
}

// Servers spread over the hosts by Nova's default weighers (the RAM
// weigher prefers the host with the most free memory), with no group or
// hint asking for it: four servers on two equal hosts land two and two.
func TestServersSpread(t *testing.T) {
	e := newServerAPI(t)
	per := map[string]int{}
	for range 4 {
		i := e.activeServer(t)
		per[i.Host]++
	}
	if per["host1"] != 2 || per["host2"] != 2 {
		t.Fatalf("servers per host: %v", per)
	}
}
