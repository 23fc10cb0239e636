package storage_test

import (
	"context"
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

func mustType(t *testing.T, s *storage.Store, c storage.VolumeTypeCreate) storage.VolumeType {
	t.Helper()
	vt, err := s.CreateVolumeType(context.Background(), c)
	if err != nil {
		t.Fatalf("create type %+v: %v", c, err)
	}
	return vt
}

func typeNames(ts []storage.VolumeType) []string {
	out := []string{}
	for _, t := range ts {
		out = append(out, t.Name)
	}
	return out
}

func TestDefaultVolumeType(t *testing.T) {
	forEngine(t, func(t *testing.T, s *storage.Store, db *sqlstore.DB, feed *watch.Log) {
		ctx := context.Background()
		def, err := s.DefaultVolumeType(ctx)
		if err != nil || def.Name != storage.DefaultVolumeTypeName || !def.IsPublic || *def.Description != "Default Volume Type" {
			t.Fatalf("default type: %+v %v", def, err)
		}
		vol := mustCreate(t, s, alice, storage.VolumeCreate{Size: 1})
		if vol.VolumeTypeID != def.ID || vol.Multiattach {
			t.Fatalf("a volume without a type: %+v", vol)
		}
		before := snapshot(t, db, feed)
		err = s.DeleteVolumeType(ctx, def.ID)
		refusal{fault.BadRequest, "The volume type " + def.ID + " is a default volume type and cannot be deleted.", false}.check(t, err)
		before.same(t, db, feed)

		// Another default: __DEFAULT__ may go once unused.
		gold := mustType(t, s, storage.VolumeTypeCreate{Name: "gold"})
		s.DefaultType = "gold"
		if vol := mustCreate(t, s, alice, storage.VolumeCreate{Size: 1}); vol.VolumeTypeID != gold.ID {
			t.Fatalf("the configured default: %+v", vol)
		}
		err = s.DeleteVolumeType(ctx, def.ID)
		refusal{fault.BadRequest, "Target volume type is still in use.", false}.check(t, err)
		purge(t, s, alice, vol.ID)
		if err := s.DeleteVolumeType(ctx, def.ID); err != nil {
			t.Fatalf("delete __DEFAULT__ once unused and not the default: %v", err)
		}
		s.DefaultType = "missing"
		before = snapshot(t, db, feed)
		_, err = s.CreateVolume(ctx, alice, storage.VolumeCreate{Size: 1})
		if fault.KindOf(err) != fault.Internal || !strings.Contains(err.Error(), "default volume type missing cannot be found") {
			t.Fatalf("a default misconfigured: %v", err)
		}
		before.same(t, db, feed)
	})
}

func TestVolumeTypes(t *testing.T) {
	forEngine(t, func(t *testing.T, s *storage.Store, db *sqlstore.DB, feed *watch.Log) {
		ctx := context.Background()
		c := &clock{t: time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)}
		s.Now = c.now
		gold := mustType(t, s, storage.VolumeTypeCreate{Name: "gold", Description: ptr("fast"),
			ExtraSpecs: map[string]string{"volume_backend_name": "lvm", "RESKEY:availability_zones": "az1, az2"}})
		c.add(time.Second)
		secret := mustType(t, s, storage.VolumeTypeCreate{Name: "secret", IsPublic: ptr(false), Projects: []string{bob.Project, bob.Project, "p-x"}})
		c.add(time.Second)
		uuidName := mustType(t, s, storage.VolumeTypeCreate{Name: "0b7c9a96-43a8-4b55-8b33-6bd2b4e6e0e1", ID: "0B7C9A96-43A8-4B55-8B33-6BD2B4E6E0E2"})
		if !gold.IsPublic || secret.IsPublic || !slices.Equal(secret.Projects, []string{bob.Project, "p-x"}) ||
			uuidName.ID != "0b7c9a96-43a8-4b55-8b33-6bd2b4e6e0e2" || gold.ExtraSpecs["volume_backend_name"] != "lvm" {
			t.Fatalf("created %+v %+v %+v", gold, secret, uuidName)
		}

		// Who sees what.
		for _, c := range []struct {
			v    storage.Viewer
			f    storage.VolumeTypeFilter
			want []string
		}{
			{alice, storage.VolumeTypeFilter{}, []string{uuidName.Name, "gold", storage.DefaultVolumeTypeName}},
			{bob, storage.VolumeTypeFilter{}, []string{uuidName.Name, "secret", "gold", storage.DefaultVolumeTypeName}},
			{bob, storage.VolumeTypeFilter{IsPublic: ptr(true)}, []string{uuidName.Name, "secret", "gold", storage.DefaultVolumeTypeName}},
			{admin, storage.VolumeTypeFilter{}, []string{uuidName.Name, "secret", "gold", storage.DefaultVolumeTypeName}},
			{admin, storage.VolumeTypeFilter{IsPublic: ptr(false)}, []string{"secret"}},
			{storage.Viewer{Admin: true}, storage.VolumeTypeFilter{IsPublic: ptr(true)}, []string{uuidName.Name, "gold", storage.DefaultVolumeTypeName}},
			{alice, storage.VolumeTypeFilter{ExtraSpecs: map[string]string{"volume_backend_name": "lvm"}}, []string{"gold"}},
			{alice, storage.VolumeTypeFilter{ExtraSpecs: map[string]string{"RESKEY:availability_zones": "az2"}}, []string{"gold"}},
			{alice, storage.VolumeTypeFilter{ExtraSpecs: map[string]string{"RESKEY:availability_zones": "az3"}}, []string{}},
			{alice, storage.VolumeTypeFilter{SortKeys: []string{"name"}, SortDirs: []string{"asc"}}, []string{uuidName.Name, storage.DefaultVolumeTypeName, "gold"}},
		} {
			got, _, err := s.VolumeTypes(ctx, c.v, c.f)
			if err != nil || !slices.Equal(typeNames(got), c.want) {
				t.Errorf("%+v %+v: %v %v, want %v", c.v, c.f, typeNames(got), err, c.want)
			}
			var paged []string
			f := c.f
			f.Limit = 1
			for {
				page, more, err := s.VolumeTypes(ctx, c.v, f)
				if err != nil {
					t.Fatal(err)
				}
				paged = append(paged, typeNames(page)...)
				if !more {
					break
				}
				f.Marker = page[0].ID
			}
			if !slices.Equal(paged, c.want) && len(c.want) > 0 {
				t.Errorf("%+v %+v paged: %v, want %v", c.v, c.f, paged, c.want)
			}
		}
		if _, err := s.VolumeType(ctx, alice, secret.ID); fault.KindOf(err) != fault.NotFound {
			t.Fatalf("a private type is not found by others: %v", err)
		}
		if got, err := s.VolumeType(ctx, bob, secret.ID); err != nil || got.Name != "secret" {
			t.Fatalf("a project it is shared with sees it: %v", err)
		}
		_, _, err := s.VolumeTypes(ctx, alice, storage.VolumeTypeFilter{Marker: secret.ID})
		refusal{fault.NotFound, "Volume type " + secret.ID + " could not be found.", false}.check(t, err)

		// Found by name or id, as Cinder's get_by_name_or_id.
		for _, c := range []struct {
			v     storage.Viewer
			ident string
			want  string
			err   string
		}{
			{alice, "gold", "gold", ""},
			{alice, gold.ID, "gold", ""},
			{alice, uuidName.Name, uuidName.Name, ""},
			{alice, "secret", "", "Volume type with name secret could not be found."},
			{alice, secret.ID, "", "Volume type " + secret.ID + " could not be found."},
			{bob, "secret", "secret", ""},
		} {
			got, err := s.FindVolumeType(ctx, c.v, c.ident)
			if c.err != "" {
				refusal{fault.NotFound, c.err, false}.check(t, err)
			} else if err != nil || got.Name != c.want {
				t.Errorf("find %q: %+v %v", c.ident, got, err)
			}
		}

		before := snapshot(t, db, feed)
		long := strings.Repeat("x", 256)
		for _, c := range []struct {
			name string
			c    storage.VolumeTypeCreate
			want refusal
		}{
			{"name taken", storage.VolumeTypeCreate{Name: "gold"}, refusal{fault.Conflict, "Volume Type gold already exists.", false}},
			{"id taken", storage.VolumeTypeCreate{Name: "g2", ID: gold.ID}, refusal{fault.Conflict, "Volume Type " + gold.ID + " already exists.", false}},
			{"no name", storage.VolumeTypeCreate{}, refusal{fault.BadRequest, "An invalid 'name' value was provided. The 'name' can not be None.", false}},
			{"blank name", storage.VolumeTypeCreate{Name: "  "}, refusal{fault.BadRequest, "An invalid 'name' value was provided. The 'name' can not be empty.", false}},
			{"long name", storage.VolumeTypeCreate{Name: long}, refusal{fault.BadRequest, "Invalid input received: name has more than 255 characters.", false}},
			{"bad key", storage.VolumeTypeCreate{Name: "k", ExtraSpecs: map[string]string{"a&b": "x"}}, refusal{fault.BadRequest, `Invalid input received: extra spec key "a&b" must be 1 to 255 of 'a-zA-Z0-9-_:. /'.`, false}},
			{"long value", storage.VolumeTypeCreate{Name: "k", ExtraSpecs: map[string]string{"a": long}}, refusal{fault.BadRequest, "Invalid input received: extra_specs has more than 255 characters.", false}},
			{"cacheable multiattach", storage.VolumeTypeCreate{Name: "k", ExtraSpecs: map[string]string{"multiattach": "<is> True", "cacheable": "<is> True"}}, refusal{fault.BadRequest, "cacheable cannot be set with multiattach.", false}},
			{"empty project", storage.VolumeTypeCreate{Name: "k", IsPublic: ptr(false), Projects: []string{""}}, refusal{fault.BadRequest, "Invalid input received: project id can not be empty.", false}},
			{"bad id", storage.VolumeTypeCreate{Name: "k", ID: "7"}, refusal{fault.BadRequest, `Invalid input received: volume type id "7" is not a UUID.`, false}},
		} {
			t.Run(c.name, func(t *testing.T) {
				_, err := s.CreateVolumeType(ctx, c.c)
				c.want.check(t, err)
				before.same(t, db, feed)
			})
		}
		_, _, err = s.VolumeTypes(ctx, alice, storage.VolumeTypeFilter{SortKeys: []string{"size"}})
		refusal{fault.BadRequest, "Invalid input received: Invalid sort key", false}.check(t, err)
	})
}

