package compute_test

import (
	"testing"

	"github.com/google/uuid"

	"github.com/gostack/gostack/compute"
)

// A deleted instance's console tail goes with it.
func TestConsoleGoesWithInstance(t *testing.T) {
	s, db, _ := newStore(t, "sqlite://"+t.TempDir()+"/c.db")
	ctx := t.Context()
	i, err := s.CreateInstance(ctx, compute.Instance{UUID: uuid.NewString(), ProjectID: "p", UserID: "u", Name: "vm",
		Flavor: compute.InstanceFlavor{ID: "1", Name: "tiny", VCPUs: 1, MemoryMB: 64, RootGB: 1}, ImageRef: uuid.NewString()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Place(ctx, i.UUID, "h1", "h1", nil); err != nil {
		t.Fatal(err)
	}
	if err := s.SetConsole(ctx, "h1", i.UUID, []byte("booting\n")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ReportInstance(ctx, "h1", i.UUID, compute.InstanceReport{Task: compute.Spawning, VMState: compute.Active, PowerState: compute.PowerRunning}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.StartAction(ctx, compute.Viewer{Admin: true}, i.UUID, "delete"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ReportInstance(ctx, "h1", i.UUID, compute.InstanceReport{Task: compute.Deleting, Deleted: true}); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.Get(ctx, "SELECT COUNT(*) FROM compute_instance_consoles WHERE instance_uuid = ?", []any{i.UUID}, &n); err != nil || n != 0 {
		t.Fatalf("console rows after the delete: %d %v", n, err)
	}
}
