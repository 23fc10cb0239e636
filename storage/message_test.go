package storage_test

import (
	"context"
	"testing"
	"time"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
	"github.com/gostack/gostack/storage"
)

// User messages: a create no pool takes, a failed create, extend and
// snapshot leave their project Cinder's messages (its fixed words, not
// the agent's); listed newest first and filtered, seen by their project
// and admins only, deleted, and gone once expired.
func TestMessages(t *testing.T) {
	forEngine(t, func(t *testing.T, s *storage.Store, db *sqlstore.DB, feed *watch.Log) {
		ctx := context.Background()
		clk := &clock{t: time.Now()}
		s.Now = clk.now
		s.RequestID = func(context.Context) string { return "req-test" }
		// No pool takes this one.
		nowhereVol := mustCreate(t, s, alice, storage.VolumeCreate{Size: 1, VolumeType: nowhere(t, s)})
		clk.add(time.Second)
		vol := mustCreate(t, s, alice, storage.VolumeCreate{Size: 1})
		if _, err := s.ReportVolume(ctx, defaultPool, vol.ID, storage.VolumeReport{Status: storage.VolumeCreating, Error: "tgtadm: secret path /x"}); err != nil {
			t.Fatal(err)
		}
		clk.add(time.Second)
		ok := exported(t, s, alice, storage.VolumeCreate{Size: 1})
		if _, err := s.ExtendVolume(ctx, alice, ok.ID, 2); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ReportVolume(ctx, defaultPool, ok.ID, storage.VolumeReport{Status: storage.VolumeExtending, Error: "disk full"}); err != nil {
			t.Fatal(err)
		}
		clk.add(time.Second)
		n, err := s.CreateSnapshot(ctx, alice, storage.SnapshotCreate{VolumeID: exported(t, s, alice, storage.VolumeCreate{Size: 1}).ID})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.ReportSnapshot(ctx, defaultPool, n.ID, storage.SnapshotReport{Status: storage.SnapshotCreating, Error: "no"}); err != nil {
			t.Fatal(err)
		}
		ms, more, err := s.Messages(ctx, alice, storage.MessageFilter{})
		if err != nil || more {
			t.Fatal(err, more)
		}
		want := []struct{ typ, id, event, text string }{
			{storage.MessageSnapshot, n.ID, "VOLUME_VOLUME_SNAPSHOT_009_013", "create snapshot:Snapshot failed to create."},
			{storage.MessageVolume, ok.ID, "VOLUME_VOLUME_007_010", "extend volume:Volume Driver failed to extend volume."},
			{storage.MessageVolume, vol.ID, "VOLUME_VOLUME_008_012", "create volume from backend storage:Driver failed to create the volume."},
			{storage.MessageVolume, nowhereVol.ID, "VOLUME_VOLUME_001_003", "schedule allocate volume:Could not find any available weighted backend."},
		}
		if len(ms) != len(want) {
			t.Fatalf("messages: %+v", ms)
		}
		for i, w := range want {
			m := ms[i]
			if m.ResourceType != w.typ || m.ResourceUUID != w.id || m.EventID != w.event || m.UserMessage() != w.text ||
				m.ProjectID != alice.Project || m.Level != "ERROR" || m.RequestID != "req-test" || !m.ExpiresAt.Equal(m.CreatedAt.Add(storage.DefaultMessageTTL)) {
				t.Errorf("message %d: %+v (%q), want %+v", i, m, m.UserMessage(), w)
			}
		}
		if got, _, _ := s.Messages(ctx, alice, storage.MessageFilter{ResourceUUID: vol.ID}); len(got) != 1 || got[0].ID != ms[2].ID {
			t.Errorf("by resource: %+v", got)
		}
		if got, _, _ := s.Messages(ctx, alice, storage.MessageFilter{EventID: "VOLUME_VOLUME_007_010", ResourceType: storage.MessageVolume}); len(got) != 1 {
			t.Errorf("by event: %+v", got)
		}
		page, more, err := s.Messages(ctx, alice, storage.MessageFilter{Limit: 2, SortKeys: []string{"created_at"}, SortDirs: []string{"asc"}})
		if err != nil || !more || len(page) != 2 || page[0].ID != ms[3].ID {
			t.Fatalf("first page: %+v %v %v", page, more, err)
		}
		if rest, more, err := s.Messages(ctx, alice, storage.MessageFilter{Marker: page[1].ID, SortKeys: []string{"created_at"}, SortDirs: []string{"asc"}}); err != nil || more || len(rest) != 2 || rest[0].ID != ms[1].ID {
			t.Fatalf("after the marker: %+v %v %v", rest, more, err)
		}
		if got, _, _ := s.Messages(ctx, bob, storage.MessageFilter{}); len(got) != 0 {
			t.Errorf("bob sees %+v", got)
		}
		if got, _, _ := s.Messages(ctx, admin, storage.MessageFilter{}); len(got) != 4 {
			t.Errorf("an admin sees %d", len(got))
		}
		for _, err := range []error{
			func() error { _, err := s.Message(ctx, bob, ms[0].ID); return err }(),
			s.DeleteMessage(ctx, bob, ms[0].ID),
			func() error { _, _, err := s.Messages(ctx, bob, storage.MessageFilter{Marker: ms[0].ID}); return err }(),
		} {
			if fault.KindOf(err) != fault.NotFound || fault.Message(err) != "Message "+ms[0].ID+" could not be found." {
				t.Errorf("bob: %v", err)
			}
		}
		if _, _, err := s.Messages(ctx, alice, storage.MessageFilter{SortKeys: []string{"user_message"}}); fault.KindOf(err) != fault.BadRequest {
			t.Errorf("an unknown sort key: %v", err)
		}
		if err := s.DeleteMessage(ctx, alice, ms[0].ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Message(ctx, alice, ms[0].ID); fault.KindOf(err) != fault.NotFound {
			t.Errorf("after the delete: %v", err)
		}
		// Expired: not shown, and removed when the next one is recorded.
		clk.add(storage.DefaultMessageTTL + time.Second)
		if got, _, _ := s.Messages(ctx, admin, storage.MessageFilter{}); len(got) != 0 {
			t.Errorf("expired messages listed: %+v", got)
		}
		mustCreate(t, s, bob, storage.VolumeCreate{Size: 1, VolumeType: nowhere(t, s)})
		var rows int
		if err := db.Get(ctx, "SELECT COUNT(*) FROM storage_messages", nil, &rows); err != nil || rows != 1 {
			t.Errorf("rows after the reap: %d %v", rows, err)
		}
	})
}
