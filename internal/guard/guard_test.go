package guard

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// cgoPackages are the documented cgo drivers, allowed to import the cgo
// libraries. Each must sit in its own package with a !cgo stub.
var cgoPackages = map[string]bool{
	"github.com/gostack/gostack/compute/libvirt":      true, // libvirt.org/go/libvirt
	"github.com/gostack/gostack/storage/rbd":          true, // github.com/ceph/go-ceph (with a Ceph release tag)
	"github.com/gostack/gostack/image/store/rbdstore": true, // the same, for image data
}

// cgoLibraries may only be imported by cgoPackages.
var cgoLibraries = []string{"libvirt.org/go/libvirt", "github.com/ceph/go-ceph"}

type pkg struct {
	ImportPath string
	Deps       []string
	Imports    []string
}

func listPackages(t *testing.T) []pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-json", "-deps=false", "./...")
	cmd.Dir = repoRoot(t)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var pkgs []pkg
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) < 5 {
		t.Fatalf("go list found only %d packages", len(pkgs))
	}
	return pkgs
}

func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "go.mod")); err != nil {
		t.Fatalf("repository root not found at %s", dir)
	}
	return dir
}

// TestPureBuild: every package except the documented cgo drivers builds
// with CGO_ENABLED=0.
func TestPureBuild(t *testing.T) {
	cmd := exec.Command("go", "build", "./...")
	cmd.Dir = repoRoot(t)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("CGO_ENABLED=0 go build ./...: %v\n%s", err, out)
	}
}

// TestNoCgoLibrariesInPurePackages: importing a pure package (the
// scheduler, the token provider, ...) must not drag in libvirt or Ceph.
func TestNoCgoLibrariesInPurePackages(t *testing.T) {
	for _, p := range listPackages(t) {
		if cgoPackages[p.ImportPath] {
			continue
		}
		for _, d := range p.Deps {
			for _, lib := range cgoLibraries {
				if d == lib || strings.HasPrefix(d, lib+"/") {
					t.Errorf("%s depends on %s; only the documented cgo drivers may", p.ImportPath, d)
				}
			}
		}
	}
}

// TestNoTestHelpersInProduction: production packages do not import the
// test harnesses (they start servers and call testing.T), nor testing
// themselves. (A dependency may: libovsdb's client package imports
// testify and testing for its own test helpers, which network/ovs then
// links; nothing of ours calls them.)
func TestNoTestHelpersInProduction(t *testing.T) {
	harness := map[string]bool{
		"github.com/gostack/gostack/internal/testenv":    true,
		"github.com/gostack/gostack/internal/apitest":    true,
		"github.com/gostack/gostack/network/ovs/ovstest": true,
		// The tiny guest image, built once per machine for tests.
		"github.com/gostack/gostack/compute/guestimage/guesttest": true,
		// The lifecycle suite the hypervisor drivers' tests run.
		"github.com/gostack/gostack/compute/virt/virttest": true,
		// A private single-node Ceph for the RBD tests.
		"github.com/gostack/gostack/internal/cephtest": true,
	}
	for _, p := range listPackages(t) {
		// A benchmark runs from the repository as tests do (bench/storage
		// starts its private Ceph with internal/cephtest); nothing ships
		// or embeds it.
		if harness[p.ImportPath] || strings.HasPrefix(p.ImportPath, "github.com/gostack/gostack/bench/") {
			continue
		}
		for _, d := range p.Deps {
			if harness[d] {
				t.Errorf("%s imports %s in non-test code", p.ImportPath, d)
			}
		}
		for _, i := range p.Imports {
			if i == "testing" {
				t.Errorf("%s imports testing in non-test code", p.ImportPath)
			}
		}
	}
}
