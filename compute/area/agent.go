package area

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/google/uuid"

	"github.com/gostack/gostack/compute"
	"github.com/gostack/gostack/compute/agent"
	"github.com/gostack/gostack/compute/libvirt"
	"github.com/gostack/gostack/compute/qemu"
	"github.com/gostack/gostack/compute/virt"
	identityarea "github.com/gostack/gostack/identity/area"
	"github.com/gostack/gostack/kit/compose"
	"github.com/gostack/gostack/kit/config"
	"github.com/gostack/gostack/network/ovs"
	"github.com/gostack/gostack/storage/rbd"
)

// Agent is the compute host agent the all-in-one runs in-process. It
// talks to the compute API and the watch feed over HTTP with a service
// user's token, as on any other host.
type Agent struct {
	Enabled bool   `yaml:"enabled" help:"run this host's compute agent in-process: it builds the servers placed on this host as guests"`
	Host    string `yaml:"host" help:"the host name servers are placed on; empty for the machine's hostname (it must be the network agent's host too)"`
	Driver  string `yaml:"driver" help:"the hypervisor driver: qemu (qemu-system-x86_64 over QMP) or libvirt (needs the host's own Open vSwitch: network.agent.ovs_dir system)"`
	// Accel is the QEMU driver's accelerator, DomainType libvirt's.
	Accel            string `yaml:"accel" help:"qemu driver: kvm or tcg; empty detects (kvm when /dev/kvm runs a guest)"`
	DomainType       string `yaml:"domain_type" help:"libvirt driver: kvm or qemu; empty detects from the host's capabilities"`
	LibvirtURI       string `yaml:"libvirt_uri" help:"libvirt driver: the connection URI (qemu:///system when empty)"`
	ForceConfigDrive bool   `yaml:"force_config_drive" help:"give every server a config drive, whatever it asked for (Nova's force_config_drive); otherwise only those created with config_drive, and the rest read the metadata service"`
	StateDir         string `yaml:"state_dir" help:"the agent's image cache, instance disks and guests' state; empty for <data_dir>/compute"`
	// Nova's reserved_host_* and allocation ratios.
	ReservedMemoryMB int64              `yaml:"reserved_host_memory_mb" help:"memory the host keeps for itself (Nova's reserved_host_memory_mb); 0 is Nova's 512, -1 none"`
	ReservedCPUs     int                `yaml:"reserved_host_cpus" help:"CPUs the host keeps for itself (Nova's reserved_host_cpus)"`
	ReservedDiskMB   int64              `yaml:"reserved_host_disk_mb" help:"disk the host keeps for itself (Nova's reserved_host_disk_mb)"`
	InitialRatios    map[string]float64 `yaml:"initial_allocation_ratios" help:"allocation ratio by resource class applied when the host first offers it (Nova's initial_*_allocation_ratio; VCPU 4, MEMORY_MB 1, DISK_GB 1 when empty)"`
	OverrideRatios   map[string]float64 `yaml:"allocation_ratios" help:"allocation ratio by resource class that wins on every report (Nova's cpu/ram/disk_allocation_ratio); empty keeps what is stored"`
	// The cephx keys of rbd volumes, which Nova's hosts hold as libvirt
	// secrets operators define.
	RBDSecrets map[string]string `yaml:"rbd_secrets" help:"rbd volumes' cephx keys: by secret uuid (the connection's secret_uuid: the volume backend's, as Cinder's rbd_secret_uuid), the keyring file holding the key of the volumes' user (a Ceph keyring, or the key alone; readable by the agent only); the libvirt driver defines the libvirt secret of that uuid with it; in the all-in-one the RBD volume backend's volume.rbd.keyring is added for its secret uuid unless named here"`
	RBDConf    string            `yaml:"rbd_conf" help:"the ceph.conf QEMU's librbd reads for rbd volumes (the monitors are each volume's); empty for the driver's own, which only bounds a connection to 10 s (client mount timeout)"`
	// Root disks on Ceph RBD (Nova's libvirt images_type and images_rbd_*).
	ImagesType        string `yaml:"images_type" help:"where servers' root disks of images are kept (Nova's images_type): qcow2, an overlay on the cached image under state_dir; or rbd, the RBD image <pool>/<server uuid>_disk, a copy-on-write clone of the image when the image store is RBD on the same cluster, shared by every host (moves copy no disk)"`
	ImagesRBDPool     string `yaml:"images_rbd_pool" help:"images_type rbd: the RADOS pool of root disks (Nova's images_rbd_pool)"`
	ImagesRBDCephConf string `yaml:"images_rbd_ceph_conf" help:"images_type rbd: the cluster's ceph.conf (Nova's images_rbd_ceph_conf); empty in the all-in-one for the RBD volume backend's cluster, user and keyring (volume.rbd)"`
	RBDUser           string `yaml:"rbd_user" help:"images_type rbd: the cephx user of root disks, without client. (Nova's rbd_user); empty for client.admin without a libvirt secret"`
	RBDSecretUUID     string `yaml:"rbd_secret_uuid" help:"images_type rbd: the secret uuid of rbd_user's key (Nova's rbd_secret_uuid), which rbd_secrets must name: the agent reads the cluster with that keyring and guests attach their disks with it"`
	// The controller and the host's switch, for `gostack compute-agent`
	// on another host (the in-process agent knows them).
	AuthURL    string `yaml:"auth_url" help:"compute-agent on another host: the controller's identity URL, e.g. http://10.0.0.1:5000/v3"`
	Username   string `yaml:"username" help:"compute-agent: the service user (service role on the service project)"`
	Password   string `yaml:"password" secret:"true" help:"compute-agent: its password"`
	WatchURL   string `yaml:"watch_url" help:"compute-agent: the controller's admin port, whose /v1/watch/compute it follows, e.g. http://10.0.0.1:8790"`
	ComputeURL string `yaml:"compute_url" help:"compute-agent: the compute API's base URL, e.g. http://10.0.0.1:8774 (empty: from the catalog)"`
	OVSDir     string `yaml:"ovs_dir" help:"compute-agent: run directory of the host's Open vSwitch, the network agent's network.agent.ovs_dir (started if it is not running); empty or \"system\" for the host's own"`
}

