package storage_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
	"github.com/gostack/gostack/storage"
)

// A backend that exports per initiator: an attachment's update answers
// once the backend's agent reported the connector's initiator let in,
// and fails with Cinder's VolumeBackendAPIException when it is not
// within ExportWait; a backend that does not is not waited for. Reports
// of another host's volume or of names no initiator has are refused.
func TestExportPerInitiator(t *testing.T) {
	forEngine(t, func(t *testing.T, s *storage.Store, db *sqlstore.DB, feed *watch.Log) {
		ctx := context.Background()
		initiator := connector()["initiator"].(string)
		// Not exporting per initiator: no wait.
		plain := exported(t, s, alice, storage.VolumeCreate{})
		attach(t, s, alice, plain.ID, "11111111-2222-3333-4444-555555555555")
		refusal{fault.BadRequest, "Invalid input received: backend " + defaultPool + " does not export per initiator (it reports no initiator_acl).", false}.
			check(t, s.ReportExport(ctx, defaultPool, plain.ID, nil))

		addPool(t, s, defaultPool, "", storage.BackendReport{VolumeBackendName: "lvm", TotalCapacityGB: storage.GB(100000),
			FreeCapacityGB: storage.GB(100000), Capabilities: map[string]any{storage.CapInitiatorACL: true}})
		s.ExportWait = 300 * time.Millisecond
		vol := exported(t, s, alice, storage.VolumeCreate{})
		a, err := s.CreateAttachment(ctx, alice, storage.AttachmentCreate{VolumeID: vol.ID, InstanceUUID: "22222222-2222-3333-4444-555555555555"})
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		_, err = s.UpdateAttachment(ctx, alice, a.ID, connector())
		if fault.KindOf(err) != fault.Unavailable || fault.TypeOf(err) != "VolumeBackendAPIException" {
			t.Fatalf("update with no agent letting the host in: %v (%v)", err, fault.KindOf(err))
		}
		if took := time.Since(start); took < 300*time.Millisecond {
			t.Fatalf("gave up after %s, before ExportWait", took)
		}

		// The agent lets another host in, then this one, while the update
		// waits.
		s.ExportWait = 10 * time.Second
		if err := s.ReportExport(ctx, defaultPool, vol.ID, []string{"iqn.2004-10.com.ubuntu:01:other"}); err != nil {
			t.Fatal(err)
		}
		go func() {
			time.Sleep(200 * time.Millisecond)
			s.ReportExport(ctx, defaultPool, vol.ID, []string{initiator, "iqn.2004-10.com.ubuntu:01:other"})
		}()
		start = time.Now()
		got, err := s.UpdateAttachment(ctx, alice, a.ID, connector())
		if err != nil || got.ConnectionInfo == nil {
			t.Fatalf("update once let in: %+v %v", got, err)
		}
		if took := time.Since(start); took < 150*time.Millisecond {
			t.Fatalf("answered after %s, before the agent let the host in", took)
		}
		if in, err := s.ExportedTo(ctx, vol.ID); err != nil || !slices.Equal(in, []string{initiator, "iqn.2004-10.com.ubuntu:01:other"}) {
			t.Fatalf("exported to %v %v", in, err)
		}

		for _, c := range []struct {
			name       string
			host, id   string
			initiators []string
			want       refusal
		}{
			{"another host's volume", "other@lvm#pool", vol.ID, nil, refusal{fault.NotFound, "Volume " + vol.ID + " could not be found.", false}},
			{"an empty name", defaultPool, vol.ID, []string{""}, refusal{fault.BadRequest, `Invalid input received: initiator "" is not an iSCSI name.`, false}},
			{"no volume", defaultPool, "33333333-2222-3333-4444-555555555555", nil,
				refusal{fault.NotFound, "Volume 33333333-2222-3333-4444-555555555555 could not be found.", false}},
		} {
			t.Run(c.name, func(t *testing.T) {
				c.want.check(t, s.ReportExport(ctx, c.host, c.id, c.initiators))
				if in, _ := s.ExportedTo(ctx, vol.ID); len(in) != 2 {
					t.Fatalf("exported to %v after a refused report", in)
				}
			})
		}
	})
}
