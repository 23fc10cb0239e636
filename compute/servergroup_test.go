package compute_test

import (
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gostack/gostack/compute"
	"github.com/gostack/gostack/internal/testenv"
	"github.com/gostack/gostack/kit/fault"
)

var (
	sgProjA = compute.Viewer{Project: "a"}
	sgProjB = compute.Viewer{Project: "b"}
	sgAdmin = compute.Viewer{Project: "ops", Admin: true}
)

func (e *novaEnv) serverGroup(t testing.TB, project, policy string, rules map[string]int) compute.ServerGroup {
	t.Helper()
	e.now = e.now.Add(time.Second) // lists are in creation order
	g, err := e.s.CreateServerGroup(e.ctx, compute.ServerGroup{Name: project + "-" + policy, ProjectID: project, UserID: "u-" + project,
		Policy: policy, Rules: rules})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func groupIDs(gs []compute.ServerGroup) []string {
	var out []string
	for _, g := range gs {
		out = append(out, g.ID)
	}
	return out
}

// Create, read, list and delete, each project seeing its own groups.
func TestServerGroups(t *testing.T) {
	for _, eng := range testenv.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			e := newNovaEnv(t, eng.DSN)
			start := e.head(t)
			a1 := e.serverGroup(t, "a", compute.AntiAffinity, map[string]int{compute.MaxServerPerHost: 2})
			a2 := e.serverGroup(t, "a", compute.SoftAffinity, nil)
			b1 := e.serverGroup(t, "b", compute.Affinity, nil)
			if a1.ID == "" || a1.UserID != "u-a" || a1.MaxPerHost() != 2 || len(a1.Members) != 0 || a1.Members == nil ||
				a2.Rules == nil || len(a2.Rules) != 0 || !b1.CreatedAt.Equal(e.now) {
				t.Fatalf("groups = %+v %+v", a1, a2)
			}
			got, err := e.s.ServerGroup(e.ctx, sgProjA, a1.ID)
			if err != nil || got.Name != a1.Name || got.Policy != compute.AntiAffinity || got.Rules[compute.MaxServerPerHost] != 2 {
				t.Fatalf("get = %+v, %v", got, err)
			}
			if got, err = e.s.ServerGroup(e.ctx, sgAdmin, b1.ID); err != nil || got.ProjectID != "b" {
				t.Fatalf("admin get = %+v, %v", got, err)
			}
			for _, tt := range []struct {
				name string
				v    compute.Viewer
				all  bool
				want []string
			}{
				{"a", sgProjA, false, []string{a1.ID, a2.ID}},
				{"a asking for all", sgProjA, true, []string{a1.ID, a2.ID}},
				{"b", sgProjB, false, []string{b1.ID}},
				{"admin's own", sgAdmin, false, nil},
				{"admin, all", sgAdmin, true, []string{a1.ID, a2.ID, b1.ID}},
			} {
				gs, err := e.s.ServerGroups(e.ctx, tt.v, tt.all)
				if err != nil || gs == nil || !slices.Equal(groupIDs(gs), tt.want) {
					t.Fatalf("%s: %v, %v; want %v", tt.name, groupIDs(gs), err, tt.want)
				}
			}
			e.now = e.now.Add(time.Minute)
			if got, err := e.s.AddServerGroupMember(e.ctx, a1.ID, "vm1", "h1"); err != nil || !got.UpdatedAt.Equal(e.now) ||
				!slices.Equal(got.Members, []compute.ServerGroupMember{{InstanceUUID: "vm1", Host: "h1"}}) {
				t.Fatalf("add member = %+v, %v", got, err)
			}
			if of, err := e.s.ServerGroupOfInstance(e.ctx, "vm1"); err != nil || of.ID != a1.ID || !of.UpdatedAt.Equal(e.now) {
				t.Fatalf("group of vm1 = %+v, %v", of, err)
			}
			if err := e.s.DeleteServerGroup(e.ctx, sgProjA, a1.ID); err != nil {
				t.Fatal(err)
			}
			_, err = e.s.ServerGroupOfInstance(e.ctx, "vm1")
			wantNova(t, err, fault.NotFound, "InstanceGroupNotFound", "Instance group of instance vm1 could not be found.")
			if err := e.s.DeleteServerGroup(e.ctx, sgAdmin, b1.ID); err != nil {
				t.Fatal(err)
			}
			want := []string{"server_group create", "server_group create", "server_group create", "server_group update",
				"server_group delete", "server_group delete"}
			if got := e.changes(t, start); !slices.Equal(got, want) {
				t.Fatalf("feed:\n%q\nwant\n%q", got, want)
			}
			if gs, _ := e.s.ServerGroups(e.ctx, sgAdmin, true); !slices.Equal(groupIDs(gs), []string{a2.ID}) {
				t.Fatalf("left: %v", groupIDs(gs))
			}
		})
	}
}

