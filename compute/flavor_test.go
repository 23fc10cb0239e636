package compute_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gostack/gostack/compute"
	"github.com/gostack/gostack/internal/testenv"
	"github.com/gostack/gostack/kit/fault"
)

func (e *novaEnv) flavor(t testing.TB, f compute.Flavor) compute.Flavor {
	t.Helper()
	got, err := e.s.CreateFlavor(e.ctx, f)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// flavorIDs are the flavorids of fs, in order.
func flavorIDs(fs []compute.Flavor) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.FlavorID
	}
	return out
}

func flavorBool(b bool) *bool { return &b }

// Flavors: create with Nova's defaults, who sees which, and every write
// on the feed.
func TestFlavors(t *testing.T) {
	for _, eng := range testenv.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			e := newNovaEnv(t, eng.DSN)
			start := e.head(t)
			tiny := e.flavor(t, compute.Flavor{FlavorID: "1", Name: " m1.tiny ", MemoryMB: 512, VCPUs: 1, RootGB: 1, IsPublic: true})
			if tiny.ID != 1 || tiny.Name != "m1.tiny" || tiny.RxtxFactor != 1 || tiny.Swap != 0 || tiny.Description != nil ||
				!tiny.CreatedAt.Equal(e.now) || tiny.UpdatedAt != nil || len(tiny.ExtraSpecs) != 0 || tiny.Projects == nil {
				t.Fatalf("tiny = %+v", tiny)
			}
			gen := e.flavor(t, compute.Flavor{Name: "generated", MemoryMB: 64, VCPUs: 1, IsPublic: true})
			if len(gen.FlavorID) != 36 || gen.ID != 2 {
				t.Fatalf("generated id = %+v", gen)
			}
			desc := "for project a"
			priv := e.flavor(t, compute.Flavor{FlavorID: "priv", Name: "private", MemoryMB: 2048, VCPUs: 2, RootGB: 20,
				Swap: 512, RxtxFactor: 2.5, Description: &desc, ExtraSpecs: map[string]string{"hw:cpu_policy": "dedicated"},
				Projects: []string{"proj-a", "proj-a"}})
			if !slices.Equal(priv.Projects, []string{"proj-a"}) || priv.ExtraSpecs["hw:cpu_policy"] != "dedicated" || priv.RxtxFactor != 2.5 {
				t.Fatalf("private = %+v", priv)
			}
			hidden := e.flavor(t, compute.Flavor{FlavorID: "hidden", Name: "hidden", MemoryMB: 4096, VCPUs: 4, RootGB: 40})

			// Who sees which.
			alice, bob := compute.Viewer{Project: "proj-a"}, compute.Viewer{Project: "proj-b"}
			admin := compute.Viewer{Project: "admin", Admin: true}
			for _, c := range []struct {
				v    compute.Viewer
				id   string
				seen bool
			}{{alice, "priv", true}, {bob, "priv", false}, {admin, "priv", true}, {alice, "hidden", false},
				{admin, "hidden", true}, {bob, "1", true}} {
				got, err := e.s.Flavor(e.ctx, c.v, c.id)
				switch {
				case c.seen && (err != nil || got.FlavorID != c.id):
					t.Fatalf("%+v sees %s: %+v, %v", c.v, c.id, got, err)
				case !c.seen:
					wantNova(t, err, fault.NotFound, "FlavorNotFound", "Flavor "+c.id+" could not be found.")
				}
			}
			got, err := e.s.Flavor(e.ctx, alice, "priv")
			if err != nil || *got.Description != desc || got.Swap != 512 || got.RootGB != 20 || got.ExtraSpecs["hw:cpu_policy"] != "dedicated" {
				t.Fatalf("private as alice = %+v, %v", got, err)
			}

			// Nova's is_public filter, for a viewer and for an admin.
			all := []string{"1", gen.FlavorID, "hidden", "priv"}
			slices.Sort(all)
			for _, c := range []struct {
				name     string
				v        compute.Viewer
				isPublic *bool
				want     []string
			}{
				{"alice default", alice, flavorBool(true), []string{"1", gen.FlavorID, "priv"}},
				{"bob default", bob, flavorBool(true), []string{"1", gen.FlavorID}},
				{"alice private", alice, flavorBool(false), []string{"priv"}},
				{"admin default", admin, flavorBool(true), []string{"1", gen.FlavorID}},
				{"admin private", admin, flavorBool(false), []string{"hidden", "priv"}},
				{"admin all", admin, nil, all},
			} {
				fs, err := e.s.Flavors(e.ctx, c.v, compute.FlavorFilter{IsPublic: c.isPublic})
				want := slices.Clone(c.want)
				slices.Sort(want)
				if err != nil || !slices.Equal(flavorIDs(fs), want) {
					t.Fatalf("%s: %q, %v; want %q", c.name, flavorIDs(fs), err, want)
				}
			}
			fs, err := e.s.Flavors(e.ctx, admin, compute.FlavorFilter{MinRAM: 2048, MinDisk: 30})
			if err != nil || !slices.Equal(flavorIDs(fs), []string{"hidden"}) {
				t.Fatalf("min ram and disk: %q, %v", flavorIDs(fs), err)
			}
			fs, err = e.s.Flavors(e.ctx, admin, compute.FlavorFilter{Disabled: flavorBool(true)})
			if err != nil || len(fs) != 0 {
				t.Fatalf("disabled: %q, %v", flavorIDs(fs), err)
			}

			// Writes: description, extra specs, access, delete.
			e.now = e.now.Add(time.Minute)
			upd, err := e.s.UpdateFlavorDescription(e.ctx, "1", novaStr("the smallest"))
			if err != nil || *upd.Description != "the smallest" || upd.UpdatedAt == nil || !upd.UpdatedAt.Equal(e.now) {
				t.Fatalf("description = %+v, %v", upd, err)
			}
			// The same description again writes nothing, as in Nova: updated_at stays.
			set := e.now
			e.now = e.now.Add(time.Minute)
			if upd, err = e.s.UpdateFlavorDescription(e.ctx, "1", novaStr("the smallest")); err != nil || !upd.UpdatedAt.Equal(set) {
				t.Fatalf("same description = %+v, %v", upd, err)
			}
			if upd, err = e.s.UpdateFlavorDescription(e.ctx, "1", nil); err != nil || upd.Description != nil || !upd.UpdatedAt.Equal(e.now) {
				t.Fatalf("no description = %+v, %v", upd, err)
			}
			upd, err = e.s.SetFlavorExtraSpecs(e.ctx, "priv", map[string]string{"hw:cpu_policy": "shared", "quota:cpu_shares": "10"})
			if err != nil || fmt.Sprint(upd.ExtraSpecs) != "map[hw:cpu_policy:shared quota:cpu_shares:10]" {
				t.Fatalf("extra specs = %+v, %v", upd, err)
			}
			if upd, err = e.s.DeleteFlavorExtraSpec(e.ctx, "priv", "hw:cpu_policy"); err != nil || fmt.Sprint(upd.ExtraSpecs) != "map[quota:cpu_shares:10]" {
				t.Fatalf("delete extra spec = %+v, %v", upd, err)
			}
			projects, err := e.s.AddFlavorAccess(e.ctx, "priv", "proj-b")
			if err != nil || !slices.Equal(projects, []string{"proj-a", "proj-b"}) {
				t.Fatalf("add access = %q, %v", projects, err)
			}
			if got, err := e.s.Flavor(e.ctx, bob, "priv"); err != nil || got.FlavorID != "priv" {
				t.Fatalf("bob after access: %+v, %v", got, err)
			}
			if projects, err = e.s.RemoveFlavorAccess(e.ctx, "priv", "proj-a"); err != nil || !slices.Equal(projects, []string{"proj-b"}) {
				t.Fatalf("remove access = %q, %v", projects, err)
			}
			if projects, err = e.s.FlavorAccess(e.ctx, bob, "priv"); err != nil || !slices.Equal(projects, []string{"proj-b"}) {
				t.Fatalf("access list = %q, %v", projects, err)
			}
			_, err = e.s.Flavor(e.ctx, alice, "priv")
			wantNova(t, err, fault.NotFound, "FlavorNotFound", "Flavor priv could not be found.")
			if err := e.s.DeleteFlavor(e.ctx, hidden.FlavorID); err != nil {
				t.Fatal(err)
			}
			_, err = e.s.Flavor(e.ctx, admin, "hidden")
			wantNova(t, err, fault.NotFound, "FlavorNotFound", "Flavor hidden could not be found.")
			// Its name and id are free again; integer ids are not reused.
			if again := e.flavor(t, compute.Flavor{FlavorID: "hidden", Name: "hidden", MemoryMB: 1, VCPUs: 1}); again.ID != 5 {
				t.Fatalf("ids are not reused: %+v", again)
			}

			want := []string{"flavor create", "flavor create", "flavor create", "flavor create", "flavor update", "flavor update",
				"flavor update", "flavor update", "flavor update", "flavor update", "flavor update", "flavor delete", "flavor create"}
			if got := e.changes(t, start); !slices.Equal(got, want) {
				t.Fatalf("feed:\n%q\nwant\n%q", got, want)
			}
		})
	}
}

