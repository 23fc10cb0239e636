package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
)

// The figures reported elsewhere that the issue measures against; none
// is measured here.
const (
	lpBugProviders = 6000
	lpBug125       = 16.0 // s, Placement at microversion 1.25, LP 1828937
	lpBug129       = 5.5  // s, at 1.29
	kubeBar        = 680  // pods/s, kube-scheduler SchedulingBasic at 5,000 nodes
	claimGoal      = 1000 // claims/s
)

const legend = `candidates: GET /allocation_candidates?resources=VCPU:1,MEMORY_MB:512,DISK_GB:10&limit=1000
  over 6,000 providers (VCPU 64 at ratio 4, MEMORY_MB 262144, DISK_GB 4000). gostack: the
  store call (no HTTP, no JSON); Placement "query": AllocationCandidates.get_by_requests
  inside the request; "whole GET": the request through Placement's WSGI app, JSON included.
schedule: one instance (1 VCPU, 2048 MB, 20 GB) over synthetic hosts. gostack: default
  filters and weighers, every host weighed on 1 core (as Nova does, on the one core Python
  uses) or the default adaptive share on 2 cores. Nova: get_filtered_hosts over its default
  filters, get_weighed_hosts over all its weighers, the pick; Python on one core.

`

// table is the rows of measure, gostack, peer, ratio.
type table struct {
	rows [][4]string
}

func (t *table) add(measure, g, p, ratio string) {
	t.rows = append(t.rows, [4]string{measure, g, p, ratio})
}

// timeRow adds a row of two durations in ms; a figure <= 0 is missing
// and why says so.
func (t *table) timeRow(measure string, g, p float64, gWhy, pWhy string) {
	gs, ps, r := orWhy(g, gWhy), orWhy(p, pWhy), "—"
	if g > 0 && p > 0 {
		r = fmt.Sprintf("%.0f×", p/g)
		if p/g < 10 {
			r = fmt.Sprintf("%.1f×", p/g)
		}
	}
	t.add(measure, gs, ps, r)
}

func orWhy(ms float64, why string) string {
	if ms > 0 {
		return fmtMS(ms)
	}
	return why
}

func fmtMS(ms float64) string {
	switch {
	case ms >= 100:
		return fmt.Sprintf("%.0f ms", ms)
	case ms >= 1:
		return fmt.Sprintf("%.1f ms", ms)
	default:
		return fmt.Sprintf("%.2f ms", ms)
	}
}

func (t *table) write(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "measure\tgostack\tpeer\tratio (peer/gostack)")
	for _, r := range t.rows {
		fmt.Fprintln(tw, strings.Join(r[:], "\t"))
	}
	tw.Flush()
}

// first is a figure of the benchmark name at whatever GOMAXPROCS it ran.
func (f figures) first(name, unit string) float64 {
	for k, v := range f {
		if strings.HasPrefix(k, name+"@") {
			return v[unit]
		}
	}
	return 0
}

func report(w io.Writer, m measured) {
	var t table
	gWhy := func(err error) string {
		if err != nil {
			return "failed"
		}
		return "not reported"
	}
	pWhy := func(err error) string {
		if err != nil {
			return "not run"
		}
		return "not reported"
	}
	// Allocation candidates: gostack's store call against Placement's
	// AllocationCandidates.get_by_requests, both on SQLite.
	sq := m.compute.first("BenchmarkAllocationCandidates/sqlite", "ns/op") / 1e6
	pg := m.compute.first("BenchmarkAllocationCandidates/postgres", "ns/op") / 1e6
	for _, mv := range []string{"1.29", "latest", "1.25"} {
		r, ok := m.placement.Results[mv]
		label := mv
		if ok && r.Version != mv {
			label = mv + " = " + r.Version
		}
		var q, whole float64
		if ok {
			q, whole = r.QueryMedianMS, r.MedianMS
		}
		t.timeRow("candidates, SQLite; Placement "+label+" query", sq, q, gWhy(m.computeErr), pWhy(m.placementErr))
		t.add("  Placement "+label+" whole GET", "—", orWhy(whole, pWhy(m.placementErr)), "—")
	}
	t.add("candidates, PostgreSQL", orWhy(pg, gWhy(m.computeErr)), "not run (SQLite only)", "—")
	schedRows(&t, m, gWhy(m.schErr), pWhy(m.novaErr))

	fmt.Fprintln(w, "\n== Results (medians; ratio = how many times longer the peer takes)")
	fmt.Fprint(w, legend)
	t.write(w)
	claims(w, m)
	placements(w, m)
	peerNotes(w, m)
	fmt.Fprintln(w, "\nReported elsewhere, for reference (not measured here):")
	fmt.Fprintf(w, "  Placement, LP bug 1828937: %s providers, %.1f s at microversion 1.25, %.1f s at 1.29 (their hardware)\n", thousands(lpBugProviders), lpBug125, lpBug129)
	fmt.Fprintf(w, "  kube-scheduler CI bar: %d pods/s at 5,000 nodes (SchedulingBasic)\n", kubeBar)
	skipped(w, m)
}

