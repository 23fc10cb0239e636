package storage

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/sqlstore"
)

// Message is a Cinder user message (the messages API, 3.3): what an
// asynchronous operation that failed tells the project of the volume,
// snapshot or backup it was about. Its words are Cinder's fixed ones,
// an action and a detail (UserMessage), never the backend's own, which
// may name what the project must not see (the agent's reason stays in
// the resource's Message, for operators).
type Message struct {
	ID        string `json:"id"`
	ProjectID string `json:"project_id"`
	// RequestID is the request that recorded the failure: the agent's
	// report of it, or the create that found no pool.
	RequestID string `json:"request_id"`
	// ResourceType is MessageVolume, MessageSnapshot or MessageBackup;
	// ResourceUUID the resource's id.
	ResourceType string `json:"resource_type"`
	ResourceUUID string `json:"resource_uuid"`
	// ActionID and DetailID are Cinder's message_field ids; EventID is
	// VOLUME_<resource type>_<action>_<detail>.
	ActionID  string    `json:"action_id"`
	DetailID  string    `json:"detail_id"`
	EventID   string    `json:"event_id"`
	Level     string    `json:"message_level"`
	CreatedAt time.Time `json:"created_at"`
	// ExpiresAt is Cinder's expires_at (guaranteed_until in the API):
	// the message is gone after it.
	ExpiresAt time.Time `json:"expires_at"`
}

// The resource types of messages (Cinder's message_field.Resource).
const (
	MessageVolume   = "VOLUME"
	MessageSnapshot = "VOLUME_SNAPSHOT"
	MessageBackup   = "VOLUME_BACKUP"
)

// DefaultMessageTTL is Cinder's message_ttl: how long a message is kept.
const DefaultMessageTTL = 30 * 24 * time.Hour

// messageAction and messageDetail are Cinder's message_field.Action and
// Detail: an id and its words.
type messageAction struct{ id, text string }
type messageDetail struct{ id, text string }

// The actions and details messages are recorded with here.
var (
	actionScheduleAllocateVolume = messageAction{"001", "schedule allocate volume"}
	actionCopyVolumeToImage      = messageAction{"003", "copy volume to image"}
	actionCopyImageToVolume      = messageAction{"005", "copy image to volume"}
	actionExtendVolume           = messageAction{"007", "extend volume"}
	actionCreateVolumeFromBacked = messageAction{"008", "create volume from backend storage"}
	actionSnapshotCreate         = messageAction{"009", "create snapshot"}
	actionSnapshotDelete         = messageAction{"010", "delete snapshot"}
	actionBackupCreate           = messageAction{"013", "create backup"}
	actionBackupDelete           = messageAction{"014", "delete backup"}
	actionBackupRestore          = messageAction{"015", "restore backup"}

	detailUnknownError          = messageDetail{"001", "An unknown error occurred."}
	detailNoBackendAvailable    = messageDetail{"003", "Could not find any available weighted backend."}
	detailFailedToUploadVolume  = messageDetail{"004", "Failed to upload volume to image at backend."}
	detailDriverFailedExtend    = messageDetail{"010", "Volume Driver failed to extend volume."}
	detailDriverFailedCreate    = messageDetail{"012", "Driver failed to create the volume."}
	detailSnapshotCreateError   = messageDetail{"013", "Snapshot failed to create."}
	detailSnapshotIsBusy        = messageDetail{"015", "Snapshot is busy."}
	detailSnapshotDeleteError   = messageDetail{"016", "Snapshot failed to delete."}
	detailBackupCreateDriverErr = messageDetail{"020", "Backup driver failed to create backup."}
	detailBackupDeleteDriverErr = messageDetail{"025", "Backup driver failed to delete backup."}
	detailBackupRestoreError    = messageDetail{"026", "Backup driver failed to restore backup."}
)

