package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"testing"
)

// The programs needed are installed by the project's scripts/setup. As
// in the project's own integration tests, a missing one skips the test
// with the package to install, except in CI (CI=true), where it fails.
func need(t *testing.T, name, pkg string) {
	t.Helper()
	if _, err := exec.LookPath(name); err == nil {
		return
	}
	msg := fmt.Sprintf("%s not found: install the Debian package %q (make test installs it)", name, pkg)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + " [CI=true: integration tests may not skip]")
	}
	t.Skip(msg)
}

func TestRun(t *testing.T) {
	need(t, "qemu-img", "qemu-utils")
	need(t, "prlimit", "util-linux")
	var out bytes.Buffer
	if err := run(context.Background(), &out, t.TempDir()); err != nil {
		t.Fatal(err)
	}
	want := `raw to qcow2: qcow2 v3, virtual size 64 MiB
qcow2 to raw: the same bytes as the original: true
raw declared qcow2: mismatch: true, output written: false
`
	if out.String() != want {
		t.Errorf("output:\n%s\nwant:\n%s", out.String(), want)
	}
}
