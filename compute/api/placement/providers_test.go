package placement_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

func TestProviderVersions(t *testing.T) {
	c := newAPI(t)
	// 1.0: 201, no body, a Location to read it at.
	r := c.do(t, "1.0", "POST", "/resource_providers", map[string]any{"name": "cn1", "uuid": strings.ToUpper(strings.ReplaceAll(uuid.NewString(), "-", ""))})
	if r.Code != 201 || len(r.Body) != 0 {
		t.Fatalf("create at 1.0: %s", r)
	}
	loc := r.Header.Get("Location")
	if !strings.HasPrefix(loc, c.URL+"/resource_providers/") || strings.ToLower(loc) != loc {
		t.Fatalf("Location %q (the uuid made canonical)", loc)
	}
	old := c.must(t, 200, "1.0", "GET", loc, nil)
	if _, ok := old["parent_provider_uuid"]; ok || len(old["links"].([]any)) != 3 {
		t.Fatalf("a provider at 1.0: %v", old)
	}
	u := old["uuid"].(string)
	// Latest: parent and root, five links, cache headers.
	r = c.do(t, "latest", "GET", "/resource_providers/"+u, nil)
	p := r.JSON(t)
	if p["parent_provider_uuid"] != nil || p["root_provider_uuid"] != u || len(p["links"].([]any)) != 6 || p["generation"] != float64(0) {
		t.Fatalf("a provider at latest: %v", p)
	}
	if lm, err := time.Parse(http.TimeFormat, r.Header.Get("Last-Modified")); err != nil || time.Since(lm) > time.Minute || r.Header.Get("Cache-Control") != "no-cache" {
		t.Fatalf("cache headers: %v", r.Header)
	}
	if r := c.do(t, "1.14", "GET", "/resource_providers/"+u, nil); r.Header.Get("Last-Modified") != "" {
		t.Fatalf("Last-Modified at 1.14: %v", r.Header)
	}
	// 1.20: 200 with the provider.
	child := c.must(t, 200, "1.20", "POST", "/resource_providers", map[string]any{"name": "cn1_numa0", "parent_provider_uuid": u})
	if child["root_provider_uuid"] != u || child["parent_provider_uuid"] != u {
		t.Fatalf("child: %v", child)
	}
	// Before 1.14 there is no parent to give.
	wantError(t, c.do(t, "1.13", "POST", "/resource_providers", map[string]any{"name": "x", "parent_provider_uuid": u}), 400, undefined,
		"JSON does not validate", "'parent_provider_uuid' was unexpected")
}

