// Package area composes the block-storage area for gostack's daemons:
// the Block Storage API v3 (Cinder's, port 8776) over the storage Store,
// and, in the all-in-one, volume backends' agents in-process — volumes
// as sparse files exported by tgtd, and, when a Ceph configuration is
// given, volumes as Ceph RBD images — which report over the API's
// internal routes as any host's would.
package area

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/uuid"

	identityarea "github.com/gostack/gostack/identity/area"
	"github.com/gostack/gostack/identity/middleware"
	kitagent "github.com/gostack/gostack/kit/agent"
	"github.com/gostack/gostack/kit/compose"
	"github.com/gostack/gostack/kit/config"
	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/httpapi"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/storage"
	"github.com/gostack/gostack/storage/agent"
	"github.com/gostack/gostack/storage/api/cinder"
	"github.com/gostack/gostack/storage/iscsi"
	"github.com/gostack/gostack/storage/rbd"
)

// Volume is the block-storage area.
type Volume struct {
	Config Config
}

// Config is the "volume" section.
type Config struct {
	PolicyFile string `yaml:"policy_file" help:"oslo.policy YAML or JSON overrides of Cinder's default rules"`
	Agent      Agent  `yaml:"agent"`
	RBD        RBD    `yaml:"rbd"`
}

// RBD is a Ceph RBD volume backend the all-in-one runs in-process,
// beside the iSCSI one, when ceph_conf is set: Cinder's RBD driver
// (storage/rbd) with its options' names and defaults.
type RBD struct {
	CephConf    string `yaml:"ceph_conf" help:"the Ceph cluster's ceph.conf (Cinder's rbd_ceph_conf); set, it enables the RBD volume backend"`
	ClusterName string `yaml:"cluster_name" help:"the cluster's name (Cinder's rbd_cluster_name), in the connection info"`
	User        string `yaml:"user" help:"the cephx user, without client. (Cinder's rbd_user); empty for client.admin, and auth_enabled false in the connection info"`
	Keyring     string `yaml:"keyring" help:"the user's keyring file; empty for the one ceph.conf names"`
	Pool        string `yaml:"pool" help:"the RADOS pool of the volumes (Cinder's rbd_pool)"`
	SecretUUID  string `yaml:"secret_uuid" help:"the uuid of the libvirt secret holding the user's key on the compute hosts (Cinder's rbd_secret_uuid); empty for the cluster's fsid"`
	Host        string `yaml:"host" help:"the backend's Cinder host (host@backend#pool); empty for <hostname>@<backend_name>#<backend_name>"`
	// BackendName is the volume_backend_name types may ask for.
	BackendName string `yaml:"backend_name" help:"the backend's volume_backend_name, which a volume type's extra spec may ask for"`
	Dir         string `yaml:"dir" help:"where the backend converts images for volumes and exports volumes for uploads; empty for <data_dir>/volume/rbd"`
	// Cinder's clone and image options.
	MaxCloneDepth             int  `yaml:"max_clone_depth" help:"clones of a volume are flattened once their chain is this long; 0 makes full copies (Cinder's rbd_max_clone_depth)"`
	FlattenVolumeFromSnapshot bool `yaml:"flatten_volume_from_snapshot" help:"flatten volumes made from snapshots, so they do not hold the snapshot (Cinder's rbd_flatten_volume_from_snapshot)"`
	StoreChunkSize            int  `yaml:"store_chunk_size" help:"the images' object size in MB, a power of two (Cinder's rbd_store_chunk_size)"`
	// Cinder's over-subscription settings of the backend.
	MaxOverSubscriptionRatio float64 `yaml:"max_over_subscription_ratio" help:"how far thin volumes may promise more than the pool has (Cinder's max_over_subscription_ratio)"`
	ReservedPercentage       int     `yaml:"reserved_percentage" help:"percentage of the pool kept free (Cinder's reserved_percentage)"`
}

// Enabled reports whether the RBD backend runs: a Ceph configuration is
// given.
func (r RBD) Enabled() bool { return r.CephConf != "" }

