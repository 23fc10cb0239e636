package storage

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/sqlstore"
)

// Attachment is a volume attachment, Cinder's VolumeAttachment: a
// volume reserved for, connected to or attached to an instance (a
// server, for Nova) on a host. It belongs to its volume's project.
type Attachment struct {
	ID       string `json:"id"`
	VolumeID string `json:"volume_id"`
	// ProjectID is the volume's project, who sees the attachment.
	ProjectID string `json:"project_id"`
	// InstanceUUID is the instance the volume is attached to ("" for
	// none: a consumer other than Nova).
	InstanceUUID string `json:"instance_uuid"`
	// AttachedHost and Mountpoint are where the instance runs and the
	// device it sees, from the connector ("" until connected).
	AttachedHost string `json:"attached_host"`
	Mountpoint   string `json:"mountpoint"`
	// AttachMode is ModeReadWrite or ModeReadOnly, ModeNull (Cinder's
	// "null": an attachment created without a mode, until its update),
	// or "" (an os-attach that did not end).
	AttachMode   string       `json:"attach_mode"`
	AttachStatus AttachStatus `json:"attach_status"`
	// Connector is the host's connector (os-brick's: initiator, ip,
	// host, multipath, mountpoint, ...), nil before the update.
	Connector map[string]any `json:"connector"`
	// ConnectionInfo is what the host connects with, as Cinder keeps it
	// for an attachment: the connection data's keys with
	// driver_volume_type and attachment_id (ConnectionInfo.Flat); nil
	// before the update. It holds the export's CHAP password.
	ConnectionInfo map[string]any `json:"connection_info"`
	AttachTime     *time.Time     `json:"attach_time"`
	DetachTime     *time.Time     `json:"detach_time"`
	CreatedAt      time.Time      `json:"created_at"`
	UpdatedAt      time.Time      `json:"updated_at"`
	DeletedAt      *time.Time     `json:"deleted_at"`
}

// Attach modes (Attachment.AttachMode).
const (
	ModeReadWrite = "rw"
	ModeReadOnly  = "ro"
	// ModeNull is the mode Cinder gives a v3 attachment created without
	// one: its update takes the connector's.
	ModeNull = "null"
)

// feedCopy is a as the feed shows it: without its connection info,
// which holds the export's secret.
func (a Attachment) feedCopy() Attachment {
	a.ConnectionInfo = nil
	return a
}

const attachmentCols = `a.id, a.volume_id, v.project_id, a.instance_uuid, a.attached_host, a.mountpoint, a.attach_mode,
	a.attach_status, a.connector, a.connection_info, a.attach_time, a.detach_time, a.created_at, a.updated_at, a.deleted_at`

// attachmentFrom is the FROM clause of attachmentCols.
const attachmentFrom = " FROM storage_attachments a JOIN storage_volumes v ON v.id = a.volume_id"

func scanAttachment(sc interface{ Scan(...any) error }) (Attachment, error) {
	var a Attachment
	var instance, host, mountpoint, mode, connector, info sql.NullString
	var created, updated int64
	var attached, detached, deleted sql.NullInt64
	if err := sc.Scan(&a.ID, &a.VolumeID, &a.ProjectID, &instance, &host, &mountpoint, &mode, &a.AttachStatus, &connector,
		&info, &attached, &detached, &created, &updated, &deleted); err != nil {
		return Attachment{}, err
	}
	a.InstanceUUID, a.AttachedHost, a.Mountpoint, a.AttachMode = instance.String, host.String, mountpoint.String, mode.String
	for _, f := range []struct {
		text sql.NullString
		dst  *map[string]any
	}{{connector, &a.Connector}, {info, &a.ConnectionInfo}} {
		if f.text.Valid {
			if err := json.Unmarshal([]byte(f.text.String), f.dst); err != nil {
				return Attachment{}, fmt.Errorf("attachment %s: %w", a.ID, err)
			}
		}
	}
	a.CreatedAt, a.UpdatedAt = time.UnixMicro(created).UTC(), time.UnixMicro(updated).UTC()
	a.AttachTime, a.DetachTime, a.DeletedAt = microsTime(attached), microsTime(detached), microsTime(deleted)
	return a, nil
}

