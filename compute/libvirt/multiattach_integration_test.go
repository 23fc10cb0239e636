//go:build cgo

package libvirt

import (
	"encoding/json"
	"testing"

	"github.com/google/uuid"
	"libvirt.org/go/libvirt"

	"github.com/gostack/gostack/compute/virt"
	"github.com/gostack/gostack/compute/virt/virttest"
	"github.com/gostack/gostack/internal/testenv"
)

// TestMultiattachGuests: one multiattach iSCSI volume of a private tgtd
// in two tiny guests of the system libvirtd at once
// (virttest.Multiattach): what guest A writes guest B reads; after A's
// detach, B's running domain still has the disk, <shareable/>, and
// libvirt gave its QEMU device share-rw=on (read back with qom-get);
// B's detach takes it.
func TestMultiattachGuests(t *testing.T) {
	testenv.LookPath(t, "genisoimage", "genisoimage")
	dir := guestDirForQEMU(t)
	d := qemuDriver(t, dir)
	tg := iscsiTarget(t)
	data := []byte(uuid.NewString())
	virttest.Multiattach(t, d, dir, tg.SharedDisk(t, data), data, virttest.MultiattachHooks{
		Attached: func(t *testing.T, id string, v virt.Disk) {
			dom, err := parseDomain(domainXMLOf(t, d, id, true))
			if err != nil {
				t.Fatal(err)
			}
			disk := volumeDisk(dom, v.VolumeID())
			if disk == nil || disk.Shareable == nil || disk.Alias == nil {
				t.Fatalf("guest %s's running domain: volume %s's disk %+v, want it shareable", id, v.VolumeID(), disk)
			}
			c, done, err := d.connect()
			if err != nil {
				t.Fatal(err)
			}
			defer done()
			lv, err := c.LookupDomainByName(domainName(id))
			if err != nil {
				t.Fatal(err)
			}
			defer lv.Free()
			out, err := lv.QemuMonitorCommand(`{"execute":"qom-get","arguments":{"path":"/machine/peripheral/`+disk.Alias.Name+`","property":"share-rw"}}`,
				libvirt.DOMAIN_QEMU_MONITOR_COMMAND_DEFAULT)
			if err != nil {
				t.Fatal(err)
			}
			var r struct {
				Return bool `json:"return"`
			}
			if err := json.Unmarshal([]byte(out), &r); err != nil || !r.Return {
				t.Fatalf("share-rw of guest %s's device %s: %s (%v)", id, disk.Alias.Name, out, err)
			}
		},
	})
}
