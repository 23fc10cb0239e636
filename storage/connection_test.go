package storage_test

import (
	"encoding/json"
	"errors"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/gostack/gostack/internal/testenv"
	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/storage"
)

// Cinder's own examples (cinder/tests/unit/targets/targets_fixture.py
// and test_base_iscsi_driver.py), and a provider_location as Cinder's
// tgt helper and storage/agent write it.
func TestParseISCSIExport(t *testing.T) {
	const volID = "ed2c2222-5fc0-11e4-aa15-123b93f75cba"
	const iqn = "iqn.2010-10.org.openstack:volume-" + volID
	const auth = "CHAP stack-1-a60e2611875f40199931f2c76370d66b 2FE0CQ8J196R"
	for _, c := range []struct {
		name, location, auth string
		multipath            bool
		want                 map[string]any
	}{
		{"fixture", "10.10.7.1:3260 " + iqn + " 0", auth, false, map[string]any{
			"auth_method": "CHAP", "auth_password": "2FE0CQ8J196R", "auth_username": "stack-1-a60e2611875f40199931f2c76370d66b",
			"encrypted": false, "target_discovered": false, "target_iqn": iqn, "target_lun": 0,
			"target_portal": "10.10.7.1:3260", "volume_id": volID}},
		{"multiple targets", "10.10.7.1:3260;10.10.8.1:3260 " + iqn + " 0", auth, false, map[string]any{
			"auth_method": "CHAP", "auth_password": "2FE0CQ8J196R", "auth_username": "stack-1-a60e2611875f40199931f2c76370d66b",
			"encrypted": false, "target_discovered": false, "target_iqn": iqn, "target_lun": 0,
			"target_portal": "10.10.7.1:3260", "volume_id": volID,
			"target_portals": []string{"10.10.7.1:3260", "10.10.8.1:3260"}, "target_iqns": []string{iqn, iqn}, "target_luns": []int{0, 0}}},
		{"tgt with tid, multipath", "192.168.1.5:3260,3 " + iqn + " 1", "", true, map[string]any{
			"encrypted": false, "target_discovered": false, "target_iqn": iqn, "target_lun": 1, "target_portal": "192.168.1.5:3260",
			"volume_id": volID, "target_portals": []string{"192.168.1.5:3260"}, "target_iqns": []string{iqn}, "target_luns": []int{1}}},
		// targets_fixture's target_string: no LUN, read as 0.
		{"no lun", "127.0.0.1:3260,1 " + iqn, "", false, map[string]any{
			"encrypted": false, "target_discovered": false, "target_iqn": iqn, "target_lun": 0, "target_portal": "127.0.0.1:3260",
			"volume_id": volID}},
		// targets_fixture's testvol_2: no space before the IQN, which
		// Cinder then reads as the portal.
		{"testvol_2", "10.9.8.7:3260" + iqn + " 2", auth, false, map[string]any{
			"auth_method": "CHAP", "auth_password": "2FE0CQ8J196R", "auth_username": "stack-1-a60e2611875f40199931f2c76370d66b",
			"encrypted": false, "target_discovered": false, "target_iqn": "2", "target_lun": 0,
			"target_portal": "10.9.8.7:3260" + iqn, "volume_id": volID}},
	} {
		t.Run(c.name, func(t *testing.T) {
			x, err := storage.ParseISCSIExport(c.location, c.auth)
			if err != nil {
				t.Fatal(err)
			}
			if got := x.Properties(volID, c.multipath); !reflect.DeepEqual(got, c.want) {
				t.Fatalf("properties\n got  %v\n want %v", got, c.want)
			}
		})
	}
	for _, c := range []struct{ location, auth string }{
		{"", ""},                                  // never exported: Cinder's discovery cannot find it
		{"10.0.0.1:3260,1", ""},                   // no IQN
		{"10.0.0.1:3260,1 iqn.x 1", "CHAP user"},  // two words
		{"10.0.0.1:3260,1 iqn.x 1", "CHAP u p x"}, // four
	} {
		if _, err := storage.ParseISCSIExport(c.location, c.auth); err == nil || fault.KindOf(err) != fault.Internal {
			t.Errorf("location %q auth %q: %v, want a server error", c.location, c.auth, err)
		}
	}
}

