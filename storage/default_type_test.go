package storage_test

import (
	"context"
	"testing"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
	"github.com/gostack/gostack/storage"
)

// A project's default type: set by name (an unknown type refused),
// what that project's volumes created without a type get and its
// default type, while another project keeps the configured one; the
// type cannot be deleted while it is a project's default; unset, the
// configured default applies again.
func TestDefaultTypes(t *testing.T) {
	forEngine(t, func(t *testing.T, s *storage.Store, db *sqlstore.DB, feed *watch.Log) {
		ctx := context.Background()
		gold, err := s.CreateVolumeType(ctx, storage.VolumeTypeCreate{Name: "gold"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.SetDefaultType(ctx, alice.Project, "platinum"); fault.KindOf(err) != fault.BadRequest ||
			fault.Message(err) != "Volume type with name platinum could not be found." {
			t.Fatalf("an unknown type: %v", err)
		}
		if _, err := s.DefaultTypes(ctx, alice.Project); fault.KindOf(err) != fault.NotFound ||
			fault.Message(err) != "Default type for project "+alice.Project+" not found." {
			t.Fatalf("none set: %v", err)
		}
		d, err := s.SetDefaultType(ctx, alice.Project, "gold")
		if err != nil || d.VolumeTypeID != gold.ID || d.ProjectID != alice.Project {
			t.Fatalf("set: %+v %v", d, err)
		}
		if d, err = s.SetDefaultType(ctx, alice.Project, gold.ID); err != nil || d.VolumeTypeID != gold.ID {
			t.Fatalf("set again by id: %+v %v", d, err)
		}
		if v := mustCreate(t, s, alice, storage.VolumeCreate{Size: 1}); v.VolumeTypeID != gold.ID {
			t.Errorf("alice's volume has type %s, want gold", v.VolumeTypeID)
		}
		def, _ := s.DefaultVolumeType(ctx)
		if v := mustCreate(t, s, bob, storage.VolumeCreate{Size: 1}); v.VolumeTypeID != def.ID {
			t.Errorf("bob's volume has type %s, want the configured default", v.VolumeTypeID)
		}
		if got, err := s.ProjectDefaultVolumeType(ctx, alice.Project); err != nil || got.ID != gold.ID {
			t.Errorf("alice's default: %+v %v", got, err)
		}
		if ds, err := s.DefaultTypes(ctx, ""); err != nil || len(ds) != 1 || ds[0] != d {
			t.Errorf("all: %+v %v", ds, err)
		}
		other, err := s.CreateVolumeType(ctx, storage.VolumeTypeCreate{Name: "other"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.SetDefaultType(ctx, bob.Project, "other"); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteVolumeType(ctx, other.ID); fault.KindOf(err) != fault.BadRequest ||
			fault.Message(err) != "The volume type "+other.ID+" is a default volume type and cannot be deleted." {
			t.Fatalf("delete of a project's default: %v", err)
		}
		if err := s.UnsetDefaultType(ctx, bob.Project); err != nil {
			t.Fatal(err)
		}
		if err := s.UnsetDefaultType(ctx, bob.Project); err != nil {
			t.Fatalf("unset twice: %v", err)
		}
		if err := s.DeleteVolumeType(ctx, other.ID); err != nil {
			t.Fatalf("delete after the unset: %v", err)
		}
		if err := s.UnsetDefaultType(ctx, alice.Project); err != nil {
			t.Fatal(err)
		}
		if got, err := s.ProjectDefaultVolumeType(ctx, alice.Project); err != nil || got.ID != def.ID {
			t.Errorf("alice's default after the unset: %+v %v", got, err)
		}
	})
}