// Sorting and paging as Nova's paginate_query: the sort key then the id,
// both in the one direction; the marker is the last flavorid seen.
func TestFlavorPages(t *testing.T) {
	for _, eng := range testenv.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			e := newNovaEnv(t, eng.DSN)
			for i, ram := range []int64{512, 2048, 1024, 2048, 4096} {
				f := compute.Flavor{FlavorID: fmt.Sprintf("f%d", i), Name: fmt.Sprintf("n%d", 4-i), MemoryMB: ram, VCPUs: 1, IsPublic: true}
				if i%2 == 0 {
					f.Description = novaStr(fmt.Sprintf("d%d", i))
				}
				e.flavor(t, f)
			}
			e.flavor(t, compute.Flavor{FlavorID: "secret", Name: "secret", MemoryMB: 1, VCPUs: 1})
			alice, admin := compute.Viewer{Project: "proj-a"}, compute.Viewer{Admin: true}
			for _, c := range []struct {
				key, dir string
				want     []string
			}{
				{"", "", []string{"f0", "f1", "f2", "f3", "f4"}},
				{"flavorid", "desc", []string{"f4", "f3", "f2", "f1", "f0"}},
				{"name", "asc", []string{"f4", "f3", "f2", "f1", "f0"}},
				{"memory_mb", "asc", []string{"f0", "f2", "f1", "f3", "f4"}},
				{"memory_mb", "desc", []string{"f4", "f3", "f1", "f2", "f0"}},
				// NULL first ascending, last descending, on both engines.
				{"description", "asc", []string{"f1", "f3", "f0", "f2", "f4"}},
				{"description", "desc", []string{"f4", "f2", "f0", "f3", "f1"}},
				{"vcpu_weight", "desc", []string{"f4", "f3", "f2", "f1", "f0"}},
				{"is_public", "asc", []string{"f0", "f1", "f2", "f3", "f4"}},
			} {
				f := compute.FlavorFilter{IsPublic: flavorBool(true), SortKey: c.key, SortDir: c.dir}
				all, err := e.s.Flavors(e.ctx, alice, f)
				if err != nil || !slices.Equal(flavorIDs(all), c.want) {
					t.Fatalf("sort %s %s: %q, %v; want %q", c.key, c.dir, flavorIDs(all), err, c.want)
				}
				// Two at a time.
				var paged []string
				for f.Limit = 2; ; {
					page, err := e.s.Flavors(e.ctx, alice, f)
					if err != nil {
						t.Fatal(err)
					}
					paged = append(paged, flavorIDs(page)...)
					if len(page) < f.Limit {
						break
					}
					f.Marker = page[len(page)-1].FlavorID
				}
				if !slices.Equal(paged, c.want) {
					t.Fatalf("paged %s %s: %q; want %q", c.key, c.dir, paged, c.want)
				}
			}
			// The marker must be a flavor the viewer may see.
			for _, v := range []compute.Viewer{alice, admin} {
				_, err := e.s.Flavors(e.ctx, v, compute.FlavorFilter{Marker: "nope"})
				wantNova(t, err, fault.BadRequest, "MarkerNotFound", "marker [nope] not found")
			}
			_, err := e.s.Flavors(e.ctx, alice, compute.FlavorFilter{Marker: "secret"})
			wantNova(t, err, fault.BadRequest, "MarkerNotFound", "marker [secret] not found")
			if fs, err := e.s.Flavors(e.ctx, admin, compute.FlavorFilter{Marker: "f4"}); err != nil || !slices.Equal(flavorIDs(fs), []string{"secret"}) {
				t.Fatalf("after f4: %q, %v", flavorIDs(fs), err)
			}
			_, err = e.s.Flavors(e.ctx, admin, compute.FlavorFilter{SortKey: "ram"})
			wantNova(t, err, fault.BadRequest, "InvalidSortKey", "Sort key supplied is invalid: ram")
			_, err = e.s.Flavors(e.ctx, admin, compute.FlavorFilter{SortDir: "up"})
			wantNova(t, err, fault.BadRequest, "InvalidSortDir", "Unknown sort direction, must be one of: asc, desc")
		})
	}
}

