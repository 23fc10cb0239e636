package storage_test

import (
	"context"
	"maps"
	"sync"
	"testing"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
	"github.com/gostack/gostack/storage"
)

func TestQuotaDefaults(t *testing.T) {
	forEngine(t, func(t *testing.T, s *storage.Store, db *sqlstore.DB, feed *watch.Log) {
		ctx := context.Background()
		s.QuotaDefaults = nil
		mustType(t, s, storage.VolumeTypeCreate{Name: "gold"})
		want := map[string]int64{"volumes": 10, "snapshots": 10, "gigabytes": 1000, "per_volume_gigabytes": -1, "backups": 10,
			"backup_gigabytes": 1000, "groups": 10, "volumes_gold": -1, "gigabytes_gold": -1, "snapshots_gold": -1,
			"volumes___DEFAULT__": -1, "gigabytes___DEFAULT__": -1, "snapshots___DEFAULT__": -1}
		if got, err := s.QuotaDefaultSet(ctx); err != nil || !maps.Equal(got, want) {
			t.Fatalf("defaults %v %v, want %v", got, err, want)
		}
		if got, err := s.Quotas(ctx, "p-new"); err != nil || !maps.Equal(got, want) {
			t.Fatalf("a new project's quotas %v %v", got, err)
		}
		s.QuotaDefaults = map[string]int64{"volumes_gold": 3, "volumes": 20}
		got, err := s.Quotas(ctx, "p-new")
		if err != nil || got["volumes_gold"] != 3 || got["volumes"] != 20 || got["gigabytes"] != 1000 {
			t.Fatalf("configured defaults: %v %v", got, err)
		}
		rs, err := s.QuotaResources(ctx)
		if err != nil || len(rs) != len(want) || rs[0] != "backup_gigabytes" {
			t.Fatalf("resources %v %v", rs, err)
		}
	})
}

func TestSetQuotas(t *testing.T) {
	forEngine(t, func(t *testing.T, s *storage.Store, db *sqlstore.DB, feed *watch.Log) {
		ctx := context.Background()
		s.QuotaDefaults = nil
		gold := mustType(t, s, storage.VolumeTypeCreate{Name: "gold"})
		mustCreate(t, s, alice, storage.VolumeCreate{Size: 4, VolumeType: "gold"})
		mustCreate(t, s, alice, storage.VolumeCreate{Size: 3})
		got, err := s.SetQuotas(ctx, alice.Project, map[string]int64{"volumes": 2, "gigabytes_gold": 4, "per_volume_gigabytes": 1, "backups": -1})
		if err != nil || got["volumes"] != 2 || got["gigabytes_gold"] != 4 || got["per_volume_gigabytes"] != 1 || got["backups"] != -1 || got["gigabytes"] != 1000 {
			t.Fatalf("set: %v %v", got, err)
		}
		used, err := s.QuotaUsage(ctx, alice.Project)
		if err != nil || used["volumes"] != 2 || used["gigabytes"] != 7 || used["volumes_gold"] != 1 || used["gigabytes_gold"] != 4 ||
			used["gigabytes___DEFAULT__"] != 3 || used["snapshots"] != 0 {
			t.Fatalf("usage: %v %v", used, err)
		}
		before := snapshot(t, db, feed)
		for _, c := range []struct {
			project string
			limits  map[string]int64
			want    string
		}{
			{alice.Project, map[string]int64{"volumes": 1}, "Quota volumes limit must be equal or greater than existing resources. Current usage is 2 and the requested limit is 1."},
			{alice.Project, map[string]int64{"gigabytes_gold": 3}, "Quota gigabytes_gold limit must be equal or greater than existing resources. Current usage is 4 and the requested limit is 3."},
			{alice.Project, map[string]int64{"nope": 1, "volumes_silver": 1, "volumes": 5}, "Invalid input received: Bad key(s) in quota set: nope, volumes_silver"},
			{alice.Project, map[string]int64{"volumes": -2}, "volumes must be >= -1"},
			{alice.Project, map[string]int64{"volumes": 1 << 31}, "volumes must be <= 2147483647"},
			{"", map[string]int64{"volumes": 1}, "Invalid input received: project id can not be empty."},
		} {
			_, err := s.SetQuotas(ctx, c.project, c.limits)
			refusal{fault.BadRequest, c.want, false}.check(t, err)
		}
		before.same(t, db, feed)
		if got, _ := s.Quotas(ctx, alice.Project); got["volumes"] != 2 {
			t.Fatalf("a refused update changed nothing: %v", got)
		}

		// A type's quotas follow its name.
		if _, err := s.UpdateVolumeType(ctx, gold.ID, storage.VolumeTypeUpdate{Name: ptr("platinum")}); err != nil {
			t.Fatal(err)
		}
		got, _ = s.Quotas(ctx, alice.Project)
		if _, ok := got["gigabytes_gold"]; ok || got["gigabytes_platinum"] != 4 {
			t.Fatalf("renamed type's quotas: %v", got)
		}

		if err := s.DeleteQuotas(ctx, alice.Project); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.Quotas(ctx, alice.Project); got["volumes"] != 10 || got["gigabytes_platinum"] != -1 {
			t.Fatalf("deleted quotas: %v", got)
		}
		head, _, _ := feed.Head(ctx)
		if err := s.DeleteQuotas(ctx, alice.Project); err != nil {
			t.Fatal(err)
		}
		if now, _, _ := feed.Head(ctx); now != head {
			t.Fatal("deleting the defaults again wrote to the feed")
		}
	})
}

