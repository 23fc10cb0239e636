package agent_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/gostack/gostack/storage"
)

// An admin's migration (os-migrate_volume) between two iSCSI pools on
// real tgtd daemons, each with its agent: the destination makes its
// copy, the source writes the volume's data into the destination's
// export (qemu-img through CHAP), the volume moves keeping its id, type
// and status, and the old copy (file and target) is gone; the bytes
// written are there after the move, and after a locked move back
// (maintenance until it ends, available after).
func TestMigrateISCSIPools(t *testing.T) {
	store, url := controller(t)
	ctx, admin, user := context.Background(), storage.Viewer{Admin: true}, storage.Viewer{Project: "proj"}
	const hostA, hostB = "node1@iscsi#a", "node2@iscsi#b"
	filesA, exA := iscsiPoolAt(t, url, hostA)
	filesB, exB := iscsiPoolAt(t, url, hostB)
	wait := func(what string, cond func() bool) {
		t.Helper()
		for end := time.Now().Add(60 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(end) {
				t.Fatalf("not %s after 60 s", what)
			}
		}
	}
	wait("two pools", func() bool { bs, _ := store.Backends(ctx); return len(bs) == 2 })
	if _, err := store.CreateVolumeType(ctx, storage.VolumeTypeCreate{Name: "tgt", ExtraSpecs: map[string]string{"volume_backend_name": "iscsi"}}); err != nil {
		t.Fatal(err)
	}
	vol, err := store.CreateVolume(ctx, user, storage.VolumeCreate{UserID: "u", Size: 1, VolumeType: "tgt"})
	if err != nil {
		t.Fatal(err)
	}
	wait("available", func() bool { vol, _ = store.Volume(ctx, admin, vol.ID); return vol.Status == storage.VolumeAvailable })
	src, dst := filesA, filesB
	srcEx, dstEx, to := exA, exB, hostB
	if vol.Host == hostB {
		src, dst, srcEx, dstEx, to = filesB, filesA, exB, exA, hostA
	}
	from := vol.Host
	pattern := make([]byte, 1<<20)
	rand.Read(pattern)
	fill := bytes.Repeat([]byte{0x5a}, 64<<10)
	writeFile(t, src.Path(vol.ID), 4<<20, pattern)
	writeFile(t, src.Path(vol.ID), 900<<20, fill)

	migrate := func(host string, lock bool) storage.Volume {
		t.Helper()
		start := time.Now()
		v, err := store.MigrateVolume(ctx, admin, vol.ID, storage.VolumeMigrateRequest{Host: host, LockVolume: lock})
		if err != nil {
			t.Fatal(err)
		}
		want := storage.VolumeAvailable
		if lock {
			want = storage.VolumeMaintenance
		}
		if v.Status != want || v.MigrationStatus != storage.MigrationStarting || v.Retype == nil {
			t.Fatalf("migration to %s asked: %s %q %+v", host, v.Status, v.MigrationStatus, v.Retype)
		}
		wait("migrated to "+host, func() bool {
			v, _ = store.Volume(ctx, admin, vol.ID)
			if v.Retype != nil && v.Retype.Phase != storage.RetypeCleanup && v.Status != want {
				t.Fatalf("status %s while migrating, want %s", v.Status, want)
			}
			return v.Retype == nil && v.MigrationStatus != storage.MigrationStarting && v.MigrationStatus != storage.MigrationMigrating
		})
		t.Logf("migration to %s (lock %v): %s", host, lock, time.Since(start).Round(time.Millisecond))
		if v.MigrationStatus != storage.MigrationSuccess || v.Host != host || v.Status != storage.VolumeAvailable ||
			v.VolumeTypeID != vol.VolumeTypeID || v.Message != "" {
			t.Fatalf("after the migration to %s: %s on %s, %q, type %s, %q", host, v.Status, v.Host, v.MigrationStatus, v.VolumeTypeID, v.Message)
		}
		return v
	}
	check := func(path string, parts map[int][]byte) {
		t.Helper()
		got, err := os.ReadFile(path)
		if err != nil || len(got) != 1<<30 {
			t.Fatalf("%s: %d bytes (%v)", path, len(got), err)
		}
		for off, want := range parts {
			if !bytes.Equal(got[off:off+len(want)], want) {
				t.Fatalf("%s: the data at %d MiB differs", path, off>>20)
			}
		}
	}
	gone := func(path string) {
		t.Helper()
		if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("the old copy %s after the move: %v", path, err)
		}
	}

	migrate(to, false)
	check(dst.Path(vol.ID), map[int][]byte{4 << 20: pattern, 900 << 20: fill, 200 << 20: make([]byte, 1<<20)})
	gone(src.Path(vol.ID))
	if tg := findTarget(t, srcEx, vol.ID); tg != nil {
		t.Fatalf("the old pool's target after the move: %+v", tg)
	}
	if tg := findTarget(t, dstEx, vol.ID); tg == nil {
		t.Fatal("no target on the new pool")
	}

	// Back, locked, with more data written on the new pool.
	more := bytes.Repeat([]byte{0xa5}, 1<<20)
	writeFile(t, dst.Path(vol.ID), 100<<20, more)
	migrate(from, true)
	check(src.Path(vol.ID), map[int][]byte{4 << 20: pattern, 900 << 20: fill, 100 << 20: more})
	gone(dst.Path(vol.ID))
	if tg := findTarget(t, dstEx, vol.ID); tg != nil {
		t.Fatalf("the second pool's target after the move back: %+v", tg)
	}
}
