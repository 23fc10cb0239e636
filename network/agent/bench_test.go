package agent_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	kitagent "github.com/gostack/gostack/kit/agent"
)

// benchPorts is how many ports BenchmarkAgent plumbs; GOSTACK_BENCH_PORTS
// overrides it.
func benchPorts() int {
	if n, err := strconv.Atoi(os.Getenv("GOSTACK_BENCH_PORTS")); err == nil && n > 0 {
		return n
	}
	return 1000
}

// BenchmarkAgent measures one agent on one host (its own Open vSwitch,
// userspace datapath) with N ports bound to it and plugged, and N ports
// of another host on the same network (forwarding entries and ARP
// answers on br-tun):
//
//   - plumb_s: from the agent's start to every local port ACTIVE;
//   - bundle_s: the physical limit, the same flows loaded into an empty
//     bridge by one `ovs-ofctl --bundle add-flows`, and ratio = plumb/bundle;
//   - restart_s: a killed agent started again, to its first sync done, and
//     the flows that sync added or deleted (0 and 0 is the goal);
//   - creates/s: the port creates (IPAM, binding) through the API, 8 clients.
//
// It does its work once, whatever b.N: run it with -benchtime 1x.
func BenchmarkAgent(b *testing.B) {
	n := benchPorts()
	l := newLab(b)
	a := l.addHost("a", "192.168.77.1/24", false, false)
	svc := kitagent.NewSession(l.svc)
	ctx := context.Background()
	if err := svc.Do(ctx, "PUT", l.urls["network"]+"/internal/hosts/b/agent", map[string]any{"agent": map[string]any{
		"agent_type": "Open vSwitch agent", "binary": "bench", "tunnel_ip": "192.168.77.2"}}, nil); err != nil {
		b.Fatal(err)
	}
	netID := l.tenantNet("p1", "10.1.0.0/20")
	l.stopAgent(a)

	start := time.Now()
	local := l.ports(netID, "a", n)
	creates := float64(n) / time.Since(start).Seconds()
	l.ports(netID, "b", n)

	// Nova's part, not timed: the VIFs, in one OVSDB transaction.
	args := []string{"--timeout=120"}
	for i, p := range local {
		name := fmt.Sprintf("vif%d", i)
		args = append(args, "--", "add-port", "br-int", name, "--", "set", "Interface", name, "type=internal",
			"external_ids:iface-id="+p.id, "external_ids:attached-mac="+p.mac)
	}
	l.ovs(a, "ovs-vsctl", args...)
	// ovs-vswitchd is busy with the new devices for a moment, and the
	// agent reaches the controller through it (br-phy): let it settle, so
	// that the time measured is the agent's.
	time.Sleep(3 * time.Second)

	b.ResetTimer()
	start = time.Now()
	l.startAgent(a)
	l.waitCount(netID, n)
	plumb := time.Since(start)
	b.StopTimer()
	for _, line := range strings.Split(a.logs.String(), "\n") {
		if strings.Contains(line, "synced") {
			b.Log(line)
		}
	}

	flows := append(l.flows(a, "br-tun"), l.flows(a, "br-int")...)
	bundle := l.bundleLoad(a, flows)

	l.stopAgent(a)
	start = time.Now()
	l.startAgent(a)
	eventually(b, "the restarted agent's first sync", func() error {
		if !strings.Contains(a.logs.String(), "first=true") {
			return fmt.Errorf("not yet")
		}
		return nil
	})
	restart := time.Since(start)
	added, deleted := logInt(a.logs.String(), "flows_added"), logInt(a.logs.String(), "flows_deleted")

	b.ReportMetric(plumb.Seconds(), "plumb_s")
	b.ReportMetric(bundle.Seconds(), "bundle_s")
	b.ReportMetric(plumb.Seconds()/bundle.Seconds(), "ratio")
	b.ReportMetric(float64(len(flows)), "flows")
	b.ReportMetric(restart.Seconds(), "restart_s")
	b.ReportMetric(float64(added), "restart_flows_added")
	b.ReportMetric(float64(deleted), "restart_flows_deleted")
	b.ReportMetric(creates, "creates/s")
}

// ports creates n ports on network netID bound to host, 8 at a time.
func (l *lab) ports(netID, host string, n int) []port {
	out := make([]port, n)
	var wg sync.WaitGroup
	next := make(chan int)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				var resp map[string]any
				err := l.admin.Do(context.Background(), "POST", l.urls["network"]+"/v2.0/ports", map[string]any{"port": map[string]any{
					"network_id": netID, "project_id": "p1", "binding:host_id": host, "device_owner": "compute:nova"}}, &resp)
				if err != nil {
					l.t.Error(err)
					continue
				}
				p := resp["port"].(map[string]any)
				out[i] = port{id: p["id"].(string), mac: p["mac_address"].(string)}
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	if l.t.Failed() {
		l.t.FailNow()
	}
	return out
}

// waitCount waits until n ports of netID are ACTIVE.
func (l *lab) waitCount(netID string, n int) {
	for end := time.Now().Add(5 * time.Minute); ; time.Sleep(20 * time.Millisecond) {
		list := l.api("GET", "/v2.0/ports?fields=id&status=ACTIVE&network_id="+netID, nil)["ports"].([]any)
		if len(list) >= n {
			return
		}
		if time.Now().After(end) {
			l.t.Fatalf("%d of %d ports ACTIVE after 5 minutes", len(list), n)
		}
	}
}

// bundleLoad times one `ovs-ofctl --bundle add-flows` of flows (as
// dumped) into an empty bridge of h's switch.
func (l *lab) bundleLoad(h *host, flows []string) time.Duration {
	l.ovs(h, "ovs-vsctl", "--may-exist", "add-br", "br-bench", "--", "set", "Bridge", "br-bench",
		"datapath_type=netdev", "fail_mode=secure", "protocols=OpenFlow10,OpenFlow13,OpenFlow14,OpenFlow15")
	var b strings.Builder
	for _, f := range flows {
		b.WriteString(f + "\n")
	}
	file := filepath.Join(l.dir, "flows.txt")
	if err := os.WriteFile(file, []byte(b.String()), 0o644); err != nil {
		l.t.Fatal(err)
	}
	start := time.Now()
	cmd := exec.Command("ip", "netns", "exec", h.ns, "ovs-ofctl", "-O", "OpenFlow15", "--bundle", "add-flows", "br-bench", file)
	cmd.Env = append(os.Environ(), "OVS_RUNDIR="+h.ovsDir)
	if out, err := cmd.CombinedOutput(); err != nil {
		l.t.Fatalf("ovs-ofctl add-flows: %v: %s", err, out)
	}
	took := time.Since(start)
	l.ovs(h, "ovs-vsctl", "del-br", "br-bench")
	return took
}

// logInt reads key=N from the last line of logs that has it.
func logInt(logs, key string) int {
	m := regexp.MustCompile(key+`=(\d+)`).FindAllStringSubmatch(logs, -1)
	if len(m) == 0 {
		return -1
	}
	v, _ := strconv.Atoi(m[len(m)-1][1])
	return v
}