// Every refusal of the flavor calls, with Nova's class and message, and
// none of them writes.
func TestFlavorRefusals(t *testing.T) {
	for _, eng := range testenv.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			e := newNovaEnv(t, eng.DSN)
			pub := e.flavor(t, compute.Flavor{FlavorID: "pub", Name: "public", MemoryMB: 1, VCPUs: 1, IsPublic: true})
			priv := e.flavor(t, compute.Flavor{FlavorID: "priv", Name: "private", MemoryMB: 1, VCPUs: 1, Projects: []string{"proj-a"}})
			create := func(f compute.Flavor) func() error {
				return func() error {
					if f.Name == "" {
						f.Name = "new"
					}
					_, err := e.s.CreateFlavor(e.ctx, f)
					return err
				}
			}
			ok := compute.Flavor{MemoryMB: 1, VCPUs: 1}
			with := func(change func(*compute.Flavor)) compute.Flavor { f := ok; change(&f); return f }
			long := strings.Repeat("x", 256)
			e.refuses(t, []novaRefusal{
				{"id taken", create(with(func(f *compute.Flavor) { f.FlavorID, f.Name = "pub", "public" })),
					fault.Conflict, "FlavorIdExists", "Flavor with ID pub already exists."},
				{"name taken", create(with(func(f *compute.Flavor) { f.Name = "private" })),
					fault.Conflict, "FlavorExists", "Flavor with name private already exists."},
				{"no ram", create(with(func(f *compute.Flavor) { f.MemoryMB = 0 })),
					fault.BadRequest, "InvalidInput", "Invalid input received: ram must be >= 1"},
				{"no vcpus", create(with(func(f *compute.Flavor) { f.VCPUs = 0 })),
					fault.BadRequest, "InvalidInput", "Invalid input received: vcpus must be >= 1"},
				{"negative disk", create(with(func(f *compute.Flavor) { f.RootGB = -1 })),
					fault.BadRequest, "InvalidInput", "Invalid input received: disk must be >= 0"},
				{"negative ephemeral", create(with(func(f *compute.Flavor) { f.EphemeralGB = -1 })),
					fault.BadRequest, "InvalidInput", "Invalid input received: ephemeral must be >= 0"},
				{"huge swap", create(with(func(f *compute.Flavor) { f.Swap = 1 << 31 })),
					fault.BadRequest, "InvalidInput", "Invalid input received: swap must be <= 2147483647"},
				{"negative rxtx", create(with(func(f *compute.Flavor) { f.RxtxFactor = -1 })),
					fault.BadRequest, "InvalidInput", "Invalid input received: 'rxtx_factor' argument must be a float between 0 and 3.40282e+38"},
				{"blank name", create(with(func(f *compute.Flavor) { f.Name = "  " })),
					fault.BadRequest, "InvalidInput", "Invalid input received: name must be 1 to 255 characters"},
				{"long id", create(with(func(f *compute.Flavor) { f.FlavorID = long })),
					fault.BadRequest, "InvalidInput", "Invalid input received: id must be at most 255 characters"},
				{"bad extra spec key", create(with(func(f *compute.Flavor) { f.ExtraSpecs = map[string]string{"a/b": "1"} })),
					fault.BadRequest, "InvalidInput", "Invalid input received: extra spec key \"a/b\" must be…"},
				{"long extra spec value", func() error {
					_, err := e.s.SetFlavorExtraSpecs(e.ctx, "pub", map[string]string{"k": long})
					return err
				},
					fault.BadRequest, "InvalidInput", "Invalid input received: extra_specs value has more than 255 characters."},
				{"no flavor", func() error { _, err := e.s.Flavor(e.ctx, compute.Viewer{Admin: true}, "nope"); return err },
					fault.NotFound, "FlavorNotFound", "Flavor nope could not be found."},
				{"update no flavor", func() error { _, err := e.s.UpdateFlavorDescription(e.ctx, "nope", nil); return err },
					fault.NotFound, "FlavorNotFound", "Flavor nope could not be found."},
				{"delete no flavor", func() error { return e.s.DeleteFlavor(e.ctx, "nope") },
					fault.NotFound, "FlavorNotFound", "Flavor nope could not be found."},
				{"extra specs of no flavor", func() error { _, err := e.s.SetFlavorExtraSpecs(e.ctx, "nope", nil); return err },
					fault.NotFound, "FlavorNotFound", "Flavor nope could not be found."},
				{"no such extra spec", func() error { _, err := e.s.DeleteFlavorExtraSpec(e.ctx, "pub", "k"); return err },
					fault.NotFound, "FlavorExtraSpecsNotFound", "Flavor pub has no extra specs with key k."},
				{"access to a public flavor", func() error { _, err := e.s.AddFlavorAccess(e.ctx, "pub", "proj-b"); return err },
					fault.Conflict, "", "Can not add access to a public flavor."},
				{"access twice", func() error { _, err := e.s.AddFlavorAccess(e.ctx, "priv", "proj-a"); return err },
					fault.Conflict, "FlavorAccessExists", fmt.Sprintf("Flavor access already exists for flavor %d and project proj-a combination.", priv.ID)},
				{"no such access", func() error { _, err := e.s.RemoveFlavorAccess(e.ctx, "priv", "proj-b"); return err },
					fault.NotFound, "FlavorAccessNotFound", fmt.Sprintf("Flavor access not found for %d / proj-b combination.", priv.ID)},
				{"access list of a public flavor", func() error { _, err := e.s.FlavorAccess(e.ctx, compute.Viewer{Admin: true}, "pub"); return err },
					fault.NotFound, "", "Access list not available for public flavors."},
				{"access list of a hidden flavor", func() error { _, err := e.s.FlavorAccess(e.ctx, compute.Viewer{Project: "proj-b"}, "priv"); return err },
					fault.NotFound, "FlavorNotFound", "Flavor priv could not be found."},
			})
			if got, err := e.s.Flavor(e.ctx, compute.Viewer{Admin: true}, "pub"); err != nil || got.UpdatedAt != nil || len(got.ExtraSpecs) != 0 {
				t.Fatalf("public after refusals = %+v, %v (%+v)", got, err, pub)
			}
		})
	}
}

