package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

// tokenOptions bound the token comparison.
type tokenOptions struct {
	clients   []int         // client counts, each measured on both servers
	rounds    int           // rounds; each measures every client count on both servers, in alternating order
	per       time.Duration // length of one measurement
	maxPerRun int           // most rescope+validate pairs of one measurement
	serverPin []string      // taskset's arguments for the servers, or none
	ksThreads int           // uwsgi threads per Keystone process
}

// target is one server under test.
type target struct {
	name     string
	url      string
	password string // the admin user's, domain "default"
	client   *http.Client
	rescope  []byte // the body of the token-method rescope
}

// latencies holds one server's latencies at one client count, over every
// round, and the time its measurements took.
type latencies struct {
	rescope, validate []time.Duration
	elapsed           time.Duration
	refused           int    // requests answered with an unexpected status or body
	firstRefusal      string // the first of them
}

// add appends l's figures to r's.
func (r *latencies) add(l latencies) {
	r.rescope = append(r.rescope, l.rescope...)
	r.validate = append(r.validate, l.validate...)
	r.elapsed += l.elapsed
	r.refused += l.refused
	if r.firstRefusal == "" {
		r.firstRefusal = l.firstRefusal
	}
}

// refusal is a request the server answered, but not with success.
type refusal struct{ msg string }

func (r *refusal) Error() string { return r.msg }

// compareTokens runs gostack's identity area and Keystone 22 under uwsgi,
// each pinned to the servers' CPU, and drives both from this process with
// the same requests: per client, in a loop, a rescope (POST
// /v3/auth/tokens, token method, an unscoped token to a project) then a
// validation of the new token (GET /v3/auth/tokens). Rounds alternate the
// order of the two servers.
func compareTokens(dir string, o tokenOptions) error {
	start := time.Now()
	load0 := loadAverage()
	gs, gomaxprocs, err := startGostack(filepath.Join(dir, "gostack"), o.serverPin)
	if err != nil {
		return fmt.Errorf("gostack: %w", err)
	}
	defer gs.stop()
	targets := []*target{gs.target}
	if missing := keystoneMissing(); missing != "" {
		fmt.Printf("Keystone under uwsgi: skipped, missing Debian packages: %s (make setup installs them)\n\n", missing)
	} else {
		kdir := filepath.Join(dir, "keystone")
		if err := os.MkdirAll(kdir, 0o700); err != nil {
			return err
		}
		ks, err := startKeystone(kdir, o.serverPin, o.ksThreads)
		if err != nil {
			return fmt.Errorf("keystone: %w", err)
		}
		defer ks.stop()
		targets = append(targets, newTarget("keystone", ks.url, ks.password))
	}
	for _, t := range targets {
		if err := t.login(); err != nil {
			return err
		}
		// Warm-up: every connection and worker has served before the
		// figures start.
		if _, err := t.drive(max(slices.Max(o.clients), 4), time.Second, o.maxPerRun); err != nil {
			return err
		}
	}
	results := map[string]map[int]*latencies{}
	for _, t := range targets {
		results[t.name] = map[int]*latencies{}
		for _, c := range o.clients {
			results[t.name][c] = &latencies{}
		}
	}
	for round := range o.rounds {
		for _, c := range o.clients {
			order := slices.Clone(targets)
			if round%2 == 1 {
				slices.Reverse(order)
			}
			for _, t := range order {
				l, err := t.drive(c, o.per, o.maxPerRun)
				if err != nil {
					return err
				}
				results[t.name][c].add(l)
			}
		}
	}
	report(targets, results, o, gomaxprocs, load0, time.Since(start))
	return nil
}

