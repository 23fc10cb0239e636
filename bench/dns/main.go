// Command dns benchmarks gostack's authoritative server (dns/server)
// against Knot DNS and NSD in the same run: one generated zone and one
// query file, each server on one core (taskset, one worker), dnsperf on
// the other core; it prints queries/s, latency and the ratios. It also
// loads a zone of -load-records records into a fresh process and reports
// the time and peak RSS.
//
//	bench/dns/run [-records 10000] [-seconds 10] [-load-records 1000000] [-cpuprofile f]
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gostack/gostack/dns/server"
	mdns "github.com/miekg/dns"
)

const origin = "bench.example."

func main() {
	records := flag.Int("records", 10000, "records in the benchmark zone (name<i> A; every 10th name also AAAA, every 20th MX, TXT and a CNAME alias<i>)")
	seconds := flag.Int("seconds", 10, "dnsperf run length per server")
	clients := flag.Int("clients", 8, "dnsperf clients (-c)")
	outstanding := flag.Int("outstanding", 200, "dnsperf outstanding queries (-q)")
	loadRecords := flag.Int("load-records", 1_000_000, "records in the zone of the load measurement (0: skip)")
	serve := flag.String("serve", "", "internal: serve this zone file on -addr")
	addr := flag.String("addr", "", "internal: address for -serve")
	load := flag.String("load", "", "internal: load this zone file, print the seconds taken")
	profile := flag.String("cpuprofile", "", "write gostack's CPU profile under load to this file")
	flag.Parse()

	switch {
	case *serve != "":
		fatal(serveZone(*serve, *addr, *profile))
		return
	case *load != "":
		fatal(loadZone(*load, *profile))
		return
	}
	dir, err := os.MkdirTemp("", "gostack-bench-dns")
	fatal(err)
	defer os.RemoveAll(dir)

	zone, queries := filepath.Join(dir, "bench.zone"), filepath.Join(dir, "queries.txt")
	names, err := writeZone(zone, *records)
	fatal(err)
	fatal(writeQueries(queries, names, 100_000))
	fmt.Printf("zone %s: %d records, %d names; %d queries in the file (A 60%%, AAAA 10%%, MX 5%%, TXT 5%%, CNAME 5%%, wildcard 5%%, NXDOMAIN 10%%)\n",
		origin, *records, names, 100_000)

	serverCPU, clientCPU := "0", "1"
	if runtime.NumCPU() < 2 {
		serverCPU, clientCPU = "0", "0"
		fmt.Println("one CPU: servers and dnsperf share it")
	}
	fmt.Printf("servers pinned to CPU %s with one worker each; dnsperf pinned to CPU %s: -c %d -q %d -l %d\n\n",
		serverCPU, clientCPU, *clients, *outstanding, *seconds)

	self, err := os.Executable()
	fatal(err)
	type result struct {
		name      string
		qps       float64
		latencyMS float64
		lost      string
	}
	var results []result
	for _, s := range []struct {
		name  string
		start func(addr string) (*exec.Cmd, error)
	}{
		{"gostack", func(a string) (*exec.Cmd, error) {
			return run(serverCPU, filepath.Join(dir, "gostack.log"), self, "-serve", zone, "-addr", a, "-cpuprofile", *profile)
		}},
		{"knotd", func(a string) (*exec.Cmd, error) { return startKnot(dir, zone, a, serverCPU) }},
		{"nsd", func(a string) (*exec.Cmd, error) { return startNSD(dir, zone, a, serverCPU) }},
	} {
		a, err := freeAddr()
		fatal(err)
		cmd, err := s.start(a)
		if err != nil {
			fmt.Printf("%-8s not run: %v\n", s.name, err)
			continue
		}
		if err := waitSOA(a); err != nil {
			stop(cmd)
			fmt.Printf("%-8s not run: %v\n", s.name, err)
			continue
		}
		host, port, _ := net.SplitHostPort(a)
		out, err := exec.Command("taskset", "-c", clientCPU, "dnsperf", "-s", host, "-p", port, "-d", queries,
			"-l", strconv.Itoa(*seconds), "-c", strconv.Itoa(*clients), "-q", strconv.Itoa(*outstanding), "-T", "1").CombinedOutput()
		stop(cmd)
		if err != nil {
			fmt.Printf("%-8s dnsperf failed: %v\n%s\n", s.name, err, out)
			continue
		}
		r := result{name: s.name}
		r.qps, _ = strconv.ParseFloat(match(out, `Queries per second:\s+([0-9.]+)`), 64)
		lat, _ := strconv.ParseFloat(match(out, `Average Latency \(s\):\s+([0-9.]+)`), 64)
		r.latencyMS = lat * 1000
		r.lost = match(out, `Queries lost:\s+(\d+ \([0-9.]+%\))`)
		results = append(results, r)
	}
	fmt.Printf("%-8s %12s %14s %16s\n", "server", "queries/s", "avg latency", "lost")
	byName := map[string]float64{}
	for _, r := range results {
		byName[r.name] = r.qps
		fmt.Printf("%-8s %12.0f %11.3f ms %16s\n", r.name, r.qps, r.latencyMS, r.lost)
	}
	if g := byName["gostack"]; g > 0 {
		fmt.Println()
		for _, peer := range []string{"knotd", "nsd"} {
			if p := byName[peer]; p > 0 {
				fmt.Printf("gostack/%s: %.2f×\n", peer, g/p)
			}
		}
		fmt.Printf("gostack per core vs CoreDNS's published ~16k queries/s per vCPU: %.1f×\n", g/16000)
	}

	if *loadRecords > 0 {
		fmt.Println()
		big := filepath.Join(dir, "big.zone")
		_, err := writeZone(big, *loadRecords)
		fatal(err)
		cmd := exec.Command(self, "-load", big)
		cmd.Stderr = os.Stderr
		out, err := cmd.Output()
		fatal(err)
		rss := cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss // KiB on Linux
		fmt.Printf("load %d records (parse + index, one process): %s s, peak RSS %d MiB\n",
			*loadRecords, strings.TrimSpace(string(out)), rss/1024)
	}
}

