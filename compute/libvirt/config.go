package libvirt

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/gostack/gostack/compute/virt"
)

// Config is what New needs.
type Config struct {
	// URI is the libvirt connection, qemu:///system by default;
	// test:///default is libvirt's in-process fake.
	URI string
	// StateDir holds a directory per guest, StateDir/<id>, with the
	// serial console's log (console.log). Required.
	StateDir string
	// DomainType forces <domain type> ("kvm", "qemu"). Empty, the normal
	// case: what the connection's capabilities offer, kvm before qemu.
	DomainType string
	// ShutdownTimeout bounds a clean PowerOff whose context has no
	// deadline; 60 s by default (Nova's shutdown_timeout).
	ShutdownTimeout time.Duration
	// DetachTimeout bounds how long DetachInterface and DetachVolume
	// wait for a running guest to let go of a NIC or a disk when their
	// context has no deadline; 20 s by default (Nova's
	// device_detach_timeout).
	DetachTimeout time.Duration
	// InitiatorName is the iSCSI initiator name guests log in to their
	// volumes with (the connector's initiator a volume service's ACL
	// names). Empty: QEMU's own for each guest,
	// iqn.2008-11.org.linux-kvm:<guest id>.
	InitiatorName string
	// RBDSecrets are the cephx keys of rbd volumes, by the secret uuid
	// their connections name (virt.RBDSecrets: each a keyring file). The
	// libvirt secret of that uuid (usage ceph), which QEMU is given, is
	// defined with the key when it is missing and given the key when it
	// is there; a uuid without a keyring here uses the secret the host
	// has (operators define it, as for Nova), and one the host lacks too
	// is refused (virt.ErrNoKey).
	RBDSecrets virt.RBDSecrets
	// RBDKeyrings are keyrings learnt while the host runs, for the
	// uuids RBDSecrets does not name (the all-in-one's in-process RBD
	// volume backend's); nil for none.
	RBDKeyrings *virt.RBDKeyrings
	// RBDConf is the ceph.conf QEMU's librbd reads for rbd volumes
	// (<source><config file=...>; the monitors are the connection's
	// whatever it says). Empty: the driver's own, StateDir/ceph.conf
	// (0644: QEMU may run as another user), which sets only client
	// mount timeout, so that a cluster that refuses the key or does not
	// answer fails the attach in seconds, not librados' 300 s.
	RBDConf string
	// Log receives warnings (a failed clean-up); discarded when nil.
	Log *slog.Logger
}

func (c Config) withDefaults() (Config, error) {
	if c.URI == "" {
		c.URI = "qemu:///system"
	}
	if c.StateDir == "" {
		return c, fmt.Errorf("compute/libvirt: Config.StateDir is required")
	}
	if c.ShutdownTimeout <= 0 {
		c.ShutdownTimeout = 60 * time.Second
	}
	if c.DetachTimeout <= 0 {
		c.DetachTimeout = 20 * time.Second
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if err := c.RBDSecrets.Check(); err != nil {
		return c, fmt.Errorf("compute/libvirt: %w", err)
	}
	return c, nil
}

// rbdMountTimeout bounds librbd's connection to a cluster (its monitors
// and the key's check) in the driver's own ceph.conf.
const rbdMountTimeout = 10 * time.Second

// rbdConf is the driver's own ceph.conf (Config.RBDConf empty).
var rbdConf = fmt.Sprintf(`# compute/libvirt: the ceph.conf of QEMU's librbd for rbd volumes
# (Config.RBDConf). Each volume's disk gives the monitors, libvirt's
# ceph secret the key.
[global]
client mount timeout = %d
`, int(rbdMountTimeout.Seconds()))

// Factory makes a Driver from a compute agent's settings: uri,
// state_dir, domain_type, initiator_name, rbd_conf (Config's fields of
// the same meaning) and rbd_secrets ("<uuid>=<keyring file>" pairs
// separated by commas: Config.RBDSecrets). It is
// a virt.DriverFactory:
//
//	drivers.Register("libvirt", libvirt.Factory)
func Factory(ctx context.Context, settings map[string]string) (virt.Driver, error) {
	var cfg Config
	for k, v := range settings {
		switch k {
		case "uri":
			cfg.URI = v
		case "state_dir":
			cfg.StateDir = v
		case "domain_type":
			cfg.DomainType = v
		case "initiator_name":
			cfg.InitiatorName = v
		case "rbd_conf":
			cfg.RBDConf = v
		case "rbd_secrets":
			var err error
			if cfg.RBDSecrets, err = virt.ParseRBDSecrets(v); err != nil {
				return nil, err
			}
		default:
			return nil, fmt.Errorf("compute/libvirt: unknown setting %q (have uri, state_dir, domain_type, initiator_name, rbd_conf, rbd_secrets)", k)
		}
	}
	d, err := New(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return d, nil
}

var _ virt.DriverFactory = Factory
