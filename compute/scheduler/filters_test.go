package scheduler

import (
	"context"
	"strings"
	"testing"

	"github.com/gostack/gostack/compute/placement"
)

// runFilter runs one built-in filter (its PreFilter, then its Filter)
// on h. It returns "" when the host passes, else the reason.
func runFilter(t *testing.T, name string, cfg *Config, req *Request, h *Host) string {
	t.Helper()
	if cfg == nil {
		c := DefaultConfig()
		cfg = &c
	}
	p, err := Builtins().build(name, cfg)
	if err != nil {
		t.Fatal(err)
	}
	st, err := newState(req, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if pre, ok := p.(PreFilter); ok {
		r, s := pre.PreFilter(context.Background(), st)
		switch s.Code() {
		case Skip:
			return ""
		case Success:
		default:
			t.Fatalf("%s PreFilter: %v", name, s.Reason())
		}
		if r != nil && r.Hosts != nil && !r.Hosts.Has(h.Name) {
			return "not in the pre-filter's hosts"
		}
	}
	s := p.(Filter).Filter(st, h)
	if s.Code() != Success && s.Reason() == "" {
		t.Fatalf("%s rejected %s without a reason", name, h.Name)
	}
	return s.Reason()
}

type filterCase struct {
	name string
	cfg  func(*Config)
	req  func(*Request)
	host func(*Host)
	// want is "" for a pass, else a piece of the rejection reason.
	want string
}

func runFilterCases(t *testing.T, filter string, cases []filterCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			req := &Request{InstanceUUIDs: []string{"i-1"}, ProjectID: "p-1", Flavor: smallFlavor()}
			if tc.req != nil {
				tc.req(req)
			}
			h := testHost("host-1", 16, 16384, 100)
			if tc.host != nil {
				tc.host(h)
			}
			got := runFilter(t, filter, &cfg, req, h)
			switch {
			case tc.want == "" && got != "":
				t.Errorf("rejected: %s", got)
			case tc.want != "" && got == "":
				t.Errorf("passed, want a rejection saying %q", tc.want)
			case !strings.Contains(got, tc.want):
				t.Errorf("reason %q, want it to say %q", got, tc.want)
			}
		})
	}
}

