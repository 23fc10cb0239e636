package allinone_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/gostack/gostack/internal/testenv"
)

// Reverse DNS of a real floating IP, with the openstack CLI
// (designateclient's ptr commands) and dig: the PTR record set on the
// floating IP is answered by the DNS server; unset, it is gone; another
// project sees no floating IP.
func TestOpenStackFloatingIPPTR(t *testing.T) {
	bin := testenv.LookPath(t, "openstack", "python3-openstackclient")
	digBin := testenv.LookPath(t, "dig", "bind9-dnsutils")
	testenv.RequirePython(t, "designateclient", "python3-designateclient")
	cfg := testConfig(t, "")
	cfg.Identity.PasswordRounds = 4
	d := start(t, cfg, cfg.all()...)
	o := &osc{t: t, bin: bin, env: openrcEnv(t, filepath.Join(cfg.DataDir, "openrc"))}
	dig := digger(t, digBin, d)
	eventually := func(what string, cond func() bool) { waitUntil(t, what, cond) }
	o.must("network", "create", "--external", "--provider-network-type", "flat", "--provider-physical-network", "public", "public")
	o.must("subnet", "create", "--network", "public", "--subnet-range", "172.24.4.0/24", "--no-dhcp", "public-sub")
	var fip map[string]any
	o.json(&fip, "floating", "ip", "create", "public")
	id, addr := fip["id"].(string), fip["floating_ip_address"].(string)
	key := cfg.Region + ":" + id

	var ptrs []map[string]any
	o.json(&ptrs, "ptr", "record", "list")
	if len(ptrs) != 1 || ptrs[0]["id"] != key || (ptrs[0]["ptrdname"] != nil && ptrs[0]["ptrdname"] != "") {
		t.Fatalf("ptr record list before set: %v", ptrs)
	}
	var set map[string]any
	o.json(&set, "ptr", "record", "set", "--ttl", "300", key, "vm.example.org.")
	if set["ptrdname"] != "vm.example.org." || set["address"] != addr {
		t.Fatalf("ptr record set: %v", set)
	}
	eventually("dig -x to answer the floating IP's PTR", func() bool {
		return dig("+short", "-x", addr) == "vm.example.org.\n"
	})
	if out := dig("-x", addr); !strings.Contains(out, "flags: qr aa") || !strings.Contains(out, "300\tIN\tPTR\tvm.example.org.") {
		t.Fatalf("not an authoritative PTR with the TTL:\n%s", out)
	}
	var shown map[string]any
	o.json(&shown, "ptr", "record", "show", key)
	if shown["ptrdname"] != "vm.example.org." {
		t.Fatalf("ptr record show: %v", shown)
	}
	// Another project has no floating IP, and cannot set this one's.
	o.must("project", "create", "other")
	o.must("user", "create", "bob", "--password", "bob-pw", "--project", "other")
	o.must("role", "add", "--project", "other", "--user", "bob", "member")
	asBob := []string{"OS_USERNAME=bob", "OS_PASSWORD=bob-pw", "OS_PROJECT_NAME=other"}
	if out, err := o.run(asBob, "ptr", "record", "list", "-f", "value"); err != nil || strings.TrimSpace(out) != "" {
		t.Fatalf("bob's ptr record list: %q %v", out, err)
	}
	if out, err := o.run(asBob, "ptr", "record", "set", key, "evil.example.org."); err == nil {
		t.Fatalf("bob set another project's PTR: %s", out)
	}
	o.must("ptr", "record", "unset", key)
	eventually("the PTR gone", func() bool { return strings.Contains(dig("-x", addr), "status: NXDOMAIN") })
	// Deleting the floating IP takes its PTR with it, as Designate's
	// neutron handler does.
	o.must("ptr", "record", "set", key, "again.example.org.")
	eventually("the PTR back", func() bool { return dig("+short", "-x", addr) == "again.example.org.\n" })
	o.must("floating", "ip", "delete", id)
	eventually("the deleted floating IP's PTR gone", func() bool { return strings.Contains(dig("-x", addr), "status: NXDOMAIN") })
}