func TestUpdateVolumeType(t *testing.T) {
	forEngine(t, func(t *testing.T, s *storage.Store, db *sqlstore.DB, feed *watch.Log) {
		ctx := context.Background()
		gold := mustType(t, s, storage.VolumeTypeCreate{Name: "gold"})
		mustType(t, s, storage.VolumeTypeCreate{Name: "silver"})
		before := snapshot(t, db, feed)
		for _, c := range []struct {
			u    storage.VolumeTypeUpdate
			want refusal
		}{
			{storage.VolumeTypeUpdate{}, refusal{fault.BadRequest, "Specify volume type name, description, is_public or a combination thereof.", false}},
			{storage.VolumeTypeUpdate{Name: ptr(" ")}, refusal{fault.BadRequest, "Volume type name can not be empty.", false}},
			{storage.VolumeTypeUpdate{Name: ptr("silver")}, refusal{fault.Conflict, "Volume Type silver already exists.", false}},
			{storage.VolumeTypeUpdate{Description: ptr(strings.Repeat("d", 256))}, refusal{fault.BadRequest, "Invalid input received: description has more than 255 characters.", false}},
		} {
			_, err := s.UpdateVolumeType(ctx, gold.ID, c.u)
			c.want.check(t, err)
		}
		_, err := s.UpdateVolumeType(ctx, "nope", storage.VolumeTypeUpdate{IsPublic: ptr(false)})
		refusal{fault.NotFound, "Volume type nope could not be found.", false}.check(t, err)
		before.same(t, db, feed)
		got, err := s.UpdateVolumeType(ctx, gold.ID, storage.VolumeTypeUpdate{Name: ptr("platinum"), Description: ptr("d"), IsPublic: ptr(false)})
		if err != nil || got.Name != "platinum" || *got.Description != "d" || got.IsPublic || got.UpdatedAt == nil {
			t.Fatalf("update: %+v %v", got, err)
		}
		if _, err := s.FindVolumeType(ctx, admin, "gold"); fault.KindOf(err) != fault.NotFound {
			t.Fatalf("the old name is free: %v", err)
		}
		if _, err := s.CreateVolumeType(ctx, storage.VolumeTypeCreate{Name: "gold"}); err != nil {
			t.Fatal(err)
		}
	})
}

