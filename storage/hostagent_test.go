package storage_test

import (
	"context"
	"testing"

	"github.com/gostack/gostack/internal/testenv"
	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/storage"
)

// A volume host's machine is its first agent user's; deleting its last
// backend frees it.
func TestBindHostAgent(t *testing.T) {
	for _, eng := range testenv.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			s, _, _ := newStore(t, eng.DSN)
			ctx := context.Background()
			if err := s.BindHostAgent(ctx, "node_1", "agent-a"); err != nil {
				t.Fatal(err)
			}
			if err := s.BindHostAgent(ctx, "node_1", "agent-a"); err != nil {
				t.Fatalf("the same user again: %v", err)
			}
			if err := s.BindHostAgent(ctx, "node_1", "agent-b"); fault.KindOf(err) != fault.Forbidden {
				t.Fatalf("another user: %v", err)
			}
			// node-1 is another machine, whatever LIKE would think of '_'.
			if err := s.BindHostAgent(ctx, "nodeX1", "agent-b"); err != nil {
				t.Fatal(err)
			}
			for _, h := range []string{"node_1@iscsi#iscsi", "node_1@rbd#rbd", "nodeX1@iscsi#iscsi"} {
				if _, err := s.ReportBackend(ctx, h, storage.BackendReport{TotalCapacityGB: storage.GB(10), FreeCapacityGB: storage.GB(10)}); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.DeleteBackend(ctx, "node_1@iscsi#iscsi"); err != nil {
				t.Fatal(err)
			}
			if err := s.BindHostAgent(ctx, "node_1", "agent-b"); fault.KindOf(err) != fault.Forbidden {
				t.Fatalf("another user while a backend is left: %v", err)
			}
			if err := s.DeleteBackend(ctx, "node_1@rbd#rbd"); err != nil {
				t.Fatal(err)
			}
			if err := s.BindHostAgent(ctx, "node_1", "agent-b"); err != nil {
				t.Fatalf("another user once the machine has no backend: %v", err)
			}
		})
	}
}