// Validate checks the agent's settings.
func (a *Agent) Validate() error {
	switch a.Driver {
	case "", "qemu", "libvirt":
	default:
		return &config.FieldError{Key: "agent.driver", Problem: fmt.Sprintf("%q is not a driver (qemu, libvirt)", a.Driver)}
	}
	switch a.Accel {
	case "", "kvm", "tcg":
	default:
		return &config.FieldError{Key: "agent.accel", Problem: "must be kvm, tcg or empty"}
	}
	for k, v := range a.OverrideRatios {
		if v <= 0 {
			return &config.FieldError{Key: "agent.allocation_ratios", Problem: fmt.Sprintf("%s: a ratio must be above 0", k)}
		}
	}
	for id, path := range a.RBDSecrets {
		if err := (virt.RBDSecrets{id: path}).Check(); err != nil {
			return &config.FieldError{Key: "agent.rbd_secrets", Problem: fmt.Sprintf("%s: want a secret uuid and a keyring file", id)}
		}
	}
	return a.validateImages()
}

// validateImages checks where root disks are kept.
func (a *Agent) validateImages() error {
	switch a.ImagesType {
	case "", agent.ImagesQcow2:
		return nil
	case agent.ImagesRBD:
	default:
		return &config.FieldError{Key: "agent.images_type", Problem: fmt.Sprintf("%q: want qcow2 or rbd", a.ImagesType)}
	}
	if !rbd.Available {
		return &config.FieldError{Key: "agent.images_type", Problem: "rbd needs a gostack built with Ceph support (cgo and a Ceph release tag, e.g. -tags pacific)"}
	}
	if !cephName(a.ImagesRBDPool) {
		return &config.FieldError{Key: "agent.images_rbd_pool", Problem: "images_type rbd needs a pool: letters, digits, '.', '_' or '-'"}
	}
	if a.RBDUser != "" && !cephName(a.RBDUser) {
		return &config.FieldError{Key: "agent.rbd_user", Problem: "a cephx id without client.: letters, digits, '.', '_' or '-'"}
	}
	if a.RBDSecretUUID != "" && uuid.Validate(a.RBDSecretUUID) != nil {
		return &config.FieldError{Key: "agent.rbd_secret_uuid", Problem: "must be a UUID (8-4-4-4-12 hex digits)"}
	}
	if a.ImagesRBDCephConf == "" {
		if a.RBDUser != "" || a.RBDSecretUUID != "" {
			return &config.FieldError{Key: "agent.images_rbd_ceph_conf", Problem: "rbd_user and rbd_secret_uuid need the cluster's ceph.conf; leave all three empty for the RBD volume backend's cluster (all-in-one)"}
		}
		return nil
	}
	if a.RBDUser != "" {
		if a.RBDSecretUUID == "" {
			return &config.FieldError{Key: "agent.rbd_secret_uuid", Problem: "rbd_user needs the secret uuid of its key (Nova's rbd_secret_uuid)"}
		}
		if !virt.RBDSecrets(a.RBDSecrets).Has(a.RBDSecretUUID) {
			return &config.FieldError{Key: "agent.rbd_secrets", Problem: fmt.Sprintf("must name rbd_secret_uuid %s: the keyring of rbd_user", a.RBDSecretUUID)}
		}
	}
	return nil
}

