package storage_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
	"github.com/gostack/gostack/storage"
)

func TestBackendState(t *testing.T) {
	forEngine(t, func(t *testing.T, s *storage.Store, db *sqlstore.DB, feed *watch.Log) {
		ctx := context.Background()
		mustType(t, s, storage.VolumeTypeCreate{Name: "n1", ExtraSpecs: map[string]string{"volume_backend_name": "n1"}})
		r := storage.BackendReport{VolumeBackendName: "n1", TotalCapacityGB: storage.GB(100), FreeCapacityGB: storage.GB(100)}
		for _, h := range []string{"n1@lvm#a", "n1@lvm#b", "n1@rbd#a", "n10@lvm#a"} {
			addPool(t, s, h, "", r)
		}
		on := map[string]string{}
		for range 8 {
			v := mustCreate(t, s, alice, storage.VolumeCreate{Size: 1, VolumeType: "n1"})
			on[v.ID] = v.Host
		}
		gone := mustCreate(t, s, alice, storage.VolumeCreate{Size: 1, VolumeType: "n1"})
		purge(t, s, alice, gone.ID)
		for _, host := range []string{"n1@lvm#a", "n1@lvm", "n1", "n10", "n1@rbd#a"} {
			st, err := s.BackendState(ctx, host)
			if err != nil {
				t.Fatal(err)
			}
			head, _, _ := feed.Head(ctx)
			if st.Host != host || st.Revision != head {
				t.Fatalf("%s: host %s revision %d, head %d", host, st.Host, st.Revision, head)
			}
			want := 0
			for _, h := range on {
				if h == host || strings.HasPrefix(h, host+"@") || strings.HasPrefix(h, host+"#") {
					want++
				}
			}
			if len(st.Volumes) != want {
				t.Fatalf("%s: %d volumes, want %d", host, len(st.Volumes), want)
			}
			for i, v := range st.Volumes {
				if v.ID == gone.ID || i > 0 && v.CreatedAt.Before(st.Volumes[i-1].CreatedAt) {
					t.Fatalf("%s: %+v", host, st.Volumes)
				}
			}
		}
		_, err := s.BackendState(ctx, "")
		refusal{fault.BadRequest, "Invalid input received: host", true}.check(t, err)
	})
}

