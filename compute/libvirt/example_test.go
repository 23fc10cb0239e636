//go:build cgo

package libvirt_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/gostack/gostack/compute/libvirt"
	"github.com/gostack/gostack/compute/virt"
)

// A guest's life on libvirt's in-process test driver; a compute host
// uses the default URI, qemu:///system.
func Example() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "libvirt-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	d, err := libvirt.New(ctx, libvirt.Config{URI: "test:///default", StateDir: dir})
	if err != nil {
		log.Fatal(err)
	}
	defer d.Close()

	g := virt.Guest{
		ID: "0b8f4a7e-3f5d-4c2a-9e1b-7d6c5b4a3f21", Name: "web-1", VCPUs: 1, MemoryMB: 512,
		Disk:  virt.Disk{Path: "/var/lib/gostack/instances/web-1/disk", Format: "qcow2"},
		Ports: []virt.GuestPort{{ID: "5f2c8e1a-6b3d-4f7e-8a9c-1d2e3f4a5b6c", MAC: "fa:16:3e:00:00:01", Bridge: "br-int", MTU: 1450}},
	}
	if err := d.Spawn(ctx, g); err != nil {
		log.Fatal(err)
	}
	// Optional abilities go through virt's helpers.
	if err := virt.Pause(ctx, d, g.ID); err != nil {
		log.Fatal(err)
	}
	list, err := d.List(ctx) // only gostack's domains
	if err != nil {
		log.Fatal(err)
	}
	for _, s := range list {
		fmt.Println(s.ID, s.Name, s.Power == virt.PowerPaused)
	}
	if err := d.Destroy(ctx, g.ID); err != nil {
		log.Fatal(err)
	}
	fmt.Println(d.Info().Name, d.DomainType())
	// Output:
	// 0b8f4a7e-3f5d-4c2a-9e1b-7d6c5b4a3f21 web-1 true
	// libvirt test
}

// Factory registers the driver by name, for a compute agent that reads
// its driver and settings from configuration.
func ExampleFactory() {
	var drivers virt.Drivers
	if err := drivers.Register("libvirt", libvirt.Factory); err != nil {
		log.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "libvirt-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	d, err := drivers.Open(context.Background(), "libvirt", map[string]string{"uri": "test:///default", "state_dir": dir})
	if err != nil {
		log.Fatal(err)
	}
	defer d.(*libvirt.Driver).Close()
	info := d.Info()
	fmt.Println(info.Name, info.HypervisorType, info.Pause, info.Suspend, info.ConsoleLog)
	// Output: libvirt TEST true true true
}

// A volume attached to a running guest, its CHAP password only in a
// libvirt secret, and detached again (on qemu:///system: the test
// driver has no secrets).
func ExampleDriver_AttachVolume() {
	ctx := context.Background()
	d, err := libvirt.New(ctx, libvirt.Config{StateDir: "/var/lib/gostack/instances"})
	if err != nil {
		log.Fatal(err)
	}
	defer d.Close()
	v, err := virt.VolumeDisk(map[string]any{"driver_volume_type": "iscsi", "data": map[string]any{
		"target_portal": "192.0.2.10:3260", "target_iqn": "iqn.2010-10.org.openstack:volume-5e0a1c2d-3b4f-4a5e-8f70-9a1b2c3d4e5f",
		"target_lun": 1, "volume_id": "5e0a1c2d-3b4f-4a5e-8f70-9a1b2c3d4e5f",
		"auth_method": "CHAP", "auth_username": "Zq8dW2nKp4Lm9Xv3Tb7R", "auth_password": "hJ6sQ1yU8eR4tY0w",
	}})
	if err != nil {
		log.Fatal(err)
	}
	id := "0b8f4a7e-3f5d-4c2a-9e1b-7d6c5b4a3f21"
	if err := virt.AttachVolume(ctx, d, id, v); err != nil {
		log.Fatal(err)
	}
	if err := virt.DetachVolume(ctx, d, id, v.VolumeID()); err != nil { // ErrStillAttached if the guest holds on
		log.Fatal(err)
	}
}