// report prints the figures of every target at each client count, and
// the ratios when Keystone ran.
func report(targets []*target, results map[string]map[int]*latencies, o tokenOptions, gomaxprocs int, load0 string, took time.Duration) {
	pin := "not pinned (no taskset)"
	if len(o.serverPin) > 0 {
		pin = "pinned to CPU " + o.serverPin[len(o.serverPin)-1]
	}
	fmt.Printf("Token requests over loopback HTTP: per client, a rescope (POST /v3/auth/tokens, token method, unscoped to a project)\n")
	fmt.Printf("then a validation of the new token (GET /v3/auth/tokens), in a loop. Servers %s:\n", pin)
	fmt.Printf("  gostack: the identity area alone (compose.Daemon, SQLite, access log on), GOMAXPROCS=%d\n", gomaxprocs)
	if len(targets) > 1 {
		fmt.Printf("  keystone: Keystone 22 under uwsgi as Debian's keystone-uwsgi.ini but for its threads (%d processes, %d thread(s) each: Debian's 32 break on SQLite), SQLite, default config\n",
			keystoneProcesses, o.ksThreads)
	}
	fmt.Printf("%d rounds x %v per server and client count, servers alternated; load average %s at the start, %s at the end; %.0f s in all\n\n",
		o.rounds, o.per, load0, loadAverage(), took.Seconds())
	fmt.Printf("%-8s %-9s %9s | %-8s %8s %8s %8s %7s | %-8s %8s %8s %8s %7s | %s\n", "clients", "server", "pairs/s",
		"rescope", "p50 ms", "p99 ms", "max ms", "p99/p50", "validate", "p50 ms", "p99 ms", "max ms", "p99/p50", "refused")
	refusals := map[string]string{}
	for _, c := range o.clients {
		var rates []float64
		var p50s [][2]time.Duration
		for _, t := range targets {
			r := results[t.name][c]
			rate := float64(len(r.rescope)) / r.elapsed.Seconds()
			fmt.Printf("%-8d %-9s %9.1f", c, t.name, rate)
			var p [2]time.Duration
			for i, lat := range [][]time.Duration{r.rescope, r.validate} {
				if len(lat) == 0 {
					fmt.Printf(" | %-8s %8s %8s %8s %7s", "", "-", "-", "-", "-")
					continue
				}
				slices.Sort(lat)
				p50, p99 := percentile(lat, 0.50), percentile(lat, 0.99)
				fmt.Printf(" | %-8s %8.2f %8.2f %8.2f %7.1f", "", ms(p50), ms(p99), ms(lat[len(lat)-1]), float64(p99)/float64(p50))
				p[i] = p50
			}
			fmt.Printf(" | %d\n", r.refused)
			if r.firstRefusal != "" && refusals[t.name] == "" {
				refusals[t.name] = r.firstRefusal
			}
			rates = append(rates, rate)
			p50s = append(p50s, p)
		}
		if len(targets) > 1 {
			fmt.Printf("%-8d %-9s %8.1fx | %-8s %7.1fx %26s | %-8s %7.1fx\n", c, "ratio", rates[0]/rates[1],
				"", float64(p50s[1][0])/float64(p50s[0][0]), "", "", float64(p50s[1][1])/float64(p50s[0][1]))
		}
	}
	note := "a pair: one rescope, then one validation"
	if len(targets) > 1 {
		note += "; ratio: gostack's pairs/s over Keystone's, and Keystone's p50 over gostack's"
	}
	fmt.Printf("(%s; a refused request is left out with its pair)\n", note)
	for _, t := range targets {
		if m := refusals[t.name]; m != "" {
			fmt.Printf("first refusal of %s: %s\n", t.name, m)
		}
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// percentile returns the p-quantile of sorted durations (nearest rank).
func percentile(sorted []time.Duration, p float64) time.Duration {
	i := int(p*float64(len(sorted))+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// loadAverage is the first three fields of /proc/loadavg.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

func newTarget(name, url, password string) *target {
	// One keep-alive connection per client (net/http keeps only two idle
	// ones per host by default; the others would be closed and opened
	// again for every request).
	tr := &http.Transport{MaxIdleConnsPerHost: 256, IdleConnTimeout: time.Minute}
	return &target{name: name, url: url, password: password, client: &http.Client{Transport: tr, Timeout: time.Minute}}
}

// login gets an unscoped token with the admin password (one bcrypt on
// each server) and builds the rescope body from it.
func (t *target) login() error {
	body := fmt.Sprintf(`{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"admin","domain":{"id":"default"},"password":%q}}}}}`, t.password)
	tok, err := t.issue([]byte(body))
	if err != nil {
		return err
	}
	t.rescope = fmt.Appendf(nil, `{"auth":{"identity":{"methods":["token"],"token":{"id":%q}},"scope":{"project":{"name":"admin","domain":{"id":"default"}}}}}`, tok)
	return nil
}

// drive runs clients loops of rescope then validate for about d (each
// loop stops at d or after maxPairs/clients pairs) and returns the
// latencies of the pairs that succeeded. A refused request is counted
// and its pair left out; an error of the connection, or refusals of
// more than a tenth of the requests, stop it.
func (t *target) drive(clients int, d time.Duration, maxPairs int) (latencies, error) {
	var (
		mu    sync.Mutex
		out   latencies
		first error
		wg    sync.WaitGroup
	)
	perClient := max(maxPairs/clients, 1)
	start := time.Now()
	deadline := start.Add(d)
	for range clients {
		wg.Go(func() {
			var l latencies
			var err error
			for i := 0; i < perClient && time.Now().Before(deadline); i++ {
				t0 := time.Now()
				var tok string
				if tok, err = t.issue(t.rescope); err == nil {
					t1 := time.Now()
					if err = t.validate(tok); err == nil {
						l.rescope, l.validate = append(l.rescope, t1.Sub(t0)), append(l.validate, time.Since(t1))
						continue
					}
				}
				var r *refusal
				if !errors.As(err, &r) {
					break
				}
				if l.refused++; l.firstRefusal == "" {
					l.firstRefusal = r.msg
				}
				err = nil
			}
			mu.Lock()
			defer mu.Unlock()
			out.add(l)
			if err != nil && first == nil {
				first = err
			}
		})
	}
	wg.Wait()
	out.elapsed = time.Since(start)
	if n := 2*len(out.rescope) + out.refused; first == nil && out.refused > max(n/10, 10) {
		first = fmt.Errorf("%s refused %d of %d requests, the first: %s", t.name, out.refused, n, out.firstRefusal)
	}
	return out, first
}

// issue posts body to /v3/auth/tokens and returns the new token.
func (t *target) issue(body []byte) (string, error) {
	resp, err := t.client.Post(t.url+"/v3/auth/tokens?nocatalog", "application/json", bytes.NewReader(body))
	if err != nil {
		return "", fmt.Errorf("%s: POST /v3/auth/tokens: %w", t.name, err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		return "", &refusal{fmt.Sprintf("%s: POST /v3/auth/tokens: %s: %s", t.name, resp.Status, tail(b, 300))}
	}
	return resp.Header.Get("X-Subject-Token"), nil
}

// validate checks tok with itself (Keystone's token_subject rule).
func (t *target) validate(tok string) error {
	req, err := http.NewRequest(http.MethodGet, t.url+"/v3/auth/tokens?nocatalog", nil)
	if err != nil {
		return err
	}
	req.Header.Set("X-Auth-Token", tok)
	req.Header.Set("X-Subject-Token", tok)
	resp, err := t.client.Do(req)
	if err != nil {
		return fmt.Errorf("%s: GET /v3/auth/tokens: %w", t.name, err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return &refusal{fmt.Sprintf("%s: GET /v3/auth/tokens: %s: %s", t.name, resp.Status, tail(b, 300))}
	}
	var v struct {
		Token struct {
			Project struct{ Name string } `json:"project"`
		} `json:"token"`
	}
	if err := json.Unmarshal(b, &v); err != nil || v.Token.Project.Name != "admin" {
		return &refusal{fmt.Sprintf("%s: GET /v3/auth/tokens: not the admin project's token: %s", t.name, tail(b, 300))}
	}
	return nil
}

// gostackServer is this binary's serve mode running as a child process.
type gostackServer struct {
	*target
	cmd *exec.Cmd
}

// startGostack starts "serve" in a child process under pin and returns
// once it serves, with its GOMAXPROCS.
func startGostack(dir string, pin []string) (*gostackServer, int, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, 0, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, 0, err
	}
	logf, err := os.Create(filepath.Join(dir, "gostack.log"))
	if err != nil {
		return nil, 0, err
	}
	defer logf.Close()
	argv := append(append([]string{}, pin...), self, "serve", filepath.Join(dir, "data"))
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stderr = logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, 0, err
	}
	if err := cmd.Start(); err != nil {
		return nil, 0, err
	}
	s := &gostackServer{cmd: cmd}
	var url string
	var procs int
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if _, serr := fmt.Sscanf(line, "ready %s %d", &url, &procs); err != nil || serr != nil {
		s.stop()
		log, _ := os.ReadFile(logf.Name())
		return nil, 0, errors.Join(fmt.Errorf("not ready (%q); its log ends:\n%s", line, tail(log, 2000)), err)
	}
	pw, err := os.ReadFile(filepath.Join(dir, "data", "admin-password"))
	if err != nil {
		s.stop()
		return nil, 0, err
	}
	s.target = newTarget("gostack", url, strings.TrimSpace(string(pw)))
	return s, procs, nil
}

// stop ends the server (SIGTERM: a graceful shutdown) and waits for it.
func (s *gostackServer) stop() {
	s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		s.cmd.Process.Kill()
		<-done
	}
}
