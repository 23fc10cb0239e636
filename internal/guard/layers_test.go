package guard

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/gostack/gostack"

// areas are the top-level area folders; each holds a domain package (the
// folder itself), its API (<area>/api), its wiring into a kit/compose
// daemon (<area>/area) and its building blocks (the rest).
var areas = []string{"compute", "network", "storage", "identity", "image", "baremetal", "lbaas", "dns"}

// blockNeeds are the building blocks whose job needs HTTP or the store
// kit. Every other block may use neither: a block takes plain Go values.
var blockNeeds = map[string][]string{
	"identity/middleware":                {"http"},  // token validation for net/http services
	"identity/middleware/middlewaretest": {"http"},  // its fake, for tests of such services
	"image/store/httpstore":              {"http"},  // image data over http(s) URLs
	"dns/publish":                        {"store"}, // publishes the store's zones to the server
	// The network host agent talks to the controller over HTTP; it uses
	// the network model's types, whose package also holds the Store, but
	// never opens a database (agentNoStore).
	"network/agent": {"http", "store"},
	// So does the compute host agent (compute's instance types).
	"compute/agent": {"http", "store"},
	// And the volume agent (the storage model's types).
	"storage/agent": {"http", "store"},
	// Open vSwitch's database client, libovsdb, links Prometheus (and so
	// net/http) for its metrics; the block itself speaks no HTTP. The
	// firewall and the test harness link it through network/ovs.
	"network/ovs":         {"http"},
	"network/ovs/ovstest": {"http"},
	"network/secgroup":    {"http"},
	// The metadata proxy serves a network's guests and forwards to
	// Nova's metadata API.
	"network/metadataproxy": {"http"},
	// The program inside the tiny guest image reads the metadata service
	// and answers HTTP to prove the guest is reachable.
	"compute/guestimage/guestagent": {"http"},
}

// agentNoStore: a host agent (a block named agent) never imports the
// store kit itself; it follows the feed and calls the API (kit/agent).
func agentNoStore(rel string, imports []string) bool {
	return strings.HasSuffix(rel, "/agent") && slices.Contains(imports, module+"/kit/sqlstore")
}

// light are building blocks an embedder imports into its own scheduler
// or tooling, which must stay light: the standard library and the module
// packages listed, nothing else (no database driver, no HTTP, no cgo).
var light = map[string][]string{
	"compute/placement": {},
	"compute/scheduler": {"compute/placement", "kit/pyrepr"},
	// The driver contract: a hypervisor driver imports it, and nothing
	// heavier comes with it.
	"compute/virt": {},
}

// lightViolation is the first dependency of a light package that it
// may not have.
func lightViolation(rel string, deps []string) string {
	allowed, ok := light[rel]
	if !ok {
		return ""
	}
	for _, d := range deps {
		if dr, mine := strings.CutPrefix(d, module+"/"); mine {
			if !slices.Contains(allowed, dr) {
				return d
			}
			continue
		}
		first, _, _ := strings.Cut(d, "/")
		if strings.Contains(first, ".") || d == "net/http" || d == "database/sql" || d == "C" {
			return d
		}
	}
	return ""
}

// kitNoHTTP are kit packages a domain package imports: they must stay free
// of net/http and Prometheus themselves.
var kitNoHTTP = []string{"kit/fault", "kit/sqlstore", "kit/watch", "kit/crashpoint"}

func isHTTP(dep string) bool {
	return dep == "net/http" || strings.HasPrefix(dep, "github.com/prometheus/")
}

// violations applies the layering rules to a package list (non-test
// imports and dependencies, as go list gives them).
func violations(pkgs []pkg) []string {
	var out []string
	bad := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	for _, p := range pkgs {
		rel, ok := strings.CutPrefix(p.ImportPath, module+"/")
		if !ok {
			continue
		}
		area, kind := classify(rel)
		if kind == "domain" || kind == "api" || kind == "block" {
			for _, d := range p.Deps {
				dr, ok := strings.CutPrefix(d, module+"/")
				if !ok {
					continue
				}
				if _, k := classify(dr); k == "wiring" {
					bad("%s %s depends on the wiring %s: only daemons and other areas' wiring may", kind, rel, dr)
				}
			}
		}
		switch kind {
		case "domain":
			for _, d := range p.Deps {
				if isHTTP(d) {
					bad("domain package %s depends on %s (HTTP and metrics belong in %s/api and the composition)", rel, d, rel)
				}
			}
		case "block":
			if d := lightViolation(rel, p.Deps); d != "" {
				bad("building block %s must stay light (the standard library and %v) but depends on %s", rel, light[rel], d)
			}
			if agentNoStore(rel, p.Imports) {
				bad("host agent %s imports the store kit: agents never open the database", rel)
			}
			needs := blockNeeds[rel]
			for _, d := range p.Deps {
				if d == "net/http" && !slices.Contains(needs, "http") {
					bad("building block %s depends on net/http, which is not its job (blockNeeds)", rel)
				}
				if d == module+"/kit/sqlstore" && !slices.Contains(needs, "store") {
					bad("building block %s depends on the store kit, which is not its job (blockNeeds)", rel)
				}
				if d == module+"/"+area+"/api" {
					bad("building block %s depends on its area's API", rel)
				}
			}
		case "kit", "internal":
			for _, d := range p.Deps {
				dr, ok := strings.CutPrefix(d, module+"/")
				if !ok {
					continue
				}
				if a, k := classify(dr); k == "domain" || k == "api" || k == "block" || k == "wiring" {
					bad("%s package %s depends on the %s area (%s): it must sit below every area", kind, rel, a, dr)
				}
			}
			if slices.Contains(kitNoHTTP, rel) {
				for _, d := range p.Deps {
					if isHTTP(d) {
						bad("%s depends on %s: domain packages import it, so it must not", rel, d)
					}
				}
			}
		}
		// Benchmarks run from the repository (as tests do) and may use
		// its test harnesses; no other module builds them.
		if kind != "internal" && first(rel) != "bench" {
			for _, i := range p.Imports {
				if strings.HasPrefix(i, module+"/internal/") {
					bad("public package %s imports %s: an outside module could not build it", rel, i)
				}
			}
		}
	}
	return out
}

