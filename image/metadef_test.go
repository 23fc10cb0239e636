package image_test

import (
	"context"
	"encoding/json"
	"os"
	"slices"
	"testing"

	"github.com/gostack/gostack/image"
	"github.com/gostack/gostack/internal/testenv"
	"github.com/gostack/gostack/kit/fault"
)

func nsNames(t *testing.T, s *image.Store, v image.Viewer, f image.NamespaceFilter) []string {
	t.Helper()
	got, err := s.Namespaces(context.Background(), v, f)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, ns := range got {
		out = append(out, ns.Namespace)
	}
	slices.Sort(out)
	return out
}

func wantKind(t *testing.T, err error, kind fault.Kind) {
	t.Helper()
	if fault.KindOf(err) != kind {
		t.Fatalf("err = %v (%v), want %v", err, fault.KindOf(err), kind)
	}
}

// Glance's files load once, as glance-manage db_load_metadefs, on both
// engines; the namespace of a file without visibility is seen by admins
// only (its owner is "admin"), as in Glance.
func TestLoadMetadefs(t *testing.T) {
	ctx := context.Background()
	admin, proj := image.Viewer{Project: "p1", Admin: true}, image.Viewer{Project: "p1"}
	for _, e := range testenv.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			s := newStore(t, e.DSN)
			n, skipped, err := s.LoadMetadefs(ctx, os.DirFS("testdata/metadefs"))
			if err != nil || n != 4 || len(skipped) != 0 {
				t.Fatalf("load: %d %v %v", n, skipped, err)
			}
			all := []string{"OS::Compute::CPUPinning", "OS::Compute::Watchdog", "OS::OperatingSystem", "OS::Software::WebServers"}
			if got := nsNames(t, s, admin, image.NamespaceFilter{}); !slices.Equal(got, all) {
				t.Fatalf("admin sees %v", got)
			}
			if got := nsNames(t, s, proj, image.NamespaceFilter{}); slices.Contains(got, "OS::OperatingSystem") || len(got) != 3 {
				t.Fatalf("a project sees %v", got)
			}
			if got := nsNames(t, s, proj, image.NamespaceFilter{ResourceTypes: []string{"OS::Nova::Server"}}); !slices.Equal(got, []string{"OS::Software::WebServers"}) {
				t.Fatalf("by resource type: %v", got)
			}
			rts, err := s.ResourceTypes(ctx)
			if err != nil || len(rts) != 4 || !rts[0].Protected {
				t.Fatalf("resource types %v %v", rts, err)
			}
			objs, err := s.Items(ctx, proj, "OS::Software::WebServers", image.KindObject)
			if err != nil || len(objs) != 3 {
				t.Fatalf("objects %v %v", objs, err)
			}
			var body image.ObjectBody
			if err := json.Unmarshal(objs[0].Body, &body); err != nil || len(body.Properties) == 0 {
				t.Fatalf("object body %s: %v", objs[0].Body, err)
			}
			// Protected: nothing of it may be deleted.
			wantKind(t, s.DeleteNamespace(ctx, admin, "OS::Compute::Watchdog"), fault.Forbidden)
			wantKind(t, s.DeleteItem(ctx, admin, "OS::Compute::Watchdog", image.KindProperty, "watchdog_action"), fault.Forbidden)
			wantKind(t, s.DeleteItems(ctx, admin, "OS::Compute::Watchdog", image.KindProperty), fault.Forbidden)
			wantKind(t, s.Dissociate(ctx, admin, "OS::Compute::Watchdog", "OS::Nova::Flavor"), fault.Forbidden)
			if props, _ := s.Items(ctx, admin, "OS::Compute::Watchdog", image.KindProperty); len(props) != 1 {
				t.Fatalf("properties after refused deletes: %v", props)
			}
			// Once loaded, never again: an unprotected namespace deleted
			// stays deleted.
			ns, _ := s.Namespace(ctx, admin, "OS::Compute::CPUPinning")
			ns.Protected = false
			if _, err := s.UpdateNamespace(ctx, admin, ns.Namespace, ns); err != nil {
				t.Fatal(err)
			}
			if err := s.DeleteNamespace(ctx, admin, ns.Namespace); err != nil {
				t.Fatal(err)
			}
			if n, _, err := s.LoadMetadefs(ctx, os.DirFS("testdata/metadefs")); n != 0 || err != nil {
				t.Fatalf("second load: %d %v", n, err)
			}
			if _, err := s.Namespace(ctx, admin, ns.Namespace); fault.KindOf(err) != fault.NotFound {
				t.Fatalf("deleted namespace came back: %v", err)
			}
		})
	}
}

