package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/gostack/gostack/compute"
	"github.com/gostack/gostack/compute/virt"
	kitagent "github.com/gostack/gostack/kit/agent"
	"github.com/gostack/gostack/kit/watch/watchhttp"
	"github.com/gostack/gostack/storage/rbd"
)

// Config is one compute host's agent: plain values (the objects it
// drives are the Agent's fields).
type Config struct {
	// Host is the name instances are placed on (Nova's CONF.host); the
	// node's hypervisor_hostname too.
	Host string
	// StateDir holds the agent's files: node_uuid (the host's resource
	// provider uuid, made once), images/ (the image cache) and
	// instances/<id>/ (disk, config.iso). The driver's own state (e.g.
	// compute/qemu's StateDir) is elsewhere.
	StateDir string
	// HostIP is the node's host_ip (Nova's my_ip); "" for unknown.
	HostIP string
	// Bridge is the integration bridge ports are plugged into (default
	// "br-int").
	Bridge string
	// VIFTimeout is how long a plug waits for the port to be ACTIVE
	// (Nova's vif_plugging_timeout, default 300 s).
	VIFTimeout time.Duration
	// ShutdownTimeout bounds a clean power off and a soft reboot before
	// the guest is turned off or reset (Nova's shutdown_timeout, default
	// 60 s).
	ShutdownTimeout time.Duration
	// Reserved is what the host keeps for itself, the inventories'
	// reserved amounts.
	Reserved Reserved
	// Ratios are the allocation ratios of the host's configuration;
	// Initial defaults to compute.DefaultInitialRatios (Nova's initial_*
	// allocation ratios).
	Ratios compute.Ratios
	// ReportInterval is the heartbeat's period, with the node and its
	// inventory (default 10 s).
	ReportInterval time.Duration
	// SyncInterval is the period of a full Sync when the feed says
	// nothing: power states and console tails are read then (default
	// 10 s).
	SyncInterval time.Duration
	// MaxConcurrentBuilds bounds builds running at once (Nova's
	// max_concurrent_builds, default 10).
	MaxConcurrentBuilds int
	// ForceConfigDrive gives every instance a config drive, whatever
	// its server's config_drive says (Nova's force_config_drive).
	ForceConfigDrive bool
	// QemuImg is the qemu-img binary (default "qemu-img" on PATH).
	QemuImg string
	// ImagesType is where root disks of images are kept (Nova's
	// libvirt images_type): ImagesQcow2 (the default), a qcow2 overlay
	// on the cached image in StateDir/instances/<id>/disk; or ImagesRBD,
	// the RBD image "<uuid>_disk" in RBD.Pool, shared by every host of
	// the cluster.
	ImagesType string
	// RBD is the cluster and pool of root disks when ImagesType is
	// ImagesRBD: ConfFile (Nova's images_rbd_ceph_conf), User (rbd_user),
	// Keyring (the user's key), Pool (images_rbd_pool, default "vms"),
	// SecretUUID (rbd_secret_uuid: the uuid the driver's libvirt secret
	// of the user's key has; the cluster's fsid when empty). Agent.RBDConfig,
	// when set, gives it instead.
	RBD rbd.Config
}

// Where root disks are kept (Config.ImagesType).
const (
	ImagesQcow2 = "qcow2"
	ImagesRBD   = "rbd"
)

// Reserved is what the host keeps out of its inventory.
type Reserved struct {
	CPUs int // Nova's reserved_host_cpus (default 0)
	// MemoryMB is Nova's reserved_host_memory_mb: 0 means Nova's default,
	// 512; a negative value reserves nothing.
	MemoryMB int64
	DiskMB   int64 // Nova's reserved_host_disk_mb, rounded up to GB (default 0)
}

func (c *Config) defaults() {
	if c.Bridge == "" {
		c.Bridge = "br-int"
	}
	if c.VIFTimeout <= 0 {
		c.VIFTimeout = 300 * time.Second
	}
	if c.ShutdownTimeout <= 0 {
		c.ShutdownTimeout = 60 * time.Second
	}
	switch {
	case c.Reserved.MemoryMB == 0:
		c.Reserved.MemoryMB = 512
	case c.Reserved.MemoryMB < 0:
		c.Reserved.MemoryMB = 0
	}
	if c.Ratios.Initial == nil {
		c.Ratios.Initial = compute.DefaultInitialRatios()
	}
	if c.ReportInterval <= 0 {
		c.ReportInterval = 10 * time.Second
	}
	if c.SyncInterval <= 0 {
		c.SyncInterval = 10 * time.Second
	}
	if c.MaxConcurrentBuilds <= 0 {
		c.MaxConcurrentBuilds = 10
	}
	if c.QemuImg == "" {
		c.QemuImg = "qemu-img"
	}
	if c.ImagesType == "" {
		c.ImagesType = ImagesQcow2
	}
	if c.ImagesType == ImagesRBD && c.RBD.Pool == "" {
		c.RBD.Pool = "vms"
	}
}

