// Command scheduler benchmarks gostack's scheduling against OpenStack's
// own code, on the same machine in the same run, and prints the ratios.
//
// gostack's side is the Go benchmarks next to the code, run with go
// test: compute's BenchmarkClaim (persisted claims/s, 8 concurrent
// schedulers, SQLite and PostgreSQL) and BenchmarkAllocationCandidates
// (6,000 providers, limit 1,000), and compute/scheduler's
// BenchmarkSchedule (1,000, 10,000 and 50,000 hosts, every host weighed
// or the adaptive share, on 1 and 2 cores).
//
// The peers are OpenStack's Python, as Debian ships it, under
// /usr/bin/python3: Placement 8.0.0 answering GET /allocation_candidates
// over the same 6,000 providers in-process (placement_bench.py), and
// Nova's filters and weighers making one decision over synthetic hosts
// like BenchmarkSchedule's (nova_bench.py). A peer that cannot run is
// reported with the reason and gets no ratio.
//
//	bench/scheduler/run [-claims 2000] [-candidates 20] [-schedtime 1s] [-nova-hosts 1000,10000,50000]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

type config struct {
	claims, candidates  int
	schedtime           string
	placementRuns       int
	novaHosts           []int
	novaRuns            int
	novaSeconds         float64
	placementPy, novaPy string
}

// measured is everything one run collected; a nil error means that part
// ran.
type measured struct {
	compute, sched     figures
	computeErr, schErr error
	placement          placementResult
	placementErr       error
	nova               novaResult
	novaErr            error
}

func main() {
	var c config
	hosts := flag.String("nova-hosts", "1000,10000,50000", "host counts Nova's filters and weighers decide over")
	flag.IntVar(&c.claims, "claims", 2000, "claims per engine (BenchmarkClaim -benchtime Nx)")
	flag.IntVar(&c.candidates, "candidates", 20, "candidate searches per engine (BenchmarkAllocationCandidates)")
	flag.StringVar(&c.schedtime, "schedtime", "1s", "-benchtime of each BenchmarkSchedule case")
	flag.IntVar(&c.placementRuns, "placement-runs", 5, "GET /allocation_candidates per microversion")
	flag.IntVar(&c.novaRuns, "nova-runs", 3, "least decisions per host count")
	flag.Float64Var(&c.novaSeconds, "nova-seconds", 3, "seconds of decisions per host count, if more than -nova-runs fit")
	flag.StringVar(&c.placementPy, "placement-script", "bench/scheduler/placement_bench.py", "Placement timing script")
	flag.StringVar(&c.novaPy, "nova-script", "bench/scheduler/nova_bench.py", "Nova timing script")
	flag.Parse()
	for _, s := range strings.Split(*hosts, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 2 {
			fmt.Fprintf(os.Stderr, "-nova-hosts: %q is not a host count\n", s)
			os.Exit(2)
		}
		c.novaHosts = append(c.novaHosts, n)
	}
	start := time.Now()
	m := run(context.Background(), c)
	report(os.Stdout, m)
	fmt.Printf("\n(%.0f s in all)\n", time.Since(start).Seconds())
}

// run measures one after the other, so that no two share the cores.
func run(ctx context.Context, c config) measured {
	var m measured
	w := os.Stdout
	fmt.Fprintln(w, "== gostack: go test benchmarks")
	m.compute, m.computeErr = goBench(ctx, w, 150*time.Second, "./compute",
		"-bench", "^BenchmarkClaim$", "-benchtime", fmt.Sprintf("%dx", c.claims))
	cands, err := goBench(ctx, w, 150*time.Second, "./compute",
		"-bench", "^BenchmarkAllocationCandidates$", "-benchtime", fmt.Sprintf("%dx", c.candidates))
	for k, v := range cands {
		m.compute[k] = v
	}
	if m.computeErr == nil {
		m.computeErr = err
	}
	places, err := goBench(ctx, w, 240*time.Second, "./compute",
		"-bench", "^BenchmarkPlacement$", "-benchtime", fmt.Sprintf("%dx", c.claims))
	for k, v := range places {
		m.compute[k] = v
	}
	if m.computeErr == nil {
		m.computeErr = err
	}
	m.sched, m.schErr = goBench(ctx, w, 150*time.Second, "./compute/scheduler",
		"-bench", "^BenchmarkSchedule$", "-benchtime", c.schedtime, "-cpu", "1,2")

	fmt.Fprintln(w, "\n== Placement 8.0.0: GET /allocation_candidates in-process (placement_bench.py)")
	if m.placementErr = importable("placement.deploy", "python3-placement"); m.placementErr == nil {
		req := map[string]any{"providers": 6000, "limit": 1000, "runs": c.placementRuns,
			"microversions": []string{"1.29", "latest", "1.25"}}
		m.placementErr = runPeer(ctx, 150*time.Second, c.placementPy, req, &m.placement)
	}
	done(w, m.placementErr)

	fmt.Fprintln(w, "\n== Nova: filters and weighers, one decision (nova_bench.py)")
	if m.novaErr = importable("nova.scheduler.host_manager", "python3-nova"); m.novaErr == nil {
		req := map[string]any{"hosts": c.novaHosts, "runs": c.novaRuns, "seconds": c.novaSeconds}
		m.novaErr = runPeer(ctx, 180*time.Second, c.novaPy, req, &m.nova)
	}
	done(w, m.novaErr)
	return m
}

func done(w *os.File, err error) {
	if err != nil {
		fmt.Fprintf(w, "    not measured: %v\n", err)
		return
	}
	fmt.Fprintln(w, "    done")
}
