// Package agent is the volume agent: one per volume backend (Cinder's
// cinder-volume for one host@backend). It keeps the backend in step with
// the volumes the scheduler placed on it, following the controller's
// watch feed and reporting over the volume API's internal routes with a
// service user's token, as every gostack agent does: it never opens the
// database. Killed at any point, it converges when started again: each
// step is idempotent, and every sync starts from the whole desired state.
package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gostack/gostack/kit/agent"
	"github.com/gostack/gostack/kit/crashpoint"
	"github.com/gostack/gostack/kit/watch/watchhttp"
	"github.com/gostack/gostack/storage"
)

// Backend is a volume backend as the agent drives it (iSCSI on files,
// Ceph RBD). Every operation is idempotent: the agent may do one again
// after a crash, or when a report was lost.
type Backend interface {
	// Create makes volume v (of v.Size GiB), with src's content when
	// src names a snapshot or a volume, and exports it; a volume that
	// exists already is exported again with its export's credentials
	// (v.ProviderAuth) when it has them.
	Create(ctx context.Context, v storage.Volume, src Source) (Export, error)
	// Extend grows volume v to size GiB, its export too.
	Extend(ctx context.Context, v storage.Volume, size int64) (Export, error)
	// Delete unexports and removes volume id; a volume that does not
	// exist is no error.
	Delete(ctx context.Context, id string) error
	// Reconcile makes the backend's exports those of vols (volumes that
	// exist, with their export's credentials): what a restarted export
	// daemon lost is exported again, exports of no volume are removed.
	// Volumes themselves are never removed here.
	Reconcile(ctx context.Context, vols []storage.Volume) error
	// Capacity is the backend's space and protocol, for the scheduler
	// (the agent adds its configuration's zone, name and ratios).
	Capacity(ctx context.Context) (storage.BackendReport, error)
	// Content is a raw file of volume v's content, to read (an upload to
	// an image) until release is called.
	Content(ctx context.Context, v storage.Volume) (path string, release func(), err error)
	// CreateSnapshot makes snapshot n of its volume (n.VolumeID, its
	// first n.VolumeSize GiB); one that exists already is no error.
	CreateSnapshot(ctx context.Context, n storage.Snapshot) error
	// DeleteSnapshot removes snapshot n (of volume n.VolumeID); one that
	// does not exist is no error.
	DeleteSnapshot(ctx context.Context, n storage.Snapshot) error
}

// Source is what a new volume's content comes from: a snapshot or
// another volume of the same backend, and how much of it (GiB): the
// snapshot's size, or the source volume's; or an image. At most one;
// none for an empty volume.
type Source struct {
	SnapshotID string
	// SnapshotOf is the snapshot's volume (with SnapshotID).
	SnapshotOf string
	VolumeID   string
	Size       int64
	// ImageID is the image of a volume made from one; File is then its
	// content as a raw file the agent fetched and converted, of Bytes
	// bytes (the rest of the volume reads as zeros), sparse; the backend
	// may take the file itself (the agent removes its name after
	// Create).
	ImageID string
	File    string
	Bytes   int64
	// ImageLocation is, instead of File, where the image's data is for
	// an ImageCloner that said it can clone it (an rbd:// URL).
	ImageLocation string
}

// Prober is a Backend that can tell, cheaply, that its export daemon
// lost its exports (tgtd restarted: it keeps them in memory). The agent
// asks every ProbeInterval and syncs at once when they are lost, so
// initiators are without their targets for about that long, not a whole
// SyncInterval.
type Prober interface {
	ExportsLost(ctx context.Context) bool
}

// Sweeper is a Backend that removes what work cut short by a kill, or
// failed, left behind (half-made copies). The agent sweeps when it
// starts and every SweepInterval after a sync, when none of its work is
// under way (the agent does one thing at a time).
type Sweeper interface {
	Sweep(ctx context.Context) error
}

// Waiter is a Backend that tells the failures that are not the work's
// own: a leftover of earlier work it cannot remove yet (a killed
// agent's client holds it until the cluster times it out). Such a
// failure is tried again at the next syncs without counting toward
// maxAttempts, for up to LeftoverWait; then it counts as any other.
type Waiter interface {
	Waiting(err error) bool
}