// messageActions and messageDetails are all of Cinder's, by id, for
// UserMessage.
var (
	messageActions = map[string]string{"001": "schedule allocate volume", "002": "attach volume", "003": "copy volume to image",
		"004": "update attachment", "005": "copy image to volume", "006": "unmanage volume", "007": "extend volume",
		"008": "create volume from backend storage", "009": "create snapshot", "010": "delete snapshot", "011": "update snapshot",
		"012": "update snapshot metadata", "013": "create backup", "014": "delete backup", "015": "restore backup", "016": "reimage volume"}
	messageDetails = map[string]string{"001": "An unknown error occurred.", "002": "Driver is not initialized at present.",
		"003": "Could not find any available weighted backend.", "004": "Failed to upload volume to image at backend.",
		"005": "Volume's attach mode is invalid.", "006": "Not enough quota resource for operation.",
		"007": "Image used for creating volume exceeds available space.", "008": "Unmanaging encrypted volumes is not supported.",
		"009": "Compute service failed to extend volume.", "010": "Volume Driver failed to extend volume.",
		"011": "Image signature verification failed.", "012": "Driver failed to create the volume.",
		"013": "Snapshot failed to create.", "014": "Volume snapshot update metadata failed.", "015": "Snapshot is busy.",
		"016": "Snapshot failed to delete.", "017": "Backup status is invalid.", "018": "Backup service is down.",
		"019": "Failed to get backup device from the volume service.", "020": "Backup driver failed to create backup.",
		"021": "Failed to attach volume.", "022": "Failed to detach volume.", "023": "Cleanup of temporary volume/snapshot failed.",
		"024": "Backup failed to schedule. Service not found for creating backup.", "025": "Backup driver failed to delete backup.",
		"026": "Backup driver failed to restore backup.", "027": "Volume status is invalid.",
		"028": "Compute service failed to reimage volume.",
		"029": "The image disk format must be the same as the volume format for the volume type you are requesting."}
)

// UserMessage is the message's words as Cinder's API builds them:
// "<action>:<detail>" ("unknown action" and the unknown error's words
// for ids it does not know).
func (m Message) UserMessage() string {
	a, ok := messageActions[m.ActionID]
	if !ok {
		a = "unknown action"
	}
	d, ok := messageDetails[m.DetailID]
	if !ok {
		d = messageDetails["001"]
	}
	return a + ":" + d
}

func messageNotFound(id string) error {
	return cinderError(fault.NotFound, "MessageNotFound", "Message %s could not be found.", id)
}

func (s *Store) messageTTL() time.Duration {
	if s.MessageTTL > 0 {
		return s.MessageTTL
	}
	return DefaultMessageTTL
}

