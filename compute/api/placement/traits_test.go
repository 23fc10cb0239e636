package placement_test

import (
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"
)

func TestTraits(t *testing.T) {
	c := newAPI(t)
	r := c.do(t, "latest", "PUT", "/traits/CUSTOM_GOLD", nil)
	if r.Code != 201 || r.Header.Get("Location") != c.URL+"/traits/CUSTOM_GOLD" {
		t.Fatalf("first PUT: %s %v", r, r.Header)
	}
	c.must(t, 204, "latest", "PUT", "/traits/CUSTOM_GOLD", nil)
	c.must(t, 204, "latest", "GET", "/traits/CUSTOM_GOLD", nil)
	c.must(t, 204, "latest", "GET", "/traits/HW_CPU_X86_AVX", nil)
	wantError(t, c.do(t, "latest", "GET", "/traits/CUSTOM_NOPE", nil), 404, undefined, "No such trait(s): CUSTOM_NOPE.")
	wantError(t, c.do(t, "latest", "PUT", "/traits/HW_CPU_X86_AVX", nil), 400, undefined, `start with the prefix "CUSTOM_"`)
	wantError(t, c.do(t, "latest", "PUT", "/traits/CUSTOM_lower", nil), 400, undefined, "The trait is invalid.")

	list := func(query string) []string {
		var out []string
		for _, x := range c.must(t, 200, "latest", "GET", "/traits"+query, nil)["traits"].([]any) {
			out = append(out, x.(string))
		}
		return out
	}
	if got := list("?name=startswith:CUSTOM_"); !slices.Equal(got, []string{"CUSTOM_GOLD"}) {
		t.Fatalf("startswith: %v", got)
	}
	if got := list("?name=in:CUSTOM_GOLD,HW_CPU_X86_AVX,CUSTOM_NOPE"); !slices.Equal(got, []string{"CUSTOM_GOLD", "HW_CPU_X86_AVX"}) {
		t.Fatalf("in: %v", got)
	}
	if got := list(""); len(got) < 100 || !slices.Contains(got, "CUSTOM_GOLD") {
		t.Fatalf("all traits: %d", len(got))
	}
	wantError(t, c.do(t, "latest", "GET", "/traits?name=CUSTOM_GOLD", nil), 400, undefined, "Badly formatted name parameter")
	wantError(t, c.do(t, "latest", "GET", "/traits?associated=maybe", nil), 400, undefined, `The query parameter "associated" only accepts "true" or "false"`)
	wantError(t, c.do(t, "latest", "GET", "/traits?colour=red", nil), 400, undefined, "'colour' was unexpected")

	// A provider's traits, at its generation.
	u := c.provider(t, "cn1", "")
	base := "/resource_providers/" + u + "/traits"
	got := c.must(t, 200, "latest", "GET", base, nil)
	if len(got["traits"].([]any)) != 0 || got["resource_provider_generation"] != float64(0) {
		t.Fatalf("no traits: %v", got)
	}
	got = c.must(t, 200, "latest", "PUT", base, map[string]any{"traits": []string{"HW_CPU_X86_AVX", "CUSTOM_GOLD"}, "resource_provider_generation": 0})
	if !slices.Equal(got["traits"].([]any), []any{"CUSTOM_GOLD", "HW_CPU_X86_AVX"}) || got["resource_provider_generation"] != float64(1) {
		t.Fatalf("after PUT: %v", got)
	}
	wantError(t, c.do(t, "latest", "PUT", base, map[string]any{"traits": []string{}, "resource_provider_generation": 0}), 409, "placement.concurrent_update")
	wantError(t, c.do(t, "latest", "PUT", base, map[string]any{"traits": []string{"CUSTOM_NOPE"}, "resource_provider_generation": 1}), 400, undefined, "CUSTOM_NOPE")
	wantError(t, c.do(t, "latest", "PUT", base, map[string]any{"traits": []string{""}, "resource_provider_generation": 1}), 400, undefined, "is too short")
	wantError(t, c.do(t, "latest", "PUT", "/resource_providers/"+uuid.NewString()+"/traits", map[string]any{"traits": []string{}, "resource_provider_generation": 1}), 404, "placement.resource_provider.not_found")
	if got := list("?associated=true"); !slices.Equal(got, []string{"CUSTOM_GOLD", "HW_CPU_X86_AVX"}) {
		t.Fatalf("associated: %v", got)
	}
	wantError(t, c.do(t, "latest", "DELETE", "/traits/CUSTOM_GOLD", nil), 409, undefined, "in use")
	wantError(t, c.do(t, "latest", "DELETE", "/traits/HW_CPU_X86_AVX", nil), 400, undefined, "Cannot delete standard trait")
	c.must(t, 204, "latest", "DELETE", base, nil)
	c.must(t, 204, "latest", "DELETE", "/traits/CUSTOM_GOLD", nil)
	wantError(t, c.do(t, "latest", "DELETE", "/traits/CUSTOM_GOLD", nil), 404, undefined)
	wantError(t, c.do(t, "1.5", "GET", base, nil), 404, undefined)
}