// The connection info is Cinder's, as its LVM driver with the tgt target
// and its volume manager build it (python3-cinder run on the same
// volumes): generated locations and auths, multipath, attached modes,
// cacheable types and report_discard_supported.
func TestISCSIConnectionDifferential(t *testing.T) {
	testenv.RequirePython(t, "cinder.volume.targets.tgt", "python3-cinder")
	type pyCase struct {
		Location     string `json:"location"`
		Auth         string `json:"auth"`
		VolumeID     string `json:"volume_id"`
		Multipath    any    `json:"multipath"`
		AttachedMode string `json:"attached_mode"`
		Cacheable    bool   `json:"cacheable"`
		Discard      bool   `json:"discard"`
		Size         int64  `json:"size"`
		QoS          *struct {
			Consumer string             `json:"consumer"`
			Specs    map[string]*string `json:"specs"`
		} `json:"qos"`
	}
	rng := rand.New(rand.NewPCG(15, 27))
	pick := func(xs ...string) string { return xs[rng.IntN(len(xs))] }
	var cases []pyCase
	for range 400 {
		portal := pick("10.0.0.5:3260", "[fd00::5]:3260", "10.0.0.5:3260;10.0.1.5:3260", "h", "10.0.0.5:3260;[fd00::5]:3261;10.0.2.5:3262")
		loc := portal + pick(",1", ",17", "", ",") + pick(" ", "  ") + pick("iqn.2010-10.org.openstack:volume-a", "iqn.x", "") +
			pick("", " 1", " 0", " 7", " x", " 1_0", " -3", " +2", " 1 extra", " ")
		if loc == "" {
			continue
		}
		c := pyCase{Location: loc, Auth: pick("", "CHAP user pass", "CHAP  u\tp", "CHAP u", "None a b c"),
			VolumeID: "a", Multipath: []any{false, true, nil, 0, 1, "", "yes"}[rng.IntN(7)], AttachedMode: pick("", "rw", "ro"),
			Cacheable: rng.IntN(2) == 0, Discard: rng.IntN(2) == 0, Size: []int64{1, 2, 10, 100, 1 << 20}[rng.IntN(5)]}
		c.QoS = generatedQoS(rng, pick)
		cases = append(cases, c)
	}
	// QoS specs over an export Cinder reads.
	for range 600 {
		c := pyCase{Location: "10.0.0.5:3260,1 iqn.x 1", Auth: "CHAP u p", VolumeID: "a", AttachedMode: "rw",
			Size: []int64{1, 3, 10, 500, 1 << 40}[rng.IntN(5)]}
		if c.QoS = generatedQoS(rng, pick); c.QoS == nil {
			continue
		}
		cases = append(cases, c)
	}
	raw := testenv.PythonJSON(t, "testdata/cinder_connection.py", cases)
	if len(raw) != len(cases) {
		t.Fatalf("%d answers for %d cases", len(raw), len(cases))
	}
	truthy := map[string]bool{"true": true, "1": true, `"yes"`: true}
	errs, withQoS := 0, 0
	for i, c := range cases {
		var want struct {
			Info  *storage.ConnectionInfo `json:"info"`
			Error string                  `json:"error"`
		}
		if err := json.Unmarshal(raw[i], &want); err != nil {
			t.Fatal(err)
		}
		mp, _ := json.Marshal(c.Multipath)
		access := c.AttachedMode
		if access == "" {
			access = "rw"
		}
		o := storage.ConnectionOptions{AccessMode: access, Cacheable: c.Cacheable, Discard: c.Discard, Multipath: truthy[string(mp)],
			Size: c.Size}
		if c.QoS != nil {
			o.QoS = &storage.QoSSpecs{ID: "q", Consumer: c.QoS.Consumer, Specs: c.QoS.Specs}
		}
		got, err := storage.ISCSIConnection(c.VolumeID, c.Location, c.Auth, o)
		if want.Error != "" {
			errs++
			if err == nil {
				t.Errorf("case %+v: %v, Cinder raises %s", c, got, want.Error)
			}
			continue
		}
		if err != nil {
			t.Errorf("case %+v: %v, Cinder %v", c, err, want.Info)
			continue
		}
		if want.Info.Data["qos_specs"] != nil {
			withQoS++
		}
		if g, w := jsonOf(t, got), jsonOf(t, want.Info); g != w {
			t.Errorf("case %+v:\n ours   %s\n Cinder %s", c, g, w)
		}
	}
	t.Logf("%d cases, %d refused by both, %d with front-end QoS specs", len(cases), errs, withQoS)
}