// Busier is a Backend that tells, of a failed delete, that the volume or
// the snapshot is in use (a client has the volume open; volumes are
// cloned from the snapshot). Once reported (at once when it is also
// permanent, else after maxAttempts syncs), the volume or the snapshot
// goes back to available with the backend's words, as Cinder's volume
// manager does on VolumeIsBusy and SnapshotIsBusy, rather than to
// error_deleting.
type Busier interface {
	Busy(err error) bool
}

// Permanenter is a Backend that tells the failures that will not pass by
// trying again. The agent reports those as the volume's error at once;
// any other it tries again at the next syncs, and reports after
// maxAttempts of them. A Backend without it has every failure reported
// at once.
type Permanenter interface {
	Permanent(err error) bool
}

// maxAttempts is how many syncs try a volume's work before its failure
// is reported.
const maxAttempts = 3

// Export is where a volume is reached: Cinder's provider_location and
// provider_auth, kept with the volume.
type Export struct {
	Location string
	Auth     string
}

// Config is one backend's agent: plain values.
type Config struct {
	// Host is the backend's Cinder host, "host@backend#pool"; the
	// scheduler places volumes on it.
	Host string
	// BackendName is the volume_backend_name a volume type's extra spec
	// may ask for.
	BackendName string
	// AvailabilityZone is the backend's zone (default "nova").
	AvailabilityZone string
	// MaxOverSubscriptionRatio and ReservedPercentage are Cinder's
	// (defaults 20 and 0).
	MaxOverSubscriptionRatio float64
	ReservedPercentage       int
	// ImageDir is where images are fetched and converted for the volumes
	// made from them ("" refuses such volumes).
	ImageDir string
	// BackupDir is the backup store (storage/chunked), shared by the
	// agents that restore each other's backups ("" refuses backups).
	BackupDir string
	// SyncInterval is the period of a full sync when the feed says
	// nothing (default 10 s); ReportInterval the capacity report's
	// (default 10 s); ProbeInterval how often a Prober backend is asked
	// whether its exports were lost (default 1 s).
	SyncInterval, ReportInterval, ProbeInterval time.Duration
	// SweepInterval is how often a Sweeper backend is swept after a
	// sync (default 5 min); LeftoverWait how long a Waiter's leftover
	// failure is tried again without counting (default 2 min, four
	// times the Ceph OSDs' 30 s watch timeout).
	SweepInterval, LeftoverWait time.Duration
	// QemuImg is the qemu-img binary a migration copies data with
	// (default "qemu-img" on PATH).
	QemuImg string
}

func (c *Config) defaults() {
	if c.AvailabilityZone == "" {
		c.AvailabilityZone = "nova"
	}
	if c.MaxOverSubscriptionRatio == 0 {
		c.MaxOverSubscriptionRatio = 20
	}
	if c.SyncInterval <= 0 {
		c.SyncInterval = 10 * time.Second
	}
	if c.ReportInterval <= 0 {
		c.ReportInterval = 10 * time.Second
	}
	if c.ProbeInterval <= 0 {
		c.ProbeInterval = time.Second
	}
	if c.SweepInterval <= 0 {
		c.SweepInterval = 5 * time.Minute
	}
	if c.LeftoverWait <= 0 {
		c.LeftoverWait = 2 * time.Minute
	}
}

// Agent keeps one backend in step with its volumes. Set the fields, then
// Run.
type Agent struct {
	Config  Config
	Backend Backend
	Session *agent.Session
	// VolumeURL is the volume API's listener root ("http://ctl:8776"),
	// where the internal routes are; FeedURL the controller's volume
	// feed (admin port, /v1/watch/volume; "" to sync on SyncInterval
	// only).
	VolumeURL, FeedURL string
	HTTP               *http.Client
	Log                *slog.Logger
	// Synced, if set, is called after each sync with what it did.
	Synced func(SyncStats)

	reconciled int64               // the revision of the last Reconcile
	attempts   map[string]int      // failed tries of a volume's work, by volume
	allowed    map[string][]string // the exports' initiators last reported, by volume (an Allower's)

	waiting map[string]time.Time // when a volume's work first waited for a leftover (a Waiter's)
	swept   time.Time            // the last Sweep
}