// Placement's allocation candidates: capacity = (total - reserved) *
// ratio, used + amount <= capacity, min_unit/max_unit/step_size; required
// traits on the provider, forbidden ones absent; zones from aggregates.
func TestPlacementFilter(t *testing.T) {
	ram := func(n int64) func(*Request) { return func(r *Request) { r.Flavor.MemoryMB = n } }
	az := func(zones ...string) func(*Host) {
		return func(h *Host) {
			for _, z := range zones {
				h.Aggregates = append(h.Aggregates, Aggregate{Name: z, Metadata: map[string]string{"availability_zone": z}})
			}
		}
	}
	runFilterCases(t, PlacementFilterName, []filterCase{
		{name: "fits", req: ram(4096)},
		{name: "the brief's example", req: ram(4096), host: func(h *Host) { h.use(placement.MemoryMB, 14336) },
			want: "MEMORY_MB: 4096 requested, 1536 free of 15872 (total 16384, reserved 512, ratio 1)"},
		{name: "exactly full", req: ram(15872)},
		{name: "one over", req: ram(15873), want: "15872 free"},
		{name: "cpu overcommit ratio 4", req: func(r *Request) { r.Flavor.VCPUs = 16 },
			host: func(h *Host) { h.use(placement.VCPU, 48) }},
		{name: "cpu over ratio", req: func(r *Request) { r.Flavor.VCPUs = 16 },
			host: func(h *Host) { h.use(placement.VCPU, 49) }, want: "VCPU: 16 requested, 15 free of 64"},
		{name: "max_unit", req: func(r *Request) { r.Flavor.VCPUs = 17 }, want: "more than max_unit 16"},
		{name: "step_size", host: func(h *Host) {
			r := h.Resources[placement.MemoryMB]
			r.StepSize = 1024
			h.Resources[placement.MemoryMB] = r
		}, req: ram(1536), want: "not a multiple of step_size 1024"},
		{name: "no such class", req: func(r *Request) { r.Flavor.ExtraSpecs = map[string]string{"resources:CUSTOM_GPU": "1"} },
			want: "CUSTOM_GPU: 1 requested, none in its inventory"},
		{name: "PCPU for dedicated", req: func(r *Request) { r.Flavor.ExtraSpecs = map[string]string{"hw:cpu_policy": "dedicated"} },
			want: "PCPU: 1 requested, none"},
		{name: "resources:DISK_GB=0 removes disk", req: func(r *Request) {
			r.Flavor.RootGB = 1000
			r.Flavor.ExtraSpecs = map[string]string{"resources:DISK_GB": "0"}
		}},
		{name: "required trait missing", req: func(r *Request) { r.Flavor.ExtraSpecs = map[string]string{"trait:HW_CPU_X86_AVX2": "required"} },
			want: "lacks required trait HW_CPU_X86_AVX2"},
		{name: "required trait present", req: func(r *Request) { r.Flavor.ExtraSpecs = map[string]string{"trait:HW_CPU_X86_AVX2": "required"} },
			host: func(h *Host) { h.Traits = NewSet("HW_CPU_X86_AVX2") }},
		{name: "image trait", req: func(r *Request) { r.Image.Properties = map[string]string{"trait:CUSTOM_X": "required"} },
			want: "lacks required trait CUSTOM_X"},
		{name: "forbidden trait", req: func(r *Request) { r.ForbiddenTraits = []string{"CUSTOM_SLOW"} },
			host: func(h *Host) { h.Traits = NewSet("CUSTOM_SLOW") }, want: "has forbidden trait CUSTOM_SLOW"},
		{name: "zone matches", req: func(r *Request) { r.AvailabilityZone = "az1" }, host: az("az1")},
		{name: "zone differs", req: func(r *Request) { r.AvailabilityZone = "az1" }, host: az("az2"),
			want: `not in availability zone "az1" (its zones: "az2")`},
		{name: "default zone", req: func(r *Request) { r.AvailabilityZone = "nova" }},
		{name: "not the default zone", req: func(r *Request) { r.AvailabilityZone = "az1" }, want: `"nova", the default`},
		{name: "in a zone, so not the default", req: func(r *Request) { r.AvailabilityZone = "nova" }, host: az("az1"), want: "az1"},
		{name: "comma-separated zone value", req: func(r *Request) { r.AvailabilityZone = "az3" }, host: az("az1, az3")},
		{name: "configured default zone", cfg: func(c *Config) { c.DefaultAvailabilityZone = "zone0" },
			req: func(r *Request) { r.AvailabilityZone = "zone0" }},
	})
}

// The quick capacity check must agree with placement.Inventory.Fit.
func TestFitsAgreesWithPlacement(t *testing.T) {
	for total := int64(1); total < 12; total++ {
		for _, inv := range []placement.Inventory{
			placement.NewInventory(total),
			{Total: total, Reserved: 1, MinUnit: 2, MaxUnit: 6, StepSize: 2, AllocationRatio: 1.5},
			{Total: total, MinUnit: 1, MaxUnit: total, StepSize: 3, AllocationRatio: 0.5},
		} {
			for used := int64(0); used < 20; used++ {
				for n := int64(0); n < 20; n++ {
					if got, want := fits(inv, used, n), inv.Fit("X", used, n) == nil; got != want {
						t.Fatalf("%+v used %d amount %d: fits %v, Fit %v", inv, used, n, got, want)
					}
				}
			}
		}
	}
}