func TestAggregates(t *testing.T) {
	c := newAPI(t)
	u := c.provider(t, "cn1", "")
	base := "/resource_providers/" + u + "/aggregates"
	agg1, agg2 := uuid.NewString(), uuid.NewString()
	// 1.1: the body and the answer are the list alone.
	got := c.must(t, 200, "1.1", "PUT", base, []string{agg1, agg2})
	if len(got["aggregates"].([]any)) != 2 || got["resource_provider_generation"] != nil {
		t.Fatalf("at 1.1: %v", got)
	}
	wantError(t, c.do(t, "1.1", "PUT", base, []string{agg1, agg1}), 400, undefined, "has non-unique elements")
	wantError(t, c.do(t, "1.1", "PUT", base, []string{"nope"}), 400, undefined, "'nope' is not a 'uuid'")
	wantError(t, c.do(t, "1.0", "GET", base, nil), 404, undefined)
	// 1.19: with the generation, checked.
	got = c.must(t, 200, "1.19", "GET", base, nil)
	gen := got["resource_provider_generation"]
	if gen == nil || len(got["aggregates"].([]any)) != 2 {
		t.Fatalf("at 1.19: %v", got)
	}
	wantError(t, c.do(t, "1.19", "PUT", base, []string{agg1}), 400, undefined, "is not of type 'object'")
	wantError(t, c.do(t, "1.19", "PUT", base, map[string]any{"aggregates": []string{agg1}, "resource_provider_generation": gen.(float64) - 1}), 409, "placement.concurrent_update")
	got = c.must(t, 200, "1.19", "PUT", base, map[string]any{"aggregates": []string{}, "resource_provider_generation": gen})
	if len(got["aggregates"].([]any)) != 0 || got["resource_provider_generation"] != gen.(float64)+1 {
		t.Fatalf("emptied at 1.19: %v", got)
	}
}