// Agent is the volume backend the all-in-one runs in-process: volumes as
// sparse files, exported as iSCSI targets by tgtd.
type Agent struct {
	Enabled bool   `yaml:"enabled" help:"run this host's volume backend in-process: volumes are sparse files exported by tgtd (started when none runs on control_port)"`
	Host    string `yaml:"host" help:"the backend's Cinder host (host@backend#pool); empty for <hostname>@iscsi#iscsi"`
	// BackendName is the volume_backend_name types may ask for.
	BackendName string `yaml:"backend_name" help:"the backend's volume_backend_name, which a volume type's extra spec may ask for"`
	Dir         string `yaml:"dir" help:"where volume files are kept; empty for <data_dir>/volume/files"`
	TgtDir      string `yaml:"tgt_dir" help:"tgtd's pid file and log and the exporter's state; empty for <data_dir>/volume/tgt"`
	BackupDir   string `yaml:"backup_dir" help:"the backup store (chunked, compressed backups of volumes); empty for <data_dir>/volume/backups"`
	Portal      string `yaml:"portal" help:"the iSCSI portal initiators connect to (ip:port), the target_portal of the connection info"`
	ControlPort int    `yaml:"control_port" help:"tgtd's management port (tgtd -C); 0 is the host's tgt service's, started when not running"`
	IQNPrefix   string `yaml:"iqn_prefix" help:"target name prefix (Cinder's target_prefix); empty for iqn.2010-10.org.openstack:"`
	// InitiatorACL exports each volume to its attached hosts' initiators
	// only.
	InitiatorACL bool `yaml:"initiator_acl" help:"export each volume only to the initiators of the hosts it is attached to (as Cinder's LIO target), not to any initiator with its CHAP credentials; a connect then waits for the agent to let its host in"`
	// BufferedIO: tgtd reaches volume files through the page cache
	// (iscsi.Exporter.Buffered).
	BufferedIO bool `yaml:"buffered_io" help:"tgtd reads and writes volume files through the host's page cache (tgt's default) instead of with O_DIRECT (bsoflags=direct, Cinder's target_flags); buffered, sequential writes larger than the cache's dirty limits ran at 0.15-0.2 of the disk's speed"`
	// Cinder's over-subscription settings of the backend.
	MaxOverSubscriptionRatio float64 `yaml:"max_over_subscription_ratio" help:"how far thin volumes may promise more than the backend has (Cinder's max_over_subscription_ratio)"`
	ReservedPercentage       int     `yaml:"reserved_percentage" help:"percentage of the backend kept free (Cinder's reserved_percentage)"`
}

// Validate reports the first bad setting.
func (c *Config) Validate() error {
	if err := c.validateRBD(); err != nil {
		return err
	}
	a := c.Agent
	if !a.Enabled {
		return nil
	}
	if p, err := netip.ParseAddrPort(a.Portal); err != nil || p.Addr().IsUnspecified() || p.Port() == 0 || p.Addr().Zone() != "" {
		return &config.FieldError{Key: "agent.portal", Problem: "must be the ip:port initiators connect to (not 0.0.0.0, not port 0)"}
	}
	if a.IQNPrefix != "" && !validPrefix(a.IQNPrefix) {
		return &config.FieldError{Key: "agent.iqn_prefix", Problem: "must start with iqn., eui. or naa. and hold only lower-case letters, digits and .-:"}
	}
	if a.Host == "" && a.BackendName == "" {
		return &config.FieldError{Key: "agent.backend_name", Problem: "must be set when agent.host is not"}
	}
	if strings.ContainsAny(a.Host, " \t\n") {
		return &config.FieldError{Key: "agent.host", Problem: "must not hold white space"}
	}
	if strings.ContainsAny(a.Dir, ",") {
		return &config.FieldError{Key: "agent.dir", Problem: "must not hold a comma (tgtd's backing-store syntax)"}
	}
	if a.ControlPort < 0 || a.ControlPort > 32767 {
		return &config.FieldError{Key: "agent.control_port", Problem: "must be 0 to 32767"}
	}
	if a.MaxOverSubscriptionRatio < 1 {
		return &config.FieldError{Key: "agent.max_over_subscription_ratio", Problem: "must be at least 1"}
	}
	if a.ReservedPercentage < 0 || a.ReservedPercentage > 100 {
		return &config.FieldError{Key: "agent.reserved_percentage", Problem: "must be 0 to 100"}
	}
	if a.Host != "" && !strings.Contains(a.Host, "@") {
		return &config.FieldError{Key: "agent.host", Problem: "must be host@backend or host@backend#pool"}
	}
	return nil
}

