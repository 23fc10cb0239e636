package api_test

import (
	"fmt"
	"strings"
	"testing"
)

// member is the resource of a body: {"<key>": {...}}.
func member(body map[string]any, key string) map[string]any { return body[key].(map[string]any) }

// Neutron's standard-attr-tag on a network: the tag routes with their
// status codes and errors, the tags in the network and its revision,
// another project not finding it, a shared network's tags its owner's.
func TestTagRoutes(t *testing.T) {
	c := newAPI(t)
	id := member(c.Must(t, 201, "POST", "/v2.0/networks", memberA, map[string]any{"network": map[string]any{"name": "n"}}), "network")["id"].(string)
	tags := "/v2.0/networks/" + id + "/tags"
	tagsOf := func() string {
		t.Helper()
		return fmt.Sprint(c.Must(t, 200, "GET", tags, memberA, nil)["tags"])
	}
	if got := tagsOf(); got != "[]" {
		t.Fatalf("no tags: %s", got)
	}
	// PUT replaces them and answers the body; the network shows them
	// sorted, at its next revision.
	if body := c.Must(t, 200, "PUT", tags, memberA, map[string]any{"tags": []string{"b", "a"}}); fmt.Sprint(body["tags"]) != "[b a]" {
		t.Fatalf("PUT tags: %v", body)
	}
	n := member(c.Must(t, 200, "GET", "/v2.0/networks/"+id, memberA, nil), "network")
	if fmt.Sprint(n["tags"]) != "[a b]" || n["revision_number"] != float64(2) || tagsOf() != "[a b]" {
		t.Fatalf("the network: %v", n)
	}
	if r := c.Do(t, "GET", tags+"/a", memberA, nil); r.Code != 204 || len(r.Body) != 0 {
		t.Fatalf("GET a tag it has: %s", r)
	}
	neutronError(t, c.Do(t, "GET", tags+"/z", memberA, nil), 404, "TagNotFound")
	if r := c.Do(t, "PUT", tags+"/c", memberA, nil); r.Code != 201 || len(r.Body) != 0 {
		t.Fatalf("PUT a tag: %s", r)
	}
	if r := c.Do(t, "PUT", tags+"/c", memberA, nil); r.Code != 201 {
		t.Fatalf("PUT a tag again: %s", r)
	}
	c.Must(t, 204, "DELETE", tags+"/a", memberA, nil)
	neutronError(t, c.Do(t, "DELETE", tags+"/a", memberA, nil), 404, "TagNotFound")
	if got := tagsOf(); got != "[b c]" {
		t.Fatalf("after add and remove: %s", got)
	}
	if n := member(c.Must(t, 200, "GET", "/v2.0/networks/"+id+"?fields=tags&fields=revision_number", memberA, nil), "network"); len(n) != 2 ||
		n["revision_number"] != float64(4) {
		t.Fatalf("fields=tags: %v", n)
	}
	c.Must(t, 204, "DELETE", tags, memberA, nil)
	if got := tagsOf(); got != "[]" {
		t.Fatalf("after DELETE tags: %s", got)
	}

	// Neutron's validate_tags and validate_tag: InvalidInput.
	for _, body := range []any{map[string]any{"tags": "x"}, map[string]any{"tags": []any{1}}, map[string]any{"tags": []string{"a", "a"}},
		map[string]any{"tags": []string{strings.Repeat("x", 256)}}, map[string]any{"nope": []string{}}, []string{"a"}, map[string]any{"tags": nil}} {
		neutronError(t, c.Do(t, "PUT", tags, memberA, body), 400, "InvalidInput")
	}
	neutronError(t, c.Do(t, "PUT", tags+"/"+strings.Repeat("x", 256), memberA, nil), 400, "InvalidInput")
	// (A path with a NUL or invalid UTF-8 is refused before the route.)
	neutronError(t, c.Do(t, "PUT", tags+"/a%00b", memberA, nil), 400, "HTTPBadRequest")
	neutronError(t, c.Do(t, "GET", tags+"/%ff", memberA, nil), 400, "HTTPBadRequest")
	if got := tagsOf(); got != "[]" {
		t.Fatalf("after refusals: %s", got)
	}

	// Another project: its network is not found.
	for _, m := range []struct{ method, path string }{{"GET", tags}, {"PUT", tags + "/x"}, {"DELETE", tags}, {"GET", tags + "/x"},
		{"DELETE", tags + "/x"}} {
		neutronError(t, c.Do(t, m.method, m.path, memberB, nil), 404, "TagResourceNotFound")
	}
	neutronError(t, c.Do(t, "PUT", tags, memberB, map[string]any{"tags": []string{"x"}}), 404, "TagResourceNotFound")
	neutronError(t, c.Do(t, "PUT", "/v2.0/networks/00000000-0000-0000-0000-000000000000/tags/x", memberA, nil), 404, "TagResourceNotFound")

	// A shared network: another project sees its tags, only the owner
	// changes them (update_network).
	shared := member(c.Must(t, 201, "POST", "/v2.0/networks", admin, map[string]any{"network": map[string]any{"name": "s", "shared": true}}), "network")["id"].(string)
	c.Must(t, 201, "PUT", "/v2.0/networks/"+shared+"/tags/ops", admin, nil)
	if got := c.Must(t, 200, "GET", "/v2.0/networks/"+shared+"/tags", memberB, nil); fmt.Sprint(got["tags"]) != "[ops]" {
		t.Fatalf("a shared network's tags: %v", got)
	}
	c.Must(t, 204, "GET", "/v2.0/networks/"+shared+"/tags/ops", memberB, nil)
	neutronError(t, c.Do(t, "PUT", "/v2.0/networks/"+shared+"/tags/mine", memberB, nil), 403, "PolicyNotAuthorized")
	neutronError(t, c.Do(t, "DELETE", "/v2.0/networks/"+shared+"/tags", memberB, nil), 403, "PolicyNotAuthorized")

	// The extensions clients look for.
	for _, alias := range []string{"standard-attr-tag", "tag-ports-during-bulk-creation"} {
		c.Must(t, 200, "GET", "/v2.0/extensions/"+alias, memberA, nil)
	}
	for _, alias := range []string{"tag", "tag-ext"} {
		neutronError(t, c.Do(t, "GET", "/v2.0/extensions/"+alias, memberA, nil), 404, "HTTPNotFound")
	}
}