// ComputeFilter: service disabled, or not up (servicegroup is_up).
func TestComputeFilter(t *testing.T) {
	runFilterCases(t, "ComputeFilter", []filterCase{
		{name: "up and enabled"},
		{name: "disabled", host: func(h *Host) { h.Disabled, h.DisabledReason = true, "maintenance" }, want: "disabled: maintenance"},
		{name: "down", host: func(h *Host) { h.Up = false }, want: "down"},
	})
}

// ComputeCapabilitiesFilter: unscoped keys only when the HostState has
// the attribute or stat; "capabilities:" scope walks attributes, stats,
// dicts and JSON strings; other scopes are ignored.
func TestComputeCapabilitiesFilter(t *testing.T) {
	specs := func(kv ...string) func(*Request) {
		return func(r *Request) {
			r.Flavor.ExtraSpecs = map[string]string{}
			for i := 0; i < len(kv); i += 2 {
				r.Flavor.ExtraSpecs[kv[i]] = kv[i+1]
			}
		}
	}
	host := func(h *Host) {
		h.Stats = map[string]string{"gpu": "2", "rack": "r1"}
		h.CPUInfo = `{"arch": "x86_64", "topology": {"cores": 8}, "features": ["avx2", "aes"]}`
	}
	runFilterCases(t, "ComputeCapabilitiesFilter", []filterCase{
		{name: "no extra specs"},
		{name: "other scopes ignored", req: specs("hw:cpu_policy", "dedicated", "aggregate_instance_extra_specs:x", "y")},
		{name: "unknown unscoped key ignored", req: specs("no_such_thing", "1")},
		{name: "unscoped attribute", req: specs("free_ram_mb", ">= 15000")},
		{name: "unscoped attribute fails", req: specs("free_ram_mb", ">= 16000"), want: `free_ram_mb=">= 16000" does not match "15872"`},
		{name: "unscoped stat", req: specs("gpu", "= 2"), host: host},
		{name: "scoped stat", req: specs("capabilities:gpu", "== 2"), host: host},
		{name: "scoped missing", req: specs("capabilities:fpga", "1"), host: host, want: "no such capability"},
		{name: "hypervisor type", req: specs("capabilities:hypervisor_type", "s== QEMU")},
		{name: "hypervisor version", req: specs("capabilities:hypervisor_version", ">= 8002000")},
		{name: "nested JSON dict", req: specs("capabilities:cpu_info:topology:cores", ">= 8"), host: host},
		{name: "nested JSON list", req: specs("capabilities:cpu_info:features", "<in> avx2"), host: host},
		{name: "nested into a non-dict", req: specs("capabilities:gpu:x", "1"), host: host, want: "no such capability"},
		{name: "ratio as Python str", req: specs("cpu_allocation_ratio", "4.0")},
		{name: "not a number", req: specs("capabilities:hypervisor_type", ">= 2"), want: `"QEMU" is not a number`},
	})
}

// extra_specs_ops.match, operator by operator.
func TestSpecMatch(t *testing.T) {
	cases := []struct {
		value, req string
		want       bool
	}{
		{"4", "= 2", true}, {"2", "= 2", true}, {"1", "= 2", false}, // = means at least
		{"2", "== 2.0", true}, {"2", "== 3", false},
		{"2", "!= 3", true}, {"2", "!= 2", false},
		{"3", ">= 2.5", true}, {"2", ">= 2.5", false},
		{"2", "<= 2.5", true}, {"3", "<= 2.5", false},
		{"QEMU", "s== QEMU", true}, {"KVM", "s== QEMU", false},
		{"KVM", "s!= QEMU", true},
		{"abc", "s< abd", true}, {"abd", "s< abd", false},
		{"abd", "s<= abd", true},
		{"b", "s> a", true}, {"a", "s> a", false},
		{"a", "s>= a", true},
		{"['avx2', 'aes']", "<in> aes", true}, {"['avx2']", "<in> aes", false},
		{"['avx2', 'aes']", "<all-in> aes avx2", true}, {"['avx2']", "<all-in> aes avx2", false},
		{"r2", "<or> r1 <or> r2", true}, {"r3", "<or> r1 <or> r2", false},
		{"r1", "<or> r1", true},
		{"QEMU", "QEMU", true}, {"QEMU", "qemu", false}, // no operator: equality
		{"True", "True", true},
		{"2", "=", false}, // an operator without operand
		{"", "", true},
	}
	for _, tc := range cases {
		got, err := parseSpec(tc.req).match(tc.value)
		if err != nil || got != tc.want {
			t.Errorf("match(%q, %q) = %v, %v; want %v", tc.value, tc.req, got, err, tc.want)
		}
	}
	if _, err := parseSpec("<or>").match("x"); err == nil {
		t.Error("a bare <or> should fail as in Nova (IndexError)")
	}
}