func (c *Config) validateRBD() error {
	r := c.RBD
	if !r.Enabled() {
		return nil
	}
	name := func(key, v string, empty bool) error {
		if v == "" && empty {
			return nil
		}
		ok := v != "" && len(v) <= 64
		for _, ch := range v {
			if !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '-' || ch == '_' || ch == '.') {
				ok = false
			}
		}
		if !ok {
			return &config.FieldError{Key: key, Problem: "must be 1 to 64 letters, digits and .-_"}
		}
		return nil
	}
	for _, f := range []struct {
		key, v string
		empty  bool
	}{{"rbd.pool", r.Pool, false}, {"rbd.user", r.User, true}, {"rbd.cluster_name", r.ClusterName, false}} {
		if err := name(f.key, f.v, f.empty); err != nil {
			return err
		}
	}
	// Each volume's provider_location (Cinder's 256 characters) holds
	// the three names, the image and the secret's uuids and at least
	// one monitor.
	if n := len(r.Pool) + len(r.ClusterName) + len(r.User); n > storage.MaxRBDNames {
		return &config.FieldError{Key: "rbd.pool", Problem: fmt.Sprintf("rbd.pool, rbd.cluster_name and rbd.user have %d characters together, "+
			"more than the %d a volume's provider_location (256 characters) has room for beside its image, its secret and a monitor", n, storage.MaxRBDNames)}
	}
	if r.SecretUUID != "" {
		if u, err := uuid.Parse(r.SecretUUID); err != nil || u.String() != strings.ToLower(r.SecretUUID) {
			return &config.FieldError{Key: "rbd.secret_uuid", Problem: "must be a UUID (8-4-4-4-12 hex digits)"}
		}
	}
	if r.Host == "" && r.BackendName == "" {
		return &config.FieldError{Key: "rbd.backend_name", Problem: "must be set when rbd.host is not"}
	}
	if strings.ContainsAny(r.Host, " \t\n") || r.Host != "" && !strings.Contains(r.Host, "@") {
		return &config.FieldError{Key: "rbd.host", Problem: "must be host@backend or host@backend#pool, without white space"}
	}
	if c.Agent.Enabled && agentHost(c.Agent.Host, c.Agent.BackendName, "h") == agentHost(r.Host, r.BackendName, "h") {
		return &config.FieldError{Key: "rbd.backend_name", Problem: "must differ from agent.backend_name: both backends would be one host"}
	}
	if r.MaxCloneDepth < 0 {
		return &config.FieldError{Key: "rbd.max_clone_depth", Problem: "must be 0 or more"}
	}
	if n := r.StoreChunkSize; n < 1 || n > 32 || n&(n-1) != 0 {
		return &config.FieldError{Key: "rbd.store_chunk_size", Problem: "must be a power of two from 1 to 32"}
	}
	if r.MaxOverSubscriptionRatio < 1 {
		return &config.FieldError{Key: "rbd.max_over_subscription_ratio", Problem: "must be at least 1"}
	}
	if r.ReservedPercentage < 0 || r.ReservedPercentage > 100 {
		return &config.FieldError{Key: "rbd.reserved_percentage", Problem: "must be 0 to 100"}
	}
	return nil
}

// agentHost is a backend's Cinder host: host, or
// <hostname>@<backend>#<backend>.
func agentHost(host, backend, hostname string) string {
	if host != "" {
		return host
	}
	return hostname + "@" + backend + "#" + backend
}