// Agent keeps one host's guests in step with the instances placed on
// it. Set the exported fields, then Run; Plug and Unplug are for the
// driver (compute/qemu's Config.Plug and Config.Unplug), which the
// composition makes with them before it sets Driver.
type Agent struct {
	Config Config
	// Driver runs the guests.
	Driver virt.Driver
	// Switch is the host's Open vSwitch (an *ovs.Client); nil leaves
	// ports to the driver (libvirt plugs its own) and Plug only waits.
	Switch Switch
	// Session is the agent's service user.
	Session *kitagent.Session
	// ComputeURL is the compute API's listener root ("" to take the
	// "compute" endpoint of the catalog, less its /v2.1); FeedURL is the
	// controller's compute feed (admin port, /v1/watch/compute; "" to
	// sync on SyncInterval only).
	ComputeURL, FeedURL string
	// HTTP is the client for the feed and for image data (nil:
	// http.DefaultClient); give it the Session's TLS settings.
	HTTP *http.Client
	Log  *slog.Logger
	// Synced, if set, is called after each Sync with what it did.
	Synced func(SyncStats)
	// RBDConfig, if set, gives the root disks' cluster and pool when
	// Config.ImagesType is ImagesRBD, in place of Config.RBD: called when
	// the cluster is first needed (and again after a failure), for a
	// composition that learns it once the agent runs (the all-in-one's
	// RBD volume backend).
	RBDConfig func(ctx context.Context) (rbd.Config, error)

	mu       sync.Mutex
	ctx      context.Context // Run's: workers and downloads live in it
	wake     chan struct{}
	workers  map[string]*worker // by instance uuid
	ports    map[string]string  // port id → instance uuid, from the last state
	consoles map[string]string  // instance uuid → digest of the tail sent
	ignored  map[string]compute.TaskState
	// snapshots are the images of the snapshots under way, by instance,
	// as the last host state said.
	snapshots map[string]string
	// migrations are the moves under way from or to this host, by
	// instance, as the last host state said.
	migrations map[string]compute.Migration
	// following are the guests whose console tail is sent every second,
	// until when.
	following map[string]time.Time
	images    map[string]*download
	builds    chan struct{} // MaxConcurrentBuilds slots
	wg        sync.WaitGroup
	nodeUUID  string
	synced    bool
	// rbdMu guards rbdc, the root disks' cluster, connected at its
	// first use.
	rbdMu sync.Mutex
	rbdc  *rbd.Client
	// rbdSwept: what a killed agent left on the cluster is gone (the
	// first Sync's work, until it succeeds).
	rbdSwept bool
	// moved are the instances seen moving, until the resize snapshot of
	// their disk on RBD is gone (dropResizeSnapshots).
	moved map[string]bool
}

// SyncStats is what one Sync did.
type SyncStats struct {
	Revision  int64
	Instances int // placed on the host
	Started   int // workers started
	Cancelled int // workers whose instance moved on
	Power     int // power states reported
	Consoles  int // console tails sent
	Orphans   int // guests and directories of no instance removed
	Took      time.Duration
}

func (a *Agent) log() *slog.Logger {
	if a.Log != nil {
		return a.Log
	}
	return slog.Default()
}

func (a *Agent) instancesDir() string { return filepath.Join(a.Config.StateDir, "instances") }
func (a *Agent) imagesDir() string    { return filepath.Join(a.Config.StateDir, "images") }

// instanceDir is where the agent keeps instance id's disk and config
// drive.
func (a *Agent) instanceDir(id string) string { return filepath.Join(a.instancesDir(), id) }

// Run syncs the host until ctx ends, then waits for its workers (each
// stops at its next context check; the guests stay as they are).
func (a *Agent) Run(ctx context.Context) error {
	if err := a.init(ctx); err != nil {
		return err
	}
	defer a.closeRBD() // after the workers
	defer a.wg.Wait()
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		a.followConsoles(ctx)
	}()
	loop := &kitagent.Loop{
		Sync:              a.Sync,
		Area:              "compute",
		Wake:              a.wake,
		Interval:          a.Config.SyncInterval,
		Heartbeat:         a.report,
		HeartbeatInterval: a.Config.ReportInterval,
		Log:               a.log(),
	}
	if a.FeedURL != "" {
		loop.Feed = &watchhttp.Client{URL: a.FeedURL, HTTP: a.HTTP, Prepare: a.Session.Prepare}
	}
	return loop.Run(ctx)
}

// init checks the configuration and prepares StateDir: its directories,
// the node's uuid, no half-downloaded image.
func (a *Agent) init(ctx context.Context) error {
	a.Config.defaults()
	c := a.Config
	switch {
	case c.Host == "":
		return errors.New("compute agent: no host name")
	case c.StateDir == "":
		return errors.New("compute agent: no state directory")
	case a.Driver == nil:
		return errors.New("compute agent: no driver")
	case a.Session == nil:
		return errors.New("compute agent: no session")
	case c.ImagesType != ImagesQcow2 && c.ImagesType != ImagesRBD:
		return fmt.Errorf("compute agent: images type %q: want %s or %s", c.ImagesType, ImagesQcow2, ImagesRBD)
	case c.ImagesType == ImagesRBD && !rbd.Available:
		return fmt.Errorf("compute agent: images type rbd: %w", rbd.ErrUnavailable)
	}
	for _, d := range []string{a.imagesDir(), a.instancesDir()} {
		if err := os.MkdirAll(d, 0o711); err != nil {
			return fmt.Errorf("compute agent: %w", err)
		}
	}
	u, err := nodeUUID(c.StateDir)
	if err != nil {
		return err
	}
	removeParts(a.imagesDir())
	a.mu.Lock()
	defer a.mu.Unlock()
	a.ctx = ctx
	a.nodeUUID = u
	a.wake = make(chan struct{}, 1)
	a.workers = map[string]*worker{}
	a.ports = map[string]string{}
	a.consoles = map[string]string{}
	a.ignored = map[string]compute.TaskState{}
	a.images = map[string]*download{}
	a.moved = map[string]bool{}
	a.builds = make(chan struct{}, c.MaxConcurrentBuilds)
	return nil
}

// poke asks the loop for another Sync.
func (a *Agent) poke() {
	select {
	case a.wake <- struct{}{}:
	default:
	}
}
