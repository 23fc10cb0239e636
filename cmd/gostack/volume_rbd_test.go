package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gostack/gostack/internal/cephtest"
	"github.com/gostack/gostack/storage/rbd"
)

// rbdAIO is the private Ceph of an all-in-one test, started in the
// all-in-one's network namespace beside gostack's own start (it takes
// about 10 s), and gostack's flags for it. Without Ceph, or in a build
// without Ceph support, there is no cluster and no flags, and need
// skips (fails with CI=true).
type rbdAIO struct {
	why     string // why there is no cluster
	dir     string // the cluster's, made by cephtest.Start
	started chan struct{}
	cluster *cephtest.Cluster
	err     error
}

// startCeph starts a cluster with pools in network namespace ns, stopped
// when t ends.
func startCeph(t *testing.T, ns string, pools ...string) *rbdAIO {
	r := &rbdAIO{started: make(chan struct{})}
	switch {
	case !rbd.Available:
		r.why = "built without Ceph support: go test -tags $(scripts/cephtag) (scripts/test does)"
	case cephtest.Available() != nil:
		r.why = cephtest.Available().Error()
	}
	if r.why != "" {
		close(r.started)
		return r
	}
	r.dir = filepath.Join(t.TempDir(), "ceph")
	o := cephtest.Options{Dir: r.dir, NetNS: ns, Pools: pools}
	go func() {
		defer close(r.started)
		r.cluster, r.err = cephtest.Start(o)
	}()
	t.Cleanup(func() {
		<-r.started
		if r.cluster != nil {
			r.cluster.Stop()
		}
	})
	return r
}

// flags are gostack's settings of section (volume, image) for the
// cluster's pool as its user gostack; none without a cluster.
func (r *rbdAIO) flags(section, pool string) []string {
	if r.why != "" {
		return nil
	}
	return []string{"-set", section + ".rbd.ceph_conf=" + filepath.Join(r.dir, "ceph.conf"), "-set", section + ".rbd.user=gostack",
		"-set", section + ".rbd.keyring=" + filepath.Join(r.dir, "ceph.client.gostack.keyring"), "-set", section + ".rbd.pool=" + pool}
}

// need waits for the cluster; without one the test skips (fails with
// CI=true).
func (r *rbdAIO) need(t *testing.T) *cephtest.Cluster {
	t.Helper()
	if r.why != "" {
		if os.Getenv("CI") == "true" {
			t.Fatal(r.why + " [CI=true: integration tests may not skip]")
		}
		t.Skip(r.why)
	}
	<-r.started
	if r.err != nil {
		t.Fatalf("ceph: %v", r.err)
	}
	return r.cluster
}

// rbdQemuIO runs qemu-io's cmd on volume id's image in the cluster's
// pool through QEMU's RBD driver, in network namespace ns, and fails
// the test on an error or a pattern that does not match.
func rbdQemuIO(t *testing.T, ns string, ceph *cephtest.Cluster, id, cmd string) {
	t.Helper()
	out, err := exec.Command("ip", "netns", "exec", ns, "qemu-io", "-f", "raw", "-c", cmd,
		"rbd:"+ceph.Pool+"/volume-"+id+":conf="+ceph.Conf).CombinedOutput()
	if err != nil || strings.Contains(string(out), "Pattern verification failed") {
		t.Fatalf("qemu-io %q on volume %s: %v\n%s", cmd, id, err, out)
	}
}

// waitRBDPool waits for the all-in-one's RBD backend (aio@rbd) to be
// an up cinder-volume service.
func (a *volumeAIO) waitRBDPool() {
	a.t.Helper()
	waitFor(a.t, a.p, "the RBD pool up", func() error {
		var ss []map[string]any
		a.cli.json(&ss, "volume", "service", "list", "--service", "cinder-volume")
		for _, s := range ss {
			if s["Host"] == "aio@rbd" && s["State"] == "up" {
				return nil
			}
		}
		return fmt.Errorf("services: %v", ss)
	})
}

// startRBD starts the cluster for a (before a.start) and adds gostack's
// flags for an RBD backend on it (aio@rbd#rbd, volume_backend_name rbd).
func startRBD(a *volumeAIO) *rbdAIO {
	r := startCeph(a.t, a.ns)
	if f := r.flags("volume", "volumes"); f != nil {
		a.extra = append(a.extra, append(f, "-set", "volume.rbd.host=aio@rbd#rbd")...)
	}
	return r
}