// SyncStats is what one sync did.
type SyncStats struct {
	Revision                   int64
	Volumes                    int
	Created, Extended, Deleted int
	// Snapshots is how many snapshots the backend holds; Snapshotted and
	// SnapshotsDeleted how many were made and removed.
	Snapshots, Snapshotted, SnapshotsDeleted int
	// Uploaded is how many volumes were copied to images, Reverted how
	// many were reverted to a snapshot.
	Uploaded, Reverted int
	// Retyped is how many retype steps were done (in place, or a
	// migration's create, copy and removal of a copy).
	Retyped int
	// BackedUp, Restored and BackupsDeleted count the backups made,
	// restored and removed.
	BackedUp, Restored, BackupsDeleted int
	Failed                             int
	Took                               time.Duration
}

func (a *Agent) log() *slog.Logger {
	if a.Log != nil {
		return a.Log
	}
	return slog.Default()
}

// Run syncs the backend until ctx ends.
func (a *Agent) Run(ctx context.Context) error {
	a.Config.defaults()
	switch {
	case a.Config.Host == "":
		return errors.New("volume agent: no host")
	case a.Backend == nil:
		return errors.New("volume agent: no backend")
	case a.Session == nil:
		return errors.New("volume agent: no session")
	case a.VolumeURL == "":
		return errors.New("volume agent: no volume API URL")
	}
	a.reconciled = -1
	a.attempts, a.waiting = map[string]int{}, map[string]time.Time{}
	if a.Config.ImageDir != "" {
		sweepImages(a.Config.ImageDir)
	}
	a.sweep(ctx)
	wake := make(chan struct{}, 1)
	loop := &agent.Loop{Sync: a.Sync, Area: storage.FeedArea, Interval: a.Config.SyncInterval, Heartbeat: a.report,
		HeartbeatInterval: a.Config.ReportInterval, Wake: wake, Log: a.log()}
	if p, ok := a.Backend.(Prober); ok {
		go a.probe(ctx, p, wake)
	}
	if a.FeedURL != "" {
		loop.Feed = &watchhttp.Client{URL: a.FeedURL, HTTP: a.HTTP, Prepare: a.Session.Prepare}
	}
	return loop.Run(ctx)
}

// sweep has a Sweeper backend remove what work cut short or failed
// left; what it cannot remove yet is logged, and the next sweep tries
// again.
func (a *Agent) sweep(ctx context.Context) {
	sw, ok := a.Backend.(Sweeper)
	if !ok {
		return
	}
	a.swept = time.Now()
	if err := sw.Sweep(ctx); err != nil && ctx.Err() == nil {
		a.log().Warn("volume agent: what earlier work left could not all be removed; the next sweep tries again", "err", err)
	}
}

// probe asks p every ProbeInterval whether its exports were lost, and
// pokes the loop into a sync when they were.
func (a *Agent) probe(ctx context.Context, p Prober, wake chan<- struct{}) {
	t := time.NewTicker(a.Config.ProbeInterval)
	defer t.Stop()
	wasLost := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		lost := p.ExportsLost(ctx)
		if lost && !wasLost {
			a.log().Warn("volume agent: the backend lost its exports; exporting again")
		}
		wasLost = lost
		if lost {
			select {
			case wake <- struct{}{}:
			default:
			}
		}
	}
}

// hostURL is the internal route of this backend, with suffix.
func (a *Agent) hostURL(suffix string) string {
	return strings.TrimSuffix(a.VolumeURL, "/") + "/internal/volume/hosts/" + url.PathEscape(a.Config.Host) + suffix
}

