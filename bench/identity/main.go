// Command identity benchmarks gostack's Fernet tokens against Keystone's
// own TokenFormatter on the same key repository, in the same run, and
// prints the ratios; then POST /v3/auth/tokens throughput of gostack's
// API in process. The middleware's per-request cost is a Go benchmark:
// go test -bench . ./identity/middleware. Run it with bench/identity/run
// (Keystone's side needs python3-keystone, and is skipped without it).
//
//	identity tokens [-clients 1,4,16] [-rounds 3] [-seconds 4] [-server-cpu 0]
//
// compares token requests over HTTP with Keystone 22 under uwsgi (needs
// uwsgi-core and uwsgi-plugin-python3 too, and is skipped without them):
// rescope and validate latency and throughput at each client count, both
// servers pinned to one CPU, in the same run, alternated; "identity
// serve DIR" is the gostack server it starts.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/gostack/gostack/identity/fernet"
)

func main() {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "serve":
			if len(os.Args) != 3 {
				log.Fatal("usage: identity serve DIR")
			}
			if err := serve(os.Args[2], os.Stderr); err != nil {
				log.Fatal(err)
			}
			return
		case "tokens":
			tokensMain(os.Args[2:])
			return
		}
	}
	secs := flag.Float64("seconds", 3, "seconds per measurement")
	script := flag.String("script", "bench/identity/keystone_bench.py", "Keystone timing script")
	flag.Parse()
	dir, err := os.MkdirTemp("", "bench-fernet-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	repo, err := fernet.Setup(filepath.Join(dir, "keys"), 3)
	if err != nil {
		log.Fatal(err)
	}
	p := fernet.Payload{
		UserID: "6a0e1f4a1b2c4d5e8f90123456789abc", ProjectID: "0123456789abcdef0123456789abcdef",
		Methods: []string{"password"}, ExpiresAt: time.Now().Add(24 * time.Hour).Truncate(time.Second),
		AuditIDs: []string{"x0tQl5zuRb-7fX-RAJ2Qnw"},
	}
	f := &fernet.Formatter{Keys: repo}
	tok, err := f.Issue(p)
	if err != nil {
		log.Fatal(err)
	}
	d := time.Duration(*secs * float64(time.Second))
	goIssue := rate(d, func() { must(f.Issue(p)) })
	goValidate := rate(d, func() { must(f.Validate(tok)) })

	fmt.Printf("Fernet tokens, project-scoped, one core each (GOMAXPROCS=%d), %.0fs per figure\n\n", runtime.GOMAXPROCS(0), *secs)
	fmt.Printf("%-38s %14s %14s\n", "", "issue/s", "validate/s")
	fmt.Printf("%-38s %14.0f %14.0f\n", "gostack identity/fernet", goIssue, goValidate)
	if _, err := os.Stat("/usr/bin/keystone-manage"); err != nil {
		fmt.Println("keystone TokenFormatter: skipped, python3-keystone is not installed (make setup installs it)")
	} else {
		ks := keystone(*script, repo.Dir(), tok, p, *secs)
		for _, name := range []string{"shipped", "cached_keys"} {
			k := ks[name]
			fmt.Printf("%-38s %14.0f %14.0f\n", "keystone TokenFormatter ("+name+")", k["issue"], k["validate"])
		}
		fmt.Println()
		for _, name := range []string{"shipped", "cached_keys"} {
			k := ks[name]
			fmt.Printf("ratio vs keystone %-12s issue %6.1fx   validate %6.1fx\n", name+":", goIssue/k["issue"], goValidate/k["validate"])
		}
	}
	pw, tk := apiRates(dir, d)
	fmt.Printf("\nPOST /v3/auth/tokens over loopback HTTP, SQLite store, one core (gostack only; no Keystone server here):\n")
	fmt.Printf("  password method (bcrypt cost 12)   %8.1f tokens/s\n", pw)
	fmt.Printf("  token method (rescope, no bcrypt)  %8.1f tokens/s\n", tk)
}

// tokensMain is the "tokens" command: the HTTP comparison with Keystone.
func tokensMain(args []string) {
	fs := flag.NewFlagSet("tokens", flag.ExitOnError)
	clients := fs.String("clients", "1,4,16", "client counts, comma-separated")
	rounds := fs.Int("rounds", 3, "rounds (each measures every client count on both servers)")
	secs := fs.Float64("seconds", 4, "seconds per measurement")
	maxPairs := fs.Int("max-pairs", 20000, "most rescope+validate pairs per measurement")
	cpu := fs.String("server-cpu", "0", "CPU the servers are pinned to with taskset (empty: not pinned)")
	threads := fs.Int("keystone-threads", keystoneThreads, "uwsgi threads per Keystone process (Debian's keystone-uwsgi.ini has 32, which break on SQLite)")
	fs.Parse(args)
	o := tokenOptions{rounds: *rounds, per: time.Duration(*secs * float64(time.Second)), maxPerRun: *maxPairs, ksThreads: *threads}
	for _, f := range strings.Split(*clients, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > 256 {
			log.Fatalf("-clients: %q is not a client count from 1 to 256", f)
		}
		o.clients = append(o.clients, n)
	}
	if o.rounds < 1 || o.rounds > 20 || o.per <= 0 || o.per > time.Minute || o.maxPerRun < 1 || o.ksThreads < 1 || o.ksThreads > 64 {
		log.Fatal("-rounds must be 1 to 20, -seconds above 0 and at most 60, -max-pairs at least 1, -keystone-threads 1 to 64")
	}
	if *cpu != "" {
		if _, err := exec.LookPath("taskset"); err != nil {
			fmt.Println("taskset not found: the servers are not pinned")
		} else {
			o.serverPin = []string{"taskset", "-c", *cpu}
		}
	}
	dir, err := os.MkdirTemp("", "bench-tokens-")
	if err != nil {
		log.Fatal(err)
	}
	err = compareTokens(dir, o)
	os.RemoveAll(dir)
	if err != nil {
		log.Fatal(err)
	}
}

func must[T any](_ T, err error) {
	if err != nil {
		log.Fatal(err)
	}
}

// rate runs fn for about d and returns calls per second. It calls fn in
// batches that double while a batch takes under a millisecond, so a slow
// fn (a bcrypt login, 0.4 s on one core) stops after about d too.
func rate(d time.Duration, fn func()) float64 {
	n, batch := 0, 1
	start := time.Now()
	for time.Since(start) < d {
		t := time.Now()
		for range batch {
			fn()
		}
		n += batch
		if time.Since(t) < time.Millisecond && batch < 1<<16 {
			batch *= 2
		}
	}
	return float64(n) / time.Since(start).Seconds()
}

func keystone(script, repo, tok string, p fernet.Payload, secs float64) map[string]map[string]float64 {
	req, _ := json.Marshal(map[string]any{
		"repo": repo, "token": tok, "seconds": secs,
		"payload": map[string]any{
			"user_id": p.UserID, "project_id": p.ProjectID, "methods": p.Methods, "audit_ids": p.AuditIDs,
			"expires_at": p.ExpiresAt.UTC().Format("2006-01-02T15:04:05.000000Z"),
		},
	})
	cmd := exec.Command("/usr/bin/python3", script)
	cmd.Stdin = bytes.NewReader(req)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		log.Fatalf("keystone benchmark: %v (is python3-keystone installed? make setup installs it)", err)
	}
	var res map[string]map[string]float64
	if err := json.Unmarshal(out, &res); err != nil {
		log.Fatalf("keystone benchmark output: %v", err)
	}
	return res
}