// ImagePropertiesFilter: image arch/hv_type/vm_mode each in one
// supported_instances triple, canonicalised; img_hv_requested_version
// against the hypervisor version.
func TestImagePropertiesFilter(t *testing.T) {
	props := func(kv ...string) func(*Request) {
		return func(r *Request) {
			r.Image.Properties = map[string]string{}
			for i := 0; i < len(kv); i += 2 {
				r.Image.Properties[kv[i]] = kv[i+1]
			}
		}
	}
	runFilterCases(t, "ImagePropertiesFilter", []filterCase{
		{name: "no properties"},
		{name: "arch", req: props("hw_architecture", "x86_64")},
		{name: "arch alias amd64", req: props("hw_architecture", "AMD64")},
		{name: "legacy name", req: props("architecture", "aarch64"), want: "architecture aarch64"},
		{name: "current name wins", req: props("architecture", "aarch64", "hw_architecture", "x86_64")},
		{name: "hv type", req: props("img_hv_type", "kvm")},
		{name: "hv type mismatch", req: props("img_hv_type", "xen"), want: "hypervisor type xen"},
		{name: "vm mode hv is hvm", req: props("hw_vm_mode", "hv")},
		{name: "no supported instances", req: props("hw_vm_mode", "hvm"), host: func(h *Host) { h.SupportedInstances = nil },
			want: "advertises no supported instances"},
		{name: "any position in the triple", req: props("img_hv_type", "hvm")},
		{name: "version ok", req: props("img_hv_type", "kvm", "img_hv_requested_version", ">=8.0, <9.0")},
		{name: "version too old", req: props("img_hv_type", "kvm", "img_hv_requested_version", ">=8.3"), want: "hypervisor version 8002000"},
		{name: "version without hypervisor version", req: props("img_hv_type", "kvm", "img_hv_requested_version", ">=9.0"),
			host: func(h *Host) { h.HypervisorVersion = 0 }},
		{name: "default architecture", cfg: func(c *Config) { c.ImagePropertiesDefaultArchitecture = "aarch64" },
			want: "architecture aarch64"},
	})
}

func TestVersionPredicate(t *testing.T) {
	for _, tc := range []struct {
		pred    string
		version int64
		want    bool
	}{
		{">=8.0", 8002000, true}, {">8.2", 8002000, false}, {"==8.2", 8002000, true}, {"==8.2.0", 8002000, true},
		{"!=8.2", 8002000, false}, {"<8.2.1", 8002000, true}, {">=6.0, <7.0", 6001000, true}, {">=6.0, <7.0", 7000000, false},
		{"<=2.0b1", 2000000, false},
	} {
		checks, err := parseVersionPredicate(tc.pred)
		if err != nil {
			t.Fatal(err)
		}
		w := imageWants{version: checks}
		if got, err := w.versionOK(tc.version); err != nil || got != tc.want {
			t.Errorf("%q against %d: %v, %v; want %v", tc.pred, tc.version, got, err, tc.want)
		}
	}
	for _, bad := range []string{"8.0", ">=8", "=> 8.0"} {
		if _, err := parseVersionPredicate(bad); err == nil {
			t.Errorf("%q: want an error (distutils refuses it)", bad)
		}
	}
}