// Nova's extra spec validators (microversion 2.86), with their messages.
func TestFlavorExtraSpecCheck(t *testing.T) {
	for _, c := range []struct{ key, value, msg string }{
		{"hw:cpu_policy", "dedicated", ""},
		{"hw:cpu_policy", "fast", "Validation failed; 'fast' is not one of: dedicated, shared, mixed."},
		{"hw:numa_nodes", " +2 ", ""},
		{"hw:numa_nodes", "0", "Validation failed; '0' is less than the min value of '1'."},
		{"hw:numa_nodes", "two", "Validation failed; 'two' is not a valid integer value."},
		{"os:monitors", "0_9", "Validation failed; '9' is greater than the max value of '8'."},
		{"hw:cpu_realtime", "Yes", ""},
		{"hw:cpu_realtime", "maybe", "Validation failed; 'maybe' is not a valid boolean-like value."},
		{"hw:mem_page_size", "2MiB", ""},
		{"hw:mem_page_size", "huge", `Validation failed; 'huge' is not of the format '(large|small|any|\d+([kKMGT]i?)?(b|bit|B)?)'.`},
		{"hw:numa_cpus.0", "0-3,^2", ""},
		{"hw:numa_mem.1", "0", "Validation failed; '0' is less than the min value of '1'."},
		{"hw:cpu_sockets", "2", ""},
		{"quota:disk_read_bytes_sec", "-1", "Validation failed; '-1' is less than the min value of '0'."},
		{"quota:cpu_reservation", "-1", ""},
		{"capabilities:cpu_info:arch", "x86_64", ""},
		{"aggregate_instance_extra_specs:ssd", "true", ""},
		{"resources:VCPU", "2", ""},
		{"resources1:CUSTOM_GOLD", "x", "Validation failed; 'x' is not a valid integer value."},
		{"trait:HW_CPU_X86_AVX2", "required", ""},
		{"trait_a:CUSTOM_FOO", "maybe", "Validation failed; 'maybe' is not one of: required, forbidden."},
		{"hide_hypervisor_id", "true", ""},
		{"group_policy", "all", "Validation failed; 'all' is not one of: isolate, none."},
		{"hw:no_such", "1", "Validation failed; extra spec 'hw:no_such' does not appear to be a valid extra spec."},
		{"resources:NOT_A_CLASS", "1", "Validation failed; extra spec 'resources:NOT_A_CLASS' does not appear to be a valid extra spec."},
		{"trait:NOT_A_TRAIT", "required", "Validation failed; extra spec 'trait:NOT_A_TRAIT' does not appear to be a valid extra spec."},
		{"mine:anything", "x", ""},
		{"plain", "x", ""},
	} {
		err := compute.CheckExtraSpec(c.key, c.value)
		if c.msg == "" {
			if err != nil {
				t.Errorf("%s=%s: %v", c.key, c.value, err)
			}
			continue
		}
		wantNova(t, err, fault.BadRequest, "ValidationError", c.msg)
	}
}

