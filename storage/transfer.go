package storage

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
)

// Cinder's volume_transfer_salt_length and volume_transfer_key_length.
const (
	transferSaltLength = 8
	transferKeyLength  = 16
)

// Transfer is a Cinder volume transfer: a volume its project offers to
// whoever shows the transfer's id and key.
type Transfer struct {
	ID       string `json:"id"`
	VolumeID string `json:"volume_id"`
	// Name is nil for none (the API's null).
	Name *string `json:"name"`
	// NoSnapshots leaves the volume's snapshots with its project when
	// the transfer is accepted (Cinder's 3.55 no_snapshots).
	NoSnapshots     bool   `json:"no_snapshots"`
	SourceProjectID string `json:"source_project_id"`
	// DestinationProjectID is the project that accepted it (nil until
	// then).
	DestinationProjectID *string    `json:"destination_project_id"`
	Accepted             bool       `json:"accepted"`
	Revision             int64      `json:"revision"`
	CreatedAt            time.Time  `json:"created_at"`
	UpdatedAt            time.Time  `json:"updated_at"`
	DeletedAt            *time.Time `json:"deleted_at"`
	// AuthKey is the key the accepting project must show: set only in
	// CreateTransfer's answer (the Store keeps its salted hash).
	AuthKey string `json:"-"`
}

func transferNotFound(id string) error {
	return cinderError(fault.NotFound, "TransferNotFound", "Transfer %s could not be found.", id)
}

const transferCols = `t.id, t.volume_id, t.display_name, t.no_snapshots, t.source_project_id, t.destination_project_id,
	t.accepted, t.revision, t.created_at, t.updated_at, t.deleted_at`

func queryTransfers(ctx context.Context, q querier, query string, args ...any) ([]Transfer, error) {
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("storage: read transfers: %w", err)
	}
	defer rows.Close()
	out := []Transfer{}
	for rows.Next() {
		var t Transfer
		var name, dest sql.NullString
		var created, updated int64
		var deleted sql.NullInt64
		if err := rows.Scan(&t.ID, &t.VolumeID, &name, &t.NoSnapshots, &t.SourceProjectID, &dest, &t.Accepted, &t.Revision,
			&created, &updated, &deleted); err != nil {
			return nil, fmt.Errorf("storage: read transfers: %w", err)
		}
		if name.Valid {
			t.Name = &name.String
		}
		if dest.Valid {
			t.DestinationProjectID = &dest.String
		}
		t.CreatedAt, t.UpdatedAt, t.DeletedAt = time.UnixMicro(created).UTC(), time.UnixMicro(updated).UTC(), microsTime(deleted)
		out = append(out, t)
	}
	return out, rows.Err()
}

// transferByID reads transfer id if it is not deleted (nil if none).
func transferByID(ctx context.Context, q querier, id string) (*Transfer, error) {
	ts, err := queryTransfers(ctx, q, "SELECT "+transferCols+" FROM storage_transfers t WHERE t.id = ? AND t.deleted_at IS NULL", id)
	if err != nil || len(ts) == 0 {
		return nil, err
	}
	return &ts[0], nil
}

// Transfer returns transfer id if v sees it (an admin, or the project
// offering the volume: Cinder's transfer_get), else TransferNotFound.
func (s *Store) Transfer(ctx context.Context, v Viewer, id string) (Transfer, error) {
	if err := checkText("id", id, len(id)); err != nil {
		return Transfer{}, transferNotFound(id)
	}
	t, err := transferByID(ctx, s.db, id)
	if err != nil {
		return Transfer{}, err
	}
	if t == nil || !v.sees(t.SourceProjectID) {
		return Transfer{}, transferNotFound(id)
	}
	return *t, nil
}

// TransferCreate is what a transfer is made from.
type TransferCreate struct {
	VolumeID string
	// Name is nil for none.
	Name        *string
	NoSnapshots bool
}