// schedRows compares one decision over n hosts: gostack every host
// weighed on one core (what Nova does, on the one core Python uses),
// and gostack's default (adaptive share) on both cores.
func schedRows(t *table, m measured, gWhy, pWhy string) {
	for _, n := range []int{1000, 10000, 50000} {
		var nova float64
		why := pWhy
		if r, ok := m.nova.Results[strconv.Itoa(n)]; ok {
			nova = r.MedianMS
		} else if m.novaErr == nil {
			why = "not asked (-nova-hosts)"
		}
		base := fmt.Sprintf("BenchmarkSchedule/hosts=%d/", n)
		all, _ := m.sched.get(base+"all@1", "ns/op")
		adaptive, _ := m.sched.get(base+"adaptive@2", "ns/op")
		t.timeRow(fmt.Sprintf("schedule, %s hosts; gostack all weighed, 1 core", thousands(n)), all/1e6, nova, gWhy, why)
		t.timeRow(fmt.Sprintf("schedule, %s hosts; gostack adaptive, 2 cores", thousands(n)), adaptive/1e6, nova, gWhy, why)
	}
}

// claims compares persisted claims/s with the goal and kube-scheduler's
// bar; no peer runs for it here.
func claims(w io.Writer, m measured) {
	fmt.Fprintln(w, "\nPersisted claims/s, 5,000 hosts, 8 schedulers one transaction each, 64 through compute.ClaimBatcher (no peer runs; goal ≥ 1,000/s, kube-scheduler bar ~700):")
	for _, eng := range []struct{ name, label string }{{"sqlite", "SQLite"}, {"postgres", "PostgreSQL"},
		{"sqlite-batched", "SQLite, batched"}, {"postgres-batched", "PostgreSQL, batched"}} {
		v := m.compute.first("BenchmarkClaim/"+eng.name, "claims/s")
		if v <= 0 {
			fmt.Fprintf(w, "  %-20s not measured\n", eng.label)
			continue
		}
		goal := "met"
		if v < claimGoal {
			goal = "not met"
		}
		fmt.Fprintf(w, "  %-20s %6.0f claims/s   goal ≥ %s/s: %s   %.2f× the kube-scheduler bar (%d pods/s)\n", eng.label, v, thousands(claimGoal), goal, v/kubeBar, kubeBar)
	}
}

// placements is whole placements/s (decision + claim over 5,000
// hosts) against kube-scheduler's bar at 5,000 nodes.
func placements(w io.Writer, m measured) {
	fmt.Fprintln(w, "\nPlacements/s (a decision over 5,000 hosts and its claim; 8 schedulers, 64 through compute.ClaimBatcher; kube-scheduler bar 680 pods/s at 5,000 nodes):")
	for _, eng := range []struct{ name, label string }{{"sqlite", "SQLite"}, {"postgres", "PostgreSQL"},
		{"sqlite-batched", "SQLite, batched"}, {"postgres-batched", "PostgreSQL, batched"}} {
		v := m.compute.first("BenchmarkPlacement/"+eng.name, "placements/s")
		if v <= 0 {
			fmt.Fprintf(w, "  %-20s not measured\n", eng.label)
			continue
		}
		fmt.Fprintf(w, "  %-20s %6.0f placements/s   %.2f× the kube-scheduler bar\n", eng.label, v, v/kubeBar)
	}
}

// peerNotes says what the peers actually answered, so that both sides
// are seen to answer the same question.
func peerNotes(w io.Writer, m measured) {
	if m.placementErr == nil {
		fmt.Fprintf(w, "\nPlacement: %s providers loaded in %.1f s; candidates returned (limit %s):", thousands(m.placement.Providers), m.placement.LoadSeconds, thousands(m.placement.Limit))
		for _, mv := range []string{"1.29", "latest", "1.25"} {
			r := m.placement.Results[mv]
			fmt.Fprintf(w, " %s %v (%d runs);", mv, r.Candidates, r.Runs)
		}
		fmt.Fprintln(w, " gostack's benchmark fails unless it returns 1,000.")
	}
	if m.novaErr == nil {
		fmt.Fprintf(w, "Nova: filters %s; weighers %s.\n", strings.Join(m.nova.Filters, ", "), strings.Join(m.nova.Weighers, ", "))
		for _, n := range []int{1000, 10000, 50000} {
			if r, ok := m.nova.Results[strconv.Itoa(n)]; ok {
				fmt.Fprintf(w, "  %s hosts: %s passed the filters; %d decisions, min %s, p99 %s\n", thousands(n), thousands(r.Passed), r.Runs, fmtMS(r.MinMS), fmtMS(r.P99MS))
			}
		}
	}
}

func skipped(w io.Writer, m measured) {
	var errs []string
	for _, e := range []error{m.computeErr, m.schErr, m.placementErr, m.novaErr} {
		if e != nil {
			errs = append(errs, e.Error())
		}
	}
	if len(errs) == 0 {
		return
	}
	fmt.Fprintln(w, "\nNot measured:")
	for _, e := range errs {
		fmt.Fprintf(w, "  - %s\n", e)
	}
}

func thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
