package virttest

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/uuid"

	"github.com/gostack/gostack/compute/virt"
)

// RBD makes rbd volumes on a test's Ceph cluster (internal/cephtest
// starts one) for a driver's volume steps, as the network disks a
// driver attaches: Cinder's RBD connection info (name
// "<pool>/volume-<id>", the monitors, cephx user and secret uuid) made
// a virt.Disk by virt.VolumeDisk. The driver under test holds the key
// of SecretUUID (virt.RBDSecrets).
type RBD struct {
	Pool string
	// Hosts and Ports are the monitors as Cinder lists them (their
	// legacy addresses, from "ceph mon dump").
	Hosts, Ports []string
	// User is the cephx user the volumes are reached as, SecretUUID the
	// uuid its key has on the host.
	User, SecretUUID string
	// Run runs the rbd CLI with args as the cluster's admin (where the
	// cluster is: another network namespace's, say) and returns its
	// output.
	Run func(ctx context.Context, args ...string) ([]byte, error)
}

// Disk is a new volume of size bytes (a whole number of MiB) whose
// first bytes are data.
func (r RBD) Disk(t testing.TB, data []byte, size int64) virt.Disk {
	t.Helper()
	f := filepath.Join(t.TempDir(), "volume.raw")
	if err := os.WriteFile(f, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(f, size); err != nil {
		t.Fatal(err)
	}
	return r.ImageDisk(t, f)
}

// ImageDisk is a new volume holding the raw disk image at image (rbd
// import: the volume is the image's size), to boot from or read.
func (r RBD) ImageDisk(t testing.TB, image string) virt.Disk {
	t.Helper()
	return r.imageDisk(t, image, false)
}

// SharedDisk is a new multiattach volume of size bytes (a whole number
// of MiB) whose first bytes are data, as Cinder's RBD driver makes one:
// its image without exclusive-lock, object-map, fast-diff and journaling
// (_enable_multiattach), its connection info with Nova's "multiattach":
// true (Disk.Shareable).
func (r RBD) SharedDisk(t testing.TB, data []byte, size int64) virt.Disk {
	t.Helper()
	f := filepath.Join(t.TempDir(), "volume.raw")
	if err := os.WriteFile(f, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(f, size); err != nil {
		t.Fatal(err)
	}
	return r.imageDisk(t, f, true)
}

func (r RBD) imageDisk(t testing.TB, image string, multiattach bool) virt.Disk {
	t.Helper()
	id := uuid.NewString()
	name := r.Pool + "/volume-" + id
	if out, err := r.Run(context.Background(), "import", "--image-format", "2", image, name); err != nil {
		t.Fatalf("rbd import %s: %v: %s", name, err, out)
	}
	t.Cleanup(func() {
		// A test that failed may have left the volume attached.
		if out, err := r.Run(context.Background(), "rm", "--no-progress", name); err != nil && !t.Failed() {
			t.Errorf("rbd rm %s: %v: %s", name, err, out)
		}
	})
	// Cinder's RBDDriver.initialize_connection.
	info := map[string]any{"driver_volume_type": "rbd", "data": map[string]any{
		"name": name, "hosts": r.Hosts, "ports": r.Ports, "cluster_name": "ceph", "auth_enabled": true,
		"auth_username": r.User, "secret_type": "ceph", "secret_uuid": r.SecretUUID, "volume_id": id, "discard": true,
	}}
	if multiattach {
		// The features rbd import gave it, less those that let one
		// writer at a time.
		out, err := r.Run(context.Background(), "info", "--format", "json", name)
		if err != nil {
			t.Fatalf("rbd info %s: %v: %s", name, err, out)
		}
		var in struct {
			Features []string `json:"features"`
		}
		if err := json.Unmarshal(out, &in); err != nil {
			t.Fatalf("rbd info %s: %v: %s", name, err, out)
		}
		var off []string
		for _, f := range []string{"journaling", "fast-diff", "object-map", "exclusive-lock"} {
			if slices.Contains(in.Features, f) {
				off = append(off, f)
			}
		}
		if len(off) > 0 {
			if out, err := r.Run(context.Background(), append([]string{"feature", "disable", name}, off...)...); err != nil {
				t.Fatalf("rbd feature disable %s %v: %v: %s", name, off, err, out)
			}
		}
		info["multiattach"] = true
	}
	d, err := virt.VolumeDisk(info)
	if err != nil {
		t.Fatal(err)
	}
	return d
}