func TestProviderRefusals(t *testing.T) {
	c := newAPI(t)
	u := c.provider(t, "cn1", "")
	tests := []struct {
		name, v, method, path string
		body                  any
		status                int
		code, text            string
	}{
		{"duplicate name", "latest", "POST", "/resource_providers", map[string]any{"name": "cn1"}, 409, "placement.duplicate_name", "Conflicting resource provider name: cn1 already exists."},
		{"duplicate uuid", "latest", "POST", "/resource_providers", map[string]any{"name": "x", "uuid": u}, 409, "placement.duplicate_name", "Conflicting resource provider uuid"},
		{"no name", "latest", "POST", "/resource_providers", map[string]any{}, 400, undefined, "'name' is a required property"},
		{"long name", "latest", "POST", "/resource_providers", map[string]any{"name": strings.Repeat("n", 201)}, 400, undefined, "is too long"},
		{"bad uuid", "latest", "POST", "/resource_providers", map[string]any{"name": "x", "uuid": "nope"}, 400, undefined, "'nope' is not a 'uuid'"},
		{"missing parent", "latest", "POST", "/resource_providers", map[string]any{"name": "x", "parent_provider_uuid": uuid.NewString()}, 400, undefined, "does not exist"},
		{"not found", "latest", "GET", "/resource_providers/" + uuid.NewString(), nil, 404, "placement.resource_provider.not_found", "No resource provider with uuid"},
		{"unknown param", "latest", "GET", "/resource_providers?colour=red", nil, 400, undefined, "Additional properties are not allowed ('colour' was unexpected)"},
		{"param too new", "1.3", "GET", "/resource_providers?resources=VCPU:1", nil, 400, undefined, "'resources' was unexpected"},
		{"bad resources", "latest", "GET", "/resource_providers?resources=VCPU", nil, 400, undefined, "Badly formed resources parameter. Expected resources query string parameter in form: ?resources=VCPU:2,MEMORY_MB:1024. Got: VCPU."},
		{"empty resources", "latest", "GET", "/resource_providers?resources=", nil, 400, undefined, "Got: empty string."},
		{"bad amount", "latest", "GET", "/resource_providers?resources=VCPU:x", nil, 400, undefined, "Requested resource VCPU expected positive integer amount. Got: x."},
		{"zero amount", "latest", "GET", "/resource_providers?resources=VCPU:0", nil, 400, undefined, "Requested resource VCPU requires amount >= 1. Got: 0."},
		{"unknown class", "latest", "GET", "/resource_providers?resources=CUSTOM_NOPE:1", nil, 400, undefined, "Invalid resource class in resources parameter: No such resource class CUSTOM_NOPE."},
		{"unknown trait", "latest", "GET", "/resource_providers?required=CUSTOM_NOPE", nil, 400, undefined, `Invalid trait(s) in "required" parameter: No such trait(s): CUSTOM_NOPE.`},
		{"forbidden too early", "1.21", "GET", "/resource_providers?required=!HW_CPU_X86_AVX", nil, 400, undefined, "Expected 'required' parameter value of the form: HW_CPU_X86_VMX,CUSTOM_MAGIC"},
		{"in: too early", "1.38", "GET", "/resource_providers?required=in:HW_CPU_X86_AVX,HW_CPU_X86_SSE", nil, 400, undefined, "only supported since microversion 1.39"},
		{"bad member_of", "latest", "GET", "/resource_providers?member_of=nope", nil, 400, undefined, "Expected 'member_of' parameter to contain valid UUID(s). Got: nope"},
		{"member_of list without in:", "latest", "GET", "/resource_providers?member_of=" + u + "," + u, nil, 400, undefined, "must be prefixed with the 'in:' or '!in:' keyword"},
		{"repeated member_of too early", "1.23", "GET", "/resource_providers?member_of=" + u + "&member_of=" + u, nil, 400, undefined, "Multiple member_of parameters are not supported"},
		{"forbidden member_of too early", "1.31", "GET", "/resource_providers?member_of=!" + u, nil, 400, undefined, "Forbidden member_of parameters are not supported"},
		{"bad in_tree", "latest", "GET", "/resource_providers?in_tree=nope", nil, 400, undefined, "'nope' is not a 'uuid'"},
		{"rename to a taken name", "latest", "PUT", "/resource_providers/" + u, map[string]any{"name": "cn1", "uuid": u}, 400, undefined, "'uuid' was unexpected"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantError(t, c.do(t, tt.v, tt.method, tt.path, tt.body), tt.status, tt.code, tt.text)
		})
	}
}

// names lists the names of GET /resource_providers' answer.
func names(t *testing.T, c *client, v, query string) []string {
	t.Helper()
	var out []string
	for _, p := range c.must(t, 200, v, "GET", "/resource_providers"+query, nil)["resource_providers"].([]any) {
		out = append(out, p.(map[string]any)["name"].(string))
	}
	slices.Sort(out)
	return out
}

