package placement_test

import (
	"testing"
)

// candidateCloud is two compute nodes: cn1 with VCPU and MEMORY_MB on
// the root and SRIOV_NET_VF on two child PFs (one CUSTOM_PHYSNET_A),
// cn2 flat with VCPU and MEMORY_MB and trait HW_CPU_X86_AVX.
type candidateCloud struct {
	cn1, pf1, pf2, cn2 string
}

func newCandidateCloud(t *testing.T, c *client) candidateCloud {
	t.Helper()
	var k candidateCloud
	k.cn1, k.cn2 = c.provider(t, "cn1", ""), c.provider(t, "cn2", "")
	k.pf1, k.pf2 = c.provider(t, "cn1_pf1", k.cn1), c.provider(t, "cn1_pf2", k.cn1)
	c.inventory(t, k.cn1, map[string]int{"VCPU": 8, "MEMORY_MB": 8192})
	c.inventory(t, k.cn2, map[string]int{"VCPU": 4, "MEMORY_MB": 2048})
	c.inventory(t, k.pf1, map[string]int{"SRIOV_NET_VF": 4})
	c.inventory(t, k.pf2, map[string]int{"SRIOV_NET_VF": 4})
	c.must(t, 201, "latest", "PUT", "/traits/CUSTOM_PHYSNET_A", nil)
	for u, trait := range map[string]string{k.pf1: "CUSTOM_PHYSNET_A", k.cn2: "HW_CPU_X86_AVX"} {
		gen := c.must(t, 200, "latest", "GET", "/resource_providers/"+u, nil)["generation"]
		c.must(t, 200, "latest", "PUT", "/resource_providers/"+u+"/traits", map[string]any{"traits": []string{trait}, "resource_provider_generation": gen})
	}
	return k
}

func TestCandidateShapes(t *testing.T) {
	c := newAPI(t)
	k := newCandidateCloud(t, c)
	const flat = "/allocation_candidates?resources=VCPU:1,MEMORY_MB:1024"

	// 1.10: lists of {resource_provider, resources}; summaries of the
	// requested classes only, no traits.
	got := c.must(t, 200, "1.10", "GET", flat, nil)
	reqs := got["allocation_requests"].([]any)
	if len(reqs) != 2 {
		t.Fatalf("at 1.10: %v", got)
	}
	first := reqs[0].(map[string]any)["allocations"].([]any)[0].(map[string]any)
	if first["resource_provider"].(map[string]any)["uuid"] == nil || first["resources"].(map[string]any)["VCPU"] != float64(1) {
		t.Fatalf("a request at 1.10: %v", first)
	}
	sum := got["provider_summaries"].(map[string]any)[k.cn2].(map[string]any)
	if _, ok := sum["traits"]; ok || sum["resources"].(map[string]any)["VCPU"].(map[string]any)["capacity"] != float64(4) {
		t.Fatalf("a summary at 1.10: %v", sum)
	}
	// 1.12: by provider; 1.17: traits.
	got = c.must(t, 200, "1.17", "GET", flat, nil)
	byRP := got["allocation_requests"].([]any)[0].(map[string]any)["allocations"].(map[string]any)
	if len(byRP) != 1 {
		t.Fatalf("a request at 1.17: %v", got)
	}
	sum = got["provider_summaries"].(map[string]any)[k.cn2].(map[string]any)
	if traits := sum["traits"].([]any); len(traits) != 1 || traits[0] != "HW_CPU_X86_AVX" {
		t.Fatalf("a summary at 1.17: %v", sum)
	}
	if _, ok := sum["root_provider_uuid"]; ok {
		t.Fatalf("a root before 1.29: %v", sum)
	}
	// Latest: every class, parent and root, mappings.
	got = c.must(t, 200, "latest", "GET", "/allocation_candidates?resources=VCPU:1&resources_NET=SRIOV_NET_VF:1&required_NET=CUSTOM_PHYSNET_A&group_policy=isolate", nil)
	reqs = got["allocation_requests"].([]any)
	if len(reqs) != 1 {
		t.Fatalf("nested at latest: %v", got)
	}
	req := reqs[0].(map[string]any)
	maps := req["mappings"].(map[string]any)
	if net := maps["_NET"].([]any); len(net) != 1 || net[0] != k.pf1 || maps[""].([]any)[0] != k.cn1 {
		t.Fatalf("mappings: %v", req)
	}
	sums := got["provider_summaries"].(map[string]any)
	if len(sums) != 3 || sums[k.pf2].(map[string]any)["parent_provider_uuid"] != k.cn1 || sums[k.cn1].(map[string]any)["parent_provider_uuid"] != nil {
		t.Fatalf("the tree's summaries: %v", sums)
	}
	if _, ok := sums[k.cn1].(map[string]any)["resources"].(map[string]any)["MEMORY_MB"]; !ok {
		t.Fatalf("every class since 1.27: %v", sums[k.cn1])
	}
	// Before 1.29 a candidate takes from one provider of a tree.
	if got := c.must(t, 200, "1.28", "GET", "/allocation_candidates?resources=VCPU:1&resources1=SRIOV_NET_VF:1", nil); len(got["allocation_requests"].([]any)) != 0 {
		t.Fatalf("nested at 1.28: %v", got)
	}
	if got := c.must(t, 200, "1.29", "GET", "/allocation_candidates?resources=VCPU:1&resources1=SRIOV_NET_VF:1", nil); len(got["allocation_requests"].([]any)) != 2 {
		t.Fatalf("nested at 1.29: %v", got)
	}
	// limit keeps the first, and their trees' summaries.
	got = c.must(t, 200, "latest", "GET", flat+"&limit=1", nil)
	if len(got["allocation_requests"].([]any)) != 1 || len(got["provider_summaries"].(map[string]any)) == 4 {
		t.Fatalf("limit=1: %v", got)
	}
	got = c.must(t, 200, "1.16", "GET", flat+"&limit=1", nil)
	if len(got["allocation_requests"].([]any)) != 1 {
		t.Fatalf("limit=1 at 1.16: %v", got)
	}
}

