package placement_test

import (
	"testing"

	"github.com/google/uuid"
)

// claim is a PUT /allocations body at the latest version; extra keys
// (consumer_generation) replace the defaults.
func claim(by map[string]map[string]int, extra map[string]any) map[string]any {
	allocs := map[string]any{}
	for p, res := range by {
		allocs[p] = map[string]any{"resources": res}
	}
	body := map[string]any{"allocations": allocs, "project_id": "proj-a", "user_id": "alice",
		"consumer_generation": nil, "consumer_type": "INSTANCE"}
	for k, v := range extra {
		body[k] = v
	}
	return body
}

func TestAllocationForms(t *testing.T) {
	c := newAPI(t)
	u := c.provider(t, "cn1", "")
	c.inventory(t, u, map[string]int{"VCPU": 8, "MEMORY_MB": 4096})
	path := "/allocations/" + uuid.NewString()

	// 1.0: a list, no owner (Placement's incomplete consumer).
	c.must(t, 204, "1.0", "PUT", path, map[string]any{"allocations": []any{
		map[string]any{"resource_provider": map[string]any{"uuid": u}, "resources": map[string]any{"VCPU": 1}}}})
	got := c.must(t, 200, "1.0", "GET", path, nil)
	if _, ok := got["project_id"]; ok || got["allocations"].(map[string]any)[u] == nil {
		t.Fatalf("GET at 1.0: %v", got)
	}
	got = c.must(t, 200, "1.12", "GET", path, nil)
	if got["project_id"] != "00000000-0000-0000-0000-000000000000" {
		t.Fatalf("GET at 1.12: %v", got)
	}
	// 1.8 wants the owner; 1.12 takes the dict form, and the list no more.
	wantError(t, c.do(t, "1.8", "PUT", path, map[string]any{"allocations": []any{
		map[string]any{"resource_provider": map[string]any{"uuid": u}, "resources": map[string]any{"VCPU": 1}}}}), 400, undefined, "'project_id' is a required property")
	wantError(t, c.do(t, "1.12", "PUT", path, map[string]any{"allocations": []any{}, "project_id": "p", "user_id": "u"}), 400, undefined, "is not of type 'object'")
	c.must(t, 204, "1.12", "PUT", path, map[string]any{"allocations": map[string]any{u: map[string]any{"resources": map[string]any{"VCPU": 2}}},
		"project_id": "proj-a", "user_id": "alice"})

	// 1.28: the consumer's generation is required, and checked.
	got = c.must(t, 200, "1.28", "GET", path, nil)
	gen := got["consumer_generation"]
	if gen == nil || got["project_id"] != "proj-a" {
		t.Fatalf("GET at 1.28: %v", got)
	}
	if _, ok := got["consumer_type"]; ok {
		t.Fatalf("consumer_type before 1.38: %v", got)
	}
	wantError(t, c.do(t, "1.28", "PUT", path, map[string]any{"allocations": map[string]any{}, "project_id": "proj-a", "user_id": "alice"}), 400, undefined,
		"'consumer_generation' is a required property")
	wantError(t, c.do(t, "1.28", "PUT", path, map[string]any{"allocations": map[string]any{}, "project_id": "proj-a", "user_id": "alice", "consumer_generation": nil}),
		409, "placement.concurrent_update", "consumer generation conflict")
	// 1.38: so is its type.
	wantError(t, c.do(t, "1.38", "PUT", path, claim(map[string]map[string]int{u: {"VCPU": 1}}, map[string]any{"consumer_type": nil, "consumer_generation": gen})),
		400, undefined, "None is not of type 'string'")
	c.must(t, 204, "1.38", "PUT", path, claim(map[string]map[string]int{u: {"VCPU": 4, "MEMORY_MB": 512}}, map[string]any{"consumer_generation": gen}))
	got = c.must(t, 200, "latest", "GET", path, nil)
	rp := got["allocations"].(map[string]any)[u].(map[string]any)
	if got["consumer_type"] != "INSTANCE" || rp["resources"].(map[string]any)["VCPU"] != float64(4) || rp["generation"] == nil {
		t.Fatalf("GET at latest: %v", got)
	}
	// The provider's view.
	byProvider := c.must(t, 200, "latest", "GET", "/resource_providers/"+u+"/allocations", nil)
	mine := byProvider["allocations"].(map[string]any)[path[len("/allocations/"):]].(map[string]any)
	if mine["consumer_generation"] == nil || mine["resources"].(map[string]any)["MEMORY_MB"] != float64(512) {
		t.Fatalf("provider allocations: %v", byProvider)
	}
	// Empty allocations (1.28) remove them.
	gen = got["consumer_generation"]
	c.must(t, 204, "latest", "PUT", path, claim(nil, map[string]any{"consumer_generation": gen}))
	if got := c.must(t, 200, "latest", "GET", path, nil); len(got) != 1 || len(got["allocations"].(map[string]any)) != 0 {
		t.Fatalf("after emptying: %v", got)
	}
	wantError(t, c.do(t, "latest", "DELETE", path, nil), 404, undefined, "No allocations for consumer")
}