// validPrefix is storage/iscsi's rule for a target name prefix.
func validPrefix(p string) bool {
	if !strings.HasPrefix(p, "iqn.") && !strings.HasPrefix(p, "eui.") && !strings.HasPrefix(p, "naa.") {
		return false
	}
	for _, r := range p {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == ':') {
			return false
		}
	}
	return true
}

// New returns the block-storage area with its defaults.
func New() *Volume {
	return &Volume{Config: Config{Agent: Agent{Enabled: true, BackendName: "iscsi", Portal: "127.0.0.1:3260",
		MaxOverSubscriptionRatio: storage.DefaultMaxOverSubscriptionRatio},
		RBD: RBD{ClusterName: "ceph", Pool: "rbd", BackendName: "rbd", MaxCloneDepth: 5, StoreChunkSize: 4,
			MaxOverSubscriptionRatio: storage.DefaultMaxOverSubscriptionRatio}}}
}

var (
	_ compose.Area         = (*Volume)(nil)
	_ compose.Configurable = (*Volume)(nil)
	_ compose.Needer       = (*Volume)(nil)
)

// Name is "volume".
func (*Volume) Name() string { return "volume" }

// Section is the "volume" config section.
func (v *Volume) Section() any { return &v.Config }

// Needs identity: its token validator and its catalog.
func (*Volume) Needs() []string { return []string{"identity"} }

// Migrations is the storage schema.
func (*Volume) Migrations() []sqlstore.Migrations { return []sqlstore.Migrations{storage.Migrations()} }

// Build registers the catalog endpoints (block-storage and volumev3, as
// devstack registers Cinder) and returns the API behind the token
// middleware; the in-process backend's agent starts in the background.
func (v *Volume) Build(ctx context.Context, env *compose.Env) (http.Handler, error) {
	val, err := identityarea.Validator(env)
	if err != nil {
		return nil, err
	}
	for _, svc := range [][2]string{{"block-storage", "cinder"}, {"volumev3", "cinderv3"}} {
		if err := identityarea.Register(ctx, env, svc[0], svc[1], env.URL+"/v3"); err != nil {
			return nil, err
		}
	}
	enf, err := cinder.NewEnforcer()
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	if v.Config.PolicyFile != "" {
		if err := enf.LoadFile(v.Config.PolicyFile); err != nil {
			return nil, fmt.Errorf("policy: %w", err)
		}
	}
	store := storage.NewStore(env.DB, env.Watch)
	store.Extended, store.Log = volumeExtended(env), env.Log
	store.RequestID = httpapi.RequestIDFrom
	provideCompute(env, store, envImages{env})
	api := &cinder.API{Store: store, Policy: enf, Images: envImages{env}}
	if v.Config.Agent.Enabled || v.Config.RBD.Enabled() {
		sess, err := identityarea.AgentSession(ctx, env, "volume-agent")
		if err != nil {
			return nil, fmt.Errorf("volume agent: %w", err)
		}
		if v.Config.Agent.Enabled {
			if err := v.startAgent(ctx, env, sess); err != nil {
				return nil, err
			}
		}
		if v.Config.RBD.Enabled() {
			if err := v.startRBDAgent(env, sess); err != nil {
				return nil, err
			}
		}
	}
	mw := &middleware.Middleware{Validator: val, Style: httpapi.Cinder, Optional: true}
	return mw.Wrap(api.Handler()), nil
}