// A private namespace is invisible (404) to other projects, in every
// call; public ones are readable by all.
func TestMetadefTenancy(t *testing.T) {
	ctx := context.Background()
	a, b := image.Viewer{Project: "pa"}, image.Viewer{Project: "pb"}
	for _, e := range testenv.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			s := newStore(t, e.DSN)
			_, err := s.CreateNamespace(ctx, image.NamespaceContent{
				Namespace: image.Namespace{Namespace: "mine", Visibility: image.Private, Owner: "pa"},
				Items:     []image.Item{{Kind: image.KindTag, Name: "t1"}, {Kind: image.KindProperty, Name: "p", Body: json.RawMessage(`{"type":"string","title":"P"}`)}},
			})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.Namespace(ctx, a, "mine"); err != nil {
				t.Fatal(err)
			}
			wantKind(t, func() error { _, err := s.Namespace(ctx, b, "mine"); return err }(), fault.NotFound)
			wantKind(t, func() error { _, err := s.Items(ctx, b, "mine", ""); return err }(), fault.NotFound)
			wantKind(t, func() error { _, err := s.Item(ctx, b, "mine", image.KindTag, "t1"); return err }(), fault.NotFound)
			wantKind(t, s.DeleteNamespace(ctx, b, "mine"), fault.NotFound)
			wantKind(t, s.DeleteItem(ctx, b, "mine", image.KindTag, "t1"), fault.NotFound)
			wantKind(t, func() error {
				_, err := s.CreateItems(ctx, b, "mine", []image.Item{{Kind: image.KindTag, Name: "x"}}, false)
				return err
			}(), fault.NotFound)
			if got := nsNames(t, s, b, image.NamespaceFilter{}); len(got) != 0 {
				t.Fatalf("b lists %v", got)
			}
			if items, _ := s.Items(ctx, a, "mine", ""); len(items) != 2 {
				t.Fatalf("items changed: %v", items)
			}
		})
	}
}

// Names are unique per namespace and kind, tags whatever their case; a
// refused write changes nothing.
func TestMetadefItems(t *testing.T) {
	ctx := context.Background()
	v := image.Viewer{Project: "pa", Admin: true}
	for _, e := range testenv.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			s := newStore(t, e.DSN)
			if _, err := s.CreateNamespace(ctx, image.NamespaceContent{Namespace: image.Namespace{Namespace: "n", Visibility: image.Public}}); err != nil {
				t.Fatal(err)
			}
			_, err := s.CreateNamespace(ctx, image.NamespaceContent{Namespace: image.Namespace{Namespace: "n"}})
			wantKind(t, err, fault.Conflict)
			_, err = s.CreateNamespace(ctx, image.NamespaceContent{Namespace: image.Namespace{Namespace: "m"},
				Items: []image.Item{{Kind: image.KindTag, Name: "A"}, {Kind: image.KindTag, Name: "a"}}})
			wantKind(t, err, fault.Conflict)
			if got := nsNames(t, s, v, image.NamespaceFilter{}); !slices.Equal(got, []string{"n"}) {
				t.Fatalf("namespaces %v", got)
			}
			if _, err := s.CreateItems(ctx, v, "n", []image.Item{{Kind: image.KindTag, Name: "Web"}, {Kind: image.KindTag, Name: "db"}}, false); err != nil {
				t.Fatal(err)
			}
			_, err = s.CreateItems(ctx, v, "n", []image.Item{{Kind: image.KindTag, Name: "new"}, {Kind: image.KindTag, Name: "WEB"}}, false)
			wantKind(t, err, fault.Conflict)
			tags, _ := s.Items(ctx, v, "n", image.KindTag)
			if len(tags) != 2 {
				t.Fatalf("tags after a refused append: %v", tags)
			}
			// Without append the tags are replaced.
			if _, err := s.CreateItems(ctx, v, "n", []image.Item{{Kind: image.KindTag, Name: "only"}}, true); err != nil {
				t.Fatal(err)
			}
			if tags, _ := s.Items(ctx, v, "n", image.KindTag); len(tags) != 1 || tags[0].Name != "only" {
				t.Fatalf("tags after replace: %v", tags)
			}
			// Same name, other kind: fine. Rename onto a taken name: 409.
			if _, err := s.CreateItems(ctx, v, "n", []image.Item{{Kind: image.KindObject, Name: "only"}, {Kind: image.KindObject, Name: "o2"}}, false); err != nil {
				t.Fatal(err)
			}
			_, err = s.UpdateItem(ctx, v, "n", "o2", image.Item{Kind: image.KindObject, Name: "only"})
			wantKind(t, err, fault.Conflict)
			if _, err := s.UpdateItem(ctx, v, "n", "o2", image.Item{Kind: image.KindObject, Name: "o3"}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Item(ctx, v, "n", image.KindObject, "o3"); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Associate(ctx, v, "n", image.Association{Name: "OS::Glance::Image", Prefix: "x_"}); err != nil {
				t.Fatal(err)
			}
			_, err = s.Associate(ctx, v, "n", image.Association{Name: "OS::Glance::Image"})
			wantKind(t, err, fault.Conflict)
			if err := s.Dissociate(ctx, v, "n", "OS::Glance::Image"); err != nil {
				t.Fatal(err)
			}
			if rts, _ := s.ResourceTypes(ctx); len(rts) != 1 || rts[0].Protected {
				t.Fatalf("resource types %v", rts)
			}
			if err := s.DeleteNamespace(ctx, v, "n"); err != nil {
				t.Fatal(err)
			}
			wantKind(t, func() error { _, err := s.Items(ctx, v, "n", ""); return err }(), fault.NotFound)
		})
	}
}
