package storage_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
	"github.com/gostack/gostack/storage"
)

// Instances (Nova's servers) the tests attach to.
const (
	inst1 = "11111111-1111-4111-8111-111111111111"
	inst2 = "22222222-2222-4222-8222-222222222222"
)

// connector is Cinder's example connector (v3/attachments.py).
func connector() map[string]any {
	return map[string]any{"initiator": "iqn.1993-08.org.debian:01:cad181614cec", "ip": "192.168.1.20", "platform": "x86_64",
		"host": "tempest-1", "os_type": "linux2", "multipath": false, "mountpoint": "/dev/vdb"}
}

// exportOf is the export defaultPool's agent reports for volume id, as
// storage/agent records tgt's.
func exportOf(id string) (location, auth string) {
	return "10.0.0.5:3260,1 iqn.2010-10.org.openstack:volume-" + id + " 1", "CHAP user-" + id[:8] + " s3cret" + id[:4]
}

// exported creates a volume of v that defaultPool's agent then reports
// made and exported: available.
func exported(t *testing.T, s *storage.Store, v storage.Viewer, c storage.VolumeCreate) storage.Volume {
	t.Helper()
	if c.Size == 0 {
		c.Size = 1
	}
	vol := mustCreate(t, s, v, c)
	loc, auth := exportOf(vol.ID)
	vol, err := s.ReportVolume(context.Background(), defaultPool, vol.ID, storage.VolumeReport{Status: storage.VolumeCreating,
		ProviderLocation: loc, ProviderAuth: auth})
	if err != nil || vol.Status != storage.VolumeAvailable {
		t.Fatalf("made: %+v %v", vol, err)
	}
	return vol
}

// attach runs the v3 flow for inst on volume id: create, update,
// complete.
func attach(t *testing.T, s *storage.Store, v storage.Viewer, id, inst string) storage.Attachment {
	t.Helper()
	ctx := context.Background()
	a, err := s.CreateAttachment(ctx, v, storage.AttachmentCreate{VolumeID: id, InstanceUUID: inst})
	if err != nil {
		t.Fatalf("create attachment: %v", err)
	}
	if _, err := s.UpdateAttachment(ctx, v, a.ID, connector()); err != nil {
		t.Fatalf("update attachment: %v", err)
	}
	if a, err = s.CompleteAttachment(ctx, v, a.ID); err != nil {
		t.Fatalf("complete attachment: %v", err)
	}
	return a
}

// volumeIs checks a volume's status and attach status.
func volumeIs(t *testing.T, s *storage.Store, id string, status storage.VolumeStatus, attach storage.AttachStatus) storage.Volume {
	t.Helper()
	vol, err := s.Volume(context.Background(), admin, id)
	if err != nil {
		t.Fatal(err)
	}
	if vol.Status != status || vol.AttachStatus != attach {
		t.Fatalf("volume %s is %s/%s, want %s/%s", id, vol.Status, vol.AttachStatus, status, attach)
	}
	return vol
}

// multiattachType makes the type "multi" of multiattach volumes, which
// defaultPool takes.
func multiattachType(t *testing.T, s *storage.Store) {
	t.Helper()
	if _, err := s.CreateVolumeType(context.Background(), storage.VolumeTypeCreate{Name: "multi",
		ExtraSpecs: map[string]string{storage.SpecMultiattach: "<is> True"}}); err != nil {
		t.Fatal(err)
	}
	addPool(t, s, defaultPool, "", storage.BackendReport{VolumeBackendName: "lvm", Multiattach: true,
		TotalCapacityGB: storage.GB(100000), FreeCapacityGB: storage.GB(100000)})
}

// fullState is state with every attachment row.
type fullState struct {
	state
	attachments string
}