// Server group filters: anti-affinity counts members on the host against
// max_server_per_host (default 1) and lets the instance's own host pass;
// affinity keeps to the group's hosts once it has any.
func TestGroupFilters(t *testing.T) {
	group := func(policy string, max int, hosts ...string) func(*Request) {
		return func(r *Request) {
			r.Group = &Group{UUID: "g-1", Policy: policy, MaxServerPerHost: max, Hosts: hosts, Members: []string{"m-1", "m-2", "i-1"}}
		}
	}
	members := func(ids ...string) func(*Host) { return func(h *Host) { h.Instances = NewSet(ids...) } }
	runFilterCases(t, "ServerGroupAntiAffinityFilter", []filterCase{
		{name: "no group"},
		{name: "other policy", req: group(Affinity, 0, "host-1"), host: members("m-1")},
		{name: "no member here", req: group(AntiAffinity, 0), host: members("x-1")},
		{name: "a member here", req: group(AntiAffinity, 0), host: members("m-1", "x-1"), want: "holds 1 member(s) of anti-affinity group g-1 (max_server_per_host 1)"},
		{name: "below max_server_per_host", req: group(AntiAffinity, 3), host: members("m-1", "m-2")},
		{name: "at max_server_per_host", req: group(AntiAffinity, 2), host: members("m-1", "m-2"), want: "holds 2"},
		{name: "the instance's own host", req: group(AntiAffinity, 0), host: members("m-1", "i-1")},
		{name: "a move's source host", req: func(r *Request) {
			group(AntiAffinity, 0)(r)
			r.Move, r.SourceHost = true, "host-1"
		}, host: members("m-1")},
	})
	runFilterCases(t, "ServerGroupAffinityFilter", []filterCase{
		{name: "no group"},
		{name: "new group goes anywhere", req: group(Affinity, 0)},
		{name: "a group host", req: group(Affinity, 0, "host-1", "host-2")},
		{name: "not a group host", req: group(Affinity, 0, "host-2"), want: "not in the pre-filter's hosts"},
		{name: "soft policies are weighers", req: group(SoftAffinity, 0, "host-2")},
	})
	hint := func(name string, ids ...string) func(*Request) {
		return func(r *Request) { r.Hints = map[string][]string{name: ids} }
	}
	runFilterCases(t, "SameHostFilter", []filterCase{
		{name: "no hint"},
		{name: "holds one", req: hint("same_host", "a", "b"), host: members("b")},
		{name: "holds none", req: hint("same_host", "a"), host: members("b"), want: "holds none"},
	})
	runFilterCases(t, "DifferentHostFilter", []filterCase{
		{name: "no hint"},
		{name: "holds none", req: hint("different_host", "a"), host: members("b")},
		{name: "holds one", req: hint("different_host", "a", "b"), host: members("b"), want: "holds different_host instance b"},
	})
}