func TestVolumeTypeSpecsAndAccess(t *testing.T) {
	forEngine(t, func(t *testing.T, s *storage.Store, db *sqlstore.DB, feed *watch.Log) {
		ctx := context.Background()
		gold := mustType(t, s, storage.VolumeTypeCreate{Name: "gold", ExtraSpecs: map[string]string{"a": "1", "multiattach": "<is> True"}})
		got, err := s.SetVolumeTypeExtraSpecs(ctx, gold.ID, map[string]string{"a": "2", "b": "3"})
		if err != nil || !maps.Equal(got.ExtraSpecs, map[string]string{"a": "2", "b": "3", "multiattach": "<is> True"}) {
			t.Fatalf("set specs: %+v %v", got, err)
		}
		if got, err = s.DeleteVolumeTypeExtraSpec(ctx, gold.ID, "a"); err != nil || got.ExtraSpecs["a"] != "" {
			t.Fatalf("unset: %+v %v", got, err)
		}
		before := snapshot(t, db, feed)
		_, err = s.DeleteVolumeTypeExtraSpec(ctx, gold.ID, "a")
		refusal{fault.NotFound, "Volume Type " + gold.ID + " has no extra specs with key a.", false}.check(t, err)
		_, err = s.SetVolumeTypeExtraSpecs(ctx, gold.ID, map[string]string{"cacheable": "<is> True"})
		refusal{fault.BadRequest, "cacheable cannot be set with multiattach.", false}.check(t, err)
		_, err = s.VolumeTypeAccess(ctx, admin, gold.ID)
		refusal{fault.NotFound, "Access list not available for public volume types.", false}.check(t, err)
		_, err = s.AddVolumeTypeAccess(ctx, gold.ID, bob.Project)
		refusal{fault.BadRequest, "Invalid volume type: Type access modification is not applicable to public volume type.", false}.check(t, err)
		_, err = s.RemoveVolumeTypeAccess(ctx, gold.ID, bob.Project)
		refusal{fault.BadRequest, "Invalid volume type: Type access modification is not applicable to public volume type.", false}.check(t, err)
		before.same(t, db, feed)

		// A volume of the type freezes its extra specs.
		vol := mustCreate(t, s, alice, storage.VolumeCreate{Size: 1, VolumeType: "gold"})
		if !vol.Multiattach || vol.VolumeTypeID != gold.ID {
			t.Fatalf("a multiattach type's volume: %+v", vol)
		}
		before = snapshot(t, db, feed)
		_, err = s.SetVolumeTypeExtraSpecs(ctx, gold.ID, map[string]string{"c": "4"})
		refusal{fault.BadRequest, "Volume Type is currently in use.", false}.check(t, err)
		_, err = s.DeleteVolumeTypeExtraSpec(ctx, gold.ID, "b")
		refusal{fault.BadRequest, "Volume Type is currently in use.", false}.check(t, err)
		refusal{fault.BadRequest, "Target volume type is still in use.", false}.check(t, s.DeleteVolumeType(ctx, gold.ID))
		before.same(t, db, feed)
		purge(t, s, alice, vol.ID)
		if _, err := s.SetVolumeTypeExtraSpecs(ctx, gold.ID, map[string]string{"c": "4"}); err != nil {
			t.Fatalf("a deleted volume does not hold its type: %v", err)
		}

		// A private type's access list.
		secret := mustType(t, s, storage.VolumeTypeCreate{Name: "secret", IsPublic: ptr(false)})
		_, err = s.CreateVolume(ctx, bob, storage.VolumeCreate{Size: 1, VolumeType: "secret"})
		refusal{fault.NotFound, "Volume type with name secret could not be found.", false}.check(t, err)
		if list, err := s.AddVolumeTypeAccess(ctx, secret.ID, bob.Project); err != nil || !slices.Equal(list, []string{bob.Project}) {
			t.Fatalf("add access: %v %v", list, err)
		}
		mustCreate(t, s, bob, storage.VolumeCreate{Size: 1, VolumeType: "secret"})
		before = snapshot(t, db, feed)
		_, err = s.AddVolumeTypeAccess(ctx, secret.ID, bob.Project)
		refusal{fault.Conflict, "Volume type access for " + secret.ID + " / " + bob.Project + " combination already exists.", false}.check(t, err)
		_, err = s.RemoveVolumeTypeAccess(ctx, secret.ID, alice.Project)
		refusal{fault.NotFound, "Volume type access not found for " + secret.ID + " / " + alice.Project + " combination.", false}.check(t, err)
		_, err = s.VolumeTypeAccess(ctx, alice, secret.ID)
		refusal{fault.NotFound, "Volume type " + secret.ID + " could not be found.", false}.check(t, err)
		before.same(t, db, feed)
		if list, err := s.VolumeTypeAccess(ctx, bob, secret.ID); err != nil || !slices.Equal(list, []string{bob.Project}) {
			t.Fatalf("access list: %v %v", list, err)
		}
		if list, err := s.RemoveVolumeTypeAccess(ctx, secret.ID, bob.Project); err != nil || len(list) != 0 {
			t.Fatalf("remove access: %v %v", list, err)
		}
	})
}