func TestAllocationRefusals(t *testing.T) {
	c := newAPI(t)
	u := c.provider(t, "cn1", "")
	c.inventory(t, u, map[string]int{"VCPU": 4})
	path := "/allocations/" + uuid.NewString()
	tests := []struct {
		name, v, path string
		body          any
		status        int
		code, text    string
	}{
		{"malformed consumer", "latest", "/allocations/nope", claim(nil, nil), 400, undefined, "Malformed consumer_uuid: nope"},
		{"over capacity", "latest", path, claim(map[string]map[string]int{u: {"VCPU": 5}}, nil), 409, undefined, "Unable to allocate inventory"},
		{"no such inventory", "latest", path, claim(map[string]map[string]int{u: {"DISK_GB": 1}}, nil), 409, undefined, "Inventory for 'DISK_GB' on resource provider"},
		{"no such provider", "latest", path, claim(map[string]map[string]int{uuid.NewString(): {"VCPU": 1}}, nil), 400, undefined, "does not exist"},
		{"zero amount", "latest", path, claim(map[string]map[string]int{u: {"VCPU": 0}}, nil), 400, undefined, "0 is less than the minimum of 1"},
		{"bad class", "latest", path, claim(map[string]map[string]int{u: {"vcpu": 1}}, nil), 400, undefined, "'vcpu' was unexpected"},
		{"bad provider key", "latest", path, claim(map[string]map[string]int{"nope": {"VCPU": 1}}, nil), 400, undefined, "'nope' was unexpected"},
		{"empty before 1.28", "1.27", path, map[string]any{"allocations": map[string]any{}, "project_id": "p", "user_id": "u"}, 400, undefined, "does not have enough properties"},
		{"bad consumer type", "latest", path, claim(map[string]map[string]int{u: {"VCPU": 1}}, map[string]any{"consumer_type": "instance"}), 400, undefined, "does not match"},
		{"mappings before 1.34", "1.33", path, map[string]any{"allocations": map[string]any{}, "project_id": "p", "user_id": "u", "consumer_generation": nil, "mappings": map[string]any{"": []string{u}}}, 400, undefined, "'mappings' was unexpected"},
		{"bad mappings", "latest", path, claim(map[string]map[string]int{u: {"VCPU": 1}}, map[string]any{"mappings": map[string]any{"_NET": []string{"x"}}}), 400, undefined, "'x' is not a 'uuid'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantError(t, c.do(t, tt.v, "PUT", tt.path, tt.body), tt.status, tt.code, tt.text)
		})
	}
	// Mappings are taken and not kept.
	c.must(t, 204, "latest", "PUT", path, claim(map[string]map[string]int{u: {"VCPU": 1}}, map[string]any{"mappings": map[string]any{"": []string{u}}}))
}

