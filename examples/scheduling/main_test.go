package main

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"
)

func TestRun(t *testing.T) {
	var out bytes.Buffer
	dsn := "sqlite://" + filepath.Join(t.TempDir(), "x.db")
	if err := run(context.Background(), &out, []string{"-db", dsn}); err != nil {
		t.Fatal(err)
	}
	want := `cn1: 16 VCPU, 7680 MiB schedulable
cn2: 16 VCPU, 7680 MiB schedulable
cn3: 16 VCPU, 7680 MiB schedulable
3 web servers in an anti-affinity group: on 3 different hosts
cn1: 4096 MiB used
cn2: 4096 MiB used
cn3: 4096 MiB used
no valid host: PlacementFilter returned 0 hosts (start: 3, end: 0)
instance 5e0c1a9e-0000-4000-8000-00000000000d
hosts: 3
PlacementFilter: (start: 3, end: 0)
  cn1: MEMORY_MB: 6144 requested, 3584 free of 7680 (total 8192, reserved 512, ratio 1)
  cn2: MEMORY_MB: 6144 requested, 3584 free of 7680 (total 8192, reserved 512, ratio 1)
  cn3: MEMORY_MB: 6144 requested, 3584 free of 7680 (total 8192, reserved 512, ratio 1)
`
	if out.String() != want {
		t.Errorf("output:\n%s\nwant:\n%s", out.String(), want)
	}
}