// first is a module-relative path's first element.
func first(rel string) string {
	f, _, _ := strings.Cut(rel, "/")
	return f
}

// classify names what a module-relative package path is: "domain",
// "api", "wiring", "block" (with its area), "kit", "internal" or "app"
// (cmd, bench, examples).
func classify(rel string) (area, kind string) {
	first, rest, _ := strings.Cut(rel, "/")
	switch {
	case first == "internal":
		return "", "internal"
	case first == "kit":
		return "", "kit"
	case !slices.Contains(areas, first):
		return "", "app"
	case rest == "":
		return first, "domain"
	case rest == "api" || strings.HasPrefix(rest, "api/"):
		return first, "api"
	case rest == "area":
		return first, "wiring"
	}
	return first, "block"
}

func TestLayers(t *testing.T) {
	for _, v := range violations(listPackages(t)) {
		t.Error(v)
	}
}

// The rules catch what they are for: a table of bad edges, each of which
// must be reported.
func TestLayersCatch(t *testing.T) {
	m := func(rel string) string { return module + "/" + rel }
	bad := []pkg{
		{ImportPath: m("image"), Deps: []string{"net/http"}},
		{ImportPath: m("dns"), Deps: []string{"github.com/prometheus/client_golang/prometheus"}},
		{ImportPath: m("identity/fernet"), Deps: []string{m("kit/sqlstore")}},
		{ImportPath: m("image/format"), Deps: []string{"net/http"}},
		{ImportPath: m("dns/server"), Deps: []string{m("dns/api")}},
		{ImportPath: m("kit/watch"), Deps: []string{"net/http"}},
		{ImportPath: m("kit/httpapi"), Deps: []string{m("identity")}},
		{ImportPath: m("internal/apitest"), Deps: []string{m("identity/middleware")}},
		{ImportPath: m("identity/api"), Imports: []string{m("internal/testenv")}},
		{ImportPath: m("image/api"), Deps: []string{m("identity/area")}},
		{ImportPath: m("kit/compose"), Deps: []string{m("identity/area")}},
		{ImportPath: m("network/agent"), Deps: []string{m("kit/sqlstore")}, Imports: []string{m("kit/sqlstore")}},
		{ImportPath: m("compute/scheduler"), Deps: []string{"github.com/google/uuid"}},
		{ImportPath: m("compute/scheduler"), Deps: []string{m("compute")}},
		{ImportPath: m("compute/placement"), Deps: []string{"database/sql"}},
	}
	for _, p := range bad {
		if v := violations([]pkg{p}); len(v) != 1 {
			t.Errorf("%s with %v%v: %d violations reported, want 1: %v", p.ImportPath, p.Deps, p.Imports, len(v), v)
		}
	}
	good := []pkg{
		{ImportPath: m("identity/middleware"), Deps: []string{"net/http"}},
		{ImportPath: m("dns/publish"), Deps: []string{m("kit/sqlstore")}},
		{ImportPath: m("identity/api"), Deps: []string{"net/http", m("identity")}},
		{ImportPath: m("cmd/gostack"), Deps: []string{"net/http", m("identity/api")}},
		{ImportPath: m("kit/httpapi"), Deps: []string{"net/http", "github.com/prometheus/client_golang/prometheus"}},
		{ImportPath: m("internal/testenv"), Deps: []string{m("kit/sqlstore")}},
		{ImportPath: m("image/area"), Deps: []string{"net/http", m("kit/sqlstore"), m("identity/area"), m("image/api")}},
		{ImportPath: m("network/agent"), Deps: []string{"net/http", m("kit/sqlstore"), m("network")}, Imports: []string{m("network")}},
		{ImportPath: m("compute/scheduler"), Deps: []string{"context", "math/rand/v2", m("compute/placement"), m("kit/pyrepr")}},
	}
	if v := violations(good); len(v) != 0 {
		t.Errorf("allowed edges reported: %v", v)
	}
}