// recordMessage records, in tx, an error message for project about
// resource id of type typ (Cinder's message API create), and removes
// the messages that expired (Cinder reaps them periodically).
func (s *Store) recordMessage(ctx context.Context, tx *sqlstore.Tx, project, typ, id string, a messageAction, d messageDetail) error {
	now := s.now()
	req := ""
	if s.RequestID != nil {
		req = s.RequestID(ctx)
	}
	if req == "" {
		req = "req-" + uuid.NewString()
	}
	if _, err := tx.Exec(ctx, "DELETE FROM storage_messages WHERE expires_at < ?", now.UnixMicro()); err != nil {
		return fmt.Errorf("storage: reap messages: %w", err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO storage_messages (id, project_id, request_id, resource_type, resource_uuid, action_id,
		detail_id, event_id, message_level, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		uuid.NewString(), project, req, typ, id, a.id, d.id, fmt.Sprintf("VOLUME_%s_%s_%s", typ, a.id, d.id), "ERROR",
		now.UnixMicro(), now.Add(s.messageTTL()).UnixMicro()); err != nil {
		return fmt.Errorf("storage: record message: %w", err)
	}
	return nil
}

const messageCols = `m.id, m.project_id, m.request_id, m.resource_type, m.resource_uuid, m.action_id, m.detail_id, m.event_id,
	m.message_level, m.created_at, m.expires_at`

func queryMessages(ctx context.Context, q querier, query string, args ...any) ([]Message, error) {
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("storage: messages: %w", err)
	}
	defer rows.Close()
	var out []Message
	for rows.Next() {
		var m Message
		var created, expires int64
		if err := rows.Scan(&m.ID, &m.ProjectID, &m.RequestID, &m.ResourceType, &m.ResourceUUID, &m.ActionID, &m.DetailID, &m.EventID,
			&m.Level, &created, &expires); err != nil {
			return nil, fmt.Errorf("storage: messages: %w", err)
		}
		m.CreatedAt, m.ExpiresAt = time.UnixMicro(created).UTC(), time.UnixMicro(expires).UTC()
		out = append(out, m)
	}
	return out, rows.Err()
}

// Message returns message id if v may see it (its project's, or any
// for an admin) and it has not expired, else Cinder's MessageNotFound.
func (s *Store) Message(ctx context.Context, v Viewer, id string) (Message, error) {
	ms, err := queryMessages(ctx, s.db, "SELECT "+messageCols+" FROM storage_messages m WHERE m.id = ? AND m.expires_at >= ?",
		id, s.now().UnixMicro())
	if err != nil {
		return Message{}, err
	}
	if len(ms) == 0 || !v.sees(ms[0].ProjectID) {
		return Message{}, messageNotFound(id)
	}
	return ms[0], nil
}

// DeleteMessage removes message id (as Message finds it).
func (s *Store) DeleteMessage(ctx context.Context, v Viewer, id string) error {
	if _, err := s.Message(ctx, v, id); err != nil {
		return err
	}
	if _, err := s.db.Exec(ctx, "DELETE FROM storage_messages WHERE id = ?", id); err != nil {
		return fmt.Errorf("storage: delete message %s: %w", id, err)
	}
	return nil
}

// MessageFilter selects messages (Cinder's message_get_all): exact
// matches of the fields set, keyset pages after Marker of at most
// Limit (0: all), sorted by SortKeys and SortDirs (MessageSortKeys;
// created_at and id descending after them).
type MessageFilter struct {
	ResourceUUID, ResourceType, EventID, RequestID, Level string
	// ProjectID keeps one project's (an admin's filter: others see
	// their own project's only).
	ProjectID string
	// ActionID and DetailID keep the messages of that action or detail
	// (Cinder's action_id and detail_id columns).
	ActionID, DetailID string
	Marker             string
	Limit              int
	SortKeys, SortDirs []string
}

var messageSortKeys = map[string]sqlstore.SortKey{
	"id": {Expr: "m.id"}, "created_at": {Expr: "m.created_at"}, "expires_at": {Expr: "m.expires_at"},
	"event_id": {Expr: "m.event_id"}, "resource_type": {Expr: "m.resource_type"}, "resource_uuid": {Expr: "m.resource_uuid"},
	"message_level": {Expr: "m.message_level"}, "request_id": {Expr: "m.request_id"}, "project_id": {Expr: "m.project_id"},
}

// MessageSortKeys are the keys Messages sorts by.
func MessageSortKeys() []string { return slices.Sorted(maps.Keys(messageSortKeys)) }

// Messages lists the messages v sees that have not expired: its
// project's, every project's for an admin (as Cinder's project_only
// query), with whether more follow the page.
func (s *Store) Messages(ctx context.Context, v Viewer, f MessageFilter) ([]Message, bool, error) {
	order, err := sortOrder(messageSortKeys, "m.id", f.SortKeys, f.SortDirs)
	if err != nil {
		return nil, false, err
	}
	if f.Limit < 0 {
		return nil, false, invalidInput("limit param must be positive")
	}
	conds, args := []string{"m.expires_at >= ?"}, []any{s.now().UnixMicro()}
	if !v.Admin {
		conds, args = append(conds, "m.project_id = ?"), append(args, v.Project)
	}
	for _, c := range []struct{ v, col string }{{f.ResourceUUID, "m.resource_uuid"}, {f.ResourceType, "m.resource_type"},
		{f.EventID, "m.event_id"}, {f.RequestID, "m.request_id"}, {f.Level, "m.message_level"}, {f.ProjectID, "m.project_id"},
		{f.ActionID, "m.action_id"}, {f.DetailID, "m.detail_id"}} {
		if err := checkText("filter", c.v, len(c.v)); err != nil {
			return nil, false, err
		}
		if c.v != "" {
			conds, args = append(conds, c.col+" = ?"), append(args, c.v)
		}
	}
	l := listing{Order: order, Table: "storage_messages m", Alias: "m", Cols: messageCols, Conds: conds, Args: args,
		Marker: f.Marker, NotFound: messageNotFound, Limit: f.Limit, HardDeleted: true}
	if !v.Admin {
		l.MarkerScope, l.MarkerArgs = "m.project_id = ?", []any{v.Project}
	}
	return page(ctx, s.db, l, queryMessages)
}
