package placement_test

import (
	"testing"

	"github.com/google/uuid"
)

func TestInventories(t *testing.T) {
	c := newAPI(t)
	u := c.provider(t, "cn1", "")
	base := "/resource_providers/" + u + "/inventories"
	got := c.must(t, 200, "latest", "GET", base, nil)
	if got["resource_provider_generation"] != float64(0) || len(got["inventories"].(map[string]any)) != 0 {
		t.Fatalf("no inventories: %v", got)
	}
	// PUT all: Placement's defaults fill the records.
	got = c.must(t, 200, "latest", "PUT", base, map[string]any{"resource_provider_generation": 0,
		"inventories": map[string]any{"VCPU": map[string]any{"total": 8, "allocation_ratio": 4.0}, "MEMORY_MB": map[string]any{"total": 4096, "reserved": 512}}})
	vcpu := got["inventories"].(map[string]any)["VCPU"].(map[string]any)
	if got["resource_provider_generation"] != float64(1) || vcpu["max_unit"] != float64(2147483647) || vcpu["allocation_ratio"] != float64(4) || vcpu["min_unit"] != float64(1) {
		t.Fatalf("after PUT: %v", got)
	}
	// A stale generation is a concurrent update.
	wantError(t, c.do(t, "latest", "PUT", base, map[string]any{"resource_provider_generation": 0, "inventories": map[string]any{}}), 409, "placement.concurrent_update")
	wantError(t, c.do(t, "latest", "PUT", base+"/VCPU", map[string]any{"resource_provider_generation": 0, "total": 4}), 409, "placement.concurrent_update")

	// One class.
	one := c.must(t, 200, "latest", "GET", base+"/MEMORY_MB", nil)
	if one["reserved"] != float64(512) || one["resource_provider_generation"] != float64(1) {
		t.Fatalf("MEMORY_MB: %v", one)
	}
	one = c.must(t, 200, "latest", "PUT", base+"/VCPU", map[string]any{"resource_provider_generation": 1, "total": 16})
	if one["total"] != float64(16) || one["allocation_ratio"] != float64(1) || one["resource_provider_generation"] != float64(2) {
		t.Fatalf("PUT VCPU: %v", one)
	}
	r := c.do(t, "latest", "POST", base, map[string]any{"resource_class": "DISK_GB", "total": 100})
	if r.Code != 201 || r.Header.Get("Location") != c.URL+base+"/DISK_GB" || r.JSON(t)["resource_provider_generation"] != float64(3) {
		t.Fatalf("POST DISK_GB: %s %v", r, r.Header)
	}
	wantError(t, c.do(t, "latest", "POST", base, map[string]any{"resource_class": "DISK_GB", "total": 100}), 409, "placement.concurrent_update")
	c.must(t, 204, "latest", "DELETE", base+"/DISK_GB", nil)
	wantError(t, c.do(t, "latest", "GET", base+"/DISK_GB", nil), 404, undefined, "No inventory of class DISK_GB for "+u)
	wantError(t, c.do(t, "latest", "DELETE", base+"/DISK_GB", nil), 404, undefined)

	// An inventory in use stays.
	consumer := uuid.NewString()
	c.must(t, 204, "latest", "PUT", "/allocations/"+consumer, claim(map[string]map[string]int{u: {"VCPU": 2}}, nil))
	gen := c.must(t, 200, "latest", "GET", base, nil)["resource_provider_generation"]
	wantError(t, c.do(t, "latest", "PUT", base, map[string]any{"resource_provider_generation": gen, "inventories": map[string]any{}}), 409, "placement.inventory.inuse")
	wantError(t, c.do(t, "latest", "DELETE", base+"/VCPU", nil), 409, "placement.concurrent_update", "Unable to delete inventory of class VCPU")
	wantError(t, c.do(t, "latest", "DELETE", base, nil), 409, "placement.inventory.inuse")
	// DELETE of them all came in 1.5.
	wantError(t, c.do(t, "1.4", "DELETE", base, nil), 405, undefined)
	c.must(t, 204, "latest", "DELETE", "/allocations/"+consumer, nil)
	c.must(t, 204, "1.5", "DELETE", base, nil)
	if got := c.must(t, 200, "latest", "GET", base, nil)["inventories"]; len(got.(map[string]any)) != 0 {
		t.Fatalf("after DELETE: %v", got)
	}
}