// startAgent runs the backend's agent in-process over HTTP, as on any
// host.
func (v *Volume) startAgent(ctx context.Context, env *compose.Env, sess *kitagent.Session) error {
	ac := v.Config.Agent
	feed := env.URLOf("admin")
	if feed == "" {
		return errors.New("volume agent: the stack has no admin listener for the watch feed")
	}
	host := ac.Host
	if host == "" {
		name, err := os.Hostname()
		if err != nil {
			return fmt.Errorf("volume agent: host name: %w", err)
		}
		host = agentHost("", ac.BackendName, name)
	}
	dir, tgt, backups := ac.Dir, ac.TgtDir, ac.BackupDir
	if dir == "" {
		dir = filepath.Join(env.Config.DataDir, "volume", "files")
	}
	if tgt == "" {
		tgt = filepath.Join(env.Config.DataDir, "volume", "tgt")
	}
	if backups == "" {
		backups = defaultBackupDir(env)
	}
	portal, _ := netip.ParseAddrPort(ac.Portal)
	// tgtd takes absolute backing-store paths; data_dir may be relative.
	for _, d := range []*string{&dir, &tgt, &backups} {
		abs, err := filepath.Abs(*d)
		if err != nil {
			return fmt.Errorf("volume agent: %w", err)
		}
		*d = abs
		if err := os.MkdirAll(abs, 0o750); err != nil {
			return fmt.Errorf("volume agent: %w", err)
		}
	}
	backend := &agent.ISCSI{Files: iscsi.Files{Dir: dir}, Exporter: &iscsi.Exporter{Dir: tgt, ControlPort: ac.ControlPort, Portal: portal,
		Prefix: ac.IQNPrefix, Buffered: ac.BufferedIO, Log: env.Log.With("backend", host)}, ACL: ac.InitiatorACL}
	ag := &agent.Agent{Config: agent.Config{Host: host, BackendName: ac.BackendName, MaxOverSubscriptionRatio: ac.MaxOverSubscriptionRatio,
		ReservedPercentage: ac.ReservedPercentage, ImageDir: filepath.Join(dir, ".images"), BackupDir: backups}, Backend: backend, Session: sess, VolumeURL: env.URL,
		FeedURL: feed + "/v1/watch/" + storage.FeedArea, HTTP: sess.HTTP, Log: env.Log.With("agent", host)}
	env.Go("volume agent", func(ctx context.Context) error {
		err := ag.Run(ctx)
		if errors.Is(err, context.Canceled) {
			return nil
		}
		return err
	})
	return nil
}

// startRBDAgent runs the RBD backend's agent in-process over HTTP. It
// connects to the cluster in the background, trying again every 5 s
// while the cluster cannot be reached (the daemon starts all the same;
// the backend reports, and takes volumes, once connected). A build
// without Ceph support (storage/rbd's stub) refuses the configuration.
func (v *Volume) startRBDAgent(env *compose.Env, sess *kitagent.Session) error {
	rc := v.Config.RBD
	if !rbd.Available {
		return fmt.Errorf("volume.rbd.ceph_conf is set: %w", rbd.ErrUnavailable)
	}
	feed := env.URLOf("admin")
	if feed == "" {
		return errors.New("volume agent: the stack has no admin listener for the watch feed")
	}
	host := rc.Host
	if host == "" {
		name, err := os.Hostname()
		if err != nil {
			return fmt.Errorf("volume agent: host name: %w", err)
		}
		host = agentHost("", rc.BackendName, name)
	}
	dir := rc.Dir
	if dir == "" {
		dir = filepath.Join(env.Config.DataDir, "volume", "rbd")
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("volume agent: %w", err)
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("volume agent: %w", err)
	}
	// The RBD backend's backups go to the same store as the iSCSI
	// backend's, so either restores the other's.
	backups := v.Config.Agent.BackupDir
	if backups == "" {
		backups = defaultBackupDir(env)
	}
	if backups, err = filepath.Abs(backups); err != nil {
		return fmt.Errorf("volume agent: %w", err)
	}
	depth := rc.MaxCloneDepth
	if depth == 0 {
		depth = -1 // Cinder's 0: full copies
	}
	cfg := rbd.Config{ConfFile: rc.CephConf, ClusterName: rc.ClusterName, User: rc.User, Keyring: rc.Keyring, Pool: rc.Pool,
		SecretUUID: rc.SecretUUID, MaxCloneDepth: depth, FlattenFromSnapshot: rc.FlattenVolumeFromSnapshot, ChunkSizeMB: rc.StoreChunkSize}
	log := env.Log.With("agent", host)
	lendRBDCluster(env, rc)
	env.Go("volume agent "+host, func(ctx context.Context) error {
		var cl *rbd.Client
		for {
			var err error
			if cl, err = rbd.New(ctx, cfg); err == nil {
				break
			}
			if ctx.Err() != nil {
				return nil
			}
			log.Warn("volume agent: the Ceph cluster cannot be reached; trying again in 5 s", "conf", rc.CephConf, "pool", rc.Pool, "err", err)
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(5 * time.Second):
			}
		}
		defer cl.Close()
		log.Info("volume agent: connected to the Ceph cluster", "fsid", cl.FSID(), "pool", rc.Pool, "user", rc.User)
		lendRBDKeyring(env, log, rc, cl.FSID())
		ag := &agent.Agent{Config: agent.Config{Host: host, BackendName: rc.BackendName, MaxOverSubscriptionRatio: rc.MaxOverSubscriptionRatio,
			ReservedPercentage: rc.ReservedPercentage, ImageDir: filepath.Join(dir, "images"), BackupDir: backups},
			Backend: &agent.RBD{Client: cl, TempDir: filepath.Join(dir, "tmp"), Log: log}, Session: sess, VolumeURL: env.URL,
			FeedURL: feed + "/v1/watch/" + storage.FeedArea, HTTP: sess.HTTP, Log: log}
		err := ag.Run(ctx)
		if errors.Is(err, context.Canceled) {
			return nil
		}
		return err
	})
	return nil
}