func TestAggregateFilters(t *testing.T) {
	aggs := func(mds ...map[string]string) func(*Host) {
		return func(h *Host) {
			for i, md := range mds {
				h.Aggregates = append(h.Aggregates, Aggregate{UUID: string(rune('a' + i)), Metadata: md})
			}
		}
	}
	specs := func(kv ...string) func(*Request) {
		return func(r *Request) {
			r.Flavor.ExtraSpecs = map[string]string{}
			for i := 0; i < len(kv); i += 2 {
				r.Flavor.ExtraSpecs[kv[i]] = kv[i+1]
			}
		}
	}
	// Unscoped and aggregate_instance_extra_specs: keys must be matched by
	// some aggregate's value; a missing key rejects.
	runFilterCases(t, "AggregateInstanceExtraSpecsFilter", []filterCase{
		{name: "no extra specs"},
		{name: "other scopes only", req: specs("hw:cpu_policy", "dedicated", "capabilities:x", "y")},
		{name: "key missing", req: specs("ssd", "true"), want: "no aggregate of the host has metadata ssd"},
		{name: "matches", req: specs("ssd", "true"), host: aggs(map[string]string{"ssd": "true"})},
		{name: "scoped matches", req: specs("aggregate_instance_extra_specs:ssd", "true"), host: aggs(map[string]string{"ssd": "true"})},
		{name: "no match", req: specs("ssd", "true"), host: aggs(map[string]string{"ssd": "false"}), want: "matches no aggregate value"},
		{name: "comma values", req: specs("class", "<or> gold <or> silver"), host: aggs(map[string]string{"class": "bronze, silver"})},
		{name: "two aggregates", req: specs("cores", ">= 8"), host: aggs(map[string]string{"cores": "4"}, map[string]string{"cores": "16"})},
	})
	// filter_tenant_id: hosts in such aggregates take only those projects.
	runFilterCases(t, "AggregateMultiTenancyIsolation", []filterCase{
		{name: "unrestricted"},
		{name: "listed", host: aggs(map[string]string{"filter_tenant_id": "p-0, p-1"})},
		{name: "not listed", host: aggs(map[string]string{"filter_tenant_id": "p-0"}), want: "filter_tenant_id"},
		{name: "listed in another aggregate", host: aggs(map[string]string{"filter_tenant_id": "p-0"}, map[string]string{"filter_tenant_id": "p-1"})},
	})
	runFilterCases(t, "AggregateTypeAffinityFilter", []filterCase{
		{name: "unrestricted"},
		{name: "listed", host: aggs(map[string]string{"instance_type": "m1.tiny,m1.small"})},
		{name: "not listed", host: aggs(map[string]string{"instance_type": "m1.large"}), want: "instance_type"},
	})
	io := func(n int64) func(*Host) { return func(h *Host) { h.NumIOOps = n } }
	runFilterCases(t, "IoOpsFilter", []filterCase{
		{name: "below", host: io(7)},
		{name: "at max_io_ops_per_host 8", host: io(8), want: "8 I/O operations in progress, max_io_ops_per_host is 8"},
		{name: "configured", cfg: func(c *Config) { c.MaxIOOpsPerHost = 20 }, host: io(8)},
	})
	runFilterCases(t, "AggregateIoOpsFilter", []filterCase{
		{name: "falls back to the option", host: io(7)},
		{name: "least aggregate value", host: func(h *Host) {
			io(5)(h)
			aggs(map[string]string{"max_io_ops_per_host": "10"}, map[string]string{"max_io_ops_per_host": "5"})(h)
		}, want: "max_io_ops_per_host is 5"},
		{name: "bad value falls back", host: func(h *Host) {
			io(7)(h)
			aggs(map[string]string{"max_io_ops_per_host": "x"}, map[string]string{"max_io_ops_per_host": "1"})(h)
		}},
	})
	inst := func(n int64) func(*Host) { return func(h *Host) { h.NumInstances = n } }
	runFilterCases(t, "NumInstancesFilter", []filterCase{
		{name: "below", host: inst(49)},
		{name: "at max_instances_per_host 50", host: inst(50), want: "50 instances"},
	})
	runFilterCases(t, "AggregateNumInstancesFilter", []filterCase{
		{name: "aggregate raises the limit", host: func(h *Host) {
			inst(60)(h)
			aggs(map[string]string{"max_instances_per_host": "100"})(h)
		}},
		{name: "aggregate lowers the limit", host: func(h *Host) {
			inst(3)(h)
			aggs(map[string]string{"max_instances_per_host": "3"})(h)
		}, want: "max_instances_per_host is 3"},
	})
	runFilterCases(t, "AllHostsFilter", []filterCase{{name: "anything", host: func(h *Host) { h.Up = false }}})
}