// randomHex is Cinder's _get_random_string: n hex digits of sha224s of
// random bytes.
func randomHex(n int) (string, error) {
	var out string
	for len(out) < n {
		b := make([]byte, 255)
		if _, err := rand.Read(b); err != nil {
			return "", fmt.Errorf("storage: random: %w", err)
		}
		sum := sha256.Sum224(b)
		out += hex.EncodeToString(sum[:])
	}
	return out[:n], nil
}

// transferHash is Cinder's _get_crypt_hash: hmac-sha1 of the key under
// the salt, hex.
func transferHash(salt, key string) string {
	m := hmac.New(sha1.New, []byte(salt))
	m.Write([]byte(key))
	return hex.EncodeToString(m.Sum(nil))
}

// CreateTransfer is Cinder's transfer create: the volume, one v sees,
// must be available, and unless NoSnapshots each of its snapshots
// available (Cinder's InvalidVolume and InvalidSnapshot); the volume
// goes to awaiting-transfer in the transaction that makes the transfer.
// The answer holds the key (AuthKey), which is never shown again: the
// Store keeps a random salt and the key's hash under it, as Cinder does.
func (s *Store) CreateTransfer(ctx context.Context, v Viewer, c TransferCreate) (Transfer, error) {
	if err := checkOptText("name", c.Name, maxText); err != nil {
		return Transfer{}, err
	}
	if err := checkText("volume_id", c.VolumeID, maxText); err != nil {
		return Transfer{}, err
	}
	salt, err := randomHex(transferSaltLength)
	if err != nil {
		return Transfer{}, err
	}
	key, err := randomHex(transferKeyLength)
	if err != nil {
		return Transfer{}, err
	}
	var out Transfer
	err = s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		var vol Volume
		if err := s.changeVolume(ctx, tx, c.VolumeID, func(tx *sqlstore.Tx, vol *Volume) error {
			if !v.sees(vol.ProjectID) {
				return volumeNotFound(c.VolumeID)
			}
			if vol.Status != VolumeAvailable {
				return invalidVolume("status must be available")
			}
			if !c.NoSnapshots {
				snaps, err := volumeSnapshots(ctx, tx, vol.ID)
				if err != nil {
					return err
				}
				for _, n := range snaps {
					if n.Status != SnapshotAvailable {
						return invalidSnapshot("snapshot: %s status must be available", n.ID)
					}
				}
			}
			vol.Status = VolumeAwaitingTransfer
			return nil
		}, &vol); err != nil {
			return err
		}
		now := s.now()
		t := Transfer{ID: uuid.NewString(), VolumeID: vol.ID, Name: c.Name, NoSnapshots: c.NoSnapshots,
			SourceProjectID: vol.ProjectID, Revision: 1, CreatedAt: now, UpdatedAt: now}
		if _, err := tx.Exec(ctx, `INSERT INTO storage_transfers (id, volume_id, display_name, salt, crypt_hash, no_snapshots,
			source_project_id, revision, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?)`,
			t.ID, t.VolumeID, t.Name, salt, transferHash(salt, key), t.NoSnapshots, t.SourceProjectID,
			now.UnixMicro(), now.UnixMicro()); err != nil {
			return fmt.Errorf("storage: create transfer: %w", err)
		}
		out = t
		return s.record(ctx, tx, "transfer", t.ID, t.SourceProjectID, watch.Create, t)
	})
	if err != nil {
		return Transfer{}, err
	}
	out.AuthKey = key
	return out, nil
}