func TestVolumeOfType(t *testing.T) {
	forEngine(t, func(t *testing.T, s *storage.Store, db *sqlstore.DB, feed *watch.Log) {
		ctx := context.Background()
		sized := mustType(t, s, storage.VolumeTypeCreate{Name: "sized", ExtraSpecs: map[string]string{
			"provisioning:min_vol_size": "2", "provisioning:max_vol_size": " 10 ", "volume_backend_name": "lvm"}})
		mustType(t, s, storage.VolumeTypeCreate{Name: "lvm2", ExtraSpecs: map[string]string{"volume_backend_name": "lvm"}})
		mustType(t, s, storage.VolumeTypeCreate{Name: "rbd", ExtraSpecs: map[string]string{"volume_backend_name": "rbd"}})
		vol := mustCreate(t, s, alice, storage.VolumeCreate{Size: 5, VolumeType: sized.ID})
		if _, err := s.ResetStatus(ctx, admin, vol.ID, storage.StatusReset{Status: storage.VolumeAvailable}); err != nil {
			t.Fatal(err)
		}
		if clone := mustCreate(t, s, alice, storage.VolumeCreate{SourceVolID: vol.ID}); clone.VolumeTypeID != sized.ID {
			t.Fatalf("a clone takes its source's type: %+v", clone)
		}
		mustCreate(t, s, alice, storage.VolumeCreate{SourceVolID: vol.ID, VolumeType: "lvm2"})
		before := snapshot(t, db, feed)
		for _, c := range []struct {
			c    storage.VolumeCreate
			want string
		}{
			{storage.VolumeCreate{Size: 1, VolumeType: "sized"}, "Invalid input received: Specified volume size of '1' is less than the minimum required size of '2' for volume type 'sized'."},
			{storage.VolumeCreate{Size: 11, VolumeType: "sized"}, "Invalid input received: Specified volume size of '11' is greater than the maximum allowable size of ' 10 ' for volume type 'sized'."},
			{storage.VolumeCreate{SourceVolID: vol.ID, VolumeType: "rbd"}, "Invalid input received: Invalid volume_type provided: "},
		} {
			_, err := s.CreateVolume(ctx, alice, c.c)
			refusal{fault.BadRequest, c.want, true}.check(t, err)
		}
		_, err := s.CreateVolume(ctx, alice, storage.VolumeCreate{Size: 1, VolumeType: "nope"})
		refusal{fault.NotFound, "Volume type with name nope could not be found.", false}.check(t, err)
		_, err = s.ExtendVolume(ctx, alice, vol.ID, 11)
		refusal{fault.BadRequest, "Invalid input received: Specified volume size of '11' is greater than the maximum allowable size of ' 10 ' for volume type 'sized'.", false}.check(t, err)
		before.same(t, db, feed)
		if got, err := s.ExtendVolume(ctx, alice, vol.ID, 10); err != nil || got.NewSize != 10 {
			t.Fatalf("extend within the type's limit: %+v %v", got, err)
		}
	})
}

