package virt_test

import (
	"context"
	"fmt"

	"github.com/gostack/gostack/compute/virt"
)

// A volume's connection info, as Nova receives it from Cinder, made the
// network disk a driver attaches; the password never prints.
func ExampleVolumeDisk() {
	info := map[string]any{
		"driver_volume_type": "iscsi",
		"data": map[string]any{
			"target_portal": "192.0.2.10:3260", "target_iqn": "iqn.2010-10.org.openstack:volume-5e0a1c2d",
			"target_lun": 1, "target_discovered": false, "volume_id": "5e0a1c2d-3b4f-4a5e-8f70-9a1b2c3d4e5f",
			"auth_method": "CHAP", "auth_username": "Zq8dW2nKp4Lm9Xv3Tb7R", "auth_password": "hJ6sQ1yU8eR4tY0w",
		},
	}
	d, err := virt.VolumeDisk(info)
	if err != nil {
		panic(err)
	}
	target, err := d.ISCSI()
	if err != nil {
		panic(err)
	}
	fmt.Println(d.VolumeID())
	fmt.Println(target)
	// A driver without volumes answers ErrNotSupported.
	var drv virt.Driver = &minimal{guests: map[string]virt.PowerState{}}
	fmt.Println(virt.AttachVolume(context.Background(), drv, "g1", d))
	// Output:
	// 5e0a1c2d-3b4f-4a5e-8f70-9a1b2c3d4e5f
	// iqn.2010-10.org.openstack:volume-5e0a1c2d/1 at 192.0.2.10:3260 (CHAP user Zq8dW2nKp4Lm9Xv3Tb7R)
	// minimal: attach volume: compute/virt: not supported by this driver
}