// Every tagged collection: tags set through its routes, shown by show and
// list, and the four filters; ports take tags when created.
func TestTagsEveryCollection(t *testing.T) {
	c := newAPI(t)
	ext := member(c.Must(t, 201, "POST", "/v2.0/networks", admin, map[string]any{"network": map[string]any{"name": "public", "router:external": true}}),
		"network")["id"].(string)
	c.Must(t, 201, "POST", "/v2.0/subnets", admin, map[string]any{"subnet": map[string]any{"network_id": ext, "cidr": "203.0.113.0/24", "ip_version": 4}})
	net := member(c.Must(t, 201, "POST", "/v2.0/networks", memberA, map[string]any{"network": map[string]any{"name": "n"}}), "network")["id"].(string)
	ids := map[string]string{"networks": net}
	ids["subnets"] = member(c.Must(t, 201, "POST", "/v2.0/subnets", memberA,
		map[string]any{"subnet": map[string]any{"network_id": net, "cidr": "10.0.0.0/24", "ip_version": 4}}), "subnet")["id"].(string)
	ids["ports"] = member(c.Must(t, 201, "POST", "/v2.0/ports", memberA, map[string]any{"port": map[string]any{"network_id": net}}), "port")["id"].(string)
	ids["routers"] = member(c.Must(t, 201, "POST", "/v2.0/routers", memberA, map[string]any{"router": map[string]any{"name": "r"}}), "router")["id"].(string)
	ids["floatingips"] = member(c.Must(t, 201, "POST", "/v2.0/floatingips", memberA,
		map[string]any{"floatingip": map[string]any{"floating_network_id": ext}}), "floatingip")["id"].(string)
	ids["security-groups"] = member(c.Must(t, 201, "POST", "/v2.0/security-groups", memberA,
		map[string]any{"security_group": map[string]any{"name": "web"}}), "security_group")["id"].(string)
	for coll, id := range ids {
		t.Run(coll, func(t *testing.T) {
			key := strings.ReplaceAll(strings.TrimSuffix(coll, "s"), "-", "_")
			c.Must(t, 200, "PUT", "/v2.0/"+coll+"/"+id+"/tags", memberA, map[string]any{"tags": []string{"red", "blue"}})
			c.Must(t, 201, "PUT", "/v2.0/"+coll+"/"+id+"/tags/green", memberA, nil)
			if got := member(c.Must(t, 200, "GET", "/v2.0/"+coll+"/"+id, memberA, nil), key); fmt.Sprint(got["tags"]) != "[blue green red]" {
				t.Fatalf("show: %v", got)
			}
			list := func(query string) int { // of this one
				t.Helper()
				return len(c.Must(t, 200, "GET", "/v2.0/"+coll+"?id="+id+"&"+query, memberA, nil)[strings.ReplaceAll(coll, "-", "_")].([]any))
			}
			for query, want := range map[string]int{"tags=red,blue": 1, "tags=red&tags=blue": 1, "tags=red,white": 0, "tags-any=white,green": 1,
				"not-tags=red,white": 1, "not-tags-any=white,green": 0, "tags-any=white": 0} {
				if got := list(query); got != want {
					t.Errorf("%s: %d, want %d", query, got, want)
				}
			}
			neutronError(t, c.Do(t, "GET", "/v2.0/"+coll+"/"+id+"/tags", memberB, nil), 404, "TagResourceNotFound")
		})
	}

	p := member(c.Must(t, 201, "POST", "/v2.0/ports", memberA, map[string]any{"port": map[string]any{"network_id": net, "tags": []string{"y", "x"}}}), "port")
	if fmt.Sprint(p["tags"]) != "[x y]" {
		t.Fatalf("port created with tags: %v", p)
	}
	if got := c.Must(t, 200, "GET", "/v2.0/ports/"+p["id"].(string)+"/tags", memberA, nil); fmt.Sprint(got["tags"]) != "[x y]" {
		t.Fatalf("its tags: %v", got)
	}
	for _, bad := range []any{"x", []any{1}, []string{"x", "x"}} {
		neutronError(t, c.Do(t, "POST", "/v2.0/ports", memberA, map[string]any{"port": map[string]any{"network_id": net, "tags": bad}}), 400, "HTTPBadRequest")
	}
	// Other resources take tags only through the tag routes.
	neutronError(t, c.Do(t, "POST", "/v2.0/networks", memberA, map[string]any{"network": map[string]any{"tags": []string{"x"}}}), 400, "HTTPBadRequest")
}