func TestCandidateFilters(t *testing.T) {
	c := newAPI(t)
	k := newCandidateCloud(t, c)
	count := func(v, query string) int {
		return len(c.must(t, 200, v, "GET", "/allocation_candidates?"+query, nil)["allocation_requests"].([]any))
	}
	tests := []struct {
		v, query string
		want     int
	}{
		{"1.10", "resources=VCPU:6", 1},
		{"1.17", "resources=VCPU:1&required=HW_CPU_X86_AVX", 1},
		{"1.22", "resources=VCPU:1&required=!HW_CPU_X86_AVX", 1},
		{"1.39", "resources=VCPU:1&required=in:HW_CPU_X86_AVX,HW_CPU_X86_SSE", 1},
		{"1.31", "resources=VCPU:1&in_tree=" + k.pf2, 1},
		{"1.35", "resources=VCPU:1&root_required=!HW_CPU_X86_AVX", 1},
		{"1.29", "resources1=SRIOV_NET_VF:1&resources2=SRIOV_NET_VF:2&group_policy=isolate", 2},
		{"1.29", "resources1=SRIOV_NET_VF:1&resources2=SRIOV_NET_VF:2&group_policy=none", 4},
		// Before 1.29 only one provider of a tree: both groups on one PF.
		{"1.25", "resources1=SRIOV_NET_VF:1&resources2=SRIOV_NET_VF:2&group_policy=isolate", 0},
		{"1.25", "resources1=SRIOV_NET_VF:1&resources2=SRIOV_NET_VF:2&group_policy=none", 2},
		{"1.10", "resources=VCPU:100", 0},
	}
	for _, tt := range tests {
		t.Run(tt.v+"?"+tt.query, func(t *testing.T) {
			if got := count(tt.v, tt.query); got != tt.want {
				t.Fatalf("got %d candidates, want %d", got, tt.want)
			}
		})
	}
}

func TestCandidateRefusals(t *testing.T) {
	c := newAPI(t)
	newCandidateCloud(t, c)
	tests := []struct {
		v, query   string
		code, text string
	}{
		{"1.10", "", undefined, "'resources' is a required property"},
		{"1.10", "resources=VCPU:1&limit=1", undefined, "'limit' was unexpected"},
		{"latest", "resources=VCPU:1&limit=0", undefined, "'0' does not match '^[1-9][0-9]*$'"},
		{"latest", "resources=VCPU", undefined, "Badly formed resources parameter"},
		{"latest", "resources=VCPU:-1", undefined, "Requested resource VCPU requires amount >= 1. Got: -1."},
		{"latest", "resources=CUSTOM_NOPE:1", undefined, "Invalid resource class in resources parameter: No such resource class CUSTOM_NOPE."},
		{"latest", "resources=VCPU:1&required=CUSTOM_NOPE", undefined, "No such trait(s): CUSTOM_NOPE."},
		{"latest", "resources=VCPU:1&colour=red", undefined, "'colour' does not match any of the regexes"},
		{"1.24", "resources1=VCPU:1", undefined, "Additional properties are not allowed ('resources1' was unexpected)"},
		{"1.32", "resources_NET=VCPU:1", undefined, "'resources_NET' does not match any of the regexes"},
		{"latest", "resources1=VCPU:1&resources2=VCPU:1", undefined, `The "group_policy" parameter is required`},
		{"latest", "resources=VCPU:1&group_policy=some", undefined, "'some' is not one of ['none', 'isolate']"},
		{"latest", "required=HW_CPU_X86_AVX", "placement.query.missing_value", "There must be at least one resources or resources[$S] parameter."},
		{"latest", "resources=VCPU:1&required1=HW_CPU_X86_AVX", "placement.query.bad_value", "Resourceless suffixed group request should be specified in `same_subtree` query param: bad group(s) - ['1']."},
		{"1.35", "resources=VCPU:1&required1=HW_CPU_X86_AVX", undefined, "Found the following orphaned traits keys: required1"},
		{"1.35", "resources=VCPU:1&required=HW_CPU_X86_AVX,!HW_CPU_X86_AVX", undefined, "Conflicting required and forbidden traits found in the following traits keys: required: (HW_CPU_X86_AVX)"},
		{"latest", "resources=VCPU:1&root_required=HW_CPU_X86_AVX&root_required=HW_CPU_X86_SSE", "placement.query.duplicate_key", "Query parameter 'root_required' may be specified only once."},
		{"latest", "resources=VCPU:1&root_required=HW_CPU_X86_AVX,!HW_CPU_X86_AVX", "placement.query.bad_value", "Conflicting required and forbidden traits found in root_required: HW_CPU_X86_AVX"},
		{"latest", "resources=VCPU:1&same_subtree=_A,_B", "placement.query.bad_value", "same_subtree is not supported"},
		{"latest", "resources=VCPU:1&in_tree=nope", undefined, "Expected 'in_tree' parameter to be a format of uuid. Got: nope"},
		{"1.30", "resources=VCPU:1&in_tree=nope", undefined, "does not match any of the regexes"},
	}
	for _, tt := range tests {
		t.Run(tt.v+"?"+tt.query, func(t *testing.T) {
			wantError(t, c.do(t, tt.v, "GET", "/allocation_candidates?"+tt.query, nil), 400, tt.code, tt.text)
		})
	}
}