// TestTypeDeleteRace deletes a type while volumes of it are being made:
// on both engines either the volume or the delete wins, never both.
func TestTypeDeleteRace(t *testing.T) {
	forEngine(t, func(t *testing.T, s *storage.Store, db *sqlstore.DB, feed *watch.Log) {
		ctx := context.Background()
		outcomes := map[string]int{}
		for i := range 30 {
			vt := mustType(t, s, storage.VolumeTypeCreate{Name: fmt.Sprintf("race-%d", i)})
			var wg sync.WaitGroup
			var verr, derr error
			wg.Add(2)
			go func() {
				defer wg.Done()
				_, verr = s.CreateVolume(ctx, alice, storage.VolumeCreate{Size: 1, VolumeType: vt.ID})
			}()
			go func() { defer wg.Done(); derr = s.DeleteVolumeType(ctx, vt.ID) }()
			wg.Wait()
			switch {
			case verr == nil && derr != nil && fault.Message(derr) == "Target volume type is still in use.":
				outcomes["volume"]++
			case derr == nil && fault.KindOf(verr) == fault.NotFound:
				outcomes["delete"]++
			default:
				t.Fatalf("round %d: create %v, delete %v", i, verr, derr)
			}
		}
		t.Logf("winners: %v", outcomes)
	})
}
