package storage_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
	"github.com/gostack/gostack/storage"
)

// A volume's life in the Store, on SQLite: a pool's agent reports its
// capacity, a create is placed on the pool, the agent makes the volume
// and says so, an extend is refused past the pool's room and done
// within it, and a delete ends with the agent's report.
func Example() {
	dir, _ := os.MkdirTemp("", "storage-example-")
	defer os.RemoveAll(dir)
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, "sqlite://"+filepath.Join(dir, "s.db"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer db.Close()
	if err := db.Migrate(ctx, watch.Migrations(), storage.Migrations()); err != nil {
		fmt.Println(err)
		return
	}
	s := storage.NewStore(db, watch.New(db))
	demo := storage.Viewer{Project: "demo"}

	// The volume agent of node1's lvm backend reports its pool.
	const pool = "node1@lvm#vg0"
	if _, err := s.ReportBackend(ctx, pool, storage.BackendReport{VolumeBackendName: "lvm",
		TotalCapacityGB: storage.GB(100), FreeCapacityGB: storage.GB(100)}); err != nil {
		fmt.Println(err)
		return
	}

	name := "data"
	vol, err := s.CreateVolume(ctx, demo, storage.VolumeCreate{ID: "3f1a6c0e-7b8d-4e21-9c55-0d2e8f4b6a17",
		UserID: "alice", Name: &name, Size: 10})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(*vol.Name, vol.Size, vol.Status, vol.Host, vol.AvailabilityZone)

	// The agent follows the feed, reads its pool's volumes and makes them.
	st, _ := s.BackendState(ctx, pool)
	for _, v := range st.Volumes {
		if v.Status == storage.VolumeCreating {
			v, err = s.ReportVolume(ctx, pool, v.ID, storage.VolumeReport{Status: v.Status,
				ProviderLocation: "iqn.2010-10.org.openstack:volume-" + v.ID + " 1"})
			fmt.Println(v.Status, err)
		}
	}

	_, err = s.ExtendVolume(ctx, demo, vol.ID, 200)
	fmt.Println(fault.KindOf(err), err)
	vol, _ = s.ExtendVolume(ctx, demo, vol.ID, 20)
	vol, _ = s.ReportVolume(ctx, pool, vol.ID, storage.VolumeReport{Status: vol.Status, Size: vol.NewSize})
	fmt.Println(vol.Status, vol.Size)

	used, _ := s.QuotaUsage(ctx, "demo")
	fmt.Println("gigabytes used:", used[storage.QuotaGigabytes])

	vol, _ = s.DeleteVolume(ctx, demo, vol.ID, storage.DeleteOptions{})
	vol, _ = s.ReportVolume(ctx, pool, vol.ID, storage.VolumeReport{Status: vol.Status})
	fmt.Println(vol.Status)
	_, err = s.Volume(ctx, demo, vol.ID)
	fmt.Println(fault.KindOf(err))
	// Output:
	// data 10 creating node1@lvm#vg0 nova
	// available <nil>
	// conflict No valid backend was found. Cannot place volume 3f1a6c0e-7b8d-4e21-9c55-0d2e8f4b6a17 on node1@lvm#vg0.
	// available 20
	// gigabytes used: 20
	// deleted
	// not found
}

// A volume attached to a server as Nova does it with Cinder's v3
// attachments: a reserve, the update with the host's connector (the
// connection info comes from the volume's export, as Cinder's tgt
// target answers it), the completion, and the delete.
func ExampleStore_CreateAttachment() {
	dir, _ := os.MkdirTemp("", "storage-example-")
	defer os.RemoveAll(dir)
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, "sqlite://"+filepath.Join(dir, "s.db"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer db.Close()
	if err := db.Migrate(ctx, watch.Migrations(), storage.Migrations()); err != nil {
		fmt.Println(err)
		return
	}
	s := storage.NewStore(db, watch.New(db))
	demo := storage.Viewer{Project: "demo"}
	const pool = "node1@lvm#vg0"
	if _, err := s.ReportBackend(ctx, pool, storage.BackendReport{VolumeBackendName: "lvm",
		TotalCapacityGB: storage.GB(100), FreeCapacityGB: storage.GB(100)}); err != nil {
		fmt.Println(err)
		return
	}
	vol, err := s.CreateVolume(ctx, demo, storage.VolumeCreate{ID: "3f1a6c0e-7b8d-4e21-9c55-0d2e8f4b6a17", Size: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	// The agent made it and exported it through tgtd.
	if _, err := s.ReportVolume(ctx, pool, vol.ID, storage.VolumeReport{Status: vol.Status,
		ProviderLocation: "10.0.0.5:3260,1 iqn.2010-10.org.openstack:volume-" + vol.ID + " 1",
		ProviderAuth:     "CHAP Zx8bYvQ2 Secret123"}); err != nil {
		fmt.Println(err)
		return
	}

	const server = "9d1c7a52-3e4f-4b6a-8c2d-1f0e9a8b7c6d"
	att, err := s.CreateAttachment(ctx, demo, storage.AttachmentCreate{VolumeID: vol.ID, InstanceUUID: server})
	fmt.Println(att.AttachStatus, err)
	_, err = s.CreateAttachment(ctx, demo, storage.AttachmentCreate{VolumeID: vol.ID, InstanceUUID: server[:35] + "e"})
	fmt.Println(err)

	att, _ = s.UpdateAttachment(ctx, demo, att.ID, map[string]any{"initiator": "iqn.1993-08.org.debian:01:cad181614cec", "host": "node2"})
	info := att.ConnectionInfo
	fmt.Println(att.AttachStatus, info["driver_volume_type"], info["target_portal"], info["target_iqn"], info["target_lun"], info["auth_username"])

	att, _ = s.CompleteAttachment(ctx, demo, att.ID)
	vol, _ = s.Volume(ctx, demo, vol.ID)
	fmt.Println(att.AttachStatus, vol.Status, len(vol.Attachments))

	left, _ := s.DeleteAttachment(ctx, demo, att.ID)
	vol, _ = s.Volume(ctx, demo, vol.ID)
	fmt.Println(len(left), vol.Status, vol.AttachStatus)
	// Output:
	// reserved <nil>
	// Invalid volume: Volume 3f1a6c0e-7b8d-4e21-9c55-0d2e8f4b6a17 status must be available or downloading to reserve, but the current status is reserved.
	// attaching iscsi 10.0.0.5:3260 iqn.2010-10.org.openstack:volume-3f1a6c0e-7b8d-4e21-9c55-0d2e8f4b6a17 1 Zx8bYvQ2
	// attached in-use 1
	// 0 available detached
}

// A retype that migrates (Cinder's os-retype with the on-demand
// policy): the volume's type asks for another backend, so the volume
// goes to retyping, the destination pool's agent makes its copy, the
// data is copied, the volume moves, and the old pool's agent removes
// the old copy. With the never policy it would have stayed where it
// was, with a message saying why.
func ExampleStore_RetypeVolume() {
	dir, _ := os.MkdirTemp("", "storage-example-")
	defer os.RemoveAll(dir)
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, "sqlite://"+filepath.Join(dir, "s.db"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer db.Close()
	if err := db.Migrate(ctx, watch.Migrations(), storage.Migrations()); err != nil {
		fmt.Println(err)
		return
	}
	s := storage.NewStore(db, watch.New(db))
	demo := storage.Viewer{Project: "demo"}
	const lvm, ceph = "node1@lvm#vg0", "node1@rbd#volumes"
	for host, name := range map[string]string{lvm: "lvm", ceph: "rbd"} {
		s.ReportBackend(ctx, host, storage.BackendReport{VolumeBackendName: name, TotalCapacityGB: storage.GB(100), FreeCapacityGB: storage.GB(100)})
		s.CreateVolumeType(ctx, storage.VolumeTypeCreate{Name: name, ExtraSpecs: map[string]string{storage.SpecBackendName: name}})
	}
	vol, _ := s.CreateVolume(ctx, demo, storage.VolumeCreate{UserID: "alice", Size: 1, VolumeType: "lvm"})
	s.ReportVolume(ctx, lvm, vol.ID, storage.VolumeReport{Status: storage.VolumeCreating,
		ProviderLocation: "192.0.2.5:3260,1 iqn.2010-10.org.openstack:volume-" + vol.ID + " 1", ProviderAuth: "CHAP u p"})

	vol, err = s.RetypeVolume(ctx, demo, vol.ID, storage.VolumeRetypeRequest{NewType: "rbd", MigrationPolicy: storage.MigrationOnDemand})
	fmt.Println(vol.Status, vol.Retype.Phase, vol.Retype.DestHost, err)
	// The destination's agent made its copy; the copy, then the removal
	// of the old one, are reported by the agents VolumeRetype names.
	vol, _ = s.ReportVolume(ctx, ceph, vol.ID, storage.VolumeReport{Status: storage.VolumeRetyping, Retype: storage.RetypeCreate,
		ProviderLocation: "rbd name=volumes/volume-" + vol.ID + " cluster=ceph secret_uuid=457eb676-33da-42ec-9a8c-9293d545c337 mons=192.0.2.9:6789"})
	fmt.Println(vol.Retype.Phase, vol.Retype.Copier(vol.ProviderLocation))
	vol, _ = s.ReportVolume(ctx, ceph, vol.ID, storage.VolumeReport{Status: storage.VolumeRetyping, Retype: storage.RetypeCopy})
	fmt.Println(vol.Status, vol.Host, vol.Retype.Phase)
	vol, _ = s.ReportVolume(ctx, lvm, vol.ID, storage.VolumeReport{Status: storage.VolumeRetyping, Retype: storage.RetypeCleanup})
	fmt.Println(vol.Status, vol.Retype == nil)
	// Output:
	// retyping create node1@rbd#volumes <nil>
	// copy destination
	// available node1@rbd#volumes cleanup
	// available true
}
