package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"sync"
	"testing"
)

// CI reports whether the tests run in CI (CI=true), where missing
// components fail instead of skip.
func CI() bool { return os.Getenv("CI") == "true" }

var (
	stopMu sync.Mutex
	stops  []func()
)

// onExit registers fn to run when Main finishes, last registered first.
func onExit(fn func()) {
	stopMu.Lock()
	defer stopMu.Unlock()
	stops = append(stops, fn)
}

// OnExit registers fn to stop a component a harness of its own started
// (internal/cephtest): it runs when Main (or StopAll) finishes, last
// registered first.
func OnExit(fn func()) { onExit(fn) }

// StopAll stops every component this binary started. Main calls it.
func StopAll() {
	stopMu.Lock()
	fns := stops
	stops = nil
	stopMu.Unlock()
	for i := len(fns) - 1; i >= 0; i-- {
		fns[i]()
	}
}

// Main runs the package's tests and then stops the components they started.
func Main(m *testing.M) {
	code := m.Run()
	StopAll()
	os.Exit(code)
}

// Missing ends the test because a component is absent: a skip naming the
// Debian package outside CI, a failure in CI.
func Missing(t testing.TB, what, pkg string) {
	t.Helper()
	msg := fmt.Sprintf("%s not found: install the Debian package %q (make test installs it)", what, pkg)
	if CI() {
		t.Fatal(msg + " [CI=true: integration tests may not skip]")
	}
	t.Skip(msg)
}

// LookPath finds a binary on PATH or in extra directories (globs allowed,
// later matches preferred, so the highest version wins); if it is absent
// the test is skipped or, in CI, failed, naming pkg.
func LookPath(t testing.TB, name, pkg string, extra ...string) string {
	t.Helper()
	if p := findBinary(name, extra...); p != "" {
		return p
	}
	Missing(t, name, pkg)
	return ""
}

func findBinary(name string, extra ...string) string {
	for i := len(extra) - 1; i >= 0; i-- {
		matches, _ := filepath.Glob(filepath.Join(extra[i], name))
		sort.Strings(matches)
		for j := len(matches) - 1; j >= 0; j-- {
			if fi, err := os.Stat(matches[j]); err == nil && fi.Mode()&0o111 != 0 {
				return matches[j]
			}
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	return ""
}
