// Command identity benchmarks gostack's Fernet tokens against Keystone's
// own TokenFormatter on the same key repository, in the same run, and
// prints the ratios; then POST /v3/auth/tokens throughput of gostack's
// API. The middleware's per-request cost is a Go benchmark:
// go test -bench . ./identity/middleware. Run it with bench/identity/run
// (it needs python3-keystone).
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
	"time"

	"github.com/gostack/gostack/identity/fernet"
)

func main() {
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

	ks := keystone(*script, repo.Dir(), tok, p, *secs)
	fmt.Printf("Fernet tokens, project-scoped, one core each (GOMAXPROCS=%d), %.0fs per figure\n\n", runtime.GOMAXPROCS(0), *secs)
	fmt.Printf("%-38s %14s %14s\n", "", "issue/s", "validate/s")
	fmt.Printf("%-38s %14.0f %14.0f\n", "gostack identity/fernet", goIssue, goValidate)
	for _, name := range []string{"shipped", "cached_keys"} {
		k := ks[name]
		fmt.Printf("%-38s %14.0f %14.0f\n", "keystone TokenFormatter ("+name+")", k["issue"], k["validate"])
	}
	fmt.Println()
	for _, name := range []string{"shipped", "cached_keys"} {
		k := ks[name]
		fmt.Printf("ratio vs keystone %-12s issue %6.1fx   validate %6.1fx\n", name+":", goIssue/k["issue"], goValidate/k["validate"])
	}
	pw, tk := apiRates(dir, d)
	fmt.Printf("\nPOST /v3/auth/tokens over loopback HTTP, SQLite store, one core (gostack only; no Keystone server here):\n")
	fmt.Printf("  password method (bcrypt cost 12)   %8.1f tokens/s\n", pw)
	fmt.Printf("  token method (rescope, no bcrypt)  %8.1f tokens/s\n", tk)
}

func must[T any](_ T, err error) {
	if err != nil {
		log.Fatal(err)
	}
}

// rate runs fn for about d and returns calls per second.
func rate(d time.Duration, fn func()) float64 {
	n := 0
	start := time.Now()
	for time.Since(start) < d {
		for range 1000 {
			fn()
		}
		n += 1000
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