// novaExtraSpecs runs Nova's extra spec validators on [key, value]
// pairs: "" when Nova takes the pair, else its message.
const novaExtraSpecs = `
import json, sys
from nova.api.validation.extra_specs import validators
from nova import exception
out = []
for key, value in json.load(sys.stdin):
    try:
        validators.validate(key, value)
        out.append("")
    except exception.ValidationError as e:
        out.append(e.format_message())
print(json.dumps(out))
`

// CheckExtraSpec answers as Nova 26's validators do, for keys of every
// namespace (known, parameterised, unknown) and values of every kind.
func TestFlavorExtraSpecDifferential(t *testing.T) {
	testenv.RequirePython(t, "nova.api.validation.extra_specs.validators", "python3-nova")
	script := filepath.Join(t.TempDir(), "extra_specs.py")
	if err := os.WriteFile(script, []byte(novaExtraSpecs), 0o644); err != nil {
		t.Fatal(err)
	}
	keys := []string{"hw:cpu_policy", "hw:numa_nodes", "os:monitors", "hw:cpu_realtime", "hw:mem_page_size", "hw:numa_cpus.0",
		"hw:numa_cpusX1", "hw:numa_mem.1", "hw:cpu_sockets", "hw:max_cpu_threads", "hw:cpu_realtime_mask", "hw:cpu_dedicated_mask",
		"hw:pmem", "hw:tpm_version", "hw:ephemeral_encryption_format", "hw:watchdog_action", "hw:serial_port_count", "hw:no_such",
		"quota:disk_read_bytes_sec", "quota:cpu_reservation", "quota:vif_shares_level", "quota:cpu_quota", "quota:x",
		"capabilities:cpu_info:arch", "capabilities:cpu_info", "capabilities:stats:x:y", "capabilities:host", "capabilities:foo",
		"aggregate_instance_extra_specs:ssd", "resources:VCPU", "resources1:CUSTOM_GOLD", "resources_x-y:PCPU", "resources:FOO",
		"resources:custom_x", "trait:HW_CPU_X86_AVX2", "trait_a:CUSTOM_FOO", "trait:FOO", "traits:FOO", "trait:", "hide_hypervisor_id",
		"group_policy", "mine:x", "plain", "hw_rng:allowed", "hw_rng:foo", "hw_video:ram_max_mb", "hw_video:x", "os:vram",
		"os:secure_boot", "os:x", "pci_passthrough:alias", "pci_passthrough:x", "vmware:hw_version", "vmware:x",
		"accel:device_profile", "accel:x", "hw", "hw:", ":x"}
	values := []string{"1", "0", "-1", " +2 ", "0_9", "1__0", "_1", "two", "yes", "Yes", "maybe", "dedicated", "large", "2MiB",
		"huge", "0-3,^2", "^1", "required", "forbidden", "64", "9", "8", "a:1, b:2", "x", "", " 1", "1.0", "on", "required ",
		"99999999999999999999999"}
	var pairs [][2]string
	for _, k := range keys {
		for _, v := range values {
			pairs = append(pairs, [2]string{k, v})
		}
	}
	got := testenv.PythonJSON(t, script, pairs)
	if len(got) != len(pairs) {
		t.Fatalf("%d answers for %d pairs", len(got), len(pairs))
	}
	for i, p := range pairs {
		var want string
		if err := json.Unmarshal(got[i], &want); err != nil {
			t.Fatal(err)
		}
		msg := ""
		if err := compute.CheckExtraSpec(p[0], p[1]); err != nil {
			msg = fault.Message(err)
		}
		if msg != want {
			t.Errorf("%s=%q: %q, Nova says %q", p[0], p[1], msg, want)
		}
	}
}