// generatedQoS is nil or QoS specs of a random consumer with some of
// the keys Cinder's volume manager scales, integers, nulls and values
// Python's int() refuses.
func generatedQoS(rng *rand.Rand, pick func(...string) string) *struct {
	Consumer string             `json:"consumer"`
	Specs    map[string]*string `json:"specs"`
} {
	if rng.IntN(5) == 0 {
		return nil
	}
	q := &struct {
		Consumer string             `json:"consumer"`
		Specs    map[string]*string `json:"specs"`
	}{Consumer: pick("front-end", "both", "back-end", "front-end"), Specs: map[string]*string{}}
	opts := []string{"read_iops_sec", "read_bytes_sec", "write_iops_sec", "write_bytes_sec", "total_iops_sec", "total_bytes_sec"}
	for range rng.IntN(6) {
		key := opts[rng.IntN(len(opts))] + pick("", "_per_gb", "_per_gb", "_per_gb_min", "_max", "_per_gb_max")
		if rng.IntN(6) == 0 {
			key = pick("read_iops_sec_max_length", "size_iops_sec", "custom:key")
		}
		var v *string
		if rng.IntN(25) != 0 {
			s := pick("100", "0", "7", "1000", " 25 ", "+3", "1_0", "-5", "99999999999999999999", "10")
			if rng.IntN(30) == 0 {
				s = pick("x", "1.5", "", "1__0")
			}
			v = &s
		}
		q.Specs[key] = v
	}
	return q
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var m any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	b, _ = json.Marshal(m)
	return string(b)
}

// A v3 attachment keeps the connection info flat, as Cinder's volume
// manager does: the data's keys with driver_volume_type and
// attachment_id.
func TestConnectionInfoFlat(t *testing.T) {
	c, err := storage.ISCSIConnection("v1", "10.0.0.1:3260,1 iqn.x 1", "CHAP u p", storage.ConnectionOptions{AccessMode: "ro"})
	if err != nil {
		t.Fatal(err)
	}
	flat := c.Flat("a1")
	want := `{"access_mode":"ro","attachment_id":"a1","auth_method":"CHAP","auth_password":"p","auth_username":"u",` +
		`"cacheable":false,"driver_volume_type":"iscsi","encrypted":false,"qos_specs":null,"target_discovered":false,` +
		`"target_iqn":"iqn.x","target_lun":1,"target_portal":"10.0.0.1:3260","volume_id":"v1"}`
	if got := jsonOf(t, flat); got != want {
		t.Fatalf("flat %s\nwant %s", got, want)
	}
	if _, ok := c.Data["attachment_id"]; ok {
		t.Fatal("Flat changed the data")
	}
	_, err = storage.ISCSIConnection("v1", "", "", storage.ConnectionOptions{})
	var fe *fault.Error
	if !errors.As(err, &fe) || fe.Type != "VolumeBackendAPIException" {
		t.Fatalf("no export: %v", err)
	}
}
