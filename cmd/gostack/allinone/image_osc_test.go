package allinone_test

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gostack/gostack/internal/testenv"
)

// The image issue's client proof: python3-openstackclient (through
// openstacksdk) against the all-in-one daemon's Glance API, then the same
// images after a restart.
func TestOpenStackImage(t *testing.T) {
	bin := testenv.LookPath(t, "openstack", "python3-openstackclient")
	qemuImg := testenv.LookPath(t, "qemu-img", "qemu-utils")
	cfg := testConfig(t, "")
	d := start(t, cfg, cfg.all()...)
	o := &osc{t: t, bin: bin, env: openrcEnv(t, filepath.Join(cfg.DataDir, "openrc"))}

	dir := t.TempDir()
	good, hostile, base := filepath.Join(dir, "good.qcow2"), filepath.Join(dir, "hostile.qcow2"), filepath.Join(dir, "base.qcow2")
	for _, args := range [][]string{
		{"create", "-f", "qcow2", good, "64M"},
		{"create", "-f", "qcow2", base, "64M"},
		{"create", "-f", "qcow2", "-b", base, "-F", "qcow2", hostile},
	} {
		if out, err := exec.Command(qemuImg, args...).CombinedOutput(); err != nil {
			t.Fatalf("qemu-img %v: %v %s", args, err, out)
		}
	}
	data, _ := os.ReadFile(good)
	sum := md5.Sum(data)

	var img map[string]any
	o.json(&img, "image", "create", "--file", good, "--disk-format", "qcow2", "cirros")
	id := img["id"].(string)
	var shown map[string]any
	o.json(&shown, "image", "show", "cirros")
	if shown["status"] != "active" || shown["checksum"] != hex.EncodeToString(sum[:]) || shown["size"] != float64(len(data)) {
		t.Fatalf("image show: %v", shown)
	}
	if vs, _ := shown["virtual_size"].(float64); vs != 64<<20 {
		t.Errorf("virtual_size %v, want %d", shown["virtual_size"], 64<<20)
	}
	out := o.must("image", "list", "-f", "value", "-c", "Name", "-c", "Status")
	if strings.TrimSpace(out) != "cirros active" {
		t.Fatalf("image list: %q", out)
	}

	// openstacksdk checks the Content-MD5 of what it downloads.
	saved := filepath.Join(dir, "saved")
	o.must("image", "save", "--file", saved, "cirros")
	if b, _ := os.ReadFile(saved); !bytes.Equal(b, data) {
		t.Fatal("image save: the bytes differ")
	}

	o.must("image", "set", "--property", "os_distro=cirros", "--tag", "test", "cirros")
	o.json(&shown, "image", "show", "cirros")
	props, _ := shown["properties"].(map[string]any)
	if props["os_distro"] != "cirros" || !strings.Contains(strings.ToLower(toJSON(shown["tags"])), "test") {
		t.Fatalf("image set: %v", shown)
	}

	var proj map[string]any
	o.json(&proj, "project", "create", "p2")
	var member map[string]any
	o.json(&member, "image", "add", "project", "cirros", "p2")
	if member["member_id"] != proj["id"] || member["status"] != "pending" {
		t.Fatalf("image add project: %v", member)
	}

	// A hostile image (qcow2 with a backing file) is refused, and the
	// SDK's clean-up leaves nothing.
	if out, err := o.run(nil, "image", "create", "--file", hostile, "--disk-format", "qcow2", "evil"); err == nil || !strings.Contains(out, "400") {
		t.Fatalf("hostile image: want a 400, got %v %s", err, out)
	}
	out = o.must("image", "list", "-f", "value", "-c", "Name")
	if strings.TrimSpace(out) != "cirros" {
		t.Fatalf("image list after the hostile upload: %q", out)
	}

	// Restart on the same data dir: the image and its data are still there.
	d.stop(t)
	d = start(t, cfg, cfg.all()...)
	o.env = openrcEnv(t, filepath.Join(cfg.DataDir, "openrc"))
	o.json(&shown, "image", "show", id)
	if shown["status"] != "active" {
		t.Fatalf("image after restart: %v", shown)
	}
	os.Remove(saved)
	o.must("image", "save", "--file", saved, id)
	if b, _ := os.ReadFile(saved); !bytes.Equal(b, data) {
		t.Fatal("image save after restart: the bytes differ")
	}

	o.must("image", "delete", "cirros")
	if out := o.must("image", "list", "-f", "value"); strings.TrimSpace(out) != "" {
		t.Fatalf("image list after delete: %q", out)
	}
	left, _ := filepath.Glob(filepath.Join(cfg.DataDir, "images", "data", "objects", "*"))
	if len(left) != 0 {
		t.Fatalf("data left after delete: %v", left)
	}
	_ = d
}

func toJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