func TestServerGroupRefusals(t *testing.T) {
	for _, eng := range testenv.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			e := newNovaEnv(t, eng.DSN)
			a1 := e.serverGroup(t, "a", compute.AntiAffinity, nil)
			a2 := e.serverGroup(t, "a", compute.Affinity, nil)
			if _, err := e.s.AddServerGroupMember(e.ctx, a1.ID, "vm1", "h1"); err != nil {
				t.Fatal(err)
			}
			create := func(g compute.ServerGroup) func() error {
				if g.ProjectID == "" {
					g.ProjectID = "a"
				}
				return func() error { _, err := e.s.CreateServerGroup(e.ctx, g); return err }
			}
			e.refuses(t, []novaRefusal{
				{"unknown policy", create(compute.ServerGroup{Name: "g", Policy: "legacy"}), fault.BadRequest, "ValidationError",
					"Invalid input for field/attribute policy. Value: legacy. 'legacy' is not one of ['anti-affinity', 'affinity', 'soft-anti-affinity', 'soft-affinity']"},
				{"no name", create(compute.ServerGroup{Policy: compute.Affinity}), fault.BadRequest, "ValidationError",
					"Invalid input for field/attribute name. Value: . '' is too short"},
				{"rules of affinity", create(compute.ServerGroup{Name: "g", Policy: compute.Affinity, Rules: map[string]int{compute.MaxServerPerHost: 2}}),
					fault.BadRequest, "", "Only anti-affinity policy supports rules."},
				{"rules of soft anti-affinity", create(compute.ServerGroup{Name: "g", Policy: compute.SoftAntiAffinity, Rules: map[string]int{compute.MaxServerPerHost: 2}}),
					fault.BadRequest, "", "Only anti-affinity policy supports rules."},
				{"max 0", create(compute.ServerGroup{Name: "g", Policy: compute.AntiAffinity, Rules: map[string]int{compute.MaxServerPerHost: 0}}),
					fault.BadRequest, "ValidationError", "Invalid input for field/attribute max_server_per_host. Value: 0. 0 is less than the minimum of 1"},
				{"unknown rule", create(compute.ServerGroup{Name: "g", Policy: compute.AntiAffinity, Rules: map[string]int{"max_servers": 2}}),
					fault.BadRequest, "ValidationError", "Invalid input for field/attribute rules. Value: {'max_servers': 2}. Additional properties are not allowed ('max_servers' was unexpected)"},
				{"id taken", create(compute.ServerGroup{ID: a1.ID, Name: "g", Policy: compute.Affinity}),
					fault.Conflict, "InstanceGroupIdExists", fmt.Sprintf("Instance group %s already exists.", a1.ID)},
				{"another project's group", func() error { _, err := e.s.ServerGroup(e.ctx, sgProjB, a1.ID); return err },
					fault.NotFound, "InstanceGroupNotFound", fmt.Sprintf("Instance group %s could not be found.", a1.ID)},
				{"delete of another project's group", func() error { return e.s.DeleteServerGroup(e.ctx, sgProjB, a1.ID) },
					fault.NotFound, "InstanceGroupNotFound", fmt.Sprintf("Instance group %s could not be found.", a1.ID)},
				{"delete of no group", func() error { return e.s.DeleteServerGroup(e.ctx, sgAdmin, "nope") },
					fault.NotFound, "InstanceGroupNotFound", "Instance group nope could not be found."},
				{"member of no group", func() error { _, err := e.s.AddServerGroupMember(e.ctx, "nope", "vm9", "h1"); return err },
					fault.NotFound, "InstanceGroupNotFound", "Instance group nope could not be found."},
				{"member of another group", func() error { _, err := e.s.AddServerGroupMember(e.ctx, a2.ID, "vm1", "h1"); return err },
					fault.Conflict, "", "Instance vm1 is already a member of another server group."},
				{"move of no member", func() error { _, err := e.s.SetMemberHost(e.ctx, a1.ID, "vm9", "h1"); return err },
					fault.NotFound, "", fmt.Sprintf("Instance vm9 is not a member of server group %s.", a1.ID)},
				{"anti-affinity broken", func() error { _, err := e.s.AddServerGroupMember(e.ctx, a1.ID, "vm2", "h1"); return err },
					fault.Conflict, "GroupAffinityViolation", "Anti-affinity instance group policy was violated"},
			})
			if g, _ := e.s.ServerGroup(e.ctx, sgProjA, a1.ID); !slices.Equal(g.Members, []compute.ServerGroupMember{{InstanceUUID: "vm1", Host: "h1"}}) {
				t.Fatalf("members after refusals: %+v", g.Members)
			}
		})
	}
}

