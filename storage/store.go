package storage

import (
	"context"
	"embed"
	"log/slog"
	"time"

	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// Migrations is the block-storage schema (volumes, volume types with
// Cinder's default type, quotas, backends), to apply with
// watch.Migrations().
func Migrations() sqlstore.Migrations {
	return sqlstore.Migrations{Area: "storage", FS: migrationFS, Dir: "migrations"}
}

// FeedArea is the watch feed area of every change the Store writes:
// the volume service's name, which its agents follow.
const FeedArea = "volume"

// Cinder's defaults for the Store's settings.
const (
	// DefaultVolumeTypeName is Cinder's default_volume_type, the type a
	// migration makes.
	DefaultVolumeTypeName = "__DEFAULT__"
	// DefaultAvailabilityZone is Cinder's storage_availability_zone.
	DefaultAvailabilityZone = "nova"
	// DefaultServiceDownTime is Cinder's service_down_time: a backend
	// not heard from for longer is down.
	DefaultServiceDownTime = 60 * time.Second
)

// Store keeps the block-storage area's state in a sqlstore database.
// Every write is one transaction that also appends to the watch feed
// (area FeedArea). The zero values of its settings are Cinder's
// defaults; set them before the Store is used.
type Store struct {
	db   *sqlstore.DB
	feed *watch.Log

	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// DefaultType is the name of the type a volume created without one
	// gets (Cinder's default_volume_type; DefaultVolumeTypeName when "").
	// It cannot be deleted.
	DefaultType string
	// DefaultAvailabilityZone is the zone of a volume created without
	// one (Cinder's default_availability_zone, else
	// storage_availability_zone; DefaultAvailabilityZone when "").
	DefaultAvailabilityZone string
	// QuotaDefaults override DefaultQuotas, by resource (per-type ones,
	// volumes_<type name>, included).
	QuotaDefaults map[string]int64
	// ServiceDownTime is how long a backend may stay silent and still be
	// up (DefaultServiceDownTime when 0).
	ServiceDownTime time.Duration
	// ExportWait bounds how long a connect waits for a backend that
	// exports per initiator to let the host's initiator in
	// (DefaultExportWait when 0).
	ExportWait time.Duration
	// Scheduler places new volumes on backend pools (DefaultScheduler()
	// when nil).
	Scheduler *Scheduler
	// ReportDiscardSupported is Cinder's report_discard_supported: the
	// connection info of a volume says "discard": true (hosts may
	// unmap). False by default, as Cinder's.
	ReportDiscardSupported bool
	// Extended, if set, is told of an attached volume that grew (an
	// extend of an in-use volume ended), with the servers it is attached
	// to: Cinder's volume-extended event to Nova. It runs after the
	// report's commit; it must not block for long.
	Extended func(ctx context.Context, v Volume, servers []string)
	// EnableForceUpload lets an upload to an image with force take an
	// in-use volume (Cinder's enable_force_upload, false by default:
	// force is then ignored).
	EnableForceUpload bool
	// MessageTTL is how long a user message is kept (Cinder's
	// message_ttl; DefaultMessageTTL when 0).
	MessageTTL time.Duration
	// RequestID, if set, is the id of the request ctx serves, which a
	// user message records (Cinder's request_id); a new "req-<uuid>"
	// otherwise.
	RequestID func(ctx context.Context) string
	// Log takes what the store leaves for an operator (a copy a reset
	// retype no longer removes); slog.Default() when nil.
	Log *slog.Logger
}

func (s *Store) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

// NewStore returns a store over db, whose schema includes Migrations()
// and watch.Migrations().
func NewStore(db *sqlstore.DB, feed *watch.Log) *Store { return &Store{db: db, feed: feed} }

func (s *Store) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC().Truncate(time.Microsecond)
	}
	return time.Now().UTC().Truncate(time.Microsecond)
}

func (s *Store) record(ctx context.Context, tx *sqlstore.Tx, kind, id, project string, op watch.Op, v any) error {
	_, err := s.feed.AppendValue(ctx, tx, watch.Change{Area: FeedArea, Kind: kind, ID: id, Project: project, Op: op}, v)
	return err
}

func (s *Store) defaultType() string {
	if s.DefaultType != "" {
		return s.DefaultType
	}
	return DefaultVolumeTypeName
}

func (s *Store) scheduler() *Scheduler {
	if s.Scheduler != nil {
		return s.Scheduler
	}
	return DefaultScheduler()
}

func (s *Store) defaultZone() string {
	if s.DefaultAvailabilityZone != "" {
		return s.DefaultAvailabilityZone
	}
	return DefaultAvailabilityZone
}

// Viewer is who is looking: a project, or an admin who may see every
// project's resources. Another project's volume is not found.
type Viewer struct {
	Project string
	Admin   bool
}

// sees reports whether v may see a resource of project.
func (v Viewer) sees(project string) bool { return v.Admin || v.Project == project }