// cephName: a pool or user name as Ceph and the drivers take it.
func cephName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	return strings.IndexFunc(s, func(r rune) bool {
		return !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '.' || r == '_' || r == '-')
	}) < 0
}

// rbdConfig is the root disks' cluster as configured (ceph conf, user,
// its keyring from rbd_secrets, pool, secret uuid).
func (ac *Agent) rbdConfig() rbd.Config {
	return rbd.Config{ConfFile: ac.ImagesRBDCephConf, User: ac.RBDUser, Keyring: ac.RBDSecrets[ac.RBDSecretUUID], Pool: ac.ImagesRBDPool,
		SecretUUID: ac.RBDSecretUUID}
}

// startAgent runs this host's compute agent in-process over HTTP, as
// any host's.
func (c *Compute) startAgent(ctx context.Context, env *compose.Env) error {
	ac := c.Config.Agent
	sess, err := identityarea.AgentSession(ctx, env, "compute-agent")
	if err != nil {
		return fmt.Errorf("agent: %w", err)
	}
	feed := env.URLOf("admin")
	if feed == "" {
		return errors.New("agent: the stack has no admin listener for the watch feed")
	}
	host := ac.Host
	if host == "" {
		if host, err = os.Hostname(); err != nil {
			return fmt.Errorf("agent: host name: %w", err)
		}
	}
	dir := ac.StateDir
	if dir == "" {
		dir = filepath.Join(env.Config.DataDir, "compute")
	}
	ag := &agent.Agent{Config: ac.agentConfig(host, dir), Session: sess, ComputeURL: env.URL, FeedURL: feed + "/v1/watch/compute",
		HTTP: sess.HTTP, Log: env.Log.With("agent", host)}
	// An RBD volume backend in the same process gives its keyring for
	// its secret uuid, unless rbd_secrets names that uuid already.
	keyrings := &virt.RBDKeyrings{}
	env.Provide(RBDSecretKey, func(secretUUID, keyring string) (bool, error) {
		if virt.RBDSecrets(ac.RBDSecrets).Has(secretUUID) {
			return false, nil
		}
		return keyrings.Add(secretUUID, keyring)
	})
	// Root disks on RBD without a ceph.conf of their own are on the
	// RBD volume backend's cluster, as its user, which the block-storage
	// area lends as it is built (after this area): asked at the first
	// disk.
	if ac.ImagesType == agent.ImagesRBD && ac.ImagesRBDCephConf == "" {
		lent := &lentCluster{pool: ac.ImagesRBDPool}
		env.Provide(RBDClusterKey, lent.set)
		ag.RBDConfig = lent.config
	}
	// The run is started in the background: the switch may be the
	// network agent's, which it starts itself.
	env.Go("compute agent", func(ctx context.Context) error {
		drv, err := c.driver(ctx, env, ag, dir, keyrings)
		if err != nil {
			env.Log.Error("compute agent: no driver", "err", err)
			return nil // the API and the builder keep serving; servers stay BUILD until an agent runs
		}
		ag.Driver = drv
		err = ag.Run(ctx)
		if errors.Is(err, context.Canceled) {
			return nil
		}
		return err
	})
	return nil
}

// agentConfig is the agent's settings for host, its files under dir.
func (ac *Agent) agentConfig(host, dir string) agent.Config {
	ratios := compute.Ratios{Initial: ac.InitialRatios, Override: ac.OverrideRatios}
	if len(ratios.Initial) == 0 {
		ratios.Initial = compute.DefaultInitialRatios()
	}
	c := agent.Config{Host: host, StateDir: filepath.Join(dir, "agent"), Ratios: ratios, ForceConfigDrive: ac.ForceConfigDrive,
		Reserved: agent.Reserved{CPUs: ac.ReservedCPUs, MemoryMB: ac.ReservedMemoryMB, DiskMB: ac.ReservedDiskMB}, ImagesType: ac.ImagesType}
	if ac.ImagesType == agent.ImagesRBD {
		c.RBD = ac.rbdConfig()
	}
	return c
}

// driver makes the configured driver; for QEMU, ports are plugged into
// the network agent's Open vSwitch through the agent.
func (c *Compute) driver(ctx context.Context, env *compose.Env, ag *agent.Agent, dir string, keyrings *virt.RBDKeyrings) (virt.Driver, error) {
	var sw func(context.Context) (string, error)
	if f, err := compose.Provided[func(context.Context) (string, error)](env, ovsKey); err == nil {
		sw = f
	} else if c.Config.Agent.Driver != "libvirt" {
		env.Log.Warn("compute agent: no Open vSwitch from the network area: guest ports are not plugged", "err", err)
	}
	return c.Config.Agent.driver(ctx, ag, dir, sw, keyrings, env.Log)
}