// endTransfer marks transfer t deleted (accepted by dest when set) and
// records it.
func (s *Store) endTransfer(ctx context.Context, tx *sqlstore.Tx, t Transfer, dest *string) error {
	now := s.now()
	t.DeletedAt, t.UpdatedAt = &now, now
	if dest != nil {
		t.DestinationProjectID, t.Accepted = dest, true
	}
	res, err := tx.Exec(ctx, `UPDATE storage_transfers SET deleted_at = ?, updated_at = ?, destination_project_id = ?, accepted = ?,
		revision = revision + 1 WHERE id = ? AND revision = ?`,
		now.UnixMicro(), now.UnixMicro(), t.DestinationProjectID, t.Accepted, t.ID, t.Revision)
	if err != nil {
		return fmt.Errorf("storage: end transfer %s: %w", t.ID, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return transferNotFound(t.ID)
	}
	t.Revision++
	return s.record(ctx, tx, "transfer", t.ID, t.SourceProjectID, watch.Delete, t)
}

// DeleteTransfer is Cinder's transfer delete: the transfer (one v sees)
// is deleted and its volume, if still awaiting-transfer, available
// again (in any other status it is left as it is, as Cinder's
// transfer_destroy does).
func (s *Store) DeleteTransfer(ctx context.Context, v Viewer, id string) error {
	if err := checkText("id", id, len(id)); err != nil {
		return transferNotFound(id)
	}
	return s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		if err := lockRow(ctx, tx, "storage_transfers", id); err != nil {
			return err
		}
		t, err := transferByID(ctx, tx, id)
		if err != nil {
			return err
		}
		if t == nil || !v.sees(t.SourceProjectID) {
			return transferNotFound(id)
		}
		var vol Volume
		err = s.changeVolume(ctx, tx, t.VolumeID, func(_ *sqlstore.Tx, vol *Volume) error {
			if vol.Status != VolumeAwaitingTransfer {
				return errUnchanged
			}
			vol.Status = VolumeAvailable
			return nil
		}, &vol)
		if err != nil && fault.KindOf(err) != fault.NotFound {
			return err
		}
		return s.endTransfer(ctx, tx, *t, nil)
	})
}

// TransferAccept is who accepts a transfer, and the key shown.
type TransferAccept struct {
	// Project and User become the volume's (and its snapshots').
	Project, User string
	AuthKey       string
}

// AcceptTransfer is Cinder's accept, in one transaction: the transfer
// (any project may accept one whose id it knows) and its key (Cinder's
// InvalidAuthKey), the accepting project's quotas — per_volume_gigabytes
// on the volume's size, then volumes and gigabytes (and the type's),
// then snapshots and their gigabytes for the snapshots that move, each
// refused as Cinder's process_reserve_over_quota does — the volume
// awaiting-transfer (not in maintenance) and each moving snapshot
// available. The volume (and its snapshots unless NoSnapshots) then
// belongs to the accepting project and user, available; the transfer
// is deleted, accepted. Under both projects' locks: the giving
// project's use falls as the accepting project's grows.
func (s *Store) AcceptTransfer(ctx context.Context, id string, a TransferAccept) (Transfer, error) {
	for _, f := range []struct{ name, v string }{{"project", a.Project}, {"user", a.User}} {
		if err := checkText(f.name, f.v, maxText); err != nil {
			return Transfer{}, err
		}
	}
	if err := checkText("id", id, len(id)); err != nil {
		return Transfer{}, transferNotFound(id)
	}
	var out Transfer
	err := s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		t, err := transferByID(ctx, tx, id)
		if err != nil {
			return err
		}
		if t == nil {
			return transferNotFound(id)
		}
		var salt, hash string
		if err := tx.Get(ctx, "SELECT salt, crypt_hash FROM storage_transfers WHERE id = ?", []any{id}, &salt, &hash); err != nil {
			return fmt.Errorf("storage: transfer %s: %w", id, err)
		}
		if subtle.ConstantTimeCompare([]byte(transferHash(salt, a.AuthKey)), []byte(hash)) != 1 {
			return cinderError(fault.BadRequest, "InvalidAuthKey", "Invalid auth key: Attempt to transfer %s with invalid auth key.", id)
		}
		// Both projects' locks, in a fixed order.
		for _, p := range slices.Sorted(maps.Keys(map[string]bool{a.Project: true, t.SourceProjectID: true})) {
			if err := lockProject(ctx, tx, p); err != nil {
				return err
			}
		}
		if err := lockRow(ctx, tx, "storage_transfers", id); err != nil {
			return err
		}
		var vol Volume
		return s.changeVolume(ctx, tx, t.VolumeID, func(tx *sqlstore.Tx, vol *Volume) error {
			if err := s.acceptChecks(ctx, tx, t, vol, a.Project); err != nil {
				return err
			}
			if !t.NoSnapshots {
				snaps, err := volumeSnapshots(ctx, tx, vol.ID)
				if err != nil {
					return err
				}
				for _, n := range snaps {
					if err := s.moveSnapshot(ctx, tx, t.ID, n.ID, a); err != nil {
						return err
					}
				}
			}
			vol.Status, vol.ProjectID, vol.UserID = VolumeAvailable, a.Project, a.User
			if _, err := tx.Exec(ctx, "UPDATE storage_volumes SET project_id = ?, user_id = ? WHERE id = ?", a.Project, a.User, vol.ID); err != nil {
				return fmt.Errorf("storage: transfer volume %s: %w", vol.ID, err)
			}
			dest := a.Project
			if err := s.endTransfer(ctx, tx, *t, &dest); err != nil {
				return err
			}
			out = *t
			out.DestinationProjectID, out.Accepted = &dest, true
			return nil
		}, &vol)
	})
	if err != nil {
		return Transfer{}, err
	}
	return out, nil
}