func TestProviderFilters(t *testing.T) {
	c := newAPI(t)
	cn1, cn2 := c.provider(t, "cn1", ""), c.provider(t, "cn2", "")
	numa := c.provider(t, "cn1_numa0", cn1)
	c.inventory(t, cn1, map[string]int{"VCPU": 8, "MEMORY_MB": 4096})
	c.inventory(t, cn2, map[string]int{"VCPU": 2})
	agg1, agg2 := uuid.NewString(), uuid.NewString()
	c.must(t, 200, "1.1", "PUT", "/resource_providers/"+cn1+"/aggregates", []string{agg1})
	c.must(t, 200, "1.1", "PUT", "/resource_providers/"+cn2+"/aggregates", []string{agg2})
	gen := c.must(t, 200, "latest", "GET", "/resource_providers/"+cn2+"/traits", nil)["resource_provider_generation"]
	c.must(t, 200, "latest", "PUT", "/resource_providers/"+cn2+"/traits", map[string]any{"traits": []string{"HW_CPU_X86_AVX"}, "resource_provider_generation": gen})

	tests := []struct {
		v, query string
		want     []string
	}{
		{"1.0", "", []string{"cn1", "cn1_numa0", "cn2"}},
		{"1.0", "?name=cn2", []string{"cn2"}},
		{"1.0", "?uuid=" + numa, []string{"cn1_numa0"}},
		{"1.3", "?member_of=" + agg1, []string{"cn1", "cn1_numa0"}}, // the root's aggregates count
		{"1.3", "?member_of=in:" + agg1 + "," + agg2, []string{"cn1", "cn1_numa0", "cn2"}},
		{"1.24", "?member_of=" + agg1 + "&member_of=in:" + agg1 + "," + agg2, []string{"cn1", "cn1_numa0"}},
		{"1.3", "?member_of=" + agg1 + "&name=cn1_numa0", []string{"cn1_numa0"}},
		{"1.32", "?member_of=!" + agg1, []string{"cn2"}},
		{"1.32", "?member_of=!in:" + agg1 + "," + agg2, nil},
		{"1.4", "?resources=VCPU:4", []string{"cn1"}},
		{"1.4", "?resources=VCPU:2,MEMORY_MB:8192", nil},
		{"1.14", "?in_tree=" + numa, []string{"cn1", "cn1_numa0"}},
		{"1.14", "?in_tree=" + numa + "&name=cn2", nil},
		{"1.14", "?in_tree=" + uuid.NewString(), nil},
		{"1.18", "?required=HW_CPU_X86_AVX", []string{"cn2"}},
		{"1.18", "?required=HW_CPU_X86_SSE&required=HW_CPU_X86_AVX", []string{"cn2"}}, // only the last counts
		{"1.22", "?required=!HW_CPU_X86_AVX", []string{"cn1", "cn1_numa0"}},
		{"1.39", "?required=in:HW_CPU_X86_AVX,HW_CPU_X86_SSE", []string{"cn2"}},
		{"1.39", "?required=HW_CPU_X86_SSE&required=HW_CPU_X86_AVX", nil},
	}
	for _, tt := range tests {
		t.Run(tt.v+tt.query, func(t *testing.T) {
			if got := names(t, c, tt.v, tt.query); !slices.Equal(got, tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestProviderUpdateAndDelete(t *testing.T) {
	c := newAPI(t)
	a, b := c.provider(t, "a", ""), c.provider(t, "b", "")
	child := c.provider(t, "child", a)
	// Renaming keeps the parent when the body does not name one.
	p := c.must(t, 200, "latest", "PUT", "/resource_providers/"+child, map[string]any{"name": "child2"})
	if p["name"] != "child2" || p["parent_provider_uuid"] != a {
		t.Fatalf("rename: %v", p)
	}
	wantError(t, c.do(t, "latest", "PUT", "/resource_providers/"+child, map[string]any{"name": "b"}), 409, "placement.duplicate_name")
	// Before 1.37 a child neither moves nor becomes a root.
	wantError(t, c.do(t, "1.36", "PUT", "/resource_providers/"+child, map[string]any{"name": "child", "parent_provider_uuid": b}), 400, undefined,
		"re-parenting a provider is not currently allowed.")
	wantError(t, c.do(t, "1.36", "PUT", "/resource_providers/"+child, map[string]any{"name": "child", "parent_provider_uuid": nil}), 400, undefined,
		"un-parenting a provider is not currently allowed.")
	// A root may get a parent at 1.14.
	if p := c.must(t, 200, "1.14", "PUT", "/resource_providers/"+b, map[string]any{"name": "b", "parent_provider_uuid": a}); p["root_provider_uuid"] != a {
		t.Fatalf("b under a: %v", p)
	}
	// 1.37 moves and un-parents, but no loops.
	if p := c.must(t, 200, "1.37", "PUT", "/resource_providers/"+child, map[string]any{"name": "child", "parent_provider_uuid": b}); p["parent_provider_uuid"] != b || p["root_provider_uuid"] != a {
		t.Fatalf("moved: %v", p)
	}
	wantError(t, c.do(t, "1.37", "PUT", "/resource_providers/"+a, map[string]any{"name": "a", "parent_provider_uuid": child}), 400, undefined, "loop")
	if p := c.must(t, 200, "1.37", "PUT", "/resource_providers/"+b, map[string]any{"name": "b", "parent_provider_uuid": nil}); p["root_provider_uuid"] != b {
		t.Fatalf("un-parented: %v", p)
	}
	if got := c.must(t, 200, "latest", "GET", "/resource_providers/"+child, nil)["root_provider_uuid"]; got != b {
		t.Fatalf("the child follows its parent to the new root: %v", got)
	}
	wantError(t, c.do(t, "latest", "DELETE", "/resource_providers/"+b, nil), 409, "placement.resource_provider.cannot_delete_parent")
	c.must(t, 204, "latest", "DELETE", "/resource_providers/"+child, nil)
	c.must(t, 204, "latest", "DELETE", "/resource_providers/"+b, nil)
	wantError(t, c.do(t, "latest", "DELETE", "/resource_providers/"+b, nil), 404, "placement.resource_provider.not_found")
}