// driver makes the configured driver; for QEMU, ports are plugged into
// the switch whose database endpoint sw gives (none when nil). keyrings
// are the RBD keyrings learnt while it runs beside rbd_secrets (nil for
// none).
func (ac *Agent) driver(ctx context.Context, ag *agent.Agent, dir string, sw func(context.Context) (string, error), keyrings *virt.RBDKeyrings, log *slog.Logger) (virt.Driver, error) {
	if ac.Driver == "libvirt" {
		return libvirt.New(ctx, libvirt.Config{URI: ac.LibvirtURI, StateDir: filepath.Join(dir, "libvirt"), DomainType: ac.DomainType,
			RBDSecrets: ac.RBDSecrets, RBDKeyrings: keyrings, RBDConf: ac.RBDConf, InitiatorName: ag.InitiatorName(), Log: log})
	}
	if sw != nil {
		endpoint, err := sw(ctx)
		if err != nil {
			return nil, fmt.Errorf("open vswitch: %w", err)
		}
		conn, err := ovs.Connect(ctx, endpoint)
		if err != nil {
			return nil, fmt.Errorf("open vswitch: %w", err)
		}
		ag.Switch = conn
	}
	return qemu.New(qemu.Config{StateDir: filepath.Join(dir, "qemu"), Accel: ac.Accel, Plug: ag.Plug, Unplug: ag.Unplug,
		RBDSecrets: ac.RBDSecrets, RBDKeyrings: keyrings, RBDConf: ac.RBDConf, InitiatorName: ag.InitiatorName(), Log: log})
}

// RunAgent runs this host's compute agent alone, against the controller
// named in the agent section (auth_url, username, password, watch_url,
// compute_url): `gostack compute-agent` on a host that runs no
// controller, beside its `gostack network-agent`. It opens no database;
// its files are under state_dir (<data_dir>/compute).
func (c *Compute) RunAgent(ctx context.Context, core *compose.Config, log *slog.Logger) error {
	ac := c.Config.Agent
	sess, err := core.AgentSession(compose.RemoteAgent{Section: "compute", Command: "compute-agent",
		AuthURL: ac.AuthURL, Username: ac.Username, Password: ac.Password, WatchURL: ac.WatchURL})
	if err != nil {
		return err
	}
	host := ac.Host
	if host == "" {
		var err error
		if host, err = os.Hostname(); err != nil {
			return fmt.Errorf("agent: host name: %w", err)
		}
	}
	dir := ac.StateDir
	if dir == "" {
		dir = filepath.Join(core.DataDir, "compute")
	}
	if ac.ImagesType == agent.ImagesRBD && ac.ImagesRBDCephConf == "" {
		return &config.FieldError{Key: "compute.agent.images_rbd_ceph_conf", Problem: "images_type rbd on a compute-agent host needs the cluster's ceph.conf (only the all-in-one takes its RBD volume backend's)"}
	}
	ag := &agent.Agent{Config: ac.agentConfig(host, dir), Session: sess, ComputeURL: strings.TrimSuffix(ac.ComputeURL, "/"),
		FeedURL: strings.TrimSuffix(ac.WatchURL, "/") + "/v1/watch/compute", HTTP: sess.HTTP, Log: log.With("agent", host)}
	sw := func(ctx context.Context) (string, error) {
		dir := ac.OVSDir
		if dir == "system" {
			dir = ""
		}
		ep, err := ovs.Endpoint(ctx, dir)
		if err != nil && dir == "" {
			return "", fmt.Errorf("%w (set compute.agent.ovs_dir to the network agent's)", err)
		}
		return ep, err
	}
	drv, err := ac.driver(ctx, ag, dir, sw, nil, log)
	if err != nil {
		return fmt.Errorf("agent: %w", err)
	}
	ag.Driver = drv
	log.Info("compute agent starting", "host", host, "controller", ac.AuthURL)
	err = ag.Run(ctx)
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// lentCluster is the RBD volume backend's cluster, lent through
// RBDClusterKey, for root disks in pool.
type lentCluster struct {
	pool string
	mu   sync.Mutex
	cfg  *rbd.Config
}

func (l *lentCluster) set(conf, cluster, user, keyring, secretUUID string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.cfg = &rbd.Config{ConfFile: conf, ClusterName: cluster, User: user, Keyring: keyring, SecretUUID: secretUUID, Pool: l.pool}
}

// config is the agent's RBDConfig: the lent cluster, or why there is
// none.
func (l *lentCluster) config(context.Context) (rbd.Config, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cfg == nil {
		return rbd.Config{}, errors.New("compute.agent.images_type is rbd with no images_rbd_ceph_conf, and this process runs no RBD volume backend (volume.rbd.ceph_conf) to take the cluster from")
	}
	return *l.cfg, nil
}