// Each policy's rule for placing members, step by step.
func TestServerGroupPolicies(t *testing.T) {
	type step struct {
		op, instance, host string // op: add, move, remove
		ok                 bool
	}
	tests := []struct {
		name   string
		policy string
		rules  map[string]int
		steps  []step
		counts string // HostCounts at the end
	}{
		{"anti-affinity", compute.AntiAffinity, nil, []step{
			{"add", "vm1", "h1", true}, {"add", "vm2", "h1", false}, {"add", "vm2", "h2", true},
			{"add", "vm3", "", true}, // not placed yet
			{"move", "vm3", "h2", false}, {"move", "vm3", "h3", true},
			{"move", "vm1", "h1", true}, // where it is
			{"remove", "vm1", "", true}, {"add", "vm4", "h1", true}, {"remove", "vm9", "", true},
		}, "map[h1:1 h2:1 h3:1]"},
		{"anti-affinity, 2 per host", compute.AntiAffinity, map[string]int{compute.MaxServerPerHost: 2}, []step{
			{"add", "vm1", "h1", true}, {"add", "vm2", "h1", true}, {"add", "vm3", "h1", false}, {"add", "vm3", "h2", true},
			{"move", "vm3", "h1", false}, {"add", "vm2", "h2", true}, // an add of a member moves it
			{"move", "vm3", "h1", true},
		}, "map[h1:2 h2:1]"},
		{"affinity", compute.Affinity, nil, []step{
			{"add", "vm1", "", true}, {"add", "vm2", "h2", true}, {"add", "vm3", "h1", false}, {"add", "vm3", "h2", true},
			{"move", "vm1", "h1", false}, {"move", "vm1", "h2", true},
			// The group's only placed member may move anywhere.
			{"remove", "vm2", "", true}, {"remove", "vm3", "", true}, {"move", "vm1", "h1", true}, {"add", "vm4", "h1", true},
		}, "map[h1:2]"},
		{"soft anti-affinity", compute.SoftAntiAffinity, nil, []step{
			{"add", "vm1", "h1", true}, {"add", "vm2", "h1", true},
		}, "map[h1:2]"},
		{"soft affinity", compute.SoftAffinity, nil, []step{
			{"add", "vm1", "h1", true}, {"add", "vm2", "h2", true},
		}, "map[h1:1 h2:1]"},
	}
	for _, eng := range testenv.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			e := newNovaEnv(t, eng.DSN)
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					g := e.serverGroup(t, "a", tt.policy, tt.rules)
					for i, st := range tt.steps {
						// Instances are unique across the groups of this test.
						inst := g.ID + "/" + st.instance
						var err error
						switch st.op {
						case "add":
							_, err = e.s.AddServerGroupMember(e.ctx, g.ID, inst, st.host)
						case "move":
							_, err = e.s.SetMemberHost(e.ctx, g.ID, inst, st.host)
						case "remove":
							_, err = e.s.RemoveServerGroupMember(e.ctx, g.ID, inst)
						}
						if st.ok && err != nil || !st.ok && fault.TypeOf(err) != "GroupAffinityViolation" {
							t.Fatalf("step %d %+v: %v", i, st, err)
						}
					}
					got, err := e.s.ServerGroup(e.ctx, sgProjA, g.ID)
					if err != nil || fmt.Sprint(got.HostCounts()) != tt.counts {
						t.Fatalf("host counts = %v, %v; want %s (members %+v)", got.HostCounts(), err, tt.counts, got.Members)
					}
					if of, err := e.s.ServerGroupOfInstance(e.ctx, got.Members[0].InstanceUUID); err != nil || of.ID != g.ID {
						t.Fatalf("group of %s = %+v, %v", got.Members[0].InstanceUUID, of, err)
					}
				})
			}
		})
	}
}

