package agent_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"testing"
	"time"

	"github.com/gostack/gostack/internal/cephtest"
	"github.com/gostack/gostack/internal/testenv"
	kitagent "github.com/gostack/gostack/kit/agent"
	"github.com/gostack/gostack/storage"
	"github.com/gostack/gostack/storage/agent"
	"github.com/gostack/gostack/storage/rbd"
)

// Migrations between two RBD pools of one real Ceph cluster (Ceph pools
// "one" and "two", each with its agent reporting Cinder's RBD
// location_info): a retype there (on-demand), then an admin's migration
// back (locked; its copy written once as by an agent killed before its
// report, then again by the agent started again): the source's agent
// writes the destination's claimed copy
// by librbd, the data written is in the new pool's image after each
// move, the old image is gone, the volume keeps its id.
func TestMigrateRBDPools(t *testing.T) {
	if !rbd.Available {
		msg := "built without Ceph support: go test -tags $(scripts/cephtag) (scripts/test does)"
		if testenv.CI() {
			t.Fatal(msg + " [CI=true: integration tests may not skip]")
		}
		t.Skip(msg)
	}
	if err := cephtest.Available(); err != nil {
		if testenv.CI() {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	c, err := cephtest.Start(cephtest.Options{Pools: []string{"one", "two"}})
	if err != nil {
		t.Fatalf("cephtest: %v", err)
	}
	t.Cleanup(func() { c.Stop() })
	ctx, admin, user := context.Background(), storage.Viewer{Admin: true}, storage.Viewer{Project: "proj"}
	store, url := controller(t)
	clients := map[string]*rbd.Client{}
	stops := map[string]func(){}
	start := func(pool string) {
		a := &agent.Agent{Config: agent.Config{Host: "node-" + pool + "@" + pool + "#" + pool, BackendName: pool, SyncInterval: 100 * time.Millisecond},
			Backend:   &agent.RBD{Client: clients[pool], TempDir: t.TempDir()},
			Session:   kitagent.NewSession(kitagent.Credentials{AuthURL: url + "/v3", Username: "volume-agent", Password: "x"}),
			VolumeURL: url, FeedURL: url + "/v1/watch/volume"}
		actx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- a.Run(actx) }()
		var once bool
		stops[pool] = func() {
			if !once {
				once = true
				cancel()
				<-done
			}
		}
		t.Cleanup(stops[pool])
	}
	for _, pool := range []string{"one", "two"} {
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		cl, err := rbd.New(cctx, rbd.Config{ConfFile: c.Conf, User: c.User, Keyring: c.Keyring, Pool: pool})
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cl.Close() })
		clients[pool] = cl
		start(pool)
	}
	wait := func(what string, cond func() bool) {
		t.Helper()
		for end := time.Now().Add(60 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(end) {
				t.Fatalf("not %s after 60 s", what)
			}
		}
	}
	wait("two pools", func() bool { bs, _ := store.Backends(ctx); return len(bs) == 2 })
	for _, n := range []string{"one", "two"} {
		if _, err := store.CreateVolumeType(ctx, storage.VolumeTypeCreate{Name: n, ExtraSpecs: map[string]string{"volume_backend_name": n}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := store.CreateVolumeType(ctx, storage.VolumeTypeCreate{Name: "anywhere"}); err != nil {
		t.Fatal(err)
	}
	vol, err := store.CreateVolume(ctx, user, storage.VolumeCreate{UserID: "u", Size: 1, VolumeType: "one"})
	if err != nil {
		t.Fatal(err)
	}
	wait("available", func() bool { vol, _ = store.Volume(ctx, admin, vol.ID); return vol.Status == storage.VolumeAvailable })
	pattern := make([]byte, 1<<20)
	rand.Read(pattern)
	fill := bytes.Repeat([]byte{0x5a}, 64<<10)
	write := func(pool string, off int64, p []byte) {
		t.Helper()
		h, err := clients[pool].OpenVolume(ctx, vol.ID)
		if err != nil {
			t.Fatal(err)
		}
		defer h.Close()
		if _, err := h.WriteAt(p, off); err != nil {
			t.Fatal(err)
		}
	}
	check := func(pool string, parts map[int64][]byte) {
		t.Helper()
		h, err := clients[pool].OpenVolume(ctx, vol.ID)
		if err != nil {
			t.Fatal(err)
		}
		defer h.Close()
		for off, want := range parts {
			readAt(t, h, off, want)
		}
	}
	write("one", 4<<20, pattern)
	write("one", 900<<20, fill)

	// A retype to pool two's type (on-demand): pool one's agent writes
	// pool two's claimed copy.
	began := time.Now()
	if _, err := store.RetypeVolume(ctx, user, vol.ID, storage.VolumeRetypeRequest{NewType: "two", MigrationPolicy: storage.MigrationOnDemand}); err != nil {
		t.Fatal(err)
	}
	wait("retyped", func() bool {
		vol, _ = store.Volume(ctx, admin, vol.ID)
		return vol.Retype == nil && vol.Status == storage.VolumeAvailable
	})
	t.Logf("retype pool one to two (1 GiB, 1 MiB of data): %s", time.Since(began).Round(time.Millisecond))
	if vol.MigrationStatus != storage.MigrationSuccess || vol.Host != "node-two@two#two" || vol.Message != "" {
		t.Fatalf("after the retype: %s on %s, %q, %q", vol.Status, vol.Host, vol.MigrationStatus, vol.Message)
	}
	x, err := storage.ParseRBDExport(vol.ProviderLocation)
	if err != nil || x.Name != "two/volume-"+vol.ID {
		t.Fatalf("the moved volume's location %q (%v)", vol.ProviderLocation, err)
	}
	check("two", map[int64][]byte{4 << 20: pattern, 900 << 20: fill, 0: make([]byte, 1<<20)})
	if _, err := clients["one"].Info(ctx, vol.ID); !errors.Is(err, rbd.ErrNotFound) {
		t.Fatalf("the old image after the move: %v", err)
	}

	// Of a type both pools take (in place), then an admin's migration
	// back, locked: pool two's agent writes pool one's copy.
	if _, err := store.RetypeVolume(ctx, user, vol.ID, storage.VolumeRetypeRequest{NewType: "anywhere"}); err != nil {
		t.Fatal(err)
	}
	wait("retyped in place", func() bool {
		vol, _ = store.Volume(ctx, admin, vol.ID)
		return vol.Retype == nil && vol.Status == storage.VolumeAvailable
	})
	more := bytes.Repeat([]byte{0xa5}, 1<<20)
	write("two", 100<<20, more)
	// Pool two's agent is away; pool one's makes its copy; the copy is
	// then written as by an agent killed before its report, and pool
	// two's agent, started again, writes it again and reports it.
	stops["two"]()
	if _, err := store.MigrateVolume(ctx, admin, vol.ID, storage.VolumeMigrateRequest{Host: "node-one@one#one", LockVolume: true}); err != nil {
		t.Fatal(err)
	}
	wait("the destination's copy made", func() bool {
		vol, _ = store.Volume(ctx, admin, vol.ID)
		return vol.Retype != nil && vol.Retype.Phase == storage.RetypeCopy
	})
	if vol.Status != storage.VolumeMaintenance || vol.MigrationStatus != storage.MigrationMigrating {
		t.Fatalf("copying: %s, %q", vol.Status, vol.MigrationStatus)
	}
	if err := clients["two"].CopyToPool(ctx, vol.ID, "one", vol.Retype.Claim); err != nil {
		t.Fatal(err)
	}
	began = time.Now()
	start("two")
	wait("migrated back", func() bool {
		vol, _ = store.Volume(ctx, admin, vol.ID)
		return vol.Retype == nil && vol.MigrationStatus != storage.MigrationStarting && vol.MigrationStatus != storage.MigrationMigrating
	})
	t.Logf("migration pool two to one, its copy's report lost: %s after the agent's start", time.Since(began).Round(time.Millisecond))
	if vol.Host != "node-one@one#one" || vol.MigrationStatus != storage.MigrationSuccess || vol.Status != storage.VolumeAvailable || vol.Message != "" {
		t.Fatalf("after the migration back: %s on %s, %q, %q", vol.Status, vol.Host, vol.MigrationStatus, vol.Message)
	}
	check("one", map[int64][]byte{4 << 20: pattern, 900 << 20: fill, 100 << 20: more})
	if _, err := clients["two"].Info(ctx, vol.ID); !errors.Is(err, rbd.ErrNotFound) {
		t.Fatalf("pool two's image after the move back: %v", err)
	}
}
