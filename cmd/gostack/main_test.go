package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gostack/gostack/cmd/gostack/allinone"
	"github.com/gostack/gostack/kit/config"
	mdns "github.com/miekg/dns"
)

var update = flag.Bool("update", false, "rewrite docs/configuration.md's reference table")

// The test binary doubles as the gostack binary when asked to.
func TestMain(m *testing.M) {
	if os.Getenv("BE_GOSTACK_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

func freePort(t *testing.T) int { return freePorts(t, 1)[0] }

// freePorts are n distinct free loopback ports: all are held open until
// the last is chosen, so the kernel cannot hand one out twice.
func freePorts(t *testing.T, n int) []int {
	var out []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		out = append(out, l.Addr().(*net.TCPAddr).Port)
	}
	return out
}

type proc struct {
	cmd  *exec.Cmd
	logs *lockedBuffer
	done chan error
}

// ended says whether the process has exited, and how, without taking
// that from done: the clean-ups that kill it and wait on done (a
// test failing because it ended) still get it.
func (p *proc) ended() (bool, error) {
	select {
	case err := <-p.done:
		p.done <- err
		return true, err
	default:
		return false, nil
	}
}

// lockedBuffer is a bytes.Buffer a process writes while the test reads.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func startGostack(t *testing.T, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	// The network agent starts Open vSwitch, which outlives the process;
	// these tests plumb no port.
	cmd.Env = append(os.Environ(), "BE_GOSTACK_MAIN=1", "GOSTACK_NETWORK_AGENT_ENABLED=false")
	return startProc(t, cmd)
}

// startProc starts cmd (the test binary as gostack) with its output
// kept, and kills it at the end of the test.
func startProc(t *testing.T, cmd *exec.Cmd) *proc {
	t.Helper()
	p := &proc{cmd: cmd, logs: &lockedBuffer{}, done: make(chan error, 1)}
	cmd.Stdout, cmd.Stderr = p.logs, p.logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- cmd.Wait() }()
	t.Cleanup(func() { cmd.Process.Kill() })
	return p
}

