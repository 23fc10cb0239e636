package main

import (
	"errors"
	"strings"
	"testing"
)

func TestParseBench(t *testing.T) {
	out := `goos: linux
BenchmarkClaim/sqlite-2         	    2000	    732068 ns/op	      1366 claims/s
BenchmarkSchedule/hosts=1000/all                	     160	    359919 ns/op	       861.0 p99-µs	  125965 B/op	     150 allocs/op
BenchmarkSchedule/hosts=1000/all-2              	     168	    388766 ns/op
--- FAIL: BenchmarkAllocationCandidates/postgres
PASS
`
	f := parseBench([]byte(out))
	for _, c := range []struct {
		name, unit string
		want       float64
	}{
		{"BenchmarkClaim/sqlite@2", "claims/s", 1366},
		{"BenchmarkSchedule/hosts=1000/all@1", "ns/op", 359919},
		{"BenchmarkSchedule/hosts=1000/all@1", "p99-µs", 861},
		{"BenchmarkSchedule/hosts=1000/all@2", "ns/op", 388766},
	} {
		if got, ok := f.get(c.name, c.unit); !ok || got != c.want {
			t.Errorf("%s %s = %v, %v; want %v", c.name, c.unit, got, ok, c.want)
		}
	}
	if len(f) != 3 {
		t.Errorf("parsed %d benchmarks, want 3: %v", len(f), f)
	}
}

// A peer that did not run gets its reason and no ratio, never a figure.
func TestReportPeerNotRun(t *testing.T) {
	m := measured{
		compute:      parseBench([]byte("BenchmarkAllocationCandidates/sqlite-2 20 25000000 ns/op\n")),
		sched:        parseBench([]byte("BenchmarkSchedule/hosts=1000/all 100 400000 ns/op\n")),
		placementErr: errors.New("/usr/bin/python3 cannot import placement.deploy: apt-get install -y python3-placement"),
		novaErr:      errors.New("nova: no answer"),
	}
	var b strings.Builder
	report(&b, m)
	out := b.String()
	for _, want := range []string{"apt-get install -y python3-placement", "nova: no answer", "25.0 ms", "0.40 ms", "not run"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "×  ") || strings.Contains(out, "×\n") {
		t.Errorf("report shows a ratio without a peer:\n%s", out)
	}
}
