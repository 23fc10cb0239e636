package allinone_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/gostack/gostack/internal/testenv"
)

// The scheduling issue's client proof for Placement: python3-osc-placement
// (the openstack CLI's resource provider, inventory, trait, allocation
// and candidate commands) against the all-in-one's Placement API.
func TestOpenStackPlacement(t *testing.T) {
	bin := testenv.LookPath(t, "openstack", "python3-openstackclient")
	testenv.RequirePython(t, "osc_placement", "python3-osc-placement")
	cfg := testConfig(t, "")
	start(t, cfg, cfg.all()...)
	o := &osc{t: t, bin: bin, env: append(openrcEnv(t, filepath.Join(cfg.DataDir, "openrc")), "OS_PLACEMENT_API_VERSION=1.39")}

	var rp map[string]any
	o.json(&rp, "resource", "provider", "create", "cn1")
	id, _ := rp["uuid"].(string)
	if id == "" || rp["name"] != "cn1" || rp["generation"] != float64(0) {
		t.Fatalf("resource provider create: %v", rp)
	}
	var child map[string]any
	o.json(&child, "resource", "provider", "create", "--parent-provider", id, "cn1_numa0")
	if child["root_provider_uuid"] != id || child["parent_provider_uuid"] != id {
		t.Fatalf("child provider: %v", child)
	}

	o.must("resource", "provider", "inventory", "set", id, "--resource", "VCPU=8", "--resource", "VCPU:allocation_ratio=4",
		"--resource", "MEMORY_MB=16384", "--resource", "MEMORY_MB:reserved=512", "--resource", "DISK_GB=100")
	var invs []map[string]any
	o.json(&invs, "resource", "provider", "inventory", "list", id)
	if len(invs) != 3 {
		t.Fatalf("inventory list: %v", invs)
	}
	o.must("trait", "create", "CUSTOM_GOLD")
	o.must("resource", "provider", "trait", "set", id, "--trait", "CUSTOM_GOLD", "--trait", "HW_CPU_X86_AVX2")
	out := o.must("resource", "provider", "trait", "list", id, "-f", "value")
	if !strings.Contains(out, "CUSTOM_GOLD") || !strings.Contains(out, "HW_CPU_X86_AVX2") {
		t.Fatalf("trait list: %q", out)
	}
	o.must("resource", "class", "create", "CUSTOM_FPGA")

	var cands []map[string]any
	o.json(&cands, "allocation", "candidate", "list", "--resource", "VCPU=2", "--resource", "MEMORY_MB=1024", "--required", "CUSTOM_GOLD")
	if len(cands) != 1 || !strings.Contains(toJSON(cands), id) {
		t.Fatalf("allocation candidate list: %v", cands)
	}
	inst := uuid.NewString()
	o.must("resource", "provider", "allocation", "set", inst, "--allocation", "rp="+id+",VCPU=2,MEMORY_MB=1024",
		"--project-id", uuid.NewString(), "--user-id", uuid.NewString(), "--consumer-type", "INSTANCE")
	var usage []map[string]any
	o.json(&usage, "resource", "provider", "usage", "show", id)
	got := map[string]float64{}
	for _, u := range usage {
		got[u["resource_class"].(string)] = u["usage"].(float64)
	}
	if got["VCPU"] != 2 || got["MEMORY_MB"] != 1024 || got["DISK_GB"] != 0 {
		t.Fatalf("usage show: %v", usage)
	}
	// 32 VCPU at ratio 4: 31 more do not fit, and the CLI shows why.
	out, err := o.run(nil, "resource", "provider", "allocation", "set", uuid.NewString(), "--allocation", "rp="+id+",VCPU=31",
		"--project-id", uuid.NewString(), "--user-id", uuid.NewString(), "--consumer-type", "INSTANCE")
	if err == nil || !strings.Contains(out, "exceed the capacity") {
		t.Fatalf("over capacity: %v\n%s", err, out)
	}
	// A provider in use is not deleted; once its allocation goes, it is.
	if out, err := o.run(nil, "resource", "provider", "delete", id); err == nil {
		t.Fatalf("deleted a provider with a child and allocations: %s", out)
	}
	o.must("resource", "provider", "allocation", "delete", inst)
	o.must("resource", "provider", "delete", child["uuid"].(string))
	o.must("resource", "provider", "delete", id)
	if out := o.must("resource", "provider", "list", "-f", "value"); strings.TrimSpace(out) != "" {
		t.Fatalf("providers left: %q", out)
	}
}