func TestResourceClasses(t *testing.T) {
	c := newAPI(t)
	r := c.do(t, "1.2", "POST", "/resource_classes", map[string]any{"name": "CUSTOM_FPGA"})
	if r.Code != 201 || r.Header.Get("Location") != c.URL+"/resource_classes/CUSTOM_FPGA" {
		t.Fatalf("POST: %s %v", r, r.Header)
	}
	wantError(t, c.do(t, "1.2", "POST", "/resource_classes", map[string]any{"name": "CUSTOM_FPGA"}), 409, "placement.duplicate_name", "CUSTOM_FPGA")
	wantError(t, c.do(t, "1.2", "POST", "/resource_classes", map[string]any{"name": "FPGA2"}), 400, undefined, "does not match '^CUSTOM_[A-Z0-9_]+$'")
	got := c.must(t, 200, "1.2", "GET", "/resource_classes/CUSTOM_FPGA", nil)
	if got["name"] != "CUSTOM_FPGA" || got["links"].([]any)[0].(map[string]any)["href"] != "/resource_classes/CUSTOM_FPGA" {
		t.Fatalf("GET: %v", got)
	}
	all := c.must(t, 200, "1.2", "GET", "/resource_classes", nil)["resource_classes"].([]any)
	if all[0].(map[string]any)["name"] != "VCPU" || all[len(all)-1].(map[string]any)["name"] != "CUSTOM_FPGA" {
		t.Fatalf("list: %v", all)
	}
	wantError(t, c.do(t, "1.2", "GET", "/resource_classes/CUSTOM_NOPE", nil), 404, undefined, "No such resource class CUSTOM_NOPE.")
	// Before 1.7 PUT renames.
	got = c.must(t, 200, "1.6", "PUT", "/resource_classes/CUSTOM_FPGA", map[string]any{"name": "CUSTOM_FPGA2"})
	if got["name"] != "CUSTOM_FPGA2" {
		t.Fatalf("rename: %v", got)
	}
	wantError(t, c.do(t, "1.6", "GET", "/resource_classes/CUSTOM_FPGA", nil), 404, undefined)
	wantError(t, c.do(t, "1.6", "PUT", "/resource_classes/VCPU", map[string]any{"name": "CUSTOM_X"}), 400, undefined, "Cannot update standard resource class VCPU")
	// Since 1.7 PUT creates, or finds it there.
	c.must(t, 201, "1.7", "PUT", "/resource_classes/CUSTOM_GPU", nil)
	c.must(t, 204, "1.7", "PUT", "/resource_classes/CUSTOM_GPU", nil)
	wantError(t, c.do(t, "1.7", "PUT", "/resource_classes/VCPU", nil), 400, undefined, "does not match")

	// In use, standard, gone.
	u := c.provider(t, "cn1", "")
	c.inventory(t, u, map[string]int{"CUSTOM_GPU": 2})
	wantError(t, c.do(t, "latest", "DELETE", "/resource_classes/CUSTOM_GPU", nil), 409, undefined, "Error in delete resource class")
	wantError(t, c.do(t, "1.6", "PUT", "/resource_classes/CUSTOM_GPU", map[string]any{"name": "CUSTOM_GPU2"}), 409, undefined)
	c.must(t, 200, "1.6", "GET", "/resource_classes/CUSTOM_GPU", nil)
	wantError(t, c.do(t, "1.6", "GET", "/resource_classes/CUSTOM_GPU2", nil), 404, undefined)
	wantError(t, c.do(t, "latest", "DELETE", "/resource_classes/VCPU", nil), 400, undefined, "Cannot delete standard resource class VCPU")
	c.must(t, 204, "latest", "DELETE", "/resource_classes/CUSTOM_FPGA2", nil)
	wantError(t, c.do(t, "latest", "DELETE", "/resource_classes/CUSTOM_FPGA2", nil), 404, undefined)
}

// TestConcurrentWriters races writers that all read generation 0: the
// Store's compare-and-swap lets exactly one through, the others get
// placement.concurrent_update.
func TestConcurrentWriters(t *testing.T) {
	c := newAPI(t)
	u := c.provider(t, "cn1", "")
	const n = 8
	codes := make(chan int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body := map[string]any{"resource_provider_generation": 0,
				"inventories": map[string]any{"VCPU": map[string]any{"total": i + 1}}}
			r := c.do(t, "latest", "PUT", "/resource_providers/"+u+"/inventories", body)
			if r.Code == 409 && !strings.Contains(string(r.Body), `"code":"placement.concurrent_update"`) {
				t.Errorf("a loser got %s", r)
			}
			codes <- r.Code
		}()
	}
	wg.Wait()
	close(codes)
	won := 0
	for code := range codes {
		switch code {
		case 200:
			won++
		case 409:
		default:
			t.Errorf("a writer got %d", code)
		}
	}
	if won != 1 {
		t.Fatalf("%d writers won, want 1", won)
	}
	if gen := c.must(t, 200, "latest", "GET", "/resource_providers/"+u, nil)["generation"]; gen != float64(1) {
		t.Fatalf("generation %v after the race, want 1", gen)
	}
}
