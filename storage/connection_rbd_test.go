package storage_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/gostack/gostack/internal/testenv"
	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
	"github.com/gostack/gostack/storage"
)

// An RBD volume's connection info is Cinder's, as its RBD driver and its
// volume manager build it (python3-cinder run on the same volumes, its
// monitors read from the "mon dump" text by Cinder's own parser): one to
// five IPv4 and IPv6 monitors, with and without a cephx user, cluster
// names, attached modes, cacheable types, report_discard_supported and
// QoS specs; each through the provider_location the agent records.
func TestRBDConnectionDifferential(t *testing.T) {
	testenv.RequirePython(t, "cinder.volume.drivers.rbd", "python3-cinder")
	type qosSpec = struct {
		Consumer string             `json:"consumer"`
		Specs    map[string]*string `json:"specs"`
	}
	type pyCase struct {
		Pool         string   `json:"pool"`
		VolumeID     string   `json:"volume_id"`
		MonDump      string   `json:"mon_dump"`
		Cluster      string   `json:"cluster"`
		User         *string  `json:"user"`
		SecretUUID   string   `json:"secret_uuid"`
		AttachedMode string   `json:"attached_mode"`
		Cacheable    bool     `json:"cacheable"`
		Discard      bool     `json:"discard"`
		Size         int64    `json:"size"`
		QoS          *qosSpec `json:"qos"`
		hosts, ports []string
	}
	rng := rand.New(rand.NewPCG(15, 3))
	pick := func(xs ...string) string { return xs[rng.IntN(len(xs))] }
	var cases []pyCase
	for range 300 {
		c := pyCase{Pool: pick("volumes", "rbd", "cinder.volumes"), VolumeID: "0b8c5ad9-5d55-4b1e-9c5f-7ec1f1d3a0b2",
			Cluster: pick("ceph", "site-b"), SecretUUID: pick("457eb676-33da-42ec-9a8c-9293d545c337", "e8cd3a4e-e1b1-4f3e-b1a2-7b3c1c0a9f00"),
			AttachedMode: pick("", "rw", "ro"), Cacheable: rng.IntN(2) == 0, Discard: rng.IntN(2) == 0,
			Size: []int64{1, 2, 10, 100}[rng.IntN(4)]}
		if rng.IntN(4) != 0 {
			u := pick("cinder", "gostack", "volumes.user")
			c.User = &u
		}
		var mons []map[string]any
		for j := range 1 + rng.IntN(5) {
			h, p := fmt.Sprintf("10.%d.%d.%d", rng.IntN(256), rng.IntN(256), 1+rng.IntN(254)), pick("6789", "3300", "16789")
			addr := h + ":" + p
			if rng.IntN(3) == 0 {
				h = fmt.Sprintf("fd00::%x", rng.IntN(65536))
				addr = "[" + h + "]:" + p
			}
			c.hosts, c.ports = append(c.hosts, h), append(c.ports, p)
			mons = append(mons, map[string]any{"rank": j, "name": fmt.Sprint(j), "addr": addr + "/0", "public_addr": addr + "/0"})
		}
		dump, _ := json.Marshal(map[string]any{"epoch": 1, "mons": mons})
		c.MonDump = pick("", "dumped monmap epoch 1\n") + string(dump)
		c.QoS = generatedQoS(rng, pick)
		cases = append(cases, c)
	}
	raw := testenv.PythonJSON(t, "testdata/cinder_rbd_connection.py", cases)
	if len(raw) != len(cases) {
		t.Fatalf("%d answers for %d cases", len(raw), len(cases))
	}
	errs := 0
	for i, c := range cases {
		var want struct {
			Info  *storage.ConnectionInfo `json:"info"`
			Error string                  `json:"error"`
		}
		if err := json.Unmarshal(raw[i], &want); err != nil {
			t.Fatal(err)
		}
		x := storage.RBDExport{Name: c.Pool + "/volume-" + c.VolumeID, ClusterName: c.Cluster, SecretUUID: c.SecretUUID,
			Hosts: c.hosts, Ports: c.ports}
		if c.User != nil {
			x.User = *c.User
		}
		access := c.AttachedMode
		if access == "" {
			access = "rw"
		}
		o := storage.ConnectionOptions{AccessMode: access, Cacheable: c.Cacheable, Discard: c.Discard, Size: c.Size}
		if c.QoS != nil {
			o.QoS = &storage.QoSSpecs{ID: "q", Consumer: c.QoS.Consumer, Specs: c.QoS.Specs}
		}
		loc, omitted, err := x.Location()
		if err != nil || omitted != 0 {
			t.Fatalf("case %d: location %q, %d monitors left out, %v", i, loc, omitted, err)
		}
		got, err := storage.RBDConnection(c.VolumeID, loc, o)
		if want.Error != "" {
			errs++
			if err == nil {
				t.Errorf("case %d: %v, Cinder raises %s", i, got, want.Error)
			}
			continue
		}
		if err != nil {
			t.Errorf("case %d: %v, Cinder %v", i, err, want.Info)
			continue
		}
		if g, w := jsonOf(t, got), jsonOf(t, want.Info); g != w {
			t.Errorf("case %d (location %q):\n ours   %s\n Cinder %s", i, loc, g, w)
		}
	}
	t.Logf("%d cases, %d refused by both (QoS specs Cinder's int() refuses)", len(cases), errs)
}

