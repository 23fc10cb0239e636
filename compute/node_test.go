package compute_test

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gostack/gostack/compute"
	"github.com/gostack/gostack/compute/placement"
	"github.com/gostack/gostack/internal/testenv"
	"github.com/gostack/gostack/kit/fault"
)

// node is a compute node report of host with 8 VCPUs, 16 GiB and 100 GB.
func node(host, u string) compute.ComputeNode {
	least := int64(90)
	return compute.ComputeNode{UUID: u, Host: host, HypervisorHostname: host + ".example", HypervisorType: "QEMU",
		HypervisorVersion: 8002000, HostIP: "192.0.2.10", CPUInfo: `{"arch": "x86_64"}`,
		VCPUs: 8, MemoryMB: 16384, LocalGB: 100, DiskAvailableLeast: &least}
}

// nodeInventory is the inventory a node of n reports, 512 MB reserved.
func nodeInventory(n compute.ComputeNode) map[string]placement.Inventory {
	mem := placement.NewInventory(n.MemoryMB)
	mem.Reserved = 512
	return map[string]placement.Inventory{placement.VCPU: placement.NewInventory(n.VCPUs),
		placement.MemoryMB: mem, placement.DiskGB: placement.NewInventory(n.LocalGB)}
}

func (e *novaEnv) reportNode(t testing.TB, n compute.ComputeNode) compute.ComputeNode {
	t.Helper()
	out, err := e.s.ReportNode(e.ctx, n, nodeInventory(n), compute.Ratios{Initial: compute.DefaultInitialRatios()})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// A node's first report makes its row and its provider; a report that
// changes nothing writes nothing; a change writes the row, or the
// provider, or both.
func TestReportNode(t *testing.T) {
	for _, eng := range testenv.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			e := newNovaEnv(t, eng.DSN)
			e.computeHost(t, "h1")
			u := uuid.NewString()
			head := e.head(t)
			n := e.reportNode(t, node("h1", u))
			if n.ID != 1 || n.UUID != u || n.Host != "h1" || !n.CreatedAt.Equal(e.now) || *n.DiskAvailableLeast != 90 {
				t.Fatalf("first report = %+v", n)
			}
			if got := e.changes(t, head); !slices.Equal(got, []string{"compute_node create", "resource_provider create", "inventory update"}) {
				t.Fatalf("feed: %q", got)
			}
			p, err := e.s.Provider(e.ctx, u)
			if err != nil || p.Name != "h1" || p.Inventories[placement.VCPU].AllocationRatio != 4 || p.Inventories[placement.MemoryMB].Reserved != 512 {
				t.Fatalf("provider = %+v, %v", p, err)
			}

			// The same report again, later, without its uuid: nothing.
			e.now = e.now.Add(time.Minute)
			head = e.head(t)
			same := node("h1", "")
			if again := e.reportNode(t, same); again.UUID != u || !again.UpdatedAt.Equal(n.UpdatedAt) || e.head(t) != head {
				t.Fatalf("same report = %+v (feed head %d → %d)", again, head, e.head(t))
			}

			// More memory: the row and the inventory.
			more := node("h1", u)
			more.MemoryMB, more.DiskAvailableLeast = 32768, nil
			got := e.reportNode(t, more)
			if got.MemoryMB != 32768 || got.DiskAvailableLeast != nil || !got.UpdatedAt.Equal(e.now) || !got.CreatedAt.Equal(n.CreatedAt) {
				t.Fatalf("changed report = %+v", got)
			}
			if got := e.changes(t, head); !slices.Equal(got, []string{"compute_node update", "inventory update"}) {
				t.Fatalf("feed: %q", got)
			}
			// Only the inventory (a new reservation): the provider alone.
			head = e.head(t)
			inv := nodeInventory(more)
			inv[placement.DiskGB] = placement.Inventory{Total: 100, Reserved: 5, MinUnit: 1, MaxUnit: 100, StepSize: 1}
			if _, err := e.s.ReportNode(e.ctx, more, inv, compute.Ratios{}); err != nil {
				t.Fatal(err)
			}
			if got := e.changes(t, head); !slices.Equal(got, []string{"inventory update"}) {
				t.Fatalf("feed: %q", got)
			}

			// Reads.
			for name, read := range map[string]func() (compute.ComputeNode, error){
				"by uuid": func() (compute.ComputeNode, error) { return e.s.Node(e.ctx, u) },
				"by id":   func() (compute.ComputeNode, error) { return e.s.NodeByID(e.ctx, 1) },
				"by host": func() (compute.ComputeNode, error) { return e.s.NodeByHost(e.ctx, "h1") },
			} {
				if got, err := read(); err != nil || got.UUID != u || got.MemoryMB != 32768 || got.CPUInfo != `{"arch": "x86_64"}` ||
					got.HostIP != "192.0.2.10" || got.HypervisorVersion != 8002000 {
					t.Fatalf("%s: %+v, %v", name, got, err)
				}
			}
		})
	}
}

