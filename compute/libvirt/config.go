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
	return c, nil
}

// Factory makes a Driver from a compute agent's settings: uri,
// state_dir, domain_type and initiator_name (Config's fields of the same
// meaning). It is
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
		default:
			return nil, fmt.Errorf("compute/libvirt: unknown setting %q (have uri, state_dir, domain_type, initiator_name)", k)
		}
	}
	d, err := New(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return d, nil
}

var _ virt.DriverFactory = Factory