// acceptChecks are AcceptTransfer's checks of the volume of t and of
// project's quotas, in Cinder's order.
func (s *Store) acceptChecks(ctx context.Context, tx *sqlstore.Tx, t *Transfer, vol *Volume, project string) error {
	vt, err := typeByID(ctx, tx, adminViewer, vol.VolumeTypeID, false)
	if err != nil {
		return err
	}
	// Cinder reserves for the accepting project whatever it is (its own
	// volume's transfer included).
	if err := s.checkVolumeQuota(ctx, tx, project, vt, 1, vol.Size, vol.Size); err != nil {
		return err
	}
	if !t.NoSnapshots {
		snaps, err := volumeSnapshots(ctx, tx, vol.ID)
		if err != nil {
			return err
		}
		var gb int64
		for _, n := range snaps {
			gb += n.VolumeSize
		}
		if err := s.checkSnapshotsQuota(ctx, tx, project, vt, int64(len(snaps)), gb, vol.Size); err != nil {
			return err
		}
	}
	switch {
	case vol.Status == VolumeMaintenance:
		return invalidVolume("The volume cannot accept transfer in maintenance mode.")
	case vol.Status != VolumeAwaitingTransfer:
		return invalidVolume("Transfer %s: Volume id %s expected in awaiting-transfer state.", t.ID, vol.ID)
	}
	return nil
}

// moveSnapshot gives snapshot id to a's project and user; it must be
// available (Cinder's transfer_accept).
func (s *Store) moveSnapshot(ctx context.Context, tx *sqlstore.Tx, transfer, id string, a TransferAccept) error {
	var out Snapshot
	if err := s.changeSnapshot(ctx, tx, id, func(_ *sqlstore.Tx, n *Snapshot) error {
		if n.Status != SnapshotAvailable {
			return invalidSnapshot("Transfer %s: Snapshot %s is not in the expected available state.", transfer, id)
		}
		n.ProjectID, n.UserID = a.Project, a.User
		return nil
	}, &out); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, "UPDATE storage_snapshots SET project_id = ?, user_id = ? WHERE id = ?", a.Project, a.User, id); err != nil {
		return fmt.Errorf("storage: transfer snapshot %s: %w", id, err)
	}
	return nil
}

