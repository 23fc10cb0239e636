package network_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/gostack/gostack/internal/testenv"
	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/watch"
	"github.com/gostack/gostack/network"
)

// lastChange is the newest change on the feed after head, with its data.
func (e *env) lastChange(t *testing.T, head int64) (watch.Change, map[string]any) {
	t.Helper()
	b, err := e.feed.Since(e.ctx, watch.Query{Area: "network", Since: head})
	if err != nil || len(b.Changes) == 0 {
		t.Fatalf("no change after %d: %v", head, err)
	}
	c := b.Changes[len(b.Changes)-1]
	var data map[string]any
	if c.Op != watch.Delete {
		if err := json.Unmarshal(c.Data, &data); err != nil {
			t.Fatal(err)
		}
	}
	return c, data
}

func (e *env) head(t *testing.T) int64 {
	t.Helper()
	h, _, err := e.feed.Head(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// tagged reads a resource's tags and revision as its Get answers them.
type tagged func() ([]string, int, error)

// Tags on each kind: replaced, added, removed, each change bumping the
// revision and on the feed with the tags, a change to the same tags
// neither; Neutron's errors; another project's resource not found.
func TestTags(t *testing.T) {
	for _, eng := range testenv.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			e := newFIPEnv(t, eng.DSN, "203.0.113.0/24")
			f := e.fip(t, projA, network.FloatingIP{})
			sg, err := e.s.CreateSecurityGroup(e.ctx, projA, network.SecurityGroup{Name: "web"})
			if err != nil {
				t.Fatal(err)
			}
			kinds := []struct {
				kind, id, notFound string
				get                tagged
			}{
				{"network", e.net.ID, "NetworkNotFound", func() ([]string, int, error) {
					x, err := e.s.GetNetwork(e.ctx, projA, e.net.ID)
					return x.Tags, x.Revision, err
				}},
				{"subnet", e.sub.ID, "SubnetNotFound", func() ([]string, int, error) {
					x, err := e.s.GetSubnet(e.ctx, projA, e.sub.ID)
					return x.Tags, x.Revision, err
				}},
				{"port", e.vm.ID, "PortNotFound", func() ([]string, int, error) {
					x, err := e.s.GetPort(e.ctx, projA, e.vm.ID)
					return x.Tags, x.Revision, err
				}},
				{"router", e.router.ID, "RouterNotFound", func() ([]string, int, error) {
					x, err := e.s.GetRouter(e.ctx, projA, e.router.ID)
					return x.Tags, x.Revision, err
				}},
				{"floatingip", f.ID, "FloatingIPNotFound", func() ([]string, int, error) {
					x, err := e.s.GetFloatingIP(e.ctx, projA, f.ID)
					return x.Tags, x.Revision, err
				}},
				{"security_group", sg.ID, "SecurityGroupNotFound", func() ([]string, int, error) {
					x, err := e.s.GetSecurityGroup(e.ctx, projA, sg.ID)
					return x.Tags, x.Revision, err
				}},
			}
			for _, k := range kinds {
				t.Run(k.kind, func(t *testing.T) {
					want := func(tags string, rev int) {
						t.Helper()
						got, r, err := k.get()
						if err != nil || fmt.Sprint(got) != tags || r != rev || got == nil {
							t.Fatalf("tags %v revision %d (%v), want %s %d", got, r, err, tags, rev)
						}
					}
					_, rev, _ := k.get()
					want("[]", rev)
					head := e.head(t)
					if got, err := e.s.SetTags(e.ctx, projA, k.kind, k.id, []string{"b", "a"}); err != nil || fmt.Sprint(got) != "[a b]" {
						t.Fatalf("set: %v %v", got, err)
					}
					want("[a b]", rev+1)
					c, data := e.lastChange(t, head)
					if c.Kind != k.kind || c.ID != k.id || c.Op != watch.Update || fmt.Sprint(data["tags"]) != "[a b]" ||
						data["revision_number"] != float64(rev+1) {
						t.Fatalf("feed: %+v %v", c, data)
					}
					// The same tags, a tag it has: nothing written.
					head = e.head(t)
					if _, err := e.s.SetTags(e.ctx, projA, k.kind, k.id, []string{"a", "b"}); err != nil {
						t.Fatal(err)
					}
					if _, err := e.s.AddTag(e.ctx, projA, k.kind, k.id, "a"); err != nil {
						t.Fatal(err)
					}
					if e.head(t) != head {
						t.Fatal("no change went to the feed")
					}
					want("[a b]", rev+1)
					if got, err := e.s.AddTag(e.ctx, projA, k.kind, k.id, "c"); err != nil || fmt.Sprint(got) != "[a b c]" {
						t.Fatalf("add: %v %v", got, err)
					}
					want("[a b c]", rev+2)
					_, err := e.s.RemoveTag(e.ctx, projA, k.kind, k.id, "z")
					wantNeutron(t, err, fault.NotFound, "TagNotFound")
					if got, err := e.s.RemoveTag(e.ctx, projA, k.kind, k.id, "a"); err != nil || fmt.Sprint(got) != "[b c]" {
						t.Fatalf("remove: %v %v", got, err)
					}
					want("[b c]", rev+3)
					// Another project: not found; an admin may.
					_, err = e.s.SetTags(e.ctx, projB, k.kind, k.id, []string{"x"})
					wantNeutron(t, err, fault.NotFound, k.notFound)
					_, err = e.s.AddTag(e.ctx, projB, k.kind, k.id, "x")
					wantNeutron(t, err, fault.NotFound, k.notFound)
					_, err = e.s.SetTags(e.ctx, projA, k.kind, "00000000-0000-0000-0000-000000000000", []string{"x"})
					wantNeutron(t, err, fault.NotFound, k.notFound)
					if got, err := e.s.SetTags(e.ctx, admin, k.kind, k.id, nil); err != nil || fmt.Sprint(got) != "[]" {
						t.Fatalf("remove all: %v %v", got, err)
					}
					want("[]", rev+4)
				})
			}

			// Neutron's validate_string and unique list; what no column
			// holds.
			for _, bad := range [][]string{{"a", "b", "a"}, {strings.Repeat("x", 256)}, {"a\x00b"}, {"\xff\xfe"}} {
				_, err := e.s.SetTags(e.ctx, projA, "network", e.net.ID, bad)
				wantNeutron(t, err, fault.BadRequest, "InvalidInput")
			}
			_, err = e.s.AddTag(e.ctx, projA, "network", e.net.ID, strings.Repeat("x", 256))
			wantNeutron(t, err, fault.BadRequest, "InvalidInput")
			long := strings.Repeat("é", network.MaxTagLen) // characters, not bytes
			if got, err := e.s.SetTags(e.ctx, projA, "network", e.net.ID, []string{long, "with,comma", ""}); err != nil || len(got) != 3 {
				t.Fatalf("255 characters, a comma, empty: %v %v", got, err)
			}

			// A write of the resource keeps its tags, in its answer and
			// on the feed.
			if _, err := e.s.SetTags(e.ctx, projA, "port", e.vm.ID, []string{"vm"}); err != nil {
				t.Fatal(err)
			}
			head := e.head(t)
			p, err := e.s.UpdatePort(e.ctx, projA, e.vm.ID, network.PortUpdate{Name: strp("renamed")})
			if err != nil || fmt.Sprint(p.Tags) != "[vm]" {
				t.Fatalf("update port: %v %v", p.Tags, err)
			}
			if _, data := e.lastChange(t, head); fmt.Sprint(data["tags"]) != "[vm]" || data["name"] != "renamed" {
				t.Fatalf("feed of the update: %v", data)
			}
			if _, err := e.s.SetPortStatuses(e.ctx, "", map[string]string{e.vm.ID: network.Active}); err != nil {
				t.Fatal(err)
			}
			if _, data := e.lastChange(t, head); fmt.Sprint(data["tags"]) != "[vm]" || data["status"] != network.Active {
				t.Fatalf("feed of the status: %v", data)
			}
			if _, err := e.s.SetTags(e.ctx, projA, "router", e.router.ID, []string{"edge"}); err != nil {
				t.Fatal(err)
			}
			if r, err := e.s.UpdateRouter(e.ctx, projA, e.router.ID, network.RouterUpdate{Name: strp("r2")}); err != nil || fmt.Sprint(r.Tags) != "[edge]" {
				t.Fatalf("update router: %v %v", r.Tags, err)
			}
			n, err := e.s.UpdateNetwork(e.ctx, projA, e.net.ID, network.NetworkUpdate{Name: strp("n2")})
			if err != nil || len(n.Tags) != 3 {
				t.Fatalf("update network: %v %v", n.Tags, err)
			}

			// A port created with tags (tag-ports-during-bulk-creation).
			tp, err := e.s.CreatePort(e.ctx, projA, network.Port{NetworkID: e.net.ID, Tags: []string{"y", "x"}})
			if err != nil || fmt.Sprint(tp.Tags) != "[x y]" {
				t.Fatalf("create port with tags: %v %v", tp.Tags, err)
			}
			ports, _, err := e.s.ListPorts(e.ctx, projA, network.Filter{"tags": {"x"}}, network.Page{})
			if err != nil || len(ports) != 1 || ports[0].ID != tp.ID || fmt.Sprint(ports[0].Tags) != "[x y]" {
				t.Fatalf("ports tagged x: %v %v", ports, err)
			}
			_, err = e.s.CreatePort(e.ctx, projA, network.Port{NetworkID: e.net.ID, Tags: []string{"x", "x"}})
			wantNeutron(t, err, fault.BadRequest, "InvalidInput")
		})
	}
}