// Nodes lists by id with a marker and a limit, and matches hypervisor
// hostnames as Nova's LIKE search does.
func TestNodes(t *testing.T) {
	for _, eng := range testenv.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			e := newNovaEnv(t, eng.DSN)
			hosts := []string{"cn1", "cn2", "Cn3", "gpu1"}
			e.computeHost(t, hosts...)
			for _, h := range hosts {
				e.reportNode(t, node(h, ""))
			}
			names := func(ns []compute.ComputeNode) []string {
				var out []string
				for _, n := range ns {
					out = append(out, n.Host)
				}
				return out
			}
			for _, tt := range []struct {
				after int64
				limit int
				want  []string
			}{{0, 0, hosts}, {0, 2, []string{"cn1", "cn2"}}, {2, 0, []string{"Cn3", "gpu1"}}, {2, 1, []string{"Cn3"}}, {4, 0, nil}} {
				got, err := e.s.Nodes(e.ctx, tt.after, tt.limit)
				if err != nil || got == nil || !slices.Equal(names(got), tt.want) {
					t.Fatalf("Nodes(%d, %d) = %v, %v; want %v", tt.after, tt.limit, names(got), err, tt.want)
				}
			}
			for _, tt := range []struct {
				pattern string
				want    []string
			}{{"cn", []string{"cn1", "cn2", "Cn3"}}, {"CN2", []string{"cn2"}}, {"c_3", []string{"Cn3"}}, {"gpu%example", []string{"gpu1"}},
				{"1.example", []string{"cn1", "gpu1"}}, {"nope", nil}, {"", hosts}} {
				got, err := e.s.NodesMatching(e.ctx, tt.pattern)
				if err != nil || got == nil || !slices.Equal(names(got), tt.want) {
					t.Fatalf("NodesMatching(%q) = %v, %v; want %v", tt.pattern, names(got), err, tt.want)
				}
			}
		})
	}
}

// A node's usages are its provider's.
func TestNodeUsages(t *testing.T) {
	for _, eng := range testenv.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			e := newNovaEnv(t, eng.DSN)
			e.computeHost(t, "h1", "h2")
			n1, n2 := e.reportNode(t, node("h1", "")), e.reportNode(t, node("h2", ""))
			for _, c := range []string{uuid.NewString(), uuid.NewString()} {
				if err := e.s.Claim(e.ctx, compute.Claim{Consumer: c, ProjectID: "p", UserID: "u",
					Resources: map[string]map[string]int64{n1.UUID: {placement.VCPU: 2, placement.MemoryMB: 2048}}}); err != nil {
					t.Fatal(err)
				}
			}
			absent := uuid.NewString()
			got, err := e.s.NodeUsages(e.ctx, []string{n1.UUID, n2.UUID, absent})
			if err != nil {
				t.Fatal(err)
			}
			if u := got[n1.UUID]; u.Usages[placement.VCPU] != 4 || u.Usages[placement.MemoryMB] != 4096 ||
				u.Inventories[placement.MemoryMB].Reserved != 512 {
				t.Fatalf("n1 = %+v", u)
			}
			if u := got[n2.UUID]; u.Usages[placement.VCPU] != 0 || u.Inventories[placement.VCPU].Total != 8 {
				t.Fatalf("n2 = %+v", u)
			}
			if u, ok := got[absent]; !ok || u.Usages == nil || len(u.Inventories) != 0 {
				t.Fatalf("a node without a provider = %+v, %v", u, ok)
			}
		})
	}
}

// Reports Nova could not show are refused and write nothing.
func TestReportNodeRefusals(t *testing.T) {
	for _, eng := range testenv.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			e := newNovaEnv(t, eng.DSN)
			e.computeHost(t, "h1", "h2")
			u := uuid.NewString()
			e.reportNode(t, node("h1", u))
			report := func(edit func(*compute.ComputeNode)) func() error {
				return func() error {
					n := node("h2", "")
					edit(&n)
					_, err := e.s.ReportNode(e.ctx, n, nodeInventory(n), compute.Ratios{})
					return err
				}
			}
			e.refuses(t, []novaRefusal{
				{"no compute service", report(func(n *compute.ComputeNode) { n.Host = "h9" }),
					fault.NotFound, "ComputeHostNotFound", "Compute host h9 could not be found."},
				{"bad host name", report(func(n *compute.ComputeNode) { n.Host = "h 2" }),
					fault.BadRequest, "ValidationError", "Invalid input for field/attribute host. Value: h 2. 'h 2' does not match '^[a-zA-Z0-9-._]*$'"},
				{"another node's uuid", report(func(n *compute.ComputeNode) { n.UUID = u }),
					fault.Conflict, "", "compute: compute node " + u + " is another host's"},
				{"another uuid for the host's node", func() error {
					_, err := e.s.ReportNode(e.ctx, node("h1", uuid.NewString()), nodeInventory(node("h1", "")), compute.Ratios{})
					return err
				}, fault.Conflict, "", `compute: host "h1" has compute node ` + u + ", not …"},
				{"bad uuid", report(func(n *compute.ComputeNode) { n.UUID = "NOT-A-UUID" }),
					fault.BadRequest, "", `compute: node of host "h2": uuid "NOT-A-UUID" is not a lowercase hyphenated uuid`},
				{"no hypervisor hostname", report(func(n *compute.ComputeNode) { n.HypervisorHostname = "" }),
					fault.BadRequest, "", `compute: node of host "h2": hypervisor_hostname must have 1 to 255 characters`},
				{"no hypervisor type", report(func(n *compute.ComputeNode) { n.HypervisorType = "" }),
					fault.BadRequest, "", `compute: node of host "h2": hypervisor_type must have 1 to 255 characters`},
				{"bad IP", report(func(n *compute.ComputeNode) { n.HostIP = "192.0.2" }),
					fault.BadRequest, "", `compute: node of host "h2": host_ip "192.0.2" is not an IP address`},
				{"bad cpu_info", report(func(n *compute.ComputeNode) { n.CPUInfo = "{" }),
					fault.BadRequest, "", `compute: node of host "h2": cpu_info is not JSON`},
				{"negative memory", report(func(n *compute.ComputeNode) { n.MemoryMB = -1 }),
					fault.BadRequest, "", `compute: node of host "h2": vcpus, memory_mb, local_gb and hypervisor_version may not be negative`},
			})
			if ns, err := e.s.Nodes(e.ctx, 0, 0); err != nil || len(ns) != 1 || ns[0].UUID != u {
				t.Fatalf("nodes after the refusals: %+v, %v", ns, err)
			}
		})
	}
}