func fullSnapshot(t *testing.T, db *sqlstore.DB, feed *watch.Log) fullState {
	t.Helper()
	rows, err := db.Query(context.Background(), `SELECT id, volume_id, coalesce(instance_uuid, ''), coalesce(attach_mode, ''),
		attach_status, coalesce(connection_info, ''), updated_at, coalesce(deleted_at, 0) FROM storage_attachments ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var id, vol, inst, mode, status, info string
		var updated, deleted int64
		if err := rows.Scan(&id, &vol, &inst, &mode, &status, &info, &updated, &deleted); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintln(&b, id, vol, inst, mode, status, info, updated, deleted)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return fullState{snapshot(t, db, feed), b.String()}
}

func (st fullState) same(t *testing.T, db *sqlstore.DB, feed *watch.Log) {
	t.Helper()
	if now := fullSnapshot(t, db, feed); now != st {
		t.Fatalf("a refused call changed the state:\nbefore %+v\nafter  %+v", st, now)
	}
}

// The v3 flow as Nova drives it: reserve, update with the connector
// (the connection info Cinder's tgt target gives), complete, delete;
// the volume's status and attach status at each step, and the feed.
func TestAttachmentFlow(t *testing.T) {
	forEngine(t, func(t *testing.T, s *storage.Store, db *sqlstore.DB, feed *watch.Log) {
		ctx := context.Background()
		vol := exported(t, s, alice, storage.VolumeCreate{})
		head, _, _ := feed.Head(ctx)

		a, err := s.CreateAttachment(ctx, alice, storage.AttachmentCreate{VolumeID: vol.ID, InstanceUUID: inst1})
		if err != nil {
			t.Fatal(err)
		}
		if a.AttachStatus != storage.AttachReserved || a.AttachMode != storage.ModeNull || a.ConnectionInfo != nil ||
			a.InstanceUUID != inst1 || a.ProjectID != alice.Project || a.AttachTime != nil {
			t.Fatalf("reserved: %+v", a)
		}
		if v := volumeIs(t, s, vol.ID, storage.VolumeReserved, storage.AttachDetached); len(v.Attachments) != 1 || v.Attachments[0].ID != a.ID {
			t.Fatalf("the volume's attachments: %+v", v.Attachments)
		}

		a, err = s.UpdateAttachment(ctx, alice, a.ID, connector())
		if err != nil {
			t.Fatal(err)
		}
		loc, _ := exportOf(vol.ID)
		_, auth := exportOf(vol.ID)
		chap := strings.Fields(auth)
		wantInfo := map[string]any{"driver_volume_type": "iscsi", "attachment_id": a.ID, "target_discovered": false,
			"target_portal": "10.0.0.5:3260", "target_iqn": strings.Fields(loc)[1], "target_lun": 1, "volume_id": vol.ID,
			"auth_method": "CHAP", "auth_username": chap[1], "auth_password": chap[2], "encrypted": false, "qos_specs": nil,
			"access_mode": "rw", "cacheable": false}
		if a.AttachStatus != storage.AttachAttaching || a.AttachedHost != "tempest-1" || a.Mountpoint != "/dev/vdb" ||
			a.AttachMode != storage.ModeReadWrite || a.AttachTime == nil || jsonOf(t, a.ConnectionInfo) != jsonOf(t, wantInfo) {
			t.Fatalf("updated: %+v\nconnection info %s\nwant %s", a, jsonOf(t, a.ConnectionInfo), jsonOf(t, wantInfo))
		}
		if got, err := s.Attachment(ctx, alice, a.ID); err != nil || jsonOf(t, got) != jsonOf(t, a) {
			t.Fatalf("read back: %+v %v\nwant %+v", got, err, a)
		}
		volumeIs(t, s, vol.ID, storage.VolumeAttaching, storage.AttachAttaching)

		if a, err = s.CompleteAttachment(ctx, alice, a.ID); err != nil || a.AttachStatus != storage.AttachAttached {
			t.Fatalf("complete: %+v %v", a, err)
		}
		volumeIs(t, s, vol.ID, storage.VolumeInUse, storage.AttachAttached)

		left, err := s.DeleteAttachment(ctx, alice, a.ID)
		if err != nil || len(left) != 0 {
			t.Fatalf("delete: %v %v", left, err)
		}
		if v := volumeIs(t, s, vol.ID, storage.VolumeAvailable, storage.AttachDetached); len(v.Attachments) != 0 {
			t.Fatalf("attachments after the delete: %+v", v.Attachments)
		}
		if _, err := s.Attachment(ctx, alice, a.ID); fault.KindOf(err) != fault.NotFound {
			t.Fatalf("a deleted attachment: %v", err)
		}

		// The feed: each step once for the attachment and once for its
		// volume, the connection info's and export's secrets never.
		b, err := feed.Since(ctx, watch.Query{Area: storage.FeedArea, Project: alice.Project, Since: head})
		if err != nil {
			t.Fatal(err)
		}
		var ops []string
		for _, c := range b.Changes {
			ops = append(ops, fmt.Sprintf("%s %s", c.Op, c.Kind))
			if strings.Contains(string(c.Data), chap[2]) {
				t.Errorf("the feed holds the CHAP password: %s", c.Data)
			}
		}
		want := "create attachment,update volume,update attachment,update volume,update attachment,update volume,delete attachment,update volume"
		if strings.Join(ops, ",") != want {
			t.Fatalf("feed %q, want %q", ops, want)
		}
	})
}

// Every refusal is Cinder's, with its message, and changes nothing.
func TestAttachmentRefusals(t *testing.T) {
	forEngine(t, func(t *testing.T, s *storage.Store, db *sqlstore.DB, feed *watch.Log) {
		ctx := context.Background()
		free := exported(t, s, alice, storage.VolumeCreate{})
		inUse := exported(t, s, alice, storage.VolumeCreate{})
		attached := attach(t, s, alice, inUse.ID, inst1)
		// A second attachment for the same instance (a move), not
		// connected yet: its update would be a duplicate connector.
		moving, err := s.CreateAttachment(ctx, alice, storage.AttachmentCreate{VolumeID: inUse.ID, InstanceUUID: inst1})
		if err != nil {
			t.Fatal(err)
		}
		broken := exported(t, s, alice, storage.VolumeCreate{})
		reservedOnBroken, err := s.CreateAttachment(ctx, alice, storage.AttachmentCreate{VolumeID: broken.ID, InstanceUUID: inst2})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.ResetStatus(ctx, admin, broken.ID, storage.StatusReset{Status: storage.VolumeError}); err != nil {
			t.Fatal(err)
		}
		waiting := exported(t, s, alice, storage.VolumeCreate{})
		reserved, err := s.CreateAttachment(ctx, alice, storage.AttachmentCreate{VolumeID: waiting.ID, InstanceUUID: inst2})
		if err != nil {
			t.Fatal(err)
		}
		gone := exported(t, s, alice, storage.VolumeCreate{})
		deleted := attach(t, s, alice, gone.ID, inst2)
		if _, err := s.DeleteAttachment(ctx, alice, deleted.ID); err != nil {
			t.Fatal(err)
		}
		// A volume whose agent reported no export.
		bare := mustCreate(t, s, alice, storage.VolumeCreate{Size: 1})
		if _, err := s.ReportVolume(ctx, defaultPool, bare.ID, storage.VolumeReport{Status: storage.VolumeCreating}); err != nil {
			t.Fatal(err)
		}
		noInitiator := connector()
		delete(noInitiator, "initiator")
		long := connector()
		long["host"] = strings.Repeat("h", 256)

		before := fullSnapshot(t, db, feed)
		const deleteMsg = "Invalid volume: Volume status must be available or error or error_restoring or error_extending or error_managing and must not be migrating, attached, belong to a group, have snapshots, awaiting a transfer, or be disassociated from snapshots after volume transfer."
		for _, c := range []struct {
			name string
			call func() error
			want refusal
		}{
			{"create on an error volume", func() error {
				_, err := s.CreateAttachment(ctx, alice, storage.AttachmentCreate{VolumeID: broken.ID, InstanceUUID: inst1})
				return err
			}, refusal{fault.BadRequest, "Invalid volume: Volume attachments can not be created if the volume is in an error state. The Volume " + broken.ID + " currently has a status of: error ", false}},
			{"create on an in-use volume", func() error {
				_, err := s.CreateAttachment(ctx, alice, storage.AttachmentCreate{VolumeID: inUse.ID, InstanceUUID: inst2})
				return err
			}, refusal{fault.BadRequest, "Invalid volume: Volume " + inUse.ID + " status must be available or downloading to reserve, but the current status is in-use.", false}},
			{"create without an instance on an in-use volume", func() error {
				_, err := s.CreateAttachment(ctx, alice, storage.AttachmentCreate{VolumeID: inUse.ID})
				return err
			}, refusal{fault.BadRequest, "Invalid volume: Volume " + inUse.ID + " status must be available or downloading to reserve, but the current status is in-use.", false}},
			{"create on another project's volume", func() error {
				_, err := s.CreateAttachment(ctx, bob, storage.AttachmentCreate{VolumeID: free.ID, InstanceUUID: inst1})
				return err
			}, refusal{fault.NotFound, "Volume " + free.ID + " could not be found.", false}},
			{"create in a bad mode", func() error {
				_, err := s.CreateAttachment(ctx, alice, storage.AttachmentCreate{VolumeID: free.ID, Mode: "rx"})
				return err
			}, refusal{fault.BadRequest, `Invalid input received: attach mode "rx" is not 'rw' or 'ro'.`, false}},
			{"create with a connector without initiator", func() error {
				_, err := s.CreateAttachment(ctx, alice, storage.AttachmentCreate{VolumeID: free.ID, InstanceUUID: inst1, Connector: noInitiator})
				return err
			}, refusal{fault.BadRequest, "Invalid input received: Connector doesn't have required information: initiator", false}},
			{"create with a connector's host too long", func() error {
				_, err := s.CreateAttachment(ctx, alice, storage.AttachmentCreate{VolumeID: free.ID, Connector: long})
				return err
			}, refusal{fault.BadRequest, "Invalid input received: connector host has more than 255 characters.", false}},
			{"create and connect a volume without export", func() error {
				_, err := s.CreateAttachment(ctx, alice, storage.AttachmentCreate{VolumeID: bare.ID, Connector: connector()})
				return err
			}, refusal{fault.Internal, "The server has either erred", true}},
			{"update without initiator", func() error {
				_, err := s.UpdateAttachment(ctx, alice, reserved.ID, noInitiator)
				return err
			}, refusal{fault.BadRequest, "Invalid input received: Connector doesn't have required information: initiator", false}},
			{"update another project's", func() error {
				_, err := s.UpdateAttachment(ctx, bob, attached.ID, connector())
				return err
			}, refusal{fault.NotFound, "Volume attachment could not be found with filter: attachment_id = " + attached.ID + ".", false}},
			{"update on an error volume", func() error {
				_, err := s.UpdateAttachment(ctx, alice, reservedOnBroken.ID, connector())
				return err
			}, refusal{fault.BadRequest, "Invalid volume: Volume attachments can not be updated if the volume is in an error state. The Volume " + broken.ID + " currently has a status of: error ", false}},
			{"update a duplicate connector", func() error {
				_, err := s.UpdateAttachment(ctx, alice, moving.ID, connector())
				return err
			}, refusal{fault.BadRequest, "Invalid volume: duplicate connectors detected on volume " + inUse.ID, false}},
			{"update a deleted one", func() error {
				_, err := s.UpdateAttachment(ctx, alice, deleted.ID, connector())
				return err
			}, refusal{fault.NotFound, "Volume attachment could not be found with filter: attachment_id = " + deleted.ID + ".", false}},
			{"complete another project's", func() error {
				_, err := s.CompleteAttachment(ctx, bob, attached.ID)
				return err
			}, refusal{fault.NotFound, "Volume attachment could not be found", true}},
			{"delete another project's", func() error {
				_, err := s.DeleteAttachment(ctx, bob, attached.ID)
				return err
			}, refusal{fault.NotFound, "Volume attachment could not be found", true}},
			{"delete a deleted one", func() error {
				_, err := s.DeleteAttachment(ctx, alice, deleted.ID)
				return err
			}, refusal{fault.NotFound, "Volume attachment could not be found", true}},
			{"show another project's", func() error {
				_, err := s.Attachment(ctx, bob, attached.ID)
				return err
			}, refusal{fault.NotFound, "Volume attachment could not be found", true}},
			{"delete an attached volume", func() error {
				_, err := s.DeleteVolume(ctx, alice, inUse.ID, storage.DeleteOptions{})
				return err
			}, refusal{fault.BadRequest, deleteMsg, false}},
			{"delete a reserved volume by force", func() error {
				_, err := s.DeleteVolume(ctx, admin, broken.ID, storage.DeleteOptions{Force: true})
				return err
			}, refusal{fault.BadRequest, "Invalid volume: Volume  must not be migrating, attached", true}},
			{"extend an in-use volume as an available one", func() error {
				_, err := s.ExtendVolume(ctx, alice, inUse.ID, 2)
				return err
			}, refusal{fault.BadRequest, "Invalid volume: Volume " + inUse.ID + " status must be '{'status': 'available'}' to extend, currently in-use.", false}},
			{"extend an available volume as an attached one", func() error {
				_, err := s.ExtendAttachedVolume(ctx, alice, free.ID, 2)
				return err
			}, refusal{fault.BadRequest, "Invalid volume: Volume " + free.ID + " status must be '{'status': 'in-use'}' to extend, currently available.", false}},
			{"reset to in-use without attachments", func() error {
				_, err := s.ResetStatus(ctx, admin, free.ID, storage.StatusReset{Status: storage.VolumeInUse})
				return err
			}, refusal{fault.BadRequest, "Cannot reset-state to in-use because volume does not have any attachments.", false}},
		} {
			t.Run(c.name, func(t *testing.T) {
				c.want.check(t, c.call())
				before.same(t, db, feed)
			})
		}
	})
}

// Two reserves of one volume that is not multiattach, at once: one
// wins, the others find it reserved (Cinder's InvalidVolume), and one
// attachment exists.
func TestAttachmentReserveRace(t *testing.T) {
	forEngine(t, func(t *testing.T, s *storage.Store, db *sqlstore.DB, feed *watch.Log) {
		ctx := context.Background()
		vol := exported(t, s, alice, storage.VolumeCreate{})
		errs := make([]error, 8)
		var wg sync.WaitGroup
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = s.CreateAttachment(ctx, alice, storage.AttachmentCreate{VolumeID: vol.ID,
					InstanceUUID: fmt.Sprintf("%08d-0000-4000-8000-000000000000", i), Connector: connector()})
			}()
		}
		wg.Wait()
		won := 0
		for _, err := range errs {
			if err == nil {
				won++
				continue
			}
			if fault.KindOf(err) != fault.BadRequest || !strings.Contains(fault.Message(err), "but the current status is") {
				t.Errorf("a lost reserve: %v", err)
			}
		}
		v := volumeIs(t, s, vol.ID, storage.VolumeAttaching, storage.AttachAttaching)
		if won != 1 || len(v.Attachments) != 1 {
			t.Fatalf("%d reserves won, %d attachments: %v", won, len(v.Attachments), errs)
		}
	})
}

// A multiattach volume takes a second instance while in-use (reserved,
// attaching, in-use again); deleting one attachment leaves it in-use,
// the last one available.
func TestMultiattach(t *testing.T) {
	forEngine(t, func(t *testing.T, s *storage.Store, db *sqlstore.DB, feed *watch.Log) {
		ctx := context.Background()
		multiattachType(t, s)
		vol := exported(t, s, alice, storage.VolumeCreate{VolumeType: "multi"})
		if !vol.Multiattach {
			t.Fatalf("not multiattach: %+v", vol)
		}
		a1 := attach(t, s, alice, vol.ID, inst1)
		a2, err := s.CreateAttachment(ctx, alice, storage.AttachmentCreate{VolumeID: vol.ID, InstanceUUID: inst2})
		if err != nil {
			t.Fatal(err)
		}
		volumeIs(t, s, vol.ID, storage.VolumeReserved, storage.AttachAttached)
		// A third while reserved: Cinder refuses new reserves then.
		_, err = s.CreateAttachment(ctx, alice, storage.AttachmentCreate{VolumeID: vol.ID, InstanceUUID: "33333333-3333-4333-8333-333333333333"})
		refusal{fault.BadRequest, "Invalid volume: Volume " + vol.ID + " status must be available or in-use or downloading to reserve, but the current status is reserved.", false}.check(t, err)
		if _, err := s.UpdateAttachment(ctx, alice, a2.ID, connector()); err != nil {
			t.Fatal(err) // no duplicate connector check on a multiattach volume
		}
		volumeIs(t, s, vol.ID, storage.VolumeAttaching, storage.AttachAttaching) // Cinder's volume_attached
		if _, err := s.CompleteAttachment(ctx, alice, a2.ID); err != nil {
			t.Fatal(err)
		}
		volumeIs(t, s, vol.ID, storage.VolumeInUse, storage.AttachAttached)
		if left, err := s.DeleteAttachment(ctx, alice, a1.ID); err != nil || len(left) != 1 || left[0].ID != a2.ID {
			t.Fatalf("delete the first: %v %v", left, err)
		}
		volumeIs(t, s, vol.ID, storage.VolumeInUse, storage.AttachAttached)
		if _, err := s.DeleteAttachment(ctx, alice, a2.ID); err != nil {
			t.Fatal(err)
		}
		volumeIs(t, s, vol.ID, storage.VolumeAvailable, storage.AttachDetached)
	})
}

// Nova moving a server: a second attachment for the same instance on an
// in-use volume that is not multiattach, connected on the destination;
// the old one deleted leaves the volume in-use.
func TestAttachmentMove(t *testing.T) {
	forEngine(t, func(t *testing.T, s *storage.Store, db *sqlstore.DB, feed *watch.Log) {
		ctx := context.Background()
		vol := exported(t, s, alice, storage.VolumeCreate{})
		old, err := s.CreateAttachment(ctx, alice, storage.AttachmentCreate{VolumeID: vol.ID, InstanceUUID: inst1, Connector: connector()})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.CompleteAttachment(ctx, alice, old.ID); err != nil {
			t.Fatal(err)
		}
		moved, err := s.CreateAttachment(ctx, alice, storage.AttachmentCreate{VolumeID: vol.ID, InstanceUUID: inst1})
		if err != nil {
			t.Fatal(err)
		}
		volumeIs(t, s, vol.ID, storage.VolumeInUse, storage.AttachAttached) // the status stays
		if _, err := s.DeleteAttachment(ctx, alice, old.ID); err != nil {
			t.Fatal(err)
		}
		dest := connector()
		dest["host"] = "dest-1"
		if moved, err = s.UpdateAttachment(ctx, alice, moved.ID, dest); err != nil || moved.AttachedHost != "dest-1" {
			t.Fatalf("update on the destination: %+v %v", moved, err)
		}
		if _, err := s.CompleteAttachment(ctx, alice, moved.ID); err != nil {
			t.Fatal(err)
		}
		volumeIs(t, s, vol.ID, storage.VolumeInUse, storage.AttachAttached)
	})
}

// A create with a connector connects at once; the mode asked (3.54)
// stays the attachment's and makes the connection read-only, "null"
// otherwise with the connector's mode or rw in the connection; an
// update takes the connector's mode.
func TestAttachmentModes(t *testing.T) {
	forEngine(t, func(t *testing.T, s *storage.Store, db *sqlstore.DB, feed *watch.Log) {
		ctx := context.Background()
		for _, c := range []struct {
			mode, connectorMode   string
			wantMode, wantAccess  string
			updateMode, updAccess string
		}{
			{"ro", "", "ro", "ro", "ro", "ro"},
			{"", "", "null", "rw", "rw", "rw"},
			{"", "ro", "null", "ro", "ro", "ro"},
			{"rw", "ro", "rw", "rw", "rw", "rw"},
		} {
			vol := exported(t, s, alice, storage.VolumeCreate{})
			conn := connector()
			if c.connectorMode != "" {
				conn["mode"] = c.connectorMode
			}
			a, err := s.CreateAttachment(ctx, alice, storage.AttachmentCreate{VolumeID: vol.ID, InstanceUUID: inst1, Mode: c.mode, Connector: conn})
			if err != nil {
				t.Fatal(err)
			}
			if a.AttachStatus != storage.AttachAttaching || a.AttachMode != c.wantMode || a.ConnectionInfo["access_mode"] != c.wantAccess {
				t.Errorf("%+v: created %s %s %v", c, a.AttachStatus, a.AttachMode, a.ConnectionInfo["access_mode"])
			}
			volumeIs(t, s, vol.ID, storage.VolumeAttaching, storage.AttachAttaching)
			if a, err = s.UpdateAttachment(ctx, alice, a.ID, conn); err != nil {
				t.Fatal(err)
			}
			if a.AttachMode != c.updateMode || a.ConnectionInfo["access_mode"] != c.updAccess {
				t.Errorf("%+v: updated %s %v", c, a.AttachMode, a.ConnectionInfo["access_mode"])
			}
		}
	})
}

// The legacy flow Nova used before the v3 attachments: reserve,
// initialize_connection, attach; begin_detaching, roll_detaching,
// terminate_connection (unreserve), detach; with Cinder's refusals.
func TestLegacyAttach(t *testing.T) {
	forEngine(t, func(t *testing.T, s *storage.Store, db *sqlstore.DB, feed *watch.Log) {
		ctx := context.Background()
		vol := exported(t, s, alice, storage.VolumeCreate{})
		if v, err := s.ReserveVolume(ctx, alice, vol.ID); err != nil || v.Status != storage.VolumeAttaching {
			t.Fatalf("reserve: %+v %v", v, err)
		}
		before := fullSnapshot(t, db, feed)
		_, err := s.ReserveVolume(ctx, alice, vol.ID)
		refusal{fault.BadRequest, "Invalid volume: Volume status must be available to reserve, but the status is attaching.", false}.check(t, err)
		_, err = s.ReserveVolume(ctx, bob, vol.ID)
		refusal{fault.NotFound, "Volume " + vol.ID + " could not be found.", false}.check(t, err)
		_, err = s.InitializeConnection(ctx, alice, vol.ID, map[string]any{"host": "h"})
		refusal{fault.BadRequest, "Invalid input received: Connector doesn't have required information: initiator", false}.check(t, err)
		_, err = s.InitializeConnection(ctx, bob, vol.ID, connector())
		refusal{fault.NotFound, "Volume " + vol.ID + " could not be found.", false}.check(t, err)
		_, err = s.AttachVolume(ctx, alice, vol.ID, storage.VolumeAttach{InstanceUUID: "not-a-uuid", Mountpoint: "/dev/vdb"})
		refusal{fault.BadRequest, "Expected a UUID but received not-a-uuid.", false}.check(t, err)
		_, err = s.BeginDetaching(ctx, alice, vol.ID)
		refusal{fault.BadRequest, "Invalid volume: Unable to detach volume. Volume status must be 'in-use' and attach_status must be 'attached' to detach.", false}.check(t, err)
		before.same(t, db, feed)

		info, err := s.InitializeConnection(ctx, alice, vol.ID, connector())
		if err != nil || info.DriverVolumeType != "iscsi" || info.Data["access_mode"] != "rw" || info.Data["target_lun"] != 1 ||
			info.Data["volume_id"] != vol.ID || info.Data["auth_method"] != "CHAP" {
			t.Fatalf("initialize_connection: %+v %v", info, err)
		}
		a, err := s.AttachVolume(ctx, alice, vol.ID, storage.VolumeAttach{InstanceUUID: inst1, HostName: "Compute_1.Example", Mountpoint: "/dev/vdb"})
		if err != nil || a.AttachStatus != storage.AttachAttached || a.AttachMode != "rw" || a.AttachedHost != "compute-1.example" || a.AttachTime == nil {
			t.Fatalf("attach: %+v %v", a, err)
		}
		if v := volumeIs(t, s, vol.ID, storage.VolumeInUse, storage.AttachAttached); v.AttachedMode != "rw" || len(v.Attachments) != 1 {
			t.Fatalf("attached: %+v", v)
		}
		// The same instance again: its attachment.
		if again, err := s.AttachVolume(ctx, alice, vol.ID, storage.VolumeAttach{InstanceUUID: inst1, Mountpoint: "/dev/vdc"}); err != nil || again.ID != a.ID {
			t.Fatalf("attach again: %+v %v", again, err)
		}
		before = fullSnapshot(t, db, feed)
		_, err = s.AttachVolume(ctx, alice, vol.ID, storage.VolumeAttach{InstanceUUID: inst2, Mountpoint: "/dev/vdb"})
		refusal{fault.BadRequest, "Invalid volume: volume is already attached and multiple attachments are not enabled", false}.check(t, err)
		other := exported(t, s, alice, storage.VolumeCreate{})
		otherA := attach(t, s, alice, other.ID, inst2)
		before = fullSnapshot(t, db, feed)
		_, err = s.DetachVolume(ctx, alice, vol.ID, otherA.ID)
		refusal{fault.BadRequest, "Invalid input received: Mismatched volume and attachment", false}.check(t, err)
		before.same(t, db, feed)

		if v, err := s.BeginDetaching(ctx, alice, vol.ID); err != nil || v.Status != storage.VolumeDetaching {
			t.Fatalf("begin_detaching: %+v %v", v, err)
		}
		if v, err := s.RollDetaching(ctx, alice, vol.ID); err != nil || v.Status != storage.VolumeInUse {
			t.Fatalf("roll_detaching: %+v %v", v, err)
		}
		if v, err := s.RollDetaching(ctx, alice, vol.ID); err != nil || v.Status != storage.VolumeInUse || v.Revision != volumeIs(t, s, vol.ID, storage.VolumeInUse, storage.AttachAttached).Revision {
			t.Fatalf("roll_detaching of an in-use volume changes nothing: %+v %v", v, err)
		}
		if _, err := s.BeginDetaching(ctx, alice, vol.ID); err != nil {
			t.Fatal(err)
		}
		// terminate_connection's unreserve leaves a detaching volume.
		if v, err := s.UnreserveVolume(ctx, alice, vol.ID); err != nil || v.Status != storage.VolumeDetaching {
			t.Fatalf("unreserve: %+v %v", v, err)
		}
		if v, err := s.DetachVolume(ctx, alice, vol.ID, ""); err != nil || v.Status != storage.VolumeAvailable ||
			v.AttachStatus != storage.AttachDetached || v.AttachedMode != "" || len(v.Attachments) != 0 {
			t.Fatalf("detach: %+v %v", v, err)
		}
		// Reserved, then terminated: available again.
		if _, err := s.ReserveVolume(ctx, alice, vol.ID); err != nil {
			t.Fatal(err)
		}
		if v, err := s.UnreserveVolume(ctx, alice, vol.ID); err != nil || v.Status != storage.VolumeAvailable {
			t.Fatalf("unreserve: %+v %v", v, err)
		}
		// A detach of an attachment that is gone just puts the volume
		// right (Cinder's finish_detach).
		if v, err := s.DetachVolume(ctx, alice, vol.ID, a.ID); err != nil || v.Status != storage.VolumeAvailable {
			t.Fatalf("detach again: %+v %v", v, err)
		}
		// Maintenance refuses them.
		if _, err := s.ResetStatus(ctx, admin, vol.ID, storage.StatusReset{Status: storage.VolumeMaintenance}); err != nil {
			t.Fatal(err)
		}
		before = fullSnapshot(t, db, feed)
		_, err = s.InitializeConnection(ctx, alice, vol.ID, connector())
		refusal{fault.BadRequest, "Invalid volume: The volume connection cannot be initialized in maintenance mode.", false}.check(t, err)
		_, err = s.AttachVolume(ctx, alice, vol.ID, storage.VolumeAttach{InstanceUUID: inst1, Mountpoint: "/dev/vdb"})
		refusal{fault.BadRequest, "Invalid volume: The volume cannot be attached in maintenance mode.", false}.check(t, err)
		_, err = s.DetachVolume(ctx, alice, vol.ID, "")
		refusal{fault.BadRequest, "Invalid volume: The volume cannot be detached in maintenance mode.", false}.check(t, err)
		before.same(t, db, feed)
	})
}

// On a multiattach volume: an attach in another mode while attaching
// is refused, a read-only os-attach makes the connection read-only, and
// a detach without an attachment id is refused with several.
func TestLegacyMultiattach(t *testing.T) {
	forEngine(t, func(t *testing.T, s *storage.Store, db *sqlstore.DB, feed *watch.Log) {
		ctx := context.Background()
		multiattachType(t, s)
		vol := exported(t, s, alice, storage.VolumeCreate{VolumeType: "multi"})
		if _, err := s.AttachVolume(ctx, alice, vol.ID, storage.VolumeAttach{InstanceUUID: inst1, Mountpoint: "/dev/vdb", Mode: "ro"}); err != nil {
			t.Fatal(err)
		}
		if info, err := s.InitializeConnection(ctx, alice, vol.ID, connector()); err != nil || info.Data["access_mode"] != "ro" {
			t.Fatalf("initialize_connection after a read-only attach: %+v %v", info, err)
		}
		if v, err := s.ReserveVolume(ctx, alice, vol.ID); err != nil || v.Status != storage.VolumeAttaching {
			t.Fatalf("reserve an in-use multiattach volume: %+v %v", v, err)
		}
		before := fullSnapshot(t, db, feed)
		_, err := s.AttachVolume(ctx, alice, vol.ID, storage.VolumeAttach{InstanceUUID: inst2, Mountpoint: "/dev/vdb", Mode: "rw"})
		refusal{fault.BadRequest, "Invalid volume: being attached by different mode", false}.check(t, err)
		before.same(t, db, feed)
		if _, err := s.AttachVolume(ctx, alice, vol.ID, storage.VolumeAttach{InstanceUUID: inst2, Mountpoint: "/dev/vdb", Mode: "ro"}); err != nil {
			t.Fatal(err)
		}
		before = fullSnapshot(t, db, feed)
		_, err = s.DetachVolume(ctx, alice, vol.ID, "")
		refusal{fault.BadRequest, "Invalid volume: Detach volume failed: More than one attachment, but no attachment_id provided.", false}.check(t, err)
		before.same(t, db, feed)
	})
}

// An in-use volume extends (3.42) and ends in-use; an attachment
// deleted meanwhile leaves the extend alone, and the agent's report
// then makes it available.
func TestExtendAttached(t *testing.T) {
	forEngine(t, func(t *testing.T, s *storage.Store, db *sqlstore.DB, feed *watch.Log) {
		ctx := context.Background()
		var told []string
		s.Extended = func(_ context.Context, v storage.Volume, servers []string) {
			told = append(told, fmt.Sprintf("%s %d %v", v.ID, v.Size, servers))
		}
		for _, detach := range []bool{false, true} {
			told = nil
			vol := exported(t, s, alice, storage.VolumeCreate{})
			a := attach(t, s, alice, vol.ID, inst1)
			v, err := s.ExtendAttachedVolume(ctx, alice, vol.ID, 3)
			if err != nil || v.Status != storage.VolumeExtending || v.NewSize != 3 {
				t.Fatalf("extend: %+v %v", v, err)
			}
			want, attach := storage.VolumeInUse, storage.AttachAttached
			if detach {
				if _, err := s.DeleteAttachment(ctx, alice, a.ID); err != nil {
					t.Fatal(err)
				}
				volumeIs(t, s, vol.ID, storage.VolumeExtending, storage.AttachDetached)
				want, attach = storage.VolumeAvailable, storage.AttachDetached
			}
			if v, err = s.ReportVolume(ctx, defaultPool, vol.ID, storage.VolumeReport{Status: storage.VolumeExtending, Size: 3}); err != nil || v.Size != 3 {
				t.Fatalf("extended: %+v %v", v, err)
			}
			volumeIs(t, s, vol.ID, want, attach)
			// The server using it is told (Cinder's volume-extended event);
			// none when it was detached meanwhile.
			if wantTold := fmt.Sprintf("%s 3 [%s]", vol.ID, inst1); !detach && (len(told) != 1 || told[0] != wantTold) || detach && len(told) != 0 {
				t.Fatalf("told %q (detached %v)", told, detach)
			}
		}
	})
}

// reset_status to in-use needs an attachment; an attach status of
// detached detaches every attachment, as Cinder's does, and the volume
// ends available.
func TestResetStatusAttachments(t *testing.T) {
	forEngine(t, func(t *testing.T, s *storage.Store, db *sqlstore.DB, feed *watch.Log) {
		ctx := context.Background()
		vol := exported(t, s, alice, storage.VolumeCreate{})
		a := attach(t, s, alice, vol.ID, inst1)
		if _, err := s.ResetStatus(ctx, admin, vol.ID, storage.StatusReset{Status: storage.VolumeError}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ResetStatus(ctx, admin, vol.ID, storage.StatusReset{Status: storage.VolumeInUse}); err != nil {
			t.Fatalf("reset to in-use with an attachment: %v", err)
		}
		v, err := s.ResetStatus(ctx, admin, vol.ID, storage.StatusReset{Status: storage.VolumeError, AttachStatus: storage.AttachDetached})
		if err != nil || v.Status != storage.VolumeAvailable || v.AttachStatus != storage.AttachDetached || len(v.Attachments) != 0 {
			t.Fatalf("reset detached: %+v %v", v, err)
		}
		if _, err := s.Attachment(ctx, alice, a.ID); fault.KindOf(err) != fault.NotFound {
			t.Fatalf("the attachment after a reset to detached: %v", err)
		}
	})
}

// Lists: a project's own attachments only (all of them for an admin's
// all_tenants), the filters, the sort and keyset pages.
func TestAttachmentList(t *testing.T) {
	forEngine(t, func(t *testing.T, s *storage.Store, db *sqlstore.DB, feed *watch.Log) {
		ctx := context.Background()
		v1 := exported(t, s, alice, storage.VolumeCreate{})
		v2 := exported(t, s, alice, storage.VolumeCreate{})
		v3 := exported(t, s, bob, storage.VolumeCreate{})
		a1 := attach(t, s, alice, v1.ID, inst1)
		a2, err := s.CreateAttachment(ctx, alice, storage.AttachmentCreate{VolumeID: v2.ID, InstanceUUID: inst2})
		if err != nil {
			t.Fatal(err)
		}
		a3 := attach(t, s, bob, v3.ID, inst1)
		ids := func(as []storage.Attachment) string {
			var out []string
			for _, a := range as {
				out = append(out, map[string]string{a1.ID: "a1", a2.ID: "a2", a3.ID: "a3"}[a.ID])
			}
			return strings.Join(out, ",")
		}
		for _, c := range []struct {
			v    storage.Viewer
			f    storage.AttachmentFilter
			want string
		}{
			{alice, storage.AttachmentFilter{}, "a2,a1"},
			{bob, storage.AttachmentFilter{}, "a3"},
			{admin, storage.AttachmentFilter{}, ""},
			{admin, storage.AttachmentFilter{AllProjects: true}, "a3,a2,a1"},
			{alice, storage.AttachmentFilter{AllProjects: true}, "a2,a1"},
			{alice, storage.AttachmentFilter{InstanceUUID: inst1}, "a1"},
			{alice, storage.AttachmentFilter{VolumeID: v2.ID}, "a2"},
			{alice, storage.AttachmentFilter{VolumeID: v3.ID}, ""},
			{alice, storage.AttachmentFilter{AttachStatus: storage.AttachReserved}, "a2"},
			{alice, storage.AttachmentFilter{SortKeys: []string{"created_at"}, SortDirs: []string{"asc"}}, "a1,a2"},
			{alice, storage.AttachmentFilter{Limit: 1}, "a2"},
			{alice, storage.AttachmentFilter{Limit: 1, Marker: a2.ID}, "a1"},
			{admin, storage.AttachmentFilter{AllProjects: true, SortKeys: []string{"instance_uuid", "created_at"}, SortDirs: []string{"asc", "asc"}}, "a1,a3,a2"},
		} {
			got, _, err := s.Attachments(ctx, c.v, c.f)
			if err != nil || ids(got) != c.want {
				t.Errorf("%+v as %+v: %s %v, want %s", c.f, c.v, ids(got), err, c.want)
			}
		}
		if _, more, _ := s.Attachments(ctx, alice, storage.AttachmentFilter{Limit: 1}); !more {
			t.Error("a full page says no more")
		}
		_, _, err = s.Attachments(ctx, bob, storage.AttachmentFilter{Marker: a1.ID})
		refusal{fault.NotFound, "Volume attachment could not be found with filter: attachment_id = " + a1.ID + ".", false}.check(t, err)
		_, _, err = s.Attachments(ctx, alice, storage.AttachmentFilter{SortKeys: []string{"connector"}})
		refusal{fault.BadRequest, "Invalid input received: Invalid sort key", false}.check(t, err)
		// A volume read lists its attachments, as its feed copy does
		// without their connection info.
		v, err := s.Volume(ctx, alice, v1.ID)
		if err != nil || len(v.Attachments) != 1 || v.Attachments[0].ConnectionInfo == nil {
			t.Fatalf("volume's attachments: %+v %v", v.Attachments, err)
		}
		b, err := json.Marshal(v.Attachments[0])
		if err != nil || !strings.Contains(string(b), `"attach_status":"attached"`) {
			t.Fatalf("attachment JSON %s %v", b, err)
		}
	})
}