func TestReportVolume(t *testing.T) {
	forEngine(t, func(t *testing.T, s *storage.Store, db *sqlstore.DB, feed *watch.Log) {
		ctx := context.Background()
		vol := mustCreate(t, s, alice, storage.VolumeCreate{Size: 2})
		before := snapshot(t, db, feed)
		for _, c := range []struct {
			host string
			r    storage.VolumeReport
			want refusal
		}{
			{"other@lvm#pool", storage.VolumeReport{Status: storage.VolumeCreating}, refusal{fault.NotFound, "Volume " + vol.ID + " could not be found.", false}},
			{"host@lvm#pool2", storage.VolumeReport{Status: storage.VolumeCreating}, refusal{fault.NotFound, "Volume " + vol.ID + " could not be found.", false}},
			{defaultPool, storage.VolumeReport{Status: storage.VolumeDeleting}, refusal{fault.Conflict, "Conflict updating volume " + vol.ID + ". Expected: {'status': 'deleting'}. Actual: {'status': 'creating'}", false}},
			{defaultPool, storage.VolumeReport{Status: storage.VolumeAvailable}, refusal{fault.BadRequest, `Invalid input received: a report is about creating, deleting, extending, uploading, reverting or retyping, not "available".`, false}},
			{defaultPool, storage.VolumeReport{Status: storage.VolumeCreating, ProviderAuth: strings.Repeat("x", 257)}, refusal{fault.BadRequest, "Invalid input received: provider_auth has more than 256 characters.", false}},
			{defaultPool, storage.VolumeReport{Status: storage.VolumeCreating, Error: "\xff"}, refusal{fault.BadRequest, "Invalid input received: error must be valid UTF-8 without NUL characters.", false}},
			{"", storage.VolumeReport{Status: storage.VolumeCreating}, refusal{fault.BadRequest, "Invalid input received: host", true}},
		} {
			_, err := s.ReportVolume(ctx, c.host, vol.ID, c.r)
			c.want.check(t, err)
		}
		before.same(t, db, feed)

		// creating -> available, with the export; its secret stays off the feed.
		head, _, _ := feed.Head(ctx)
		got, err := s.ReportVolume(ctx, "host@lvm", vol.ID, storage.VolumeReport{Status: storage.VolumeCreating,
			ProviderLocation: "10.0.0.1:3260,1 iqn.2010-10.org.openstack:volume-x 1", ProviderAuth: "CHAP user secret"})
		if err != nil || got.Status != storage.VolumeAvailable || got.LaunchedAt == nil || got.ProviderAuth != "CHAP user secret" {
			t.Fatalf("available: %+v %v", got, err)
		}
		b, _ := feed.Since(ctx, watch.Query{Area: storage.FeedArea, Since: head})
		var fed storage.Volume
		if len(b.Changes) != 1 || json.Unmarshal(b.Changes[0].Data, &fed) != nil || fed.ProviderAuth != "" || fed.ProviderLocation == "" ||
			strings.Contains(string(b.Changes[0].Data), "secret") {
			t.Fatalf("feed: %s", b.Changes[0].Data)
		}
		if st, _ := s.BackendState(ctx, defaultPool); len(st.Volumes) != 1 || st.Volumes[0].ProviderAuth != "CHAP user secret" {
			t.Fatalf("the agent reads the export's secret: %+v", st.Volumes)
		}
		// A report sent again is refused: the volume moved on.
		_, err = s.ReportVolume(ctx, defaultPool, vol.ID, storage.VolumeReport{Status: storage.VolumeCreating})
		refusal{fault.Conflict, "Conflict updating volume " + vol.ID + ". Expected: {'status': 'creating'}. Actual: {'status': 'available'}", false}.check(t, err)

		// extending -> available at the new size, or error_extending.
		if _, err := s.ExtendVolume(ctx, alice, vol.ID, 5); err != nil {
			t.Fatal(err)
		}
		_, err = s.ReportVolume(ctx, defaultPool, vol.ID, storage.VolumeReport{Status: storage.VolumeExtending, Size: 4})
		refusal{fault.BadRequest, "Invalid input received: the extend of volume " + vol.ID + " goes to 5 GiB, not 4.", false}.check(t, err)
		if got, err = s.ReportVolume(ctx, defaultPool, vol.ID, storage.VolumeReport{Status: storage.VolumeExtending, Size: 5}); err != nil ||
			got.Status != storage.VolumeAvailable || got.Size != 5 || got.NewSize != 0 {
			t.Fatalf("extended: %+v %v", got, err)
		}
		if _, err := s.ExtendVolume(ctx, alice, vol.ID, 9); err != nil {
			t.Fatal(err)
		}
		if got, err = s.ReportVolume(ctx, defaultPool, vol.ID, storage.VolumeReport{Status: storage.VolumeExtending, Error: strings.Repeat("e", 300)}); err != nil ||
			got.Status != storage.VolumeErrorExtending || got.Size != 5 || got.NewSize != 0 || len(got.Message) != 255 {
			t.Fatalf("extend failed: %+v %v", got, err)
		}
		if used, _ := s.QuotaUsage(ctx, alice.Project); used["gigabytes"] != 5 {
			t.Fatalf("a failed extend frees its growth: %v", used)
		}

		// deleting -> error_deleting, then deleted.
		if _, err := s.DeleteVolume(ctx, alice, vol.ID, storage.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		if got, err = s.ReportVolume(ctx, defaultPool, vol.ID, storage.VolumeReport{Status: storage.VolumeDeleting, Error: "busy"}); err != nil ||
			got.Status != storage.VolumeErrorDeleting || got.Message != "busy" {
			t.Fatalf("delete failed: %+v %v", got, err)
		}
		if _, err := s.DeleteVolume(ctx, admin, vol.ID, storage.DeleteOptions{Force: true}); err != nil {
			t.Fatal(err)
		}
		if got, err = s.ReportVolume(ctx, defaultPool, vol.ID, storage.VolumeReport{Status: storage.VolumeDeleting}); err != nil ||
			got.Status != storage.VolumeDeleted || got.DeletedAt == nil {
			t.Fatalf("deleted: %+v %v", got, err)
		}
		_, err = s.ReportVolume(ctx, defaultPool, vol.ID, storage.VolumeReport{Status: storage.VolumeDeleting})
		refusal{fault.NotFound, "Volume " + vol.ID + " could not be found.", false}.check(t, err)

		// creating -> error.
		failed := mustCreate(t, s, alice, storage.VolumeCreate{Size: 1})
		if got, err = s.ReportVolume(ctx, defaultPool, failed.ID, storage.VolumeReport{Status: storage.VolumeCreating, Error: "no space"}); err != nil ||
			got.Status != storage.VolumeError || got.Message != "no space" {
			t.Fatalf("create failed: %+v %v", got, err)
		}
	})
}