// Neutron's four tag filters, each value a comma-separated list, in SQL
// with the other filters and pages.
func TestTagFilters(t *testing.T) {
	for _, eng := range testenv.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			e := newEnv(t, eng.DSN)
			for name, tags := range map[string][]string{"n1": {"a", "b"}, "n2": {"a"}, "n3": {"b", "c"}, "n4": nil} {
				n := e.network(t, projA, network.Network{Name: name})
				if _, err := e.s.SetTags(e.ctx, projA, "network", n.ID, tags); err != nil {
					t.Fatal(err)
				}
			}
			other := e.network(t, projB, network.Network{Name: "b1"})
			if _, err := e.s.SetTags(e.ctx, projB, "network", other.ID, []string{"a", "b"}); err != nil {
				t.Fatal(err)
			}
			byName := []network.Sort{{Key: "name"}}
			names := func(f network.Filter, p network.Page) string {
				t.Helper()
				if p.Sort == nil {
					p.Sort = byName
				}
				ns, _, err := e.s.ListNetworks(e.ctx, projA, f, p)
				if err != nil {
					t.Fatal(err)
				}
				var out []string
				for _, n := range ns {
					out = append(out, n.Name)
				}
				return strings.Join(out, " ")
			}
			for _, c := range []struct {
				filter network.Filter
				want   string
			}{
				{network.Filter{"tags": {"a,b"}}, "n1"},
				{network.Filter{"tags": {"a", "b"}}, "n1"},
				{network.Filter{"tags": {"a,a"}}, "n1 n2"},
				{network.Filter{"tags": {"a"}}, "n1 n2"},
				{network.Filter{"tags-any": {"a,c"}}, "n1 n2 n3"},
				{network.Filter{"tags-any": {"zzz"}}, ""},
				{network.Filter{"tags-any": {",,,"}}, ""},
				{network.Filter{"not-tags": {"a,b"}}, "n2 n3 n4"},
				{network.Filter{"not-tags-any": {"a"}}, "n3 n4"},
				{network.Filter{"not-tags-any": {"a", "c"}}, "n4"},
				{network.Filter{"tags": {"a"}, "not-tags": {"b"}}, "n2"},
				{network.Filter{"tags-any": {"b"}, "name": {"n3", "n4"}}, "n3"},
			} {
				if got := names(c.filter, network.Page{}); got != c.want {
					t.Errorf("%v: %q, want %q", c.filter, got, c.want)
				}
			}
			// Pages: a filter applies to the marker's query too.
			f := network.Filter{"tags-any": {"a,b,c"}}
			if got := names(f, network.Page{Limit: 2}); got != "n1 n2" {
				t.Fatalf("first page: %q", got)
			}
			ns, _, _ := e.s.ListNetworks(e.ctx, projA, network.Filter{"name": {"n2"}}, network.Page{})
			if got := names(f, network.Page{Limit: 2, Marker: ns[0].ID}); got != "n3" {
				t.Fatalf("second page: %q", got)
			}
			// The admin sees B's network too.
			all, _, err := e.s.ListNetworks(e.ctx, admin, network.Filter{"tags": {"a,b"}}, network.Page{Sort: byName})
			if err != nil || len(all) != 2 || all[0].Name != "b1" || !slices.Equal(all[0].Tags, []string{"a", "b"}) {
				t.Fatalf("the admin's networks tagged a and b: %v %v", all, err)
			}
			// Tags are no sort key.
			_, _, err = e.s.ListNetworks(e.ctx, projA, nil, network.Page{Sort: []network.Sort{{Key: "tags"}}})
			wantNeutron(t, err, fault.BadRequest, "HTTPBadRequest")
		})
	}
}