func TestVolumeQuotas(t *testing.T) {
	forEngine(t, func(t *testing.T, s *storage.Store, db *sqlstore.DB, feed *watch.Log) {
		ctx := context.Background()
		s.QuotaDefaults = nil
		mustType(t, s, storage.VolumeTypeCreate{Name: "gold"})
		if _, err := s.SetQuotas(ctx, alice.Project, map[string]int64{"volumes": 3, "gigabytes": 20, "per_volume_gigabytes": 10,
			"volumes_gold": 1, "gigabytes_gold": 8}); err != nil {
			t.Fatal(err)
		}
		a := mustCreate(t, s, alice, storage.VolumeCreate{Size: 6, VolumeType: "gold"})
		b := mustCreate(t, s, alice, storage.VolumeCreate{Size: 10})
		before := snapshot(t, db, feed)
		for _, c := range []struct {
			c    storage.VolumeCreate
			want string
		}{
			{storage.VolumeCreate{Size: 11}, "Requested volume size 11G is larger than maximum allowed limit 10G."},
			{storage.VolumeCreate{Size: 5}, "Requested volume or snapshot exceeds allowed gigabytes quota. Requested 5G, quota is 20G and 16G has been consumed."},
			{storage.VolumeCreate{Size: 1, VolumeType: "gold"}, "Maximum number of volumes allowed (1) exceeded for quota 'volumes_gold'."},
			{storage.VolumeCreate{Size: 5, VolumeType: "gold"}, "Requested volume or snapshot exceeds allowed gigabytes quota. Requested 5G, quota is 20G and 16G has been consumed."},
		} {
			_, err := s.CreateVolume(ctx, alice, c.c)
			refusal{fault.TooLarge, c.want, false}.check(t, err)
		}
		before.same(t, db, feed)
		mustCreate(t, s, alice, storage.VolumeCreate{Size: 3})
		_, err := s.CreateVolume(ctx, alice, storage.VolumeCreate{Size: 1})
		refusal{fault.TooLarge, "Maximum number of volumes allowed (3) exceeded for quota 'volumes'.", false}.check(t, err)
		if _, err := s.CreateVolume(ctx, bob, storage.VolumeCreate{Size: 10}); err != nil {
			t.Fatalf("another project's quota is its own: %v", err)
		}

		// Extends count against gigabytes; one under way counts its new size.
		for _, id := range []string{a.ID, b.ID} {
			if _, err := s.ResetStatus(ctx, admin, id, storage.StatusReset{Status: storage.VolumeAvailable}); err != nil {
				t.Fatal(err)
			}
		}
		before = snapshot(t, db, feed)
		_, err = s.ExtendVolume(ctx, alice, b.ID, 11)
		refusal{fault.TooLarge, "Requested volume size 11G is larger than maximum allowed limit 10G.", false}.check(t, err)
		_, err = s.ExtendVolume(ctx, alice, a.ID, 9)
		refusal{fault.TooLarge, "Requested volume or snapshot exceeds allowed gigabytes quota. Requested 3G, quota is 20G and 19G has been consumed.", false}.check(t, err)
		before.same(t, db, feed)
		if _, err := s.SetQuotas(ctx, alice.Project, map[string]int64{"gigabytes": 30}); err != nil {
			t.Fatal(err)
		}
		// gigabytes_gold is what is over now; Cinder's extend names gigabytes.
		_, err = s.ExtendVolume(ctx, alice, a.ID, 9)
		refusal{fault.TooLarge, "Requested volume or snapshot exceeds allowed gigabytes quota. Requested 3G, quota is 30G and 19G has been consumed.", false}.check(t, err)
		if _, err := s.ExtendVolume(ctx, alice, a.ID, 8); err != nil {
			t.Fatal(err)
		}
		if used, _ := s.QuotaUsage(ctx, alice.Project); used["gigabytes"] != 21 || used["gigabytes_gold"] != 8 {
			t.Fatalf("an extend under way counts its new size: %v", used)
		}
		if _, err := s.ResetStatus(ctx, admin, a.ID, storage.StatusReset{Status: storage.VolumeAvailable}); err != nil {
			t.Fatal(err)
		}
		if used, _ := s.QuotaUsage(ctx, alice.Project); used["gigabytes"] != 19 {
			t.Fatalf("an abandoned extend does not: %v", used)
		}
	})
}

// TestQuotaRace creates volumes of one project from many goroutines at
// once: on both engines exactly what the quota allows is made.
func TestQuotaRace(t *testing.T) {
	forEngine(t, func(t *testing.T, s *storage.Store, db *sqlstore.DB, feed *watch.Log) {
		ctx := context.Background()
		s.QuotaDefaults = nil
		for _, c := range []struct {
			project string
			limits  map[string]int64
			size    int64
			want    int
			kind    string
		}{
			{"p-count", map[string]int64{"volumes": 5}, 1, 5, "VolumeLimitExceeded"},
			{"p-bytes", map[string]int64{"gigabytes": 10}, 3, 3, "VolumeSizeExceedsAvailableQuota"},
		} {
			if _, err := s.SetQuotas(ctx, c.project, c.limits); err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			errs := make([]error, 16)
			for i := range errs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, errs[i] = s.CreateVolume(ctx, storage.Viewer{Project: c.project}, storage.VolumeCreate{Size: c.size})
				}()
			}
			wg.Wait()
			made := 0
			for _, err := range errs {
				switch {
				case err == nil:
					made++
				case fault.TypeOf(err) != c.kind:
					t.Fatalf("%s: %v", c.project, err)
				}
			}
			used, err := s.QuotaUsage(ctx, c.project)
			if made != c.want || err != nil || used["volumes"] != int64(c.want) {
				t.Fatalf("%s: %d made, usage %v %v; want %d", c.project, made, used, err, c.want)
			}
		}
	})
}