// Parallel schedulers placing members of one group: the group's row lock
// makes each check-and-write one step, so anti-affinity (max 1) puts one
// member on each host and affinity puts them all on one host.
func TestServerGroupMemberRace(t *testing.T) {
	hosts := []string{"h1", "h2", "h3", "h4"}
	for _, eng := range testenv.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			e := newNovaEnv(t, eng.DSN)
			for _, policy := range []string{compute.AntiAffinity, compute.Affinity} {
				t.Run(policy, func(t *testing.T) {
					g := e.serverGroup(t, "a", policy, nil)
					var wg sync.WaitGroup
					var mu sync.Mutex
					placed := map[string]string{} // instance -> host
					refused := 0
					for i := range 16 {
						wg.Go(func() {
							inst, host := uuid.NewString(), hosts[i%len(hosts)]
							_, err := e.s.AddServerGroupMember(e.ctx, g.ID, inst, host)
							mu.Lock()
							defer mu.Unlock()
							switch {
							case err == nil:
								placed[inst] = host
							case fault.TypeOf(err) == "GroupAffinityViolation":
								refused++
							default:
								t.Errorf("add %s on %s: %v", inst, host, err)
							}
						})
					}
					wg.Wait()
					got, err := e.s.ServerGroup(e.ctx, sgProjA, g.ID)
					if err != nil {
						t.Fatal(err)
					}
					counts := got.HostCounts()
					switch policy {
					case compute.AntiAffinity:
						if len(placed) != 4 || refused != 12 || len(counts) != 4 || slices.Max(slices.Collect(maps.Values(counts))) != 1 {
							t.Fatalf("anti-affinity: placed %v, refused %d, counts %v", placed, refused, counts)
						}
					case compute.Affinity:
						if len(placed) != 4 || refused != 12 || len(counts) != 1 || len(got.Hosts()) != 1 {
							t.Fatalf("affinity: placed %v, refused %d, counts %v", placed, refused, counts)
						}
					}
					if len(got.Members) != len(placed) {
						t.Fatalf("members %+v, placed %v", got.Members, placed)
					}
					for _, m := range got.Members {
						if placed[m.InstanceUUID] != m.Host {
							t.Fatalf("member %+v, placed on %q", m, placed[m.InstanceUUID])
						}
					}
				})
			}
		})
	}
}
