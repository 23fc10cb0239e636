package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"time"
)

// python is the interpreter Debian's OpenStack packages are installed
// for; the python3 first on PATH may be another one.
const python = "/usr/bin/python3"

// importable reports why python cannot import module, naming the Debian
// package that provides it, or nil.
func importable(module, pkg string) error {
	out, err := exec.Command(python, "-c", "import "+module).CombinedOutput()
	if err == nil {
		return nil
	}
	msg := strings.TrimSpace(string(out))
	if i := strings.LastIndexByte(msg, '\n'); i >= 0 {
		msg = msg[i+1:]
	}
	if msg == "" {
		msg = err.Error()
	}
	return fmt.Errorf("%s cannot import %s (%s): apt-get install -y %s (scripts/setup installs it)", python, module, msg, pkg)
}

// runPeer runs a timing script under python with req as JSON on stdin
// and decodes its JSON answer into out.
func runPeer(ctx context.Context, timeout time.Duration, script string, req, out any) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	in, err := json.Marshal(req)
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, python, script)
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.WaitDelay = 5 * time.Second
	b, err := cmd.Output()
	if ctx.Err() == context.DeadlineExceeded {
		return fmt.Errorf("%s: no answer within %v", script, timeout)
	}
	if err != nil {
		return fmt.Errorf("%s: %w: %s", script, err, lastLines(stderr.String(), 5))
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("%s: its output: %w", script, err)
	}
	return nil
}

func lastLines(s string, n int) string {
	l := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(l[max(0, len(l)-n):], " | ")
}

// placementResult is placement_bench.py's answer.
type placementResult struct {
	Providers   int     `json:"providers"`
	Limit       int     `json:"limit"`
	LoadSeconds float64 `json:"load_seconds"`
	Results     map[string]struct {
		MedianMS      float64 `json:"median_ms"`
		MinMS         float64 `json:"min_ms"`
		MaxMS         float64 `json:"max_ms"`
		QueryMedianMS float64 `json:"query_median_ms"`
		Runs          int     `json:"runs"`
		Candidates    []int   `json:"candidates"`
		Version       string  `json:"version"`
	} `json:"results"`
}

// novaResult is nova_bench.py's answer.
type novaResult struct {
	Filters  []string `json:"filters"`
	Weighers []string `json:"weighers"`
	Results  map[string]struct {
		MedianMS float64 `json:"median_ms"`
		MinMS    float64 `json:"min_ms"`
		P99MS    float64 `json:"p99_ms"`
		Runs     int     `json:"runs"`
		Passed   int     `json:"passed"`
	} `json:"results"`
}
