package storage_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
	"github.com/gostack/gostack/storage"
)

var (
	alice = storage.Viewer{Project: "p-alice"}
	bob   = storage.Viewer{Project: "p-bob"}
	admin = storage.Viewer{Project: "p-admin", Admin: true}
)

// refusal is an expected error: its kind and message (the whole
// client-facing message, or its start when prefix).
type refusal struct {
	kind   fault.Kind
	msg    string
	prefix bool
}

func (r refusal) check(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %v %q", r.kind, r.msg)
	}
	got := fault.Message(err)
	if fault.KindOf(err) != r.kind || got != r.msg && !(r.prefix && strings.HasPrefix(got, r.msg)) {
		t.Fatalf("error %v %q (%v), want %v %q", fault.KindOf(err), got, err, r.kind, r.msg)
	}
}

// state is what a refused call must leave as it was: the feed's head
// and every volume row.
type state struct {
	head int64
	rows string
}

func snapshot(t *testing.T, db *sqlstore.DB, feed *watch.Log) state {
	t.Helper()
	ctx := context.Background()
	head, _, err := feed.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := db.Query(ctx, `SELECT id, status, size, new_size, revision, coalesce(name, '<nil>'), host, bootable,
		(SELECT COUNT(*) FROM storage_volume_metadata m WHERE m.volume_id = v.id) FROM storage_volumes v ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var id, status, name, host string
		var size, newSize, rev, md int64
		var boot bool
		if err := rows.Scan(&id, &status, &size, &newSize, &rev, &name, &host, &boot, &md); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintln(&b, id, status, size, newSize, rev, name, host, boot, md)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return state{head, b.String()}
}

func (st state) same(t *testing.T, db *sqlstore.DB, feed *watch.Log) {
	t.Helper()
	if now := snapshot(t, db, feed); now != st {
		t.Fatalf("a refused call changed the state:\nbefore %+v\nafter  %+v", st, now)
	}
}

// place puts volume id on host, as the scheduler would.
func place(t *testing.T, db *sqlstore.DB, id, host string) {
	t.Helper()
	if _, err := db.Exec(context.Background(), "UPDATE storage_volumes SET host = ? WHERE id = ?", host, id); err != nil {
		t.Fatal(err)
	}
}

func mustCreate(t *testing.T, s *storage.Store, v storage.Viewer, c storage.VolumeCreate) storage.Volume {
	t.Helper()
	vol, err := s.CreateVolume(context.Background(), v, c)
	if err != nil {
		t.Fatalf("create %+v: %v", c, err)
	}
	return vol
}

func TestCreateVolume(t *testing.T) {
	forEngine(t, func(t *testing.T, s *storage.Store, db *sqlstore.DB, feed *watch.Log) {
		ctx := context.Background()
		vol := mustCreate(t, s, alice, storage.VolumeCreate{UserID: "u1", Name: ptr("data"), Size: 2,
			Metadata: map[string]string{"k": "v"}})
		if vol.Status != storage.VolumeCreating || vol.AttachStatus != storage.AttachDetached || vol.Size != 2 ||
			vol.ProjectID != alice.Project || vol.UserID != "u1" || *vol.Name != "data" || vol.Description != nil ||
			vol.AvailabilityZone != storage.DefaultAvailabilityZone || vol.Bootable || vol.Revision != 1 ||
			!maps.Equal(vol.Metadata, map[string]string{"k": "v"}) || vol.Host != defaultPool {
			t.Fatalf("created %+v", vol)
		}
		got, err := s.Volume(ctx, alice, vol.ID)
		if err != nil || got.ID != vol.ID || !got.CreatedAt.Equal(vol.CreatedAt) || got.Metadata["k"] != "v" {
			t.Fatalf("get: %+v %v", got, err)
		}
		addPool(t, s, "az9host@lvm#p", "az9", storage.BackendReport{TotalCapacityGB: storage.GB(100), FreeCapacityGB: storage.GB(100)})
		addPool(t, s, "az2host@lvm#p", "az2", storage.BackendReport{TotalCapacityGB: storage.GB(100), FreeCapacityGB: storage.GB(100)})
		img := mustCreate(t, s, alice, storage.VolumeCreate{Size: 1, ImageID: "img-1", AvailabilityZone: "az9",
			ID: "6F0D52A0-3D1B-4E45-9C6B-6B6F2C1B7E10"})
		if !img.Bootable || img.AvailabilityZone != "az9" || img.Host != "az9host@lvm#p" || img.ID != "6f0d52a0-3d1b-4e45-9c6b-6b6f2c1b7e10" {
			t.Fatalf("from an image: %+v", img)
		}

		// A clone takes the source's size, zone and bootable flag.
		src := mustCreate(t, s, alice, storage.VolumeCreate{Size: 5, AvailabilityZone: "az2", ImageID: "img"})
		for _, c := range []struct {
			status storage.VolumeStatus
			ok     bool
		}{{storage.VolumeCreating, false}, {storage.VolumeAvailable, true}, {storage.VolumeError, false}} {
			if c.status != storage.VolumeCreating {
				if _, err := s.ResetStatus(ctx, admin, src.ID, storage.StatusReset{Status: c.status}); err != nil {
					t.Fatal(err)
				}
			}
			clone, err := s.CreateVolume(ctx, alice, storage.VolumeCreate{SourceVolID: src.ID})
			if !c.ok {
				refusal{fault.BadRequest, "Invalid volume: Originating source volume status must be one of 'available, in-use' values", false}.check(t, err)
				continue
			}
			if err != nil || clone.Size != 5 || clone.AvailabilityZone != "az2" || clone.Host != "az2host@lvm#p" || !clone.Bootable || clone.SourceVolID != src.ID {
				t.Fatalf("clone: %+v %v", clone, err)
			}
		}
		if _, err := s.ResetStatus(ctx, admin, src.ID, storage.StatusReset{Status: storage.VolumeAvailable}); err != nil {
			t.Fatal(err)
		}

		long := strings.Repeat("é", 256)
		before := snapshot(t, db, feed)
		for _, c := range []struct {
			name string
			v    storage.Viewer
			c    storage.VolumeCreate
			want refusal
		}{
			{"no size", alice, storage.VolumeCreate{}, refusal{fault.BadRequest, "Invalid input received: Volume size '0' must be an integer and greater than 0", false}},
			{"negative size", alice, storage.VolumeCreate{Size: -1}, refusal{fault.BadRequest, "Invalid input received: Invalid volume size provided for create request: -1 (size argument must be an integer (or string representation of an integer) and greater than zero).", false}},
			{"huge size", alice, storage.VolumeCreate{Size: 1 << 31}, refusal{fault.BadRequest, "Invalid input received: Invalid volume size provided for create request: 2147483648", true}},
			{"clone smaller", alice, storage.VolumeCreate{Size: 4, SourceVolID: src.ID}, refusal{fault.BadRequest, "Invalid input received: Volume size '4'GB cannot be smaller than original volume size  5GB. They must be >= original volume size.", false}},
			{"clone of another project", bob, storage.VolumeCreate{SourceVolID: src.ID}, refusal{fault.NotFound, "Volume " + src.ID + " could not be found.", false}},
			{"no source", alice, storage.VolumeCreate{Size: 1, SourceVolID: "nope"}, refusal{fault.NotFound, "Volume nope could not be found.", false}},
			{"snapshot", alice, storage.VolumeCreate{Size: 1, SnapshotID: "snap"}, refusal{fault.NotFound, "Snapshot snap could not be found.", false}},
			{"unknown zone", alice, storage.VolumeCreate{Size: 1, AvailabilityZone: "az7"}, refusal{fault.BadRequest, "Availability zone 'az7' is invalid.", false}},
			{"bad id", alice, storage.VolumeCreate{Size: 1, ID: "x"}, refusal{fault.BadRequest, `Invalid input received: volume id "x" is not a UUID.`, false}},
			{"same id", alice, storage.VolumeCreate{Size: 1, ID: vol.ID}, refusal{fault.Conflict, "Volume " + vol.ID + " already exists.", false}},
			{"long name", alice, storage.VolumeCreate{Size: 1, Name: &long}, refusal{fault.BadRequest, "Invalid input received: name has more than 255 characters.", false}},
			{"NUL", alice, storage.VolumeCreate{Size: 1, Description: ptr("a\x00b")}, refusal{fault.BadRequest, "Invalid input received: description must be valid UTF-8 without NUL characters.", false}},
			{"bad UTF-8", alice, storage.VolumeCreate{Size: 1, AvailabilityZone: "\xff"}, refusal{fault.BadRequest, "Invalid input received: availability_zone must be valid UTF-8 without NUL characters.", false}},
			{"blank key", alice, storage.VolumeCreate{Size: 1, Metadata: map[string]string{"": "v"}}, refusal{fault.BadRequest, "Invalid metadata: Invalid input received: Metadata key:  has 0 characters, less than 1.", false}},
			{"long key", alice, storage.VolumeCreate{Size: 1, Metadata: map[string]string{long: "v"}}, refusal{fault.BadRequest, "Invalid metadata size: Metadata property key " + long + " greater than 255 characters.", false}},
			{"long value", alice, storage.VolumeCreate{Size: 1, Metadata: map[string]string{"k": long}}, refusal{fault.BadRequest, "Invalid metadata size: Metadata property key k value greater than 255 characters.", false}},
		} {
			t.Run(c.name, func(t *testing.T) {
				_, err := s.CreateVolume(ctx, c.v, c.c)
				c.want.check(t, err)
				before.same(t, db, feed)
			})
		}
	})
}

func TestVolumeIsolation(t *testing.T) {
	forEngine(t, func(t *testing.T, s *storage.Store, db *sqlstore.DB, feed *watch.Log) {
		ctx := context.Background()
		a := mustCreate(t, s, alice, storage.VolumeCreate{Size: 1, Name: ptr("a")})
		b := mustCreate(t, s, bob, storage.VolumeCreate{Size: 1, Name: ptr("b")})
		notFound := refusal{fault.NotFound, "Volume " + a.ID + " could not be found.", false}
		before := snapshot(t, db, feed)
		_, err := s.Volume(ctx, bob, a.ID)
		notFound.check(t, err)
		_, err = s.UpdateVolume(ctx, bob, a.ID, storage.VolumeUpdate{Name: ptr(ptr("mine"))})
		notFound.check(t, err)
		_, err = s.SetBootable(ctx, bob, a.ID, true)
		notFound.check(t, err)
		_, err = s.UpdateVolumeMetadata(ctx, bob, a.ID, map[string]string{"k": "v"}, false)
		notFound.check(t, err)
		notFound.check(t, s.DeleteVolumeMetadata(ctx, bob, a.ID, "k"))
		_, err = s.DeleteVolume(ctx, bob, a.ID, storage.DeleteOptions{Force: true})
		notFound.check(t, err)
		_, err = s.ExtendVolume(ctx, bob, a.ID, 2)
		notFound.check(t, err)
		_, err = s.ResetStatus(ctx, storage.Viewer{Project: bob.Project}, a.ID, storage.StatusReset{Status: storage.VolumeError})
		notFound.check(t, err)
		_, _, err = s.Volumes(ctx, bob, storage.VolumeFilter{Marker: a.ID})
		notFound.check(t, err)
		before.same(t, db, feed)

		list := func(v storage.Viewer, f storage.VolumeFilter) []string {
			vs, _, err := s.Volumes(ctx, v, f)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, x := range vs {
				ids = append(ids, x.ID)
			}
			slices.Sort(ids)
			return ids
		}
		both := []string{a.ID, b.ID}
		slices.Sort(both)
		for _, c := range []struct {
			name string
			v    storage.Viewer
			f    storage.VolumeFilter
			want []string
		}{
			{"own", bob, storage.VolumeFilter{}, []string{b.ID}},
			{"all_tenants is an admin's", bob, storage.VolumeFilter{AllProjects: true}, []string{b.ID}},
			{"an admin's own project", admin, storage.VolumeFilter{}, nil},
			{"an admin's all_tenants", admin, storage.VolumeFilter{AllProjects: true}, both},
			{"an admin's project_id", admin, storage.VolumeFilter{AllProjects: true, ProjectID: alice.Project}, []string{a.ID}},
		} {
			if got := list(c.v, c.f); !slices.Equal(got, c.want) {
				t.Errorf("%s: %v, want %v", c.name, got, c.want)
			}
		}
		if got, err := s.Volume(ctx, admin, a.ID); err != nil || got.ID != a.ID {
			t.Fatalf("an admin sees every volume: %v", err)
		}
	})
}

func TestVolumeList(t *testing.T) {
	forEngine(t, func(t *testing.T, s *storage.Store, db *sqlstore.DB, feed *watch.Log) {
		ctx := context.Background()
		c := &clock{t: time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)}
		s.Now = c.now
		for _, az := range []string{"az1", "az2"} {
			addPool(t, s, az+"@lvm#p", az, storage.BackendReport{TotalCapacityGB: storage.GB(1000), FreeCapacityGB: storage.GB(1000)})
		}
		var all []storage.Volume
		for i := range 12 {
			vc := storage.VolumeCreate{Size: int64(1 + i%4), AvailabilityZone: []string{"az1", "az2"}[i%2],
				Metadata: map[string]string{"tier": []string{"gold", "bronze", "silver"}[i%3]}}
			if i%5 != 0 {
				vc.Name = ptr(fmt.Sprintf("Vol_%02d", i%7))
			}
			if i%4 == 0 {
				vc.ImageID = "img"
			}
			if i%6 != 5 { // two volumes share a creation time
				c.add(time.Second)
			}
			all = append(all, mustCreate(t, s, alice, vc))
		}
		mustCreate(t, s, bob, storage.VolumeCreate{Size: 1, Name: ptr("Vol_01")})
		if _, err := s.ResetStatus(ctx, admin, all[3].ID, storage.StatusReset{Status: storage.VolumeAvailable}); err != nil {
			t.Fatal(err)
		}
		place(t, db, all[4].ID, "h1@lvm#pool-a")
		place(t, db, all[5].ID, "h1@lvm#pool-b")
		place(t, db, all[6].ID, "h1@rbd#p")
		place(t, db, all[7].ID, "h10@lvm#pool-a")
		all[3].Status = storage.VolumeAvailable
		for i, h := range map[int]string{4: "h1@lvm#pool-a", 5: "h1@lvm#pool-b", 6: "h1@rbd#p", 7: "h10@lvm#pool-a"} {
			all[i].Host = h
		}

		ids := func(vs []storage.Volume) []string {
			out := []string{}
			for _, v := range vs {
				out = append(out, v.ID)
			}
			return out
		}
		// want filters and orders all as the store should.
		want := func(keep func(storage.Volume) bool, less func(a, b storage.Volume) int) []string {
			var out []storage.Volume
			for _, v := range all {
				if keep(v) {
					out = append(out, v)
				}
			}
			slices.SortStableFunc(out, less)
			return ids(out)
		}
		newest := func(a, b storage.Volume) int {
			if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
				return c
			}
			return strings.Compare(b.ID, a.ID)
		}
		name := func(v storage.Volume) string {
			if v.Name == nil {
				return ""
			}
			return *v.Name
		}
		yes := func(storage.Volume) bool { return true }
		for _, tc := range []struct {
			name string
			f    storage.VolumeFilter
			want []string
		}{
			{"newest first", storage.VolumeFilter{}, want(yes, newest)},
			{"name", storage.VolumeFilter{Name: "Vol_03"}, want(func(v storage.Volume) bool { return name(v) == "Vol_03" }, newest)},
			{"name~", storage.VolumeFilter{NameLike: "vol_0"}, want(func(v storage.Volume) bool { return v.Name != nil }, newest)},
			{"name~ escapes LIKE", storage.VolumeFilter{NameLike: "l%"}, []string{}},
			{"status", storage.VolumeFilter{Status: storage.VolumeAvailable}, []string{all[3].ID}},
			{"metadata", storage.VolumeFilter{Metadata: map[string]string{"tier": "gold"}}, want(func(v storage.Volume) bool { return v.Metadata["tier"] == "gold" }, newest)},
			{"metadata none", storage.VolumeFilter{Metadata: map[string]string{"tier": "gold", "x": "y"}}, []string{}},
			{"bootable", storage.VolumeFilter{Bootable: ptr(true)}, want(func(v storage.Volume) bool { return v.Bootable }, newest)},
			{"not bootable", storage.VolumeFilter{Bootable: ptr(false)}, want(func(v storage.Volume) bool { return !v.Bootable }, newest)},
			{"zone", storage.VolumeFilter{AvailabilityZone: "az2"}, want(func(v storage.Volume) bool { return v.AvailabilityZone == "az2" }, newest)},
			{"pool", storage.VolumeFilter{Host: "h1@lvm#pool-a"}, []string{all[4].ID}},
			{"backend", storage.VolumeFilter{Host: "h1@lvm"}, want(func(v storage.Volume) bool { return strings.HasPrefix(v.Host, "h1@lvm#") }, newest)},
			{"host", storage.VolumeFilter{Host: "h1"}, want(func(v storage.Volume) bool { return strings.HasPrefix(v.Host, "h1@") }, newest)},
			{"size asc", storage.VolumeFilter{SortKeys: []string{"size"}, SortDirs: []string{"asc"}}, want(yes, func(a, b storage.Volume) int {
				if a.Size != b.Size {
					return int(a.Size - b.Size)
				}
				if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
					return c
				}
				return strings.Compare(a.ID, b.ID)
			})},
			{"name desc, nulls last", storage.VolumeFilter{SortKeys: []string{"name"}}, want(yes, func(a, b storage.Volume) int {
				switch {
				case a.Name == nil && b.Name != nil:
					return 1
				case a.Name != nil && b.Name == nil:
					return -1
				}
				if c := strings.Compare(name(b), name(a)); c != 0 {
					return c
				}
				return newest(a, b)
			})},
		} {
			t.Run(tc.name, func(t *testing.T) {
				got, more, err := s.Volumes(ctx, alice, tc.f)
				if err != nil || more || !slices.Equal(ids(got), tc.want) {
					t.Fatalf("got %v (more %v, %v), want %v", ids(got), more, err, tc.want)
				}
				// Every page size pages through the same list.
				for limit := 1; limit <= 4; limit++ {
					f := tc.f
					f.Limit = limit
					var paged []string
					for {
						page, more, err := s.Volumes(ctx, alice, f)
						if err != nil {
							t.Fatal(err)
						}
						paged = append(paged, ids(page)...)
						if len(page) > limit || !more && len(paged) != len(tc.want) || more && len(page) != limit {
							t.Fatalf("limit %d: page of %d, more %v", limit, len(page), more)
						}
						if !more {
							break
						}
						f.Marker = page[len(page)-1].ID
					}
					if !slices.Equal(paged, tc.want) {
						t.Fatalf("limit %d: %v, want %v", limit, paged, tc.want)
					}
				}
			})
		}
		before := snapshot(t, db, feed)
		for _, c := range []struct {
			f    storage.VolumeFilter
			want refusal
		}{
			{storage.VolumeFilter{SortKeys: []string{"nope"}}, refusal{fault.BadRequest, "Invalid input received: Invalid sort key", false}},
			{storage.VolumeFilter{SortKeys: []string{"size"}, SortDirs: []string{"up"}}, refusal{fault.BadRequest, "Invalid input received: Unknown sort direction, must be 'desc' or 'asc'.", false}},
			{storage.VolumeFilter{SortKeys: []string{"size"}, SortDirs: []string{"asc", "desc"}}, refusal{fault.BadRequest, "Invalid input received: Sort direction array size exceeds sort key array size.", false}},
			{storage.VolumeFilter{Marker: "nope"}, refusal{fault.NotFound, "Volume nope could not be found.", false}},
			{storage.VolumeFilter{Limit: -1}, refusal{fault.BadRequest, "Invalid input received: limit param must be positive", false}},
			{storage.VolumeFilter{Name: "\x00"}, refusal{fault.BadRequest, "Invalid input received: filter must be valid UTF-8 without NUL characters.", false}},
		} {
			_, _, err := s.Volumes(ctx, alice, c.f)
			c.want.check(t, err)
		}
		before.same(t, db, feed)
	})
}

func TestUpdateVolume(t *testing.T) {
	forEngine(t, func(t *testing.T, s *storage.Store, db *sqlstore.DB, feed *watch.Log) {
		ctx := context.Background()
		vol := mustCreate(t, s, alice, storage.VolumeCreate{Size: 1, Name: ptr("a"), Metadata: map[string]string{"a": "1", "b": "2"}})
		got, err := s.UpdateVolume(ctx, alice, vol.ID, storage.VolumeUpdate{Description: ptr(ptr("d")), Metadata: map[string]string{"c": "3"}})
		if err != nil || *got.Name != "a" || *got.Description != "d" || !maps.Equal(got.Metadata, map[string]string{"c": "3"}) || got.Revision != 2 {
			t.Fatalf("update: %+v %v", got, err)
		}
		got, err = s.UpdateVolume(ctx, alice, vol.ID, storage.VolumeUpdate{Name: new(*string)})
		if err != nil || got.Name != nil || *got.Description != "d" {
			t.Fatalf("name to null: %+v %v", got, err)
		}
		md, err := s.UpdateVolumeMetadata(ctx, alice, vol.ID, map[string]string{"d": "4", "c": "33"}, false)
		if err != nil || !maps.Equal(md, map[string]string{"c": "33", "d": "4"}) {
			t.Fatalf("metadata merge: %v %v", md, err)
		}
		md, err = s.UpdateVolumeMetadata(ctx, alice, vol.ID, map[string]string{"e": "5"}, true)
		if err != nil || !maps.Equal(md, map[string]string{"e": "5"}) {
			t.Fatalf("metadata replace: %v %v", md, err)
		}
		if err := s.DeleteVolumeMetadata(ctx, alice, vol.ID, "e"); err != nil {
			t.Fatal(err)
		}
		if got, err = s.SetBootable(ctx, alice, vol.ID, true); err != nil || !got.Bootable || len(got.Metadata) != 0 {
			t.Fatalf("bootable: %+v %v", got, err)
		}

		before := snapshot(t, db, feed)
		refusal{fault.NotFound, "Metadata item was not found", false}.check(t, s.DeleteVolumeMetadata(ctx, alice, vol.ID, "e"))
		_, err = s.UpdateVolume(ctx, alice, vol.ID, storage.VolumeUpdate{Metadata: map[string]string{"": "x"}})
		refusal{fault.BadRequest, "Invalid metadata: ", true}.check(t, err)
		_, err = s.UpdateVolume(ctx, alice, vol.ID, storage.VolumeUpdate{Name: ptr(ptr(strings.Repeat("n", 256)))})
		refusal{fault.BadRequest, "Invalid input received: name has more than 255 characters.", false}.check(t, err)
		before.same(t, db, feed)

		for _, st := range []storage.VolumeStatus{storage.VolumeMaintenance, storage.VolumeUploading} {
			if _, err := s.ResetStatus(ctx, admin, vol.ID, storage.StatusReset{Status: st}); err != nil {
				t.Fatal(err)
			}
			before := snapshot(t, db, feed)
			_, err = s.UpdateVolumeMetadata(ctx, alice, vol.ID, map[string]string{"k": "v"}, false)
			refusal{fault.BadRequest, "Invalid volume: Updating volume metadata is not allowed for volumes in " + string(st) + " status.", false}.check(t, err)
			refusal{fault.BadRequest, "Invalid volume: Deleting volume metadata is not allowed for volumes in " + string(st) + " status.", false}.check(t,
				s.DeleteVolumeMetadata(ctx, alice, vol.ID, "k"))
			update := refusal{fault.BadRequest, "Invalid volume: The volume cannot be updated during maintenance.", false}
			boot := update
			_, err = s.UpdateVolume(ctx, alice, vol.ID, storage.VolumeUpdate{Name: ptr(ptr("x"))})
			_, berr := s.SetBootable(ctx, alice, vol.ID, false)
			if st == storage.VolumeMaintenance {
				update.check(t, err)
				boot.check(t, berr)
				before.same(t, db, feed)
			} else if err != nil || berr != nil {
				t.Fatalf("uploading: update %v, bootable %v", err, berr)
			}
		}
	})
}

func TestDeleteVolume(t *testing.T) {
	forEngine(t, func(t *testing.T, s *storage.Store, db *sqlstore.DB, feed *watch.Log) {
		ctx := context.Background()
		// Never placed: deleted at once, whatever its status.
		for _, st := range []storage.VolumeStatus{storage.VolumeCreating, storage.VolumeInUse, storage.VolumeError} {
			vol := mustCreate(t, s, alice, storage.VolumeCreate{Size: 1, VolumeType: nowhere(t, s)})
			if vol.Host != "" || vol.Status != storage.VolumeError {
				t.Fatalf("a volume no pool takes: %+v", vol)
			}
			if st != storage.VolumeError {
				if _, err := db.Exec(ctx, "UPDATE storage_volumes SET status = ? WHERE id = ?", string(st), vol.ID); err != nil {
					t.Fatal(err)
				}
			}
			head, _, _ := feed.Head(ctx)
			got, err := s.DeleteVolume(ctx, alice, vol.ID, storage.DeleteOptions{})
			if err != nil || got.Status != storage.VolumeDeleted || got.DeletedAt == nil || got.TerminatedAt == nil {
				t.Fatalf("unplaced %s: %+v %v", st, got, err)
			}
			b, err := feed.Since(ctx, watch.Query{Area: storage.FeedArea, Since: head})
			if err != nil || len(b.Changes) != 1 || b.Changes[0].Op != watch.Delete || b.Changes[0].Kind != "volume" || b.Changes[0].Project != alice.Project {
				t.Fatalf("feed: %+v %v", b, err)
			}
			if _, err := s.Volume(ctx, alice, vol.ID); fault.KindOf(err) != fault.NotFound {
				t.Fatalf("a deleted volume is not found: %v", err)
			}
		}

		const msg = "Invalid volume: Volume status must be available or error or error_restoring or error_extending or error_managing and must not be migrating, attached, belong to a group, have snapshots, awaiting a transfer, or be disassociated from snapshots after volume transfer."
		const forced = "Invalid volume: Volume  must not be migrating, attached, belong to a group, have snapshots, awaiting a transfer, or be disassociated from snapshots after volume transfer."
		allowed := map[storage.VolumeStatus]storage.VolumeStatus{storage.VolumeAvailable: storage.VolumeDeleting,
			storage.VolumeError: storage.VolumeDeleting, storage.VolumeErrorRestoring: storage.VolumeDeleting,
			storage.VolumeErrorExtending: storage.VolumeDeleting, storage.VolumeErrorManaging: storage.VolumeErrorManagingDeleting}
		for _, st := range storage.VolumeStatuses() {
			for _, force := range []bool{false, true} {
				for _, attached := range []bool{false, true} {
					t.Run(fmt.Sprintf("%s force=%v attached=%v", st, force, attached), func(t *testing.T) {
						vol := mustCreate(t, s, alice, storage.VolumeCreate{Size: 1})
						place(t, db, vol.ID, "h@b#p")
						as := storage.AttachDetached
						if attached {
							as = storage.AttachAttached
						}
						if _, err := db.Exec(ctx, "UPDATE storage_volumes SET status = ?, attach_status = ? WHERE id = ?", string(st), string(as), vol.ID); err != nil {
							t.Fatal(err)
						}
						before := snapshot(t, db, feed)
						got, err := s.DeleteVolume(ctx, alice, vol.ID, storage.DeleteOptions{Force: force, Cascade: true})
						to, ok := allowed[st]
						if force && !ok {
							to, ok = storage.VolumeDeleting, true
						}
						switch {
						case attached && force:
							refusal{fault.BadRequest, forced, false}.check(t, err)
							before.same(t, db, feed)
						case attached || !ok:
							refusal{fault.BadRequest, msg, false}.check(t, err)
							before.same(t, db, feed)
						case err != nil || got.Status != to || got.DeletedAt != nil || got.TerminatedAt == nil:
							t.Fatalf("delete: %+v %v", got, err)
						}
					})
				}
			}
		}
	})
}

func TestExtendVolume(t *testing.T) {
	forEngine(t, func(t *testing.T, s *storage.Store, db *sqlstore.DB, feed *watch.Log) {
		ctx := context.Background()
		vol := mustCreate(t, s, alice, storage.VolumeCreate{Size: 2})
		before := snapshot(t, db, feed)
		_, err := s.ExtendVolume(ctx, alice, vol.ID, 3)
		refusal{fault.BadRequest, "Invalid volume: Volume " + vol.ID + " status must be '{'status': 'available'}' to extend, currently creating.", false}.check(t, err)
		for _, n := range []int64{2, 1, -5} {
			_, err = s.ExtendVolume(ctx, alice, vol.ID, n)
			refusal{fault.BadRequest, fmt.Sprintf("Invalid input received: New size for extend must be greater than current size. (current: 2, extended: %d).", n), false}.check(t, err)
		}
		_, err = s.ExtendVolume(ctx, alice, vol.ID, 1<<31)
		refusal{fault.BadRequest, "Invalid input received: New size for extend must be at most 2147483647.", false}.check(t, err)
		before.same(t, db, feed)

		if _, err := s.ResetStatus(ctx, admin, vol.ID, storage.StatusReset{Status: storage.VolumeAvailable}); err != nil {
			t.Fatal(err)
		}
		got, err := s.ExtendVolume(ctx, alice, vol.ID, 5)
		if err != nil || got.Status != storage.VolumeExtending || got.NewSize != 5 || got.Size != 2 {
			t.Fatalf("extend: %+v %v", got, err)
		}
		// An admin's reset abandons it.
		if got, err = s.ResetStatus(ctx, admin, vol.ID, storage.StatusReset{Status: storage.VolumeAvailable}); err != nil || got.NewSize != 0 {
			t.Fatalf("reset: %+v %v", got, err)
		}

		// Two extends at once: one wins.
		var wg sync.WaitGroup
		errs := make([]error, 8)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = s.ExtendVolume(ctx, alice, vol.ID, int64(10+i))
			}()
		}
		wg.Wait()
		won := 0
		for _, err := range errs {
			switch k := fault.KindOf(err); {
			case err == nil:
				won++
			case k != fault.BadRequest && k != fault.Conflict:
				t.Fatalf("a lost extend: %v", err)
			}
		}
		if won != 1 {
			t.Fatalf("%d extends won: %v", won, errs)
		}
	})
}

func TestResetStatus(t *testing.T) {
	forEngine(t, func(t *testing.T, s *storage.Store, db *sqlstore.DB, feed *watch.Log) {
		ctx := context.Background()
		vol := mustCreate(t, s, alice, storage.VolumeCreate{Size: 1})
		before := snapshot(t, db, feed)
		for _, c := range []struct {
			r    storage.StatusReset
			want refusal
		}{
			{storage.StatusReset{}, refusal{fault.BadRequest, "Must specify 'status', 'attach_status' or 'migration_status' for update.", false}},
			{storage.StatusReset{Status: "nope"}, refusal{fault.BadRequest, "Volume status: nope is invalid, valid statuses are: ('creating', 'available', 'deleting', 'error', 'error_deleting', 'error_managing', 'managing', 'attaching', 'in-use', 'detaching', 'maintenance', 'restoring-backup', 'error_restoring', 'reserved', 'awaiting-transfer', 'backing-up', 'error_backing-up', 'error_extending', 'downloading', 'uploading', 'retyping', 'extending').", false}},
			{storage.StatusReset{Status: storage.VolumeDeleted}, refusal{fault.BadRequest, "Volume status: deleted is invalid", true}},
			{storage.StatusReset{AttachStatus: storage.AttachReserved}, refusal{fault.BadRequest, "Volume attach status: reserved is invalid, valid statuses are: ['attached', 'detached'].", false}},
			{storage.StatusReset{Status: storage.VolumeDeleting}, refusal{fault.BadRequest, "Cannot reset-state to deleting", false}},
			{storage.StatusReset{Status: storage.VolumeErrorDeleting}, refusal{fault.BadRequest, "Cannot reset-state to error_deleting", false}},
			{storage.StatusReset{Status: storage.VolumeDetaching}, refusal{fault.BadRequest, "Cannot reset-state to detaching", false}},
			{storage.StatusReset{Status: storage.VolumeInUse}, refusal{fault.BadRequest, "Cannot reset-state to in-use because volume does not have any attachments.", false}},
		} {
			_, err := s.ResetStatus(ctx, admin, vol.ID, c.r)
			c.want.check(t, err)
		}
		before.same(t, db, feed)
		got, err := s.ResetStatus(ctx, admin, vol.ID, storage.StatusReset{Status: storage.VolumeError, AttachStatus: storage.AttachAttached})
		if err != nil || got.Status != storage.VolumeError || got.AttachStatus != storage.AttachAttached || got.Revision != 2 {
			t.Fatalf("reset: %+v %v", got, err)
		}
	})
}

// TestVolumeFeed checks that every change is one feed entry of the
// volume's project, with the volume as it is after.
func TestVolumeFeed(t *testing.T) {
	forEngine(t, func(t *testing.T, s *storage.Store, db *sqlstore.DB, feed *watch.Log) {
		ctx := context.Background()
		head, _, _ := feed.Head(ctx)
		vol := mustCreate(t, s, alice, storage.VolumeCreate{Size: 1})
		if _, err := s.UpdateVolume(ctx, alice, vol.ID, storage.VolumeUpdate{Name: ptr(ptr("n"))}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ResetStatus(ctx, admin, vol.ID, storage.StatusReset{Status: storage.VolumeAvailable}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.DeleteVolume(ctx, alice, vol.ID, storage.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ReportVolume(ctx, defaultPool, vol.ID, storage.VolumeReport{Status: storage.VolumeDeleting}); err != nil {
			t.Fatal(err)
		}
		b, err := feed.Since(ctx, watch.Query{Area: storage.FeedArea, Project: alice.Project, Since: head})
		if err != nil {
			t.Fatal(err)
		}
		var ops []string
		for _, c := range b.Changes {
			var v storage.Volume
			if c.Op != watch.Delete {
				if err := json.Unmarshal(c.Data, &v); err != nil {
					t.Fatal(err)
				}
			}
			ops = append(ops, fmt.Sprintf("%s %s %s", c.Op, c.ID, v.Status))
		}
		want := []string{"create " + vol.ID + " creating", "update " + vol.ID + " creating", "update " + vol.ID + " available",
			"update " + vol.ID + " deleting", "delete " + vol.ID + " "}
		if !slices.Equal(ops, want) {
			t.Fatalf("feed %q, want %q", ops, want)
		}
	})
}