func TestInventoryRefusals(t *testing.T) {
	c := newAPI(t)
	u := c.provider(t, "cn1", "")
	base := "/resource_providers/" + u + "/inventories"
	c.inventory(t, u, map[string]int{"VCPU": 4})
	tests := []struct {
		name, v, method, path string
		body                  any
		status                int
		code, text            string
	}{
		{"no generation", "latest", "PUT", base, map[string]any{"inventories": map[string]any{}}, 400, undefined, "'resource_provider_generation' is a required property"},
		{"no total", "latest", "PUT", base, map[string]any{"resource_provider_generation": 1, "inventories": map[string]any{"VCPU": map[string]any{}}}, 400, undefined, "'total' is a required property"},
		{"unknown field", "latest", "PUT", base, map[string]any{"resource_provider_generation": 1, "inventories": map[string]any{"VCPU": map[string]any{"total": 1, "colour": 1}}}, 400, undefined, "'colour' was unexpected"},
		{"total as text", "latest", "PUT", base, map[string]any{"resource_provider_generation": 1, "inventories": map[string]any{"VCPU": map[string]any{"total": "1"}}}, 400, undefined, "'1' is not of type 'integer'"},
		{"total zero", "latest", "PUT", base, map[string]any{"resource_provider_generation": 1, "inventories": map[string]any{"VCPU": map[string]any{"total": 0}}}, 400, undefined, "0 is less than the minimum of 1"},
		{"total too big", "latest", "PUT", base, map[string]any{"resource_provider_generation": 1, "inventories": map[string]any{"VCPU": map[string]any{"total": 2147483648}}}, 400, undefined, "greater than the maximum of 2147483647"},
		{"unknown class", "latest", "PUT", base, map[string]any{"resource_provider_generation": 1, "inventories": map[string]any{"CUSTOM_NOPE": map[string]any{"total": 1}}}, 400, undefined, "CUSTOM_NOPE"},
		{"reserved is total before 1.26", "1.25", "PUT", base, map[string]any{"resource_provider_generation": 1, "inventories": map[string]any{"VCPU": map[string]any{"total": 4, "reserved": 4}}}, 400, undefined, "The reserved value is greater than or equal to total."},
		{"reserved over total", "latest", "PUT", base, map[string]any{"resource_provider_generation": 1, "inventories": map[string]any{"VCPU": map[string]any{"total": 4, "reserved": 5}}}, 400, undefined, "The reserved value is greater than total."},
		{"POST bad class", "latest", "POST", base, map[string]any{"resource_class": "vcpu", "total": 1}, 400, undefined, "does not match"},
		{"PUT class unknown", "latest", "PUT", base + "/CUSTOM_NOPE", map[string]any{"resource_provider_generation": 1, "total": 1}, 404, undefined, "No such resource class CUSTOM_NOPE."},
		{"PUT class not there", "latest", "PUT", base + "/DISK_GB", map[string]any{"resource_provider_generation": 1, "total": 1}, 400, undefined, "No inventory record with resource class"},
		{"no provider", "latest", "GET", "/resource_providers/" + uuid.NewString() + "/inventories", nil, 404, "placement.resource_provider.not_found", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantError(t, c.do(t, tt.v, tt.method, tt.path, tt.body), tt.status, tt.code, tt.text)
		})
	}
	// Since 1.26 reserved may equal total.
	c.must(t, 200, "1.26", "PUT", base, map[string]any{"resource_provider_generation": 1, "inventories": map[string]any{"VCPU": map[string]any{"total": 4, "reserved": 4}}})
}

func TestProviderUsages(t *testing.T) {
	c := newAPI(t)
	u := c.provider(t, "cn1", "")
	c.inventory(t, u, map[string]int{"VCPU": 4, "MEMORY_MB": 1024})
	c.must(t, 204, "latest", "PUT", "/allocations/"+uuid.NewString(), claim(map[string]map[string]int{u: {"VCPU": 3}}, nil))
	got := c.must(t, 200, "1.0", "GET", "/resource_providers/"+u+"/usages", nil)
	us := got["usages"].(map[string]any)
	if us["VCPU"] != float64(3) || us["MEMORY_MB"] != float64(0) || got["resource_provider_generation"] != float64(2) {
		t.Fatalf("usages: %v", got)
	}
}
