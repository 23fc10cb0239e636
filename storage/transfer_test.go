package storage_test

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
	"github.com/gostack/gostack/storage"
)

// transferState is snapState with the owners of volumes and snapshots
// and every transfer row.
type transferState struct {
	snapState
	owners, transfers string
}

func transferRows(t *testing.T, db *sqlstore.DB, feed *watch.Log) transferState {
	t.Helper()
	var b strings.Builder
	for _, q := range []string{"SELECT id || ' ' || project_id || ' ' || user_id FROM storage_volumes ORDER BY id",
		"SELECT id || ' ' || project_id || ' ' || user_id FROM storage_snapshots ORDER BY id"} {
		rows, err := db.Query(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				t.Fatal(err)
			}
			fmt.Fprintln(&b, line)
		}
		rows.Close()
	}
	rows, err := db.Query(context.Background(), `SELECT id, volume_id, revision, accepted, coalesce(destination_project_id, '<nil>'),
		coalesce(deleted_at, 0) FROM storage_transfers ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var tb strings.Builder
	for rows.Next() {
		var id, vol, dest string
		var rev, deleted int64
		var accepted bool
		if err := rows.Scan(&id, &vol, &rev, &accepted, &dest, &deleted); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintln(&tb, id, vol, rev, accepted, dest, deleted)
	}
	return transferState{snapRows(t, db, feed), b.String(), tb.String()}
}

func (st transferState) same(t *testing.T, db *sqlstore.DB, feed *watch.Log) {
	t.Helper()
	if now := transferRows(t, db, feed); now != st {
		t.Fatalf("a refused call changed the state:\nbefore %+v\nafter  %+v", st, now)
	}
}

// A transfer's life: offered (the volume awaiting-transfer, the key
// shown once, 16 hex digits, its salted hash kept), seen by its project
// only, accepted by another project with the key: the volume and its
// snapshots are the other project's, available, the quotas follow, the
// transfer is gone. A deleted transfer leaves the volume available.
func TestTransferLife(t *testing.T) {
	forEngine(t, func(t *testing.T, s *storage.Store, db *sqlstore.DB, feed *watch.Log) {
		ctx := context.Background()
		vol := exported(t, s, alice, storage.VolumeCreate{Size: 2})
		snap := made(t, s, alice, storage.SnapshotCreate{VolumeID: vol.ID})
		tr, err := s.CreateTransfer(ctx, alice, storage.TransferCreate{VolumeID: vol.ID, Name: ptr("t1")})
		if err != nil {
			t.Fatal(err)
		}
		if !regexp.MustCompile(`^[0-9a-f]{16}$`).MatchString(tr.AuthKey) || tr.SourceProjectID != alice.Project || tr.Accepted {
			t.Fatalf("created: %+v", tr)
		}
		var salt, hash string
		if err := db.Get(ctx, "SELECT salt, crypt_hash FROM storage_transfers WHERE id = ?", []any{tr.ID}, &salt, &hash); err != nil {
			t.Fatal(err)
		}
		if len(salt) != 8 || len(hash) != 40 || strings.Contains(hash, tr.AuthKey) {
			t.Fatalf("kept: salt %q hash %q", salt, hash)
		}
		if v, _ := s.Volume(ctx, alice, vol.ID); v.Status != storage.VolumeAwaitingTransfer {
			t.Fatalf("volume %s", v.Status)
		}
		got, err := s.Transfer(ctx, alice, tr.ID)
		if err != nil || got.AuthKey != "" || *got.Name != "t1" {
			t.Fatalf("show: %+v %v", got, err)
		}
		if _, err := s.Transfer(ctx, bob, tr.ID); fault.KindOf(err) != fault.NotFound {
			t.Fatalf("bob sees the transfer: %v", err)
		}
		if ts, _, err := s.Transfers(ctx, bob, storage.TransferFilter{}); err != nil || len(ts) != 0 {
			t.Fatalf("bob's list: %v %v", ts, err)
		}
		if ts, _, err := s.Transfers(ctx, admin, storage.TransferFilter{AllProjects: true}); err != nil || len(ts) != 1 {
			t.Fatalf("admin's list: %v %v", ts, err)
		}
		// Not deletable while awaiting its transfer.
		if _, err := s.DeleteVolume(ctx, alice, vol.ID, storage.DeleteOptions{}); fault.KindOf(err) != fault.BadRequest {
			t.Fatalf("delete of a volume awaiting transfer: %v", err)
		}
		acc, err := s.AcceptTransfer(ctx, tr.ID, storage.TransferAccept{Project: bob.Project, User: "bob", AuthKey: tr.AuthKey})
		if err != nil || !acc.Accepted || *acc.DestinationProjectID != bob.Project {
			t.Fatalf("accept: %+v %v", acc, err)
		}
		v, err := s.Volume(ctx, bob, vol.ID)
		if err != nil || v.Status != storage.VolumeAvailable || v.UserID != "bob" {
			t.Fatalf("bob's volume: %+v %v", v, err)
		}
		if n, err := s.Snapshot(ctx, bob, snap.ID); err != nil || n.UserID != "bob" {
			t.Fatalf("bob's snapshot: %+v %v", n, err)
		}
		if _, err := s.Volume(ctx, alice, vol.ID); fault.KindOf(err) != fault.NotFound {
			t.Fatalf("alice still sees the volume: %v", err)
		}
		for p, want := range map[string]int64{alice.Project: 0, bob.Project: 4} {
			if use, err := s.QuotaUsage(ctx, p); err != nil || use["gigabytes"] != want {
				t.Fatalf("%s's usage: %v %v", p, use, err)
			}
		}
		if _, err := s.Transfer(ctx, alice, tr.ID); fault.KindOf(err) != fault.NotFound {
			t.Fatalf("an accepted transfer is still there: %v", err)
		}
		// Another transfer, without the snapshots, deleted.
		tr2, err := s.CreateTransfer(ctx, bob, storage.TransferCreate{VolumeID: vol.ID, NoSnapshots: true})
		if err != nil || tr2.Name != nil {
			t.Fatalf("second transfer: %+v %v", tr2, err)
		}
		if err := s.DeleteTransfer(ctx, bob, tr2.ID); err != nil {
			t.Fatal(err)
		}
		if v, _ := s.Volume(ctx, bob, vol.ID); v.Status != storage.VolumeAvailable {
			t.Fatalf("after the transfer's delete: %s", v.Status)
		}
		// Without snapshots: the snapshot stays with bob.
		tr3, err := s.CreateTransfer(ctx, bob, storage.TransferCreate{VolumeID: vol.ID, NoSnapshots: true})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.AcceptTransfer(ctx, tr3.ID, storage.TransferAccept{Project: alice.Project, User: "alice", AuthKey: tr3.AuthKey}); err != nil {
			t.Fatal(err)
		}
		if n, err := s.Snapshot(ctx, bob, snap.ID); err != nil || n.ProjectID != bob.Project {
			t.Fatalf("the snapshot left behind: %+v %v", n, err)
		}
		if v, err := s.Volume(ctx, alice, vol.ID); err != nil || v.ProjectID != alice.Project {
			t.Fatalf("alice's volume again: %+v %v", v, err)
		}
	})
}

// Refusals, each with Cinder's error and nothing changed.
func TestTransferRefusals(t *testing.T) {
	forEngine(t, func(t *testing.T, s *storage.Store, db *sqlstore.DB, feed *watch.Log) {
		ctx := context.Background()
		mustType(t, s, storage.VolumeTypeCreate{Name: "gold"})
		vol := exported(t, s, alice, storage.VolumeCreate{Size: 3, VolumeType: "gold"})
		creating := mustCreate(t, s, alice, storage.VolumeCreate{Size: 1})
		withPending := exported(t, s, alice, storage.VolumeCreate{Size: 1})
		pending, err := s.CreateSnapshot(ctx, alice, storage.SnapshotCreate{VolumeID: withPending.ID})
		if err != nil {
			t.Fatal(err)
		}
		made(t, s, alice, storage.SnapshotCreate{VolumeID: vol.ID})
		tr, err := s.CreateTransfer(ctx, alice, storage.TransferCreate{VolumeID: vol.ID})
		if err != nil {
			t.Fatal(err)
		}
		accept := func(p storage.Viewer, key string) func() error {
			return func() error {
				_, err := s.AcceptTransfer(ctx, tr.ID, storage.TransferAccept{Project: p.Project, User: "u", AuthKey: key})
				return err
			}
		}
		quotas := func(limits map[string]int64) {
			t.Helper()
			if err := s.DeleteQuotas(ctx, bob.Project); err != nil {
				t.Fatal(err)
			}
			if _, err := s.SetQuotas(ctx, bob.Project, limits); err != nil {
				t.Fatal(err)
			}
		}
		for _, c := range []struct {
			name   string
			limits map[string]int64
			call   func() error
			want   refusal
		}{
			{"another project's volume", nil, func() error {
				_, err := s.CreateTransfer(ctx, bob, storage.TransferCreate{VolumeID: withPending.ID, NoSnapshots: true})
				return err
			}, refusal{fault.NotFound, "Volume " + withPending.ID + " could not be found.", false}},
			{"a volume creating", nil, func() error {
				_, err := s.CreateTransfer(ctx, alice, storage.TransferCreate{VolumeID: creating.ID})
				return err
			}, refusal{fault.BadRequest, "Invalid volume: status must be available", false}},
			{"a volume awaiting a transfer", nil, func() error {
				_, err := s.CreateTransfer(ctx, alice, storage.TransferCreate{VolumeID: vol.ID})
				return err
			}, refusal{fault.BadRequest, "Invalid volume: status must be available", false}},
			{"a snapshot creating", nil, func() error {
				_, err := s.CreateTransfer(ctx, alice, storage.TransferCreate{VolumeID: withPending.ID})
				return err
			}, refusal{fault.BadRequest, "Invalid snapshot: snapshot: " + pending.ID + " status must be available", false}},
			{"no such volume", nil, func() error {
				_, err := s.CreateTransfer(ctx, alice, storage.TransferCreate{VolumeID: "nope"})
				return err
			}, refusal{fault.NotFound, "Volume nope could not be found.", false}},
			{"a wrong key", nil, accept(bob, "0123456789abcdef"),
				refusal{fault.BadRequest, "Invalid auth key: Attempt to transfer " + tr.ID + " with invalid auth key.", false}},
			{"no such transfer", nil, func() error {
				_, err := s.AcceptTransfer(ctx, "nope", storage.TransferAccept{Project: bob.Project, User: "u", AuthKey: tr.AuthKey})
				return err
			}, refusal{fault.NotFound, "Transfer nope could not be found.", false}},
			{"bob's per-volume limit", map[string]int64{"per_volume_gigabytes": 2}, accept(bob, tr.AuthKey),
				refusal{fault.TooLarge, "Requested volume size 3G is larger than maximum allowed limit 2G.", false}},
			{"bob's volumes", map[string]int64{"volumes": 0}, accept(bob, tr.AuthKey),
				refusal{fault.TooLarge, "Maximum number of volumes allowed (0) exceeded for quota 'volumes'.", false}},
			{"bob's gold gigabytes", map[string]int64{"gigabytes_gold": 2}, accept(bob, tr.AuthKey),
				refusal{fault.TooLarge, "Requested volume or snapshot exceeds allowed gigabytes_gold quota. Requested 3G, quota is 2G and 0G has been consumed.", false}},
			// The volume's 3 GiB fit, its snapshot's 3 more do not.
			{"bob's gigabytes for the snapshot", map[string]int64{"gigabytes": 5}, accept(bob, tr.AuthKey),
				refusal{fault.TooLarge, "Requested volume or snapshot exceeds allowed gigabytes quota. Requested 3G, quota is 5G and 3G has been consumed.", false}},
			{"bob's snapshots", map[string]int64{"snapshots": 0}, accept(bob, tr.AuthKey),
				refusal{fault.TooLarge, "Maximum number of snapshots allowed (0) exceeded", false}},
			{"bob deletes it", nil, func() error { return s.DeleteTransfer(ctx, bob, tr.ID) },
				refusal{fault.NotFound, "Transfer " + tr.ID + " could not be found.", false}},
		} {
			t.Run(c.name, func(t *testing.T) {
				quotas(c.limits)
				before := transferRows(t, db, feed)
				c.want.check(t, c.call())
				before.same(t, db, feed)
			})
		}
		quotas(nil)
		// The volume reset to available by an admin: the accept is
		// refused (Cinder's transfer_accept), the transfer kept.
		if _, err := s.ResetStatus(ctx, admin, vol.ID, storage.StatusReset{Status: storage.VolumeAvailable}); err != nil {
			t.Fatal(err)
		}
		before := transferRows(t, db, feed)
		refusal{fault.BadRequest, "Invalid volume: Transfer " + tr.ID + ": Volume id " + vol.ID + " expected in awaiting-transfer state.", false}.
			check(t, accept(bob, tr.AuthKey)())
		before.same(t, db, feed)
		// Its delete leaves the volume as it is.
		if err := s.DeleteTransfer(ctx, alice, tr.ID); err != nil {
			t.Fatal(err)
		}
		if v, _ := s.Volume(ctx, alice, vol.ID); v.Status != storage.VolumeAvailable || v.Revision == 0 {
			t.Fatalf("after the delete: %+v", v)
		}
	})
}
