package rbd

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/gostack/gostack/internal/testenv"
)

// The monitors' addresses and the pool's capacity, against Cinder's own
// RBDDriver._get_mon_addrs and _get_pool_stats (python3-cinder) on the
// same "mon dump", "df" and "get-quota" answers: IPv4 and IPv6
// monitors, one to five; pools with and without a quota, nearly empty
// and nearly full, a quota under and over what the cluster has.
func TestCinderDifferential(t *testing.T) {
	testenv.RequirePython(t, "cinder.volume.drivers.rbd", "python3-cinder")
	type tcase struct {
		MonDump string         `json:"mon_dump"`
		DF      map[string]any `json:"df"`
		Quota   map[string]any `json:"quota"`
		Pool    string         `json:"pool"`
	}
	rng := rand.New(rand.NewPCG(15, 6))
	const gib = int64(1 << 30)
	var cases []tcase
	for i := range 200 {
		var mons []map[string]any
		for j := range 1 + rng.IntN(5) {
			addr := fmt.Sprintf("10.%d.%d.%d:%d/0", rng.IntN(256), rng.IntN(256), 1+rng.IntN(254), []int{6789, 3300, 16789}[rng.IntN(3)])
			if rng.IntN(3) == 0 {
				addr = fmt.Sprintf("[fd00::%x:%x]:6789/%d", rng.IntN(65536), j+1, rng.IntN(99999))
			}
			mons = append(mons, map[string]any{"rank": j, "name": string(rune('a' + j)), "addr": addr})
		}
		dump, _ := json.Marshal(map[string]any{"epoch": 3, "fsid": "f", "mons": mons, "quorum": []int{0}})
		text := string(dump)
		if i%2 == 0 {
			text = "dumped monmap epoch 3\n" + text
		}
		clusterTotal := (1 + rng.Int64N(1000)) * gib
		stored := rng.Int64N(clusterTotal)
		maxAvail := rng.Int64N(clusterTotal - stored + 1)
		stats := map[string]any{"stored": stored, "bytes_used": stored * 2, "max_avail": maxAvail, "objects": 1}
		if i%7 == 0 {
			delete(stats, "stored") // before Nautilus
			stats["bytes_used"] = stored
		}
		quota := int64(0)
		if rng.IntN(2) == 0 {
			quota = rng.Int64N(2*clusterTotal) + 1
		}
		pools := []map[string]any{{"name": "other", "id": 1, "stats": map[string]any{"stored": 5, "bytes_used": 5, "max_avail": 1}},
			{"name": "volumes", "id": 2, "stats": stats}}
		cases = append(cases, tcase{MonDump: text, Pool: "volumes",
			DF:    map[string]any{"stats": map[string]any{"total_bytes": clusterTotal, "total_used_bytes": stored}, "pools": pools},
			Quota: map[string]any{"pool_name": "volumes", "pool_id": 2, "quota_max_objects": 0, "quota_max_bytes": quota}})
	}
	raw := testenv.PythonJSON(t, "testdata/cinder_rbd.py", cases)
	if len(raw) != len(cases) {
		t.Fatalf("%d answers for %d cases", len(raw), len(cases))
	}
	for i, c := range cases {
		var want struct {
			Hosts, Ports []string
			Free, Total  float64
			Error        string
		}
		if err := json.Unmarshal(raw[i], &want); err != nil {
			t.Fatal(err)
		}
		if want.Error != "" {
			t.Fatalf("case %d: Cinder raises %s", i, want.Error)
		}
		// The CLI's first line; the mon command answers JSON only.
		_, dump, ok := strings.Cut(c.MonDump, "dumped monmap epoch 3\n")
		if !ok {
			dump = c.MonDump
		}
		hosts, ports, err := monAddrs([]byte(dump))
		if err != nil || !slices.Equal(hosts, want.Hosts) || !slices.Equal(ports, want.Ports) {
			t.Errorf("case %d: monitors %v %v %v, Cinder %v %v", i, hosts, ports, err, want.Hosts, want.Ports)
		}
		st := c.DF["pools"].([]map[string]any)[1]["stats"].(map[string]any)
		stored := st["bytes_used"].(int64)
		if s, ok := st["stored"]; ok {
			stored = s.(int64)
		}
		got := capacity(stored, st["max_avail"].(int64), c.DF["stats"].(map[string]any)["total_bytes"].(int64), c.Quota["quota_max_bytes"].(int64))
		if got.FreeGB != want.Free || got.TotalGB != want.Total {
			t.Errorf("case %d: free %v total %v, Cinder %v %v", i, got.FreeGB, got.TotalGB, want.Free, want.Total)
		}
	}
}

func TestParseImage(t *testing.T) {
	id := "0b8c5ad9-5d55-4b1e-9c5f-7ec1f1d3a0b2"
	for name, want := range map[string]Image{
		"volume-" + id:               {Kind: KindVolume, VolumeID: id},
		"volume-" + id + ".deleted":  {Kind: KindDeleted, VolumeID: id},
		"volume-" + id + ".partial":  {Kind: KindPartial, VolumeID: id},
		"volume-" + id + ".snap":     {Kind: KindOther},
		"volume-":                    {Kind: KindOther},
		"volume-a.b":                 {Kind: KindOther},
		"image-" + id:                {Kind: KindOther},
		"volume-" + id + "@snapshot": {Kind: KindOther},
	} {
		want.Name = name
		if got := ParseImage(name); got != want {
			t.Errorf("ParseImage(%q) = %+v, want %+v", name, got, want)
		}
	}
}

func TestBusyError(t *testing.T) {
	err := fmt.Errorf("delete: %w", &BusyError{Image: "volume-a", Snapshots: []string{"snapshot-b"}, Watchers: 2})
	if !errors.Is(err, ErrBusy) || errors.Is(err, ErrNotFound) {
		t.Error("errors.Is")
	}
	if got := err.Error(); got != "delete: rbd: volume-a cannot be removed: it has snapshots snapshot-b; 2 clients have it open" {
		t.Errorf("message %q", got)
	}
	data := Connection{Pool: "p", Image: "volume-a", Hosts: []string{"h"}, Ports: []string{"6789"}, ClusterName: "ceph",
		SecretUUID: "s", VolumeID: "a"}.Data()
	if data["auth_enabled"] != false || data["auth_username"] != nil || data["name"] != "p/volume-a" {
		t.Errorf("connection data without a user: %v", data)
	}
}

func TestConfig(t *testing.T) {
	c := Config{}
	if err := c.defaults(); err != nil || c.Pool != "rbd" || c.ClusterName != "ceph" || c.MaxCloneDepth != 5 || c.order() != 22 {
		t.Errorf("defaults: %+v %v", c, err)
	}
	for _, bad := range []Config{{Pool: "a/b"}, {User: "x y"}, {ChunkSizeMB: 3}, {ChunkSizeMB: 64}} {
		if err := bad.defaults(); !errors.Is(err, ErrInvalid) {
			t.Errorf("%+v: %v", bad, err)
		}
	}
}