// The provider_location of an RBD volume: read back as written; past
// Cinder's 256 characters the last monitors are left out, never the
// first, and Location says how many; a location where not even the
// first fits is refused (names of MaxRBDNames characters together
// always leave room for one); anything else is a server error, as
// Cinder's driver raising. The backend's reported monitors replace the
// location's in the connection info.
func TestRBDExport(t *testing.T) {
	x := storage.RBDExport{Name: "volumes/volume-0b8c5ad9-5d55-4b1e-9c5f-7ec1f1d3a0b2", ClusterName: "ceph", User: "gostack",
		SecretUUID: "457eb676-33da-42ec-9a8c-9293d545c337", Hosts: []string{"10.0.0.1", "fd00::2"}, Ports: []string{"6789", "3300"}}
	loc, omitted, err := x.Location()
	if err != nil || omitted != 0 {
		t.Fatalf("location %q: %d left out, %v", loc, omitted, err)
	}
	if want := "rbd name=volumes/volume-0b8c5ad9-5d55-4b1e-9c5f-7ec1f1d3a0b2 cluster=ceph user=gostack " +
		"secret_uuid=457eb676-33da-42ec-9a8c-9293d545c337 mons=10.0.0.1:6789,[fd00::2]:3300"; loc != want {
		t.Fatalf("location %q\nwant     %q", loc, want)
	}
	if !storage.IsRBDLocation(loc) || storage.IsRBDLocation("10.0.0.1:3260,1 iqn.x 1") {
		t.Error("IsRBDLocation")
	}
	back, err := storage.ParseRBDExport(loc)
	if err != nil || !reflect.DeepEqual(back, x) {
		t.Fatalf("parsed %+v %v", back, err)
	}
	for range 9 {
		x.Hosts, x.Ports = append(x.Hosts, "fd00:1234:5678:9abc:def0:1234:5678:9abc"), append(x.Ports, "6789")
	}
	loc, omitted, err = x.Location()
	if err != nil {
		t.Fatal(err)
	}
	back, err = storage.ParseRBDExport(loc)
	if len(loc) > 256 || err != nil || len(back.Hosts) < 2 || len(back.Hosts)+omitted != len(x.Hosts) || back.Hosts[0] != "10.0.0.1" {
		t.Errorf("a long location (%d, %d left out): %q %+v %v", len(loc), omitted, loc, back, err)
	}
	// The backend's monitors win.
	info, err := storage.RBDConnection("v", loc, storage.ConnectionOptions{RBDMonitors: []string{"10.0.0.9:6789", "[fd00::9]:3300"}})
	if err != nil || !reflect.DeepEqual(info.Data["hosts"], []string{"10.0.0.9", "fd00::9"}) ||
		!reflect.DeepEqual(info.Data["ports"], []string{"6789", "3300"}) {
		t.Errorf("with the backend's monitors: %v %v", info.Data, err)
	}
	if _, err := storage.RBDConnection("v", loc, storage.ConnectionOptions{RBDMonitors: []string{"fd00::9:3300"}}); fault.KindOf(err) != fault.Internal {
		t.Errorf("a bad reported monitor: %v", err)
	}
	// Names of MaxRBDNames characters together, a uuid volume: the
	// longest monitor fits; one more character, it does not.
	if storage.MaxRBDNames != 86 {
		t.Errorf("MaxRBDNames %d", storage.MaxRBDNames)
	}
	long := storage.RBDExport{Name: strings.Repeat("p", 30) + "/volume-0b8c5ad9-5d55-4b1e-9c5f-7ec1f1d3a0b2", ClusterName: strings.Repeat("c", 28),
		User: strings.Repeat("u", 28), SecretUUID: x.SecretUUID, Hosts: []string{"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "10.0.0.1"},
		Ports: []string{"65535", "6789"}}
	if loc, omitted, err := long.Location(); err != nil || len(loc) != 256 || omitted != 1 {
		t.Errorf("names of %d characters: %q (%d), %d left out, %v", storage.MaxRBDNames, loc, len(loc), omitted, err)
	}
	long.User += "u"
	if loc, _, err := long.Location(); err == nil {
		t.Errorf("names of %d characters: %q", storage.MaxRBDNames+1, loc)
	}
	if _, _, err := (storage.RBDExport{Name: "p/v", SecretUUID: "s"}).Location(); err == nil {
		t.Error("a location without monitors")
	}
	for _, bad := range []string{"rbd name=volumes/v cluster=ceph secret_uuid=s", "rbd name=v secret_uuid=s mons=h:1",
		"rbd name=p/v mons=h:1", "rbd name=p/v secret_uuid=s mons=h", "10.0.0.1:3260,1 iqn.x 1"} {
		_, err := storage.RBDConnection("v", bad, storage.ConnectionOptions{})
		if fault.KindOf(err) != fault.Internal || !strings.Contains(err.Error(), "provider_location") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

// An RBD volume's connection info takes the monitors its backend last
// reported, not those its provider_location recorded when it was made:
// a changed monitor map reaches the volumes made before it; a backend
// that reports none leaves the location's. A report with a bad monitor
// is refused and changes nothing.
func TestRBDConnectionMonitors(t *testing.T) {
	forEngine(t, func(t *testing.T, s *storage.Store, db *sqlstore.DB, feed *watch.Log) {
		ctx := context.Background()
		vol := mustCreate(t, s, alice, storage.VolumeCreate{Size: 1})
		if _, err := s.ReportVolume(ctx, defaultPool, vol.ID, storage.VolumeReport{Status: storage.VolumeCreating,
			ProviderLocation: "rbd name=volumes/volume-" + vol.ID + " cluster=ceph secret_uuid=s mons=10.0.0.1:6789"}); err != nil {
			t.Fatal(err)
		}
		hosts := func() any {
			t.Helper()
			info, err := s.InitializeConnection(ctx, alice, vol.ID, map[string]any{"host": "h", "initiator": "iqn.x"})
			if err != nil {
				t.Fatal(err)
			}
			return info.Data["hosts"]
		}
		if h := hosts(); !reflect.DeepEqual(h, []string{"10.0.0.1"}) {
			t.Errorf("hosts without reported monitors: %v", h)
		}
		b, err := s.Backend(ctx, defaultPool)
		if err != nil {
			t.Fatal(err)
		}
		r := b.Report
		r.RBDMonitors = []string{"10.0.0.2:6789", "[fd00::3]:6789"}
		if _, err := s.ReportBackend(ctx, defaultPool, r); err != nil {
			t.Fatal(err)
		}
		if h := hosts(); !reflect.DeepEqual(h, []string{"10.0.0.2", "fd00::3"}) {
			t.Errorf("hosts with reported monitors: %v", h)
		}
		before := snapshot(t, db, feed)
		for _, bad := range [][]string{{"10.0.0.2"}, {"fd00::3:6789"}, {"10.0.0.2:0"}, {"a b:1"}} {
			r.RBDMonitors = bad
			if _, err := s.ReportBackend(ctx, defaultPool, r); fault.KindOf(err) != fault.BadRequest {
				t.Errorf("monitors %q: %v", bad, err)
			}
		}
		before.same(t, db, feed)
	})
}