// Sync reads the backend's volumes and does the work their status asks
// for: creating → made and exported, reported available; extending →
// grown, reported at the new size; deleting → unexported and removed,
// reported deleted. Every volume that exists is kept exported
// (Reconcile), so an export daemon that restarted gets them all back. A
// failed step is reported as the volume's error when it will not pass by
// trying again, and retried at the next sync otherwise.
func (a *Agent) Sync(ctx context.Context) (int64, error) {
	start := time.Now()
	var st storage.BackendState
	if err := a.Session.Do(ctx, http.MethodGet, a.hostURL(""), nil, &st); err != nil {
		return 0, fmt.Errorf("volume agent: backend state: %w", err)
	}
	stats := SyncStats{Revision: st.Revision, Volumes: len(st.Volumes), Snapshots: len(st.Snapshots)}
	// Snapshots first: a snapshot is made before a volume is made from
	// it (it is available by then), and removed before its volume (a
	// cascading delete).
	snapsLeft := map[string]int{}    // volume id → its snapshots not removed
	snapStuck := map[string]string{} // volume id → a snapshot of it that no delete is removing
	for _, n := range st.Snapshots {
		switch n.Status {
		case storage.SnapshotCreating:
			err := a.Backend.CreateSnapshot(ctx, n)
			if err == nil {
				crashpoint.Hit("volume.agent.snapshotted")
			}
			a.done(ctx, job{snapshot: &n}, storage.SnapshotReport{Status: n.Status}, err, &stats)
		case storage.SnapshotDeleting:
			err := a.Backend.DeleteSnapshot(ctx, n)
			if err == nil {
				crashpoint.Hit("volume.agent.snapshot-deleted")
			}
			if a.done(ctx, job{snapshot: &n}, storage.SnapshotReport{Status: n.Status}, err, &stats) && err == nil {
				continue
			}
		}
		snapsLeft[n.VolumeID]++
		if n.Status != storage.SnapshotDeleting {
			snapStuck[n.VolumeID] = fmt.Sprintf("snapshot %s of the volume is %s", n.ID, n.Status)
		}
	}
	// Backups next: a backup's volume and a restore's are made already.
	a.backups(ctx, st, &stats)
	// Every volume that exists stays exported, whatever its status (an
	// admin's reset of an attached volume must not cut its guest off, as
	// Cinder's reset never touches the backend); only a delete takes an
	// export away.
	var exported []storage.Volume
	for _, v := range st.Volumes {
		if v.Retype != nil {
			if other, exp := a.retype(ctx, v, &stats); other {
				if exp != nil && exp.ProviderAuth != "" {
					exported = append(exported, *exp)
				}
				continue
			}
		}
		switch v.Status {
		case storage.VolumeCreating:
			src, err := sourceOf(v, st)
			done := func() {}
			if err == nil && v.ImageID != "" {
				src, done, err = a.imageSource(ctx, v)
			}
			var exp Export
			if err == nil {
				exp, err = a.Backend.Create(ctx, v, src)
				done()
			}
			if err == nil {
				crashpoint.Hit("volume.agent.created")
				v.ProviderLocation, v.ProviderAuth = exp.Location, exp.Auth
				if b := restoreOf(v, st); b != nil {
					// A volume made from a backup: the backup is written
					// into it and reported first, which leaves it creating
					// (or fails it); the volume's own report then makes it
					// available. Killed between the two, the next sync finds
					// the backup available and reports the volume.
					if !a.restoreNew(ctx, b, &stats) {
						break
					}
				}
			}
			a.done(ctx, job{volume: &v}, storage.VolumeReport{Status: v.Status, ProviderLocation: exp.Location, ProviderAuth: exp.Auth}, err, &stats)
		case storage.VolumeExtending:
			exp, err := a.Backend.Extend(ctx, v, v.NewSize)
			if err == nil {
				crashpoint.Hit("volume.agent.extended")
				v.ProviderLocation, v.ProviderAuth = exp.Location, exp.Auth
			}
			a.done(ctx, job{volume: &v}, storage.VolumeReport{Status: v.Status, Size: v.NewSize, ProviderLocation: exp.Location, ProviderAuth: exp.Auth}, err, &stats)
		case storage.VolumeReverting:
			a.revert(ctx, v, st, &stats)
		case storage.VolumeUploading:
			err := a.upload(ctx, v)
			if err == nil {
				crashpoint.Hit("volume.agent.uploaded")
			}
			rep := storage.VolumeReport{Status: v.Status}
			if v.Upload != nil {
				rep.ImageID = v.Upload.ImageID
			}
			a.done(ctx, job{volume: &v}, rep, err, &stats)
		case storage.VolumeDeleting, storage.VolumeErrorManagingDeleting:
			if why := snapStuck[v.ID]; why != "" {
				// A cascade whose snapshot's delete failed (or was reset):
				// the volume's delete fails too, as Cinder's does, rather
				// than wait for ever.
				a.done(ctx, job{volume: &v}, storage.VolumeReport{Status: v.Status}, permanentError{errors.New(why)}, &stats)
				break
			}
			if snapsLeft[v.ID] > 0 {
				// Its snapshots go first; the next sync removes it.
				break
			}
			err := a.Backend.Delete(ctx, v.ID)
			if err == nil {
				crashpoint.Hit("volume.agent.deleted")
			}
			a.done(ctx, job{volume: &v}, storage.VolumeReport{Status: v.Status}, err, &stats)
			continue
		}
		if v.ProviderAuth != "" {
			exported = append(exported, v)
		}
	}
	for id := range a.attempts {
		if !slices.ContainsFunc(st.Volumes, func(v storage.Volume) bool { return v.ID == id }) &&
			!slices.ContainsFunc(st.Snapshots, func(n storage.Snapshot) bool { return n.ID == id }) &&
			!slices.ContainsFunc(st.Backups, func(b storage.Backup) bool { return b.ID == id }) {
			delete(a.attempts, id)
			delete(a.waiting, id)
		}
	}
	// A volume that cannot be exported is logged and does not stop the
	// sync: the others are exported, and the next sync tries again.
	if err := a.Backend.Reconcile(ctx, exported); err != nil {
		a.log().Warn("volume agent: some exports could not be made; trying again at the next sync", "err", err)
	}
	a.reportAllowed(ctx)
	stats.Took = time.Since(start)
	if a.Synced != nil {
		a.Synced(stats)
	}
	if stats.Created+stats.Extended+stats.Deleted+stats.Snapshotted+stats.SnapshotsDeleted+stats.Uploaded+stats.Reverted+stats.Retyped+stats.Failed+
		stats.BackedUp+stats.Restored+stats.BackupsDeleted > 0 || a.reconciled < 0 {
		a.log().Info("volume agent: synced", "revision", st.Revision, "volumes", stats.Volumes, "created", stats.Created,
			"extended", stats.Extended, "deleted", stats.Deleted, "snapshots", stats.Snapshots, "snapshotted", stats.Snapshotted,
			"snapshots_deleted", stats.SnapshotsDeleted, "uploaded", stats.Uploaded, "reverted", stats.Reverted, "retyped", stats.Retyped, "backed_up", stats.BackedUp, "restored", stats.Restored,
			"backups_deleted", stats.BackupsDeleted, "failed", stats.Failed, "took", stats.Took)
	}
	a.reconciled = st.Revision
	if time.Since(a.swept) >= a.Config.SweepInterval {
		a.sweep(ctx)
	}
	return st.Revision, nil
}

