package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// rbdServersSubtest: the all-in-one on Ceph end to end, with the
// openstack CLI (TestAllInOneServers' daemon: images on RBD, the RBD
// volume backend beside the iSCSI one, both on the test's Ceph, and no
// compute.agent.rbd_secrets: the compute agent takes the backend's
// keyring). The tiny guest image (raw) uploaded lands in the images
// pool with its protected snapshot snap; a volume of the RBD type from
// it is a clone of images/<id>@snap; a server booted from that volume
// comes up; a second RBD volume, written with qemu-io, attached to it
// is seen by the guest (serial, size, first bytes) and goes when
// detached; the image's delete while the volume is cloned from it is a
// 409 and the image stays active; once the server, volumes and image
// are deleted the volumes pool is empty and the images pool holds only
// the images the service still lists.
func rbdServersSubtest(t *testing.T, c *cli, p *proc, r *rbdAIO, ns, img string) {
	ceph := r.need(t)
	c = &cli{t: t, ns: c.ns, env: c.env, logs: c.logs} // fails this subtest
	must, asJSON := c.must, c.json
	ctx := context.Background()
	rbdJSON := func(args ...string) any {
		t.Helper()
		out, err := ceph.RBD(ctx, append(args, "--format", "json")...)
		if err != nil {
			t.Fatalf("rbd %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		var v any
		if err := json.Unmarshal(out, &v); err != nil {
			t.Fatalf("rbd %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return v
	}
	status := func(kind, name, want string) {
		t.Helper()
		waitFor(t, p, kind+" "+name+" "+want, func() error {
			var v map[string]any
			asJSON(&v, kind, "show", name)
			if v["status"] != want {
				return fmt.Errorf("status %v", v["status"])
			}
			return nil
		})
	}
	qemuIO := func(id, cmd string) {
		t.Helper()
		out, err := exec.Command("ip", "netns", "exec", ns, "qemu-io", "-f", "raw", "-c", cmd,
			"rbd:volumes/volume-"+id+":conf="+ceph.Conf).CombinedOutput()
		if err != nil || strings.Contains(string(out), "Pattern verification failed") {
			t.Fatalf("qemu-io %q on volume %s: %v\n%s", cmd, id, err, out)
		}
	}
	waitFor(t, p, "the RBD backend up", func() error {
		var ss []map[string]any
		asJSON(&ss, "volume", "service", "list", "--service", "cinder-volume")
		for _, s := range ss {
			if s["Host"] == "aio@rbd" && s["State"] == "up" {
				return nil
			}
		}
		return fmt.Errorf("services: %v", ss)
	})
	if !strings.Contains(p.logs.String(), "the compute agent in this process takes the backend's keyring") {
		t.Errorf("the RBD backend did not lend its keyring to the compute agent:\n%s", p.logs)
	}

	// The image on RBD: <id> with its protected snapshot snap.
	start := time.Now()
	var im map[string]any
	asJSON(&im, "image", "create", "--disk-format", "raw", "--container-format", "bare", "--file", img, "tiny-rbd")
	imgID := im["id"].(string)
	if fi, err := os.Stat(img); err == nil {
		t.Logf("image create of the raw tiny image (%d bytes) into RBD: %s", fi.Size(), time.Since(start).Round(time.Millisecond))
	}
	snaps, _ := rbdJSON("snap", "ls", "images/"+imgID).([]any)
	if len(snaps) != 1 || snaps[0].(map[string]any)["name"] != "snap" || snaps[0].(map[string]any)["protected"] != "true" {
		t.Fatalf("images/%s's snapshots: %v", imgID, snaps)
	}

	// A volume of the RBD type from it: a clone of images/<id>@snap.
	must("volume", "type", "create", "--property", "volume_backend_name=rbd", "ceph")
	var v map[string]any
	start = time.Now()
	asJSON(&v, "volume", "create", "--image", "tiny-rbd", "--type", "ceph", "--size", "1", "rootc")
	rootID := v["id"].(string)
	status("volume", "rootc", "available")
	t.Logf("volume create --image of the RBD image (a clone) to available: %s", time.Since(start).Round(time.Millisecond))
	info, _ := rbdJSON("info", "volumes/volume-"+rootID).(map[string]any)
	if pm, _ := info["parent"].(map[string]any); pm == nil || fmt.Sprintf("%v/%v@%v", pm["pool"], pm["image"], pm["snapshot"]) != "images/"+imgID+"@snap" {
		t.Fatalf("volume %s: parent %v, want images/%s@snap", rootID, info["parent"], imgID)
	}

	// A server booted from it.
	start = time.Now()
	var s map[string]any
	asJSON(&s, "server", "create", "--flavor", "m1.nano", "--volume", "rootc", "--network", "private", "--wait", "vmc")
	if s["status"] != "ACTIVE" {
		t.Fatalf("a server booted from the RBD volume: %v\n%s", s, p.logs)
	}
	t.Logf("server create --volume (RBD clone) --wait: ACTIVE after %s", time.Since(start).Round(10*time.Millisecond))
	var console string
	waitFor(t, p, "vmc (booted from the RBD volume) ready", func() error {
		if console = must("console", "log", "show", "vmc"); !strings.Contains(console, "gostack-guest: ready hostname=vmc") {
			return fmt.Errorf("not ready: %s", console)
		}
		return nil
	})
	t.Logf("server create --volume to the guest's ready line: %s", time.Since(start).Round(10*time.Millisecond))
	if !strings.Contains(console, "at boot serial="+rootID[:20]) {
		t.Errorf("the guest's boot disk is not the volume:\n%s", console)
	}

	// A second RBD volume, patterned, attached: the guest sees its
	// serial, size and first bytes; detached, it goes.
	asJSON(&v, "volume", "create", "--type", "ceph", "--size", "1", "datac")
	dataID := v["id"].(string)
	status("volume", "datac", "available")
	qemuIO(dataID, "write -P 0x5a 0 1M")
	seen := len(console)
	start = time.Now()
	must("server", "add", "volume", "vmc", "datac")
	status("volume", "datac", "in-use")
	appeared := regexp.MustCompile(`gostack-guest: disk \S+ appeared serial=` + dataID[:20] + ` size=(\d+) first=(\S*)`)
	var m []string
	waitFor(t, p, "the guest seeing datac", func() error {
		console = must("console", "log", "show", "vmc")
		if m = appeared.FindStringSubmatch(console[min(seen, len(console)):]); m == nil {
			return fmt.Errorf("not yet: %s", console[min(seen, len(console)):])
		}
		return nil
	})
	t.Logf("server add volume (RBD) to the guest's disk: %s", time.Since(start).Round(10*time.Millisecond))
	if m[1] != "1073741824" || m[2] != strings.Repeat("5a", 16) {
		t.Errorf("the guest's disk of datac: size %s, first bytes %s; want 1073741824 and the pattern", m[1], m[2])
	}
	seen = len(console)
	must("server", "remove", "volume", "vmc", "datac")
	status("volume", "datac", "available")
	waitFor(t, p, "the guest seeing datac go", func() error {
		if c := must("console", "log", "show", "vmc"); !strings.Contains(c[min(seen, len(c)):], "gone serial="+dataID[:20]) {
			return fmt.Errorf("not yet: %s", c[min(seen, len(c)):])
		}
		return nil
	})

	// The image volumes are cloned from is not deleted.
	if out, err := c.run("image", "delete", "tiny-rbd"); err == nil || !strings.Contains(out, "409") {
		t.Errorf("image delete while rootc is cloned from it: %v\n%s", err, out)
	}
	status("image", "tiny-rbd", "active")

	// Clean-up: nothing left in the pools.
	must("server", "delete", "--wait", "vmc")
	status("volume", "rootc", "available")
	must("volume", "delete", "rootc", "datac")
	waitFor(t, p, "the RBD volumes gone", func() error {
		if out, _ := c.run("volume", "list", "-f", "value", "-c", "Name"); strings.Contains(out, "rootc") || strings.Contains(out, "datac") {
			return fmt.Errorf("volumes: %s", out)
		}
		return nil
	})
	must("image", "delete", "tiny-rbd")
	must("volume", "type", "delete", "ceph")
	if left, _ := rbdJSON("ls", "volumes").([]any); len(left) != 0 {
		t.Errorf("the volumes pool after the deletes: %v", left)
	}
	var images []map[string]any
	asJSON(&images, "image", "list")
	var listed, pool []string
	for _, i := range images {
		listed = append(listed, i["ID"].(string))
	}
	left, _ := rbdJSON("ls", "images").([]any)
	for _, l := range left {
		pool = append(pool, l.(string))
	}
	slices.Sort(listed)
	slices.Sort(pool)
	if !slices.Equal(listed, pool) {
		t.Errorf("the images pool holds %v; the service lists %v", pool, listed)
	}
}
