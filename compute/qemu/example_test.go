package qemu_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/google/uuid"

	"github.com/gostack/gostack/compute/qemu"
	"github.com/gostack/gostack/compute/virt"
)

// A guest from spawn to destroy. Guests outlive the Driver: a new one
// over the same StateDir lists them and drives them.
func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "qemu-")
	defer os.RemoveAll(dir)
	d, err := qemu.New(qemu.Config{StateDir: dir, Accel: "tcg"})
	if err != nil {
		fmt.Println(err)
		return
	}
	id := uuid.NewString()
	// No disk: SeaBIOS boots and waits. A real guest has Disk, Ports and
	// ConfigISO.
	if err := d.Spawn(ctx, virt.Guest{ID: id, Name: "tiny", VCPUs: 1, MemoryMB: 64}); err != nil {
		fmt.Println(err)
		return
	}
	defer d.Destroy(ctx, id)

	st, _ := d.State(ctx, id)
	fmt.Println(st == virt.PowerRunning)
	_ = virt.Suspend(ctx, d, id) // memory saved in StateDir/<id>/memory.state, QEMU gone
	st, _ = d.State(ctx, id)
	fmt.Println(st == virt.PowerSuspended)
	_ = virt.Resume(ctx, d, id)

	again, _ := qemu.New(qemu.Config{StateDir: dir, Accel: "tcg"}) // the agent restarted
	list, _ := again.List(ctx)
	fmt.Println(len(list), list[0].Power == virt.PowerRunning)
}

// A volume attached to a running guest and detached again: the
// connection info is what the volume service gave (Cinder's
// initialize_connection, as Nova receives it). The guest finds the disk
// as /dev/disk/by-id/virtio-<the volume id's first 20 characters>.
func ExampleDriver_AttachVolume() {
	ctx := context.Background()
	d, err := qemu.New(qemu.Config{StateDir: "/var/lib/gostack/qemu", InitiatorName: "iqn.1993-08.org.debian:01:compute-1"})
	if err != nil {
		fmt.Println(err)
		return
	}
	info := map[string]any{"driver_volume_type": "iscsi", "data": map[string]any{
		"target_portal": "192.0.2.10:3260", "target_iqn": "iqn.2010-10.org.openstack:volume-5e0a1c2d-3b4f-4a5e-8f70-9a1b2c3d4e5f",
		"target_lun": 1, "volume_id": "5e0a1c2d-3b4f-4a5e-8f70-9a1b2c3d4e5f",
		"auth_method": "CHAP", "auth_username": "Zq8dW2nKp4Lm9Xv3Tb7R", "auth_password": "hJ6sQ1yU8eR4tY0w",
	}}
	v, err := virt.VolumeDisk(info)
	if err != nil {
		fmt.Println(err)
		return
	}
	id := "6b0a7d3e-2f41-4c8e-9d2a-51f3c0e8a7b4" // a running guest
	if err := virt.AttachVolume(ctx, d, id, v); err != nil {
		fmt.Println(err) // a wrong password: the target's "Authentication failure", the guest unchanged
		return
	}
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second) // how long the guest may take to let the disk go
	defer cancel()
	if err := virt.DetachVolume(dctx, d, id, v.VolumeID()); err != nil {
		fmt.Println(err)
	}
}
