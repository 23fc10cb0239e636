package allinone_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gostack/gostack/internal/testenv"
)

// The openstack CLI drives the Compute API's resources other than
// servers' guests: key pairs (generated and imported), server groups,
// quotas and limits, a server's events and its state reset.
func TestOpenStackCompute(t *testing.T) {
	bin := testenv.LookPath(t, "openstack", "python3-openstackclient")
	cfg := testConfig(t, "")
	start(t, cfg, cfg.all()...)
	o := &osc{t: t, bin: bin, env: openrcEnv(t, filepath.Join(cfg.DataDir, "openrc"))}

	// Key pairs: generated (the private key goes to a file), imported.
	priv := filepath.Join(t.TempDir(), "k1.pem")
	var kp map[string]any
	o.json(&kp, "keypair", "create", "--private-key", priv, "k1")
	if b, err := os.ReadFile(priv); err != nil || !strings.Contains(string(b), "PRIVATE KEY") || kp["name"] != "k1" || kp["fingerprint"] == "" {
		t.Fatalf("keypair create: %v, private key %v", kp, err)
	}
	pub := filepath.Join(t.TempDir(), "k2.pub")
	if err := os.WriteFile(pub, []byte("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMndHqje7Lv4uWQiXTVyY4Cp2RutcOpUJCJTiZCCNxw+ alice@example\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	o.json(&kp, "--os-compute-api-version", "2.92", "keypair", "create", "--public-key", pub, "--type", "ssh", "k2")
	if kp["fingerprint"] != "50:bf:b0:0a:9c:8d:2b:8d:1e:8e:e8:9b:7e:ab:7f:e3" || kp["type"] != "ssh" {
		t.Fatalf("keypair import: %v", kp)
	}
	var kps []map[string]any
	o.json(&kps, "keypair", "list")
	if len(kps) != 2 {
		t.Fatalf("keypair list: %v", kps)
	}
	o.json(&kp, "keypair", "show", "k2")
	if kp["user_id"] == "" || kp["public_key"] == nil && kp["fingerprint"] == nil {
		t.Fatalf("keypair show: %v", kp)
	}
	if out, err := o.run(nil, "keypair", "create", "--public-key", pub, "k2"); err == nil || !strings.Contains(out, "already exists") {
		t.Fatalf("duplicate key pair: %v %s", err, out)
	}
	o.must("keypair", "delete", "k1")
	o.json(&kps, "keypair", "list")
	if len(kps) != 1 {
		t.Fatalf("keypair list after delete: %v", kps)
	}

	// Server groups, at the CLI's default microversion and at 2.64.
	var g map[string]any
	o.json(&g, "server", "group", "create", "--policy", "anti-affinity", "g1")
	if g["name"] != "g1" || !strings.Contains(toJSON(g), "anti-affinity") {
		t.Fatalf("server group create: %v", g)
	}
	o.json(&g, "--os-compute-api-version", "2.64", "server", "group", "create", "--policy", "soft-affinity", "g2")
	var gs []map[string]any
	o.json(&gs, "server", "group", "list")
	if len(gs) != 2 {
		t.Fatalf("server group list: %v", gs)
	}
	// Quotas and limits.
	o.must("quota", "set", "--instances", "5", "--cores", "7", "admin")
	var q map[string]any
	o.json(&q, "quota", "show", "admin")
	if q["instances"] != float64(5) || q["cores"] != float64(7) {
		t.Fatalf("quota show: %v", q)
	}
	var lim []map[string]any
	o.json(&lim, "limits", "show", "--absolute")
	found := false
	for _, l := range lim {
		found = found || l["Name"] == "maxTotalInstances" && l["Value"] == float64(5)
	}
	if !found {
		t.Fatalf("limits show: %v", lim)
	}

	// A server no host takes (no compute host runs here): its actions
	// and events, and an admin's reset of its state.
	raw := filepath.Join(t.TempDir(), "tiny.raw")
	if err := os.WriteFile(raw, make([]byte, 4096), 0o644); err != nil {
		t.Fatal(err)
	}
	o.must("image", "create", "--disk-format", "raw", "--container-format", "bare", "--file", raw, "osc-image")
	var srv map[string]any
	o.json(&srv, "--os-compute-api-version", "2.37", "server", "create", "--image", "osc-image", "--flavor", "m1.tiny", "--nic", "none", "osc-vm")
	id, _ := srv["id"].(string)
	eventually(t, "the server in ERROR", func() bool {
		o.json(&srv, "server", "show", id)
		return srv["status"] == "ERROR"
	})
	var evs []map[string]any
	o.json(&evs, "server", "event", "list", id)
	if len(evs) != 1 || evs[0]["Action"] != "create" || evs[0]["Server ID"] != id {
		t.Fatalf("server event list: %v", evs)
	}
	create, _ := evs[0]["Request ID"].(string)
	var ev map[string]any
	o.json(&ev, "--os-compute-api-version", "2.84", "server", "event", "show", id, create)
	if ev["action"] != "create" || ev["message"] != "Error" || !strings.Contains(toJSON(ev["events"]), "conductor_schedule_and_build_instances") ||
		!strings.Contains(toJSON(ev["events"]), "No valid host was found") {
		t.Fatalf("server event show: %v", ev)
	}
	o.must("server", "set", "--state", "active", id)
	o.json(&srv, "server", "show", id)
	if srv["status"] != "ACTIVE" {
		t.Fatalf("server set --state active: %v", srv)
	}
	o.must("server", "set", "--state", "error", id)
	o.json(&evs, "--os-compute-api-version", "2.58", "server", "event", "list", "--long", "--limit", "2", id)
	if len(evs) != 2 || evs[0]["Action"] != "resetState" || evs[1]["Action"] != "resetState" || evs[0]["User ID"] == nil {
		t.Fatalf("server event list at 2.58: %v", evs)
	}
	if out, err := o.run(nil, "server", "set", "--state", "bogus", id); err == nil {
		t.Fatalf("server set --state bogus: %s", out)
	}
	o.must("server", "delete", id)
	o.json(&evs, "--os-compute-api-version", "2.21", "server", "event", "list", id)
	if len(evs) != 3 {
		t.Fatalf("a deleted server's events: %v", evs)
	}

	o.must("server", "group", "delete", "g1")
	o.json(&gs, "server", "group", "list")
	if len(gs) != 1 || gs[0]["Name"] != "g2" {
		t.Fatalf("server group list after delete: %v", gs)
	}
}