// defaultBackupDir is the backup store when volume.agent.backup_dir is
// empty: <data_dir>/volume/backups.
func defaultBackupDir(env *compose.Env) string {
	return filepath.Join(env.Config.DataDir, "volume", "backups")
}

// computeRBDSecretKey is the in-process compute agent's keyrings
// (compute/area's RBDSecretKey): func(secretUUID, keyring string)
// (added bool, err error).
const computeRBDSecretKey = "compute.agent.rbd_secret"

// lendRBDKeyring gives the compute agent running in this process, if
// any, the RBD backend's keyring for the secret uuid of its connections
// (volume.rbd.secret_uuid, else the cluster's fsid), so that its guests
// attach the backend's volumes without compute.agent.rbd_secrets; a uuid
// that names already keeps the operator's keyring. Without a user (no
// cephx) or a keyring file of its own there is nothing to lend.
func lendRBDKeyring(env *compose.Env, log *slog.Logger, rc RBD, fsid string) {
	if rc.User == "" {
		return
	}
	uuid := rc.SecretUUID
	if uuid == "" {
		uuid = fsid
	}
	add, err := compose.Provided[func(string, string) (bool, error)](env, computeRBDSecretKey)
	if err != nil {
		return // no compute agent in this process
	}
	if rc.Keyring == "" {
		log.Info("volume agent: volume.rbd.keyring is not set: the compute agent takes the key of the volumes' secret uuid from compute.agent.rbd_secrets only", "secret_uuid", uuid)
		return
	}
	switch added, err := add(uuid, rc.Keyring); {
	case err != nil:
		log.Warn("volume agent: the compute agent did not take the backend's keyring", "secret_uuid", uuid, "err", err)
	case added:
		log.Info("volume agent: the compute agent in this process takes the backend's keyring for its volumes' secret uuid", "secret_uuid", uuid, "keyring", rc.Keyring)
	default:
		log.Info("volume agent: compute.agent.rbd_secrets names the volumes' secret uuid already: its keyring is used", "secret_uuid", uuid)
	}
}

// computeRBDClusterKey is the in-process compute agent's default
// cluster of root disks on RBD (compute/area's RBDClusterKey):
// func(conf, cluster, user, keyring, secretUUID string).
const computeRBDClusterKey = "compute.agent.rbd_cluster"

// lendRBDCluster gives the compute agent running in this process, if it
// keeps root disks on RBD without a ceph.conf of its own, the RBD
// backend's cluster, user and keyring (its secret uuid's keyring goes
// through lendRBDKeyring once connected).
func lendRBDCluster(env *compose.Env, rc RBD) {
	if set, err := compose.Provided[func(conf, cluster, user, keyring, secretUUID string)](env, computeRBDClusterKey); err == nil {
		set(rc.CephConf, rc.ClusterName, rc.User, rc.Keyring, rc.SecretUUID)
	}
}

