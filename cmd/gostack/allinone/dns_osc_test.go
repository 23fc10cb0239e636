package allinone_test

import (
	"net"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gostack/gostack/internal/testenv"
)

// The DNS issue's client proof: python3-openstackclient with
// python3-designateclient against the all-in-one daemon's Designate API,
// and dig (a resolver tool we did not write) against its DNS server,
// before and after a restart.
func TestOpenStackDNS(t *testing.T) {
	bin := testenv.LookPath(t, "openstack", "python3-openstackclient")
	digBin := testenv.LookPath(t, "dig", "bind9-dnsutils")
	testenv.RequirePython(t, "designateclient", "python3-designateclient")
	cfg := testConfig(t, "")
	cfg.Identity.PasswordRounds = 4
	d := start(t, cfg, cfg.all()...)
	o := &osc{t: t, bin: bin, env: openrcEnv(t, filepath.Join(cfg.DataDir, "openrc"))}
	dig := func(args ...string) string { return digger(t, digBin, d)(args...) } // d changes at the restart
	eventually := func(what string, cond func() bool) { waitUntil(t, what, cond) }

	var zone map[string]any
	o.json(&zone, "zone", "create", "example.org.", "--email", "hostmaster@example.org", "--ttl", "600")
	if zone["name"] != "example.org." || zone["email"] != "hostmaster@example.org" || zone["type"] != "PRIMARY" {
		t.Fatalf("zone create: %v", zone)
	}
	eventually("the zone to be ACTIVE", func() bool {
		o.json(&zone, "zone", "show", "example.org.")
		return zone["status"] == "ACTIVE"
	})
	var rs map[string]any
	o.json(&rs, "recordset", "create", "example.org.", "www", "--type", "A", "--record", "192.0.2.10", "--record", "192.0.2.11", "--ttl", "120")
	if rs["name"] != "www.example.org." || rs["type"] != "A" {
		t.Fatalf("recordset create: %v", rs)
	}
	var sets []map[string]any
	o.json(&sets, "recordset", "list", "example.org.")
	var types []string
	for _, s := range sets {
		types = append(types, s["type"].(string)+" "+s["name"].(string))
	}
	slices.Sort(types)
	if strings.Join(types, ",") != "A www.example.org.,NS example.org.,SOA example.org." {
		t.Fatalf("recordset list: %v", types)
	}

	eventually("dig to answer www", func() bool {
		return dig("+short", "www.example.org", "A") == "192.0.2.10\n192.0.2.11\n" ||
			dig("+short", "www.example.org", "A") == "192.0.2.11\n192.0.2.10\n"
	})
	out := dig("www.example.org", "A")
	if !strings.Contains(out, "flags: qr aa") || !strings.Contains(out, "status: NOERROR") || !strings.Contains(out, "120\tIN\tA\t192.0.2.10") {
		t.Fatalf("dig www: not an authoritative answer with the TTL:\n%s", out)
	}
	if ns := dig("+short", "example.org", "NS"); ns != "ns1.gostack.internal.\n" {
		t.Fatalf("dig NS: %q", ns)
	}
	if soa := dig("+short", "example.org", "SOA"); !strings.HasPrefix(soa, "ns1.gostack.internal. hostmaster.example.org. ") {
		t.Fatalf("dig SOA: %q", soa)
	}

	// Another project sees none of it.
	o.must("project", "create", "other")
	o.must("user", "create", "eve", "--password", "eve-pw", "--project", "other")
	o.must("role", "add", "--project", "other", "--user", "eve", "member")
	eve := []string{"OS_USERNAME=eve", "OS_PASSWORD=eve-pw", "OS_PROJECT_NAME=other"}
	if out, err := o.run(eve, "zone", "list", "-f", "value"); err != nil || strings.TrimSpace(out) != "" {
		t.Fatalf("zone list as another project: %v %q", err, out)
	}
	if out, err := o.run(eve, "recordset", "list", zone["id"].(string)); err == nil || !strings.Contains(out, "Could not find Zone") {
		t.Fatalf("recordset list of another project's zone: %v %q", err, out)
	}

	// Restart on the same data dir: the server answers from the store
	// before the daemon says it is ready.
	d.stop(t)
	d = start(t, cfg, cfg.all()...)
	o.env = openrcEnv(t, filepath.Join(cfg.DataDir, "openrc"))
	if got := dig("+short", "www.example.org", "A"); !strings.Contains(got, "192.0.2.10") {
		t.Fatalf("dig after restart: %q", got)
	}

	o.must("recordset", "delete", "example.org.", "www.example.org.")
	eventually("www to be NXDOMAIN", func() bool { return strings.Contains(dig("www.example.org", "A"), "status: NXDOMAIN") })
	o.must("zone", "delete", "example.org.")
	eventually("the zone to be gone from the API", func() bool {
		return strings.TrimSpace(o.must("zone", "list", "-f", "value")) == ""
	})
	if out := dig("example.org", "SOA"); !strings.Contains(out, "status: REFUSED") {
		t.Fatalf("dig after zone delete: %s", out)
	}
	// The name is free again.
	o.must("zone", "create", "example.org.", "--email", "hostmaster@example.org")
}

// digger runs dig against the daemon's DNS server.
func digger(t *testing.T, digBin string, d *daemon) func(args ...string) string {
	return func(args ...string) string {
		t.Helper()
		host, port, _ := net.SplitHostPort(d.addrs["dns-server"])
		out, err := exec.Command(digBin, append([]string{"@" + host, "-p", port, "+tries=1", "+time=2"}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("dig %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
}

// waitUntil polls cond for up to 20 s.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !cond(); time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}
