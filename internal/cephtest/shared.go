package cephtest

import (
	"errors"
	"sync"
	"testing"

	"github.com/gostack/gostack/internal/testenv"
)

var (
	sharedOnce sync.Once
	shared     *Cluster
	sharedErr  error
)

// Shared is the test binary's cluster, started on the first call (with
// the default Options) and stopped when testenv.Main (or StopAll)
// finishes. Without the Ceph binaries the test is skipped naming the
// Debian packages, or failed when CI=true.
func Shared(t testing.TB) *Cluster {
	t.Helper()
	if err := Available(); err != nil {
		missing(t, err)
	}
	sharedOnce.Do(func() {
		shared, sharedErr = Start(Options{})
		if sharedErr == nil {
			testenv.OnExit(func() { shared.Stop() })
		}
	})
	if sharedErr != nil {
		if errors.Is(sharedErr, ErrMissing) {
			missing(t, sharedErr)
		}
		t.Fatalf("cephtest: start: %v", sharedErr)
	}
	return shared
}

// missing skips the test (fails it when CI=true): Ceph is not installed.
func missing(t testing.TB, err error) {
	t.Helper()
	msg := err.Error() + "; make test installs them"
	if testenv.CI() {
		t.Fatal(msg + " [CI=true: integration tests may not skip]")
	}
	t.Skip(msg)
}
