package main

import (
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// multiattachSubtest is Cinder's multiattach and Nova's 2.60 with the
// openstack CLI, on two of TestAllInOneServers' running servers (their
// names): a volume type with multiattach="<is> True" makes a multiattach
// volume on the iSCSI backend (which reports the capability), which
// server add volume refuses at 2.59 and, at 2.60, attaches to both
// servers — each guest sees the disk, with the bytes written into the
// volume's file before, and volume show lists both attachments; removed
// from the first server, the volume stays in-use with the second's
// attachment (the guest of the second does not see it go), then
// removed from the second, it is available.
func multiattachSubtest(t *testing.T, c *cli, p *proc, data string, servers [2]string) {
	must, asJSON := c.must, c.json
	must("volume", "type", "create", "--property", "multiattach=<is> True", "--property", "volume_backend_name=iscsi", "multi")
	var vol map[string]any
	asJSON(&vol, "volume", "create", "--type", "multi", "--size", "1", "shared")
	id := vol["id"].(string)
	show := func() map[string]any {
		t.Helper()
		var v map[string]any
		asJSON(&v, "volume", "show", "shared")
		return v
	}
	waitStatus := func(want string, attachments int) map[string]any {
		t.Helper()
		var v map[string]any
		waitFor(t, p, fmt.Sprintf("shared %s with %d attachments", want, attachments), func() error {
			v = show()
			if a, _ := v["attachments"].([]any); v["status"] != want || len(a) != attachments {
				return fmt.Errorf("status %v, attachments %v", v["status"], v["attachments"])
			}
			return nil
		})
		return v
	}
	vol = waitStatus("available", 0)
	if vol["multiattach"] != true || vol["os-vol-host-attr:host"] != "aio@iscsi#iscsi" {
		t.Fatalf("a multiattach type's volume: multiattach %v on %v", vol["multiattach"], vol["os-vol-host-attr:host"])
	}
	// Bytes in the volume's file, which each guest reads when its disk
	// appears.
	files, _ := filepath.Glob(filepath.Join(data, "volume", "*", "volume-"+id))
	if len(files) != 1 {
		t.Fatalf("the volume's file under %s: %v", data, files)
	}
	pattern := []byte("multiattach-aio-")
	f, err := os.OpenFile(files[0], os.O_WRONLY, 0)
	if err == nil {
		_, err = f.WriteAt(pattern, 0)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	// The openstack CLI (openstacksdk) asks for the latest microversion
	// both sides know unless told one: 2.59 is told.
	if out, err := c.run("--os-compute-api-version", "2.59", "server", "add", "volume", servers[0], "shared"); err == nil ||
		!strings.Contains(out, "Multiattach volumes are only supported starting with compute API version 2.60.") {
		t.Fatalf("server add volume of a multiattach volume below 2.60: %v\n%s", err, out)
	}
	if v := show(); v["status"] != "available" {
		t.Fatalf("the refused attach left the volume %v", v["status"])
	}

	serial := "serial=" + id[:20]
	consoles := map[string]int{}
	for _, s := range servers {
		consoles[s] = len(must("console", "log", "show", s))
		start := time.Now()
		must("--os-compute-api-version", "2.60", "server", "add", "volume", s, "shared")
		waitFor(t, p, s+" seeing the shared volume", func() error {
			con := must("console", "log", "show", s)
			if !strings.Contains(con[min(consoles[s], len(con)):], "appeared "+serial) {
				return fmt.Errorf("not yet: %s", con[min(consoles[s], len(con)):])
			}
			if want := "appeared " + serial + " size=1073741824 first=" + hex.EncodeToString(pattern); !strings.Contains(con, want) {
				return fmt.Errorf("the guest's line for the volume is not %q: %s", want, con[min(consoles[s], len(con)):])
			}
			return nil
		})
		t.Logf("server add volume (2.60) of the multiattach volume to %s, to the guest seeing it: %s", s, time.Since(start).Round(10*time.Millisecond))
	}
	vol = waitStatus("in-use", 2)
	ids := map[string]string{}
	for _, s := range servers {
		var sv map[string]any
		asJSON(&sv, "server", "show", s)
		ids[s] = sv["id"].(string)
		if !strings.Contains(fmt.Sprint(vol["attachments"]), ids[s]) {
			t.Errorf("shared's attachments lack %s (%s): %v", s, ids[s], vol["attachments"])
		}
	}

	for i, s := range servers {
		con := must("console", "log", "show", s)
		must("--os-compute-api-version", "2.60", "server", "remove", "volume", s, "shared")
		waitFor(t, p, s+" seeing the shared volume go", func() error {
			c := must("console", "log", "show", s)
			if !strings.Contains(c[min(len(con), len(c)):], "gone "+serial) {
				return fmt.Errorf("not yet: %s", c[min(len(con), len(c)):])
			}
			return nil
		})
		if i == 0 {
			vol = waitStatus("in-use", 1)
			if a := fmt.Sprint(vol["attachments"]); strings.Contains(a, ids[servers[0]]) || !strings.Contains(a, ids[servers[1]]) {
				t.Errorf("shared's attachments after the remove from %s: %v", s, vol["attachments"])
			}
			other := must("console", "log", "show", servers[1])
			if strings.Contains(other[min(consoles[servers[1]], len(other)):], "gone "+serial) {
				t.Errorf("%s lost the volume when it was removed from %s", servers[1], s)
			}
		}
	}
	waitStatus("available", 0)
	must("volume", "delete", "shared")
	waitFor(t, p, "shared deleted", func() error {
		if out, err := c.run("volume", "show", "shared"); err == nil {
			return fmt.Errorf("still there: %s", out)
		}
		return nil
	})
	must("volume", "type", "delete", "multi")
}