// rbdSubtest: the RBD backend beside the iSCSI one, driven by the
// openstack CLI with a volume type whose volume_backend_name selects it:
// a volume made (an RBD image of its size), written through QEMU's own
// RBD driver; a snapshot (protected); a volume from it and one from the
// volume, copy-on-write clones holding what was written; the snapshot's
// delete refused while a volume is cloned from it (available again),
// done once that volume is gone; the source deleted while its clone
// holds it, then the clone; nothing left in the pool.
func rbdSubtest(t *testing.T, a *volumeAIO, r *rbdAIO) {
	ceph, c, p := r.need(t), a.cli, a.p
	must, asJSON := c.must, c.json
	ctx := context.Background()
	// Waits poll the volume API with curl (milliseconds a call, where the
	// openstack CLI takes a second or two), so the figures logged are
	// the backend's, from the create's answer.
	var tok map[string]any
	asJSON(&tok, "token", "issue")
	api := "http://127.0.0.1:8776/v3/" + tok["project_id"].(string)
	call := func(method, path, body string) (int, map[string]any) {
		args := []string{"netns", "exec", a.ns, "curl", "-s", "-X", method, "-w", "\n%{http_code}", "-H",
			"X-Auth-Token: " + tok["id"].(string), "-H", "Content-Type: application/json", "-H", "OpenStack-API-Version: volume 3.0"}
		if body != "" {
			args = append(args, "-d", body)
		}
		out, err := exec.Command("ip", append(args, api+path)...).Output()
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		body, code := "", string(out)
		if i := strings.LastIndex(string(out), "\n"); i >= 0 {
			body, code = string(out[:i]), string(out[i+1:])
		}
		var m map[string]any
		json.Unmarshal([]byte(body), &m)
		n, _ := strconv.Atoi(code)
		return n, m
	}
	get := func(path string) (int, map[string]any) { return call("GET", path, "") }
	del := func(path string) {
		t.Helper()
		if code, m := call("DELETE", path, ""); code != 202 && code != 204 {
			t.Fatalf("DELETE %s: %d %v", path, code, m)
		}
	}
	// until polls what (volumes/<id>, snapshots/<id>) until its status
	// is want ("" for gone), and says how long that took.
	until := func(what, want string) time.Duration {
		t.Helper()
		start := time.Now()
		kind, _, _ := strings.Cut(what, "/")
		for {
			code, m := get("/" + what)
			obj, _ := m[strings.TrimSuffix(kind, "s")].(map[string]any)
			if want == "" && code == 404 || want != "" && obj["status"] == want {
				return time.Since(start)
			}
			if s, _ := obj["status"].(string); strings.HasPrefix(s, "error") || time.Since(start) > time.Minute {
				t.Fatalf("%s: %d %v, want %q\n%s", what, code, m, want, p.logs)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	waitFor(t, p, "the RBD backend up", func() error {
		_, m := get("/os-services?binary=cinder-volume&host=aio@rbd")
		if ss, _ := m["services"].([]any); len(ss) != 1 || ss[0].(map[string]any)["state"] != "up" {
			return fmt.Errorf("services: %v", m)
		}
		return nil
	})
	must("volume", "type", "create", "--property", "volume_backend_name=rbd", "ceph")
	image := func(id string) map[string]any {
		t.Helper()
		out, err := ceph.RBD(ctx, "info", "--format", "json", ceph.Pool+"/volume-"+id)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(out, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	qemuIO := func(id, cmd string) { t.Helper(); rbdQemuIO(t, a.ns, ceph, id, cmd) }

	var v map[string]any
	asJSON(&v, "volume", "create", "--type", "ceph", "--size", "1", "r1")
	id1 := v["id"].(string)
	until("volumes/"+id1, "available")
	if _, m := get("/volumes/" + id1); m["volume"].(map[string]any)["os-vol-host-attr:host"] != "aio@rbd#rbd" {
		t.Errorf("r1: %v", m)
	}
	if v["type"] != "ceph" {
		t.Errorf("r1: %v", v)
	}
	if m := image(id1); m["size"] != float64(1<<30) {
		t.Errorf("r1's image: %v", m)
	}
	qemuIO(id1, "write -P 0x5a 4M 1M")

	var snap map[string]any
	asJSON(&snap, "volume", "snapshot", "create", "--volume", "r1", "rs1")
	snapID := snap["id"].(string)
	until("snapshots/"+snapID, "available")
	qemuIO(id1, "write -P 0xa5 4M 1M")
	out, err := ceph.RBD(ctx, "snap", "ls", "--format", "json", ceph.Pool+"/volume-"+id1)
	if err != nil || !strings.Contains(string(out), `"name":"snapshot-`+snapID+`"`) || !strings.Contains(string(out), `"protected":"true"`) {
		t.Errorf("r1's snapshots: %s %v", out, err)
	}
	asJSON(&v, "volume", "create", "--snapshot", "rs1", "--size", "2", "r2")
	id2 := v["id"].(string)
	until("volumes/"+id2, "available")
	asJSON(&v, "volume", "create", "--source", "r1", "r3")
	id3 := v["id"].(string)
	until("volumes/"+id3, "available")
	for id, parent := range map[string]string{id2: "volume-" + id1 + "@snapshot-" + snapID, id3: "volume-" + id1 + "@volume-" + id3 + ".clone_snap"} {
		m := image(id)
		pm, _ := m["parent"].(map[string]any)
		if pm == nil || fmt.Sprintf("%v/%v@%v", pm["pool"], pm["image"], pm["snapshot"]) != ceph.Pool+"/"+parent {
			t.Errorf("volume %s: parent %v, want %s", id, m["parent"], parent)
		}
	}
	if m := image(id2); m["size"] != float64(2<<30) {
		t.Errorf("r2's size: %v", m["size"])
	}
	qemuIO(id2, "read -P 0x5a 4M 1M") // the snapshot's
	qemuIO(id3, "read -P 0xa5 4M 1M") // the volume's when cloned
	qemuIO(id2, "read -P 0 1G 1M")    // the larger rest: zeros

	// The snapshot r2 is cloned from: its delete refused, available
	// again, saying why.
	must("volume", "snapshot", "delete", "rs1") // deleting when it answers
	until("snapshots/"+snapID, "available")
	del("/volumes/" + id2)
	until("volumes/"+id2, "")
	must("volume", "snapshot", "delete", "rs1")
	until("snapshots/"+snapID, "")
	// r1, held by its clone r3: deleted all the same, r3 keeps its data;
	// then r3, and the pool is empty.
	del("/volumes/" + id1)
	until("volumes/"+id1, "")
	qemuIO(id3, "read -P 0xa5 4M 1M")
	del("/volumes/" + id3)
	until("volumes/"+id3, "")

	// The figures, from the API's answer: a volume made, a snapshot, a
	// volume from it, one from the volume.
	post := func(path, body string) string {
		t.Helper()
		code, m := call("POST", path, body)
		for _, k := range []string{"volume", "snapshot"} {
			if o, ok := m[k].(map[string]any); ok && code == 202 {
				return o["id"].(string)
			}
		}
		t.Fatalf("POST %s: %d %v", path, code, m)
		return ""
	}
	m1 := post("/volumes", `{"volume": {"size": 1, "volume_type": "ceph"}}`)
	t.Logf("RBD volume create to available: %s", until("volumes/"+m1, "available").Round(time.Millisecond))
	ms := post("/snapshots", `{"snapshot": {"volume_id": "`+m1+`"}}`)
	t.Logf("RBD snapshot create to available: %s", until("snapshots/"+ms, "available").Round(time.Millisecond))
	m2 := post("/volumes", `{"volume": {"size": 1, "snapshot_id": "`+ms+`"}}`)
	t.Logf("RBD volume from a snapshot to available: %s", until("volumes/"+m2, "available").Round(time.Millisecond))
	m3 := post("/volumes", `{"volume": {"size": 1, "source_volid": "`+m1+`"}}`)
	t.Logf("RBD volume from a volume (clone) to available: %s", until("volumes/"+m3, "available").Round(time.Millisecond))
	del("/volumes/" + m2)
	until("volumes/"+m2, "")
	del("/snapshots/" + ms)
	until("snapshots/"+ms, "")
	for _, id := range []string{m1, m3} {
		del("/volumes/" + id)
		until("volumes/"+id, "")
	}
	if out, err := ceph.RBD(ctx, "ls", ceph.Pool); err != nil || strings.TrimSpace(string(out)) != "" {
		t.Errorf("images left: %q %v", out, err)
	}
	_, types := get("/types")
	for _, ty := range types["volume_types"].([]any) {
		if ty := ty.(map[string]any); ty["name"] == "ceph" {
			del("/types/" + ty["id"].(string))
		}
	}
}