// job is the volume, the snapshot or the backup whose work ended.
type job struct {
	volume *storage.Volume
	// retype is the retype step of the volume's work (none: its
	// status's work).
	retype   storage.RetypePhase
	snapshot *storage.Snapshot
	backup   *storage.Backup
}

func (j job) id() string {
	switch {
	case j.snapshot != nil:
		return j.snapshot.ID
	case j.backup != nil:
		return j.backup.ID
	}
	return j.volume.ID
}

func (j job) kind() string {
	switch {
	case j.snapshot != nil:
		return "snapshot"
	case j.backup != nil:
		return "backup"
	}
	return "volume"
}

// refusal is the message of the controller's error body (Cinder's
// {"badRequest": {"message": ...}}), else the body.
func refusal(e *agent.Error) string {
	var body map[string]struct {
		Message string `json:"message"`
	}
	if json.Unmarshal([]byte(e.Body), &body) == nil {
		for _, v := range body {
			if v.Message != "" {
				return v.Message
			}
		}
	}
	return e.Body
}

// counter is the SyncStats figure j's work, done, counts in.
func (j job) counter(stats *SyncStats) *int {
	switch {
	case j.backup != nil && j.backup.Status == storage.BackupCreating:
		return &stats.BackedUp
	case j.backup != nil && j.backup.Status == storage.BackupRestoring:
		return &stats.Restored
	case j.backup != nil:
		return &stats.BackupsDeleted
	case j.snapshot != nil && j.snapshot.Status == storage.SnapshotCreating:
		return &stats.Snapshotted
	case j.snapshot != nil:
		return &stats.SnapshotsDeleted
	case j.retype != "":
		return &stats.Retyped
	case j.volume.Status == storage.VolumeCreating:
		return &stats.Created
	case j.volume.Status == storage.VolumeExtending:
		return &stats.Extended
	case j.volume.Status == storage.VolumeUploading:
		return &stats.Uploaded
	case j.volume.Status == storage.VolumeReverting:
		return &stats.Reverted
	}
	return &stats.Deleted
}

