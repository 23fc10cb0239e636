package iscsi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net/netip"
	"os"
	"time"

	"github.com/gostack/gostack/storage/iscsi"
)

// A volume host: a 1 GiB volume as a sparse file, exported through the
// host's tgtd (started if none runs) to one compute host. Keep c.CHAP
// with the volume (Cinder's provider_auth): Reconcile needs it to export
// the volume again after tgtd restarts. Run as root.
func Example() {
	ctx := context.Background()
	files := iscsi.Files{Dir: "/var/lib/gostack/volumes"}
	e := &iscsi.Exporter{
		Dir:    "/var/lib/gostack/tgt",
		Portal: netip.MustParseAddrPort("192.0.2.10:3260"),
		Listen: netip.MustParseAddrPort("0.0.0.0:3260"),
	}
	id := "5b4c1e2a-8f0d-4c5e-9a51-0b7e6d3c2f10"
	path, err := files.Create(ctx, id, 1<<30)
	if err != nil {
		log.Fatal(err)
	}
	c, err := e.Export(ctx, iscsi.Export{
		VolumeID:   id,
		Path:       path,
		Initiators: []string{"iqn.1994-05.com.redhat:compute1"},
	})
	if err != nil {
		log.Fatal(err)
	}
	info, _ := json.Marshal(c.Info()) // initialize_connection's answer, for Nova
	os.Stdout.Write(info)
}

// The volume agent: at start and then every minute, tgtd is made to
// export exactly the volumes the agent has, with their stored
// credentials. A tgtd that died is started again, and its targets made
// again; targets of deleted volumes go.
func ExampleExporter_Reconcile() {
	ctx := context.Background()
	e := &iscsi.Exporter{Dir: "/var/lib/gostack/tgt", Portal: netip.MustParseAddrPort("192.0.2.10:3260")}
	want := func() []iscsi.Export {
		// From the agent's store: each exported volume's path and
		// credentials (and ACL, if it has one).
		return []iscsi.Export{{
			VolumeID: "5b4c1e2a-8f0d-4c5e-9a51-0b7e6d3c2f10",
			Path:     "/var/lib/gostack/volumes/volume-5b4c1e2a-8f0d-4c5e-9a51-0b7e6d3c2f10",
			CHAP:     iscsi.CHAP{Username: "Xq3yZ8pLm2Nc7RvT4bWd", Password: "hR2kW9sD4fG7jL1m"},
		}}
	}
	for {
		if _, err := e.Reconcile(ctx, want()); err != nil {
			log.Print(err) // one volume's failure does not stop the others
		}
		time.Sleep(time.Minute)
	}
}

// The connection info of an exported volume, as Nova and os-brick take
// it.
func ExampleConnection_Info() {
	c := iscsi.Connection{
		VolumeID: "5b4c1e2a-8f0d-4c5e-9a51-0b7e6d3c2f10",
		IQN:      "iqn.2010-10.org.openstack:volume-5b4c1e2a-8f0d-4c5e-9a51-0b7e6d3c2f10",
		Portal:   netip.MustParseAddrPort("192.0.2.10:3260"),
		LUN:      iscsi.LUN1,
		CHAP:     iscsi.CHAP{Username: "Xq3yZ8pLm2Nc7RvT4bWd", Password: "hR2kW9sD4fG7jL1m"},
	}
	b, _ := json.MarshalIndent(c.Info(), "", "  ")
	fmt.Println(string(b))
	fmt.Println(c) // no password
	// Output:
	// {
	//   "data": {
	//     "auth_method": "CHAP",
	//     "auth_password": "hR2kW9sD4fG7jL1m",
	//     "auth_username": "Xq3yZ8pLm2Nc7RvT4bWd",
	//     "target_discovered": false,
	//     "target_iqn": "iqn.2010-10.org.openstack:volume-5b4c1e2a-8f0d-4c5e-9a51-0b7e6d3c2f10",
	//     "target_lun": 1,
	//     "target_portal": "192.0.2.10:3260",
	//     "volume_id": "5b4c1e2a-8f0d-4c5e-9a51-0b7e6d3c2f10"
	//   },
	//   "driver_volume_type": "iscsi"
	// }
	// 5b4c1e2a-8f0d-4c5e-9a51-0b7e6d3c2f10 iqn.2010-10.org.openstack:volume-5b4c1e2a-8f0d-4c5e-9a51-0b7e6d3c2f10/1 at 192.0.2.10:3260 (CHAP{Xq3yZ8pLm2Nc7RvT4bWd ***})
}