// Keys under which the block-storage area lends its attachments to the
// compute area (Nova's use of Cinder's v3 attachment flow), with
// standard types only, so neither area imports the other:
//
//	AttachmentsReserveKey  func(ctx, project, volume, instance string) (attachment string, err error)
//	AttachmentsConnectKey  func(ctx, attachment string, connector map[string]any) (map[string]any, error)
//	AttachmentsCompleteKey func(ctx, attachment string) error
//	AttachmentsReleaseKey  func(ctx, attachment string) error
//	VolumesDeleteKey       func(ctx, volume string) error (one still being made too)
//
// The connection info is {"driver_volume_type", "data"}, as Nova
// receives it.
const (
	AttachmentsReserveKey  = "volume.attachments.reserve"
	AttachmentsConnectKey  = "volume.attachments.connect"
	AttachmentsCompleteKey = "volume.attachments.complete"
	AttachmentsReleaseKey  = "volume.attachments.release"
	VolumesDeleteKey       = "volume.volumes.delete"
	// AttachmentsReleaseInstanceKey: func(ctx, instance string) error,
	// every attachment of instance deleted.
	AttachmentsReleaseInstanceKey = "volume.attachments.release_instance"
	// VolumesGetKey: func(ctx, project, id string) (map[string]any,
	// error), the volume as project sees it ("" any project's): id,
	// status, size (int64), availability_zone, bootable,
	// multiattach (bools).
	VolumesGetKey = "volume.volumes.get"
	// VolumesCreateKey: func(ctx, project string, spec map[string]any)
	// (map[string]any, error), a volume of project (a server's root
	// volume) from spec's id, size (int64), image_id, snapshot_id,
	// volume_type and availability_zone (strings, "" for none), checked
	// as the API checks a create; the answer is VolumesGetKey's.
	VolumesCreateKey = "volume.volumes.create"
	// SnapshotsGetKey: func(ctx, project, id string) (map[string]any,
	// error), the snapshot as project sees it: id, status, size (int64).
	SnapshotsGetKey = "volume.snapshots.get"
)

var admin = storage.Viewer{Admin: true}