// IsolatedHostsFilter's two result matrices (restrict on and off).
func TestIsolatedHostsFilter(t *testing.T) {
	for _, tc := range []struct {
		restrict, isoImage, isoHost, pass bool
	}{
		{true, true, true, true}, {true, false, true, false}, {true, true, false, false}, {true, false, false, true},
		{false, true, true, true}, {false, false, true, true}, {false, true, false, false}, {false, false, false, true},
	} {
		cfg := DefaultConfig()
		cfg.RestrictIsolatedHostsToIsolatedImages = tc.restrict
		cfg.IsolatedHosts, cfg.IsolatedImages = []string{"iso-host"}, []string{"iso-image"}
		req := &Request{Flavor: smallFlavor(), Image: Image{ID: "other-image"}}
		if tc.isoImage {
			req.Image.ID = "iso-image"
		}
		h := testHost("other-host", 8, 8192, 100)
		if tc.isoHost {
			h.Name = "iso-host"
		}
		if got := runFilter(t, "IsolatedHostsFilter", &cfg, req, h) == ""; got != tc.pass {
			t.Errorf("restrict %v, isolated image %v, isolated host %v: pass %v, want %v", tc.restrict, tc.isoImage, tc.isoHost, got, tc.pass)
		}
	}
	// No isolated images: isolated hosts take nothing when restricted.
	cfg := DefaultConfig()
	cfg.IsolatedHosts = []string{"iso-host"}
	h := testHost("iso-host", 8, 8192, 100)
	if runFilter(t, "IsolatedHostsFilter", &cfg, &Request{Flavor: smallFlavor()}, h) == "" {
		t.Error("an isolated host passed with no isolated images and restrict on")
	}
}

// JsonFilter's grammar: = < > <= >= in not or and over $attributes;
// missing variables are dropped; a list result is any().
func TestJsonFilter(t *testing.T) {
	q := func(query string) func(*Request) {
		return func(r *Request) { r.Hints = map[string][]string{"query": {query}} }
	}
	host := func(h *Host) { h.Stats = map[string]string{"rack": "r1"} }
	runFilterCases(t, "JsonFilter", []filterCase{
		{name: "no query"},
		{name: "empty list", req: q(`[]`)},
		{name: ">=", req: q(`[">=", "$free_ram_mb", 1024]`)},
		{name: "> all", req: q(`[">", "$free_ram_mb", 1024, 20000]`), want: "false"},
		{name: "= string", req: q(`["=", "$hypervisor_type", "QEMU"]`)},
		{name: "int equals float", req: q(`["=", "$vcpus_total", 16.0]`)},
		{name: "in", req: q(`["in", "$host", "host-0", "host-1"]`)},
		{name: "not in", req: q(`["not", ["in", "$host", "host-0"]]`)},
		{name: "and", req: q(`["and", ["<", "$num_instances", 5], [">=", "$free_disk_mb", 1024]]`)},
		{name: "or", req: q(`["or", ["=", "$host", "x"], ["=", "$host", "y"]]`), want: "false"},
		{name: "dict key", req: q(`["=", "$stats.rack", "r1"]`), host: host},
		{name: "missing variable is dropped", req: q(`["=", "$nope", 1]`), want: "false"},
		{name: "not of a list is truthy", req: q(`["and", ["not", true]]`)},
		{name: "incomparable", req: q(`["<", "$host", 3]`), want: "cannot be ordered"},
	})
	cfg := DefaultConfig()
	for _, bad := range []string{`{"a": 1}`, `["nope", 1]`, `["and", ["xor", 1]]`, `[`} {
		st, _ := newState(&Request{Flavor: smallFlavor(), Hints: map[string][]string{"query": {bad}}}, &cfg)
		if _, s := (jsonFilter{}).PreFilter(context.Background(), st); s.Code() != Error {
			t.Errorf("query %s: want the request refused, got %v", bad, s.Code())
		}
	}
}