// writeZone writes a zone of n records: name<i> A, every 10th name also
// AAAA, every 20th MX and TXT and an alias<i> CNAME to it, and a
// wildcard. It returns how many name<i> there are.
func writeZone(path string, n int) (int, error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	w := bufio.NewWriter(f)
	fmt.Fprintf(w, "$ORIGIN %s\n$TTL 3600\n", origin)
	fmt.Fprintf(w, "@ IN SOA ns1.%s hostmaster.%s 1 3600 600 86400 300\n", origin, origin)
	fmt.Fprintf(w, "@ IN NS ns1.%s\nns1 IN A 192.0.2.1\n*.wild IN A 192.0.2.99\n", origin)
	records, i := 4, 0
	for ; records < n; i++ {
		fmt.Fprintf(w, "name%d IN A 10.%d.%d.%d\n", i, i>>16&255, i>>8&255, i&255)
		records++
		if i%10 == 0 {
			fmt.Fprintf(w, "name%d IN AAAA 2001:db8::%x:%x\n", i, i>>16, i&0xffff)
			records++
		}
		if i%20 == 0 {
			fmt.Fprintf(w, "name%d IN MX 10 mail.name%d\nname%d IN TXT \"v=spf1 -all\"\nalias%d IN CNAME name%d\n", i, i, i, i, i)
			records += 3
		}
	}
	return i, w.Flush()
}

// writeQueries writes count queries over the zone's names name0..name<names-1>.
func writeQueries(path string, names, count int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	w := bufio.NewWriter(f)
	r := rand.New(rand.NewPCG(1, 2))
	maxName := max(names, 20)
	pick := func(step int) int { return r.IntN(maxName/step) * step }
	for range count {
		switch p := r.IntN(100); {
		case p < 60:
			fmt.Fprintf(w, "name%d.%s A\n", r.IntN(maxName), origin)
		case p < 70:
			fmt.Fprintf(w, "name%d.%s AAAA\n", pick(10), origin)
		case p < 75:
			fmt.Fprintf(w, "name%d.%s MX\n", pick(20), origin)
		case p < 80:
			fmt.Fprintf(w, "name%d.%s TXT\n", pick(20), origin)
		case p < 85:
			fmt.Fprintf(w, "alias%d.%s A\n", pick(20), origin)
		case p < 90:
			fmt.Fprintf(w, "host%d.wild.%s A\n", r.IntN(1000), origin)
		default:
			fmt.Fprintf(w, "missing%d.%s A\n", r.IntN(1_000_000), origin)
		}
	}
	return w.Flush()
}

// serveZone is the gostack side: the library as a user would embed it.
func serveZone(path, addr, profile string) error {
	stop, err := startProfile(profile)
	if err != nil {
		return err
	}
	defer stop()
	idx, err := buildIndex(path)
	if err != nil {
		return err
	}
	src := &server.Dynamic{}
	src.Set(idx)
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		return err
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer cancel()
	return server.New(src, server.Config{Logf: func(f string, a ...any) { fmt.Fprintf(os.Stderr, f+"\n", a...) }}).Serve(ctx, pc, l)
}