func provideCompute(env *compose.Env, store *storage.Store, images storage.Images) {
	env.Provide(AttachmentsReserveKey, func(ctx context.Context, project, volume, instance string) (string, error) {
		a, err := store.CreateAttachment(ctx, storage.Viewer{Project: project}, storage.AttachmentCreate{VolumeID: volume, InstanceUUID: instance})
		return a.ID, err
	})
	env.Provide(AttachmentsConnectKey, func(ctx context.Context, attachment string, connector map[string]any) (map[string]any, error) {
		a, err := store.UpdateAttachment(ctx, admin, attachment, connector)
		if err != nil {
			return nil, err
		}
		data := map[string]any{}
		for k, v := range a.ConnectionInfo {
			if k != "driver_volume_type" {
				data[k] = v
			}
		}
		return map[string]any{"driver_volume_type": a.ConnectionInfo["driver_volume_type"], "data": data}, nil
	})
	env.Provide(AttachmentsCompleteKey, func(ctx context.Context, attachment string) error {
		_, err := store.CompleteAttachment(ctx, admin, attachment)
		return err
	})
	env.Provide(AttachmentsReleaseKey, func(ctx context.Context, attachment string) error {
		_, err := store.DeleteAttachment(ctx, admin, attachment)
		if fault.KindOf(err) == fault.NotFound {
			return nil
		}
		return err
	})
	env.Provide(AttachmentsReleaseInstanceKey, func(ctx context.Context, instance string) error {
		for range 100 { // pages of them, each deleted
			as, _, err := store.Attachments(ctx, admin, storage.AttachmentFilter{AllProjects: true, InstanceUUID: instance})
			if err != nil || len(as) == 0 {
				return err
			}
			for _, a := range as {
				if _, err := store.DeleteAttachment(ctx, admin, a.ID); err != nil && fault.KindOf(err) != fault.NotFound {
					return err
				}
			}
		}
		return fmt.Errorf("volume: the attachments of instance %s do not end", instance)
	})
	viewer := func(project string) storage.Viewer {
		if project == "" {
			return admin
		}
		return storage.Viewer{Project: project}
	}
	volumeMap := func(v storage.Volume) map[string]any {
		return map[string]any{"id": v.ID, "status": string(v.Status), "size": v.Size, "availability_zone": v.AvailabilityZone,
			"bootable": v.Bootable, "multiattach": v.Multiattach}
	}
	env.Provide(VolumesGetKey, func(ctx context.Context, project, id string) (map[string]any, error) {
		v, err := store.Volume(ctx, viewer(project), id)
		if err != nil {
			return nil, err
		}
		return volumeMap(v), nil
	})
	env.Provide(SnapshotsGetKey, func(ctx context.Context, project, id string) (map[string]any, error) {
		n, err := store.Snapshot(ctx, viewer(project), id)
		if err != nil {
			return nil, err
		}
		return map[string]any{"id": n.ID, "status": string(n.Status), "size": n.VolumeSize}, nil
	})
	env.Provide(VolumesCreateKey, func(ctx context.Context, project string, spec map[string]any) (map[string]any, error) {
		str := func(k string) string { s, _ := spec[k].(string); return s }
		c := storage.VolumeCreate{ID: str("id"), Name: new(string), Description: new(string), SnapshotID: str("snapshot_id"),
			VolumeType: str("volume_type"), AvailabilityZone: str("availability_zone")}
		c.Size, _ = spec["size"].(int64)
		if id := str("image_id"); id != "" {
			img, err := images.Image(ctx, project, id)
			if err != nil {
				return nil, err
			}
			if err := storage.CheckImage(img, c.Size); err != nil {
				return nil, err
			}
			c.ImageID, c.ImageMetadata = img.ID, storage.ImageMetadata(img)
		}
		v, err := store.CreateVolume(ctx, storage.Viewer{Project: project}, c)
		if err != nil {
			return nil, err
		}
		return volumeMap(v), nil
	})
	env.Provide(VolumesDeleteKey, func(ctx context.Context, volume string) error {
		_, err := store.DeleteVolume(ctx, admin, volume, storage.DeleteOptions{})
		if fault.KindOf(err) == fault.BadRequest {
			// A server's volume still being made (its server deleted
			// meanwhile) goes too: its agent removes it once the create
			// it is doing ends.
			if v, verr := store.Volume(ctx, admin, volume); verr == nil && (v.Status == storage.VolumeCreating || v.Status == storage.VolumeDownloading) {
				_, err = store.DeleteVolume(ctx, admin, volume, storage.DeleteOptions{Force: true})
			}
		}
		return err
	})
}

// computeExtendedKey is the compute area's volume-extended event
// (compute/area's VolumeExtendedKey): func(ctx, instance, volume string,
// size int64) error, size in bytes.
const computeExtendedKey = "compute.volumes.extended"

// volumeExtended tells the compute area that an attached volume grew,
// for each server using it, in the background: a server busy with
// another volume or interface operation is told again every second for
// up to a minute (Nova takes the event at once; here its host does the
// work as it comes). Without a compute area there is nobody to tell.
func volumeExtended(env *compose.Env) func(context.Context, storage.Volume, []string) {
	return func(ctx context.Context, v storage.Volume, servers []string) {
		f, err := compose.Provided[func(context.Context, string, string, int64) error](env, computeExtendedKey)
		if err != nil {
			return
		}
		ctx = context.WithoutCancel(ctx)
		for _, server := range servers {
			go func() {
				for range 60 {
					err := f(ctx, server, v.ID, v.Size<<30)
					if fault.KindOf(err) != fault.Conflict {
						if err != nil {
							env.Log.Warn("volume: the server of an extended volume was not told", "volume", v.ID, "server", server, "err", err)
						}
						return
					}
					time.Sleep(time.Second)
				}
				env.Log.Warn("volume: the server of an extended volume stayed busy; it sees the new size at its next start", "volume", v.ID, "server", server)
			}()
		}
	}
}