func waitHealthy(t *testing.T, p *proc, url string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		if ok, err := p.ended(); ok {
			t.Fatalf("gostack exited during start: %v\n%s", err, p.logs)
		}
		if time.Now().After(deadline) {
			t.Fatalf("gostack not healthy after 60s\n%s", p.logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (p *proc) term(t *testing.T) {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		if err != nil {
			t.Fatalf("gostack exited with %v after SIGTERM\n%s", err, p.logs)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("gostack still running 30s after SIGTERM\n%s", p.logs)
	}
	if !strings.Contains(p.logs.String(), "msg=stopped") {
		t.Fatalf("no clean stop in the log:\n%s", p.logs)
	}
}

// localPorts are -set flags putting every listener on a free loopback
// port, the admin port on the first of reserved (ports the test chose
// with freePorts beside these, so that none is chosen twice).
func localPorts(t *testing.T, reserved ...int) []string {
	var p []int // 4+len(reserved) distinct ports hold at least 4 others
	for _, port := range freePorts(t, 4+len(reserved)) {
		if !slices.Contains(reserved, port) {
			p = append(p, port)
		}
	}
	return []string{"-set", fmt.Sprintf("ports.admin=%d", reserved[0]), "-set", fmt.Sprintf("ports.identity=%d", p[0]),
		"-set", fmt.Sprintf("ports.image=%d", p[1]), "-set", fmt.Sprintf("ports.dns=%d", p[2]),
		"-set", fmt.Sprintf("ports.network=%d", p[3]), "-set", "dns.listen=127.0.0.1:0"}
}

// The README's promise: start on embedded defaults, answer /healthcheck,
// stop cleanly on SIGTERM, start again on the same data.
func TestStartStopRestart(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	port := freePort(t)
	args := append([]string{"-data-dir", data}, localPorts(t, port)...)
	url := fmt.Sprintf("http://127.0.0.1:%d/healthcheck", port)
	for round := 1; round <= 2; round++ {
		p := startGostack(t, args...)
		waitHealthy(t, p, url)
		p.term(t)
	}
	for _, f := range []string{"gostack.db", "openrc", "admin-password", "LOCK", "fernet-keys/0", "fernet-keys/1"} {
		if _, err := os.Stat(filepath.Join(data, f)); err != nil {
			t.Errorf("data dir lacks %s: %v", f, err)
		}
	}
}

// A bad config is one line naming the key, exit code 2, and the daemon
// does not start half-way: not even the data directory is created.
func TestBadConfig(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	tests := []struct {
		name, yaml, want string
	}{
		{"unknown key", "log:\n  formatt: json\n", `line 2: unknown key "log.formatt"`},
		{"wrong type", "watch:\n  max_changes: lots\n", `watch.max_changes: cannot use "lots" as an integer`},
		{"invalid value", "log:\n  level: loud\n", `log.level: "loud": want debug, info, warn or error`},
		{"duplicate port", "ports:\n  dns: 5000\n", `ports.dns: port 5000 is also ports.identity`},
		{"metadata url", "network:\n  agent:\n    metadata_url: 169.254.169.254\n", `network.agent.metadata_url: must be empty, none, or an http or https URL`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, "gostack.yaml")
			if err := os.WriteFile(path, []byte(tt.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), []string{"-config", path, "-data-dir", data}, &stdout, &stderr)
			msg := stderr.String()
			if code != 2 || !strings.Contains(msg, tt.want) || strings.Count(msg, "\n") != 1 {
				t.Fatalf("exit %d, stderr %q; want exit 2 and one line containing %q", code, msg, tt.want)
			}
			if _, err := os.Stat(data); !os.IsNotExist(err) {
				t.Fatalf("data dir created by a daemon with a bad config: %v", err)
			}
		})
	}
}

// docs/configuration.md carries the generated reference table.
func TestConfigReference(t *testing.T) {
	const begin, end = "<!-- BEGIN REFERENCE -->\n", "<!-- END REFERENCE -->\n"
	path := filepath.Join("..", "..", "docs", "configuration.md")
	doc, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var table bytes.Buffer
	if err := config.WriteReference(&table, allinone.New().ConfigRoot(), "GOSTACK"); err != nil {
		t.Fatal(err)
	}
	s := string(doc)
	i, j := strings.Index(s, begin), strings.Index(s, end)
	if i < 0 || j < i {
		t.Fatalf("%s lacks the reference markers", path)
	}
	want := s[:i+len(begin)] + table.String() + s[j:]
	if *update {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if want != s {
		t.Fatalf("%s is out of date: run go test ./cmd/gostack -run TestConfigReference -update", path)
	}
}

// gostack fernet setup/rotate and identity bootstrap, as keystone-manage's.
func TestAdminCommands(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	runOK := func(args ...string) string {
		t.Helper()
		var out, errb bytes.Buffer
		if code := run(context.Background(), append(args, "-data-dir", data), &out, &errb); code != 0 {
			t.Fatalf("gostack %v: exit %d: %s", args, code, errb.String())
		}
		return out.String()
	}
	if out := runOK("fernet", "setup"); !strings.Contains(out, "2 keys") {
		t.Fatalf("fernet setup: %q", out)
	}
	runOK("fernet", "rotate")
	if out := runOK("fernet", "rotate"); !strings.Contains(out, "3 keys") {
		t.Fatalf("fernet rotate: %q", out)
	}
	names, _ := os.ReadDir(filepath.Join(data, "fernet-keys"))
	var keys []string
	for _, n := range names {
		if !strings.HasPrefix(n.Name(), ".") {
			keys = append(keys, n.Name())
		}
	}
	if strings.Join(keys, " ") != "0 2 3" {
		t.Fatalf("keys after setup and two rotations: %v", keys)
	}
	for range 2 { // idempotent
		if out := runOK("identity", "bootstrap", "-password", "s3cret", "-set", "identity.password_hash_rounds=4"); !strings.Contains(out, "user admin") {
			t.Fatalf("identity bootstrap: %q", out)
		}
	}
	// Credential keys (keystone-manage credential_rotate and
	// credential_migrate): rotated, migrated (nothing to migrate here),
	// rotated again.
	if out := runOK("credential", "rotate", "-set", "identity.password_hash_rounds=4"); !strings.Contains(out, "credential key repository") || !strings.Contains(out, "rotated: 3 keys") {
		t.Fatalf("credential rotate: %q", out)
	}
	if out := runOK("credential", "migrate", "-set", "identity.password_hash_rounds=4"); !strings.Contains(out, "credentials migrated") {
		t.Fatalf("credential migrate: %q", out)
	}
	runOK("credential", "rotate", "-set", "identity.password_hash_rounds=4")
	var errb bytes.Buffer
	if code := run(context.Background(), []string{"fernet", "explode"}, io.Discard, &errb); code != 2 || !strings.Contains(errb.String(), "unknown command") {
		t.Fatalf("unknown subcommand: %d %q", code, errb.String())
	}
}

// With shared keys, rotations go through the store and its protocol: the
// second rotation right after the first would purge a key whose tokens
// are still valid, and is refused with the reason.
func TestSharedKeyRotation(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	args := []string{"fernet", "rotate", "-data-dir", data, "-set", "identity.shared_keys=true"}
	var out, errb bytes.Buffer
	if code := run(context.Background(), args, &out, &errb); code != 0 || !strings.Contains(out.String(), "3 keys") {
		t.Fatalf("first rotation: exit %d %q %q", code, out.String(), errb.String())
	}
	errb.Reset()
	if code := run(context.Background(), args, io.Discard, &errb); code != 1 || !strings.Contains(errb.String(), "tokens still valid") {
		t.Fatalf("second rotation: exit %d %q", code, errb.String())
	}
}

// The DNS server as a daemon of its own: the controller runs with
// dns.server=false, `gostack dns-server` (another process) opens the same
// store, follows its feed and publishes what the API writes.
func TestDNSServerDaemon(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	p := freePorts(t, 3)
	admin, dnsPort, api := p[0], p[1], p[2]
	ctl := startGostack(t, append(append([]string{"-data-dir", data}, localPorts(t, admin, dnsPort, api)...),
		"-set", fmt.Sprintf("ports.dns=%d", api), "-set", "dns.server=false", "-set", "identity.password_hash_rounds=4")...)
	waitHealthy(t, ctl, fmt.Sprintf("http://127.0.0.1:%d/healthcheck", admin))
	listen := fmt.Sprintf("127.0.0.1:%d", dnsPort)
	srv := startGostack(t, "dns-server", "-data-dir", data, "-set", "dns.listen="+listen)
	waitLog(t, srv, "dns server listening")

	// Create a zone through the controller's API with an admin token.
	env := map[string]string{}
	rc, _ := os.ReadFile(filepath.Join(data, "openrc"))
	for _, line := range strings.Split(string(rc), "\n") {
		if kv, ok := strings.CutPrefix(line, "export "); ok {
			k, v, _ := strings.Cut(kv, "=")
			env[k] = strings.Trim(v, "'")
		}
	}
	body := fmt.Sprintf(`{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"admin","domain":{"id":"default"},"password":%q}}},"scope":{"project":{"name":"admin","domain":{"id":"default"}}}}}`, env["OS_PASSWORD"])
	resp, err := http.Post(env["OS_AUTH_URL"]+"/auth/tokens", "application/json", strings.NewReader(body))
	if err != nil || resp.StatusCode != 201 {
		t.Fatalf("token: %v %v", resp, err)
	}
	resp.Body.Close()
	req, _ := http.NewRequest("POST", fmt.Sprintf("http://127.0.0.1:%d/v2/zones", api), strings.NewReader(`{"name":"split.example.","email":"a@split.example"}`))
	req.Header.Set("X-Auth-Token", resp.Header.Get("X-Subject-Token"))
	req.Header.Set("Content-Type", "application/json")
	zr, err := http.DefaultClient.Do(req)
	if err != nil || zr.StatusCode != 202 {
		t.Fatalf("zone create: %v %v", zr, err)
	}
	zr.Body.Close()

	// The other process serves it.
	c := &mdns.Client{Timeout: time.Second}
	m := new(mdns.Msg)
	m.SetQuestion("split.example.", mdns.TypeSOA)
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		r, _, err := c.Exchange(m, listen)
		if err == nil && r.Rcode == mdns.RcodeSuccess && r.Authoritative && len(r.Answer) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("dns-server never answered for the zone: %v %v\n%s", r, err, srv.logs)
		}
	}
	srv.term(t)
	ctl.term(t)
}

// waitLog waits for a line in a process's log.
func waitLog(t *testing.T, p *proc, want string) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(p.logs.String(), want); time.Sleep(50 * time.Millisecond) {
		if ok, err := p.ended(); ok {
			t.Fatalf("process exited: %v\n%s", err, p.logs)
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %q in the log after 30s:\n%s", want, p.logs)
		}
	}
}