func loadZone(path, profile string) error {
	stop, err := startProfile(profile)
	if err != nil {
		return err
	}
	defer stop()
	start := time.Now()
	idx, err := buildIndex(path)
	if err != nil {
		return err
	}
	if _, ok := idx.Serial(origin); !ok {
		return fmt.Errorf("zone not in the index")
	}
	fmt.Printf("%.2f\n", time.Since(start).Seconds())
	return nil
}

// buildIndex parses the zone file and indexes it, as a server loads it.
func buildIndex(path string) (*server.Zones, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	z, err := server.ParseZone(f, origin)
	if err != nil {
		return nil, err
	}
	return server.Build([]server.Zone{z})
}

// startProfile starts a CPU profile to path ("": none) and returns its stop.
func startProfile(path string) (func(), error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

func startKnot(dir, zone, addr, cpu string) (*exec.Cmd, error) {
	bin, err := findSbin("knotd")
	if err != nil {
		return nil, err
	}
	kdir := filepath.Join(dir, "knot")
	if err := os.MkdirAll(kdir, 0o755); err != nil {
		return nil, err
	}
	conf := fmt.Sprintf(`server:
    rundir: %[1]s
    listen: %[2]s
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
database:
    storage: %[1]s/db
log:
  - target: stderr
    any: warning
zone:
  - domain: %[3]s
    storage: %[1]s
    file: %[4]s
    zonefile-sync: -1
    journal-content: none
`, kdir, strings.Replace(addr, ":", "@", 1), origin, zone)
	path := filepath.Join(kdir, "knot.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	return run(cpu, filepath.Join(dir, "knotd.log"), bin, "-c", path)
}

func startNSD(dir, zone, addr, cpu string) (*exec.Cmd, error) {
	bin, err := findSbin("nsd")
	if err != nil {
		return nil, err
	}
	ndir := filepath.Join(dir, "nsd")
	if err := os.MkdirAll(ndir, 0o755); err != nil {
		return nil, err
	}
	conf := fmt.Sprintf(`server:
    ip-address: %[2]s
    username: ""
    chroot: ""
    zonesdir: %[1]s
    pidfile: %[1]s/nsd.pid
    database: ""
    xfrdfile: %[1]s/xfrd.state
    zonelistfile: %[1]s/zone.list
    xfrdir: %[1]s
    server-count: 1
    rrl-ratelimit: 0
    verbosity: 0
remote-control:
    control-enable: no
zone:
    name: %[3]s
    zonefile: %[4]s
`, ndir, strings.Replace(addr, ":", "@", 1), origin, zone)
	path := filepath.Join(ndir, "nsd.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	return run(cpu, filepath.Join(dir, "nsd.log"), bin, "-d", "-c", path)
}

func findSbin(name string) (string, error) {
	for _, d := range []string{"/usr/sbin", "/usr/local/sbin"} {
		if p := filepath.Join(d, name); fileExists(p) {
			return p, nil
		}
	}
	return exec.LookPath(name)
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// run starts bin pinned to cpu, logging to logPath; it dies with us.
func run(cpu, logPath, bin string, args ...string) (*exec.Cmd, error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	cmd := exec.Command("taskset", append([]string{"-c", cpu, bin}, args...)...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	return cmd, cmd.Start()
}

func stop(cmd *exec.Cmd) {
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		<-done
	}
}

// freeAddr is a 127.0.0.1 port free for UDP and TCP a moment ago.
func freeAddr() (string, error) {
	for range 20 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return "", err
		}
		a := l.Addr().String()
		u, err := net.ListenPacket("udp", a)
		l.Close()
		if err == nil {
			u.Close()
			return a, nil
		}
	}
	return "", fmt.Errorf("no free port")
}

// waitSOA waits up to 60 s for addr to answer the zone's SOA.
func waitSOA(addr string) error {
	c := &mdns.Client{Timeout: 300 * time.Millisecond}
	m := new(mdns.Msg)
	m.SetQuestion(origin, mdns.TypeSOA)
	deadline := time.Now().Add(60 * time.Second)
	for {
		r, _, err := c.Exchange(m, addr)
		if err == nil && r.Rcode == mdns.RcodeSuccess && r.Authoritative {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no SOA answer from %s within 60s (last: %v)", addr, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func match(out []byte, re string) string {
	if m := regexp.MustCompile(re).FindSubmatch(out); m != nil {
		return string(m[1])
	}
	return "?"
}

func fatal(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench/dns:", err)
		os.Exit(1)
	}
}