func TestPostAllocations(t *testing.T) {
	c := newAPI(t)
	src, dst := c.provider(t, "src", ""), c.provider(t, "dst", "")
	c.inventory(t, src, map[string]int{"VCPU": 4})
	c.inventory(t, dst, map[string]int{"VCPU": 4})
	instance, migration := uuid.NewString(), uuid.NewString()
	c.must(t, 204, "latest", "PUT", "/allocations/"+instance, claim(map[string]map[string]int{src: {"VCPU": 2}}, nil))
	gen := c.must(t, 200, "latest", "GET", "/allocations/"+instance, nil)["consumer_generation"]

	// A move: the migration holds the source, the instance the
	// destination. One refused consumer refuses both.
	move := func(dstVCPU int) map[string]any {
		return map[string]any{
			migration: claim(map[string]map[string]int{src: {"VCPU": 2}}, map[string]any{"consumer_type": "MIGRATION"}),
			instance:  claim(map[string]map[string]int{dst: {"VCPU": dstVCPU}}, map[string]any{"consumer_generation": gen}),
		}
	}
	wantError(t, c.do(t, "latest", "POST", "/allocations", move(5)), 409, undefined)
	if got := c.must(t, 200, "latest", "GET", "/allocations/"+migration, nil)["allocations"]; len(got.(map[string]any)) != 0 {
		t.Fatalf("a refused POST wrote the migration: %v", got)
	}
	c.must(t, 204, "latest", "POST", "/allocations", move(2))
	if got := c.must(t, 200, "latest", "GET", "/allocations/"+instance, nil)["allocations"].(map[string]any); got[dst] == nil || got[src] != nil {
		t.Fatalf("the instance after the move: %v", got)
	}
	// A stale generation refuses the whole POST.
	wantError(t, c.do(t, "latest", "POST", "/allocations", move(2)), 409, "placement.concurrent_update")
	wantError(t, c.do(t, "latest", "POST", "/allocations", map[string]any{}), 400, undefined, "does not have enough properties")
	wantError(t, c.do(t, "latest", "POST", "/allocations", map[string]any{"nope": claim(nil, nil)}), 400, undefined, "'nope' was unexpected")

	// Usages of the project, and by consumer type since 1.38.
	got := c.must(t, 200, "1.9", "GET", "/usages?project_id=proj-a", nil)
	if got["usages"].(map[string]any)["VCPU"] != float64(4) {
		t.Fatalf("usages at 1.9: %v", got)
	}
	got = c.must(t, 200, "latest", "GET", "/usages?project_id=proj-a", nil)["usages"].(map[string]any)
	inst, mig := got["INSTANCE"].(map[string]any), got["MIGRATION"].(map[string]any)
	if inst["VCPU"] != float64(2) || inst["consumer_count"] != float64(1) || mig["consumer_count"] != float64(1) {
		t.Fatalf("usages at latest: %v", got)
	}
	got = c.must(t, 200, "latest", "GET", "/usages?project_id=proj-a&consumer_type=all", nil)["usages"].(map[string]any)
	if all := got["all"].(map[string]any); len(got) != 1 || all["VCPU"] != float64(4) || all["consumer_count"] != float64(2) {
		t.Fatalf("usages of all types: %v", got)
	}
	got = c.must(t, 200, "latest", "GET", "/usages?project_id=proj-a&consumer_type=MIGRATION&user_id=alice", nil)["usages"].(map[string]any)
	if len(got) != 1 || got["MIGRATION"] == nil {
		t.Fatalf("usages of migrations: %v", got)
	}
	if got := c.must(t, 200, "latest", "GET", "/usages?project_id=proj-a&consumer_type=unknown", nil)["usages"]; len(got.(map[string]any)) != 0 {
		t.Fatalf("usages of consumers without a type: %v", got)
	}
	wantError(t, c.do(t, "latest", "GET", "/usages", nil), 400, undefined, "'project_id' is a required property")
	wantError(t, c.do(t, "1.37", "GET", "/usages?project_id=p&consumer_type=all", nil), 400, undefined, "'consumer_type' was unexpected")
	wantError(t, c.do(t, "latest", "GET", "/usages?project_id=p&consumer_type=bad", nil), 400, undefined, "does not match")
}