// Parallel first reports of one node make one row and no error.
func TestReportNodeFirstReportsRace(t *testing.T) {
	for _, eng := range testenv.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			e := newNovaEnv(t, eng.DSN)
			e.computeHost(t, "h1")
			u := uuid.NewString()
			var wg sync.WaitGroup
			errs := make(chan error, 8)
			for range 8 {
				wg.Go(func() {
					_, err := e.s.ReportNode(e.ctx, node("h1", u), nodeInventory(node("h1", u)), compute.Ratios{})
					errs <- err
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
			if ns, err := e.s.Nodes(e.ctx, 0, 0); err != nil || len(ns) != 1 || ns[0].UUID != u {
				t.Fatalf("nodes = %+v, %v", ns, err)
			}
		})
	}
}

// A host already in an aggregate when its node first reports gets the
// aggregate on its new provider (Nova's mirror into Placement).
func TestReportNodeMirrorsAggregates(t *testing.T) {
	for _, eng := range testenv.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			e := newNovaEnv(t, eng.DSN)
			e.computeHost(t, "h1")
			a := e.aggregate(t, "fast", "az1", "h1")
			n := e.reportNode(t, node("h1", ""))
			p, err := e.s.Provider(e.ctx, n.UUID)
			if err != nil || !slices.Equal(p.Aggregates, []string{a.UUID}) {
				t.Fatalf("provider = %+v, %v", p, err)
			}
		})
	}
}

// Deleting a host's node deletes its provider, refused while it has
// allocations; a host without a node has nothing to delete.
func TestDeleteNode(t *testing.T) {
	for _, eng := range testenv.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			e := newNovaEnv(t, eng.DSN)
			e.computeHost(t, "h1")
			n := e.reportNode(t, node("h1", ""))
			child, err := e.s.CreateProvider(e.ctx, "", "h1-numa0", n.UUID)
			if err != nil {
				t.Fatal(err)
			}
			consumer := uuid.NewString()
			if err := e.s.Claim(e.ctx, compute.Claim{Consumer: consumer, ProjectID: "p", UserID: "u",
				Resources: map[string]map[string]int64{n.UUID: {placement.VCPU: 1}}}); err != nil {
				t.Fatal(err)
			}
			e.refuses(t, []novaRefusal{{"allocations", func() error { return e.s.DeleteNode(e.ctx, "h1") }, fault.Conflict, "",
				"Unable to delete compute service that is hosting instances. Migrate or delete the instances first."}})
			if err := e.s.DeleteAllocations(e.ctx, consumer); err != nil {
				t.Fatal(err)
			}
			head := e.head(t)
			if err := e.s.DeleteNode(e.ctx, "h1"); err != nil {
				t.Fatal(err)
			}
			if got := e.changes(t, head); !slices.Equal(got, []string{"resource_provider delete", "resource_provider delete", "compute_node delete"}) {
				t.Fatalf("feed: %q", got)
			}
			for _, u := range []string{n.UUID, child.UUID} {
				if _, err := e.s.Provider(e.ctx, u); fault.KindOf(err) != fault.NotFound {
					t.Fatalf("provider %s after the delete: %v", u, err)
				}
			}
			if _, err := e.s.NodeByHost(e.ctx, "h1"); fault.KindOf(err) != fault.NotFound {
				t.Fatalf("node after the delete: %v", err)
			}
			head = e.head(t)
			if err := e.s.DeleteNode(e.ctx, "h1"); err != nil || e.head(t) != head {
				t.Fatalf("second delete: %v (feed head %d → %d)", err, head, e.head(t))
			}
		})
	}
}