// queryAttachments reads the attachments of a query selecting
// attachmentCols (attachmentFrom).
func queryAttachments(ctx context.Context, q querier, query string, args ...any) ([]Attachment, error) {
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("storage: read attachments: %w", err)
	}
	defer rows.Close()
	out := []Attachment{}
	for rows.Next() {
		a, err := scanAttachment(rows)
		if err != nil {
			return nil, fmt.Errorf("storage: read attachments: %w", err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("storage: read attachments: %w", err)
	}
	return out, nil
}

// fillAttachments reads the attachments (not deleted) of vs in one
// query.
func fillAttachments(ctx context.Context, q querier, vs []Volume) error {
	if len(vs) == 0 {
		return nil
	}
	at := make(map[string]int, len(vs))
	ids := make([]any, len(vs))
	for i, v := range vs {
		at[v.ID], ids[i] = i, v.ID
	}
	as, err := queryAttachments(ctx, q, "SELECT "+attachmentCols+attachmentFrom+" WHERE a.deleted_at IS NULL AND a.volume_id IN ("+
		placeholders(len(ids))+") ORDER BY a.created_at, a.id", ids...)
	if err != nil {
		return err
	}
	for _, a := range as {
		v := &vs[at[a.VolumeID]]
		v.Attachments = append(v.Attachments, a)
	}
	return nil
}

func attachmentNotFound(id string) error {
	return cinderError(fault.NotFound, "VolumeAttachmentNotFound", "Volume attachment could not be found with filter: attachment_id = %s.", id)
}

// attachmentByID reads attachment id if it is not deleted (nil if
// there is none).
func attachmentByID(ctx context.Context, q querier, id string) (*Attachment, error) {
	as, err := queryAttachments(ctx, q, "SELECT "+attachmentCols+attachmentFrom+" WHERE a.id = ? AND a.deleted_at IS NULL", id)
	if err != nil || len(as) == 0 {
		return nil, err
	}
	return &as[0], nil
}

// Attachment returns attachment id if v sees its volume and it is not
// deleted, else Cinder's VolumeAttachmentNotFound.
func (s *Store) Attachment(ctx context.Context, v Viewer, id string) (Attachment, error) {
	if err := checkText("attachment_id", id, len(id)); err != nil {
		return Attachment{}, attachmentNotFound(id)
	}
	a, err := attachmentByID(ctx, s.db, id)
	if err != nil {
		return Attachment{}, err
	}
	if a == nil || !v.sees(a.ProjectID) {
		return Attachment{}, attachmentNotFound(id)
	}
	return *a, nil
}

// AttachmentFilter narrows and orders Attachments, with Cinder's
// semantics.
type AttachmentFilter struct {
	// AllProjects is an admin's all_tenants: every project's
	// attachments (ignored for others, who see their project's only).
	AllProjects bool
	// VolumeID, InstanceUUID and AttachStatus keep the attachments with
	// that value ("" for all).
	VolumeID     string
	InstanceUUID string
	AttachStatus AttachStatus
	// SortKeys and SortDirs order the list (keys from
	// AttachmentSortKeys; "asc" or "desc"); created_at and id end every
	// order. Without keys: newest first.
	SortKeys []string
	SortDirs []string
	// Marker is the id of the last attachment of the previous page (one
	// the viewer sees, else VolumeAttachmentNotFound); Limit the most to
	// return (0: all).
	Marker string
	Limit  int
}

// attachmentSortKeys are the columns of Cinder's volume_attachment an
// attachment list sorts on.
var attachmentSortKeys = map[string]sqlstore.SortKey{
	"id": {Expr: "a.id"}, "volume_id": {Expr: "a.volume_id"}, "instance_uuid": {Expr: "a.instance_uuid", Nullable: true},
	"attached_host": {Expr: "a.attached_host", Nullable: true}, "mountpoint": {Expr: "a.mountpoint", Nullable: true},
	"attach_time": {Expr: "a.attach_time", Nullable: true}, "detach_time": {Expr: "a.detach_time", Nullable: true},
	"attach_status": {Expr: "a.attach_status"}, "attach_mode": {Expr: "a.attach_mode", Nullable: true},
	"created_at": {Expr: "a.created_at"}, "updated_at": {Expr: "a.updated_at"},
}

// AttachmentSortKeys are the sort keys Attachments takes.
func AttachmentSortKeys() []string { return slices.Sorted(maps.Keys(attachmentSortKeys)) }

// Attachments lists the attachments (not deleted) v may see that f
// selects, in f's order, and whether more follow the page.
func (s *Store) Attachments(ctx context.Context, v Viewer, f AttachmentFilter) ([]Attachment, bool, error) {
	order, err := sortOrder(attachmentSortKeys, "a.id", f.SortKeys, f.SortDirs)
	if err != nil {
		return nil, false, err
	}
	if f.Limit < 0 {
		return nil, false, invalidInput("limit param must be positive")
	}
	for _, t := range []string{f.VolumeID, f.InstanceUUID, string(f.AttachStatus), f.Marker} {
		if err := checkText("filter", t, len(t)); err != nil {
			return nil, false, err
		}
	}
	conds, args := []string{"a.deleted_at IS NULL"}, []any{}
	if !v.Admin || !f.AllProjects {
		conds, args = append(conds, "v.project_id = ?"), append(args, v.Project)
	}
	for _, c := range []struct{ col, val string }{{"a.volume_id", f.VolumeID}, {"a.instance_uuid", f.InstanceUUID},
		{"a.attach_status", string(f.AttachStatus)}} {
		if c.val != "" {
			conds, args = append(conds, c.col+" = ?"), append(args, c.val)
		}
	}
	var out []Attachment
	err = s.db.ReadTx(ctx, func(tx *sqlstore.Tx) error {
		cond, args := strings.Join(conds, " AND "), slices.Clone(args)
		if f.Marker != "" {
			visible, vargs := "a.deleted_at IS NULL", []any{f.Marker}
			if !v.Admin {
				visible, vargs = visible+" AND v.project_id = ?", append(vargs, v.Project)
			}
			values, err := order.Marker(ctx, tx, attachmentFrom+" WHERE a.id = ? AND "+visible, vargs...)
			if errors.Is(err, sqlstore.ErrNotFound) {
				return attachmentNotFound(f.Marker)
			} else if err != nil {
				return err
			}
			after, aargs := order.After(values)
			cond, args = cond+" AND "+after, append(args, aargs...)
		}
		q := "SELECT " + attachmentCols + attachmentFrom + " WHERE " + cond + order.OrderBy()
		if f.Limit > 0 {
			q, args = q+" LIMIT ?", append(args, f.Limit+1)
		}
		var err error
		out, err = queryAttachments(ctx, tx, q, args...)
		return err
	})
	if err != nil {
		return nil, false, err
	}
	more := false
	if f.Limit > 0 && len(out) > f.Limit {
		out, more = out[:f.Limit], true
	}
	return out, more, nil
}