// what names the work for the log: "creating", "snapshot deleting"...
func (j job) what() string {
	switch {
	case j.snapshot != nil:
		return "snapshot " + string(j.snapshot.Status)
	case j.backup != nil:
		return "backup " + string(j.backup.Status)
	case j.retype != "":
		return "retype " + string(j.retype)
	}
	return string(j.volume.Status)
}

// sourceOf is what volume v is made from, found in the backend's state:
// its snapshot or source volume must be there (on this pool, as the
// Store places such volumes).
func sourceOf(v storage.Volume, st storage.BackendState) (Source, error) {
	switch {
	case v.SnapshotID != "":
		i := slices.IndexFunc(st.Snapshots, func(n storage.Snapshot) bool { return n.ID == v.SnapshotID })
		if i < 0 {
			return Source{}, permanentError{fmt.Errorf("volume %s: its snapshot %s is not on this backend", v.ID, v.SnapshotID)}
		}
		return Source{SnapshotID: v.SnapshotID, SnapshotOf: st.Snapshots[i].VolumeID, Size: min(st.Snapshots[i].VolumeSize, v.Size)}, nil
	case v.SourceVolID != "":
		i := slices.IndexFunc(st.Volumes, func(s storage.Volume) bool { return s.ID == v.SourceVolID })
		if i < 0 {
			return Source{}, permanentError{fmt.Errorf("volume %s: its source volume %s is not on this backend", v.ID, v.SourceVolID)}
		}
		// A source extended since holds no more of the clone's content
		// than the clone's size.
		return Source{VolumeID: v.SourceVolID, Size: min(st.Volumes[i].Size, v.Size)}, nil
	}
	return Source{}, nil
}

// permanentError is a failure no retry mends, whatever the backend says.
type permanentError struct{ error }

func (e permanentError) Unwrap() error { return e.error }