// checkSnapshotsQuota is Cinder's reserve of count snapshots of gb GiB
// in all (of type t) for project, whose gigabytes already grow by
// pending GiB in the same transaction (a transferred volume's): the
// first resource over, in name order, is refused as Cinder's
// process_reserve_over_quota does for snapshots.
func (s *Store) checkSnapshotsQuota(ctx context.Context, tx *sqlstore.Tx, project string, t *VolumeType, count, gb, pending int64) error {
	if count == 0 {
		return nil
	}
	limits, err := s.quotasIn(ctx, tx, project)
	if err != nil {
		return err
	}
	used, err := usageIn(ctx, tx, project)
	if err != nil {
		return err
	}
	used[QuotaGigabytes] += pending
	deltas := map[string]int64{QuotaSnapshots: count, QuotaGigabytes: gb}
	if t != nil {
		used[QuotaGigabytes+"_"+t.Name] += pending
		for r, d := range maps.Clone(deltas) {
			deltas[r+"_"+t.Name] = d
		}
	}
	for _, r := range slices.Sorted(maps.Keys(deltas)) {
		lim, ok := limits[r]
		if !ok || lim < 0 || lim >= deltas[r]+used[r] {
			continue
		}
		if strings.Contains(r, QuotaGigabytes) {
			return quotaExceeded(r, gb, lim, used[r])
		}
		return cinderError(fault.TooLarge, "SnapshotLimitExceeded", "Maximum number of snapshots allowed (%d) exceeded", lim)
	}
	return nil
}

// TransferFilter narrows and orders Transfers.
type TransferFilter struct {
	// AllProjects is an admin's all_tenants (ignored for others).
	AllProjects bool
	// Name keeps the transfers of that name, VolumeID those of that
	// volume, ID that one.
	Name, VolumeID, ID string
	// SortKeys and SortDirs (keys from TransferSortKeys), Marker and
	// Limit as the other lists'.
	SortKeys, SortDirs []string
	Marker             string
	Limit              int
}

var transferSortKeys = map[string]sqlstore.SortKey{
	"id": {Expr: "t.id"}, "name": {Expr: "t.display_name", Nullable: true}, "display_name": {Expr: "t.display_name", Nullable: true},
	"volume_id": {Expr: "t.volume_id"}, "created_at": {Expr: "t.created_at"}, "updated_at": {Expr: "t.updated_at"},
	"source_project_id": {Expr: "t.source_project_id"},
}

// TransferSortKeys are the keys a transfer list sorts on.
func TransferSortKeys() []string { return slices.Sorted(maps.Keys(transferSortKeys)) }

// Transfers lists the transfers v sees that f selects (those offered by
// v's project; every project's for an admin's AllProjects), in f's
// order, and whether more follow the page.
func (s *Store) Transfers(ctx context.Context, v Viewer, f TransferFilter) ([]Transfer, bool, error) {
	order, err := sortOrder(transferSortKeys, "t.id", f.SortKeys, f.SortDirs)
	if err != nil {
		return nil, false, err
	}
	if f.Limit < 0 {
		return nil, false, invalidInput("limit param must be positive")
	}
	for _, x := range []string{f.Name, f.VolumeID, f.ID, f.Marker} {
		if err := checkText("filter", x, len(x)); err != nil {
			return nil, false, err
		}
	}
	conds, args := []string{"t.deleted_at IS NULL"}, []any{}
	if !v.Admin || !f.AllProjects {
		conds, args = append(conds, "t.source_project_id = ?"), append(args, v.Project)
	}
	for _, c := range []struct{ v, cond string }{{f.Name, "t.display_name = ?"}, {f.VolumeID, "t.volume_id = ?"}, {f.ID, "t.id = ?"}} {
		if c.v != "" {
			conds, args = append(conds, c.cond), append(args, c.v)
		}
	}
	l := listing{Order: order, Table: "storage_transfers t", Alias: "t", Cols: transferCols, Conds: conds, Args: args,
		Marker: f.Marker, NotFound: transferNotFound, Limit: f.Limit}
	if !v.Admin {
		l.MarkerScope, l.MarkerArgs = "t.source_project_id = ?", []any{v.Project}
	}
	return page(ctx, s.db, l, queryTransfers)
}
