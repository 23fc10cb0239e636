package agent_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	kitagent "github.com/gostack/gostack/kit/agent"
	"github.com/gostack/gostack/storage"
	"github.com/gostack/gostack/storage/agent"
)

// A migration whose copy fails, between two pools with stand-in
// backends: the destination's agent makes its copy, the source's copy
// fails for good (the destination's export is no iSCSI one), and the
// volume goes back to where it was, of its type, with the reason, while
// the destination's agent removes its copy (and no longer exports it);
// the source keeps its volume and its export; nothing is left
// retyping.
func TestVolumeAgentRetypeFailed(t *testing.T) {
	store, url := controller(t)
	ctx, user := context.Background(), storage.Viewer{Project: "proj"}
	pool := func(name string) *fakeBackend {
		b := &fakeBackend{vols: map[string]int64{}, failing: map[string]error{}}
		runAgent(t, &agent.Agent{Config: agent.Config{Host: "node1@" + name + "#" + name, BackendName: name, SyncInterval: 50 * time.Millisecond},
			Backend: b, Session: kitagent.NewSession(kitagent.Credentials{AuthURL: url + "/v3", Username: "volume-agent", Password: "x"}),
			VolumeURL: url, FeedURL: url + "/v1/watch/volume"})
		return b
	}
	a, b := pool("a"), pool("b")
	wait := func(what string, cond func() bool) {
		t.Helper()
		for end := time.Now().Add(10 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(end) {
				t.Fatalf("not %s after 10 s", what)
			}
		}
	}
	wait("two pools", func() bool { bs, _ := store.Backends(ctx); return len(bs) == 2 })
	for _, n := range []string{"a", "b"} {
		if _, err := store.CreateVolumeType(ctx, storage.VolumeTypeCreate{Name: n, ExtraSpecs: map[string]string{"volume_backend_name": n}}); err != nil {
			t.Fatal(err)
		}
	}
	v, err := store.CreateVolume(ctx, user, storage.VolumeCreate{UserID: "u", Size: 1, VolumeType: "a"})
	if err != nil {
		t.Fatal(err)
	}
	get := func() storage.Volume { x, _ := store.Volume(ctx, storage.Viewer{Admin: true}, v.ID); return x }
	wait("available", func() bool { return get().Status == storage.VolumeAvailable })
	if _, err := store.RetypeVolume(ctx, user, v.ID, storage.VolumeRetypeRequest{NewType: "b", MigrationPolicy: storage.MigrationOnDemand}); err != nil {
		t.Fatal(err)
	}
	wait("back where it was", func() bool { x := get(); return x.Retype == nil && x.Status == storage.VolumeAvailable })
	got := get()
	if got.Host != "node1@a#a" || got.VolumeTypeID != v.VolumeTypeID || !strings.Contains(got.Message, "has no IQN") {
		t.Fatalf("after the failed copy: on %s, type %s, %q", got.Host, got.VolumeTypeID, got.Message)
	}
	a.mu.Lock()
	_, onA := a.vols[v.ID]
	a.mu.Unlock()
	b.mu.Lock()
	_, onB := b.vols[v.ID]
	made := b.tries
	b.mu.Unlock()
	if !onA || onB || made != 1 {
		t.Fatalf("the copies: on a %v, on b %v (b made %d)", onA, onB, made)
	}
	wait("a's export kept, b's gone", func() bool {
		a.mu.Lock()
		defer a.mu.Unlock()
		b.mu.Lock()
		defer b.mu.Unlock()
		return slices.Contains(a.wanted, v.ID) && !slices.Contains(b.wanted, v.ID)
	})
}

// Two pools on one storage (the same stand-in backend behind both
// agents, as two RBD pools on one Ceph pool or iSCSI pools sharing a
// directory): the destination already holds a volume of the migrating
// volume's name — the volume itself. Its agent refuses to take it as
// its copy (it is not marked with the migration's claim), the migration
// fails with the volume back where it was, and the abort removes
// nothing: the volume's only copy is kept.
func TestVolumeAgentRetypeSharedStorage(t *testing.T) {
	store, url := controller(t)
	ctx, user := context.Background(), storage.Viewer{Project: "proj"}
	shared := &fakeBackend{vols: map[string]int64{}, failing: map[string]error{}}
	for _, name := range []string{"a", "b"} {
		runAgent(t, &agent.Agent{Config: agent.Config{Host: "node1@" + name + "#" + name, BackendName: name, SyncInterval: 50 * time.Millisecond},
			Backend: shared, Session: kitagent.NewSession(kitagent.Credentials{AuthURL: url + "/v3", Username: "volume-agent", Password: "x"}),
			VolumeURL: url, FeedURL: url + "/v1/watch/volume"})
	}
	wait := func(what string, cond func() bool) {
		t.Helper()
		for end := time.Now().Add(10 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(end) {
				t.Fatalf("not %s after 10 s", what)
			}
		}
	}
	wait("two pools", func() bool { bs, _ := store.Backends(ctx); return len(bs) == 2 })
	for _, n := range []string{"a", "b"} {
		if _, err := store.CreateVolumeType(ctx, storage.VolumeTypeCreate{Name: n, ExtraSpecs: map[string]string{"volume_backend_name": n}}); err != nil {
			t.Fatal(err)
		}
	}
	v, err := store.CreateVolume(ctx, user, storage.VolumeCreate{UserID: "u", Size: 1, VolumeType: "a"})
	if err != nil {
		t.Fatal(err)
	}
	get := func() storage.Volume { x, _ := store.Volume(ctx, storage.Viewer{Admin: true}, v.ID); return x }
	wait("available", func() bool { return get().Status == storage.VolumeAvailable })
	shared.mu.Lock()
	made := shared.tries
	shared.mu.Unlock()
	if _, err := store.RetypeVolume(ctx, user, v.ID, storage.VolumeRetypeRequest{NewType: "b", MigrationPolicy: storage.MigrationOnDemand}); err != nil {
		t.Fatal(err)
	}
	wait("back where it was", func() bool { x := get(); return x.Retype == nil && x.Status == storage.VolumeAvailable })
	got := get()
	if got.Host != "node1@a#a" || got.VolumeTypeID != v.VolumeTypeID || !strings.Contains(got.Message, "is not claim") {
		t.Fatalf("after the refused copy: on %s, type %s, %q", got.Host, got.VolumeTypeID, got.Message)
	}
	shared.mu.Lock()
	size, kept := shared.vols[v.ID]
	tries, order := shared.tries, slices.Clone(shared.order)
	shared.mu.Unlock()
	if !kept || size != 1 || tries != made || len(order) != 0 {
		t.Fatalf("the volume's copy: kept %v (%d GiB), creates since the retype %d, removals %v", kept, size, tries-made, order)
	}
}