// A resource's tags go with it: made again with the same id, it has none.
func TestTagsGoWithResource(t *testing.T) {
	for _, eng := range testenv.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			e := newFIPEnv(t, eng.DSN, "203.0.113.0/24")
			tag := func(kind, id string) {
				t.Helper()
				if _, err := e.s.SetTags(e.ctx, admin, kind, id, []string{"gone"}); err != nil {
					t.Fatal(err)
				}
			}
			untagged := func(what string, tags []string, err error) {
				t.Helper()
				if err != nil || tags == nil || len(tags) != 0 {
					t.Fatalf("%s made again: tags %v %v", what, tags, err)
				}
			}
			// A network with a subnet, each tagged, deleted whole.
			n := e.network(t, projA, network.Network{Name: "tmp"})
			sub := e.subnet(t, projA, n.ID, "10.9.0.0/24")
			tag("network", n.ID)
			tag("subnet", sub.ID)
			if err := e.s.DeleteNetwork(e.ctx, projA, n.ID); err != nil {
				t.Fatal(err)
			}
			n2, err := e.s.CreateNetwork(e.ctx, network.Network{ID: n.ID, ProjectID: "a"})
			if err == nil {
				n2, err = e.s.GetNetwork(e.ctx, projA, n2.ID)
			}
			untagged("network", n2.Tags, err)
			sub2, err := e.s.CreateSubnet(e.ctx, projA, network.Subnet{ID: sub.ID, NetworkID: n.ID, CIDR: pfx("10.9.0.0/24")}, false)
			if err == nil {
				sub2, err = e.s.GetSubnet(e.ctx, projA, sub2.ID)
			}
			untagged("subnet", sub2.Tags, err)

			// A port, a floating IP (with its port), a router, a group.
			tag("port", e.vm.ID)
			if err := e.s.DeletePort(e.ctx, projA, e.vm.ID); err != nil {
				t.Fatal(err)
			}
			p, err := e.s.CreatePort(e.ctx, projA, network.Port{ID: e.vm.ID, NetworkID: e.net.ID})
			if err == nil {
				p, err = e.s.GetPort(e.ctx, projA, p.ID)
			}
			untagged("port", p.Tags, err)

			f := e.fip(t, projA, network.FloatingIP{})
			tag("floatingip", f.ID)
			tag("port", f.FloatingPortID)
			if err := e.s.DeleteFloatingIP(e.ctx, projA, f.ID); err != nil {
				t.Fatal(err)
			}
			f2, err := e.s.CreateFloatingIP(e.ctx, projA, network.FloatingIP{ID: f.ID, NetworkID: e.ext.ID}, "")
			if err == nil {
				f2, err = e.s.GetFloatingIP(e.ctx, projA, f2.ID)
			}
			untagged("floating IP", f2.Tags, err)

			r := e.env.router(t, projA, "tmp", nil)
			tag("router", r.ID)
			if err := e.s.DeleteRouter(e.ctx, projA, r.ID); err != nil {
				t.Fatal(err)
			}
			r2, err := e.s.CreateRouter(e.ctx, projA, network.Router{ID: r.ID}, nil)
			if err == nil {
				r2, err = e.s.GetRouter(e.ctx, projA, r2.ID)
			}
			untagged("router", r2.Tags, err)

			g, err := e.s.CreateSecurityGroup(e.ctx, projA, network.SecurityGroup{Name: "tmp"})
			if err != nil {
				t.Fatal(err)
			}
			tag("security_group", g.ID)
			if err := e.s.DeleteSecurityGroup(e.ctx, projA, g.ID); err != nil {
				t.Fatal(err)
			}
			g2, err := e.s.CreateSecurityGroup(e.ctx, projA, network.SecurityGroup{ID: g.ID, Name: "tmp"})
			if err == nil {
				g2, err = e.s.GetSecurityGroup(e.ctx, projA, g2.ID)
			}
			untagged("security group", g2.Tags, err)
		})
	}
}