// done reports the end of j's work (err: its failure) and counts it. A
// failure that may pass is tried again at the next syncs and reported
// after maxAttempts. A report of work done that the controller refuses
// as bad (400, 422) is final: the work's failure is reported instead,
// rather than the work done and refused again at every sync. It returns whether a report was taken; a report
// that failed is sent again at the next sync, after the work is done
// again.
func (a *Agent) done(ctx context.Context, j job, r any, err error, stats *SyncStats) bool {
	id := j.id()
	if err != nil {
		if ctx.Err() != nil {
			return false
		}
		stats.Failed++
		if w, ok := a.Backend.(Waiter); ok && w.Waiting(err) {
			first, seen := a.waiting[id]
			if !seen {
				first = time.Now()
				a.waiting[id] = first
			}
			if time.Since(first) < a.Config.LeftoverWait {
				a.log().Warn("volume agent: "+j.what()+" waits for a leftover of earlier work to be released; trying again at the next sync",
					"id", id, "err", err)
				return false
			}
		}
		a.attempts[id]++
		p, ok := a.Backend.(Permanenter)
		var perm permanentError
		if n := a.attempts[id]; ok && !errors.As(err, &perm) && !p.Permanent(err) && n < maxAttempts {
			a.log().Warn("volume agent: "+j.what()+" failed; trying again at the next sync", "id", id, "attempt", n, "err", err)
			return false
		}
		b, ok := a.Backend.(Busier)
		busy := ok && b.Busy(err)
		a.log().Error("volume agent: "+j.what()+" failed", "id", id, "err", err, "busy", busy)
		if j.snapshot != nil {
			r = storage.SnapshotReport{Status: j.snapshot.Status, Error: err.Error(), Busy: busy && j.snapshot.Status == storage.SnapshotDeleting}
		} else if j.backup != nil {
			r = storage.BackupReport{Status: j.backup.Status, Error: err.Error()}
		} else if j.retype != "" {
			r = storage.VolumeReport{Status: storage.VolumeRetyping, Retype: j.retype, Error: err.Error()}
		} else {
			rep := storage.VolumeReport{Status: j.volume.Status, Error: err.Error(), Busy: busy &&
				(j.volume.Status == storage.VolumeDeleting || j.volume.Status == storage.VolumeErrorManagingDeleting)}
			if j.volume.Upload != nil {
				rep.ImageID = j.volume.Upload.ImageID
			}
			r = rep
		}
	} else {
		*j.counter(stats)++
	}
	delete(a.attempts, id)
	delete(a.waiting, id)
	path := "/" + j.kind() + "s/" + url.PathEscape(id)
	if rerr := a.Session.Do(ctx, http.MethodPut, a.hostURL(path), r, nil); rerr != nil {
		var ae *agent.Error
		if errors.As(rerr, &ae) && (ae.Status == http.StatusConflict || ae.Status == http.StatusNotFound) {
			a.log().Info("volume agent: report refused, the "+j.kind()+" moved on", "id", id, "status", ae.Status)
			return false
		}
		if errors.As(rerr, &ae) && (ae.Status == http.StatusBadRequest || ae.Status == http.StatusUnprocessableEntity) {
			if err == nil {
				// The controller refuses what the work made (an export it
				// cannot keep): doing the work again makes the same, so
				// its failure is reported instead.
				*j.counter(stats)--
				return a.done(ctx, j, r, permanentError{fmt.Errorf("the controller refused the report of the %s's work (%d): %s", j.kind(), ae.Status, refusal(ae))}, stats)
			}
			a.log().Error("volume agent: the controller refused a failure's report", "id", id, "err", rerr)
			return false
		}
		a.log().Warn("volume agent: report failed; the work is done again at the next sync", "id", id, "err", rerr)
		return false
	}
	if err == nil && j.backup == nil {
		if j.snapshot != nil {
			a.log().Info("volume agent: snapshot "+doneSnapVerb[j.snapshot.Status], "snapshot", id, "volume", j.snapshot.VolumeID,
				"size", j.snapshot.VolumeSize)
		} else if j.retype != "" {
			a.log().Info("volume agent: retype step done", "volume", id, "step", j.retype)
		} else {
			a.log().Info("volume agent: "+doneVerb[j.volume.Status], "volume", id, "size", j.volume.Size, "new_size", j.volume.NewSize)
		}
	}
	return true
}

var doneVerb = map[storage.VolumeStatus]string{storage.VolumeCreating: "created", storage.VolumeExtending: "extended",
	storage.VolumeDeleting: "deleted", storage.VolumeErrorManagingDeleting: "deleted", storage.VolumeUploading: "uploaded"}

var doneSnapVerb = map[storage.SnapshotStatus]string{storage.SnapshotCreating: "created", storage.SnapshotDeleting: "deleted"}

// report is the heartbeat: the backend's capacity with the
// configuration's zone, name and ratios.
func (a *Agent) report(ctx context.Context) error {
	r, err := a.Backend.Capacity(ctx)
	if err != nil {
		return fmt.Errorf("volume agent: capacity: %w", err)
	}
	r.AvailabilityZone, r.VolumeBackendName = a.Config.AvailabilityZone, a.Config.BackendName
	r.MaxOverSubscriptionRatio, r.ReservedPercentage = a.Config.MaxOverSubscriptionRatio, a.Config.ReservedPercentage
	if err := a.Session.Do(ctx, http.MethodPut, a.hostURL("/backend"), r, nil); err != nil {
		return fmt.Errorf("volume agent: capacity report: %w", err)
	}
	return nil
}
